//! `RegularSpiking`: turns a rate type into a spiking one with regular inter-spike intervals by
//! integrating the base rate: `v += dt r; n = floor(v); out = n amplitude / dt; v -= n`.

use num_traits::Float;
use serde::{Deserialize, Serialize};

use super::{lit, NeuronType};

/// Nengo's `RegularSpiking(base_type, amplitude=1)`; rates and gain/bias are the base type's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegularSpiking {
    /// The rate type whose output is turned into spikes.
    pub base: Box<NeuronType>,
    /// Spike height is `amplitude / dt`.
    pub amplitude: f64,
}

impl RegularSpiking {
    /// Wraps `base` with amplitude 1.
    pub fn new(base: NeuronType) -> Self {
        Self { base: Box::new(base), amplitude: 1.0 }
    }

    /// Spikes from the base rates `rate` (not from currents).
    pub fn step<T: Float>(&self, dt: T, rate: &[T], out: &mut [T], voltage: &mut [T]) {
        let height = lit::<T>(self.amplitude) / dt;
        for ((o, &r), v) in out.iter_mut().zip(rate).zip(voltage.iter_mut()) {
            *v = *v + dt * r;
            let n_spikes = v.floor();
            *o = height * n_spikes;
            *v = *v - n_spikes;
        }
    }
}
