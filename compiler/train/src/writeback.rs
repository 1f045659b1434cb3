//! Writing trained parameters back: the model's source with every trained value replaced by a
//! tensor of a new weights file (`weights trained = "OUT.safetensors"`; `trained["x->h.transform"]`),
//! so the result runs with `snnc run` and trains again. Only the edited expressions change; the
//! rest of the file (comments, layout) is kept as written.

use crate::params::{Param, ParamKind, Site};
use crate::TrainError;
use ndarray::ArrayD;
use snn_compiler::model::Model;
use snn_syntax::ast::{ClauseKind, Expr, ExprKind, File, Item, StmtKind};
use snn_syntax::Span;

/// The rewritten source and the tensors of the new weights file.
#[derive(Debug)]
pub struct Written {
    /// The new `.snn` text.
    pub source: String,
    /// Tensors by name, in parameter order.
    pub tensors: Vec<(String, ArrayD<f64>)>,
}

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Rewrites `source` (the root file, parsed as `file`) so that it holds `params` (with their
/// trained `values`), reading them from `weights_file` (a path relative to the written file).
/// An error, at the statement, for a parameter declared where one text cannot hold it (inside
/// a network definition or a `for` loop, or in another file).
pub fn write_back(
    source: &str,
    file: &File,
    model: &Model,
    params: &[Param],
    values: &[ArrayD<f64>],
    weights_file: &str,
) -> Result<Written, TrainError> {
    let w = weights_name(source);
    let mut edits = Vec::new();
    let mut tensors = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (p, value) in params.iter().zip(values) {
        let mut name = p.name.clone();
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = format!("{}#{k}", p.name);
            k += 1;
        }
        let reference = format!("{w}[{}]", quote(&name));
        let span = p.span;
        let stmt = top_level(file, span).ok_or_else(|| {
            TrainError::at(
                "cannot write this trained parameter back: only statements at the top level of \
                 the model's own file are rewritten (not inside a network definition or another file)",
                span,
            )
        })?;
        let shared = match p.site {
            Site::Transform { .. } => model.connections.iter().filter(|c| c.span == span).count(),
            Site::Bias { .. } => model.objects.iter().filter(|o| o.span == span).count(),
        };
        if shared > 1 {
            return Err(TrainError::at(
                "cannot write this trained parameter back: the statement declares several objects (a `for` loop); each would need its own values",
                span,
            ));
        }
        match (&stmt.kind, p.kind) {
            (StmtKind::Connect { clauses, .. }, kind) => {
                let e = clauses
                    .iter()
                    .find_map(|c| match &c.kind {
                        ClauseKind::Transform(e) => Some(e),
                        _ => None,
                    })
                    .ok_or_else(|| TrainError::at("no transform clause to rewrite", span))?;
                match kind {
                    ParamKind::Matrix => edits.push(replace(e.span, reference)),
                    ParamKind::Scale if value.len() == 1 => {
                        edits.push(replace(
                            e.span,
                            number(value.iter().next().copied().unwrap_or(0.0)),
                        ));
                    }
                    ParamKind::Scale => edits.push(replace(e.span, reference)),
                    ParamKind::Sparse => {
                        edits.push(call_arg(source, e, "values", &reference, &[])?)
                    }
                    ParamKind::Kernel => edits.push(call_arg(
                        source,
                        e,
                        "kernel",
                        &reference,
                        &["filters", "kernel_size", "init"],
                    )?),
                    ParamKind::Bias => return Err(TrainError::at("a bias on a connection", span)),
                }
            }
            (StmtKind::Layer { value, .. }, ParamKind::Bias) => {
                edits.push(call_arg(source, value, "bias", &reference, &[])?);
            }
            _ => return Err(TrainError::at("cannot write this trained parameter back", span)),
        }
        tensors.push((name, value.clone()));
    }
    // The weights statement goes before the first statement of the file.
    let at = file
        .items
        .iter()
        .find_map(|i| match i {
            Item::Stmt(s) => Some(s.span.start as usize),
            _ => None,
        })
        .unwrap_or(source.len());
    edits.push(Edit {
        start: at,
        end: at,
        text: format!("weights {w} = {}\n", quote(weights_file)),
    });
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(source.len() + 256);
    let mut pos = 0;
    for e in &edits {
        if e.start < pos {
            return Err(TrainError::new("two trained parameters overlap in the source"));
        }
        out.push_str(&source[pos..e.start]);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(&source[pos..]);
    Ok(Written { source: out, tensors })
}

/// A name for the new weights file not used as a word in `source`.
fn weights_name(source: &str) -> String {
    let used = |n: &str| source.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == n);
    let mut name = "trained".to_string();
    let mut k = 2;
    while used(&name) {
        name = format!("trained_{k}");
        k += 1;
    }
    name
}

/// A string literal.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A number as the language reads it back exactly.
fn number(v: f64) -> String {
    let s = format!("{v:?}");
    if v < 0.0 {
        format!("({s})")
    } else {
        s
    }
}

fn replace(span: Span, text: String) -> Edit {
    Edit { start: span.start as usize, end: span.end as usize, text }
}

/// The top-level statement of the root file that holds `span` (an object's name, a
/// connection's statement).
fn top_level(file: &File, span: Span) -> Option<&snn_syntax::ast::Stmt> {
    file.items.iter().find_map(|i| match i {
        Item::Stmt(s)
            if s.span.file == span.file && s.span.start <= span.start && span.end <= s.span.end =>
        {
            Some(s)
        }
        _ => None,
    })
}

/// In the call `e`, the argument `name` set to `value`: its value replaced when written, else
/// the argument added; arguments named in `drop` are removed (a generated kernel's `filters`,
/// `kernel_size` and `init` give way to the trained `kernel`).
fn call_arg(
    source: &str,
    e: &Expr,
    name: &str,
    value: &str,
    drop: &[&str],
) -> Result<Edit, TrainError> {
    let ExprKind::Call { callee, args } = &e.kind else {
        return Err(TrainError::at("expected a call here to hold the trained values", e.span));
    };
    let mut parts: Vec<String> = Vec::new();
    let mut found = false;
    for a in args {
        match a.name.as_ref().map(|n| n.name.as_str()) {
            Some(n) if n == name => {
                parts.push(format!("{name} = {value}"));
                found = true;
            }
            Some(n) if drop.contains(&n) => {}
            _ => parts.push(source[a.span.start as usize..a.span.end as usize].to_string()),
        }
    }
    if !found {
        parts.push(format!("{name} = {value}"));
    }
    let callee_text = &source[callee.span.start as usize..callee.span.end as usize];
    Ok(replace(e.span, format!("{callee_text}({})", parts.join(", "))))
}
