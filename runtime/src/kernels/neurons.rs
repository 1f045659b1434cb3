//! Neuron-state initialisation, one function for every backend.

use crate::neurons::{NeuronError, NeuronState, NeuronType, StateInit, StateVar};
use num_traits::Float;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The initial state of `n` neurons of `neuron` in batch element `b`: drawn from a ChaCha8
/// stream seeded with `seed + b` (Nengo's defaults, except the state variables `init` gives,
/// as [`NeuronType::make_state_with`]).
pub fn init_state<T: Float>(
    neuron: &NeuronType,
    n: usize,
    seed: u64,
    b: usize,
    init: &[(StateVar, StateInit)],
) -> Result<NeuronState<T>, NeuronError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(b as u64));
    neuron.make_state_with(n, &mut rng, init)
}
