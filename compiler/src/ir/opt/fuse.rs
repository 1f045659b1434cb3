//! Fusion of elementwise chains: consecutive ops that each touch only element `i` of signals of
//! one length — resets, whole-signal copies and scaled increments, synapse filters, neuron
//! updates — run as one loop, each element going through the whole chain (input current, neuron
//! update, synapse) while it is in registers, instead of one pass over memory per op. Every op
//! after the first of a chain is marked [`Op::fuse`]; values are the same as unfused.
//!
//! [`Op::fuse`]: crate::ir::Op::fuse

use crate::ir::{OpKind, Program};
use snn_runtime::neurons::NeuronType;

/// The length of `kind`'s loop when it is elementwise and fusable.
pub fn elementwise_len(p: &Program, kind: &OpKind) -> Option<usize> {
    let size = |s: &crate::ir::SignalId| p.signals.get(s.0 as usize).map(|x| x.size);
    match kind {
        OpKind::Reset { dst, value } => {
            let n = size(dst)?;
            (value.len() == 1 || value.len() == n).then_some(n)
        }
        OpKind::Copy { src, dst, src_sel: None, dst_sel: None, .. } => {
            let n = size(dst)?;
            (src != dst && size(src)? == n).then_some(n)
        }
        OpKind::ElementwiseInc { scale, src, dst, src_sel: None, dst_sel: None } => {
            let n = size(dst)?;
            (src != dst && size(src)? == n && (scale.len() == 1 || scale.len() == n)).then_some(n)
        }
        OpKind::Filter { src, dst, .. } => {
            let n = size(dst)?;
            (src != dst && size(src)? == n).then_some(n)
        }
        OpKind::SimNeurons { neuron, j, out, .. } => {
            let n = size(out)?;
            let stochastic =
                matches!(neuron, NeuronType::StochasticSpiking(_) | NeuronType::PoissonSpiking(_));
            (!stochastic && j != out && size(j)? == n).then_some(n)
        }
        _ => None,
    }
}

/// Marks the ops that join the loop before them; returns how many.
pub fn run(p: &mut Program) -> usize {
    let lens: Vec<Option<usize>> = p.ops.iter().map(|op| elementwise_len(p, &op.kind)).collect();
    let mut fused = 0;
    for k in 1..p.ops.len() {
        let join = matches!((lens[k - 1], lens[k]), (Some(a), Some(b)) if a == b && a > 0);
        if join && !p.ops[k].fuse {
            p.ops[k].fuse = true;
            fused += 1;
        }
    }
    fused
}
