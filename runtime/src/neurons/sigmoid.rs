//! `Sigmoid`: a non-spiking unit with `out = (1 / tau_ref) / (1 + exp(-J))`.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{check_max_rates, lit, NeuronError, PerNeuron};

/// Nengo's `Sigmoid(tau_ref=0.0025)`; the intercept is the inflection point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sigmoid {
    /// The output saturates at `1 / tau_ref`.
    pub tau_ref: f64,
}

impl Default for Sigmoid {
    fn default() -> Self {
        Self { tau_ref: 0.0025 }
    }
}

impl Sigmoid {
    /// Output for input current `j`.
    #[inline]
    pub fn rate<T: Float>(&self, j: T) -> T {
        (T::one() / lit::<T>(self.tau_ref)) / (T::one() + (-j).exp())
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
        let inv_tau_ref = 1.0 / self.tau_ref;
        check_max_rates("Sigmoid", max_rates, inv_tau_ref)?;
        let mut gain = Vec::with_capacity(max_rates.len());
        let mut bias = Vec::with_capacity(max_rates.len());
        for (&mr, &ic) in max_rates.iter().zip(intercepts) {
            let inverse = -(inv_tau_ref / mr - 1.0).ln();
            let g = inverse / (1.0 - ic);
            gain.push(g);
            bias.push(inverse - g);
        }
        Ok((gain, bias))
    }

    /// The inverse of [`Sigmoid::gain_bias`].
    pub fn max_rates_intercepts(&self, gain: &[f64], bias: &[f64]) -> PerNeuron {
        let mut max_rates = Vec::with_capacity(gain.len());
        let mut intercepts = Vec::with_capacity(gain.len());
        for (&g, &b) in gain.iter().zip(bias) {
            let inverse = g + b;
            intercepts.push(1.0 - inverse / g);
            max_rates.push((1.0 / self.tau_ref) / (1.0 + (-inverse).exp()));
        }
        (max_rates, intercepts)
    }
}
