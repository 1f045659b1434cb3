//! `AdaptiveLIFRate`: LIFRate driven by `J - n`, where the adaptation `n` relaxes toward
//! `inc_n * rate` with time constant `tau_n`.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{lit, LifRate};

/// Nengo's `AdaptiveLIFRate(tau_n=1, inc_n=0.01, tau_rc=0.02, tau_ref=0.002, amplitude=1)`;
/// rates and gain/bias are LIFRate's (adaptation ignored), as in Nengo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveLifRate {
    /// Adaptation time constant (s).
    pub tau_n: f64,
    /// Adaptation increment per unit of output.
    pub inc_n: f64,
    /// Membrane RC time constant (s).
    pub tau_rc: f64,
    /// Absolute refractory period (s).
    pub tau_ref: f64,
    /// Scale on the output.
    pub amplitude: f64,
}

impl Default for AdaptiveLifRate {
    fn default() -> Self {
        Self { tau_n: 1.0, inc_n: 0.01, tau_rc: 0.02, tau_ref: 0.002, amplitude: 1.0 }
    }
}

impl AdaptiveLifRate {
    /// The LIFRate with the same membrane parameters.
    pub fn as_rate(&self) -> LifRate {
        LifRate { tau_rc: self.tau_rc, tau_ref: self.tau_ref, amplitude: self.amplitude }
    }

    /// `out = LIFRate(J - n)`, then `n += (dt / tau_n) (inc_n out - n)`.
    pub fn step<T: Float>(&self, dt: T, j: &[T], out: &mut [T], adaptation: &mut [T]) {
        let lif = self.as_rate();
        let (rate_n, inc_n) = (dt / lit::<T>(self.tau_n), lit::<T>(self.inc_n));
        for ((o, &j), n) in out.iter_mut().zip(j).zip(adaptation.iter_mut()) {
            *o = lif.rate(j - *n);
            *n = *n + rate_n * (inc_n * *o - *n);
        }
    }
}
