//! `LeakyReLU` (NengoDL): `out = amplitude * J` for `J >= 0`, `amplitude * negative_slope * J` below.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::lit;

/// NengoDL's `LeakyReLU(negative_slope=0.3, amplitude=1)`; gain/bias as RectifiedLinear.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeakyRelu {
    /// Slope for negative currents.
    pub negative_slope: f64,
    /// Scale on the output (combines with `negative_slope` below zero).
    pub amplitude: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        Self { negative_slope: 0.3, amplitude: 1.0 }
    }
}

/// `negative_slope * J` if `J < 0`, else `J`.
#[inline]
pub(crate) fn leaky<T: Float>(negative_slope: f64, j: T) -> T {
    if j < T::zero() {
        lit::<T>(negative_slope) * j
    } else {
        j
    }
}

impl LeakyRelu {
    /// Output for input current `j`.
    #[inline]
    pub fn rate<T: Float>(&self, j: T) -> T {
        lit::<T>(self.amplitude) * leaky(self.negative_slope, j)
    }

    /// Sets `out` from the currents `j`.
    pub fn step<T: Float>(&self, j: &[T], out: &mut [T]) {
        for (o, &j) in out.iter_mut().zip(j) {
            *o = self.rate(j);
        }
    }
}
