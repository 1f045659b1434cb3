//! Distributions: `uniform`, `gaussian`, `choice`, the hyperspheres, or explicit arrays.

use super::args::Args;
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::spec::DistSpec;
use crate::value::{fmt_shape, Ctor, CtorArg, Unit, Value};
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// A distribution argument with config and Nengo defaults; arrays must have `shape` (0 = any).
    pub(super) fn dist_arg(
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

    /// An optional distribution argument (no config default).
    pub(super) fn opt_dist_arg(
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
            Value::Ctor(c) => self.dist_ctor(c, name, unit),
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

    /// Interpret a distribution constructor (`uniform`, `gaussian`, `choice`, the hyperspheres).
    fn dist_ctor(&mut self, c: Ctor, name: &str, unit: Unit) -> Option<DistSpec> {
        let num = |v: &Value| -> Option<f64> {
            match v {
                Value::Num(x, u) if *u == unit || *u == Unit::One => Some(*x),
                _ => None,
            }
        };
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
                let Some(Value::Array(a)) = get("options", 0).map(|a| a.value.clone()) else {
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
                            format!("`surface` is true or false, found {}", other.describe()),
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
}

/// The error for a distribution constructor with missing or non-numeric bounds.
fn bad_ctor(c: &Ctor, form: &str, unit: Unit) -> Diagnostic {
    Diagnostic::error(
        codes::TYPE_MISMATCH,
        format!("expected `{form}` with {} bounds", unit.describe()),
        c.span,
        "bad arguments",
    )
}
