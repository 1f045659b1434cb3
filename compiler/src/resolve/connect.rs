//! Connections and probes: endpoints, decoded functions, transforms (with convolution geometry),
//! synapses and solvers, every size checked against both ends.

use super::decl::{derive_seed, Args};
use super::scope::{NetCtx, Target};
use super::Elab;
use crate::func::{self, Signature};
use crate::model::{Connection, ConvSpec, Endpoint, ObjectKind, Port, Probe, ProbeAttr, Transform};
use crate::spec::{SolverSpec, SynapseSpec};
use crate::value::{fmt_shape, Ctor, Unit, Value};
use ndarray::{Array2, ArrayD, IxDyn};
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
}

impl Elab<'_> {
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
            }
        }
        ok.then_some(res)
    }

    fn endpoint(&self, t: &Target, as_post: bool) -> Endpoint {
        let size = match &t.indices {
            Some(ix) => ix.len(),
            None => self.port_size(t.obj, t.port, as_post),
        };
        Endpoint { obj: t.obj, port: t.port, indices: t.indices.clone(), size, span: t.span }
    }

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

    fn solver_clause(
        &mut self,
        ctx: &mut NetCtx,
        e: Option<&ast::Expr>,
        kind: &str,
    ) -> Option<Option<SolverSpec>> {
        let (v, s) = match e {
            Some(e) => match self.eval(ctx, e) {
                Some(v) => (v, e.span),
                None => return Some(None),
            },
            None => match ctx.config.get(kind, "solver") {
                Some(v) => v,
                None => return Some(Some(SolverSpec::default())),
            },
        };
        let Value::Ctor(c) = v else {
            self.diags.push(Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!("expected a solver such as `lstsq_l2(reg = 0.1)`, found {}", v.describe()),
                s,
                "not a solver",
            ));
            return Some(None);
        };
        if c.name != "lstsq_l2" {
            self.diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    format!("`{}` is not a solver", c.name),
                    c.span,
                    "not a solver",
                )
                .with_help("the solver is `lstsq_l2(reg = 0.1, weights = false)`"),
            );
            return Some(None);
        }
        let mut args = Args::new(self, &c, &["reg", "weights"])?;
        let reg = args.opt_num(self, "reg", Unit::One).unwrap_or(0.1);
        let weights = args.opt_bool(self, "weights").unwrap_or(false);
        args.finish(self);
        if reg < 0.0 {
            self.diags.push(Diagnostic::error(
                codes::OUT_OF_RANGE,
                format!("`reg` cannot be negative, found {reg}"),
                c.span,
                "negative",
            ));
            return Some(None);
        }
        Some(Some(SolverSpec { reg, weights }))
    }

    /// Interpret a synapse value: `none`, a time (lowpass), or a synapse constructor.
    pub(crate) fn synapse_from(&mut self, v: Value, span: Span) -> Option<Option<SynapseSpec>> {
        let tau_check = |el: &mut Elab<'_>, tau: f64, s: Span| -> bool {
            if tau < 0.0 || !tau.is_finite() {
                el.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("a synapse time constant must be non-negative, found {tau}"),
                    s,
                    "negative time constant",
                ));
                return false;
            }
            true
        };
        match v {
            Value::None => Some(None),
            Value::Num(tau, Unit::Time | Unit::One) => {
                tau_check(self, tau, span).then_some(Some(SynapseSpec::Lowpass(tau)))
            }
            Value::Ctor(c) if matches!(c.name.as_str(), "lowpass" | "alpha") => {
                let tau = match c.args.as_slice() {
                    [a] if a.name.is_none() || a.name.as_deref() == Some("tau") => match a.value {
                        Value::Num(t, Unit::Time | Unit::One) => t,
                        ref other => {
                            self.diags.push(Diagnostic::error(
                                codes::TYPE_MISMATCH,
                                format!(
                                    "`{}` takes a time constant, found {}",
                                    c.name,
                                    other.describe()
                                ),
                                a.value_span,
                                "not a time",
                            ));
                            return None;
                        }
                    },
                    _ => {
                        self.diags.push(Diagnostic::error(
                            codes::ARITY,
                            format!("`{}` takes one time constant: `{}(5ms)`", c.name, c.name),
                            c.span,
                            "wrong arguments",
                        ));
                        return None;
                    }
                };
                if !tau_check(self, tau, c.span) {
                    return None;
                }
                Some(Some(if c.name == "lowpass" {
                    SynapseSpec::Lowpass(tau)
                } else {
                    SynapseSpec::Alpha(tau)
                }))
            }
            Value::Ctor(c) if c.name == "linear_filter" => {
                let mut args = Args::new(self, &c, &["num", "den"])?;
                let num = vec_arg(self, &mut args, "num", 0)?;
                let den = vec_arg(self, &mut args, "den", 0)?;
                args.finish(self);
                if den.is_empty() || den[0] == 0.0 {
                    self.diags.push(Diagnostic::error(
                        codes::OUT_OF_RANGE,
                        "the denominator's leading coefficient must be non-zero",
                        c.span,
                        "bad denominator",
                    ));
                    return None;
                }
                if num.len() > den.len() {
                    self.diags.push(Diagnostic::error(codes::OUT_OF_RANGE, "the filter is not proper: the numerator has a higher order than the denominator", c.span, "improper filter"));
                    return None;
                }
                Some(Some(SynapseSpec::LinearFilter { num, den }))
            }
            other => {
                self.diags.push(
                    Diagnostic::error(codes::TYPE_MISMATCH, format!("expected a synapse, found {}", other.describe()), span, "not a synapse")
                        .with_help("synapses: `none`, `5ms`, `lowpass(5ms)`, `alpha(5ms)`, `linear_filter(num = […], den = […])`"),
                );
                None
            }
        }
    }

    /// Interpret a transform for a map from `size_in` to `size_out`. `pre_shape`/`post_shape` are
    /// the full shapes when the ends are unsliced (convolutions need them).
    #[allow(clippy::too_many_arguments)]
    fn transform_from(
        &mut self,
        v: Value,
        span: Span,
        size_in: usize,
        size_out: usize,
        pre_shape: Option<Vec<usize>>,
        post_shape: Option<Vec<usize>>,
        stmt: Span,
    ) -> Option<Transform> {
        match v {
            Value::Num(x, _) => {
                if size_in != size_out {
                    self.diags.push(
                        Diagnostic::error(codes::TRANSFORM_SHAPE, format!("a scalar transform keeps the size, but this connection maps {size_in} to {size_out}"), span, "scalar")
                            .with_help(format!("use a {size_out}×{size_in} matrix")),
                    );
                    return None;
                }
                Some(Transform::Scalar(x))
            }
            Value::Array(a) if a.ndim() == 1 => {
                if a.len() != size_in || size_in != size_out {
                    self.diags.push(Diagnostic::error(
                        codes::TRANSFORM_SHAPE,
                        format!("an elementwise transform of length {} on a connection from size {size_in} to {size_out}", a.len()),
                        span,
                        format!("length {}", a.len()),
                    ));
                    return None;
                }
                Some(Transform::Elementwise(a.iter().copied().collect()))
            }
            Value::Array(a) if a.ndim() == 2 => {
                let (o, i) = (a.shape()[0], a.shape()[1]);
                if (o, i) != (size_out, size_in) {
                    let mut d = Diagnostic::error(
                        codes::TRANSFORM_SHAPE,
                        format!("transform has shape [{o}, {i}], but the connection needs [{size_out}, {size_in}] (size_out, size_in)"),
                        span,
                        format!("[{o}, {i}]"),
                    )
                    .with_label(stmt, format!("maps {size_in} → {size_out}"));
                    if (i, o) == (size_out, size_in) {
                        d = d.with_help(
                            "the matrix looks transposed: add `.T` (Keras kernels are (in, out))",
                        );
                    }
                    self.diags.push(d);
                    return None;
                }
                let m = Array2::from_shape_vec((o, i), a.iter().copied().collect()).ok()?;
                Some(Transform::Dense(m))
            }
            Value::Array(a) => {
                self.diags.push(Diagnostic::error(
                    codes::TRANSFORM_SHAPE,
                    format!(
                        "a transform is a scalar, a vector or a matrix, found shape {}",
                        fmt_shape(a.shape())
                    ),
                    span,
                    "too many dimensions",
                ));
                None
            }
            Value::Ctor(c) if c.name == "sparse" => self.sparse_from(&c, size_in, size_out),
            Value::Ctor(c) if c.name.starts_with("conv") || c.name.starts_with("avg_pool") => {
                self.conv_from(&c, size_in, size_out, pre_shape, post_shape)
            }
            other => {
                self.diags.push(
                    Diagnostic::error(codes::TYPE_MISMATCH, format!("expected a transform, found {}", other.describe()), span, "not a transform")
                        .with_help("transforms: a number, a vector, a matrix, sparse(…), conv1d/conv2d(…), conv_transpose1d/2d(…), avg_pool1d/2d(…)"),
                );
                None
            }
        }
    }

    fn sparse_from(&mut self, c: &Ctor, size_in: usize, size_out: usize) -> Option<Transform> {
        let mut args = Args::new(self, c, &["shape", "indices", "values"])?;
        let shape = vec_arg(self, &mut args, "shape", usize::MAX)?;
        let indices = args.req_array(self, "indices", usize::MAX)?;
        let values = vec_arg(self, &mut args, "values", usize::MAX)?;
        args.finish(self);
        let [o, i] = shape.as_slice() else {
            self.diags.push(Diagnostic::error(
                codes::TRANSFORM_SHAPE,
                "a sparse transform's shape is [size_out, size_in]",
                c.span,
                "bad shape",
            ));
            return None;
        };
        let (o, i) = (*o as usize, *i as usize);
        if (o, i) != (size_out, size_in) {
            self.diags.push(Diagnostic::error(
                codes::TRANSFORM_SHAPE,
                format!("sparse transform has shape [{o}, {i}], but the connection needs [{size_out}, {size_in}]"),
                c.span,
                "wrong shape",
            ));
            return None;
        }
        if indices.ndim() != 2 || indices.shape()[1] != 2 || indices.shape()[0] != values.len() {
            self.diags.push(Diagnostic::error(
                codes::TRANSFORM_SHAPE,
                format!(
                    "sparse `indices` must be [{}, 2] (one (row, col) per value), found {}",
                    values.len(),
                    fmt_shape(indices.shape())
                ),
                c.span,
                "bad indices",
            ));
            return None;
        }
        let mut idx = Vec::with_capacity(values.len());
        for row in indices.outer_iter() {
            let (r, col) = (row[0], row[1]);
            if r < 0.0
                || col < 0.0
                || r as usize >= o
                || col as usize >= i
                || r.fract() != 0.0
                || col.fract() != 0.0
            {
                self.diags.push(Diagnostic::error(
                    codes::INDEX_RANGE,
                    format!("sparse index ({r}, {col}) is outside [{o}, {i}]"),
                    c.span,
                    "out of range",
                ));
                return None;
            }
            idx.push((r as usize, col as usize));
        }
        Some(Transform::Sparse { shape: (o, i), indices: idx, values })
    }

    fn conv_from(
        &mut self,
        c: &Ctor,
        size_in: usize,
        size_out: usize,
        pre_shape: Option<Vec<usize>>,
        post_shape: Option<Vec<usize>>,
    ) -> Option<Transform> {
        let name = c.name.as_str();
        let n_spatial = if name.ends_with("1d") { 1 } else { 2 };
        let pool = name.starts_with("avg_pool");
        let transpose = name.starts_with("conv_transpose");
        let allowed: &[&str] = if pool {
            &["size", "strides", "padding", "channels_last", "input_shape"]
        } else {
            &[
                "kernel",
                "filters",
                "kernel_size",
                "init",
                "strides",
                "padding",
                "channels_last",
                "groups",
                "input_shape",
                "output_shape",
            ]
        };
        let mut args = Args::new(self, c, allowed)?;
        let channels_last = args.opt_bool(self, "channels_last").unwrap_or(true);
        let input_shape = match args.take("input_shape") {
            Some(a) => match shape_of(&a.value) {
                Some(s) => s,
                None => {
                    self.diags.push(Diagnostic::error(
                        codes::BAD_SHAPE,
                        "`input_shape` is a list of positive sizes",
                        a.value_span,
                        "bad shape",
                    ));
                    return None;
                }
            },
            None => match pre_shape {
                Some(s) => s,
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::CONV_GEOMETRY,
                            format!("`{name}` needs the full shape of its input"),
                            c.span,
                            "input is sliced or decoded",
                        )
                        .with_help("connect the whole object, or give `input_shape = [h, w, c]`"),
                    );
                    return None;
                }
            },
        };
        let in_total: usize = input_shape.iter().product();
        if input_shape.len() != n_spatial + 1 || in_total != size_in {
            self.diags.push(
                Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("`{name}` needs an input of {} dimensions ({} spatial + channels), found {}", n_spatial + 1, n_spatial, fmt_shape(&input_shape)),
                    c.span,
                    "wrong input rank",
                )
                .with_help("give `input_shape` to reinterpret a flat input"),
            );
            return None;
        }
        let (in_spatial, in_ch) = split_channels(&input_shape, channels_last);
        // Pooling strides default to the pool size (as Keras and NengoDL); convolutions to 1.
        let pool_size =
            if pool { Some(int_list_arg(self, &mut args, "size", n_spatial, 2)?) } else { None };
        let strides = match &pool_size {
            Some(size) if args.span_of("strides").is_none() => size.clone(),
            _ => int_list_arg(self, &mut args, "strides", n_spatial, 1)?,
        };
        let padding = match args.take("padding") {
            Some(a) => match a.value {
                Value::Str(s) if s == "valid" || s == "same" => s,
                other => {
                    self.diags.push(Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!("`padding` is `valid` or `same`, found {}", other.describe()),
                        a.value_span,
                        "bad padding",
                    ));
                    return None;
                }
            },
            None => "valid".to_string(),
        };
        let (kernel, groups, ksize) = if let Some(size) = pool_size {
            let k: usize = size.iter().product();
            let mut shape = size.clone();
            shape.extend([1, in_ch]);
            (ArrayD::from_elem(IxDyn(&shape), 1.0 / k as f64), in_ch, size)
        } else {
            let groups = args.opt_count(self, "groups").unwrap_or(1);
            if groups == 0 || in_ch % groups != 0 {
                self.diags.push(Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("{in_ch} input channels cannot be split into {groups} groups"),
                    c.span,
                    "bad groups",
                ));
                return None;
            }
            let kernel = match args.take("kernel") {
                Some(a) => match a.value {
                    Value::Array(k) => {
                        let want_nd = n_spatial + 2;
                        let cin = if transpose { in_ch } else { in_ch / groups };
                        if k.ndim() != want_nd || k.shape()[n_spatial] != cin {
                            self.diags.push(
                                Diagnostic::error(
                                    codes::TENSOR_SHAPE,
                                    format!("kernel has shape {}, but `{name}` on {in_ch} channel(s) needs kernel_size + [{cin}, filters]", fmt_shape(k.shape())),
                                    a.value_span,
                                    "wrong kernel shape",
                                )
                                .with_help(format!("the input is {}", fmt_shape(&input_shape))),
                            );
                            return None;
                        }
                        k
                    }
                    other => {
                        self.diags.push(Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!("`kernel` is an array, found {}", other.describe()),
                            a.value_span,
                            "not an array",
                        ));
                        return None;
                    }
                },
                None => {
                    let filters = args.req_count(self, "filters")?;
                    let ks = int_list_arg(self, &mut args, "kernel_size", n_spatial, 3)?;
                    let init = match args.take("init") {
                        Some(a) => {
                            match a.value {
                                Value::Num(x, _) => x,
                                other => {
                                    self.diags.push(
                                    Diagnostic::error(codes::TYPE_MISMATCH, format!("`init` for a generated kernel is a number, found {}", other.describe()), a.value_span, "here")
                                        .with_help("give the weights with `kernel = w[\"…\"]`"),
                                );
                                    return None;
                                }
                            }
                        }
                        None => 1.0,
                    };
                    let mut shape = ks;
                    shape.extend([if transpose { in_ch } else { in_ch / groups }, filters]);
                    ArrayD::from_elem(IxDyn(&shape), init)
                }
            };
            let ksize = kernel.shape()[..n_spatial].to_vec();
            (kernel, groups, ksize)
        };
        let filters = if pool { in_ch } else { kernel.shape()[n_spatial + 1] };
        let (output_shape, pad_before) = if transpose {
            let out_spatial = match args.take("output_shape") {
                Some(a) => match shape_of(&a.value) {
                    Some(s) if s.len() == n_spatial + 1 => split_channels(&s, channels_last).0,
                    _ => {
                        self.diags.push(Diagnostic::error(
                            codes::BAD_SHAPE,
                            format!("`output_shape` needs {} sizes", n_spatial + 1),
                            a.value_span,
                            "bad shape",
                        ));
                        return None;
                    }
                },
                None => in_spatial
                    .iter()
                    .zip(&strides)
                    .zip(&ksize)
                    .map(
                        |((&n, &s), &k)| {
                            if padding == "valid" {
                                (n - 1) * s + k
                            } else {
                                (n - 1) * s + 1
                            }
                        },
                    )
                    .collect(),
            };
            // The forward convolution of the output must give the input.
            let (fwd, pads) = forward_geometry(&out_spatial, &ksize, &strides, &padding);
            if fwd != in_spatial {
                self.diags.push(Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("a transposed convolution to spatial shape {} does not invert to the input {}", fmt_shape(&out_spatial), fmt_shape(&in_spatial)),
                    c.span,
                    "inconsistent geometry",
                ));
                return None;
            }
            (join_channels(&out_spatial, filters, channels_last), pads)
        } else {
            for (d, (&n, &k)) in in_spatial.iter().zip(&ksize).enumerate() {
                if padding == "valid" && k > n {
                    self.diags.push(
                        Diagnostic::error(codes::CONV_GEOMETRY, format!("kernel size {k} is larger than the input ({n}) along spatial dimension {d}"), c.span, "kernel does not fit")
                            .with_help(format!("the input is {}; use `padding = same` or a smaller kernel", fmt_shape(&input_shape))),
                    );
                    return None;
                }
            }
            let (out, pads) = forward_geometry(&in_spatial, &ksize, &strides, &padding);
            (join_channels(&out, filters, channels_last), pads)
        };
        args.finish(self);
        let out_total: usize = output_shape.iter().product();
        if out_total != size_out
            || post_shape.as_ref().is_some_and(|p| p.len() > 1 && *p != output_shape)
        {
            let target =
                post_shape.map(|p| fmt_shape(&p)).unwrap_or_else(|| format!("size {size_out}"));
            self.diags.push(
                Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!(
                        "`{name}` produces {}, but the target is {target}",
                        fmt_shape(&output_shape)
                    ),
                    c.span,
                    format!("gives {}", fmt_shape(&output_shape)),
                )
                .with_help(format!(
                    "input {} with kernel {} and strides {} ({padding} padding)",
                    fmt_shape(&input_shape),
                    fmt_shape(&ksize),
                    fmt_shape(&strides)
                )),
            );
            return None;
        }
        Some(Transform::Conv(ConvSpec {
            transpose,
            input_shape,
            output_shape,
            kernel,
            strides,
            pad_before,
            channels_last,
            groups,
        }))
    }

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
                ProbeAttr::State(a.name.clone())
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
        let synapse = match cl.synapse {
            Some(e) => match self.eval(ctx, e).map(|v| self.synapse_from(v, e.span)) {
                Some(Some(s)) => s,
                _ => return,
            },
            None => match ctx.config.get("probe", "synapse") {
                Some((v, s)) => match self.synapse_from(v, s) {
                    Some(s) => s,
                    None => return,
                },
                None => None,
            },
        };
        let sample_every = match cl.sample_every {
            Some(e) => match self.eval(ctx, e) {
                Some(Value::Num(x, Unit::Time)) if x > 0.0 => Some(x),
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
        if let Some(prev) = self.model.probes.iter().find(|p| p.name == pname) {
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

/// Spatial sizes and padding before of a forward convolution.
fn forward_geometry(
    input: &[usize],
    k: &[usize],
    s: &[usize],
    padding: &str,
) -> (Vec<usize>, Vec<usize>) {
    let mut out = Vec::new();
    let mut pads = Vec::new();
    for ((&n, &k), &s) in input.iter().zip(k).zip(s) {
        if padding == "valid" {
            out.push((n + 1).saturating_sub(k).div_ceil(s).max(if k <= n { 1 } else { 0 }));
            pads.push(0);
        } else {
            let o = n.div_ceil(s);
            let total = ((o.saturating_sub(1)) * s + k).saturating_sub(n);
            out.push(o);
            pads.push(total / 2);
        }
    }
    (out, pads)
}

fn split_channels(shape: &[usize], channels_last: bool) -> (Vec<usize>, usize) {
    if channels_last {
        (shape[..shape.len() - 1].to_vec(), shape[shape.len() - 1])
    } else {
        (shape[1..].to_vec(), shape[0])
    }
}

fn join_channels(spatial: &[usize], ch: usize, channels_last: bool) -> Vec<usize> {
    let mut v = spatial.to_vec();
    if channels_last {
        v.push(ch);
    } else {
        v.insert(0, ch);
    }
    v
}

fn shape_of(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Array(a) if a.ndim() == 1 && a.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) => {
            Some(a.iter().map(|x| *x as usize).collect())
        }
        _ => None,
    }
}

/// A list of `n` positive integers (a single number repeats), or the default.
fn int_list_arg(
    el: &mut Elab<'_>,
    args: &mut Args,
    name: &str,
    n: usize,
    default: usize,
) -> Option<Vec<usize>> {
    let Some(a) = args.take(name) else { return Some(vec![default; n]) };
    let res = match &a.value {
        Value::Num(x, Unit::One) if *x >= 1.0 && x.fract() == 0.0 => Some(vec![*x as usize; n]),
        Value::Array(arr)
            if arr.ndim() == 1
                && arr.len() == n
                && arr.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) =>
        {
            Some(arr.iter().map(|x| *x as usize).collect())
        }
        _ => None,
    };
    if res.is_none() {
        el.diags.push(Diagnostic::error(
            codes::TYPE_MISMATCH,
            format!("`{name}` is a positive whole number or a list of {n}"),
            a.value_span,
            "bad value",
        ));
    }
    res
}

/// A numeric vector argument, named or at position `pos`.
fn vec_arg(el: &mut Elab<'_>, args: &mut Args, name: &str, pos: usize) -> Option<Vec<f64>> {
    let a = match args.take(name) {
        Some(a) => a,
        None if pos < args.positional.len() => args.positional.remove(pos),
        None => {
            el.diags.push(args.missing(name));
            return None;
        }
    };
    match a.value {
        Value::Array(arr) if arr.ndim() == 1 => Some(arr.iter().copied().collect()),
        Value::Num(x, _) => Some(vec![x]),
        other => {
            el.diags.push(Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!("`{name}` is a list of numbers, found {}", other.describe()),
                a.value_span,
                "not a list",
            ));
            None
        }
    }
}
