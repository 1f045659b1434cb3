//! Declarations: inputs, nodes, ensembles, layers and network instances, with their arguments
//! interpreted, defaults applied (config, then Nengo's) and values range-checked.

use super::scope::{Member, NetCtx};
use super::Elab;
use crate::func::{self, Signature};
use crate::model::{Ensemble, Layer, NodeKind, Object, ObjectKind};
use crate::spec::{DistSpec, NeuronKind, NeuronSpec, ParamUnit, ProcessSpec};
use crate::value::{fmt_shape, Ctor, CtorArg, Unit, Value};
use ndarray::ArrayD;
use snn_syntax::ast::{self, StmtKind};
use snn_syntax::{codes, Diagnostic, Span};
use std::rc::Rc;

/// Ensemble arguments besides the neuron type's own parameters.
const ENSEMBLE_ARGS: &[&str] = &[
    "n",
    "dims",
    "max_rates",
    "intercepts",
    "encoders",
    "radius",
    "gain",
    "bias",
    "eval_points",
    "n_eval_points",
    "normalize_encoders",
    "seed",
    "initial_voltage",
];
/// Layer arguments besides the neuron type's own parameters.
const LAYER_ARGS: &[&str] = &["gain", "bias", "initial_voltage"];

/// A stable 64-bit mix of a seed and a name (SplitMix64 over FNV-1a).
pub(crate) fn derive_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Elab<'_> {
    pub(crate) fn declare(&mut self, ctx: &mut NetCtx, stmt: &ast::Stmt) {
        match &stmt.kind {
            StmtKind::Input { name, shape } => {
                let Some(index) = self.decl_index(ctx, name) else { return };
                let Some(shape) = self.eval_shape(ctx, shape) else { return };
                let size = shape.iter().product();
                self.add_declared(ctx, name, index, ObjectKind::Input, shape, size, stmt.span);
            }
            StmtKind::Node { name, shape, value } => {
                self.declare_node(ctx, name, shape.as_ref(), value.as_ref(), stmt.span)
            }
            StmtKind::Ensemble { name, value } => {
                let Some(index) = self.decl_index(ctx, name) else { return };
                let Some(v) = self.eval(ctx, value) else { return };
                let Some((ens, seed)) = self.ensemble_from(ctx, v, value.span) else { return };
                let dims = ens.dims;
                let full = ctx.full_name(&name.name.name, index);
                let seed = seed.unwrap_or_else(|| derive_seed(ctx.seed, &full));
                let id = self.add_object(Object {
                    name: full,
                    kind: ObjectKind::Ensemble(ens),
                    shape: vec![dims],
                    size_in: dims,
                    seed,
                    span: name.span,
                });
                self.insert_member(ctx, &name.name, index, Member::Object(id, name.span));
            }
            StmtKind::Layer { name, shape, value } => {
                let Some(index) = self.decl_index(ctx, name) else { return };
                let Some(shape) = self.eval_shape(ctx, shape) else { return };
                let Some(v) = self.eval(ctx, value) else { return };
                let n: usize = shape.iter().product();
                let Some(layer) = self.layer_from(ctx, v, value.span, n) else { return };
                self.add_declared(ctx, name, index, ObjectKind::Layer(layer), shape, n, stmt.span);
            }
            StmtKind::Instance { name, value } => self.declare_instance(ctx, name, value),
            _ => {}
        }
    }

    fn decl_index(&mut self, ctx: &mut NetCtx, name: &ast::DeclName) -> Option<Option<i64>> {
        match &name.index {
            Some(e) => self.eval_int(ctx, e).map(Some),
            None => Some(None),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_declared(
        &mut self,
        ctx: &mut NetCtx,
        name: &ast::DeclName,
        index: Option<i64>,
        kind: ObjectKind,
        shape: Vec<usize>,
        size_in: usize,
        span: Span,
    ) {
        let _ = span;
        let full = ctx.full_name(&name.name.name, index);
        let seed = derive_seed(ctx.seed, &full);
        let id =
            self.add_object(Object { name: full, kind, shape, size_in, seed, span: name.span });
        self.insert_member(ctx, &name.name, index, Member::Object(id, name.span));
    }

    /// Evaluate a shape: every dimension a positive whole number.
    pub(crate) fn eval_shape(
        &mut self,
        ctx: &mut NetCtx,
        shape: &ast::Shape,
    ) -> Option<Vec<usize>> {
        if shape.dims.is_empty() {
            self.diags.push(Diagnostic::error(
                codes::BAD_SHAPE,
                "a shape needs at least one dimension",
                shape.span,
                "empty shape",
            ));
            return None;
        }
        let mut dims = Vec::new();
        for d in &shape.dims {
            match self.eval(ctx, d)? {
                Value::Num(x, Unit::One) if x >= 1.0 && x.fract() == 0.0 && x < 1e9 => {
                    dims.push(x as usize)
                }
                other => {
                    let what = match other {
                        Value::Num(x, _) => format!("{x}"),
                        v => v.describe(),
                    };
                    self.diags.push(Diagnostic::error(
                        codes::BAD_SHAPE,
                        format!("a dimension must be a positive whole number, found {what}"),
                        d.span,
                        "bad dimension",
                    ));
                    return None;
                }
            }
        }
        Some(dims)
    }

    fn declare_node(
        &mut self,
        ctx: &mut NetCtx,
        name: &ast::DeclName,
        shape: Option<&ast::Shape>,
        value: Option<&ast::Expr>,
        span: Span,
    ) {
        let Some(index) = self.decl_index(ctx, name) else { return };
        let declared = match shape {
            Some(s) => match self.eval_shape(ctx, s) {
                Some(d) => Some((d, s.span)),
                None => return,
            },
            None => None,
        };
        let Some(value) = value else {
            let Some((shape, _)) = declared else {
                self.diags.push(
                    Diagnostic::error(
                        codes::MISSING_ARGUMENT,
                        format!("node `{}` needs a shape or a value", name.name.name),
                        name.span,
                        "no shape, no value",
                    )
                    .with_help(
                        "a passthrough node is `node relay: [n]`; a constant is `node c = [1, 2]`",
                    ),
                );
                return;
            };
            let size = shape.iter().product();
            self.add_declared(
                ctx,
                name,
                index,
                ObjectKind::Node(NodeKind::Passthrough),
                shape,
                size,
                span,
            );
            return;
        };
        let Some(v) = self.eval(ctx, value) else { return };
        let (kind, shape, size_in) = match v {
            Value::Num(x, _) => {
                (NodeKind::Const(ArrayD::from_elem(ndarray::IxDyn(&[1]), x)), vec![1], 0)
            }
            Value::Array(a) => {
                let a = if a.ndim() == 0 {
                    ArrayD::from_elem(ndarray::IxDyn(&[1]), a.iter().next().copied().unwrap_or(0.0))
                } else {
                    a
                };
                let shape = a.shape().to_vec();
                (NodeKind::Const(a), shape, 0)
            }
            Value::Lambda(l) => {
                let Some(f) = self.with_env(ctx, |env| func::compile(&l, Signature::Node, env))
                else {
                    return;
                };
                let (n_out, n_in) = (f.size_out, f.size_in);
                let shape = match &declared {
                    Some((d, _)) if d.iter().product::<usize>() == n_out => d.clone(),
                    _ => vec![n_out],
                };
                (NodeKind::Function(f), shape, n_in)
            }
            Value::Ctor(c) if super::host::HOST_FUNCTIONS.contains(&c.name.as_str()) => {
                let res = if c.name == "keras_layer" {
                    self.keras_from(&c)
                } else {
                    self.host_from(&c, declared.as_ref().map(|d| &d.0))
                };
                let Some((h, shape, n_in)) = res else {
                    return;
                };
                (NodeKind::Host(h), shape, n_in)
            }
            Value::Ctor(c) => {
                let Some((p, shape)) =
                    self.process_from(ctx, c, declared.as_ref().map(|d| d.0.clone()))
                else {
                    return;
                };
                (NodeKind::Process(p), shape, 0)
            }
            other => {
                self.diags.push(
                    Diagnostic::error(codes::TYPE_MISMATCH, format!("a node's value is a constant, a function or a process, found {}", other.describe()), value.span, "not a node value")
                        .with_help("e.g. `node c = [1, 2]`, `node s = fn t -> sin(t)`, `node n = white_noise(dims = 1)`"),
                );
                return;
            }
        };
        if let Some((d, dspan)) = &declared {
            let want: usize = d.iter().product();
            let got: usize = shape.iter().product();
            if want != got {
                self.diags.push(
                    Diagnostic::error(
                        codes::FUNCTION_SIZE,
                        format!(
                            "node `{}` is declared with size {want}, but its value has size {got}",
                            name.name.name
                        ),
                        value.span,
                        format!("size {got}"),
                    )
                    .with_label(*dspan, format!("declared {}", fmt_shape(d))),
                );
                return;
            }
        }
        self.add_declared(ctx, name, index, ObjectKind::Node(kind), shape, size_in, span);
    }

    fn process_from(
        &mut self,
        ctx: &mut NetCtx,
        c: Ctor,
        declared: Option<Vec<usize>>,
    ) -> Option<(ProcessSpec, Vec<usize>)> {
        let mut args = Args::new(
            self,
            &c,
            &[
                "dims",
                "mean",
                "std",
                "scale",
                "seed",
                "period",
                "high",
                "rms",
                "y0",
                "inputs",
                "presentation_time",
            ],
        )?;
        let seed = args.opt_count(self, "seed").map(|s| s as u64);
        let res = match c.name.as_str() {
            "white_noise" => {
                let dims = args
                    .opt_count(self, "dims")
                    .or(declared.as_ref().map(|d| d.iter().product()))
                    .unwrap_or(1);
                let mean = args.opt_num(self, "mean", Unit::One).unwrap_or(0.0);
                let std = args.opt_num(self, "std", Unit::One).unwrap_or(1.0);
                let scale = args.opt_bool(self, "scale").unwrap_or(true);
                (ProcessSpec::WhiteNoise { mean, std, scale, seed }, vec![dims])
            }
            "white_signal" => {
                let dims = args
                    .opt_count(self, "dims")
                    .or(declared.as_ref().map(|d| d.iter().product()))
                    .unwrap_or(1);
                let period = args.req_positive(self, "period", Unit::Time)?;
                let high = args.req_positive(self, "high", Unit::Freq)?;
                let rms = args.opt_num(self, "rms", Unit::One).unwrap_or(0.5);
                let y0 = args.opt_num(self, "y0", Unit::One);
                (ProcessSpec::WhiteSignal { period, high, rms, y0, seed }, vec![dims])
            }
            "present_input" => {
                let inputs = args.req_array(self, "inputs", 0)?;
                let presentation_time = args.req_positive(self, "presentation_time", Unit::Time)?;
                let shape = if inputs.ndim() <= 1 { vec![1] } else { inputs.shape()[1..].to_vec() };
                (ProcessSpec::PresentInput { inputs, presentation_time }, shape)
            }
            other => {
                self.diags.push(
                    Diagnostic::error(
                        codes::WRONG_KIND,
                        format!("`{other}(…)` is not a process"),
                        c.span,
                        "not a node value",
                    )
                    .with_help("node processes are white_noise, white_signal and present_input"),
                );
                return None;
            }
        };
        args.finish(self);
        let _ = ctx;
        Some(res)
    }

    /// Interpret `lif(n = …, dims = …, …)` as an ensemble. Returns the explicit seed, if given.
    fn ensemble_from(
        &mut self,
        ctx: &mut NetCtx,
        v: Value,
        span: Span,
    ) -> Option<(Ensemble, Option<u64>)> {
        let c = self.neuron_ctor(v, span, "an ensemble")?;
        let (neuron, mut args) = self.neuron_from(ctx, &c, ENSEMBLE_ARGS)?;
        let n = args.req_count(self, "n")?;
        let dims = args.req_count(self, "dims")?;
        if n == 0 || dims == 0 {
            let which = if n == 0 { "n" } else { "dims" };
            let s = args.span_of(which).unwrap_or(c.span);
            self.diags.push(Diagnostic::error(
                codes::OUT_OF_RANGE,
                format!("`{which}` must be at least 1"),
                s,
                "zero",
            ));
            return None;
        }
        let seed = args.opt_count(self, "seed").map(|s| s as u64);
        let max_rates = self.dist_arg(ctx, &mut args, "ensemble", "max_rates", &[n], Unit::Freq)?;
        let intercepts =
            self.dist_arg(ctx, &mut args, "ensemble", "intercepts", &[n], Unit::One)?;
        let encoders =
            self.dist_arg(ctx, &mut args, "ensemble", "encoders", &[n, dims], Unit::One)?;
        let eval_points =
            self.dist_arg(ctx, &mut args, "ensemble", "eval_points", &[0, dims], Unit::One)?;
        let gain = self.opt_dist_arg(&mut args, "gain", &[n])?;
        let bias = self.opt_dist_arg(&mut args, "bias", &[n])?;
        if gain.is_some() != bias.is_some() {
            self.diags.push(
                Diagnostic::error(
                    codes::MISSING_ARGUMENT,
                    "`gain` and `bias` are given together",
                    c.span,
                    "only one given",
                )
                .with_help("give both, or neither and set max_rates / intercepts"),
            );
            return None;
        }
        let radius = match args.opt_num(self, "radius", Unit::One) {
            Some(r) => Some(r),
            None => self.config_num(ctx, "ensemble", "radius"),
        }
        .unwrap_or(1.0);
        if radius <= 0.0 || !radius.is_finite() {
            let s = args.span_of("radius").unwrap_or(c.span);
            self.diags.push(Diagnostic::error(
                codes::OUT_OF_RANGE,
                format!("radius must be positive, found {radius}"),
                s,
                "not positive",
            ));
            return None;
        }
        let n_eval_points = args.opt_count(self, "n_eval_points");
        let normalize_encoders = args.opt_bool(self, "normalize_encoders").unwrap_or(true);
        self.check_rates(&neuron, &max_rates, &intercepts, &args, c.span);
        let mut neuron = neuron;
        neuron.initial_voltage = self.opt_dist_arg(&mut args, "initial_voltage", &[n])?;
        args.finish(self);
        let ens = Ensemble {
            n_neurons: n,
            dims,
            neuron,
            max_rates,
            intercepts,
            encoders,
            radius,
            gain,
            bias,
            eval_points,
            n_eval_points,
            normalize_encoders,
        };
        Some((ens, seed))
    }

    fn layer_from(&mut self, ctx: &mut NetCtx, v: Value, span: Span, n: usize) -> Option<Layer> {
        let c = self.neuron_ctor(v, span, "a layer")?;
        let (mut neuron, mut args) = self.neuron_from(ctx, &c, LAYER_ARGS)?;
        let gain = self.per_neuron(ctx, &mut args, "gain", n, 1.0)?;
        let bias = self.per_neuron(ctx, &mut args, "bias", n, 0.0)?;
        neuron.initial_voltage = self.opt_dist_arg(&mut args, "initial_voltage", &[n])?;
        args.finish(self);
        Some(Layer { neuron, gain, bias })
    }

    fn per_neuron(
        &mut self,
        ctx: &mut NetCtx,
        args: &mut Args,
        name: &str,
        n: usize,
        default: f64,
    ) -> Option<Vec<f64>> {
        let (v, span) = match args.take(name) {
            Some(a) => (a.value, a.value_span),
            None => match ctx.config.get("layer", name) {
                Some(v) => v,
                None => return Some(vec![default]),
            },
        };
        match v {
            Value::Num(x, Unit::One) => Some(vec![x]),
            Value::Array(a) if a.len() == n || a.len() == 1 => Some(a.iter().copied().collect()),
            other => {
                let shape = match &other {
                    Value::Array(a) => fmt_shape(a.shape()),
                    o => o.describe(),
                };
                self.diags.push(
                    Diagnostic::error(codes::TENSOR_SHAPE, format!("`{name}` needs one value per neuron ({n}) or a single number, found {shape}"), span, "wrong size")
                        .with_help("a layer's size is the product of its shape"),
                );
                None
            }
        }
    }

    fn neuron_ctor(&mut self, v: Value, span: Span, what: &str) -> Option<Ctor> {
        match v {
            Value::Ctor(c) if NeuronKind::from_name(&c.name).is_some() => Some(c),
            Value::Ctor(c) => {
                let names: Vec<&str> = crate::spec::NEURON_TYPES.iter().map(|t| t.name).collect();
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    format!("`{}` is not a neuron type", c.name),
                    c.span,
                    "not a neuron type",
                );
                d = d.with_help(
                    match snn_syntax::diag::did_you_mean(&c.name, names.iter().copied()) {
                        Some(g) => format!("did you mean `{g}`?"),
                        None => format!("neuron types: {}", names.join(", ")),
                    },
                );
                self.diags.push(d);
                None
            }
            other => {
                self.diags.push(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!(
                            "{what} is declared with a neuron type, found {}",
                            other.describe()
                        ),
                        span,
                        "not a neuron type",
                    )
                    .with_help("e.g. `lif(n = 100, dims = 1)`"),
                );
                None
            }
        }
    }

    /// Split a neuron constructor's arguments into the type's parameters and the rest.
    pub(crate) fn neuron_from(
        &mut self,
        ctx: &mut NetCtx,
        c: &Ctor,
        extra: &[&str],
    ) -> Option<(NeuronSpec, Args)> {
        let kind = NeuronKind::from_name(&c.name)?;
        let info = kind.info();
        let mut allowed: Vec<&str> = info.params.iter().map(|p| p.0).collect();
        allowed.extend_from_slice(extra);
        let mut args = Args::new(self, c, &allowed)?;
        let mut base = None;
        if info.wraps_base {
            match args.positional.first().cloned() {
                Some(a) => {
                    args.positional.remove(0);
                    let bc = self.neuron_ctor(a.value, a.value_span, "a spiking wrapper's base")?;
                    let (b, bargs) = self.neuron_from(ctx, &bc, &[])?;
                    bargs.finish(self);
                    if b.kind.info().spiking {
                        self.diags.push(
                            Diagnostic::error(
                                codes::WRONG_KIND,
                                format!("the base of `{}` must be a rate neuron type", c.name),
                                a.value_span,
                                "spiking base",
                            )
                            .with_help("e.g. `regular_spiking(lif_rate(), …)`"),
                        );
                        return None;
                    }
                    base = Some(Box::new(b));
                }
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::MISSING_ARGUMENT,
                            format!("`{}` needs a base rate type", c.name),
                            c.span,
                            "no base type",
                        )
                        .with_help(format!("e.g. `{}(lif_rate(), n = 100, dims = 1)`", c.name)),
                    );
                    return None;
                }
            }
        }
        let mut params = Vec::new();
        for &(pname, default, unit) in info.params {
            let given = args.take(pname).map(|a| (a.value, a.value_span));
            let given = given.or_else(|| ctx.config.get(info.name, pname));
            let val = match given {
                None => default,
                Some((v, span)) => match (v, unit) {
                    (Value::Num(x, Unit::Time), ParamUnit::Time)
                    | (Value::Num(x, Unit::One), ParamUnit::One) => x,
                    (Value::Num(x, Unit::One), ParamUnit::Time) => x,
                    (other, _) => {
                        let want =
                            if unit == ParamUnit::Time { "a time" } else { "a plain number" };
                        self.diags.push(Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!("`{pname}` expects {want}, found {}", other.describe()),
                            span,
                            "wrong unit",
                        ));
                        return None;
                    }
                },
            };
            if matches!(pname, "tau_rc" | "tau_ref" | "tau_n" | "tau_recovery")
                && (val < 0.0 || (pname == "tau_rc" && val <= 0.0))
            {
                let s = args.span_of(pname).unwrap_or(c.span);
                self.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("`{pname}` must be positive, found {val}"),
                    s,
                    "not positive",
                ));
                return None;
            }
            params.push((pname, val));
        }
        let spec = NeuronSpec { kind, params, base, initial_voltage: None };
        Some((spec, args))
    }

    /// max_rates < 1/tau_ref and intercepts in [-1, 1) where the values are known.
    fn check_rates(
        &mut self,
        neuron: &NeuronSpec,
        max_rates: &DistSpec,
        intercepts: &DistSpec,
        args: &Args,
        span: Span,
    ) {
        let rate_type = neuron.base.as_deref().unwrap_or(neuron);
        let tau_ref = match rate_type.kind {
            NeuronKind::Lif
            | NeuronKind::LifRate
            | NeuronKind::AdaptiveLif
            | NeuronKind::AdaptiveLifRate
            | NeuronKind::Sigmoid
            | NeuronKind::Tanh => Some(rate_type.param("tau_ref")),
            _ => None,
        };
        if let Some(tr) = tau_ref.filter(|t| *t > 0.0) {
            let limit = 1.0 / tr;
            let hi = match max_rates {
                DistSpec::Uniform { high, .. } => Some(*high),
                DistSpec::Choice(opts) => opts.iter().flatten().copied().reduce(f64::max),
                DistSpec::Array(a) => a.iter().copied().reduce(f64::max),
                _ => None,
            };
            if let Some(hi) = hi.filter(|h| *h >= limit) {
                let s = args.span_of("max_rates").unwrap_or(span);
                self.diags.push(
                    Diagnostic::error(codes::MAX_RATE, format!("max_rates up to {hi} Hz, but a `{}` neuron cannot fire faster than 1/tau_ref = {limit} Hz", rate_type.kind.info().name), s, "too fast")
                        .with_help(format!("keep max_rates below {limit} Hz, or lower tau_ref")),
                );
            }
        }
        let bad = match intercepts {
            DistSpec::Uniform { low, high, .. } => {
                if *low < -1.0 {
                    Some(*low)
                } else {
                    (*high > 1.0).then_some(*high)
                }
            }
            DistSpec::Array(a) => a.iter().copied().find(|x| !(-1.0..1.0).contains(x)),
            DistSpec::Choice(opts) => {
                opts.iter().flatten().copied().find(|x| !(-1.0..1.0).contains(x))
            }
            _ => None,
        };
        if let Some(x) = bad {
            let s = args.span_of("intercepts").unwrap_or(span);
            self.diags.push(
                Diagnostic::error(codes::INTERCEPT, format!("intercepts must lie in [-1, 1), found {x}"), s, "out of range")
                    .with_help("an intercept is where a neuron starts firing along its encoder, in units of the radius"),
            );
        }
    }

    fn config_num(&mut self, ctx: &NetCtx, kind: &str, param: &str) -> Option<f64> {
        match ctx.config.get(kind, param)? {
            (Value::Num(x, _), _) => Some(x),
            (other, span) => {
                self.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{kind}.{param}` expects a number, found {}", other.describe()),
                    span,
                    "here",
                ));
                None
            }
        }
    }

    /// A distribution argument with config and Nengo defaults; arrays must have `shape` (0 = any).
    fn dist_arg(
        &mut self,
        ctx: &mut NetCtx,
        args: &mut Args,
        kind: &str,
        name: &str,
        shape: &[usize],
        unit: Unit,
    ) -> Option<DistSpec> {
        let (v, span) = match args.take(name) {
            Some(a) => (a.value, a.value_span),
            None => match ctx.config.get(kind, name) {
                Some(v) => v,
                None => return Some(DistSpec::Default),
            },
        };
        self.dist_from(v, span, name, shape, unit)
    }

    fn opt_dist_arg(
        &mut self,
        args: &mut Args,
        name: &str,
        shape: &[usize],
    ) -> Option<Option<DistSpec>> {
        match args.take(name) {
            Some(a) => self.dist_from(a.value, a.value_span, name, shape, Unit::One).map(Some),
            None => Some(None),
        }
    }

    /// Interpret a value as a distribution or explicit array for parameter `name`.
    pub(crate) fn dist_from(
        &mut self,
        v: Value,
        span: Span,
        name: &str,
        shape: &[usize],
        unit: Unit,
    ) -> Option<DistSpec> {
        let num = |v: &Value| -> Option<f64> {
            match v {
                Value::Num(x, u) if *u == unit || *u == Unit::One => Some(*x),
                _ => None,
            }
        };
        match v {
            Value::Num(x, u) if u == unit || u == Unit::One => {
                Some(DistSpec::Choice(vec![vec![x]]))
            }
            Value::Array(a) => {
                let ok = a.ndim() == shape.len()
                    && a.shape().iter().zip(shape).all(|(d, s)| *s == 0 || d == s);
                if !ok {
                    let want: Vec<String> = shape
                        .iter()
                        .map(|d| if *d == 0 { "_".to_string() } else { d.to_string() })
                        .collect();
                    self.diags.push(Diagnostic::error(
                        codes::TENSOR_SHAPE,
                        format!(
                            "`{name}` needs shape [{}], found {}",
                            want.join(", "),
                            fmt_shape(a.shape())
                        ),
                        span,
                        "wrong shape",
                    ));
                    return None;
                }
                Some(DistSpec::Array(a))
            }
            Value::Ctor(c) => {
                let pos: Vec<&CtorArg> = c.args.iter().filter(|a| a.name.is_none()).collect();
                let named = |k: &str| c.args.iter().find(|a| a.name.as_deref() == Some(k));
                let get = |k: &str, i: usize| named(k).or_else(|| pos.get(i).copied());
                let res = match c.name.as_str() {
                    "uniform" => {
                        let (Some(lo), Some(hi)) = (
                            get("low", 0).and_then(|a| num(&a.value)),
                            get("high", 1).and_then(|a| num(&a.value)),
                        ) else {
                            self.diags.push(bad_ctor(&c, "uniform(low, high)", unit));
                            return None;
                        };
                        if lo > hi {
                            self.diags.push(Diagnostic::error(
                                codes::OUT_OF_RANGE,
                                format!("uniform({lo}, {hi}) has low > high"),
                                c.span,
                                "empty range",
                            ));
                            return None;
                        }
                        DistSpec::Uniform { low: lo, high: hi, integer: false }
                    }
                    "gaussian" => {
                        let (Some(m), Some(s)) = (
                            get("mean", 0).and_then(|a| num(&a.value)),
                            get("std", 1).and_then(|a| num(&a.value)),
                        ) else {
                            self.diags.push(bad_ctor(&c, "gaussian(mean, std)", unit));
                            return None;
                        };
                        if s < 0.0 {
                            self.diags.push(Diagnostic::error(
                                codes::OUT_OF_RANGE,
                                "a gaussian's std cannot be negative",
                                c.span,
                                "negative std",
                            ));
                            return None;
                        }
                        DistSpec::Gaussian { mean: m, std: s }
                    }
                    "choice" => {
                        let Some(Value::Array(a)) = get("options", 0).map(|a| a.value.clone())
                        else {
                            self.diags.push(bad_ctor(&c, "choice([a, b, …])", unit));
                            return None;
                        };
                        let rows: Vec<Vec<f64>> = if a.ndim() <= 1 {
                            a.iter().map(|x| vec![*x]).collect()
                        } else {
                            a.outer_iter().map(|r| r.iter().copied().collect()).collect()
                        };
                        DistSpec::Choice(rows)
                    }
                    "uniform_hypersphere" | "scattered_hypersphere" => {
                        let surface = match named("surface").map(|a| &a.value) {
                            Some(Value::Bool(b)) => *b,
                            None => false,
                            Some(other) => {
                                self.diags.push(Diagnostic::error(
                                    codes::TYPE_MISMATCH,
                                    format!(
                                        "`surface` is true or false, found {}",
                                        other.describe()
                                    ),
                                    c.span,
                                    "here",
                                ));
                                return None;
                            }
                        };
                        if c.name == "uniform_hypersphere" {
                            DistSpec::UniformHypersphere { surface }
                        } else {
                            DistSpec::ScatteredHypersphere { surface }
                        }
                    }
                    other => {
                        self.diags.push(
                            Diagnostic::error(codes::TYPE_MISMATCH, format!("`{name}` expects a distribution or an array, found `{other}(…)`"), c.span, "not a distribution")
                                .with_help("distributions: uniform, gaussian, choice, uniform_hypersphere, scattered_hypersphere"),
                        );
                        return None;
                    }
                };
                Some(res)
            }
            other => {
                self.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!(
                        "`{name}` expects {} or a distribution, found {}",
                        if unit == Unit::Freq { "a frequency" } else { "a number, an array" },
                        other.describe()
                    ),
                    span,
                    "wrong type",
                ));
                None
            }
        }
    }

    fn declare_instance(&mut self, ctx: &mut NetCtx, name: &ast::DeclName, value: &ast::Expr) {
        let Some(index) = self.decl_index(ctx, name) else { return };
        let ast::ExprKind::Call { callee, args } = &value.kind else {
            self.diags.push(
                Diagnostic::error(
                    codes::WRONG_KIND,
                    "a network instance is a call of a network",
                    value.span,
                    "not a call",
                )
                .with_help("e.g. `network sub = integrator(n = 100)`"),
            );
            return;
        };
        let net_name = match &callee.kind {
            ast::ExprKind::Name(id) => id.name.clone(),
            ast::ExprKind::Field { base, field } => match &base.kind {
                ast::ExprKind::Name(q) => format!("{}.{}", q.name, field.name),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let Some((file_ast, idx, def_file)) = self.find_network(ctx.file, &net_name) else {
            let names = self.visible_networks(ctx.file);
            let mut d = Diagnostic::error(
                codes::UNKNOWN_NETWORK,
                format!("unknown network `{net_name}`"),
                callee.span,
                "not defined or imported",
            );
            d = d.with_help(
                match snn_syntax::diag::did_you_mean(&net_name, names.iter().map(String::as_str)) {
                    Some(g) => format!("did you mean `{g}`?"),
                    None => {
                        "define it with `network NAME(…) { … }` or import it with `use`".to_string()
                    }
                },
            );
            self.diags.push(d);
            return;
        };
        let ast::Item::Network(def) = &file_ast.items[idx] else { return };
        let mut evaluated = Vec::new();
        for a in args {
            let Some(v) = self.eval(ctx, &a.value) else { return };
            evaluated.push(CtorArg {
                name: a.name.as_ref().map(|n| n.name.clone()),
                value: v,
                span: a.span,
                value_span: a.value.span,
            });
        }
        let full = ctx.full_name(&name.name.name, index);
        let seed = derive_seed(ctx.seed, &full);
        let mut sub = NetCtx::new(def_file, format!("{full}."), ctx.config.clone(), seed);
        self.instantiate_body(&mut sub, def, &evaluated, value.span);
        self.insert_member(
            ctx,
            &name.name,
            index,
            Member::Instance(Rc::new(sub.members), name.span),
        );
    }
}

fn bad_ctor(c: &Ctor, form: &str, unit: Unit) -> Diagnostic {
    Diagnostic::error(
        codes::TYPE_MISMATCH,
        format!("expected `{form}` with {} bounds", unit.describe()),
        c.span,
        "bad arguments",
    )
}

/// The arguments of a constructor, taken one by one; leftovers are reported by [`Args::finish`].
pub(crate) struct Args {
    named: Vec<CtorArg>,
    pub(crate) positional: Vec<CtorArg>,
    spans: Vec<(String, Span)>,
    ctor_name: String,
    ctor_span: Span,
}

impl Args {
    /// Collect `c`'s arguments, reporting unknown and duplicate names against `allowed`.
    pub(crate) fn new(el: &mut Elab<'_>, c: &Ctor, allowed: &[&str]) -> Option<Args> {
        let mut named: Vec<CtorArg> = Vec::new();
        let mut positional = Vec::new();
        let mut ok = true;
        for a in &c.args {
            match &a.name {
                None => positional.push(a.clone()),
                Some(n) => {
                    if !allowed.contains(&n.as_str()) {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_ARGUMENT,
                            format!("`{}` has no argument `{n}`", c.name),
                            a.span,
                            "unknown argument",
                        );
                        d = d.with_help(
                            match snn_syntax::diag::did_you_mean(n, allowed.iter().copied()) {
                                Some(g) => format!("did you mean `{g}`?"),
                                None => format!("its arguments are: {}", allowed.join(", ")),
                            },
                        );
                        el.diags.push(d);
                        ok = false;
                    } else if let Some(prev) = named.iter().find(|p| p.name.as_ref() == Some(n)) {
                        el.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE_ARGUMENT,
                                format!("argument `{n}` is given twice"),
                                a.span,
                                "given again",
                            )
                            .with_label(prev.span, "first given here"),
                        );
                        ok = false;
                    } else {
                        named.push(a.clone());
                    }
                }
            }
        }
        let spans =
            named.iter().filter_map(|a| a.name.clone().map(|n| (n, a.value_span))).collect();
        ok.then_some(Args {
            named,
            positional,
            spans,
            ctor_name: c.name.clone(),
            ctor_span: c.span,
        })
    }

    /// Remove and return the named argument `name`.
    pub(crate) fn take(&mut self, name: &str) -> Option<CtorArg> {
        let i = self.named.iter().position(|a| a.name.as_deref() == Some(name))?;
        Some(self.named.remove(i))
    }

    /// Where argument `name` was written.
    pub(crate) fn span_of(&self, name: &str) -> Option<Span> {
        self.spans.iter().find(|(n, _)| n == name).map(|(_, s)| *s)
    }

    pub(crate) fn opt_num(&mut self, el: &mut Elab<'_>, name: &str, unit: Unit) -> Option<f64> {
        let a = self.take(name)?;
        match a.value {
            Value::Num(x, u) if u == unit || u == Unit::One => Some(x),
            other => {
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` expects {}, found {}", unit.describe(), other.describe()),
                    a.value_span,
                    "wrong type",
                ));
                None
            }
        }
    }

    pub(crate) fn req_positive(
        &mut self,
        el: &mut Elab<'_>,
        name: &str,
        unit: Unit,
    ) -> Option<f64> {
        let span = self.span_of(name);
        match self.opt_num(el, name, unit) {
            Some(x) if x > 0.0 => Some(x),
            Some(x) => {
                el.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("`{name}` must be positive, found {x}"),
                    span.unwrap_or(self.ctor_span),
                    "not positive",
                ));
                None
            }
            None => {
                if span.is_none() {
                    el.diags.push(self.missing(name));
                }
                None
            }
        }
    }

    pub(crate) fn missing(&self, name: &str) -> Diagnostic {
        Diagnostic::error(
            codes::MISSING_ARGUMENT,
            format!("`{}` needs argument `{name}`", self.ctor_name),
            self.ctor_span,
            format!("`{name}` not given"),
        )
    }

    pub(crate) fn opt_count(&mut self, el: &mut Elab<'_>, name: &str) -> Option<usize> {
        let a = self.take(name)?;
        match a.value {
            Value::Num(x, Unit::One) if x >= 0.0 && x.fract() == 0.0 && x < 1e12 => {
                Some(x as usize)
            }
            other => {
                let what = match other {
                    Value::Num(x, _) => format!("{x}"),
                    o => o.describe(),
                };
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` must be a non-negative whole number, found {what}"),
                    a.value_span,
                    "not a count",
                ));
                None
            }
        }
    }

    pub(crate) fn req_count(&mut self, el: &mut Elab<'_>, name: &str) -> Option<usize> {
        let given = self.span_of(name).is_some();
        let res = self.opt_count(el, name);
        if res.is_none() && !given {
            el.diags.push(self.missing(name));
        }
        res
    }

    pub(crate) fn opt_bool(&mut self, el: &mut Elab<'_>, name: &str) -> Option<bool> {
        let a = self.take(name)?;
        match a.value {
            Value::Bool(b) => Some(b),
            other => {
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` is true or false, found {}", other.describe()),
                    a.value_span,
                    "not a boolean",
                ));
                None
            }
        }
    }

    /// A required array, named or at position `pos`.
    pub(crate) fn req_array(
        &mut self,
        el: &mut Elab<'_>,
        name: &str,
        pos: usize,
    ) -> Option<ArrayD<f64>> {
        let a = match self.take(name) {
            Some(a) => a,
            None if pos < self.positional.len() => self.positional.remove(pos),
            None => {
                el.diags.push(self.missing(name));
                return None;
            }
        };
        match a.value {
            Value::Array(arr) => Some(arr),
            other => {
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`{name}` expects an array, found {}", other.describe()),
                    a.value_span,
                    "not an array",
                ));
                None
            }
        }
    }

    /// Report arguments nobody took.
    pub(crate) fn finish(self, el: &mut Elab<'_>) {
        for a in self.positional {
            el.diags.push(
                Diagnostic::error(
                    codes::ARITY,
                    format!("`{}` takes named arguments here", self.ctor_name),
                    a.span,
                    "unexpected positional argument",
                )
                .with_help("write `name = value`"),
            );
        }
        for a in self.named {
            let n = a.name.unwrap_or_default();
            el.diags.push(Diagnostic::error(
                codes::UNKNOWN_ARGUMENT,
                format!("argument `{n}` does not apply to `{}` here", self.ctor_name),
                a.span,
                "not used",
            ));
        }
    }
}
