//! Error recovery for a file that does not parse: a partial tree and every syntax error.
//!
//! The text is cut into statements at the statement keywords that begin a line (outside
//! `{ }` blocks; inside a `network` body, at its own statements), and each piece is parsed on
//! its own; the pieces that parse make the partial tree, each piece that does not gives one
//! error. Unclosed brackets and strings are found by the lexer and reported at their opener
//! (the pieces containing one report nothing more).

use crate::ast::{File, Ident, Item};
use crate::build_ast::{self, Builder};
use crate::diag::Diagnostic;
use crate::lex::{tokenize, Token, TokenKind};
use crate::span::{FileId, Span};
use crate::{codes, parse_error, Rule, SnnParser};
use pest::Parser;

/// Keywords that begin a statement or item.
const STARTS: &[&str] = &[
    "use", "network", "input", "node", "ensemble", "layer", "connect", "probe", "alias", "weights",
    "config", "for", "seed", "let",
];

/// Parse a file that pest rejected: the statements that parse, and one error per piece that
/// does not (at least one error in all).
pub(crate) fn recover(
    file: FileId,
    text: &str,
    first: Diagnostic,
) -> (File, Vec<Diagnostic>, Vec<Ident>) {
    let toks: Vec<Token> =
        tokenize(text).into_iter().filter(|t| t.kind != TokenKind::Comment).collect();
    let (mut errors, bad_openers) = bracket_errors(file, text, &toks);
    let mut items = Vec::new();
    let mut broken = Vec::new();
    for (s, e) in pieces(text, &toks, 0, toks.len()) {
        let (s_off, e_off) = (toks[s].start, toks[e - 1].end);
        let has_bad_opener = bad_openers.iter().any(|o| *o >= s_off && *o < e_off);
        match parse_piece(file, text, s_off, e_off) {
            Ok(mut parsed) => items.append(&mut parsed),
            Err(d) => {
                if let Some((item, body_errors, body_broken)) =
                    recover_network(file, text, &toks, s, e)
                {
                    items.push(item);
                    broken.extend(body_broken);
                    if !has_bad_opener {
                        errors.extend(body_errors);
                    }
                    continue;
                }
                let (d, mut kept) = piece_error(file, text, &toks, (s, e), d);
                if kept.is_empty() {
                    broken.extend(declared_name(text, &toks, s));
                }
                items.append(&mut kept);
                if !has_bad_opener {
                    errors.push(d);
                }
            }
        }
    }
    if errors.is_empty() {
        errors.push(first);
    }
    errors.sort_by_key(|d| d.primary.span.start);
    (File { items }, errors, broken)
}

/// The error of the piece `toks[s..e]` (pointing at the next piece's first token rather than
/// at the piece's end, as pest would), and the items of its lines before the error's line
/// when those parse.
fn piece_error(
    file: FileId,
    text: &str,
    toks: &[Token],
    (s, e): (usize, usize),
    d: Diagnostic,
) -> (Diagnostic, Vec<Item>) {
    let (s_off, e_off) = (toks[s].start, toks[e - 1].end);
    let mut d = d;
    if d.primary.span.start as usize >= e_off {
        if let Some(next) = toks.get(e) {
            if let Err(d2) = parse_piece(file, text, s_off, next.end) {
                if (d2.primary.span.start as usize) <= next.start {
                    d = d2;
                }
            }
        }
    }
    // pest saw the piece end; in the file, the line (or the statement) ends there
    let next_line = toks.get(e).is_some_and(|n| text[e_off..n.start].contains('\n'));
    if d.primary.span.start as usize >= e_off && next_line {
        d.message = d.message.replace("found end of file", "found end of line");
        d.primary.message = d.primary.message.replace("end of file", "end of line");
    }
    let at = (d.primary.span.start as usize).min(text.len());
    let line_start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let mut kept = Vec::new();
    if line_start > s_off {
        let prefix_end = s_off + text[s_off..line_start].trim_end().len();
        if let Ok(items) = parse_piece(file, text, s_off, prefix_end) {
            kept = items;
        }
    }
    (d, kept)
}

/// The name a declaration starting at token `s` declares (`ensemble NAME = …`).
fn declared_name(text: &str, toks: &[Token], s: usize) -> Option<Ident> {
    let kw = toks[s].text(text);
    // `network i = n()` declares `i`; `network n(…) { … }` defines `n`, whose instances then
    // report nothing more either
    let decl = ["input", "node", "ensemble", "layer", "alias", "let", "weights"].contains(&kw)
        || (kw == "network"
            && toks.get(s + 2).is_some_and(|t| t.text(text) == "=" || t.text(text) == "("));
    let name = toks.get(s + 1)?;
    if !decl || !matches!(name.kind, TokenKind::Ident | TokenKind::Keyword) {
        return None;
    }
    Some(Ident {
        name: name.text(text).to_string(),
        span: Span::new(FileId::default(), name.start, name.end),
    })
}

/// Parse `text[start..end]` as items, with spans of the whole text.
fn parse_piece(
    file: FileId,
    text: &str,
    start: usize,
    end: usize,
) -> Result<Vec<Item>, Diagnostic> {
    let sub = &text[start..end];
    match SnnParser::parse(Rule::file, sub) {
        Ok(pairs) => {
            let b = Builder::new(file, start);
            let items = build_ast::first(pairs).map(|p| b.file(p).items).unwrap_or_default();
            match b.take_errors().into_iter().next() {
                Some(d) => Err(d),
                None => Ok(items),
            }
        }
        Err(err) => {
            let mut d = parse_error::convert(file, sub, err);
            d.primary.span.start += start as u32;
            d.primary.span.end += start as u32;
            Err(d)
        }
    }
}

/// Whether token `i` begins a statement: a statement keyword first on its line (or after a
/// `{` / `}`), not an argument name (`seed = 1`).
fn starts_statement(text: &str, toks: &[Token], i: usize) -> bool {
    keyword_begins(text, toks, i, STARTS)
}

/// Whether token `i` is one of `keywords` first on its line (or after a `{` / `}`), not an
/// argument name (`seed = 1`): where recovery and the incremental parser cut the text.
pub(crate) fn keyword_begins(text: &str, toks: &[Token], i: usize, keywords: &[&str]) -> bool {
    let t = toks[i];
    if t.kind != TokenKind::Keyword || !keywords.contains(&t.text(text)) {
        return false;
    }
    if toks.get(i + 1).is_some_and(|n| n.text(text) == "=") {
        return false;
    }
    match i.checked_sub(1).map(|p| toks[p]) {
        None => true,
        Some(p) if matches!(p.text(text), "{" | "}") => true,
        Some(p) => text[p.end..t.start].contains('\n'),
    }
}

/// Whether token `i` begins a network definition (`network NAME (` or `network NAME {`).
fn network_def_at(text: &str, toks: &[Token], i: usize) -> bool {
    toks[i].text(text) == "network"
        && toks.get(i + 2).is_some_and(|t| matches!(t.text(text), "(" | "{"))
}

/// Token ranges `[s, e)` of the statements among `toks[from..to]`, cut at statement starts
/// outside `{ }` blocks (a network definition always starts a new piece).
fn pieces(text: &str, toks: &[Token], from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = from;
    let mut depth = 0i32;
    for i in from..to {
        let t = toks[i].text(text);
        let cut = i > start
            && ((depth == 0 && starts_statement(text, toks, i))
                || (depth > 0 && network_def_at(text, toks, i) && starts_statement(text, toks, i)));
        if cut {
            out.push((start, i));
            start = i;
            depth = 0;
        }
        match t {
            "{" => depth += 1,
            "}" => depth = (depth - 1).max(0),
            _ => {}
        }
    }
    if start < to {
        out.push((start, to));
    }
    out
}

/// A `network NAME(…) { … }` piece whose body does not parse: the header with the body's
/// statements that parse, and the body's errors.
fn recover_network(
    file: FileId,
    text: &str,
    toks: &[Token],
    s: usize,
    e: usize,
) -> Option<(Item, Vec<Diagnostic>, Vec<Ident>)> {
    if !network_def_at(text, toks, s) {
        return None;
    }
    let mut depth = 0i32;
    let open = (s..e).find(|&i| {
        match toks[i].text(text) {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            "{" if depth == 0 => return true,
            _ => {}
        }
        false
    })?;
    // the matching `}` (or the end of the piece)
    let mut depth = 0i32;
    let mut close = e;
    for (i, t) in toks.iter().enumerate().take(e).skip(open) {
        match t.text(text) {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    // the header, parsed with an empty body
    let header = format!("{}}}", &text[toks[s].start..toks[open].end]);
    let pairs = SnnParser::parse(Rule::file, &header).ok()?;
    let b = Builder::new(file, toks[s].start);
    let mut item = build_ast::first(pairs).map(|p| b.file(p))?.items.pop()?;
    let Item::Network(def) = &mut item else { return None };
    let end = if close < e { toks[close].end } else { toks[e - 1].end };
    def.span = Span::new(file, toks[s].start, end);
    let mut errors = Vec::new();
    let mut broken = Vec::new();
    let stmts = |items: Vec<Item>| {
        items.into_iter().filter_map(|i| match i {
            Item::Stmt(st) => Some(st),
            _ => None,
        })
    };
    for (bs, be) in pieces(text, toks, open + 1, close) {
        match parse_piece(file, text, toks[bs].start, toks[be - 1].end) {
            Ok(items) => def.body.extend(stmts(items)),
            Err(d) => {
                let (d, kept) = piece_error(file, text, toks, (bs, be), d);
                if kept.is_empty() {
                    broken.extend(declared_name(text, toks, bs));
                }
                def.body.extend(stmts(kept));
                errors.push(d);
            }
        }
    }
    Some((item, errors, broken))
}

/// Unclosed and unmatched brackets, and unterminated strings, each reported at its opener;
/// also the offsets of those openers.
fn bracket_errors(file: FileId, text: &str, toks: &[Token]) -> (Vec<Diagnostic>, Vec<usize>) {
    let mut errors = Vec::new();
    let mut openers = Vec::new();
    let mut stack: Vec<Token> = Vec::new();
    let unclosed = |t: Token| {
        let c = t.text(text);
        let close = match c {
            "(" => ")",
            "[" => "]",
            _ => "}",
        };
        Diagnostic::error(
            codes::SYNTAX,
            format!("unclosed `{c}`"),
            Span::new(file, t.start, t.end),
            "opened here and never closed",
        )
        .with_help(format!("add the matching `{close}`"))
    };
    for (i, t) in toks.iter().enumerate() {
        if t.kind == TokenKind::String {
            let s = t.text(text);
            if s.len() < 2 || !s.ends_with('"') {
                errors.push(
                    Diagnostic::error(
                        codes::SYNTAX,
                        "unterminated string",
                        Span::new(file, t.start, t.start + 1),
                        "this string is not closed",
                    )
                    .with_help("add the closing `\"` on the same line"),
                );
                openers.push(t.start);
            }
            continue;
        }
        // a statement start with brackets still open: they were never closed
        let at_stmt = starts_statement(text, toks, i);
        if at_stmt && stack.iter().any(|o| o.text(text) != "{") {
            while stack.last().is_some_and(|o| o.text(text) != "{") {
                if let Some(o) = stack.pop() {
                    errors.push(unclosed(o));
                    openers.push(o.start);
                }
            }
        }
        if at_stmt && network_def_at(text, toks, i) {
            for o in stack.drain(..) {
                errors.push(unclosed(o));
                openers.push(o.start);
            }
        }
        if t.kind != TokenKind::Punct {
            continue;
        }
        match t.text(text) {
            "(" | "[" | "{" => stack.push(*t),
            c @ (")" | "]" | "}") => {
                let open = match c {
                    ")" => "(",
                    "]" => "[",
                    _ => "{",
                };
                match stack.iter().rposition(|o| o.text(text) == open) {
                    Some(k) => {
                        for o in stack.drain(k + 1..) {
                            errors.push(unclosed(o));
                            openers.push(o.start);
                        }
                        stack.pop();
                    }
                    None => {
                        errors.push(Diagnostic::error(
                            codes::SYNTAX,
                            format!("unmatched `{c}`"),
                            Span::new(file, t.start, t.end),
                            "no opening bracket for this",
                        ));
                        openers.push(t.start);
                    }
                }
            }
            _ => {}
        }
    }
    for o in stack {
        errors.push(unclosed(o));
        openers.push(o.start);
    }
    (errors, openers)
}

#[cfg(test)]
mod tests {
    use crate::{parse, FileId};

    fn errors(src: &str) -> Vec<(String, String)> {
        let p = parse(FileId(0), src);
        p.errors
            .iter()
            .map(|d| (d.message.clone(), src[d.primary.span.range()].to_string()))
            .collect()
    }

    #[test]
    fn several_errors_and_a_partial_tree() {
        let src =
            "input x: [2]\nensemble a = lif(n = 3 dims = 1)\nnode b: [1]\nconnect x -> \nprobe b\n";
        let p = parse(FileId(0), src);
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
        assert_eq!(p.file.items.len(), 3, "input, node and probe parse");
        assert!(p.errors[0].primary.span.start < p.errors[1].primary.span.start);
    }

    #[test]
    fn unclosed_brackets_and_strings_at_their_opener() {
        let e = errors("input x: [2]\nensemble a = lif(n = 3, dims = 1\nconnect x -> a\n");
        assert_eq!(e, [("unclosed `(`".to_string(), "(".to_string())]);
        let e = errors("weights w = \"a.npz\nnode n: [1]\n");
        assert_eq!(e[0].0, "unterminated string");
        let e = errors("network n(a: int = 1) {\n    node i: [a]\n\nnode top: [1]\n");
        assert_eq!(e, [("unclosed `{`".to_string(), "{".to_string())]);
        let e = errors("node a: [1]\nnode b: [1])\n");
        assert_eq!(e, [("unmatched `)`".to_string(), ")".to_string())]);
    }

    #[test]
    fn a_network_body_keeps_its_good_statements() {
        let src = "network n(k: int = 1) {\n    node i: [k]\n    node j: [k\n    node o: [k]\n}\nnode top: [1]\n";
        let p = parse(FileId(0), src);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert_eq!(&src[p.errors[0].primary.span.range()], "[");
        let crate::ast::Item::Network(def) = &p.file.items[0] else { panic!("{:?}", p.file) };
        assert_eq!(def.body.len(), 2);
        assert_eq!(p.file.items.len(), 2);
    }
}
