//! Neuron types: the constructor's name, its base rate type and its parameters.

use super::args::Args;
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::spec::{NeuronKind, NeuronSpec, ParamUnit};
use crate::value::{Ctor, Unit, Value};
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// The neuron-type constructor `v` must be, for declaring `what`.
    pub(super) fn neuron_ctor(&mut self, v: Value, span: Span, what: &str) -> Option<Ctor> {
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
    pub(super) fn neuron_from(
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
}
