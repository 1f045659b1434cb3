//! Spike-driven propagation: a product (dense, sparse or convolution) whose source is a spiking
//! population's output — zero except where a neuron spiked — is marked [`Op::events`], and the
//! backends add only the columns / kernels of the neurons that spiked. About 7% of a converted
//! convnet's first-layer neurons spike in a step, so this is most of its work saved.
//!
//! [`Op::events`]: crate::ir::Op::events

use super::uses;
use crate::ir::{OpKind, Program};

/// Dense products with fewer terms (matrix entries) than this stay dense: a decoder of 100
/// neurons costs less than finding which of them spiked.
pub const MIN_TERMS: usize = 2048;

/// Marks the products of spiking sources; returns how many.
pub fn run(p: &mut Program) -> usize {
    let u = uses(p);
    let mut spiking = vec![false; p.signals.len()];
    for op in &p.ops {
        if let OpKind::SimNeurons { neuron, out, .. } = &op.kind {
            let su = &u[out.0 as usize];
            // Only the neurons write it (no other set or increment mixes in dense values).
            if neuron.is_spiking() && su.writers().count() == 1 {
                spiking[out.0 as usize] = true;
            }
        }
    }
    let mut marked = 0;
    for op in &mut p.ops {
        // Small products are cheaper dense than through the bookkeeping of events.
        let src = match &op.kind {
            OpKind::DotInc { src, mat, .. } if mat.len() >= MIN_TERMS => *src,
            OpKind::SparseDotInc { src, .. } => *src,
            OpKind::ConvInc { spec, src, .. } if !spec.transpose => *src,
            _ => continue,
        };
        if spiking[src.0 as usize] && !op.events {
            op.events = true;
            marked += 1;
        }
    }
    marked
}
