//! `SpikingLeakyReLU` (NengoDL): integrate-and-fire version of LeakyReLU; negative currents give
//! negative spikes (the voltage is truncated toward zero).

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::leaky_relu::leaky;
use super::lit;

/// NengoDL's `SpikingLeakyReLU(negative_slope=0.3, amplitude=1)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikingLeakyRelu {
    /// Slope for negative currents.
    pub negative_slope: f64,
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

impl Default for SpikingLeakyRelu {
    fn default() -> Self {
        Self { negative_slope: 0.3, amplitude: 1.0 }
    }
}

impl SpikingLeakyRelu {
    /// Rate equivalent (LeakyReLU with the same parameters).
    #[inline]
    pub fn rate(&self, j: f64) -> f64 {
        self.amplitude * leaky(self.negative_slope, j)
    }

    /// `v += leaky(J) dt; n = trunc(v); out = n amplitude / dt; v -= n`.
    pub fn step<T: Float>(&self, dt: T, j: &[T], out: &mut [T], voltage: &mut [T]) {
        let height = lit::<T>(self.amplitude) / dt;
        for ((o, &j), v) in out.iter_mut().zip(j).zip(voltage.iter_mut()) {
            *v = *v + leaky(self.negative_slope, j) * dt;
            let n_spikes = v.trunc();
            *o = height * n_spikes;
            *v = *v - n_spikes;
        }
    }
}
