//! Dead-op elimination: an op is live when something it writes is probed or read by a live op
//! (found as a fixed point, so recurrent loops that reach a probe stay); the rest are removed.

use super::uses;
use crate::ir::Program;

/// Removes the ops nothing observes; returns how many.
pub fn run(p: &mut Program) -> usize {
    let u = uses(p);
    let mut live_sig = vec![false; p.signals.len()];
    for pr in &p.probes {
        if let Some(l) = live_sig.get_mut(pr.signal.0 as usize) {
            *l = true;
        }
    }
    // Signals the hoisted ops read stay live.
    for op in &p.once {
        for s in op.kind.access().reads {
            if let Some(l) = live_sig.get_mut(s.0 as usize) {
                *l = true;
            }
        }
    }
    let mut live_op = vec![false; p.ops.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (s, su) in u.iter().enumerate() {
            if !live_sig[s] {
                continue;
            }
            for w in su.writers() {
                if !live_op[w] {
                    live_op[w] = true;
                    changed = true;
                    for r in p.ops[w].kind.access().reads {
                        if let Some(l) = live_sig.get_mut(r.0 as usize) {
                            *l = true;
                        }
                    }
                }
            }
        }
    }
    let before = p.ops.len();
    let mut i = 0;
    p.ops.retain(|_| {
        i += 1;
        live_op[i - 1]
    });
    before - p.ops.len()
}
