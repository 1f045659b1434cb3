//! Fusion of elementwise chains, the JIT's own plan: consecutive ops that each touch only
//! element `i` of signals of one length ([`elementwise_len`]) run as one loop, each element going
//! through the whole chain (input current, neuron update, synapse) while it is in registers,
//! instead of one pass over memory per op. [`schedule`] is the JIT's extra pass (it reorders ops
//! so that more of them are adjacent); [`plan`] says which op joins the loop before it. Values
//! are the same as unfused; the IR carries no mark of it.

use snn_compiler::ir::opt::elementwise_len;
use snn_compiler::ir::{OpKind, Program};

/// Which ops join the loop of the op before them (same elementwise length, not zero).
pub fn plan(p: &Program) -> Vec<bool> {
    let lens: Vec<Option<usize>> = p.ops.iter().map(|op| elementwise_len(p, op)).collect();
    (0..p.ops.len()).map(|k| k > 0 && joins(lens[k - 1], lens[k]) && lens[k] != Some(0)).collect()
}

fn joins(a: Option<usize>, b: Option<usize>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x == y)
}

/// Reorders ops so that more elementwise ops are adjacent, then returns how many join the loop
/// before them ([`plan`]). Resets sink next to the chains they start; synapse filters that
/// would run alone are moved to the end of the step (their order kept), where filters of one
/// length then share a loop: a filter is an update, so nothing after it in a step reads its
/// output or writes its input, and moving it later changes nothing.
pub fn schedule(p: &mut Program, _held: &[bool]) -> usize {
    sink_resets(p);
    let lens: Vec<Option<usize>> = p.ops.iter().map(|op| elementwise_len(p, op)).collect();
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
    plan(p).iter().filter(|&&j| j).count()
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
    let mut bound: Vec<Vec<snn_compiler::ir::Op>> = vec![Vec::new(); n];
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
