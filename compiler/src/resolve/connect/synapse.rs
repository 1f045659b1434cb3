//! Synapse and solver clauses: `synapse = …` and `solver = lstsq_l2(…)`, with config defaults.

use super::args::vec_arg;
use crate::resolve::decl::Args;
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::spec::{SolverSpec, SynapseSpec};
use crate::value::{Unit, Value};
use snn_syntax::ast;
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// The `synapse` clause, else the config's `kind.synapse`, else `default`.
    pub(super) fn synapse_clause(
        &mut self,
        ctx: &mut NetCtx,
        e: Option<&ast::Expr>,
        kind: &str,
        default: Option<SynapseSpec>,
    ) -> Option<Option<SynapseSpec>> {
        match e {
            Some(e) => {
                let v = self.eval(ctx, e)?;
                self.synapse_from(v, e.span)
            }
            None => match ctx.config.get(kind, "synapse") {
                Some((v, s)) => self.synapse_from(v, s),
                None => Some(default),
            },
        }
    }

    /// The `solver` clause, else the config's `kind.solver`, else the default solver; no solver
    /// (`None` or `Some(None)`) after an error.
    pub(super) fn solver_clause(
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
        if c.name == "no_solver" {
            let mut args = Args::new(self, &c, &["values"])?;
            let values = args.req_array(self, "values", 0);
            args.finish(self);
            let values = values?;
            let shape = values.shape().to_vec();
            let Ok(values) = values.into_dimensionality::<ndarray::Ix2>() else {
                self.diags.push(Diagnostic::error(
                    codes::TENSOR_SHAPE,
                    format!(
                        "`no_solver` takes decoders of shape (neurons, size), found {}",
                        crate::value::fmt_shape(&shape)
                    ),
                    c.span,
                    "not a matrix",
                ));
                return Some(None);
            };
            return Some(Some(SolverSpec { values: Some(values), ..SolverSpec::default() }));
        }
        if c.name != "lstsq_l2" {
            self.diags.push(
                Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    format!("`{}` is not a solver", c.name),
                    c.span,
                    "not a solver",
                )
                .with_help(
                    "the solvers are `lstsq_l2(reg = 0.1, weights = false)` and \
                     `no_solver(values = D)` (decoders given)",
                ),
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
        Some(Some(SolverSpec { reg, weights, values: None }))
    }

    /// Interpret a synapse value: `none`, a time (lowpass), or a synapse constructor.
    fn synapse_from(&mut self, v: Value, span: Span) -> Option<Option<SynapseSpec>> {
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
}
