//! Ensembles: `lif(n = …, dims = …, …)` with its NEF parameters, config defaults and rate checks.

use super::args::Args;
use crate::model::Ensemble;
use crate::resolve::scope::NetCtx;
use crate::resolve::{trainable, Elab};
use crate::spec::{DistSpec, NeuronKind, NeuronSpec};
use crate::value::{Unit, Value};
use snn_syntax::{codes, Diagnostic, Span};

/// Ensemble arguments besides the neuron type's own parameters.
pub(crate) const ENSEMBLE_ARGS: &[&str] = &[
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
    "trainable",
];

/// The top of Nengo's default max_rates, uniform(200Hz, 400Hz) (Hz).
const DEFAULT_MAX_RATE: f64 = 400.0;

impl Elab<'_> {
    /// Interpret `lif(n = …, dims = …, …)` as an ensemble. Returns the explicit seed, if given.
    pub(super) fn ensemble_from(
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
                format!(
                    "radius must be positive and finite, found {}",
                    snn_syntax::diag::number(radius)
                ),
                s,
                "not positive",
            ));
            return None;
        }
        let n_eval_points = args.opt_count(self, "n_eval_points");
        if n_eval_points == Some(0) {
            let s = args.span_of("n_eval_points").unwrap_or(c.span);
            self.diags.push(
                Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    "`n_eval_points` must be at least 1",
                    s,
                    "zero",
                )
                .with_help(
                    "decoders are solved at the eval points, so there must be some; leave \
                     n_eval_points out for Nengo's default",
                ),
            );
            return None;
        }
        let normalize_encoders = args.opt_bool(self, "normalize_encoders").unwrap_or(true);
        let trainable = args.opt_bool(self, "trainable");
        let train_encoders =
            trainable.or_else(|| trainable::config_trainable(ctx, "ensemble")).unwrap_or(true);
        let train_bias =
            trainable.or_else(|| trainable::config_bias_trainable(ctx)).unwrap_or(train_encoders);
        self.check_rates(&neuron, &max_rates, &intercepts, &args, c.span);
        let mut neuron = neuron;
        self.initial_states(&mut args, &mut neuron, n)?;
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
            train_encoders,
            train_bias,
        };
        Some((ens, seed))
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
            | NeuronKind::Tanh => rate_type.param("tau_ref"),
            _ => None,
        };
        if let Some(tr) = tau_ref.filter(|t| *t > 0.0) {
            let limit = 1.0 / tr;
            let hi = match max_rates {
                DistSpec::Uniform { high, .. } => Some(*high),
                DistSpec::Choice(opts) => opts.iter().flatten().copied().reduce(f64::max),
                DistSpec::Array(a) => a.iter().copied().reduce(f64::max),
                // Nengo's default, uniform(200Hz, 400Hz): the build samples up to 400 Hz
                DistSpec::Default => Some(DEFAULT_MAX_RATE),
                _ => None,
            };
            if let Some(hi) = hi.filter(|h| *h >= limit) {
                let num = snn_syntax::diag::number;
                // the type the user wrote (`lif`, or a wrapper's base), not Nengo's `LIFRate`
                let ty = rate_type.kind.info().name();
                let d = if matches!(max_rates, DistSpec::Default) {
                    let s = args.span_of("tau_ref").unwrap_or(span);
                    Diagnostic::error(
                        codes::MAX_RATE,
                        format!(
                            "the default max_rates, uniform(200Hz, 400Hz), reach {} Hz, but a \
                             `{ty}` neuron with tau_ref = {} s cannot fire faster than 1/tau_ref \
                             = {} Hz",
                            num(hi),
                            num(tr),
                            num(limit)
                        ),
                        s,
                        "refractory period too long for the default max_rates",
                    )
                    .with_help(format!(
                        "give max_rates below {} Hz (e.g. `max_rates = uniform({}Hz, {}Hz)`), or \
                         lower tau_ref below {} s",
                        num(limit),
                        num(limit * 0.5),
                        num(limit * 0.9),
                        num(1.0 / DEFAULT_MAX_RATE)
                    ))
                } else {
                    let s = args.span_of("max_rates").unwrap_or(span);
                    Diagnostic::error(
                        codes::MAX_RATE,
                        format!(
                            "max_rates up to {} Hz, but a `{ty}` neuron cannot fire faster than \
                             1/tau_ref = {} Hz",
                            num(hi),
                            num(limit)
                        ),
                        s,
                        "too fast",
                    )
                    .with_help(format!("keep max_rates below {} Hz, or lower tau_ref", num(limit)))
                };
                self.diags.push(d);
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
            let x = snn_syntax::diag::number(x);
            self.diags.push(
                Diagnostic::error(codes::INTERCEPT, format!("intercepts must lie in [-1, 1), found {x}"), s, "out of range")
                    .with_help("an intercept is where a neuron starts firing along its encoder, in units of the radius"),
            );
        }
    }

    /// A number set by config as `kind.param`, if any.
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
}
