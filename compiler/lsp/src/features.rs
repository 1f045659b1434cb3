//! Hover, go to definition, references, rename, symbols, formatting and inlay hints.

use crate::analysis::{Analysis, FileData, Loc};
use crate::server::State;
use lsp_types::*;
use snn_compiler::model::{NodeKind, Object, ObjectKind, Transform};
use snn_compiler::resolve::index::{DefKind, RefTarget, ENSEMBLE_ARGS, LAYER_ARGS};
use snn_compiler::spec::{NeuronKind, NeuronSpec, ParamUnit, SynapseSpec};
use snn_compiler::value::fmt_shape;
use snn_syntax::{FileId, Span};

/// An error reply.
pub(crate) type Reply<T> = Result<T, (i32, String)>;

/// What is at a position of the document.
pub(crate) enum At {
    /// The name of a definition.
    Def(Loc),
    /// A reference, resolved when it names a definition of some file.
    Ref(RefTarget, Span, Option<Loc>),
    /// The target of the `k`-th `use` item.
    Use(usize),
}

/// The definition, reference or `use` target at byte `offset` of the document.
pub(crate) fn at(a: &Analysis, offset: usize) -> Option<At> {
    let f = a.root_file();
    if let Some(d) = f.index().def_at(offset) {
        return Some(At::Def(Loc { file: a.root, def: d }));
    }
    if let Some(r) = f.index().ref_at(offset) {
        return Some(At::Ref(r.target.clone(), r.span, a.resolve(a.root, r)));
    }
    let k = f.index().uses.iter().position(|u| {
        (u.target_span.start as usize) <= offset && offset <= u.target_span.end as usize
    })?;
    Some(At::Use(k))
}

fn doc_offset(st: &mut State, uri: &Url, pos: Position) -> Option<(std::rc::Rc<Analysis>, usize)> {
    let a = st.analysis(uri)?;
    let off = a.root_file().offset(pos);
    Some((a, off))
}

// ---- hover ------------------------------------------------------------------------------

/// `textDocument/hover`.
pub(crate) fn hover(st: &mut State, p: HoverParams) -> Reply<Option<Hover>> {
    let pp = p.text_document_position_params;
    let Some((a, off)) = doc_offset(st, &pp.text_document.uri, pp.position) else {
        return Ok(None);
    };
    let root = a.root_file();
    let (text, span) = match at(&a, off) {
        Some(At::Def(loc)) => (hover_def(&a, loc), a.def(loc).map(|d| d.span)),
        Some(At::Ref(target, span, loc)) => {
            let text = match (loc, &target) {
                (Some(loc), _) => hover_def(&a, loc),
                (None, RefTarget::Free(name)) => hover_free(name),
                (None, RefTarget::Arg { callee, name }) => hover_arg(callee, name),
                (None, _) => None,
            };
            (text, Some(span))
        }
        Some(At::Use(k)) => {
            let target = root.uses.get(k).copied().flatten().and_then(|f| a.file(f));
            let text = target.map(|f| {
                let nets: Vec<String> = f
                    .index()
                    .defs
                    .iter()
                    .filter(|d| d.kind == DefKind::Network)
                    .map(|d| format!("`{}`", d.name))
                    .collect();
                format!("file `{}`\n\nnetworks: {}", f.uri.path(), nets.join(", "))
            });
            (text, root.index().uses.get(k).map(|u| u.target_span))
        }
        None => (hover_connection(&a, off), None),
    };
    Ok(text.map(|value| Hover {
        contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }),
        range: span.map(|s| root.range(s)),
    }))
}

/// The first line of a definition's statement, as written.
fn decl_line(f: &FileData, full: Span) -> String {
    let text = f.slice(full);
    let line = text.lines().next().unwrap_or("").trim_end();
    let mut line: String = line.chars().take(160).collect();
    if text.contains('\n') && !line.ends_with('{') {
        line.push_str(" …");
    }
    line
}

/// The `//` comment lines right above byte `start` of `f`.
pub(crate) fn doc_comment(f: &FileData, start: usize) -> String {
    let before = f.text.get(..start).unwrap_or("");
    let mut lines: Vec<&str> = Vec::new();
    for line in before.lines().rev().skip(usize::from(!before.ends_with('\n'))) {
        match line.trim().strip_prefix("//") {
            Some(c) => lines.push(c.trim()),
            None => break,
        }
    }
    lines.reverse();
    lines.join("\n")
}

/// A network's signature: `network name(p: type = default, …)`.
pub(crate) fn signature(a: &Analysis, net: Loc) -> Option<String> {
    let f = a.file(net.file)?;
    let d = a.def(net)?;
    let text = f.slice(d.full);
    let head = text.split('{').next().unwrap_or("").split_whitespace().collect::<Vec<_>>();
    Some(head.join(" ").replace("( ", "(").replace(" )", ")"))
}

fn fence(code: &str) -> String {
    format!("```snn\n{code}\n```")
}

fn hover_def(a: &Analysis, loc: Loc) -> Option<String> {
    let f = a.file(loc.file)?;
    let d = a.def(loc)?;
    let mut out = match d.kind {
        DefKind::Network => {
            let mut s = fence(&signature(a, loc)?);
            let doc = doc_comment(f, d.full.start as usize);
            if !doc.is_empty() {
                s.push_str("\n\n");
                s.push_str(&doc);
            }
            let body = f.index().body_of(loc.def);
            if let Some(body) = body {
                let members: Vec<String> = f
                    .index()
                    .members(body)
                    .iter()
                    .map(|m| format!("`{}`", f.index().def(*m).name))
                    .collect();
                s.push_str(&format!("\n\nmembers: {}", members.join(", ")));
            }
            s
        }
        DefKind::Param => {
            let net = f.index().scopes.get(d.scope.0).and_then(|s| s.network);
            let net = net.map(|n| f.index().def(n).name.clone()).unwrap_or_default();
            format!("{}\n\nparameter of network `{net}`", fence(f.slice(d.full)))
        }
        _ => format!("{}\n\n{}", fence(&decl_line(f, d.full)), d.kind.describe()),
    };
    let objects = a.objects_of(loc);
    if let Some(o) = objects.first() {
        out.push_str("\n\n");
        out.push_str(&describe_object(o));
        if objects.len() > 1 {
            let names: Vec<&str> = objects.iter().take(6).map(|o| o.name.as_str()).collect();
            out.push_str(&format!(
                "\n\n{} objects from this declaration: {}{}",
                objects.len(),
                names.join(", "),
                if objects.len() > 6 { ", …" } else { "" }
            ));
        } else if !o.name.is_empty() && o.name != d.name {
            out.push_str(&format!("\n\nas `{}`", o.name));
        }
    }
    if d.kind == DefKind::Instance {
        if let Some(net) = d.callee.as_deref().and_then(|c| a.network(loc.file, c)) {
            if let Some(sig) = signature(a, net) {
                out.push_str(&format!("\n\ninstance of:\n{}", fence(&sig)));
            }
        }
    }
    if d.kind == DefKind::Weights {
        let path = f.slice(d.full).split('"').nth(1).unwrap_or("").to_string();
        if let Ok(w) = a.weights(loc.file, &path) {
            out.push_str(&format!("\n\n{} tensors", w.names().len()));
        }
    }
    Some(out)
}

/// A number in seconds as the language writes it (`20ms`, `1s`, `0`).
pub(crate) fn fmt_time(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() < 1e-3 {
        format!("{}us", round(x * 1e6))
    } else if x.abs() < 1.0 {
        format!("{}ms", round(x * 1e3))
    } else {
        format!("{}s", round(x))
    }
}

fn round(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn fmt_param(unit: ParamUnit, x: f64) -> String {
    match unit {
        ParamUnit::Time => fmt_time(x),
        ParamUnit::One => round(x),
    }
}

/// `lif (LIF): tau_rc = 20ms, tau_ref = 2ms, …`.
fn describe_neuron(n: &NeuronSpec) -> String {
    let info = n.kind.info();
    let params: Vec<String> = info
        .params
        .iter()
        .zip(&n.params)
        .map(|(p, v)| format!("{} = {}", p.name, fmt_param(p.unit, *v)))
        .collect();
    let mut s = format!("`{}` (Nengo `{}`)", info.name(), info.nengo);
    if let Some(b) = &n.base {
        s.push_str(&format!(" of {}", describe_neuron(b)));
    }
    if !params.is_empty() {
        s.push_str(&format!(": {}", params.join(", ")));
    }
    s
}

/// What the checked model says about an object.
pub(crate) fn describe_object(o: &Object) -> String {
    let shape = fmt_shape(&o.shape);
    match &o.kind {
        ObjectKind::Input => format!("input of shape `{shape}`"),
        ObjectKind::Node(k) => {
            let what = match k {
                NodeKind::Const(_) => "constant",
                NodeKind::Passthrough => "passthrough",
                NodeKind::Function(_) => "function",
                NodeKind::Process(_) => "process",
                NodeKind::Host(_) => "host function",
            };
            format!("{what} node, output `{shape}`, input size {}", o.size_in)
        }
        ObjectKind::Ensemble(e) => format!(
            "ensemble of **{}** neurons, {} dimension(s) (shape `{shape}`), radius {}\n\nneurons: {}",
            e.n_neurons,
            e.dims,
            round(e.radius),
            describe_neuron(&e.neuron)
        ),
        ObjectKind::Layer(l) => format!(
            "layer of **{}** neurons, shape `{shape}`\n\nneurons: {}",
            o.size_out(),
            describe_neuron(&l.neuron)
        ),
    }
}

/// Hover of a name that is no definition: a neuron type, a constructor or a function.
fn hover_free(name: &str) -> Option<String> {
    if let Some(k) = NeuronKind::from_name(name) {
        return Some(neuron_type_doc(k));
    }
    if snn_compiler::value::CONSTRUCTORS.contains(&name) {
        return Some(format!("{}\n\nconstructor", fence(&format!("{name}(…)"))));
    }
    if snn_compiler::value::CONST_FUNCTIONS.contains(&name)
        || crate::complete::FUNCTIONS.contains(&name)
    {
        return Some(format!("{}\n\nfunction", fence(&format!("{name}(…)"))));
    }
    match name {
        "pi" | "e" => Some(format!("constant `{name}`")),
        "t" => Some("the simulation time, in seconds".into()),
        _ => None,
    }
}

/// A neuron type's parameters (defaults, units, constraints) and state variables.
pub(crate) fn neuron_type_doc(k: NeuronKind) -> String {
    let info = k.info();
    let params: Vec<String> = info
        .params
        .iter()
        .map(|p| {
            format!(
                "- `{}` = {} ({}{})",
                p.name,
                fmt_param(p.unit, p.default),
                if p.unit == ParamUnit::Time { "time, " } else { "" },
                p.constraint.reason()
            )
        })
        .collect();
    let states: Vec<&str> = info.states.iter().map(|s| s.var.name()).collect();
    format!(
        "{}\n\nneuron type, Nengo `{}`, {}\n\nparameters:\n{}\n\nstate: {}",
        fence(&format!("{}({})", info.name(), if info.wraps_base { "base, …" } else { "…" })),
        info.nengo,
        if info.spiking { "spiking" } else { "rate" },
        params.join("\n"),
        if states.is_empty() { "none".to_string() } else { states.join(", ") }
    )
}

fn hover_arg(callee: &str, name: &str) -> Option<String> {
    let k = NeuronKind::from_name(callee)?;
    if let Some(p) = k.info().params.iter().find(|p| p.name == name) {
        return Some(format!(
            "parameter `{}` of `{callee}`: default {}, {}",
            p.name,
            fmt_param(p.unit, p.default),
            p.constraint.reason()
        ));
    }
    if ENSEMBLE_ARGS.contains(&name) {
        return Some(format!("ensemble argument `{name}`"));
    }
    if LAYER_ARGS.contains(&name) {
        return Some(format!("layer argument `{name}`"));
    }
    name.strip_prefix("initial_").map(|s| format!("initial value of the state variable `{s}`"))
}

fn describe_synapse(s: &Option<SynapseSpec>) -> String {
    match s {
        None => "none (same step)".into(),
        Some(SynapseSpec::Lowpass(t)) => format!("lowpass({})", fmt_time(*t)),
        Some(SynapseSpec::Alpha(t)) => format!("alpha({})", fmt_time(*t)),
        Some(SynapseSpec::LinearFilter { num, den }) => {
            format!("linear_filter(num = {num:?}, den = {den:?})")
        }
    }
}

/// The shape of a connection's transform, as `(out, in)` or a description.
pub(crate) fn transform_shape(t: &Transform, size_in: usize, size_out: usize) -> String {
    match t {
        Transform::Identity => format!("identity [{size_out}]"),
        Transform::Scalar(x) => format!("scalar {}", round(*x)),
        Transform::Elementwise(v) => format!("elementwise [{}]", v.len()),
        Transform::Dense(m) => format!("dense [{}, {}]", m.nrows(), m.ncols()),
        Transform::Sparse { shape, values, .. } => {
            format!("sparse [{}, {}], {} nonzeros", shape.0, shape.1, values.len())
        }
        Transform::Conv(_) => format!("convolution [{size_in}] → [{size_out}]"),
    }
}

fn hover_connection(a: &Analysis, off: usize) -> Option<String> {
    let model = &a.checked.model;
    let conns: Vec<_> = model
        .connections
        .iter()
        .filter(|c| {
            c.span.file == a.root && (c.span.start as usize) <= off && off <= c.span.end as usize
        })
        .collect();
    let c = conns.first()?;
    let pre = &model.object(c.pre.obj).name;
    let post = &model.object(c.post.obj).name;
    let mut s = format!(
        "connection `{pre}` → `{post}`: size {} → {}\n\ntransform: {}\n\nsynapse: {}",
        c.pre.size,
        c.post.size,
        transform_shape(&c.transform, c.pre.size, c.post.size),
        describe_synapse(&c.synapse)
    );
    if c.function.is_some() {
        s.push_str("\n\ndecoded function");
    }
    if conns.len() > 1 {
        s.push_str(&format!("\n\n({} connections from this statement)", conns.len()));
    }
    Some(s)
}

// ---- navigation -------------------------------------------------------------------------

fn location(a: &Analysis, file: FileId, span: Span) -> Option<Location> {
    let f = a.file(file)?;
    Some(Location::new(f.uri.clone(), f.range(span)))
}

/// `textDocument/definition`.
pub(crate) fn definition(
    st: &mut State,
    p: GotoDefinitionParams,
) -> Reply<Option<GotoDefinitionResponse>> {
    let pp = p.text_document_position_params;
    let Some((a, off)) = doc_offset(st, &pp.text_document.uri, pp.position) else {
        return Ok(None);
    };
    let loc = match at(&a, off) {
        Some(At::Def(loc)) | Some(At::Ref(_, _, Some(loc))) => {
            a.def(loc).and_then(|d| location(&a, loc.file, d.span))
        }
        Some(At::Use(k)) => {
            let f = a.root_file().uses.get(k).copied().flatten();
            f.and_then(|f| location(&a, f, Span::new(f, 0, 0)))
        }
        _ => None,
    };
    Ok(loc.map(GotoDefinitionResponse::Scalar))
}

/// The definition a position names (its own name or a reference to it).
fn target_at(a: &Analysis, off: usize) -> Option<Loc> {
    match at(a, off)? {
        At::Def(loc) | At::Ref(_, _, Some(loc)) => Some(loc),
        _ => None,
    }
}

/// `textDocument/references`.
pub(crate) fn references(st: &mut State, p: ReferenceParams) -> Reply<Option<Vec<Location>>> {
    let pp = p.text_document_position;
    let Some((a, off)) = doc_offset(st, &pp.text_document.uri, pp.position) else {
        return Ok(None);
    };
    let Some(target) = target_at(&a, off) else { return Ok(None) };
    let refs = a.references(target, p.context.include_declaration, &st.watch);
    let mut out: Vec<Location> = refs.into_iter().filter_map(|(f, s)| location(&a, f, s)).collect();
    out.extend(workspace_references(st, &a, target));
    Ok(Some(out))
}

/// The references to `target` (a definition of the analysis `a`) in the workspace's other
/// files: each `.snn` file under the workspace folders (or open) that is not part of `a`, names
/// the definition and mentions its file (`use "…/file.snn"`, `use std.name`) is checked on its
/// own (its buffer when open, else read from disk), and its references to the same definition
/// are kept. Observes cancellation between files.
fn workspace_references(st: &mut State, a: &Analysis, target: Loc) -> Vec<Location> {
    let mut out = Vec::new();
    let (Some(tf), Some(def)) = (a.file(target.file), a.def(target)) else { return out };
    let (target_uri, name, span) = (tf.uri.clone(), def.name.clone(), def.span);
    let Ok(target_path) = target_uri.to_file_path() else { return out };
    let stem = target_path.file_stem().map(|s| s.to_string_lossy().to_string());
    let mention = if crate::analysis::is_stdlib(&target_uri) {
        format!("std.{}", stem.unwrap_or_default())
    } else {
        target_path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
    };
    let mut candidates: Vec<Url> = st.docs.keys().cloned().collect();
    let mut paths = Vec::new();
    for r in &st.roots {
        snn_files(r, &mut paths, 2000, 0);
    }
    candidates.extend(paths.iter().filter_map(|p| Url::from_file_path(p).ok()));
    candidates.sort();
    candidates.dedup();
    for uri in candidates {
        st.watch.check();
        if a.files.iter().any(|f| f.uri == uri) {
            continue;
        }
        let Some(text) = st.text(&uri) else { continue };
        if !text.contains(&mention) || !text.contains(&name) {
            continue;
        }
        let Some(b) = st.analysis(&uri) else { continue };
        let Some(fb) = b.files.iter().position(|f| f.uri == target_uri) else { continue };
        let fb = FileId(fb as u32);
        let same = |d: &snn_compiler::resolve::index::Def| {
            d.name == name && d.span.start == span.start && d.span.end == span.end
        };
        let Some(db) = b.file(fb).and_then(|f| f.index().defs.iter().position(same)) else {
            continue;
        };
        let at = Loc { file: fb, def: snn_compiler::resolve::index::DefId(db) };
        for (f, s) in b.references(at, false, &st.watch) {
            // files `a` has are already counted
            let Some(fd) = b.file(f) else { continue };
            if a.files.iter().any(|x| x.uri == fd.uri) {
                continue;
            }
            let l = Location::new(fd.uri.clone(), fd.range(s));
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

/// `textDocument/prepareRename`.
pub(crate) fn prepare_rename(
    st: &mut State,
    p: TextDocumentPositionParams,
) -> Reply<Option<PrepareRenameResponse>> {
    let Some((a, off)) = doc_offset(st, &p.text_document.uri, p.position) else {
        return Ok(None);
    };
    let Some(target) = target_at(&a, off) else {
        return Err((ErrorCodes::REQUEST_FAILED, "nothing to rename here".into()));
    };
    if a.file(target.file).is_none_or(|f| f.read_only) {
        return Err((ErrorCodes::REQUEST_FAILED, "the standard library cannot be renamed".into()));
    }
    let span = match at(&a, off) {
        Some(At::Def(l)) => a.def(l).map(|d| d.span),
        Some(At::Ref(_, s, _)) => Some(s),
        _ => None,
    };
    Ok(span.map(|s| PrepareRenameResponse::Range(a.root_file().range(s))))
}

struct ErrorCodes;
impl ErrorCodes {
    const REQUEST_FAILED: i32 = -32803;
}

/// `textDocument/rename`.
pub(crate) fn rename(st: &mut State, p: RenameParams) -> Reply<Option<WorkspaceEdit>> {
    let pp = p.text_document_position;
    let Some((a, off)) = doc_offset(st, &pp.text_document.uri, pp.position) else {
        return Ok(None);
    };
    let new = p.new_name;
    let Some(target) = target_at(&a, off) else {
        return Err((ErrorCodes::REQUEST_FAILED, "nothing to rename here".into()));
    };
    let valid = new.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && new.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err((ErrorCodes::REQUEST_FAILED, format!("`{new}` is not a valid name")));
    }
    // objects and aliases may have keyword names (only paths name them); values may not
    let object = a.def(target).is_some_and(|d| {
        matches!(
            d.kind,
            DefKind::Input
                | DefKind::Node
                | DefKind::Ensemble
                | DefKind::Layer
                | DefKind::Probe
                | DefKind::Instance
                | DefKind::Alias
        )
    });
    if !object && snn_syntax::lex::KEYWORDS.contains(&new.as_str()) {
        return Err((
            ErrorCodes::REQUEST_FAILED,
            format!("`{new}` is a keyword: it cannot name a value, which expressions use"),
        ));
    }
    // a name already declared beside it would make the rename a duplicate (E0102)
    if let (Some(def), Some(file)) = (a.def(target), a.file(target.file)) {
        let taken = file
            .index()
            .defs
            .iter()
            .any(|d| d.name == new && d.scope == def.scope && d.span != def.span);
        if taken && def.name != new {
            return Err((
                ErrorCodes::REQUEST_FAILED,
                format!("`{new}` is already declared in the same scope"),
            ));
        }
    }
    let refs = a.references(target, true, &st.watch);
    if refs.iter().any(|(f, _)| a.file(*f).is_none_or(|f| f.read_only)) {
        return Err((ErrorCodes::REQUEST_FAILED, "the standard library cannot be renamed".into()));
    }
    #[allow(clippy::disallowed_types)] // the LSP type's map
    let mut changes: std::collections::HashMap<Url, Vec<TextEdit>> = Default::default();
    for (f, s) in refs {
        if let Some(fd) = a.file(f) {
            changes
                .entry(fd.uri.clone())
                .or_default()
                .push(TextEdit::new(fd.range(s), new.clone()));
        }
    }
    // and in the workspace files that use the document
    for l in workspace_references(st, &a, target) {
        changes.entry(l.uri).or_default().push(TextEdit::new(l.range, new.clone()));
    }
    Ok(Some(WorkspaceEdit { changes: Some(changes), ..Default::default() }))
}

// ---- symbols ----------------------------------------------------------------------------

pub(crate) fn symbol_kind(k: DefKind) -> SymbolKind {
    match k {
        DefKind::Network => SymbolKind::CLASS,
        DefKind::Instance => SymbolKind::OBJECT,
        DefKind::Param | DefKind::LambdaParam => SymbolKind::TYPE_PARAMETER,
        DefKind::Input => SymbolKind::INTERFACE,
        DefKind::Node => SymbolKind::FIELD,
        DefKind::Ensemble | DefKind::Layer => SymbolKind::VARIABLE,
        DefKind::Alias => SymbolKind::PROPERTY,
        DefKind::Let | DefKind::Weights => SymbolKind::CONSTANT,
        DefKind::Probe => SymbolKind::EVENT,
        DefKind::ForVar => SymbolKind::VARIABLE,
        DefKind::UseAlias => SymbolKind::MODULE,
    }
}

fn outline_kind(k: DefKind) -> bool {
    !matches!(k, DefKind::ForVar | DefKind::LambdaParam)
}

/// `textDocument/documentSymbol`: networks with their parameters and members, then the
/// root network's declarations.
pub(crate) fn document_symbols(
    st: &mut State,
    p: DocumentSymbolParams,
) -> Reply<Option<DocumentSymbolResponse>> {
    let Some(a) = st.analysis(&p.text_document.uri) else { return Ok(None) };
    let f = a.root_file();
    let ix = &f.index();
    let sym = |i: usize, children: Option<Vec<DocumentSymbol>>| {
        let d = &ix.defs[i];
        let objects =
            a.objects_of(Loc { file: a.root, def: snn_compiler::resolve::index::DefId(i) });
        let detail = objects.first().map(|o| fmt_shape(&o.shape)).or_else(|| d.callee.clone());
        #[allow(deprecated)] // `deprecated` is a required field of the type
        DocumentSymbol {
            name: d.name.clone(),
            detail,
            kind: symbol_kind(d.kind),
            tags: None,
            deprecated: None,
            range: f.range(d.full),
            selection_range: f.range(d.span),
            children,
        }
    };
    let mut out = Vec::new();
    for (i, d) in ix.defs.iter().enumerate() {
        if !outline_kind(d.kind) {
            continue;
        }
        let in_root = ix.network_scope(d.scope).0 == 0;
        if d.kind == DefKind::Network {
            let id = snn_compiler::resolve::index::DefId(i);
            let body = ix.body_of(id);
            let children: Vec<DocumentSymbol> = ix
                .defs
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    Some(ix.network_scope(c.scope)) == body
                        && outline_kind(c.kind)
                        && c.kind != DefKind::Network
                })
                .map(|(k, _)| sym(k, None))
                .collect();
            out.push(sym(i, Some(children)));
        } else if in_root {
            out.push(sym(i, None));
        }
    }
    out.sort_by_key(|s| (s.range.start.line, s.range.start.character));
    Ok(Some(DocumentSymbolResponse::Nested(out)))
}

/// Whether `query`'s characters appear in order in `name` (case-insensitive).
fn fuzzy(query: &str, name: &str) -> bool {
    let mut chars = name.chars().map(|c| c.to_ascii_lowercase());
    query.chars().all(|q| chars.any(|c| c == q.to_ascii_lowercase()))
}

/// `.snn` files under `dir` (at most `limit`), skipping hidden and build directories and
/// anything that is not a regular file, links followed (a FIFO or a device is never read).
fn snn_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>, limit: usize, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        if out.len() >= limit {
            return;
        }
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if p.is_dir() {
            if depth < 8 && !name.starts_with('.') && name != "target" && name != "node_modules" {
                snn_files(&p, out, limit, depth + 1);
            }
        } else if name.ends_with(".snn") && std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
            out.push(p);
        }
    }
}

/// `workspace/symbol`: definitions of the open documents and of the workspace's `.snn` files.
pub(crate) fn workspace_symbols(
    st: &mut State,
    p: WorkspaceSymbolParams,
) -> Reply<Option<WorkspaceSymbolResponse>> {
    let mut files: Vec<(Url, String)> =
        st.docs.iter().map(|(u, d)| (u.clone(), d.text.clone())).collect();
    let mut paths = Vec::new();
    for r in &st.roots {
        snn_files(r, &mut paths, 2000, 0);
    }
    for path in paths {
        let Ok(uri) = Url::from_file_path(&path) else { continue };
        if files.iter().any(|(u, _)| *u == uri) {
            continue;
        }
        if let Some(text) = crate::text::read_regular_file(&path) {
            files.push((uri, text));
        }
    }
    let mut out = Vec::new();
    for (uri, text) in files {
        st.watch.check();
        let parsed = snn_syntax::parse(FileId(0), &text);
        let ix = snn_compiler::resolve::index::FileIndex::build(&parsed.file);
        let lines = crate::text::LineMap::new(&text);
        for d in &ix.defs {
            if !outline_kind(d.kind) || d.kind == DefKind::Param || !fuzzy(&p.query, &d.name) {
                continue;
            }
            let container = ix.scopes.get(d.scope.0).and_then(|s| s.network);
            #[allow(deprecated)] // `deprecated` is a required field of the type
            out.push(SymbolInformation {
                name: d.name.clone(),
                kind: symbol_kind(d.kind),
                tags: None,
                deprecated: None,
                location: Location::new(
                    uri.clone(),
                    lines.range(&text, d.span.start as usize, d.span.end as usize),
                ),
                container_name: container.map(|c| ix.def(c).name.clone()),
            });
            if out.len() >= 1000 {
                break;
            }
        }
    }
    Ok(Some(WorkspaceSymbolResponse::Flat(out)))
}

// ---- formatting and inlay hints -----------------------------------------------------------

/// `textDocument/formatting`: the canonical formatter; a syntax error is an error reply.
pub(crate) fn formatting(
    st: &mut State,
    p: DocumentFormattingParams,
) -> Reply<Option<Vec<TextEdit>>> {
    let uri = &p.text_document.uri;
    if crate::analysis::is_stdlib(uri) {
        return Ok(None);
    }
    let Some(text) = st.text(uri) else { return Ok(None) };
    match snn_syntax::format(&text) {
        Ok(formatted) if formatted == text => Ok(Some(Vec::new())),
        Ok(formatted) => {
            let lines = crate::text::LineMap::new(&text);
            Ok(Some(vec![TextEdit::new(lines.range(&text, 0, text.len()), formatted)]))
        }
        Err(d) => {
            let (line, col) =
                snn_syntax::LineIndex::new(&text).line_col(d.primary.span.start as usize);
            Err((ErrorCodes::REQUEST_FAILED, format!("cannot format: {line}:{col}: {}", d.message)))
        }
    }
}

/// `textDocument/inlayHint`: the shape of declarations that do not write it, and the shape
/// of written transforms.
pub(crate) fn inlay_hints(st: &mut State, p: InlayHintParams) -> Reply<Option<Vec<InlayHint>>> {
    let Some(a) = st.analysis(&p.text_document.uri) else { return Ok(None) };
    let f = a.root_file();
    let lo = f.offset(p.range.start);
    let hi = f.offset(p.range.end);
    let mut out = Vec::new();
    let hint = |pos: usize, label: String| InlayHint {
        position: f.lines.position(&f.text, pos),
        label: InlayHintLabel::String(label),
        kind: Some(InlayHintKind::TYPE),
        text_edits: None,
        tooltip: None,
        padding_left: Some(false),
        padding_right: Some(false),
        data: None,
    };
    for (i, d) in f.index().defs.iter().enumerate() {
        let (s, e) = (d.span.start as usize, d.span.end as usize);
        if e < lo || s > hi || !matches!(d.kind, DefKind::Ensemble | DefKind::Node) {
            continue;
        }
        // a node that writes its shape needs no hint
        let written = f.text.get(e..).is_some_and(|rest| {
            rest.trim_start().starts_with(':')
                || rest.trim_start().starts_with('[') && d.kind == DefKind::Node
        });
        if written && d.kind == DefKind::Node {
            continue;
        }
        let objects =
            a.objects_of(Loc { file: a.root, def: snn_compiler::resolve::index::DefId(i) });
        let Some(o) = objects.first() else { continue };
        let end = if f.text.get(e..).is_some_and(|r| r.starts_with('[')) {
            // `ea[i]`: after the index
            f.text[e..].find(']').map(|k| e + k + 1).unwrap_or(e)
        } else {
            e
        };
        out.push(hint(end, format!(": {}", fmt_shape(&o.shape))));
    }
    for c in &a.checked.model.connections {
        if c.span.file != a.root || (c.span.end as usize) < lo || c.span.start as usize > hi {
            continue;
        }
        if matches!(
            c.transform,
            Transform::Dense(_) | Transform::Sparse { .. } | Transform::Conv(_)
        ) {
            let stmt = f.slice(c.span);
            let Some(k) = stmt.find("transform") else { continue };
            let pos = c.span.start as usize + k + "transform".len();
            if out.iter().any(|h: &InlayHint| h.position == f.lines.position(&f.text, pos)) {
                continue;
            }
            out.push(InlayHint {
                padding_left: Some(true),
                ..hint(pos, transform_shape(&c.transform, c.pre.size, c.post.size))
            });
        }
    }
    Ok(Some(out))
}
