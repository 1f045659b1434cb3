//! `connect pre -> post`: the decoded function, the transform, synapse, solver and seed.

use crate::func::{self, Signature};
use crate::model::{Connection, ObjectKind, Port, Transform};
use crate::resolve::decl::derive_seed;
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::spec::SynapseSpec;
use crate::value::Unit;
use snn_syntax::ast;
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// Elaborate `pre -> post` with its clauses into a connection, every size checked.
    pub(crate) fn connect(
        &mut self,
        ctx: &mut NetCtx,
        pre: &ast::Path,
        post: &ast::Path,
        clauses: &[ast::Clause],
        span: Span,
        arrow: Span,
    ) {
        let allowed = ["transform", "fn", "synapse", "solver", "eval_points", "seed"];
        let Some(cl) = self.clauses(clauses, &allowed, "connect") else { return };
        let (Some(pre_t), Some(post_t)) = (
            self.resolve_target(ctx, pre, false, false),
            self.resolve_target(ctx, post, false, true),
        ) else {
            return;
        };
        let pre_ep = self.endpoint(&pre_t, false);
        let post_ep = self.endpoint(&post_t, true);
        let pre_obj = self.model.object(pre_t.obj).clone();
        let post_obj = self.model.object(post_t.obj).clone();
        if matches!(post_obj.kind, ObjectKind::Input)
            || (post_obj.size_in == 0 && matches!(post_obj.kind, ObjectKind::Node(_)))
        {
            let what = if matches!(post_obj.kind, ObjectKind::Input) {
                "an input"
            } else {
                "a node without an input"
            };
            self.diags.push(
                Diagnostic::error(codes::WRONG_KIND, format!("cannot connect into `{}`: it is {what}", post_obj.name), post.span, "takes no input")
                    .with_label(post_obj.span, "declared here")
                    .with_help("connect into a passthrough node (`node n: [k]`), a node function `fn (t, v: [k]) -> …`, an ensemble or a layer"),
            );
            return;
        }
        let decoded = pre_t.port == Port::Value && matches!(pre_obj.kind, ObjectKind::Ensemble(_));
        // The value after the decoded function.
        let mut mid = pre_ep.size;
        let mut function = None;
        let mut function_span = None;
        if let Some(l) = cl.function {
            function_span = Some(l.span);
            if !decoded {
                self.diags.push(
                    Diagnostic::error(codes::WRONG_KIND, "a decoded function needs an ensemble as the source", l.span, "not decodable")
                        .with_label(pre.span, format!("this is {}", if pre_t.port == Port::Neurons { "a population's neurons" } else { "not an ensemble" }))
                        .with_help("functions are computed by solving decoders from an ensemble's neurons; put the function in a node instead"),
                );
                return;
            }
            let Some(f) =
                self.with_env(ctx, |env| func::compile(l, Signature::Vector(pre_ep.size), env))
            else {
                return;
            };
            mid = f.size_out;
            function = Some(f);
        }
        let transform = match cl.transform {
            None => {
                if let (true, Some(fspan)) = (mid != post_ep.size, function_span) {
                    let n = post_ep.size;
                    self.diags.push(
                        Diagnostic::error(
                            codes::FUNCTION_SIZE,
                            format!("the function gives {mid} value(s), but `{}` takes {n}", post_obj.name),
                            fspan,
                            format!("gives {mid}"),
                        )
                        .with_label(post.span, format!("takes {n}"))
                        .with_help(format!("return {n} value(s) from the function, or add a `transform` with a {n}×{mid} matrix")),
                    );
                    return;
                }
                if mid != post_ep.size {
                    let mut d = Diagnostic::error(
                        codes::SHAPE_MISMATCH,
                        format!("cannot connect size {mid} to size {}", post_ep.size),
                        arrow,
                        format!("{mid} → {}", post_ep.size),
                    )
                    .with_label(
                        pre.span,
                        format!(
                            "{} `{}` gives {}",
                            if function.is_some() { "function of" } else { "source" },
                            pre_obj.name,
                            mid
                        ),
                    )
                    .with_label(post.span, format!("`{}` takes {}", post_obj.name, post_ep.size));
                    d = d.with_help(if mid == 1 || post_ep.size == 1 {
                        "add `transform` with a matrix, or select elements with a slice such as `a[0:2]`".to_string()
                    } else {
                        format!("add `transform` with a {}×{} matrix, or slice one side", post_ep.size, mid)
                    });
                    self.diags.push(d);
                    return;
                }
                Transform::Identity
            }
            Some(e) => {
                let Some(v) = self.eval(ctx, e) else { return };
                let pre_shape = if pre_ep.indices.is_none() && function.is_none() {
                    match pre_t.port {
                        Port::Value => Some(pre_obj.shape.clone()),
                        Port::Neurons => Some(match &pre_obj.kind {
                            ObjectKind::Layer(_) => pre_obj.shape.clone(),
                            _ => vec![pre_ep.size],
                        }),
                    }
                } else {
                    None
                };
                let post_shape = if post_ep.indices.is_none()
                    && matches!(post_obj.kind, ObjectKind::Layer(_) | ObjectKind::Node(_))
                {
                    Some(post_obj.shape.clone())
                } else {
                    None
                };
                let Some(t) =
                    self.transform_from(v, e.span, mid, post_ep.size, pre_shape, post_shape, span)
                else {
                    return;
                };
                t
            }
        };
        let synapse = match cl.synapse {
            Some(e) => match self.eval(ctx, e) {
                Some(v) => match self.synapse_from(v, e.span) {
                    Some(s) => s,
                    None => return,
                },
                None => return,
            },
            None => match ctx.config.get("connect", "synapse") {
                Some((v, s)) => match self.synapse_from(v, s) {
                    Some(s) => s,
                    None => return,
                },
                None => Some(SynapseSpec::Lowpass(0.005)),
            },
        };
        let Some(Some(solver)) = self.solver_clause(ctx, cl.solver, "connect") else { return };
        if solver.weights && !matches!(post_obj.kind, ObjectKind::Ensemble(_)) {
            self.diags.push(Diagnostic::error(
                codes::WRONG_KIND,
                "a `weights = true` solver needs an ensemble as the target",
                post.span,
                "not an ensemble",
            ));
            return;
        }
        if (cl.solver.is_some() || cl.eval_points.is_some()) && !decoded {
            let s = cl.solver.or(cl.eval_points).map(|e| e.span).unwrap_or(span);
            self.diags.push(Diagnostic::error(
                codes::WRONG_KIND,
                "solver options apply only to decoded connections (from an ensemble)",
                s,
                "nothing to solve",
            ));
            return;
        }
        let eval_points = match cl.eval_points {
            Some(e) => {
                let Some(v) = self.eval(ctx, e) else { return };
                let dims = pre_obj.shape.first().copied().unwrap_or(1);
                match self.dist_from(v, e.span, "eval_points", &[0, dims], Unit::One) {
                    Some(d) => Some(d),
                    None => return,
                }
            }
            None => None,
        };
        let seed = match cl.seed {
            Some(e) => match self.eval_int(ctx, e) {
                Some(s) if s >= 0 => s as u64,
                _ => return,
            },
            None => derive_seed(
                ctx.seed,
                &format!("{}connect#{}", ctx.prefix, self.model.connections.len()),
            ),
        };
        self.model.connections.push(Connection {
            pre: pre_ep,
            post: post_ep,
            transform,
            function,
            synapse,
            solver,
            eval_points,
            seed,
            span,
        });
    }
}
