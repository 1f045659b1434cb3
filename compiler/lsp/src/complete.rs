//! Completion and signature help, from the tokens before the cursor and the scope index.

use crate::analysis::{Analysis, Loc};
use crate::features::{fmt_time, neuron_type_doc, signature, Reply};
use crate::server::State;
use lsp_types::*;
use snn_compiler::resolve::index::{DefKind, CONFIG_KEYS, ENSEMBLE_ARGS, LAYER_ARGS};
use snn_compiler::spec::{NeuronKind, ParamUnit, NEURON_TYPES};
use snn_syntax::lex::{tokenize, Token, TokenKind, KEYWORDS};
use std::rc::Rc;

/// Functions of `fn` bodies (docs/LANGUAGE.md).
pub(crate) const FUNCTIONS: &[&str] = &[
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "exp", "log",
    "log1p", "expm1", "sqrt", "abs", "sign", "floor", "ceil", "round", "min", "max", "clip", "sum",
    "prod", "dot", "norm", "mean", "where",
];

/// Units a number may carry.
const UNITS: &[(&str, &str)] = &[
    ("ms", "milliseconds"),
    ("s", "seconds"),
    ("us", "microseconds"),
    ("Hz", "hertz"),
    ("kHz", "kilohertz"),
];

/// Statement keywords that start a declaration (for argument completion).
const STMT_KEYWORDS: &[&str] =
    &["ensemble", "layer", "node", "network", "connect", "probe", "config", "input", "let"];

fn item(label: &str, kind: CompletionItemKind, detail: impl Into<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail.into()),
        ..Default::default()
    }
}

/// The analysis to complete with (see `State::names_analysis`), the document's current
/// text and the cursor's byte offset in it.
fn usable(st: &mut State, uri: &Url, pos: Position) -> Option<(Rc<Analysis>, String, usize)> {
    let text = st.text(uri)?;
    let a = st.names_analysis(uri)?;
    let off = crate::text::LineMap::new(&text).offset(&text, pos);
    Some((a, text, off))
}

/// The innermost unclosed `(` among `toks`, with its index.
fn open_call(toks: &[Token], src: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().rev() {
        if t.kind != TokenKind::Punct {
            continue;
        }
        match t.text(src) {
            ")" | "]" => depth += 1,
            "(" | "[" if depth > 0 => depth -= 1,
            "(" => return Some(i),
            "[" => {}
            "{" | "}" if depth == 0 => return None,
            _ => {}
        }
    }
    None
}

/// The callee before `toks[open]` (`lif`, `q.integrator`).
fn callee_before(toks: &[Token], open: usize, src: &str) -> Option<String> {
    let mut i = open.checked_sub(1)?;
    if toks[i].kind != TokenKind::Ident {
        return None;
    }
    let mut name = toks[i].text(src).to_string();
    while i >= 2 && toks[i - 1].text(src) == "." && toks[i - 2].kind == TokenKind::Ident {
        name = format!("{}.{name}", toks[i - 2].text(src));
        i -= 2;
    }
    Some(name)
}

/// The statement keyword nearest before token `i` at bracket depth 0.
fn stmt_keyword<'s>(toks: &[Token], i: usize, src: &'s str) -> Option<&'s str> {
    toks[..i]
        .iter()
        .rev()
        .find(|t| t.kind == TokenKind::Keyword && STMT_KEYWORDS.contains(&t.text(src)))
        .map(|t| t.text(src))
}

/// The parameters a call of `callee` takes, as `(name, detail)`, for the statement `kw`.
fn call_params(a: &Analysis, callee: &str, kw: Option<&str>) -> Vec<(String, String)> {
    if let Some(k) = NeuronKind::from_name(callee) {
        let mut out = Vec::new();
        let extra: &[&str] = match kw {
            Some("layer") => LAYER_ARGS,
            Some("ensemble") | None => ENSEMBLE_ARGS,
            _ => &[],
        };
        for e in extra {
            out.push((e.to_string(), format!("{} argument", kw.unwrap_or("ensemble"))));
        }
        for p in k.info().params {
            let unit =
                if p.unit == ParamUnit::Time { fmt_time(p.default) } else { p.default.to_string() };
            out.push((p.name.to_string(), format!("default {unit}, {}", p.constraint.reason())));
        }
        for s in k.info().states {
            out.push((format!("initial_{}", s.var.name()), "initial state".to_string()));
        }
        return out;
    }
    if let Some(net) = a.network(a.root, callee) {
        if let Some(f) = a.file(net.file) {
            if let Some(body) = f.index().body_of(net.def) {
                return f
                    .index()
                    .defs
                    .iter()
                    .filter(|d| d.scope == body && d.kind == DefKind::Param)
                    .map(|d| (d.name.clone(), f.slice(d.full).to_string()))
                    .collect();
            }
        }
    }
    Vec::new()
}

/// Networks visible from the document: its own and those of the files it uses.
fn visible_networks(a: &Analysis) -> Vec<(String, String)> {
    let root = a.root_file();
    let mut out = Vec::new();
    for d in &root.index().defs {
        if d.kind == DefKind::Network {
            out.push((d.name.clone(), "network".to_string()));
        }
    }
    for (k, u) in root.index().uses.iter().enumerate() {
        let Some(Some(file)) = root.uses.get(k) else { continue };
        let Some(f) = a.file(*file) else { continue };
        for d in f.index().defs.iter().filter(|d| d.kind == DefKind::Network) {
            let name = match &u.alias {
                Some(q) => format!("{q}.{}", d.name),
                None => d.name.clone(),
            };
            let detail = signature(
                a,
                Loc {
                    file: *file,
                    def: snn_compiler::resolve::index::DefId(
                        f.index().defs.iter().position(|x| x.span == d.span).unwrap_or(0),
                    ),
                },
            );
            out.push((name, detail.unwrap_or_else(|| "network".into())));
        }
    }
    out
}

fn def_kind(k: DefKind) -> CompletionItemKind {
    match k {
        DefKind::Network => CompletionItemKind::CLASS,
        DefKind::Instance | DefKind::UseAlias => CompletionItemKind::MODULE,
        DefKind::Param | DefKind::LambdaParam | DefKind::ForVar => CompletionItemKind::VARIABLE,
        DefKind::Let | DefKind::Weights => CompletionItemKind::CONSTANT,
        _ => CompletionItemKind::FIELD,
    }
}

/// Members after `path.` where `path` is `names` (root first).
fn members_after(a: &Analysis, off: usize, names: &[String]) -> Vec<CompletionItem> {
    let root = a.root_file();
    let ix = &root.index();
    let scope = ix.scope_at(off);
    let Some(first) = names.first() else { return Vec::new() };
    let Some(def) = ix.visible(scope).into_iter().find(|d| &ix.def(*d).name == first) else {
        return Vec::new();
    };
    let mut loc = Loc { file: a.root, def };
    let mut rest = &names[1..];
    // follow instance members as far as they go
    while let Some(f) = rest.first() {
        if f == "neurons" {
            break;
        }
        match a.member(loc, std::slice::from_ref(f), 0) {
            Some(next) => loc = next,
            None => return Vec::new(),
        }
        rest = &rest[1..];
    }
    let Some(d) = a.def(loc) else { return Vec::new() };
    if d.kind == DefKind::UseAlias {
        let k = ix.uses.iter().position(|u| u.alias.as_deref() == Some(&d.name));
        let file = k.and_then(|k| root.uses.get(k).copied().flatten());
        let Some(f) = file.and_then(|f| a.file(f)) else { return Vec::new() };
        return f
            .index()
            .defs
            .iter()
            .filter(|d| d.kind == DefKind::Network)
            .map(|d| item(&d.name, CompletionItemKind::CLASS, "network"))
            .collect();
    }
    if let Some((file, body)) = a.instance_body(loc, 0) {
        if rest.is_empty() {
            let Some(f) = a.file(file) else { return Vec::new() };
            return f
                .index()
                .members(body)
                .into_iter()
                .map(|m| {
                    let md = f.index().def(m);
                    item(&md.name, def_kind(md.kind), md.kind.describe())
                })
                .collect();
        }
        return Vec::new();
    }
    // an object: `.neurons`, then its neuron type's state variables
    let target = if d.kind == DefKind::Alias { a.alias_target(loc, 0).unwrap_or(loc) } else { loc };
    let objects = a.objects_of(target);
    let neuron = objects.first().and_then(|o| o.neuron().cloned());
    match (rest.len(), neuron) {
        (0, Some(_)) => {
            vec![item("neurons", CompletionItemKind::FIELD, "the population's neurons")]
        }
        (1, Some(n)) => {
            let mut states: Vec<&str> = n.kind.info().states.iter().map(|s| s.var.name()).collect();
            if let Some(b) = &n.base {
                states.extend(b.kind.info().states.iter().map(|s| s.var.name()));
            }
            states
                .into_iter()
                .map(|s| item(s, CompletionItemKind::FIELD, "state variable (probes)"))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// `textDocument/completion`.
pub(crate) fn completion(st: &mut State, p: CompletionParams) -> Reply<Option<CompletionResponse>> {
    let pp = p.text_document_position;
    let Some((a, text, off)) = usable(st, &pp.text_document.uri, pp.position) else {
        return Ok(None);
    };
    let root = a.root_file();
    let src = text.get(..off).unwrap_or("");
    let toks = tokenize(src);
    let last = toks.last().copied().filter(|t| t.end == off);
    // the word being typed is not context
    let ctx: &[Token] = match last {
        Some(t) if matches!(t.kind, TokenKind::Ident | TokenKind::Keyword) => {
            &toks[..toks.len() - 1]
        }
        _ => &toks,
    };
    let prev = |k: usize| ctx.len().checked_sub(k).map(|i| ctx[i]);
    let prev_text = |k: usize| prev(k).map(|t| t.text(src)).unwrap_or("");
    // inside a string: tensor names of `w["…`
    if let Some(t) = last.filter(|t| t.kind == TokenKind::String) {
        let s = t.text(src);
        if s.len() == 1 || !s.ends_with('"') {
            let n = toks.len();
            if n >= 3 && toks[n - 2].text(src) == "[" && toks[n - 3].kind == TokenKind::Ident {
                let w = toks[n - 3].text(src);
                return Ok(Some(CompletionResponse::Array(tensor_names(&a, off, w))));
            }
            return Ok(None);
        }
    }
    if let Some(t) = last {
        // `5` or `5m` right after a number: units
        let after_number = t.kind == TokenKind::Number || (t.kind == TokenKind::Unit);
        if after_number {
            let items = UNITS.iter().map(|(u, d)| item(u, CompletionItemKind::UNIT, *d)).collect();
            return Ok(Some(CompletionResponse::Array(items)));
        }
        if t.kind == TokenKind::Comment {
            return Ok(None);
        }
    }
    // after a dot
    if prev_text(1) == "." {
        let mut names = Vec::new();
        let mut i = ctx.len() - 1;
        while i >= 1 && ctx[i - 1].kind != TokenKind::Punct {
            names.insert(0, ctx[i - 1].text(src).to_string());
            if i >= 2 && ctx[i - 2].text(src) == "." {
                i -= 2;
            } else {
                i -= 1;
                break;
            }
        }
        let before = if i >= 1 { ctx[i - 1].text(src) } else { "" };
        if names.first().map(String::as_str) == Some("std") && before == "use" {
            let std = a.std_names();
            let items = std
                .iter()
                .map(|n| item(n, CompletionItemKind::MODULE, "standard library"))
                .collect();
            return Ok(Some(CompletionResponse::Array(items)));
        }
        // `config { kind.param = … }`
        if names.len() == 1 && in_config(ctx, src) {
            let kind = names[0].as_str();
            let params: Vec<String> = match NeuronKind::from_name(kind) {
                Some(k) => k.info().params.iter().map(|p| p.name.to_string()).collect(),
                None => CONFIG_KEYS
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, ps)| ps.iter().map(|p| p.to_string()).collect())
                    .unwrap_or_default(),
            };
            let items = params
                .iter()
                .map(|p| item(p, CompletionItemKind::PROPERTY, "config default"))
                .collect();
            return Ok(Some(CompletionResponse::Array(items)));
        }
        return Ok(Some(CompletionResponse::Array(members_after(&a, off, &names))));
    }
    if prev_text(1) == "use" {
        let items = vec![item("std", CompletionItemKind::MODULE, "the standard library")];
        return Ok(Some(CompletionResponse::Array(items)));
    }
    let mut items = Vec::new();
    // argument names inside a call
    if let Some(open) = open_call(ctx, src) {
        let at_name = matches!(prev_text(1), "(" | ",");
        if at_name {
            if let Some(callee) = callee_before(ctx, open, src) {
                let kw = stmt_keyword(ctx, open, src);
                for (name, detail) in call_params(&a, &callee, kw) {
                    let mut it = item(&name, CompletionItemKind::PROPERTY, detail);
                    it.insert_text = Some(format!("{name} = "));
                    it.sort_text = Some(format!("0{name}"));
                    items.push(it);
                }
            }
        }
    }
    if in_config(ctx, src) && matches!(prev_text(1), "{" | "")
        || prev(1).is_some_and(|t| t.kind == TokenKind::Number) && in_config(ctx, src)
    {
        for (k, _) in CONFIG_KEYS {
            items.push(item(k, CompletionItemKind::MODULE, "config defaults"));
        }
    }
    // names in scope, networks, neuron types, constructors, functions, keywords
    let ix = &root.index();
    for d in ix.visible(ix.scope_at(off)) {
        let def = ix.def(d);
        if def.kind == DefKind::Probe {
            continue;
        }
        items.push(item(&def.name, def_kind(def.kind), def.kind.describe()));
    }
    for (n, detail) in visible_networks(&a) {
        if !items.iter().any(|i| i.label == n) {
            items.push(item(&n, CompletionItemKind::CLASS, detail));
        }
    }
    for info in NEURON_TYPES {
        if let Some(name) = info.lang {
            let mut it =
                item(name, CompletionItemKind::STRUCT, format!("neuron type ({})", info.nengo));
            it.documentation = Some(Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: neuron_type_doc(info.kind),
            }));
            items.push(it);
        }
    }
    for c in snn_compiler::value::CONSTRUCTORS {
        items.push(item(c, CompletionItemKind::CONSTRUCTOR, "constructor"));
    }
    for f in FUNCTIONS.iter().chain(snn_compiler::value::CONST_FUNCTIONS) {
        if !items.iter().any(|i| i.label == *f) {
            items.push(item(f, CompletionItemKind::FUNCTION, "function"));
        }
    }
    for k in KEYWORDS {
        items.push(item(k, CompletionItemKind::KEYWORD, "keyword"));
    }
    Ok(Some(CompletionResponse::Array(items)))
}

/// Whether the cursor (after `ctx`) is inside a `config { … }` block.
fn in_config(ctx: &[Token], src: &str) -> bool {
    let mut depth = 0i32;
    for (i, t) in ctx.iter().enumerate().rev() {
        match t.text(src) {
            "}" => depth += 1,
            "{" if depth > 0 => depth -= 1,
            "{" => return i >= 1 && ctx[i - 1].text(src) == "config",
            _ => {}
        }
    }
    false
}

/// Tensor names of the weights file bound to `w`.
fn tensor_names(a: &Analysis, off: usize, w: &str) -> Vec<CompletionItem> {
    let root = a.root_file();
    let ix = &root.index();
    let Some(def) = ix.visible(ix.scope_at(off)).into_iter().find(|d| ix.def(*d).name == w) else {
        return Vec::new();
    };
    let d = ix.def(def);
    if d.kind != DefKind::Weights {
        return Vec::new();
    }
    let path = root.slice(d.full).split('"').nth(1).unwrap_or("").to_string();
    let Ok(source) = a.weights(a.root, &path) else { return Vec::new() };
    let names = source.names();
    names
        .iter()
        .map(|n| {
            let shape = source.tensor(n).map(|t| snn_compiler::value::fmt_shape(t.shape()));
            item(n, CompletionItemKind::VALUE, shape.unwrap_or_default())
        })
        .collect()
}

/// `textDocument/signatureHelp`: for neuron types and network instantiation.
pub(crate) fn signature_help(
    st: &mut State,
    p: SignatureHelpParams,
) -> Reply<Option<SignatureHelp>> {
    let pp = p.text_document_position_params;
    let Some((a, text, off)) = usable(st, &pp.text_document.uri, pp.position) else {
        return Ok(None);
    };
    let src = text.get(..off).unwrap_or("");
    let toks = tokenize(src);
    let Some(open) = open_call(&toks, src) else { return Ok(None) };
    let Some(callee) = callee_before(&toks, open, src) else { return Ok(None) };
    let kw = stmt_keyword(&toks, open, src);
    // the argument the cursor is in: by name when named, else by position
    let mut depth = 0;
    let mut commas = 0;
    let mut arg_start = open + 1;
    for (i, t) in toks.iter().enumerate().skip(open + 1) {
        match t.text(src) {
            "(" | "[" => depth += 1,
            ")" | "]" => depth -= 1,
            "," if depth == 0 => {
                commas += 1;
                arg_start = i + 1;
            }
            _ => {}
        }
    }
    let named = match (toks.get(arg_start), toks.get(arg_start + 1)) {
        (Some(n), Some(eq)) if eq.text(src) == "=" => Some(n.text(src)),
        _ => None,
    };
    let (label, params, doc): (String, Vec<String>, Option<String>) = if let Some(k) =
        NeuronKind::from_name(&callee)
    {
        let mut ps: Vec<String> = Vec::new();
        match kw {
            Some("ensemble") | None => ps.extend(["n".to_string(), "dims".to_string()]),
            _ => {}
        }
        if k.info().wraps_base {
            ps.push("base".into());
        }
        for p in k.info().params {
            let d =
                if p.unit == ParamUnit::Time { fmt_time(p.default) } else { p.default.to_string() };
            ps.push(format!("{} = {d}", p.name));
        }
        (
            format!("{callee}({})", ps.join(", ")),
            ps,
            Some(format!("neuron type (Nengo {})", k.info().nengo)),
        )
    } else if let Some(net) = a.network(a.root, &callee) {
        let ps: Vec<String> = call_params(&a, &callee, kw).into_iter().map(|(_, t)| t).collect();
        let doc = a
            .file(net.file)
            .zip(a.def(net))
            .map(|(f, d)| crate::features::doc_comment(f, d.full.start as usize));
        (format!("{callee}({})", ps.join(", ")), ps, doc.filter(|d| !d.is_empty()))
    } else {
        return Ok(None);
    };
    let active = match named {
        Some(n) => params.iter().position(|p| {
            p == n || p.starts_with(&format!("{n} ")) || p.starts_with(&format!("{n}:"))
        }),
        None => Some(commas),
    };
    let sig = SignatureInformation {
        label,
        documentation: doc.map(Documentation::String),
        parameters: Some(
            params
                .into_iter()
                .map(|p| ParameterInformation {
                    label: ParameterLabel::Simple(p),
                    documentation: None,
                })
                .collect(),
        ),
        active_parameter: active.map(|a| a as u32),
    };
    Ok(Some(SignatureHelp {
        signatures: vec![sig],
        active_signature: Some(0),
        active_parameter: active.map(|a| a as u32),
    }))
}
