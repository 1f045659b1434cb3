//! Per-neuron state vectors (voltage, refractory time, adaptation, ...) and their initial values.

use num_traits::Float;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{lit, StateVar};

/// The state of a population of neurons; vectors a type does not use stay empty.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronState<T = f64> {
    /// Membrane voltage (LIF, spiking ReLU, Izhikevich in mV, RegularSpiking's integrator).
    pub voltage: Vec<T>,
    /// Remaining refractory time in seconds (LIF types).
    pub refractory_time: Vec<T>,
    /// Adaptation current `n` (adaptive LIF types).
    pub adaptation: Vec<T>,
    /// Recovery variable `u` (Izhikevich).
    pub recovery: Vec<T>,
    /// The base type's rate, written each step by rates-to-spikes wrappers.
    pub rate_out: Vec<T>,
    /// Random source of the stochastic wrappers (Poisson, stochastic rounding).
    pub rng: ChaCha8Rng,
}

impl<T: Float> NeuronState<T> {
    /// A state with every vector empty and the RNG seeded with 0.
    pub fn empty() -> Self {
        Self {
            voltage: Vec::new(),
            refractory_time: Vec::new(),
            adaptation: Vec::new(),
            recovery: Vec::new(),
            rate_out: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    /// The vector of a state variable (empty if the type does not use it).
    pub fn get(&self, var: StateVar) -> &[T] {
        match var {
            StateVar::Voltage => &self.voltage,
            StateVar::RefractoryTime => &self.refractory_time,
            StateVar::Adaptation => &self.adaptation,
            StateVar::Recovery => &self.recovery,
            StateVar::RateOut => &self.rate_out,
        }
    }

    /// Mutable access to a state variable's vector.
    pub fn get_mut(&mut self, var: StateVar) -> &mut Vec<T> {
        match var {
            StateVar::Voltage => &mut self.voltage,
            StateVar::RefractoryTime => &mut self.refractory_time,
            StateVar::Adaptation => &mut self.adaptation,
            StateVar::Recovery => &mut self.recovery,
            StateVar::RateOut => &mut self.rate_out,
        }
    }

    /// Seeds the wrappers' RNG from `rng`.
    pub fn reseed<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        self.rng = ChaCha8Rng::seed_from_u64(rng.gen());
    }

    /// Converts every vector to another float type (e.g. to run an f64-built state in f32).
    pub fn cast<U: Float>(&self) -> NeuronState<U> {
        let conv = |v: &[T]| v.iter().map(|x| U::from(*x).unwrap_or_else(U::nan)).collect();
        NeuronState {
            voltage: conv(&self.voltage),
            refractory_time: conv(&self.refractory_time),
            adaptation: conv(&self.adaptation),
            recovery: conv(&self.recovery),
            rate_out: conv(&self.rate_out),
            rng: self.rng.clone(),
        }
    }
}

/// How to initialise one state variable (Nengo's `initial_state` entries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StateInit {
    /// The same value for every neuron.
    Constant(f64),
    /// Independent draws from `U(low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive).
        high: f64,
    },
    /// One value per neuron.
    Values(Vec<f64>),
}

impl StateInit {
    /// `n` initial values; random ones are drawn from `rng`.
    pub fn sample<T: Float, R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Vec<T> {
        match self {
            Self::Constant(c) => vec![lit(*c); n],
            Self::Uniform { low, high } => {
                (0..n).map(|_| lit(low + (high - low) * rng.gen::<f64>())).collect()
            }
            Self::Values(values) => values.iter().map(|v| lit(*v)).collect(),
        }
    }
}
