//! Incremental parsing for editors: a [`Reparser`] remembers the trees of the top-level
//! statements it parsed, by their text, so after an edit only the statements whose text changed
//! are parsed again (the others are copied and moved to their new offset).
//!
//! The text is cut before each statement keyword that begins a line (or follows `{` / `}`)
//! outside `{ }` blocks and is not an argument name (`seed = 1`); `seed` never cuts, since after
//! `connect`/`probe` it is a clause. A piece runs to the next one, comments included (pest
//! counts the comments after a `use` in its span). Every piece that parses alone gives exactly the items the
//! whole text gives there: a piece ends where the next one begins with a keyword, and no rule
//! but `seed`'s clause continues an item with a statement keyword. When a piece does not parse
//! alone, the whole text is parsed as [`crate::parse`] does (with error recovery), so the result
//! always equals `parse(file, text)` (tested on the examples and on random edits of them).

use crate::ast::*;
use crate::build_ast::{self, Builder};
use crate::lex::{tokenize, Token, TokenKind};
use crate::span::{FileId, Span};
use crate::{Parse, Rule, SnnParser};
use pest::Parser;
use std::rc::Rc;

/// Pieces by text (hashed: looked up thousands of times per parse; never iterated in an order
/// that reaches the output).
#[allow(clippy::disallowed_types)]
type Pieces = std::collections::HashMap<String, Entry>;

/// Statement keywords that cut the text into pieces (not `seed`: see the module doc).
const CUTS: &[&str] = &[
    "use", "network", "input", "node", "ensemble", "layer", "connect", "probe", "alias", "weights",
    "config", "for", "let",
];

/// A piece's parse, at offset 0: its items, or `None` when it does not parse alone.
struct Entry {
    items: Option<Rc<Vec<Item>>>,
    /// The [`Reparser::tick`] of the last parse that used it.
    used: u64,
}

/// A parser that reuses the trees of unchanged statements between calls (see the module doc).
#[derive(Default)]
pub struct Reparser {
    pieces: Pieces,
    tick: u64,
}

impl Reparser {
    /// An empty cache.
    pub fn new() -> Reparser {
        Reparser::default()
    }

    /// Parse `text` as the contents of `file`: the same result as [`crate::parse`], reusing the
    /// trees of statements seen in earlier calls.
    pub fn parse(&mut self, file: FileId, text: &str) -> Parse {
        self.tick += 1;
        // nesting beyond the limit is reported by the whole-file parse, before pest runs
        if crate::too_deep(file, text).is_some() {
            return crate::parse(file, text);
        }
        let toks: Vec<Token> =
            tokenize(text).into_iter().filter(|t| t.kind != TokenKind::Comment).collect();
        let mut items = Vec::new();
        let mut ok = true;
        for (s, e) in pieces(text, &toks) {
            // up to the next piece: an item's span may take in the comments after it
            let (start, end) = (toks[s].start, toks.get(e).map_or(text.len(), |t| t.start));
            let parsed = self.piece(&text[start..end]);
            match parsed {
                Some(parsed) => {
                    items.extend(parsed.iter().map(|i| moved(i.clone(), file, start as u32)))
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        self.evict();
        if ok {
            Parse { file: File { items }, errors: Vec::new(), broken: Vec::new() }
        } else {
            crate::parse(file, text)
        }
    }

    /// The cached parse of a piece's text, parsing it when new.
    fn piece(&mut self, piece: &str) -> Option<Rc<Vec<Item>>> {
        if let Some(e) = self.pieces.get_mut(piece) {
            e.used = self.tick;
            return e.items.clone();
        }
        let items = SnnParser::parse(Rule::file, piece).ok().and_then(|pairs| {
            let b = Builder::new(FileId(0), 0);
            let items = build_ast::first(pairs).map(|p| b.file(p).items).unwrap_or_default();
            // a piece with expressions too deep to build goes to the whole-file parse, which
            // reports them
            b.take_errors().is_empty().then(|| Rc::new(items))
        });
        self.pieces.insert(piece.to_string(), Entry { items: items.clone(), used: self.tick });
        items
    }

    /// Forget the pieces no parse used in the last 8 calls (the documents of an editor
    /// session are parsed in turn, so their pieces stay).
    fn evict(&mut self) {
        let keep_from = self.tick.saturating_sub(8);
        if self.pieces.len() > 4096 {
            self.pieces.retain(|_, e| e.used >= keep_from);
        }
    }
}

/// Token ranges `[s, e)` of the top-level pieces (see the module doc).
fn pieces(text: &str, toks: &[Token]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate() {
        if i > start && depth == 0 && cuts(text, toks, i) {
            out.push((start, i));
            start = i;
        }
        match t.text(text) {
            "{" => depth += 1,
            "}" => depth -= 1,
            _ => {}
        }
    }
    if start < toks.len() {
        out.push((start, toks.len()));
    }
    out
}

/// Whether token `i` begins a piece: a [`CUTS`] keyword first on its line or after `{`/`}`,
/// not followed by `=`.
fn cuts(text: &str, toks: &[Token], i: usize) -> bool {
    crate::recover::keyword_begins(text, toks, i, CUTS)
}

/// `item` parsed at offset 0, moved to `file` at offset `by`.
fn moved(mut item: Item, file: FileId, by: u32) -> Item {
    let mut m = Mover { file, by };
    match &mut item {
        Item::Use(u) => {
            match &mut u.target {
                UseTarget::Std(parts) => parts.iter_mut().for_each(|p| m.ident(p)),
                UseTarget::File(s) => m.span(&mut s.span),
            }
            if let Some(a) = &mut u.alias {
                m.ident(a);
            }
            m.span(&mut u.span);
        }
        Item::Network(n) => {
            m.ident(&mut n.name);
            for p in &mut n.params {
                m.ident(&mut p.name);
                if let Some(t) = &mut p.ty {
                    m.ident(t);
                }
                if let Some(d) = &mut p.default {
                    m.expr(d);
                }
                m.span(&mut p.span);
            }
            n.body.iter_mut().for_each(|s| m.stmt(s));
            m.span(&mut n.span);
        }
        Item::Stmt(s) => m.stmt(s),
    }
    item
}

/// Moves every span of a tree.
struct Mover {
    file: FileId,
    by: u32,
}

impl Mover {
    fn span(&mut self, s: &mut Span) {
        *s = Span { file: self.file, start: s.start + self.by, end: s.end + self.by };
    }

    fn ident(&mut self, i: &mut Ident) {
        self.span(&mut i.span);
    }

    fn decl(&mut self, d: &mut DeclName) {
        self.ident(&mut d.name);
        if let Some(e) = &mut d.index {
            self.expr(e);
        }
        self.span(&mut d.span);
    }

    fn shape(&mut self, s: &mut Shape) {
        s.dims.iter_mut().for_each(|e| self.expr(e));
        self.span(&mut s.span);
    }

    fn path(&mut self, p: &mut Path) {
        self.ident(&mut p.root);
        for seg in &mut p.segs {
            match seg {
                PathSeg::Field(f) => self.ident(f),
                PathSeg::Index(i) => self.index(i),
            }
        }
        self.span(&mut p.span);
    }

    fn index(&mut self, i: &mut Index) {
        match i {
            Index::Expr(e) => self.expr(e),
            Index::Slice { start, stop, step, span } => {
                for e in [start, stop, step].into_iter().flatten() {
                    self.expr(e);
                }
                self.span(span);
            }
        }
    }

    fn lambda(&mut self, l: &mut Lambda) {
        for p in &mut l.params {
            self.ident(&mut p.name);
            if let Some(s) = &mut p.shape {
                self.shape(s);
            }
        }
        self.expr(&mut l.body);
        self.span(&mut l.span);
    }

    fn stmt(&mut self, s: &mut Stmt) {
        match &mut s.kind {
            StmtKind::Input { name, shape } => {
                self.decl(name);
                self.shape(shape);
            }
            StmtKind::Node { name, shape, value } => {
                self.decl(name);
                if let Some(s) = shape {
                    self.shape(s);
                }
                if let Some(v) = value {
                    self.expr(v);
                }
            }
            StmtKind::Ensemble { name, value } | StmtKind::Instance { name, value } => {
                self.decl(name);
                self.expr(value);
            }
            StmtKind::Layer { name, shape, value } => {
                self.decl(name);
                self.shape(shape);
                self.expr(value);
            }
            StmtKind::Connect { pre, arrow, post, clauses } => {
                self.path(pre);
                self.span(arrow);
                self.path(post);
                clauses.iter_mut().for_each(|c| self.clause(c));
            }
            StmtKind::Probe { name, target, clauses } => {
                if let Some(n) = name {
                    self.ident(n);
                }
                self.path(target);
                clauses.iter_mut().for_each(|c| self.clause(c));
            }
            StmtKind::Alias { name, target } => {
                self.ident(name);
                self.path(target);
            }
            StmtKind::Weights { name, path } => {
                self.ident(name);
                self.span(&mut path.span);
            }
            StmtKind::Config { entries } => {
                for c in entries {
                    if let Some(k) = &mut c.kind {
                        self.ident(k);
                    }
                    self.ident(&mut c.param);
                    self.expr(&mut c.value);
                    self.span(&mut c.span);
                }
            }
            StmtKind::For { var, start, end, body } => {
                self.ident(var);
                self.expr(start);
                self.expr(end);
                body.iter_mut().for_each(|s| self.stmt(s));
            }
            StmtKind::Seed { value } => self.expr(value),
            StmtKind::Let { name, value } => {
                self.ident(name);
                self.expr(value);
            }
        }
        self.span(&mut s.span);
    }

    fn clause(&mut self, c: &mut Clause) {
        match &mut c.kind {
            ClauseKind::Function(l) => self.lambda(l),
            ClauseKind::Transform(e)
            | ClauseKind::Synapse(e)
            | ClauseKind::Solver(e)
            | ClauseKind::EvalPoints(e)
            | ClauseKind::Seed(e)
            | ClauseKind::SampleEvery(e)
            | ClauseKind::Trainable(e) => self.expr(e),
        }
        self.span(&mut c.span);
    }

    fn expr(&mut self, e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Number { unit, .. } => {
                if let Some(u) = unit {
                    self.ident(u);
                }
            }
            ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::None => {}
            ExprKind::Name(i) => self.ident(i),
            ExprKind::Vector(v) => v.iter_mut().for_each(|e| self.expr(e)),
            ExprKind::Paren(e) | ExprKind::Unary { expr: e, .. } => self.expr(e),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                for a in args {
                    if let Some(n) = &mut a.name {
                        self.ident(n);
                    }
                    self.expr(&mut a.value);
                    self.span(&mut a.span);
                }
            }
            ExprKind::Index { base, indices } => {
                self.expr(base);
                indices.iter_mut().for_each(|i| self.index(i));
            }
            ExprKind::Field { base, field } => {
                self.expr(base);
                self.ident(field);
            }
            ExprKind::Lambda(l) => self.lambda(l),
        }
        self.span(&mut e.span);
    }
}

#[cfg(test)]
mod tests {
    use super::Reparser;
    use crate::{parse, FileId};

    fn same(r: &mut Reparser, text: &str) {
        let a = r.parse(FileId(3), text);
        let b = parse(FileId(3), text);
        assert_eq!(a.file, b.file, "{text}");
        assert_eq!(format!("{:?}", a.errors), format!("{:?}", b.errors), "{text}");
        assert_eq!(format!("{:?}", a.broken), format!("{:?}", b.broken), "{text}");
    }

    #[test]
    fn equals_parse_before_and_after_edits() {
        let mut r = Reparser::new();
        let src = "use std.integrator\n// c\ninput x: [2]\nensemble a = lif(n = 3,\n  seed = 1)\nconnect x -> a synapse 5ms\nseed 4\nnetwork n(k: int = 1) {\n    node i: [k]\n}\nprobe a\n";
        same(&mut r, src);
        same(&mut r, &src.replace("input x: [2]", "input xy: [2, 1]"));
        same(&mut r, &format!("// top\n{src}"));
        same(&mut r, &src.replace("lif(n = 3,", "lif(n = 3"));
        same(&mut r, "input\nnode: [1]\n");
        same(&mut r, "");
    }
}
