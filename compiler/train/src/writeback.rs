//! Writing trained parameters back: the model's source with every trained value replaced by a
//! tensor of a new weights file (`weights trained = "OUT.safetensors"`; `trained["x->h.transform"]`),
//! so the result runs with `snnc run` and trains again. Only the edited expressions change; the
//! rest of the file (comments, layout) is kept as written.

use crate::params::{Param, ParamKind, Site};
use crate::TrainError;
use ndarray::ArrayD;
use snn_compiler::build::Built;
use snn_compiler::model::{Model, ObjectKind};
use snn_syntax::ast::{ClauseKind, Expr, ExprKind, File, Item, StmtKind};
use snn_syntax::Span;
use std::collections::BTreeMap;

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

/// An ensemble's trained scaled encoders and biases, where trained.
type Changed = (Option<ArrayD<f64>>, Option<ArrayD<f64>>);

/// What one statement's rewrite sets: call arguments of its value (ensembles, layers) or of
/// its transform, and clauses (connections, probes).
#[derive(Default)]
struct StmtEdit {
    /// `(argument, text)` set in the call; arguments named in `drop` removed.
    args: Vec<(&'static str, String)>,
    drop: Vec<&'static str>,
    /// The new text of the `transform` clause's value.
    transform: Option<String>,
    /// A `solver no_solver(values = …)` clause replacing `fn`, `transform`, `solver` and
    /// `eval_points`.
    decoders: Option<String>,
}

/// Rewrites `source` (the root file, parsed as `file`) so that it holds `params` (with their
/// trained `values`), reading them from `weights_file` (a path relative to the written file).
/// Ensembles whose encoders or biases change get their gains and biases written (as NengoDL's
/// `get_nengo_params` does), and the decoders of their other decoded connections and probes
/// are kept as they were trained with (`no_solver`), so the written model is the trained one.
/// An error, at the statement, for a parameter declared where one text cannot hold it (inside
/// a network definition or a `for` loop, or in another file).
pub fn write_back(
    source: &str,
    file: &File,
    model: &Model,
    built: &Built,
    params: &[Param],
    values: &[ArrayD<f64>],
    weights_file: &str,
) -> Result<Written, TrainError> {
    let w = weights_name(source);
    let mut tensors = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    let mut add = |base: &str, value: ArrayD<f64>| -> String {
        let mut name = base.to_string();
        let mut k = 2;
        while !names.insert(name.clone()) {
            name = format!("{base}#{k}");
            k += 1;
        }
        tensors.push((name.clone(), value));
        format!("{w}[{}]", quote(&name))
    };
    // Statement edits, keyed by the statement's start.
    let mut edits: BTreeMap<u32, (Span, StmtEdit)> = BTreeMap::new();
    // Ensembles whose encoders or biases are written.
    let mut changed: BTreeMap<usize, Changed> = BTreeMap::new();
    let mut trained_conns = std::collections::BTreeSet::new();
    for (p, value) in params.iter().zip(values) {
        let span = p.span;
        let stmt = statement(file, model, span, &p.site)?;
        match (&p.site, p.kind) {
            (Site::Encoders { index }, _) => {
                changed.entry(*index).or_default().0 = Some(value.clone());
            }
            (Site::EnsembleBias { index }, _) => {
                changed.entry(*index).or_default().1 = Some(value.clone());
            }
            (Site::Decoders { index }, _) => {
                trained_conns.insert(*index);
                let r = add(&p.name, decoders_of(value));
                at(&mut edits, stmt.span).decoders = Some(r);
            }
            (Site::Transform { .. }, ParamKind::Scale) if value.len() == 1 => {
                at(&mut edits, stmt.span).transform =
                    Some(number(value.iter().next().copied().unwrap_or(0.0)));
            }
            (Site::Transform { .. }, ParamKind::Matrix | ParamKind::Scale) => {
                let r = add(&p.name, value.clone());
                at(&mut edits, stmt.span).transform = Some(r);
            }
            (Site::Transform { .. }, ParamKind::Sparse) => {
                let r = add(&p.name, value.clone());
                at(&mut edits, stmt.span).args.push(("values", r));
            }
            (Site::Transform { .. }, ParamKind::Kernel) => {
                let r = add(&p.name, value.clone());
                let e = at(&mut edits, stmt.span);
                e.args.push(("kernel", r));
                e.drop.extend(["filters", "kernel_size", "init"]);
            }
            (Site::Bias { .. }, _) => {
                let r = add(&p.name, value.clone());
                at(&mut edits, stmt.span).args.push(("bias", r));
            }
            _ => return Err(TrainError::at("cannot write this trained parameter back", span)),
        }
    }
    for (&oi, (enc, bias)) in &changed {
        let o = &model.objects[oi];
        let (Some(b), ObjectKind::Ensemble(e)) =
            (built.ensembles.get(oi).and_then(Option::as_ref), &o.kind)
        else {
            return Err(TrainError::at("the ensemble was not built", o.span));
        };
        let stmt = statement(file, model, o.span, &Site::Encoders { index: oi })?;
        let gain = ArrayD::from_shape_vec(vec![b.gain.len()], b.gain.clone()).unwrap_or_default();
        let bias = bias.clone().unwrap_or_else(|| {
            ArrayD::from_shape_vec(vec![b.bias.len()], b.bias.clone()).unwrap_or_default()
        });
        let mut args = Vec::new();
        if let Some(scaled) = enc {
            // NengoDL's get_nengo_params: encoders = scaled_encoders * radius / gain.
            let mut enc = scaled.clone();
            for (mut row, g) in enc.outer_iter_mut().zip(&b.gain) {
                row.mapv_inplace(|v| if *g != 0.0 { v * e.radius / g } else { v });
            }
            args.push(("encoders", add(&format!("{}.encoders", o.name), enc)));
            args.push(("normalize_encoders", "false".to_string()));
        }
        args.push(("gain", add(&format!("{}.gain", o.name), gain)));
        args.push(("bias", add(&format!("{}.bias", o.name), bias)));
        let edit = at(&mut edits, stmt.span);
        edit.args.extend(args);
        edit.drop.extend(["max_rates", "intercepts"]);
        // Decoders solved from this ensemble would change with it: keep those trained with.
        for (ci, c) in model.connections.iter().enumerate() {
            if c.pre.obj.0 as usize != oi || !c.is_decoded(model) || trained_conns.contains(&ci) {
                continue;
            }
            let Some(wts) = built.connections.get(ci).and_then(Option::as_ref) else { continue };
            let stmt = statement(file, model, c.span, &Site::Decoders { index: ci })?;
            let name = format!("{}->{}.decoders", o.name, model.object(c.post.obj).name);
            let r = add(&name, decoders_of(&wts.clone().into_dyn()));
            at(&mut edits, stmt.span).decoders = Some(r);
        }
        for (pi, p) in model.probes.iter().enumerate() {
            if p.target.obj.0 as usize != oi {
                continue;
            }
            let Some(wts) = built.probes.get(pi).and_then(Option::as_ref) else { continue };
            let stmt = top_level(file, p.span).ok_or_else(|| not_top_level(p.span))?;
            let r = add(&format!("{}.decoders", p.name), decoders_of(&wts.clone().into_dyn()));
            at(&mut edits, stmt.span).decoders = Some(r);
        }
    }
    let mut out_edits = Vec::new();
    for (span, e) in edits.values() {
        let stmt = top_level(file, *span).ok_or_else(|| not_top_level(*span))?;
        statement_edits(source, stmt, e, &mut out_edits)?;
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
    out_edits.push(Edit {
        start: at,
        end: at,
        text: format!("weights {w} = {}\n", quote(weights_file)),
    });
    let out = apply(source, &mut out_edits)?;
    // A weights file no longer read (every value it gave was trained) is no longer named.
    let mut unused = Vec::new();
    for i in &file.items {
        let Item::Stmt(s) = i else { continue };
        let StmtKind::Weights { name, .. } = &s.kind else { continue };
        let own = &source[s.span.start as usize..s.span.end as usize];
        if words(&out).filter(|w| *w == name.name).count()
            <= words(own).filter(|w| *w == name.name).count()
        {
            let end = source[s.span.end as usize..]
                .find('\n')
                .map_or(s.span.end as usize, |k| s.span.end as usize + k + 1);
            unused.push(Edit { start: s.span.start as usize, end, text: String::new() });
        }
    }
    if unused.is_empty() {
        return Ok(Written { source: out, tensors });
    }
    out_edits.extend(unused);
    Ok(Written { source: apply(source, &mut out_edits)?, tensors })
}

/// `source` with `edits` applied (sorted here; overlapping edits are an error).
fn apply(source: &str, edits: &mut [Edit]) -> Result<String, TrainError> {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(source.len() + 256);
    let mut pos = 0;
    for e in edits.iter() {
        if e.start < pos {
            return Err(TrainError::new("two trained parameters overlap in the source"));
        }
        out.push_str(&source[pos..e.start]);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(&source[pos..]);
    Ok(out)
}

/// The identifier-like words of `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty())
}

/// The edit of the statement at `span`.
fn at(edits: &mut BTreeMap<u32, (Span, StmtEdit)>, span: Span) -> &mut StmtEdit {
    &mut edits.entry(span.start).or_insert_with(|| (span, StmtEdit::default())).1
}

/// Nengo's `NoSolver` decoders `(n_neurons, size)` from a decoded connection's weights
/// `(size, n_neurons)`.
fn decoders_of(weights: &ArrayD<f64>) -> ArrayD<f64> {
    weights.t().as_standard_layout().to_owned()
}

fn not_top_level(span: Span) -> TrainError {
    TrainError::at(
        "cannot write this trained parameter back: only statements at the top level of \
         the model's own file are rewritten (not inside a network definition or another file)",
        span,
    )
}

/// The top-level statement declaring the parameter at `site`, which must declare only it.
fn statement<'f>(
    file: &'f File,
    model: &Model,
    span: Span,
    site: &Site,
) -> Result<&'f snn_syntax::ast::Stmt, TrainError> {
    let stmt = top_level(file, span).ok_or_else(|| not_top_level(span))?;
    let shared = match site {
        Site::Transform { .. } | Site::Decoders { .. } => {
            model.connections.iter().filter(|c| c.span == span).count()
        }
        _ => model.objects.iter().filter(|o| o.span == span).count(),
    };
    if shared > 1 {
        return Err(TrainError::at(
            "cannot write this trained parameter back: the statement declares several objects (a `for` loop); each would need its own values",
            span,
        ));
    }
    Ok(stmt)
}

/// The text edits that make `stmt` say what `e` sets.
fn statement_edits(
    source: &str,
    stmt: &snn_syntax::ast::Stmt,
    e: &StmtEdit,
    out: &mut Vec<Edit>,
) -> Result<(), TrainError> {
    let span = stmt.span;
    match &stmt.kind {
        StmtKind::Connect { clauses, .. } | StmtKind::Probe { clauses, .. } => {
            if let Some(r) = &e.decoders {
                for c in clauses {
                    if matches!(
                        c.kind,
                        ClauseKind::Function(_)
                            | ClauseKind::Transform(_)
                            | ClauseKind::Solver(_)
                            | ClauseKind::EvalPoints(_)
                    ) {
                        out.push(remove(source, c.span));
                    }
                }
                let end = span.end as usize;
                out.push(Edit {
                    start: end,
                    end,
                    text: format!(" solver no_solver(values = {r})"),
                });
                return Ok(());
            }
            let t = clauses.iter().find_map(|c| match &c.kind {
                ClauseKind::Transform(t) => Some(t),
                _ => None,
            });
            let t = t.ok_or_else(|| TrainError::at("no transform clause to rewrite", span))?;
            if let Some(text) = &e.transform {
                out.push(replace(t.span, text.clone()));
            } else if !e.args.is_empty() {
                out.push(call_args(source, t, &e.args, &e.drop)?);
            }
        }
        StmtKind::Layer { value, .. } | StmtKind::Ensemble { value, .. } => {
            out.push(call_args(source, value, &e.args, &e.drop)?);
        }
        _ => return Err(TrainError::at("cannot write this trained parameter back", span)),
    }
    Ok(())
}

/// Removing `span` and the whitespace before it.
fn remove(source: &str, span: Span) -> Edit {
    let start = source[..span.start as usize].trim_end().len();
    Edit { start, end: span.end as usize, text: String::new() }
}

/// A name for the new weights file not used as a word in `source`.
fn weights_name(source: &str) -> String {
    let used = |n: &str| words(source).any(|w| w == n);
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

/// The call `e` with the arguments in `set` given those values (replaced where written, else
/// added) and the arguments named in `drop` removed (a generated kernel's `filters`,
/// `kernel_size` and `init` give way to the trained `kernel`).
fn call_args(
    source: &str,
    e: &Expr,
    set: &[(&str, String)],
    drop: &[&str],
) -> Result<Edit, TrainError> {
    let ExprKind::Call { callee, args } = &e.kind else {
        return Err(TrainError::at("expected a call here to hold the trained values", e.span));
    };
    let mut parts: Vec<String> = Vec::new();
    let mut done = vec![false; set.len()];
    for a in args {
        let name = a.name.as_ref().map(|n| n.name.as_str());
        match name.and_then(|n| set.iter().position(|(s, _)| *s == n)) {
            Some(i) => {
                parts.push(format!("{} = {}", set[i].0, set[i].1));
                done[i] = true;
            }
            None if name.is_some_and(|n| drop.contains(&n)) => {}
            None => parts.push(source[a.span.start as usize..a.span.end as usize].to_string()),
        }
    }
    for ((name, value), done) in set.iter().zip(done) {
        if !done {
            parts.push(format!("{name} = {value}"));
        }
    }
    let callee_text = &source[callee.span.start as usize..callee.span.end as usize];
    Ok(replace(e.span, format!("{callee_text}({})", parts.join(", "))))
}
