//! Host-function nodes: `node p: [13, 13, 32] = max_pool2d(input_shape = [26, 26, 32], size = [2, 2])`,
//! `softmax(input_shape = [10])`, `elu(alpha = 1)` — computed on the host from the sum of the
//! node's inputs (the Keras importer's fallback for layers with no native conversion), and
//! `keras_layer(class = "Subtract", input_shape = [[4], [4]], config = "{}")`: any layer
//! snn-keras's evaluator computes, its inputs concatenated into the node's input.

use super::decl::Args;
use super::Elab;
use crate::spec::{HostOp, KerasLayerOp};
use crate::value::{fmt_shape, Ctor, CtorArg, Unit, Value};
use snn_syntax::{codes, Diagnostic, Span};
use std::sync::Arc;

/// The names of host functions.
pub(crate) const HOST_FUNCTIONS: &[&str] =
    &["max_pool1d", "max_pool2d", "softmax", "elu", "keras_layer"];

/// Largest number of elements of one `keras_layer` input.
const MAX_KERAS_INPUT: usize = 1 << 26;

/// A list of positive whole numbers.
fn whole_dims<'a>(v: impl Iterator<Item = &'a f64>) -> Option<Vec<usize>> {
    v.map(|&x| (x >= 1.0 && x.fract() == 0.0 && x < 1e12).then_some(x as usize)).collect()
}

impl Elab<'_> {
    /// A host op from its constructor; returns it with the output shape and the input size.
    pub(crate) fn host_from(
        &mut self,
        c: &Ctor,
        declared: Option<&Vec<usize>>,
    ) -> Option<(HostOp, Vec<usize>, usize)> {
        let mut args = Args::new(
            self,
            c,
            &["input_shape", "size", "strides", "padding", "channels_last", "axis", "alpha"],
        )?;
        let input_shape = self.host_input_shape(c, &mut args, declared)?;
        let n_in: usize = input_shape.iter().product();
        let res = match c.name.as_str() {
            "elu" => {
                let alpha = args.opt_num(self, "alpha", Unit::One).unwrap_or(1.0);
                (HostOp::Elu { alpha }, input_shape.clone())
            }
            "softmax" => self.softmax_from(c, &mut args, input_shape)?,
            _ => self.max_pool_from(c, &mut args, input_shape)?,
        };
        args.finish(self);
        Some((res.0, res.1, n_in))
    }

    /// `input_shape`, or for `elu` the node's declared shape.
    fn host_input_shape(
        &mut self,
        c: &Ctor,
        args: &mut Args,
        declared: Option<&Vec<usize>>,
    ) -> Option<Vec<usize>> {
        let input_shape = match args.take("input_shape") {
            Some(a) => match &a.value {
                Value::Array(v)
                    if v.ndim() == 1 && v.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) =>
                {
                    v.iter().map(|&x| x as usize).collect::<Vec<_>>()
                }
                other => {
                    self.diags.push(Diagnostic::error(
                        codes::BAD_SHAPE,
                        format!(
                            "`input_shape` is a list of positive whole numbers, found {}",
                            other.describe()
                        ),
                        a.value_span,
                        "not a shape",
                    ));
                    return None;
                }
            },
            None => match (c.name.as_str(), declared) {
                ("elu", Some(d)) => d.clone(),
                _ => {
                    self.diags.push(args.missing("input_shape"));
                    return None;
                }
            },
        };
        Some(input_shape)
    }

    /// `softmax(input_shape = …, axis = -1)`: the op and its output shape.
    fn softmax_from(
        &mut self,
        c: &Ctor,
        args: &mut Args,
        input_shape: Vec<usize>,
    ) -> Option<(HostOp, Vec<usize>)> {
        let nd = input_shape.len() as i64;
        let a = args.opt_num(self, "axis", Unit::One).unwrap_or(-1.0) as i64;
        let axis = if a < 0 { a + nd } else { a };
        if axis < 0 || axis >= nd {
            self.diags.push(Diagnostic::error(
                codes::INDEX_RANGE,
                format!("axis {a} is out of range for shape {}", fmt_shape(&input_shape)),
                args.span_of("axis").unwrap_or(c.span),
                "bad axis",
            ));
            return None;
        }
        Some((HostOp::Softmax { shape: input_shape.clone(), axis: axis as usize }, input_shape))
    }

    /// `max_pool1d/2d(input_shape = …, size = …, strides = size, padding = valid)`: the op and
    /// its output shape.
    fn max_pool_from(
        &mut self,
        c: &Ctor,
        args: &mut Args,
        input_shape: Vec<usize>,
    ) -> Option<(HostOp, Vec<usize>)> {
        let rank = if c.name == "max_pool1d" { 1 } else { 2 };
        let channels_last = args.opt_bool(self, "channels_last").unwrap_or(true);
        if input_shape.len() != rank + 1 {
            self.diags.push(Diagnostic::error(
                codes::CONV_GEOMETRY,
                format!(
                    "`{}` needs an input of {} dims (spatial and channels), found {}",
                    c.name,
                    rank + 1,
                    fmt_shape(&input_shape)
                ),
                c.span,
                "wrong input rank",
            ));
            return None;
        }
        let size = pool_list(self, args, "size", rank, None)?;
        let strides = pool_list(self, args, "strides", rank, Some(size.clone()))?;
        let same = match args.take("padding").map(|a| a.value) {
            None => false,
            Some(Value::Str(s)) if s == "valid" => false,
            Some(Value::Str(s)) if s == "same" => true,
            Some(other) => {
                self.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("`padding` is `valid` or `same`, found {}", other.describe()),
                    c.span,
                    "bad padding",
                ));
                return None;
            }
        };
        let ch = if channels_last { rank } else { 0 };
        let spatial: Vec<usize> = (0..=rank).filter(|&d| d != ch).collect();
        let mut out = input_shape.clone();
        let mut pad_before = Vec::new();
        for (k, &d) in spatial.iter().enumerate() {
            let n = input_shape[d];
            let o = if same {
                n.div_ceil(strides[k])
            } else if n >= size[k] {
                (n - size[k]) / strides[k] + 1
            } else {
                self.diags.push(Diagnostic::error(
                    codes::CONV_GEOMETRY,
                    format!("pool size {} is larger than the input ({n})", size[k]),
                    c.span,
                    "does not fit",
                ));
                return None;
            };
            let total = ((o - 1) * strides[k] + size[k]).saturating_sub(n);
            pad_before.push(if same { total / 2 } else { 0 });
            out[d] = o;
        }
        let op = HostOp::MaxPool {
            input_shape: input_shape.clone(),
            output_shape: out.clone(),
            size,
            strides,
            pad_before,
            channels_last,
        };
        Some((op, out))
    }
}

/// A pooling argument: `rank` positive whole numbers (one repeats), else `default`, else missing.
fn pool_list(
    el: &mut Elab<'_>,
    args: &mut Args,
    name: &str,
    rank: usize,
    default: Option<Vec<usize>>,
) -> Option<Vec<usize>> {
    match args.take(name) {
        Some(a) => match &a.value {
            Value::Array(v)
                if v.len() == rank && v.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) =>
            {
                Some(v.iter().map(|&x| x as usize).collect())
            }
            Value::Num(x, _) if *x >= 1.0 && x.fract() == 0.0 => Some(vec![*x as usize; rank]),
            other => {
                el.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!(
                        "`{name}` is {rank} positive whole number(s), found {}",
                        other.describe()
                    ),
                    a.value_span,
                    "bad value",
                ));
                None
            }
        },
        None => default.or_else(|| {
            el.diags.push(args.missing(name));
            None
        }),
    }
}

/// The arguments of a `keras_layer` call, as given.
struct KerasArgs {
    class: Option<(String, Span)>,
    input_shapes: Option<Vec<Vec<usize>>>,
    config: Option<(String, Span)>,
    keras3: bool,
    weights: Vec<snn_runtime::keras::Weight>,
}

impl Elab<'_> {
    /// `keras_layer(class = "…", input_shape = …, config = "{…}", keras = 2|3, WEIGHT = tensor…)`:
    /// the layer is checked and run once on zeros, which gives its output shape. Returns the op,
    /// the output shape and the input size (all inputs, flat, concatenated in call order).
    pub(crate) fn keras_from(&mut self, c: &Ctor) -> Option<(HostOp, Vec<usize>, usize)> {
        let mut given = KerasArgs {
            class: None,
            input_shapes: None,
            config: None,
            keras3: true,
            weights: Vec::new(),
        };
        let ok = self.keras_args(c, &mut given);
        let KerasArgs { class, input_shapes, config, keras3, weights } = given;
        let missing = |name: &str| {
            Diagnostic::error(
                codes::MISSING_ARGUMENT,
                format!("`keras_layer` needs argument `{name}`"),
                c.span,
                format!("`{name}` not given"),
            )
        };
        let Some((class, class_span)) = class else {
            self.diags.push(missing("class"));
            return None;
        };
        let Some(input_shapes) = input_shapes else {
            if ok {
                self.diags.push(missing("input_shape"));
            }
            return None;
        };
        if !ok {
            return None;
        }
        let config = self.keras_config(config, c.span)?;
        let layer = snn_runtime::keras::Layer {
            name: class.clone(),
            class_name: class.clone(),
            config: snn_runtime::keras::LayerConfig(config),
            node: 0,
            n_calls: 1,
            inbound: Vec::new(),
            weights: Arc::new(weights),
        };
        if let Err(e) = snn_runtime::keras::check_layer(&layer) {
            let span =
                if e.kind == snn_runtime::keras::ErrorKind::Weights { c.span } else { class_span };
            let mut d = keras_err(&class, e.reason, span);
            if e.kind == snn_runtime::keras::ErrorKind::Weights {
                d = d.with_help(
                    "weights are named arguments, as Keras names them: `alpha = w[\"prelu/alpha\"]`",
                );
            } else if !snn_runtime::keras::is_supported_class(&class) {
                d = d.with_help(
                    "the evaluator computes the core Keras layers (Dense, Conv, merges, pooling, \
                     cropping, padding, Permute, PReLU, activations, …)",
                );
            }
            self.diags.push(d);
            return None;
        }
        let output_shape = self.keras_output_shape(c, &layer, &class, &input_shapes, keras3)?;
        let n_in = input_shapes.iter().map(|s| s.iter().product::<usize>()).sum();
        let op = KerasLayerOp { layer, input_shapes, output_shape: output_shape.clone(), keras3 };
        Some((HostOp::Keras(Arc::new(op)), output_shape, n_in))
    }

    /// Read `keras_layer`'s arguments into `given`; false after an error.
    fn keras_args(&mut self, c: &Ctor, given: &mut KerasArgs) -> bool {
        let mut seen: Vec<(String, Span)> = Vec::new();
        let mut ok = true;
        for a in &c.args {
            let Some(name) = &a.name else {
                self.diags.push(
                    Diagnostic::error(
                        codes::ARITY,
                        "`keras_layer` takes named arguments only",
                        a.span,
                        "unnamed argument",
                    )
                    .with_help(
                        "e.g. `keras_layer(class = \"Subtract\", input_shape = [[4], [4]])`",
                    ),
                );
                ok = false;
                continue;
            };
            if let Some((_, prev)) = seen.iter().find(|(n, _)| n == name) {
                self.diags.push(
                    Diagnostic::error(
                        codes::DUPLICATE_ARGUMENT,
                        format!("argument `{name}` is given twice"),
                        a.span,
                        "given again",
                    )
                    .with_label(*prev, "first given here"),
                );
                ok = false;
                continue;
            }
            seen.push((name.clone(), a.span));
            if !self.keras_arg(a, name, given) {
                ok = false;
            }
        }
        ok
    }

    /// One named argument: `class`, `config`, `keras`, `input_shape` or a weight; false if wrong.
    fn keras_arg(&mut self, a: &CtorArg, name: &str, given: &mut KerasArgs) -> bool {
        let mismatch = |what: &str| {
            Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!("`{name}` of `keras_layer` is {what}, found {}", a.value.describe()),
                a.value_span,
                "wrong type",
            )
        };
        match (name, &a.value) {
            ("class", Value::Str(s)) => given.class = Some((s.clone(), a.value_span)),
            ("config", Value::Str(s)) => given.config = Some((s.clone(), a.value_span)),
            ("keras", Value::Num(x, Unit::One)) if *x == 2.0 || *x == 3.0 => {
                given.keras3 = *x == 3.0
            }
            ("input_shape", Value::Array(v)) => {
                let shapes = match v.ndim() {
                    1 => whole_dims(v.iter()).map(|s| vec![s]),
                    2 => v.outer_iter().map(|row| whole_dims(row.iter())).collect(),
                    _ => None,
                };
                match shapes {
                    Some(s) if !s.is_empty() && s.iter().all(|d| !d.is_empty()) => {
                        given.input_shapes = Some(s)
                    }
                    _ => {
                        self.diags.push(
                            Diagnostic::error(
                                codes::BAD_SHAPE,
                                format!(
                                    "`input_shape` is a shape or a list of shapes of positive whole numbers, found {}",
                                    a.value.describe()
                                ),
                                a.value_span,
                                "not a shape",
                            )
                            .with_help("one input: `input_shape = [6, 4]`; two: `input_shape = [[4], [4]]`"),
                        );
                        return false;
                    }
                }
            }
            ("class", _) | ("config", _) => {
                self.diags.push(mismatch("a string"));
                return false;
            }
            ("keras", _) => {
                self.diags.push(mismatch("the Keras major version, 2 or 3"));
                return false;
            }
            ("input_shape", _) => {
                self.diags.push(mismatch("a shape or a list of shapes"));
                return false;
            }
            (w, Value::Array(t)) => given.weights.push(snn_runtime::keras::Weight {
                name: w.to_string(),
                array: t.clone(),
                stored_f64: true,
            }),
            (_, _) => {
                self.diags.push(mismatch("a weight of the layer, a tensor").with_help(
                    "`keras_layer` takes `class`, `input_shape`, `config`, `keras` and \
                         the layer's weights by name (`alpha = w[\"prelu/alpha\"]`)",
                ));
                return false;
            }
        }
        true
    }

    /// The `config` JSON object (`{}` when not given).
    fn keras_config(
        &mut self,
        config: Option<(String, Span)>,
        span: Span,
    ) -> Option<serde_json::Value> {
        let (config_text, config_span) = config.unwrap_or_else(|| ("{}".to_string(), span));
        let config = match serde_json::from_str::<serde_json::Value>(&config_text) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            Ok(_) => {
                self.diags.push(Diagnostic::error(
                    codes::BAD_LITERAL,
                    "`config` is a JSON object (the layer's Keras config)",
                    config_span,
                    "not a JSON object",
                ));
                return None;
            }
            Err(e) => {
                self.diags.push(Diagnostic::error(
                    codes::BAD_LITERAL,
                    format!("`config` is not valid JSON: {e}"),
                    config_span,
                    "not JSON",
                ));
                return None;
            }
        };
        Some(config)
    }

    /// The layer's output shape (without the batch), from running it once on zeros.
    fn keras_output_shape(
        &mut self,
        c: &Ctor,
        layer: &snn_runtime::keras::Layer,
        class: &str,
        input_shapes: &[Vec<usize>],
        keras3: bool,
    ) -> Option<Vec<usize>> {
        let mut zeros = Vec::with_capacity(input_shapes.len());
        for shape in input_shapes {
            let n = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
            if n.is_none_or(|n| n > MAX_KERAS_INPUT) {
                self.diags.push(keras_err(
                    class,
                    format!("input shape {} is too large", fmt_shape(shape)),
                    c.span,
                ));
                return None;
            }
            let mut full = vec![1];
            full.extend_from_slice(shape);
            zeros.push(ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&full)));
        }
        let refs: Vec<&ndarray::ArrayD<f64>> = zeros.iter().collect();
        let out = match snn_runtime::keras::apply_layer(layer, &refs, keras3) {
            Ok(o) => o,
            Err(e) => {
                let shapes: Vec<String> = input_shapes.iter().map(|s| fmt_shape(s)).collect();
                self.diags.push(keras_err(
                    class,
                    format!("{} (inputs {})", e.reason, shapes.join(", ")),
                    c.span,
                ));
                return None;
            }
        };
        let output_shape = out.shape().get(1..).unwrap_or(&[]).to_vec();
        if output_shape.is_empty() || output_shape.contains(&0) {
            self.diags.push(keras_err(
                class,
                format!("its output has shape {}", fmt_shape(&output_shape)),
                c.span,
            ));
            return None;
        }
        Some(output_shape)
    }
}

/// An error of the Keras evaluator about layer `class`.
fn keras_err(class: &str, reason: String, span: Span) -> Diagnostic {
    Diagnostic::error(
        codes::KERAS_LAYER,
        format!("Keras layer `{class}`: {reason}"),
        span,
        "rejected by the Keras evaluator",
    )
}
