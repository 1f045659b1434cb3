//! Fusion of elementwise chains: consecutive ops that each touch only element `i` of signals of
//! one length — resets, whole-signal copies and scaled increments, synapse filters, neuron
//! updates — run as one loop, each element going through the whole chain (input current, neuron
//! update, synapse) while it is in registers, instead of one pass over memory per op. Every op
//! after the first of a chain is marked [`Op::fuse`]; values are the same as unfused.
//!
//! [`Op::fuse`]: crate::ir::Op::fuse

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

/// Marks the ops that join the loop before them; returns how many. Synapse filters that would
/// run alone are first moved to the end of the step (their order kept), where filters of one
/// length then share a loop: a filter is an update, so nothing after it in a step reads its
/// output or writes its input, and moving it later changes nothing.
pub fn run(p: &mut Program) -> usize {
    sink_resets(p);
    let lens: Vec<Option<usize>> = p.ops.iter().map(|op| elementwise_len(p, op)).collect();
    let joins = |a: Option<usize>, b: Option<usize>| matches!((a, b), (Some(x), Some(y)) if x == y);
    let alone: Vec<bool> = (0..p.ops.len())
        .map(|k| {
            matches!(p.ops[k].kind, OpKind::Filter { .. })
                && lens[k].is_some()
                && !(k > 0 && joins(lens[k - 1], lens[k]))
                && !(k + 1 < lens.len() && joins(lens[k], lens[k + 1]))
        })
        .collect();
    if alone.iter().filter(|a| **a).count() > 1 {
        let ops = std::mem::take(&mut p.ops);
        let (moved, kept): (Vec<_>, Vec<_>) =
            ops.into_iter().zip(alone).partition(|(_, alone)| *alone);
        p.ops = kept.into_iter().chain(moved).map(|(op, _)| op).collect();
    }
    let lens: Vec<Option<usize>> = p.ops.iter().map(|op| elementwise_len(p, op)).collect();
    let mut fused = 0;
    for k in 1..p.ops.len() {
        let join = joins(lens[k - 1], lens[k]) && lens[k] != Some(0);
        if join && !p.ops[k].fuse {
            p.ops[k].fuse = true;
            fused += 1;
        }
    }
    fused
}

/// Moves each reset down to just before the first op that uses what it sets, next to the chain
/// that increments it (a reset is the first write of its signal in a step, so the ops it passes
/// neither read nor write that signal). Resets bound for one op keep their order; a reset nothing
/// after it uses stays where it is.
fn sink_resets(p: &mut Program) {
    let n = p.ops.len();
    // Walking backwards: the next op at or after each position that touches each signal.
    let mut next_use: Vec<Option<usize>> = vec![None; p.signals.len()];
    let mut target: Vec<Option<usize>> = vec![None; n];
    for k in (0..n).rev() {
        if let OpKind::Reset { dst, .. } = p.ops[k].kind {
            target[k] = next_use.get(dst.0 as usize).copied().flatten().filter(|&t| t > k + 1);
        }
        let a = p.ops[k].kind.access();
        for s in a.sets.iter().chain(&a.incs).chain(&a.reads).chain(&a.updates) {
            if let Some(u) = next_use.get_mut(s.0 as usize) {
                *u = Some(k);
            }
        }
    }
    let mut bound: Vec<Vec<crate::ir::Op>> = vec![Vec::new(); n];
    let mut kept = Vec::with_capacity(n);
    for (op, t) in std::mem::take(&mut p.ops).into_iter().zip(&target) {
        match t {
            Some(t) => bound[*t].push(op),
            None => kept.push(op),
        }
    }
    let mut kept = kept.into_iter();
    for (k, t) in target.iter().enumerate() {
        p.ops.append(&mut bound[k]);
        if t.is_none() {
            if let Some(op) = kept.next() {
                p.ops.push(op);
            }
        }
    }
}
