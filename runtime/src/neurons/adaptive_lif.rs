//! `AdaptiveLIF`: the spiking LIF driven by `J - n`, where the adaptation `n` jumps by about
//! `inc_n * amplitude / tau_n` at each spike and decays with time constant `tau_n`.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::lif::lif_update;
use super::{lit, LifRate};

/// Nengo's `AdaptiveLIF(tau_n=1, inc_n=0.01, tau_rc=0.02, tau_ref=0.002, min_voltage=0,
/// amplitude=1)`; rates and gain/bias are LIFRate's, as in Nengo.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveLif {
    /// Adaptation time constant (s).
    pub tau_n: f64,
    /// Adaptation increment per unit of output.
    pub inc_n: f64,
    /// Membrane RC time constant (s).
    pub tau_rc: f64,
    /// Absolute refractory period (s).
    pub tau_ref: f64,
    /// Floor for the voltage.
    pub min_voltage: f64,
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

impl Default for AdaptiveLif {
    fn default() -> Self {
        Self {
            tau_n: 1.0,
            inc_n: 0.01,
            tau_rc: 0.02,
            tau_ref: 0.002,
            min_voltage: 0.0,
            amplitude: 1.0,
        }
    }
}

impl AdaptiveLif {
    /// The LIFRate with the same membrane parameters.
    pub fn as_rate(&self) -> LifRate {
        LifRate { tau_rc: self.tau_rc, tau_ref: self.tau_ref, amplitude: self.amplitude }
    }

    /// LIF step on `J - n`, then `n += (dt / tau_n) (inc_n out - n)`.
    pub fn step<T: Float>(
        &self,
        dt: T,
        j: &[T],
        out: &mut [T],
        voltage: &mut [T],
        refractory_time: &mut [T],
        adaptation: &mut [T],
    ) {
        let (tau_rc, tau_ref, min_v) =
            (lit::<T>(self.tau_rc), lit::<T>(self.tau_ref), lit::<T>(self.min_voltage));
        let height = lit::<T>(self.amplitude) / dt;
        let (rate_n, inc_n) = (dt / lit::<T>(self.tau_n), lit::<T>(self.inc_n));
        let neurons = out.iter_mut().zip(j).zip(voltage.iter_mut()).zip(refractory_time.iter_mut());
        for ((((o, &j), v), rt), n) in neurons.zip(adaptation.iter_mut()) {
            let spiked = lif_update(dt, tau_rc, tau_ref, min_v, j - *n, v, rt);
            *o = if spiked { height } else { T::zero() };
            *n = *n + rate_n * (inc_n * *o - *n);
        }
    }
}
