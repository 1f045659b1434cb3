//! Copy forwarding (the merging of Nengo's optimiser, for this IR): a temporary that is reset to
//! zero, incremented by exactly one whole-signal op and read only by one whole-signal `+=` copy is
//! removed — the increment goes straight to the copy's destination, in the copy's place. `b = 0;
//! b += f(a); c += b` becomes `c += f(a)`: the same sum, added to `c` in the same order.

use super::uses;
use crate::ir::{OpKind, Program, SignalId};

/// Forwards such temporaries; returns how many copies were removed.
pub fn run(p: &mut Program) -> usize {
    let mut removed = 0;
    while let Some((reset, inc, copy, dst)) = candidate(p) {
        // The increment takes the copy's place, so it adds to `dst` in the same order as before.
        let mut op = p.ops[inc].clone();
        set_inc_dst(&mut op.kind, dst);
        p.ops[copy] = op;
        let mut drop = [reset, inc];
        drop.sort_unstable();
        p.ops.remove(drop[1]);
        p.ops.remove(drop[0]);
        removed += 1;
    }
    removed
}

/// One forwardable temporary: its reset, its increment, the one copy reading it, and the copy's
/// destination.
fn candidate(p: &Program) -> Option<(usize, usize, usize, SignalId)> {
    let u = uses(p);
    let probed = |s: usize| p.probes.iter().any(|pr| pr.signal.0 as usize == s);
    let once_reads =
        |s: usize| p.once.iter().any(|op| op.kind.access().reads.iter().any(|r| r.0 as usize == s));
    for (s, su) in u.iter().enumerate() {
        if su.sets.len() != 1 || su.incs.len() != 1 || su.reads.len() != 1 || !su.updates.is_empty()
        {
            continue;
        }
        if probed(s) || once_reads(s) || !p.signals[s].init.iter().all(|v| *v == 0.0) {
            continue;
        }
        let (reset, inc, copy) = (su.sets[0], su.incs[0], su.reads[0]);
        let OpKind::Reset { value, .. } = &p.ops[reset].kind else { continue };
        if !value.iter().all(|v| *v == 0.0) {
            continue;
        }
        let OpKind::Copy { dst, src_sel: None, dst_sel: None, inc: true, .. } = &p.ops[copy].kind
        else {
            continue;
        };
        let dst = *dst;
        if dst.0 as usize == s || p.signals[dst.0 as usize].size != p.signals[s].size {
            continue;
        }
        // The increment must write all of `s`, and must not read `dst` (it would then read the
        // value it is adding to).
        let whole = match &p.ops[inc].kind {
            OpKind::Copy { dst_sel: None, inc: true, src, .. }
            | OpKind::ElementwiseInc { dst_sel: None, src, .. }
            | OpKind::DotInc { dst_sel: None, src, .. }
            | OpKind::SparseDotInc { dst_sel: None, src, .. }
            | OpKind::ConvInc { src, .. } => *src != dst,
            _ => false,
        };
        // Nothing between the increment and the copy may change what the increment reads.
        let reads = p.ops[inc].kind.access().reads;
        let disturbed = inc > copy
            || p.ops[inc + 1..copy].iter().any(|op| {
                let a = op.kind.access();
                a.sets.iter().chain(&a.incs).chain(&a.updates).any(|w| reads.contains(w))
            });
        if whole && !disturbed {
            return Some((reset, inc, copy, dst));
        }
    }
    None
}

fn set_inc_dst(kind: &mut OpKind, to: SignalId) {
    match kind {
        OpKind::Copy { dst, .. }
        | OpKind::ElementwiseInc { dst, .. }
        | OpKind::DotInc { dst, .. }
        | OpKind::SparseDotInc { dst, .. }
        | OpKind::ConvInc { dst, .. } => *dst = to,
        _ => {}
    }
}
