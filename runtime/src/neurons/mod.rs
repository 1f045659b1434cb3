//! Neuron types of Nengo 3.2 (plus NengoDL's `LeakyReLU`): the [`NeuronType`] enum, state and errors.
//!
//! Each type lives in its own file with its step kernel and its gain/bias maths. The enum
//! dispatches to them. Step kernels are generic over `f32`/`f64` ([`num_traits::Float`]); the
//! build-time maths (`gain_bias`, `rates`, `max_rates_intercepts`) is `f64` only.
//!
//! Conventions shared with Nengo:
//! - `step` reads the input current `j` and *sets* `out` (spikes have height `amplitude / dt`);
//! - rate types ignore `dt` except where Nengo uses it (adaptation);
//! - rates-to-spikes wrappers ([`RegularSpiking`], [`StochasticSpiking`], [`PoissonSpiking`])
//!   first run their base type into the `rate_out` buffer, then turn that rate into spikes,
//!   exactly as Nengo's two `SimNeurons` operators do.
//!
//! Float32 is a faster mode with a looser contract. Measured against the f64 Nengo fixtures
//! (tests/neurons.rs): rate types agree within `1e-5` relative (+`1e-4` absolute); LIF and
//! Izhikevich spike counts agree within one spike per neuron over 200 steps.

use serde::{Deserialize, Serialize};
mod adaptive_lif;
mod adaptive_lif_rate;
mod derivative;
mod generic;
mod izhikevich;
mod leaky_relu;
mod lif;
mod lif_rate;
mod poisson_spiking;
mod rectified_linear;
mod regular_spiking;
mod sigmoid;
mod spiking_leaky_relu;
mod spiking_rectified_linear;
mod state;
mod stochastic_spiking;
mod table;
mod tanh;

pub use adaptive_lif::AdaptiveLif;
pub use adaptive_lif_rate::AdaptiveLifRate;
pub use generic::{gain_bias_numeric, interp, linspace, max_rates_intercepts_numeric};
pub use izhikevich::Izhikevich;
pub use leaky_relu::LeakyRelu;
pub use lif::Lif;
pub use lif_rate::LifRate;
pub use poisson_spiking::PoissonSpiking;
pub use rectified_linear::RectifiedLinear;
pub use regular_spiking::RegularSpiking;
pub use sigmoid::Sigmoid;
pub use spiking_leaky_relu::SpikingLeakyRelu;
pub use spiking_rectified_linear::SpikingRectifiedLinear;
pub use state::{NeuronState, StateInit};
pub use stochastic_spiking::StochasticSpiking;
pub use table::{
    Constraint, NeuronInfo, NeuronKind, Param, ParamUnit, StateDefault, StateInfo, StateVar,
    NEURON_TYPES,
};
pub use tanh::Tanh;

use ndarray::{Array2, ArrayView2};
use num_traits::Float;
use rand::Rng;

/// Converts an `f64` parameter to the kernel's float type (NaN if it does not fit).
#[inline]
pub(crate) fn lit<T: Float>(x: f64) -> T {
    T::from(x).unwrap_or_else(T::nan)
}

/// Gains and biases (or max rates and intercepts), one entry per neuron.
pub type PerNeuron = (Vec<f64>, Vec<f64>);

/// What can go wrong when configuring or building neurons.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum NeuronError {
    /// A max rate at or above `1 / tau_ref` (the most a neuron with that refractory period can fire).
    #[error("{neuron}: max_rates must be below the inverse refractory period ({limit:.3} Hz); got {max_rate} Hz")]
    MaxRateTooHigh {
        /// Nengo name of the neuron type.
        neuron: &'static str,
        /// The offending max rate.
        max_rate: f64,
        /// `1 / tau_ref`.
        limit: f64,
    },
    /// The numeric gain/bias search found no current where the neuron is silent.
    #[error("{neuron}: could not find firing threshold")]
    ThresholdNotFound {
        /// Nengo name of the neuron type.
        neuron: &'static str,
    },
    /// The numeric gain/bias search found no current reaching the requested max rate.
    #[error("{neuron}: could not find max current (max rate {max_rate} Hz is never reached)")]
    MaxCurrentNotFound {
        /// Nengo name of the neuron type.
        neuron: &'static str,
        /// The largest requested max rate.
        max_rate: f64,
    },
    /// A parameter outside the range Nengo accepts.
    #[error("{neuron}: parameter `{name}` = {value} {reason}")]
    InvalidParameter {
        /// Nengo name of the neuron type.
        neuron: &'static str,
        /// Parameter name as in Nengo.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What it should be, e.g. "must be > 0".
        reason: &'static str,
    },
    /// Two per-neuron arrays that must have the same length do not.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        /// Which array.
        what: String,
        /// The length required.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An initial state for a variable the type does not have.
    #[error("{neuron} has no state variable `{name}` (it has: {available})")]
    UnknownState {
        /// Nengo name of the neuron type.
        neuron: &'static str,
        /// The unknown name.
        name: String,
        /// The type's state variables, comma separated.
        available: String,
    },
    /// A rates-to-spikes wrapper whose base type uses the same state variable.
    #[error("{neuron} and its base type {base} have an overlapping state variable `{name}`")]
    OverlappingState {
        /// The wrapper's Nengo name.
        neuron: &'static str,
        /// The base type's Nengo name.
        base: &'static str,
        /// The shared variable.
        name: &'static str,
    },
    /// A rates-to-spikes wrapper around another wrapper.
    #[error("the base type of {neuron} must not itself be a rates-to-spikes type ({base})")]
    NestedWrapper {
        /// The outer wrapper's Nengo name.
        neuron: &'static str,
        /// The inner wrapper's Nengo name.
        base: &'static str,
    },
}

pub(crate) fn check_len(what: &str, expected: usize, got: usize) -> Result<(), NeuronError> {
    if expected == got {
        Ok(())
    } else {
        Err(NeuronError::LengthMismatch { what: what.to_string(), expected, got })
    }
}

/// Fails unless every max rate is strictly below `limit` (`1 / tau_ref`), as Nengo checks.
pub(crate) fn check_max_rates(
    neuron: &'static str,
    max_rates: &[f64],
    limit: f64,
) -> Result<(), NeuronError> {
    // `!(r < limit)` also rejects NaN, like NumPy's `np.all(max_rates < limit)`.
    match max_rates.iter().find(|&&r| r.partial_cmp(&limit) != Some(std::cmp::Ordering::Less)) {
        Some(&max_rate) => Err(NeuronError::MaxRateTooHigh { neuron, max_rate, limit }),
        None => Ok(()),
    }
}

/// A neuron type with its parameters; what an ensemble or neuron layer simulates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NeuronType {
    /// `nengo.RectifiedLinear`.
    RectifiedLinear(RectifiedLinear),
    /// `nengo.SpikingRectifiedLinear`.
    SpikingRectifiedLinear(SpikingRectifiedLinear),
    /// `nengo_dl.LeakyReLU`.
    LeakyRelu(LeakyRelu),
    /// `nengo_dl.SpikingLeakyReLU`.
    SpikingLeakyRelu(SpikingLeakyRelu),
    /// `nengo.Sigmoid`.
    Sigmoid(Sigmoid),
    /// `nengo.Tanh`.
    Tanh(Tanh),
    /// `nengo.LIFRate`.
    LifRate(LifRate),
    /// `nengo.LIF`.
    Lif(Lif),
    /// `nengo.AdaptiveLIFRate`.
    AdaptiveLifRate(AdaptiveLifRate),
    /// `nengo.AdaptiveLIF`.
    AdaptiveLif(AdaptiveLif),
    /// `nengo.Izhikevich`.
    Izhikevich(Izhikevich),
    /// `nengo.RegularSpiking(base)`.
    RegularSpiking(RegularSpiking),
    /// `nengo.StochasticSpiking(base)`.
    StochasticSpiking(StochasticSpiking),
    /// `nengo.PoissonSpiking(base)`.
    PoissonSpiking(PoissonSpiking),
}

impl Default for NeuronType {
    /// `LIF()`, Nengo's default for ensembles.
    fn default() -> Self {
        Self::Lif(Lif::default())
    }
}

impl NeuronType {
    /// The Nengo class name (`"LIF"`, `"RectifiedLinear"`, ...), used in messages.
    pub fn name(&self) -> &'static str {
        self.info().nengo
    }

    /// Whether the output is a spike train (Nengo's `NeuronType.spiking`).
    pub fn is_spiking(&self) -> bool {
        self.info().spiking
    }

    /// Whether outputs can be negative (Nengo's `NeuronType.negative`); wrappers inherit their base's.
    pub fn is_negative(&self) -> bool {
        match self {
            Self::Tanh(_) => true,
            Self::RegularSpiking(n) => n.base.is_negative(),
            Self::StochasticSpiking(n) => n.base.is_negative(),
            Self::PoissonSpiking(n) => n.base.is_negative(),
            _ => false,
        }
    }

    /// The output scale (`amplitude`), `None` for types without one (Sigmoid, Tanh, Izhikevich).
    pub fn amplitude(&self) -> Option<f64> {
        match self {
            Self::RectifiedLinear(n) => Some(n.amplitude),
            Self::SpikingRectifiedLinear(n) => Some(n.amplitude),
            Self::LeakyRelu(n) => Some(n.amplitude),
            Self::SpikingLeakyRelu(n) => Some(n.amplitude),
            Self::LifRate(n) => Some(n.amplitude),
            Self::Lif(n) => Some(n.amplitude),
            Self::AdaptiveLifRate(n) => Some(n.amplitude),
            Self::AdaptiveLif(n) => Some(n.amplitude),
            Self::RegularSpiking(n) => Some(n.amplitude),
            Self::StochasticSpiking(n) => Some(n.amplitude),
            Self::PoissonSpiking(n) => Some(n.amplitude),
            Self::Sigmoid(_) | Self::Tanh(_) | Self::Izhikevich(_) => None,
        }
    }

    /// A copy with another `amplitude` (what NengoDL's `scale_firing_rates` changes); `None`
    /// for types without one.
    pub fn with_amplitude(&self, amplitude: f64) -> Option<Self> {
        let mut copy = self.clone();
        match &mut copy {
            Self::RectifiedLinear(n) => n.amplitude = amplitude,
            Self::SpikingRectifiedLinear(n) => n.amplitude = amplitude,
            Self::LeakyRelu(n) => n.amplitude = amplitude,
            Self::SpikingLeakyRelu(n) => n.amplitude = amplitude,
            Self::LifRate(n) => n.amplitude = amplitude,
            Self::Lif(n) => n.amplitude = amplitude,
            Self::AdaptiveLifRate(n) => n.amplitude = amplitude,
            Self::AdaptiveLif(n) => n.amplitude = amplitude,
            Self::RegularSpiking(n) => n.amplitude = amplitude,
            Self::StochasticSpiking(n) => n.amplitude = amplitude,
            Self::PoissonSpiking(n) => n.amplitude = amplitude,
            Self::Sigmoid(_) | Self::Tanh(_) | Self::Izhikevich(_) => return None,
        }
        Some(copy)
    }

    /// The base rate type of a rates-to-spikes wrapper, `None` for other types.
    pub fn base(&self) -> Option<&NeuronType> {
        match self {
            Self::RegularSpiking(n) => Some(&n.base),
            Self::StochasticSpiking(n) => Some(&n.base),
            Self::PoissonSpiking(n) => Some(&n.base),
            _ => None,
        }
    }

    /// The type's own state variables (without those of a wrapper's base), with their defaults.
    fn own_states(&self) -> &'static [StateInfo] {
        self.info().states
    }

    /// State variables besides `output`, in Nengo's order: for wrappers `rate_out`, then the
    /// wrapper's state, then the base type's state.
    pub fn state_vars(&self) -> Vec<StateVar> {
        self.state_infos().iter().map(|s| s.var).collect()
    }

    /// [`NeuronType::state_vars`] with their default initialisations (`rate_out`: 0).
    pub fn state_infos(&self) -> Vec<StateInfo> {
        let mut states = Vec::new();
        if let Some(base) = self.base() {
            states.push(StateInfo { var: StateVar::RateOut, default: StateDefault::Constant(0.0) });
            states.extend_from_slice(self.own_states());
            states.extend_from_slice(base.own_states());
        } else {
            states.extend_from_slice(self.own_states());
        }
        states
    }

    /// The names of [`NeuronType::state_vars`] (Nengo's `probeable` minus `output`).
    pub fn state_names(&self) -> Vec<&'static str> {
        self.state_vars().into_iter().map(StateVar::name).collect()
    }

    /// Checks parameters against the ranges Nengo accepts (the table's constraints), and
    /// wrapper/base compatibility.
    pub fn validate(&self) -> Result<(), NeuronError> {
        let info = self.info();
        for (p, value) in info.params.iter().zip(self.param_values()) {
            if !p.constraint.admits(value) {
                return Err(NeuronError::InvalidParameter {
                    neuron: info.nengo,
                    name: p.name,
                    value,
                    reason: p.constraint.reason(),
                });
            }
        }
        match self.base() {
            Some(base) => self.validate_base(base),
            None => Ok(()),
        }
    }

    fn validate_base(&self, base: &NeuronType) -> Result<(), NeuronError> {
        if base.base().is_some() {
            return Err(NeuronError::NestedWrapper { neuron: self.name(), base: base.name() });
        }
        for s in self.own_states() {
            if base.own_states().iter().any(|b| b.var == s.var) {
                return Err(NeuronError::OverlappingState {
                    neuron: self.name(),
                    base: base.name(),
                    name: s.var.name(),
                });
            }
        }
        base.validate()
    }

    /// Default initial state for `n` neurons (the table's defaults, Nengo's: `voltage ~ U(0, 1)`
    /// where the type has a voltage, everything else 0); the stochastic wrappers' RNG is seeded
    /// from `rng`.
    pub fn make_state<T: Float, R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> NeuronState<T> {
        let mut state = NeuronState::empty();
        for s in self.state_infos() {
            *state.get_mut(s.var) = s.default.init().sample(n, rng);
        }
        state.reseed(rng);
        state
    }

    /// Initial state for `n` neurons with some variables given explicitly (Nengo's
    /// `initial_state`); the others take their defaults as in [`NeuronType::make_state`].
    /// Variables are initialised in Nengo's order, each drawing from `rng` only if random.
    pub fn make_state_with<T: Float, R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
        inits: &[(StateVar, StateInit)],
    ) -> Result<NeuronState<T>, NeuronError> {
        let states = self.state_infos();
        for (var, init) in inits {
            if !states.iter().any(|s| s.var == *var) {
                let names = self.state_names();
                return Err(NeuronError::UnknownState {
                    neuron: self.name(),
                    name: var.name().to_string(),
                    available: if names.is_empty() { "none".to_string() } else { names.join(", ") },
                });
            }
            if let StateInit::Values(values) = init {
                check_len(&format!("initial `{var}`"), n, values.len())?;
            }
        }
        let mut state = NeuronState::empty();
        for s in states {
            let given = inits.iter().find(|(var, _)| *var == s.var).map(|(_, init)| init.clone());
            let init = given.unwrap_or_else(|| s.default.init());
            *state.get_mut(s.var) = init.sample(n, rng);
        }
        state.reseed(rng);
        Ok(state)
    }

    /// Advances all neurons one step of `dt` seconds: reads the input current `j`, sets `out`
    /// and updates `state` (made by [`NeuronType::make_state`] for `j.len()` neurons).
    pub fn step<T: Float>(&self, dt: T, j: &[T], out: &mut [T], state: &mut NeuronState<T>) {
        match self {
            Self::RectifiedLinear(n) => n.step(j, out),
            Self::SpikingRectifiedLinear(n) => n.step(dt, j, out, &mut state.voltage),
            Self::LeakyRelu(n) => n.step(j, out),
            Self::SpikingLeakyRelu(n) => n.step(dt, j, out, &mut state.voltage),
            Self::Sigmoid(n) => n.step(j, out),
            Self::Tanh(n) => n.step(j, out),
            Self::LifRate(n) => n.step(j, out),
            Self::Lif(n) => n.step(dt, j, out, &mut state.voltage, &mut state.refractory_time),
            Self::AdaptiveLifRate(n) => n.step(dt, j, out, &mut state.adaptation),
            Self::AdaptiveLif(n) => n.step(
                dt,
                j,
                out,
                &mut state.voltage,
                &mut state.refractory_time,
                &mut state.adaptation,
            ),
            Self::Izhikevich(n) => n.step(dt, j, out, &mut state.voltage, &mut state.recovery),
            Self::RegularSpiking(n) => {
                let rate = Self::base_step(&n.base, dt, j, state);
                n.step(dt, &rate, out, &mut state.voltage);
                state.rate_out = rate;
            }
            Self::StochasticSpiking(n) => {
                let rate = Self::base_step(&n.base, dt, j, state);
                n.step(dt, &rate, out, n.base.is_negative(), &mut state.rng);
                state.rate_out = rate;
            }
            Self::PoissonSpiking(n) => {
                let rate = Self::base_step(&n.base, dt, j, state);
                n.step(dt, &rate, out, n.base.is_negative(), &mut state.rng);
                state.rate_out = rate;
            }
        }
    }

    /// Runs a wrapper's base type into the `rate_out` buffer, which is taken out of `state`.
    fn base_step<T: Float>(
        base: &NeuronType,
        dt: T,
        j: &[T],
        state: &mut NeuronState<T>,
    ) -> Vec<T> {
        let mut rate = std::mem::take(&mut state.rate_out);
        rate.resize(j.len(), T::zero());
        base.step(dt, j, &mut rate, state);
        rate
    }

    /// Gains and biases giving each neuron its max rate (at x = 1) and intercept, as Nengo's
    /// `gain_bias` (numeric search for Izhikevich; wrappers use their base type).
    pub fn gain_bias(
        &self,
        max_rates: &[f64],
        intercepts: &[f64],
    ) -> Result<PerNeuron, NeuronError> {
        check_len("intercepts", max_rates.len(), intercepts.len())?;
        match self {
            Self::RectifiedLinear(_)
            | Self::SpikingRectifiedLinear(_)
            | Self::LeakyRelu(_)
            | Self::SpikingLeakyRelu(_) => Ok(rectified_linear::gain_bias(max_rates, intercepts)),
            Self::Sigmoid(n) => n.gain_bias(max_rates, intercepts),
            Self::Tanh(n) => n.gain_bias(max_rates, intercepts),
            Self::LifRate(n) => n.gain_bias(max_rates, intercepts),
            Self::Lif(n) => n.as_rate().gain_bias(max_rates, intercepts),
            Self::AdaptiveLifRate(n) => n.as_rate().gain_bias(max_rates, intercepts),
            Self::AdaptiveLif(n) => n.as_rate().gain_bias(max_rates, intercepts),
            Self::Izhikevich(n) => {
                gain_bias_numeric(self.name(), |j| n.rate(j), max_rates, intercepts)
            }
            Self::RegularSpiking(n) => n.base.gain_bias(max_rates, intercepts),
            Self::StochasticSpiking(n) => n.base.gain_bias(max_rates, intercepts),
            Self::PoissonSpiking(n) => n.base.gain_bias(max_rates, intercepts),
        }
    }

    /// The inverse of [`NeuronType::gain_bias`]: max rates and intercepts of given gains and biases.
    pub fn max_rates_intercepts(
        &self,
        gain: &[f64],
        bias: &[f64],
    ) -> Result<PerNeuron, NeuronError> {
        check_len("bias", gain.len(), bias.len())?;
        Ok(match self {
            Self::RectifiedLinear(_)
            | Self::SpikingRectifiedLinear(_)
            | Self::LeakyRelu(_)
            | Self::SpikingLeakyRelu(_) => rectified_linear::max_rates_intercepts(gain, bias),
            Self::Sigmoid(n) => n.max_rates_intercepts(gain, bias),
            Self::Tanh(n) => n.max_rates_intercepts(gain, bias),
            Self::LifRate(n) => n.max_rates_intercepts(gain, bias),
            Self::Lif(n) => n.as_rate().max_rates_intercepts(gain, bias),
            Self::AdaptiveLifRate(n) => n.as_rate().max_rates_intercepts(gain, bias),
            Self::AdaptiveLif(n) => n.as_rate().max_rates_intercepts(gain, bias),
            Self::Izhikevich(n) => max_rates_intercepts_numeric(|j| n.rate(j), gain, bias),
            Self::RegularSpiking(n) => return n.base.max_rates_intercepts(gain, bias),
            Self::StochasticSpiking(n) => return n.base.max_rates_intercepts(gain, bias),
            Self::PoissonSpiking(n) => return n.base.max_rates_intercepts(gain, bias),
        })
    }

    /// Steady-state rate (Hz) for a constant input current `j`: what Nengo's `rates` computes
    /// per element (the rate equivalent for spiking types, e.g. LIFRate for LIF).
    pub fn rate(&self, j: f64) -> f64 {
        match self {
            Self::RectifiedLinear(n) => n.rate(j),
            Self::SpikingRectifiedLinear(n) => n.rate(j),
            Self::LeakyRelu(n) => n.rate(j),
            Self::SpikingLeakyRelu(n) => n.rate(j),
            Self::Sigmoid(n) => n.rate(j),
            Self::Tanh(n) => n.rate(j),
            Self::LifRate(n) => n.rate(j),
            Self::Lif(n) => n.as_rate().rate(j),
            Self::AdaptiveLifRate(n) => n.as_rate().rate(j),
            Self::AdaptiveLif(n) => n.as_rate().rate(j),
            Self::Izhikevich(n) => n.rate(j),
            Self::RegularSpiking(n) => n.base.rate(j),
            Self::StochasticSpiking(n) => n.base.rate(j),
            Self::PoissonSpiking(n) => n.base.rate(j),
        }
    }

    /// Rates for inputs `x` of shape `(n_samples, n_neurons)` (or `(n_samples, 1)`, broadcast to
    /// all neurons), already projected on the encoders: `rate(gain * x + bias)`, as Nengo's
    /// `rates` (what the decoder solver uses).
    pub fn rates(
        &self,
        x: ArrayView2<f64>,
        gain: &[f64],
        bias: &[f64],
    ) -> Result<Array2<f64>, NeuronError> {
        let j = current(x, gain, bias)?;
        Ok(j.mapv(|j| self.rate(j)))
    }
}

/// Input currents `gain * x + bias` for `x` of shape `(n_samples, n_neurons)` or `(n_samples, 1)`.
pub fn current(x: ArrayView2<f64>, gain: &[f64], bias: &[f64]) -> Result<Array2<f64>, NeuronError> {
    check_len("bias", gain.len(), bias.len())?;
    let n = gain.len();
    let (n_samples, cols) = x.dim();
    if cols != n && cols != 1 {
        return Err(NeuronError::LengthMismatch {
            what: "columns of x".to_string(),
            expected: n,
            got: cols,
        });
    }
    Ok(Array2::from_shape_fn((n_samples, n), |(s, i)| {
        let xv = if cols == 1 { x[(s, 0)] } else { x[(s, i)] };
        gain[i] * xv + bias[i]
    }))
}

impl From<RectifiedLinear> for NeuronType {
    fn from(n: RectifiedLinear) -> Self {
        Self::RectifiedLinear(n)
    }
}
impl From<SpikingRectifiedLinear> for NeuronType {
    fn from(n: SpikingRectifiedLinear) -> Self {
        Self::SpikingRectifiedLinear(n)
    }
}
impl From<LeakyRelu> for NeuronType {
    fn from(n: LeakyRelu) -> Self {
        Self::LeakyRelu(n)
    }
}
impl From<SpikingLeakyRelu> for NeuronType {
    fn from(n: SpikingLeakyRelu) -> Self {
        Self::SpikingLeakyRelu(n)
    }
}
impl From<Sigmoid> for NeuronType {
    fn from(n: Sigmoid) -> Self {
        Self::Sigmoid(n)
    }
}
impl From<Tanh> for NeuronType {
    fn from(n: Tanh) -> Self {
        Self::Tanh(n)
    }
}
impl From<LifRate> for NeuronType {
    fn from(n: LifRate) -> Self {
        Self::LifRate(n)
    }
}
impl From<Lif> for NeuronType {
    fn from(n: Lif) -> Self {
        Self::Lif(n)
    }
}
impl From<AdaptiveLifRate> for NeuronType {
    fn from(n: AdaptiveLifRate) -> Self {
        Self::AdaptiveLifRate(n)
    }
}
impl From<AdaptiveLif> for NeuronType {
    fn from(n: AdaptiveLif) -> Self {
        Self::AdaptiveLif(n)
    }
}
impl From<Izhikevich> for NeuronType {
    fn from(n: Izhikevich) -> Self {
        Self::Izhikevich(n)
    }
}
impl From<RegularSpiking> for NeuronType {
    fn from(n: RegularSpiking) -> Self {
        Self::RegularSpiking(n)
    }
}
impl From<StochasticSpiking> for NeuronType {
    fn from(n: StochasticSpiking) -> Self {
        Self::StochasticSpiking(n)
    }
}
impl From<PoissonSpiking> for NeuronType {
    fn from(n: PoissonSpiking) -> Self {
        Self::PoissonSpiking(n)
    }
}
