//! The one table of neuron types: names (in the language and in Nengo), parameters (name, unit,
//! default, constraint) and state variables (which, their Nengo default initialisation).
//!
//! Everything that needs to know about neuron types reads it: the compiler's resolver (the
//! constructors it accepts and their arguments), the lowering (one state signal per
//! [`NeuronInfo::states`] entry), [`NeuronType::make_state`] (the defaults), the interpreter and
//! the JIT (state variables by [`StateVar`], never by string). A new neuron type is one entry
//! here, one [`NeuronType`] variant with its file in `neurons/`, and its generated kernel in the
//! JIT's `neurons.rs`.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{
    AdaptiveLif, AdaptiveLifRate, Izhikevich, LeakyRelu, Lif, LifRate, NeuronType, PoissonSpiking,
    RectifiedLinear, RegularSpiking, Sigmoid, SpikingLeakyRelu, SpikingRectifiedLinear, StateInit,
    StochasticSpiking, Tanh,
};

/// A state variable of a neuron population (one value per neuron).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StateVar {
    /// Membrane voltage (LIF, spiking ReLU, Izhikevich in mV, RegularSpiking's integrator).
    Voltage,
    /// Remaining refractory time in seconds (LIF types).
    RefractoryTime,
    /// Adaptation current `n` (adaptive LIF types).
    Adaptation,
    /// Recovery variable `u` (Izhikevich).
    Recovery,
    /// The base type's rate, written each step by rates-to-spikes wrappers.
    RateOut,
}

impl StateVar {
    /// Every state variable, in [`StateVar::index`] order.
    pub const ALL: [StateVar; 5] = [
        StateVar::Voltage,
        StateVar::RefractoryTime,
        StateVar::Adaptation,
        StateVar::Recovery,
        StateVar::RateOut,
    ];

    /// The Nengo name (`"voltage"`, `"refractory_time"`, ...), also the language's.
    pub const fn name(self) -> &'static str {
        match self {
            StateVar::Voltage => "voltage",
            StateVar::RefractoryTime => "refractory_time",
            StateVar::Adaptation => "adaptation",
            StateVar::Recovery => "recovery",
            StateVar::RateOut => "rate_out",
        }
    }

    /// The variable of a Nengo name, `None` for any other string.
    pub fn from_name(name: &str) -> Option<StateVar> {
        StateVar::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Position in [`StateVar::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The unit of the variable's values (refractory time is a time, the others plain numbers).
    pub const fn unit(self) -> ParamUnit {
        match self {
            StateVar::RefractoryTime => ParamUnit::Time,
            _ => ParamUnit::One,
        }
    }
}

impl fmt::Display for StateVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The unit a parameter (or state variable) expects in the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamUnit {
    /// A plain number.
    One,
    /// A time (seconds; `20ms` in the language).
    Time,
}

/// The range Nengo accepts for a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// `> 0` and finite.
    Positive,
    /// `>= 0` and finite.
    NonNegative,
    /// `<= 0`.
    NonPositive,
    /// Any finite number.
    Finite,
}

impl Constraint {
    /// Whether `x` is accepted (NaN never is).
    pub fn admits(self, x: f64) -> bool {
        match self {
            // an infinite rate, time constant or amplitude makes every output inf or NaN
            Constraint::Positive => x > 0.0 && x.is_finite(),
            Constraint::NonNegative => x >= 0.0 && x.is_finite(),
            Constraint::NonPositive => x <= 0.0,
            Constraint::Finite => x.is_finite(),
        }
    }

    /// What the value must be, e.g. `"must be > 0"`.
    pub const fn reason(self) -> &'static str {
        match self {
            Constraint::Positive => "must be finite and > 0",
            Constraint::NonNegative => "must be finite and >= 0",
            Constraint::NonPositive => "must be <= 0",
            Constraint::Finite => "must be finite",
        }
    }
}

/// A parameter of a neuron type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    /// Name, as in Nengo and the language.
    pub name: &'static str,
    /// The unit it is written in.
    pub unit: ParamUnit,
    /// Nengo's default (SI units).
    pub default: f64,
    /// The range Nengo accepts.
    pub constraint: Constraint,
}

/// Nengo's default initialisation of a state variable (its class's `state` dict).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StateDefault {
    /// `Uniform(low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// `Choice([value])`: the same value for every neuron.
    Constant(f64),
}

impl StateDefault {
    /// The same initialisation as a [`StateInit`].
    pub fn init(self) -> StateInit {
        match self {
            StateDefault::Uniform { low, high } => StateInit::Uniform { low, high },
            StateDefault::Constant(c) => StateInit::Constant(c),
        }
    }
}

/// A state variable of a neuron type with its default initialisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StateInfo {
    /// Which variable.
    pub var: StateVar,
    /// How Nengo initialises it when `initial_state` does not say.
    pub default: StateDefault,
}

/// The neuron types, one per [`NeuronType`] variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NeuronKind {
    /// `nengo.RectifiedLinear`.
    Relu,
    /// `nengo.SpikingRectifiedLinear`.
    SpikingRelu,
    /// `nengo.LIF`.
    Lif,
    /// `nengo.LIFRate`.
    LifRate,
    /// `nengo.Sigmoid`.
    Sigmoid,
    /// `nengo.Tanh`.
    Tanh,
    /// `nengo_dl.LeakyReLU`.
    LeakyRelu,
    /// `nengo.AdaptiveLIF`.
    AdaptiveLif,
    /// `nengo.AdaptiveLIFRate`.
    AdaptiveLifRate,
    /// `nengo.Izhikevich`.
    Izhikevich,
    /// `nengo.RegularSpiking(base)`.
    RegularSpiking,
    /// `nengo.PoissonSpiking(base)`.
    PoissonSpiking,
    /// `nengo_dl.SpikingLeakyReLU` (not named in the language).
    SpikingLeakyRelu,
    /// `nengo.StochasticSpiking(base)` (not named in the language).
    StochasticSpiking,
}

/// Static facts about a neuron type.
#[derive(Clone, Copy, Debug)]
pub struct NeuronInfo {
    /// The kind.
    pub kind: NeuronKind,
    /// The constructor's name in the language (`None`: the language does not name the type).
    pub lang: Option<&'static str>,
    /// The Nengo class name (`"LIF"`), used in messages.
    pub nengo: &'static str,
    /// Parameters in order, with their defaults (a wrapper's base type is not one).
    pub params: &'static [Param],
    /// Emits spikes.
    pub spiking: bool,
    /// The type's own state variables in Nengo's order (a wrapper's base type's and its
    /// `rate_out` are not listed): the ones the lowering exposes as probeable signals.
    pub states: &'static [StateInfo],
    /// Takes a base rate type as first argument (a rates-to-spikes wrapper).
    pub wraps_base: bool,
}

impl NeuronInfo {
    /// The name in the language (the Nengo class name for a type the language does not name).
    pub const fn name(&self) -> &'static str {
        match self.lang {
            Some(n) => n,
            None => self.nengo,
        }
    }
}

use Constraint::{Finite, NonNegative, NonPositive, Positive};
use ParamUnit::{One, Time};

const fn p(name: &'static str, unit: ParamUnit, default: f64, constraint: Constraint) -> Param {
    Param { name, unit, default, constraint }
}

const VOLTAGE: StateInfo =
    StateInfo { var: StateVar::Voltage, default: StateDefault::Uniform { low: 0.0, high: 1.0 } };
const REFRACTORY: StateInfo =
    StateInfo { var: StateVar::RefractoryTime, default: StateDefault::Constant(0.0) };
const ADAPTATION: StateInfo =
    StateInfo { var: StateVar::Adaptation, default: StateDefault::Constant(0.0) };
const RECOVERY: StateInfo =
    StateInfo { var: StateVar::Recovery, default: StateDefault::Constant(0.0) };

const AMPLITUDE: Param = p("amplitude", One, 1.0, Positive);
const TAU_RC: Param = p("tau_rc", Time, 0.02, Positive);
const TAU_REF: Param = p("tau_ref", Time, 0.002, NonNegative);
const MIN_VOLTAGE: Param = p("min_voltage", One, 0.0, NonPositive);
const TAU_N: Param = p("tau_n", Time, 1.0, Positive);
const INC_N: Param = p("inc_n", One, 0.01, NonNegative);
const NEGATIVE_SLOPE: Param = p("negative_slope", One, 0.3, Finite);
const SIGMOID_TAU_REF: Param = p("tau_ref", Time, 0.0025, Positive);

const RELU: NeuronInfo = NeuronInfo {
    kind: NeuronKind::Relu,
    lang: Some("relu"),
    nengo: "RectifiedLinear",
    params: &[AMPLITUDE],
    spiking: false,
    states: &[],
    wraps_base: false,
};
const SPIKING_RELU: NeuronInfo = NeuronInfo {
    kind: NeuronKind::SpikingRelu,
    lang: Some("spiking_relu"),
    nengo: "SpikingRectifiedLinear",
    params: &[AMPLITUDE],
    spiking: true,
    states: &[VOLTAGE],
    wraps_base: false,
};
const LIF: NeuronInfo = NeuronInfo {
    kind: NeuronKind::Lif,
    lang: Some("lif"),
    nengo: "LIF",
    params: &[TAU_RC, TAU_REF, MIN_VOLTAGE, AMPLITUDE],
    spiking: true,
    states: &[VOLTAGE, REFRACTORY],
    wraps_base: false,
};
const LIF_RATE: NeuronInfo = NeuronInfo {
    kind: NeuronKind::LifRate,
    lang: Some("lif_rate"),
    nengo: "LIFRate",
    params: &[TAU_RC, TAU_REF, AMPLITUDE],
    spiking: false,
    states: &[],
    wraps_base: false,
};
const SIGMOID: NeuronInfo = NeuronInfo {
    kind: NeuronKind::Sigmoid,
    lang: Some("sigmoid"),
    nengo: "Sigmoid",
    params: &[SIGMOID_TAU_REF],
    spiking: false,
    states: &[],
    wraps_base: false,
};
const TANH: NeuronInfo = NeuronInfo {
    kind: NeuronKind::Tanh,
    lang: Some("tanh"),
    nengo: "Tanh",
    params: &[SIGMOID_TAU_REF],
    spiking: false,
    states: &[],
    wraps_base: false,
};
const LEAKY_RELU: NeuronInfo = NeuronInfo {
    kind: NeuronKind::LeakyRelu,
    lang: Some("leaky_relu"),
    nengo: "LeakyReLU",
    params: &[NEGATIVE_SLOPE, AMPLITUDE],
    spiking: false,
    states: &[],
    wraps_base: false,
};
const ADAPTIVE_LIF: NeuronInfo = NeuronInfo {
    kind: NeuronKind::AdaptiveLif,
    lang: Some("adaptive_lif"),
    nengo: "AdaptiveLIF",
    params: &[TAU_N, INC_N, TAU_RC, TAU_REF, MIN_VOLTAGE, AMPLITUDE],
    spiking: true,
    states: &[VOLTAGE, REFRACTORY, ADAPTATION],
    wraps_base: false,
};
const ADAPTIVE_LIF_RATE: NeuronInfo = NeuronInfo {
    kind: NeuronKind::AdaptiveLifRate,
    lang: Some("adaptive_lif_rate"),
    nengo: "AdaptiveLIFRate",
    params: &[TAU_N, INC_N, TAU_RC, TAU_REF, AMPLITUDE],
    spiking: false,
    states: &[ADAPTATION],
    wraps_base: false,
};
const IZHIKEVICH: NeuronInfo = NeuronInfo {
    kind: NeuronKind::Izhikevich,
    lang: Some("izhikevich"),
    nengo: "Izhikevich",
    params: &[
        p("tau_recovery", One, 0.02, Positive),
        p("coupling", One, 0.2, NonNegative),
        p("reset_voltage", One, -65.0, Finite),
        p("reset_recovery", One, 8.0, Finite),
    ],
    spiking: true,
    states: &[VOLTAGE, RECOVERY],
    wraps_base: false,
};
const REGULAR_SPIKING: NeuronInfo = NeuronInfo {
    kind: NeuronKind::RegularSpiking,
    lang: Some("regular_spiking"),
    nengo: "RegularSpiking",
    params: &[AMPLITUDE],
    spiking: true,
    states: &[VOLTAGE],
    wraps_base: true,
};
const POISSON_SPIKING: NeuronInfo = NeuronInfo {
    kind: NeuronKind::PoissonSpiking,
    lang: Some("poisson_spiking"),
    nengo: "PoissonSpiking",
    params: &[AMPLITUDE],
    spiking: true,
    states: &[],
    wraps_base: true,
};
const SPIKING_LEAKY_RELU: NeuronInfo = NeuronInfo {
    kind: NeuronKind::SpikingLeakyRelu,
    lang: None,
    nengo: "SpikingLeakyReLU",
    params: &[NEGATIVE_SLOPE, AMPLITUDE],
    spiking: true,
    states: &[VOLTAGE],
    wraps_base: false,
};
const STOCHASTIC_SPIKING: NeuronInfo = NeuronInfo {
    kind: NeuronKind::StochasticSpiking,
    lang: None,
    nengo: "StochasticSpiking",
    params: &[AMPLITUDE],
    spiking: true,
    states: &[],
    wraps_base: true,
};

/// Every neuron type, those the language names first (in the order its messages list them).
pub const NEURON_TYPES: &[NeuronInfo] = &[
    RELU,
    SPIKING_RELU,
    LIF,
    LIF_RATE,
    SIGMOID,
    TANH,
    LEAKY_RELU,
    ADAPTIVE_LIF,
    ADAPTIVE_LIF_RATE,
    IZHIKEVICH,
    REGULAR_SPIKING,
    POISSON_SPIKING,
    SPIKING_LEAKY_RELU,
    STOCHASTIC_SPIKING,
];

impl NeuronKind {
    /// The table entry of this type.
    pub const fn info(self) -> &'static NeuronInfo {
        match self {
            NeuronKind::Relu => &RELU,
            NeuronKind::SpikingRelu => &SPIKING_RELU,
            NeuronKind::Lif => &LIF,
            NeuronKind::LifRate => &LIF_RATE,
            NeuronKind::Sigmoid => &SIGMOID,
            NeuronKind::Tanh => &TANH,
            NeuronKind::LeakyRelu => &LEAKY_RELU,
            NeuronKind::AdaptiveLif => &ADAPTIVE_LIF,
            NeuronKind::AdaptiveLifRate => &ADAPTIVE_LIF_RATE,
            NeuronKind::Izhikevich => &IZHIKEVICH,
            NeuronKind::RegularSpiking => &REGULAR_SPIKING,
            NeuronKind::PoissonSpiking => &POISSON_SPIKING,
            NeuronKind::SpikingLeakyRelu => &SPIKING_LEAKY_RELU,
            NeuronKind::StochasticSpiking => &STOCHASTIC_SPIKING,
        }
    }

    /// The type a constructor name of the language denotes.
    pub fn from_name(name: &str) -> Option<NeuronKind> {
        NEURON_TYPES.iter().find(|i| i.lang == Some(name)).map(|i| i.kind)
    }

    /// The constructor names of the language, in table order.
    pub fn language_names() -> impl Iterator<Item = &'static str> {
        NEURON_TYPES.iter().filter_map(|i| i.lang)
    }

    /// The runtime type with parameters `params` (in [`NeuronInfo::params`] order; missing
    /// trailing ones take their defaults) and, for wrappers, `base` (LIF if `None`).
    pub fn build(self, params: &[f64], base: Option<NeuronType>) -> NeuronType {
        let info = self.info();
        let v = |i: usize| params.get(i).copied().unwrap_or(info.params[i].default);
        let base = || Box::new(base.clone().unwrap_or_default());
        match self {
            NeuronKind::Relu => RectifiedLinear { amplitude: v(0) }.into(),
            NeuronKind::SpikingRelu => SpikingRectifiedLinear { amplitude: v(0) }.into(),
            NeuronKind::Lif => {
                Lif { tau_rc: v(0), tau_ref: v(1), min_voltage: v(2), amplitude: v(3) }.into()
            }
            NeuronKind::LifRate => LifRate { tau_rc: v(0), tau_ref: v(1), amplitude: v(2) }.into(),
            NeuronKind::Sigmoid => Sigmoid { tau_ref: v(0) }.into(),
            NeuronKind::Tanh => Tanh { tau_ref: v(0) }.into(),
            NeuronKind::LeakyRelu => LeakyRelu { negative_slope: v(0), amplitude: v(1) }.into(),
            NeuronKind::AdaptiveLif => AdaptiveLif {
                tau_n: v(0),
                inc_n: v(1),
                tau_rc: v(2),
                tau_ref: v(3),
                min_voltage: v(4),
                amplitude: v(5),
            }
            .into(),
            NeuronKind::AdaptiveLifRate => AdaptiveLifRate {
                tau_n: v(0),
                inc_n: v(1),
                tau_rc: v(2),
                tau_ref: v(3),
                amplitude: v(4),
            }
            .into(),
            NeuronKind::Izhikevich => Izhikevich {
                tau_recovery: v(0),
                coupling: v(1),
                reset_voltage: v(2),
                reset_recovery: v(3),
            }
            .into(),
            NeuronKind::RegularSpiking => RegularSpiking { base: base(), amplitude: v(0) }.into(),
            NeuronKind::PoissonSpiking => PoissonSpiking { base: base(), amplitude: v(0) }.into(),
            NeuronKind::SpikingLeakyRelu => {
                SpikingLeakyRelu { negative_slope: v(0), amplitude: v(1) }.into()
            }
            NeuronKind::StochasticSpiking => {
                StochasticSpiking { base: base(), amplitude: v(0) }.into()
            }
        }
    }
}

impl NeuronType {
    /// Which type this is.
    pub fn kind(&self) -> NeuronKind {
        match self {
            Self::RectifiedLinear(_) => NeuronKind::Relu,
            Self::SpikingRectifiedLinear(_) => NeuronKind::SpikingRelu,
            Self::LeakyRelu(_) => NeuronKind::LeakyRelu,
            Self::SpikingLeakyRelu(_) => NeuronKind::SpikingLeakyRelu,
            Self::Sigmoid(_) => NeuronKind::Sigmoid,
            Self::Tanh(_) => NeuronKind::Tanh,
            Self::LifRate(_) => NeuronKind::LifRate,
            Self::Lif(_) => NeuronKind::Lif,
            Self::AdaptiveLifRate(_) => NeuronKind::AdaptiveLifRate,
            Self::AdaptiveLif(_) => NeuronKind::AdaptiveLif,
            Self::Izhikevich(_) => NeuronKind::Izhikevich,
            Self::RegularSpiking(_) => NeuronKind::RegularSpiking,
            Self::StochasticSpiking(_) => NeuronKind::StochasticSpiking,
            Self::PoissonSpiking(_) => NeuronKind::PoissonSpiking,
        }
    }

    /// The table entry of this type.
    pub fn info(&self) -> &'static NeuronInfo {
        self.kind().info()
    }

    /// The parameter values in [`NeuronInfo::params`] order (the inverse of
    /// [`NeuronKind::build`]).
    pub fn param_values(&self) -> Vec<f64> {
        match self {
            Self::RectifiedLinear(n) => vec![n.amplitude],
            Self::SpikingRectifiedLinear(n) => vec![n.amplitude],
            Self::LeakyRelu(n) => vec![n.negative_slope, n.amplitude],
            Self::SpikingLeakyRelu(n) => vec![n.negative_slope, n.amplitude],
            Self::Sigmoid(n) => vec![n.tau_ref],
            Self::Tanh(n) => vec![n.tau_ref],
            Self::LifRate(n) => vec![n.tau_rc, n.tau_ref, n.amplitude],
            Self::Lif(n) => vec![n.tau_rc, n.tau_ref, n.min_voltage, n.amplitude],
            Self::AdaptiveLifRate(n) => vec![n.tau_n, n.inc_n, n.tau_rc, n.tau_ref, n.amplitude],
            Self::AdaptiveLif(n) => {
                vec![n.tau_n, n.inc_n, n.tau_rc, n.tau_ref, n.min_voltage, n.amplitude]
            }
            Self::Izhikevich(n) => {
                vec![n.tau_recovery, n.coupling, n.reset_voltage, n.reset_recovery]
            }
            Self::RegularSpiking(n) => vec![n.amplitude],
            Self::StochasticSpiking(n) => vec![n.amplitude],
            Self::PoissonSpiking(n) => vec![n.amplitude],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_table_agree() {
        for (i, info) in NEURON_TYPES.iter().enumerate() {
            assert_eq!(info.kind.info().nengo, info.nengo, "entry {i}");
            let ty = info.kind.build(&[], Some(NeuronType::RectifiedLinear(Default::default())));
            assert_eq!(ty.kind(), info.kind);
            assert_eq!(ty.name(), info.nengo);
            assert_eq!(ty.is_spiking(), info.spiking, "{}", info.nengo);
            assert_eq!(ty.base().is_some(), info.wraps_base, "{}", info.nengo);
            let defaults: Vec<f64> = info.params.iter().map(|p| p.default).collect();
            assert_eq!(ty.param_values(), defaults, "{}", info.nengo);
            assert!(ty.validate().is_ok(), "{}: defaults valid", info.nengo);
            // Distinct values round-trip through build / param_values.
            let vals: Vec<f64> = (0..info.params.len()).map(|k| 0.5 + k as f64).collect();
            assert_eq!(info.kind.build(&vals, None).param_values(), vals, "{}", info.nengo);
        }
        assert_eq!(NEURON_TYPES.len(), 14);
    }

    #[test]
    fn runtime_defaults_match_table() {
        let structs: Vec<NeuronType> = vec![
            RectifiedLinear::default().into(),
            SpikingRectifiedLinear::default().into(),
            LeakyRelu::default().into(),
            SpikingLeakyRelu::default().into(),
            Sigmoid::default().into(),
            Tanh::default().into(),
            LifRate::default().into(),
            Lif::default().into(),
            AdaptiveLifRate::default().into(),
            AdaptiveLif::default().into(),
            Izhikevich::default().into(),
        ];
        for ty in structs {
            let defaults: Vec<f64> = ty.info().params.iter().map(|p| p.default).collect();
            assert_eq!(ty.param_values(), defaults, "{}", ty.name());
        }
    }

    #[test]
    fn state_names_round_trip() {
        for v in StateVar::ALL {
            assert_eq!(StateVar::from_name(v.name()), Some(v));
            assert_eq!(StateVar::ALL[v.index()], v);
        }
        assert_eq!(StateVar::from_name("volts"), None);
    }

    #[test]
    fn constraints() {
        assert!(Positive.admits(1.0) && !Positive.admits(0.0) && !Positive.admits(f64::NAN));
        assert!(NonNegative.admits(0.0) && !NonNegative.admits(-1e-9));
        assert!(NonPositive.admits(0.0) && !NonPositive.admits(0.1));
        assert!(Finite.admits(-3.0) && !Finite.admits(f64::INFINITY));
    }
}
