//! `StochasticSpiking`: turns a rate type into a spiking one by stochastic rounding of the
//! expected spike count `dt * r` in each step.

use num_traits::Float;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{lit, NeuronType};

/// Nengo's `StochasticSpiking(base_type, amplitude=1)`; rates and gain/bias are the base type's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StochasticSpiking {
    /// The rate type whose output is turned into spikes.
    pub base: Box<NeuronType>,
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

impl StochasticSpiking {
    /// Wraps `base` with amplitude 1.
    pub fn new(base: NeuronType) -> Self {
        Self { base: Box::new(base), amplitude: 1.0 }
    }

    /// `floor(dt |r|)` spikes plus one more with probability `frac(dt |r|)`; spikes carry the
    /// sign of `r` when the base type can be negative.
    pub fn step<T: Float, R: Rng + ?Sized>(
        &self,
        dt: T,
        rate: &[T],
        out: &mut [T],
        negative: bool,
        rng: &mut R,
    ) {
        let height = lit::<T>(self.amplitude) / dt;
        for (o, &r) in out.iter_mut().zip(rate) {
            let expected = if negative { dt * r.abs() } else { dt * r };
            let mut n_spikes = expected.trunc();
            let frac = expected - n_spikes;
            if lit::<T>(rng.gen::<f64>()) < frac {
                n_spikes = n_spikes + T::one();
            }
            *o = if negative { height * n_spikes * sign(r) } else { height * n_spikes };
        }
    }
}

/// NumPy's `sign`: -1, 0 or 1 (NaN stays NaN).
#[inline]
pub(crate) fn sign<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        x
    }
}
