//! Probes: the target and state probed, synapse, sampling, solver and the probe's name.

use crate::model::{ObjectKind, Port, Probe, ProbeAttr};
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::value::{Unit, Value};
use snn_syntax::ast;
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// Elaborate `probe [name =] target` with its clauses into a probe.
    pub(crate) fn probe(
        &mut self,
        ctx: &mut NetCtx,
        name: Option<&ast::Ident>,
        target: &ast::Path,
        clauses: &[ast::Clause],
        span: Span,
    ) {
        let Some(cl) = self.clauses(clauses, &["synapse", "sample_every", "solver"], "probe")
        else {
            return;
        };
        let Some(t) = self.resolve_target(ctx, target, true, false) else { return };
        let ep = self.endpoint(&t, false);
        let obj = self.model.object(t.obj).clone();
        let attr = match &t.attr {
            Some(a) => {
                if t.indices.is_some() {
                    self.diags.push(Diagnostic::error(codes::WRONG_KIND, "select neurons after the state: probe `a.neurons.voltage`, not a slice of it", target.span, "slice and state"));
                }
                ProbeAttr::State(*a)
            }
            None => ProbeAttr::Output,
        };
        let shape = match (&t.indices, &attr, t.port) {
            (Some(ix), _, _) => vec![ix.len()],
            (None, ProbeAttr::State(_), _) | (None, _, Port::Neurons) => match &obj.kind {
                ObjectKind::Layer(_) => obj.shape.clone(),
                _ => vec![obj.n_neurons().unwrap_or(0)],
            },
            (None, _, Port::Value) => obj.shape.clone(),
        };
        let Some(synapse) = self.synapse_clause(ctx, cl.synapse, "probe", None) else { return };
        let sample_every = match cl.sample_every {
            Some(e) => match self.eval(ctx, e) {
                // a bare number is in seconds, as everywhere a time is expected
                Some(Value::Num(x, Unit::Time | Unit::One)) if x > 0.0 && x.is_finite() => Some(x),
                Some(Value::Num(x, Unit::Time | Unit::One)) => {
                    self.diags.push(Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        format!("`sample_every` must be a positive, finite time, found {x} s"),
                        e.span,
                        "not positive",
                    ));
                    return;
                }
                Some(other) => {
                    self.diags.push(Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!("`sample_every` is a positive time, found {}", other.describe()),
                        e.span,
                        "not a time",
                    ));
                    return;
                }
                None => return,
            },
            None => None,
        };
        let decoded = t.port == Port::Value
            && matches!(obj.kind, ObjectKind::Ensemble(_))
            && attr == ProbeAttr::Output;
        if cl.solver.is_some() && !decoded {
            self.diags.push(Diagnostic::error(
                codes::WRONG_KIND,
                "a solver applies only to an ensemble's decoded output",
                span,
                "nothing to solve",
            ));
            return;
        }
        let Some(Some(solver)) = self.solver_clause(ctx, cl.solver, "probe") else { return };
        let pname = match name {
            Some(n) => format!("{}{}", ctx.prefix, n.name),
            None => {
                let text = path_text(target);
                format!("{}{text}", ctx.prefix)
            }
        };
        if let Some(prev) = self.probe_names.get(&pname).and_then(|i| self.model.probes.get(*i)) {
            let prev = prev.span;
            self.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("two probes are named `{pname}`"),
                    span,
                    "second probe",
                )
                .with_label(prev, "first probe")
                .with_help("name one of them: `probe other_name = …`"),
            );
            return;
        }
        self.probe_names.insert(pname.clone(), self.model.probes.len());
        self.model.probes.push(Probe {
            name: pname,
            target: ep,
            attr,
            synapse,
            sample_every,
            solver,
            shape,
            span,
        });
    }
}

/// A path as written, with `[…]` for each index.
fn path_text(p: &ast::Path) -> String {
    let mut s = p.root.name.clone();
    for seg in &p.segs {
        match seg {
            ast::PathSeg::Field(f) => {
                s.push('.');
                s.push_str(&f.name);
            }
            ast::PathSeg::Index(_) => s.push_str("[…]"),
        }
    }
    s
}
