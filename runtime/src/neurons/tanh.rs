//! `Tanh`: a non-spiking unit with `out = (1 / tau_ref) * tanh(J)` (negative outputs allowed).

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{check_max_rates, lit, NeuronError, PerNeuron};

/// Nengo's `Tanh(tau_ref=0.0025)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tanh {
    /// The output saturates at `±1 / tau_ref`.
    pub tau_ref: f64,
}

impl Default for Tanh {
    fn default() -> Self {
        Self { tau_ref: 0.0025 }
    }
}

impl Tanh {
    /// Output for input current `j`.
    #[inline]
    pub fn rate<T: Float>(&self, j: T) -> T {
        (T::one() / lit::<T>(self.tau_ref)) * j.tanh()
    }

    /// Sets `out` from the currents `j`.
    pub fn step<T: Float>(&self, j: &[T], out: &mut [T]) {
        for (o, &j) in out.iter_mut().zip(j) {
            *o = self.rate(j);
        }
    }

    /// Analytic gain and bias; every max rate must be below `1 / tau_ref`.
    pub fn gain_bias(
        &self,
        max_rates: &[f64],
        intercepts: &[f64],
    ) -> Result<PerNeuron, NeuronError> {
        check_max_rates("Tanh", max_rates, 1.0 / self.tau_ref)?;
        let mut gain = Vec::with_capacity(max_rates.len());
        let mut bias = Vec::with_capacity(max_rates.len());
        for (&mr, &ic) in max_rates.iter().zip(intercepts) {
            let inverse = (mr * self.tau_ref).atanh();
            let g = inverse / (1.0 - ic);
            gain.push(g);
            bias.push(-g * ic);
        }
        Ok((gain, bias))
    }

    /// The inverse of [`Tanh::gain_bias`].
    pub fn max_rates_intercepts(&self, gain: &[f64], bias: &[f64]) -> PerNeuron {
        let intercepts: Vec<f64> = gain.iter().zip(bias).map(|(&g, &b)| -b / g).collect();
        let max_rates =
            gain.iter().zip(bias).map(|(&g, &b)| (1.0 / self.tau_ref) * (g + b).tanh()).collect();
        (max_rates, intercepts)
    }
}
