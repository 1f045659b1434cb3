//! `SpikingRectifiedLinear`: an integrate-and-fire unit whose rate is the rectified input; several
//! spikes per step are allowed and the fractional voltage carries over.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::lit;
use super::rectified_linear::relu;

/// Nengo's `SpikingRectifiedLinear(amplitude=1)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpikingRectifiedLinear {
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

impl Default for SpikingRectifiedLinear {
    fn default() -> Self {
        Self { amplitude: 1.0 }
    }
}

impl SpikingRectifiedLinear {
    /// Rate equivalent (RectifiedLinear with the same amplitude).
    #[inline]
    pub fn rate(&self, j: f64) -> f64 {
        self.amplitude * relu(j)
    }

    /// `v += max(J, 0) dt; n = floor(v); out = n amplitude / dt; v -= n`.
    pub fn step<T: Float>(&self, dt: T, j: &[T], out: &mut [T], voltage: &mut [T]) {
        let height = lit::<T>(self.amplitude) / dt;
        for ((o, &j), v) in out.iter_mut().zip(j).zip(voltage.iter_mut()) {
            let j = if j >= T::zero() || j.is_nan() { j } else { T::zero() };
            *v = *v + j * dt;
            let n_spikes = v.floor();
            *o = height * n_spikes;
            *v = *v - n_spikes;
        }
    }
}
