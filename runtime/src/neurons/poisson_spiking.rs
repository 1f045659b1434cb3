//! `PoissonSpiking`: turns a rate type into a spiking one with Poisson spike counts of mean
//! `dt * r` in each step.

use num_traits::Float;
use rand::Rng;
use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};

use super::stochastic_spiking::sign;
use super::{lit, NeuronType};

/// Nengo's `PoissonSpiking(base_type, amplitude=1)`; rates and gain/bias are the base type's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoissonSpiking {
    /// The rate type whose output is turned into spikes.
    pub base: Box<NeuronType>,
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

/// One Poisson draw of mean `lambda` (0 for `lambda <= 0`, NaN for NaN).
fn poisson_count<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> f64 {
    if lambda.is_nan() {
        return f64::NAN;
    }
    match Poisson::new(lambda) {
        Ok(dist) => dist.sample(rng),
        Err(_) => 0.0,
    }
}

impl PoissonSpiking {
    /// Wraps `base` with amplitude 1.
    pub fn new(base: NeuronType) -> Self {
        Self { base: Box::new(base), amplitude: 1.0 }
    }

    /// `Poisson(dt |r|)` spikes, signed by `r` when the base type can be negative. The stream
    /// differs from NumPy's; the statistics are the same.
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
            let lambda = if negative { r.abs() * dt } else { r * dt };
            let n_spikes = lit::<T>(poisson_count(lambda.to_f64().unwrap_or(f64::NAN), rng));
            *o = if negative { height * n_spikes * sign(r) } else { height * n_spikes };
        }
    }
}
