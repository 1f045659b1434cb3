//! `RectifiedLinear`: the non-spiking rectified linear unit, `out = amplitude * max(J, 0)`.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{lit, PerNeuron};

/// Nengo's `RectifiedLinear(amplitude=1)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RectifiedLinear {
    /// Scale on the output.
    pub amplitude: f64,
}

impl Default for RectifiedLinear {
    fn default() -> Self {
        Self { amplitude: 1.0 }
    }
}

/// `max(J, 0)` with NumPy's `np.maximum(0.0, J)` treatment of NaN (propagated).
#[inline]
pub(crate) fn relu<T: Float>(j: T) -> T {
    if j > T::zero() || j.is_nan() {
        j
    } else {
        T::zero()
    }
}

impl RectifiedLinear {
    /// Output for input current `j`.
    #[inline]
    pub fn rate<T: Float>(&self, j: T) -> T {
        lit::<T>(self.amplitude) * relu(j)
    }

    /// Sets `out` from the currents `j`.
    pub fn step<T: Float>(&self, j: &[T], out: &mut [T]) {
        for (o, &j) in out.iter_mut().zip(j) {
            *o = self.rate(j);
        }
    }
}

/// Gain and bias of a line through `(intercept, 0)` and `(1, max_rate)`.
pub(crate) fn gain_bias(max_rates: &[f64], intercepts: &[f64]) -> PerNeuron {
    let gain: Vec<f64> =
        max_rates.iter().zip(intercepts).map(|(&mr, &ic)| mr / (1.0 - ic)).collect();
    let bias = intercepts.iter().zip(&gain).map(|(&ic, &g)| -ic * g).collect();
    (gain, bias)
}

/// The inverse of [`gain_bias`].
pub(crate) fn max_rates_intercepts(gain: &[f64], bias: &[f64]) -> PerNeuron {
    let intercepts: Vec<f64> = gain.iter().zip(bias).map(|(&g, &b)| -b / g).collect();
    let max_rates = gain.iter().zip(&intercepts).map(|(&g, &ic)| g * (1.0 - ic)).collect();
    (max_rates, intercepts)
}
