//! Neuron types: the constructor's name, its base rate type and its parameters.

use super::args::Args;
use crate::resolve::scope::NetCtx;
use crate::resolve::Elab;
use crate::spec::{Constraint, NeuronKind, NeuronSpec, ParamUnit, StateVar};
use crate::value::{Ctor, Unit, Value};
use snn_syntax::{codes, Diagnostic, Span};

impl Elab<'_> {
    /// The neuron-type constructor `v` must be, for declaring `what`.
    pub(super) fn neuron_ctor(&mut self, v: Value, span: Span, what: &str) -> Option<Ctor> {
        match v {
            Value::Ctor(c) if NeuronKind::from_name(&c.name).is_some() => Some(c),
            Value::Ctor(c) => {
                let names: Vec<&str> = NeuronKind::language_names().collect();
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

    /// Split a neuron constructor's arguments into the type's parameters and the rest. With
    /// `extra` non-empty (a population, not a wrapper's base) `initial_<state>` arguments are
    /// accepted too, for the caller's [`Elab::initial_states`].
    pub(super) fn neuron_from(
        &mut self,
        ctx: &mut NetCtx,
        c: &Ctor,
        extra: &[&str],
    ) -> Option<(NeuronSpec, Args)> {
        let kind = NeuronKind::from_name(&c.name)?;
        let info = kind.info();
        let mut allowed: Vec<String> = info.params.iter().map(|p| p.name.to_string()).collect();
        allowed.extend(extra.iter().map(|e| e.to_string()));
        if !extra.is_empty() {
            // Every `initial_…` argument is read by `initial_states`, which reports names that
            // are not state variables of the type.
            for a in &c.args {
                if let Some(n) = a.name.as_deref().filter(|n| n.starts_with(INITIAL)) {
                    allowed.push(n.to_string());
                }
            }
        }
        let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
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
        for p in info.params {
            let (pname, default, unit) = (p.name, p.default, p.unit);
            let given = args.take(pname).map(|a| (a.value, a.value_span));
            let given = given.or_else(|| ctx.config.get(info.name(), pname));
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
            if !p.constraint.admits(val) {
                let s = args.span_of(pname).unwrap_or(c.span);
                let (must, label) = match p.constraint {
                    Constraint::Positive => ("finite and positive", "not a finite positive number"),
                    Constraint::NonNegative => ("finite, zero or positive", "not finite and >= 0"),
                    Constraint::NonPositive => ("zero or negative", "positive"),
                    Constraint::Finite => ("finite", "not finite"),
                };
                self.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("`{pname}` must be {must}, found {}", snn_syntax::diag::number(val)),
                    s,
                    label,
                ));
                return None;
            }
            params.push(val);
        }
        let spec = NeuronSpec { kind, params, base, initial: Vec::new() };
        Some((spec, args))
    }

    /// Reads the `initial_<state>` arguments of a population of `n` neurons into
    /// `spec.initial` (Nengo's `initial_state`): each a constant, an array of `n` values or a
    /// distribution, for a state variable of the type (or of a wrapper's base type).
    pub(super) fn initial_states(
        &mut self,
        args: &mut Args,
        spec: &mut NeuronSpec,
        n: usize,
    ) -> Option<()> {
        let ty = spec.neuron_type();
        let vars: Vec<StateVar> =
            ty.state_vars().into_iter().filter(|v| *v != StateVar::RateOut).collect();
        let mut ok = true;
        for name in args.names_with_prefix(INITIAL) {
            let given = &name[INITIAL.len()..];
            let var = StateVar::from_name(given).filter(|v| vars.contains(v));
            let Some(a) = args.take(&name) else { continue };
            let Some(var) = var else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_ARGUMENT,
                    format!("`{}` has no state variable `{given}`", spec.kind.info().name()),
                    a.span,
                    "unknown state variable",
                );
                let known: Vec<String> = vars.iter().map(|v| format!("{INITIAL}{v}")).collect();
                d = d.with_help(
                    match snn_syntax::diag::did_you_mean(&name, known.iter().map(String::as_str)) {
                        Some(g) => format!("did you mean `{g}`?"),
                        None if known.is_empty() => "this neuron type has no state".to_string(),
                        None => format!("its initial states are: {}", known.join(", ")),
                    },
                );
                self.diags.push(d);
                ok = false;
                continue;
            };
            let unit = match var.unit() {
                ParamUnit::Time => Unit::Time,
                ParamUnit::One => Unit::One,
            };
            match self.dist_from(a.value, a.value_span, &name, &[n], unit) {
                Some(d) => spec.initial.push((var, d)),
                None => ok = false,
            }
        }
        ok.then_some(())
    }
}

/// The prefix of the arguments giving a state variable's initial value (`initial_voltage`).
const INITIAL: &str = "initial_";
