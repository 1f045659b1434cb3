//! Neuron-state initialisation, one function for every backend.

use crate::neurons::{NeuronError, NeuronState, NeuronType, StateInit};
use num_traits::Float;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The initial state of `n` neurons of `neuron` in batch element `b`: drawn from a ChaCha8
/// stream seeded with `seed + b` (defaults, or `voltage` given explicitly, as
/// [`NeuronType::make_state_with`]).
pub fn init_state<T: Float>(
    neuron: &NeuronType,
    n: usize,
    seed: u64,
    b: usize,
    voltage: Option<&[f64]>,
) -> Result<NeuronState<T>, NeuronError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(b as u64));
    match voltage {
        Some(v) => {
            neuron.make_state_with(n, &mut rng, &[("voltage", StateInit::Values(v.to_vec()))])
        }
        None => Ok(neuron.make_state(n, &mut rng)),
    }
}
