//! `LIFRate`: the firing rate of a leaky integrate-and-fire neuron driven by a constant current,
//! `out = amplitude / (tau_ref + tau_rc * ln(1 + 1 / (J - 1)))` above threshold `J = 1`.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{check_max_rates, lit, NeuronError, PerNeuron};

/// Nengo's `LIFRate(tau_rc=0.02, tau_ref=0.002, amplitude=1)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifRate {
    /// Membrane RC time constant (s).
    pub tau_rc: f64,
    /// Absolute refractory period (s).
    pub tau_ref: f64,
    /// Scale on the output.
    pub amplitude: f64,
}

impl Default for LifRate {
    fn default() -> Self {
        Self { tau_rc: 0.02, tau_ref: 0.002, amplitude: 1.0 }
    }
}

impl LifRate {
    /// Output for input current `j` (0 at or below threshold).
    #[inline]
    pub fn rate<T: Float>(&self, j: T) -> T {
        let j = j - T::one();
        if j > T::zero() {
            lit::<T>(self.amplitude)
                / (lit::<T>(self.tau_ref) + lit::<T>(self.tau_rc) * (T::one() / j).ln_1p())
        } else {
            T::zero()
        }
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
        self.gain_bias_as("LIFRate", max_rates, intercepts)
    }

    pub(crate) fn gain_bias_as(
        &self,
        neuron: &'static str,
        max_rates: &[f64],
        intercepts: &[f64],
    ) -> Result<PerNeuron, NeuronError> {
        let inv_tau_ref = if self.tau_ref > 0.0 { 1.0 / self.tau_ref } else { f64::INFINITY };
        check_max_rates(neuron, max_rates, inv_tau_ref)?;
        let mut gain = Vec::with_capacity(max_rates.len());
        let mut bias = Vec::with_capacity(max_rates.len());
        for (&mr, &ic) in max_rates.iter().zip(intercepts) {
            let x = 1.0 / (1.0 - ((self.tau_ref - 1.0 / mr) / self.tau_rc).exp());
            let g = (1.0 - x) / (ic - 1.0);
            gain.push(g);
            bias.push(1.0 - g * ic);
        }
        Ok((gain, bias))
    }

    /// The inverse of [`LifRate::gain_bias`] (non-finite max rates mean the gain was too small).
    pub fn max_rates_intercepts(&self, gain: &[f64], bias: &[f64]) -> PerNeuron {
        let mut max_rates = Vec::with_capacity(gain.len());
        let mut intercepts = Vec::with_capacity(gain.len());
        for (&g, &b) in gain.iter().zip(bias) {
            let ic = (1.0 - b) / g;
            intercepts.push(ic);
            max_rates
                .push(1.0 / (self.tau_ref - self.tau_rc * (1.0 / (g * (ic - 1.0) - 1.0)).ln_1p()));
        }
        (max_rates, intercepts)
    }
}
