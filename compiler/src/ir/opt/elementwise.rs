//! Which ops are elementwise: each touches only element `i` of signals of one length (resets,
//! whole-signal copies and scaled increments, synapse filters, neuron updates, narrow encoder
//! products), so a backend may run several of them in one loop, element by element. `absorb`
//! uses it to place a synapse's decay where it can share its reader's loop; the JIT's fusion
//! plan (snn-jit `fuse`) groups consecutive ops of one length.

use crate::ir::{Op, OpKind, Program};
use snn_runtime::neurons::NeuronType;

/// The length of `op`'s loop when it is elementwise and fusable. A dense product of fewer than
/// 8 columns (an ensemble's encoders) counts: element `i` of its destination gains
/// `M[i, :] · x`, and `x` is in no signal of the loop's length (every op of a loop writes
/// signals of its length only), so no op of the loop writes it.
pub fn elementwise_len(p: &Program, op: &Op) -> Option<usize> {
    let size = |s: &crate::ir::SignalId| p.signals.get(s.0 as usize).map(|x| x.size);
    match &op.kind {
        OpKind::DotInc { mat, src, dst, src_sel, dst_sel: None } if !op.events => {
            let n = size(dst)?;
            let (ns, k) = (size(src)?, mat.ncols());
            let narrow = (1..8).contains(&k) && src_sel.as_ref().map_or(ns, Vec::len) == k;
            (narrow && (ns != n || n == 1) && mat.nrows() == n && src != dst).then_some(n)
        }
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
        OpKind::Scale { dst, .. } => size(dst),
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
