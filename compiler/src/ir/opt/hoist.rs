//! Hoisting of work constant over a run: a held input (one image shown for the whole run) makes
//! every product computed from it constant — the first layer's input current of a converted
//! network is computed once per presentation instead of every step (and so is a rate layer's
//! output from it, when its neurons keep no state). An op moves to
//! [`Program::once`] when it reads only constant signals and writes only signals that every
//! step are set afresh and then computed from constants (a signal that is only incremented
//! accumulates over steps and stays).

use super::uses;
use crate::ir::{OpKind, Program};

/// Moves the constant ops to `p.once`; returns how many.
pub fn run(p: &mut Program, held: &[bool]) -> usize {
    let u = uses(p);
    let n = p.signals.len();
    // Candidate ops: pure functions of what they read, recomputed each step.
    let pure = |k: &OpKind| match k {
        OpKind::Input { input, .. } => held.get(*input).copied().unwrap_or(false),
        OpKind::Reset { .. }
        | OpKind::Copy { .. }
        | OpKind::ElementwiseInc { .. }
        | OpKind::DotInc { .. }
        | OpKind::SparseDotInc { .. }
        | OpKind::ConvInc { .. }
        | OpKind::HostFn { .. } => true,
        // Rate neurons without state (ReLU, sigmoid, LIF rate, …) are functions of their input.
        OpKind::SimNeurons { neuron, states, .. } => {
            neuron.state_vars().is_empty() && states.is_empty()
        }
        OpKind::NodeFn { .. }
        | OpKind::Filter { .. }
        | OpKind::Scale { .. }
        | OpKind::Process { .. } => false,
    };
    // A signal is constant when nothing writes it, or when it is set each step (exactly one
    // set) and every writer is a pure op reading constants. Start from "all constant" and
    // remove until stable.
    let mut constant = vec![true; n];
    for (s, su) in u.iter().enumerate() {
        let written = su.writers().next().is_some();
        if written && (su.sets.len() != 1 || !su.updates.is_empty()) {
            constant[s] = false;
        }
        if su.writers().any(|w| !pure(&p.ops[w].kind)) {
            constant[s] = false;
        }
    }
    // Signals the hoisted ops already write stay constant (they are not written per step).
    let mut changed = true;
    while changed {
        changed = false;
        for s in 0..n {
            if !constant[s] {
                continue;
            }
            let tainted = u[s]
                .writers()
                .any(|w| p.ops[w].kind.access().reads.iter().any(|r| !constant[r.0 as usize]));
            if tainted {
                constant[s] = false;
                changed = true;
            }
        }
    }
    let hoistable = |k: &OpKind| {
        let a = k.access();
        pure(k)
            && a.reads.iter().all(|r| constant[r.0 as usize])
            && a.sets.iter().chain(&a.incs).all(|w| constant[w.0 as usize])
            && a.updates.is_empty()
    };
    let before = p.ops.len();
    let mut kept = Vec::with_capacity(before);
    for op in std::mem::take(&mut p.ops) {
        if hoistable(&op.kind) {
            p.once.push(op);
        } else {
            kept.push(op);
        }
    }
    p.ops = kept;
    before - p.ops.len()
}
