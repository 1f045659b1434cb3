//! Host-function nodes: `node p: [13, 13, 32] = max_pool2d(input_shape = [26, 26, 32], size = [2, 2])`,
//! `softmax(input_shape = [10])`, `elu(alpha = 1)` — computed on the host from the sum of the
//! node's inputs (the Keras importer's fallback for layers with no native conversion).

use super::decl::Args;
use super::Elab;
use crate::spec::HostOp;
use crate::value::{fmt_shape, Ctor, Unit, Value};
use snn_syntax::{codes, Diagnostic};

/// The names of host functions.
pub(crate) const HOST_FUNCTIONS: &[&str] = &["max_pool1d", "max_pool2d", "softmax", "elu"];

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
        let n_in: usize = input_shape.iter().product();
        let res = match c.name.as_str() {
            "elu" => {
                let alpha = args.opt_num(self, "alpha", Unit::One).unwrap_or(1.0);
                (HostOp::Elu { alpha }, input_shape.clone())
            }
            "softmax" => {
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
                (
                    HostOp::Softmax { shape: input_shape.clone(), axis: axis as usize },
                    input_shape.clone(),
                )
            }
            _ => {
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
                let list = |el: &mut Elab<'_>,
                            args: &mut Args,
                            name: &str,
                            default: Option<Vec<usize>>|
                 -> Option<Vec<usize>> {
                    match args.take(name) {
                        Some(a) => match &a.value {
                            Value::Array(v)
                                if v.len() == rank
                                    && v.iter().all(|x| *x >= 1.0 && x.fract() == 0.0) =>
                            {
                                Some(v.iter().map(|&x| x as usize).collect())
                            }
                            Value::Num(x, _) if *x >= 1.0 && x.fract() == 0.0 => {
                                Some(vec![*x as usize; rank])
                            }
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
                };
                let size = list(self, &mut args, "size", None)?;
                let strides = list(self, &mut args, "strides", Some(size.clone()))?;
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
                (op, out)
            }
        };
        args.finish(self);
        Some((res.0, res.1, n_in))
    }
}
