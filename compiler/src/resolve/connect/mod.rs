//! Connections and probes: endpoints, decoded functions, transforms (with convolution geometry),
//! synapses and solvers, every size checked against both ends.

mod args;
mod connection;
mod conv;
mod init;
mod probe;
mod synapse;
mod transform;

use super::scope::Target;
use super::Elab;
use crate::model::Endpoint;
use snn_syntax::ast::{self, ClauseKind};
use snn_syntax::{codes, Diagnostic, Span};

/// The clauses of one statement, at most one of each.
#[derive(Default)]
struct Clauses<'a> {
    transform: Option<&'a ast::Expr>,
    function: Option<&'a ast::Lambda>,
    synapse: Option<&'a ast::Expr>,
    solver: Option<&'a ast::Expr>,
    eval_points: Option<&'a ast::Expr>,
    seed: Option<&'a ast::Expr>,
    sample_every: Option<&'a ast::Expr>,
    trainable: Option<&'a ast::Expr>,
}

impl Elab<'_> {
    /// Sort a statement's clauses, reporting those not in `allowed` and those given twice.
    fn clauses<'a>(
        &mut self,
        clauses: &'a [ast::Clause],
        allowed: &[&str],
        stmt: &str,
    ) -> Option<Clauses<'a>> {
        let mut res = Clauses::default();
        let mut seen: Vec<(&str, Span)> = Vec::new();
        let mut ok = true;
        for c in clauses {
            let kw = c.kind.keyword();
            if !allowed.contains(&kw) {
                self.diags.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        format!("`{kw}` does not apply to `{stmt}`"),
                        c.span,
                        "not allowed here",
                    )
                    .with_help(format!("`{stmt}` takes: {}", allowed.join(", "))),
                );
                ok = false;
                continue;
            }
            if let Some((_, prev)) = seen.iter().find(|(k, _)| *k == kw) {
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE_ARGUMENT,
                        format!("`{kw}` is given twice"),
                        c.span,
                        "given again",
                    )
                    .with_label(*prev, "first given here"),
                );
                ok = false;
                continue;
            }
            seen.push((kw, c.span));
            match &c.kind {
                ClauseKind::Transform(e) => res.transform = Some(e),
                ClauseKind::Function(l) => res.function = Some(l),
                ClauseKind::Synapse(e) => res.synapse = Some(e),
                ClauseKind::Solver(e) => res.solver = Some(e),
                ClauseKind::EvalPoints(e) => res.eval_points = Some(e),
                ClauseKind::Seed(e) => res.seed = Some(e),
                ClauseKind::SampleEvery(e) => res.sample_every = Some(e),
                ClauseKind::Trainable(e) => res.trainable = Some(e),
            }
        }
        ok.then_some(res)
    }

    /// The endpoint of a resolved target, sized as a source or as a target (`as_post`).
    fn endpoint(&self, t: &Target, as_post: bool) -> Endpoint {
        let size = match &t.indices {
            Some(ix) => ix.len(),
            None => self.port_size(t.obj, t.port, as_post),
        };
        Endpoint { obj: t.obj, port: t.port, indices: t.indices.clone(), size, span: t.span }
    }
}
