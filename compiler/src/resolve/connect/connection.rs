//! `connect pre -> post`: the decoded function, the transform, synapse, solver and seed.

use super::Clauses;
use crate::func::{self, FnExpr, Signature};
use crate::model::{Connection, Endpoint, Object, ObjectKind, Port, Transform};
use crate::resolve::decl::derive_seed;
use crate::resolve::scope::{NetCtx, Target};
use crate::resolve::Elab;
use crate::spec::{DistSpec, SolverSpec, SynapseSpec};
use crate::value::Unit;
use snn_syntax::ast;
use snn_syntax::{codes, Diagnostic, Span};

/// The two ends of a connection: the paths as written, the source's target, endpoints and objects.
struct Ends<'a> {
    pre: &'a ast::Path,
    post: &'a ast::Path,
    pre_t: Target,
    pre_ep: Endpoint,
    post_ep: Endpoint,
    pre_obj: Object,
    post_obj: Object,
}

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
        let allowed = ["transform", "fn", "synapse", "solver", "eval_points", "seed", "trainable"];
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
        let ends = Ends { pre, post, pre_t, pre_ep, post_ep, pre_obj, post_obj };
        if !self.takes_input(&ends) {
            return;
        }
        let decoded =
            ends.pre_t.port == Port::Value && matches!(ends.pre_obj.kind, ObjectKind::Ensemble(_));
        let Some(function) = self.decoded_function(ctx, cl.function, decoded, &ends) else {
            return;
        };
        let Some(seed) = self.connection_seed(ctx, cl.seed) else { return };
        let Some(Some(solver)) = self.solver_clause(ctx, cl.solver, "connect") else { return };
        if !self.solver_applies(&cl, &solver, decoded, &ends, function.as_ref(), span) {
            return;
        }
        // The value after the decoded function (or the given decoders).
        let mid = match &solver.values {
            Some(d) => d.ncols(),
            None => function.as_ref().map_or(ends.pre_ep.size, |f| f.size_out),
        };
        let transform = match cl.transform {
            None => {
                let function_span = cl.function.map(|l| l.span);
                self.identity_transform(&ends, mid, function.is_some(), function_span, arrow)
            }
            Some(e) => {
                let fixed_pre = function.is_some() || solver.values.is_some();
                self.written_transform(ctx, e, &ends, mid, fixed_pre, span, seed)
            }
        };
        let Some(transform) = transform else { return };
        let default_synapse = Some(SynapseSpec::Lowpass(0.005));
        let Some(synapse) = self.synapse_clause(ctx, cl.synapse, "connect", default_synapse) else {
            return;
        };
        let Some(trainable) = self.trainable_clause(ctx, cl.trainable, "connect") else { return };
        let Some(eval_points) = self.eval_points_clause(ctx, cl.eval_points, &ends.pre_obj) else {
            return;
        };
        self.model.connections.push(Connection {
            pre: ends.pre_ep,
            post: ends.post_ep,
            transform,
            function,
            synapse,
            solver,
            eval_points,
            seed,
            trainable,
            span,
        });
    }

    /// Whether the target takes input (not an input, not a node without one); reports if not.
    fn takes_input(&mut self, ends: &Ends<'_>) -> bool {
        let post_obj = &ends.post_obj;
        if matches!(post_obj.kind, ObjectKind::Input)
            || (post_obj.size_in == 0 && matches!(post_obj.kind, ObjectKind::Node(_)))
        {
            let what = if matches!(post_obj.kind, ObjectKind::Input) {
                "an input"
            } else {
                "a node without an input"
            };
            self.diags.push(
                Diagnostic::error(codes::WRONG_KIND, format!("cannot connect into `{}`: it is {what}", post_obj.name), ends.post.span, "takes no input")
                    .with_label(post_obj.span, "declared here")
                    .with_help("connect into a passthrough node (`node n: [k]`), a node function `fn (t, v: [k]) -> …`, an ensemble or a layer"),
            );
            return false;
        }
        true
    }

    /// The `fn` clause compiled for the source's size (`Some(None)` without one), if decodable.
    fn decoded_function(
        &mut self,
        ctx: &mut NetCtx,
        l: Option<&ast::Lambda>,
        decoded: bool,
        ends: &Ends<'_>,
    ) -> Option<Option<FnExpr>> {
        let Some(l) = l else { return Some(None) };
        if !decoded {
            self.diags.push(
                Diagnostic::error(codes::WRONG_KIND, "a decoded function needs an ensemble as the source", l.span, "not decodable")
                    .with_label(ends.pre.span, format!("this is {}", if ends.pre_t.port == Port::Neurons { "a population's neurons" } else { "not an ensemble" }))
                    .with_help("functions are computed by solving decoders from an ensemble's neurons; put the function in a node instead"),
            );
            return None;
        }
        let size = ends.pre_ep.size;
        let f = self.with_env(ctx, |env| func::compile(l, Signature::Vector(size), env))?;
        Some(Some(f))
    }

    /// Without a `transform` clause: the identity, when the value after the function fits the target.
    fn identity_transform(
        &mut self,
        ends: &Ends<'_>,
        mid: usize,
        has_function: bool,
        function_span: Option<Span>,
        arrow: Span,
    ) -> Option<Transform> {
        let (pre, post, pre_obj, post_obj) = (ends.pre, ends.post, &ends.pre_obj, &ends.post_obj);
        let post_ep = &ends.post_ep;
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
            return None;
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
                    if has_function { "function of" } else { "source" },
                    pre_obj.name,
                    mid
                ),
            )
            .with_label(post.span, format!("`{}` takes {}", post_obj.name, post_ep.size));
            let n = post_ep.size;
            let matrix = format!("add `transform` with a {n}×{mid} matrix");
            d = d.with_help(if has_function {
                format!("return {n} value(s) from the function, or {matrix}")
            } else if mid > n {
                match sliced(pre, n) {
                    Some(s) => format!("{matrix}, or connect part of the source: `{s}`"),
                    None => format!("{matrix}, or connect {n} of the source's elements"),
                }
            } else {
                match sliced(post, mid) {
                    Some(s) => format!("{matrix}, or connect into part of the target: `{s}`"),
                    None => format!("{matrix}, or connect into {mid} of the target's elements"),
                }
            });
            self.diags.push(d);
            return None;
        }
        Some(Transform::Identity)
    }

    /// The `transform` clause, with the full shapes of unsliced ends for convolutions; `mid`
    /// is the size it reads, `fixed_pre` when that is not the source's own shape (a function
    /// or given decoders).
    #[allow(clippy::too_many_arguments)]
    fn written_transform(
        &mut self,
        ctx: &mut NetCtx,
        e: &ast::Expr,
        ends: &Ends<'_>,
        mid: usize,
        fixed_pre: bool,
        span: Span,
        seed: u64,
    ) -> Option<Transform> {
        let (pre_t, pre_ep, post_ep) = (&ends.pre_t, &ends.pre_ep, &ends.post_ep);
        let (pre_obj, post_obj) = (&ends.pre_obj, &ends.post_obj);
        let v = self.eval(ctx, e)?;
        if Self::is_drawn(&v) {
            return self.drawn_transform(v, e.span, mid, post_ep.size, seed);
        }
        let pre_shape = if pre_ep.indices.is_none() && !fixed_pre {
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
        self.transform_from(v, e.span, mid, post_ep.size, pre_shape, post_shape, span, seed)
    }

    /// Whether the solver options fit the connection (decoded; `weights` into an ensemble).
    fn solver_applies(
        &mut self,
        cl: &Clauses<'_>,
        solver: &SolverSpec,
        decoded: bool,
        ends: &Ends<'_>,
        function: Option<&FnExpr>,
        span: Span,
    ) -> bool {
        if let (Some(d), true) = (&solver.values, decoded) {
            let s = cl.solver.map(|e| e.span).unwrap_or(span);
            let n = ends.pre_obj.n_neurons().unwrap_or(0);
            if d.nrows() != n {
                self.diags.push(
                    Diagnostic::error(
                        codes::TENSOR_SHAPE,
                        format!(
                            "`no_solver` decoders have {} rows, but `{}` has {n} neurons",
                            d.nrows(),
                            ends.pre_obj.name
                        ),
                        s,
                        "wrong number of rows",
                    )
                    .with_help("decoders are (neurons, size): one row per neuron of the source"),
                );
                return false;
            }
            if let Some(f) = function.filter(|f| f.size_out != d.ncols()) {
                self.diags.push(Diagnostic::error(
                    codes::FUNCTION_SIZE,
                    format!(
                        "the function gives {} value(s), but the given decoders decode {}",
                        f.size_out,
                        d.ncols()
                    ),
                    s,
                    "decoders of another size",
                ));
                return false;
            }
        }
        if solver.weights && !matches!(ends.post_obj.kind, ObjectKind::Ensemble(_)) {
            self.diags.push(Diagnostic::error(
                codes::WRONG_KIND,
                "a `weights = true` solver needs an ensemble as the target",
                ends.post.span,
                "not an ensemble",
            ));
            return false;
        }
        if (cl.solver.is_some() || cl.eval_points.is_some()) && !decoded {
            let s = cl.solver.or(cl.eval_points).map(|e| e.span).unwrap_or(span);
            self.diags.push(Diagnostic::error(
                codes::WRONG_KIND,
                "solver options apply only to decoded connections (from an ensemble)",
                s,
                "nothing to solve",
            ));
            return false;
        }
        true
    }

    /// The `eval_points` clause (`Some(None)` without one), shaped for the source's dimensions.
    fn eval_points_clause(
        &mut self,
        ctx: &mut NetCtx,
        e: Option<&ast::Expr>,
        pre_obj: &Object,
    ) -> Option<Option<DistSpec>> {
        let Some(e) = e else { return Some(None) };
        let v = self.eval(ctx, e)?;
        let dims = pre_obj.shape.first().copied().unwrap_or(1);
        self.dist_from(v, e.span, "eval_points", &[0, dims], Unit::One).map(Some)
    }

    /// The `seed` clause, or a seed derived from the connection's place in the model.
    fn connection_seed(&mut self, ctx: &mut NetCtx, e: Option<&ast::Expr>) -> Option<u64> {
        match e {
            // a negative or fractional seed is reported there (it used to drop the
            // connection silently)
            Some(e) => self.eval_seed(ctx, e),
            None => Some(derive_seed(
                ctx.seed,
                &format!("{}connect#{}", ctx.prefix, self.model.connections.len()),
            )),
        }
    }
}

/// `path[0:k]` when `path` is names only (`a`, `sub.out`, `a.neurons`): a slice that is valid
/// for an end of more than `k` elements; `None` for a path already indexed.
fn sliced(path: &ast::Path, k: usize) -> Option<String> {
    let mut text = path.root.name.clone();
    for seg in &path.segs {
        match seg {
            ast::PathSeg::Field(f) => {
                text.push('.');
                text.push_str(&f.name);
            }
            ast::PathSeg::Index(_) => return None,
        }
    }
    Some(format!("{text}[0:{k}]"))
}
