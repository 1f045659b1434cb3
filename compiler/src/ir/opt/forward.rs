//! Copy forwarding (the merging of Nengo's optimiser, for this IR): a temporary that is reset to
//! zero, incremented by exactly one whole-signal op and read only by one whole-signal `+=` copy is
//! removed — the increment goes straight to the copy's destination, in the copy's place. `b = 0;
//! b += f(a); c += b` becomes `c += f(a)`: the same sum, added to `c` in the same order. The copy
//! may write a selection of `c` (an ensemble array's decoded output into its element of the
//! array's output): `c[sel] += f(a)`.

use super::{observed, uses};
use crate::ir::{Op, OpKind, Program, SignalId};

/// Forwards such temporaries; returns how many copies were removed. Each round finds every
/// candidate and rewrites those that share no op with one taken before (they are then
/// independent: each temporary is read by its copy alone); rounds repeat until none is left.
pub fn run(p: &mut Program) -> usize {
    let mut removed = 0;
    loop {
        let found = candidates(p);
        if found.is_empty() {
            return removed;
        }
        let n = p.ops.len();
        let mut taken = vec![false; n];
        let mut drop = vec![false; n];
        let mut replace: Vec<Option<Op>> = vec![None; n];
        for (reset, inc, copy, dst, dst_sel) in found {
            if taken[reset] || taken[inc] || taken[copy] {
                continue;
            }
            taken[reset] = true;
            taken[inc] = true;
            taken[copy] = true;
            // The increment takes the copy's place, so it adds to `dst` in the same order.
            let mut op = p.ops[inc].clone();
            set_inc_dst(&mut op.kind, dst, dst_sel);
            replace[copy] = Some(op);
            drop[reset] = true;
            drop[inc] = true;
            removed += 1;
        }
        let ops = std::mem::take(&mut p.ops);
        p.ops = ops
            .into_iter()
            .zip(replace)
            .zip(drop)
            .filter(|(_, drop)| !drop)
            .map(|((op, new), _)| new.unwrap_or(op))
            .collect();
    }
}

/// A forwardable temporary: its reset, its increment, the one copy reading it, and the copy's
/// destination and selection.
type Found = (usize, usize, usize, SignalId, Option<Vec<usize>>);

/// Every forwardable temporary.
fn candidates(p: &Program) -> Vec<Found> {
    let u = uses(p);
    let observed = observed(p);
    let mut found = Vec::new();
    for (s, su) in u.iter().enumerate() {
        if su.sets.len() != 1 || su.incs.len() != 1 || su.reads.len() != 1 || !su.updates.is_empty()
        {
            continue;
        }
        if observed[s] || !p.signals[s].init.iter().all(|v| *v == 0.0) {
            continue;
        }
        let (reset, inc, copy) = (su.sets[0], su.incs[0], su.reads[0]);
        let OpKind::Reset { value, .. } = &p.ops[reset].kind else { continue };
        if !value.iter().all(|v| *v == 0.0) {
            continue;
        }
        let OpKind::Copy { dst, src_sel: None, dst_sel, inc: true, .. } = &p.ops[copy].kind else {
            continue;
        };
        let dst = *dst;
        let n_dst = dst_sel.as_ref().map_or(p.signals[dst.0 as usize].size, Vec::len);
        if dst.0 as usize == s || n_dst != p.signals[s].size {
            continue;
        }
        // A convolution writes whole signals only.
        if dst_sel.is_some() && matches!(p.ops[inc].kind, OpKind::ConvInc { .. }) {
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
            found.push((reset, inc, copy, dst, dst_sel.clone()));
        }
    }
    found
}

fn set_inc_dst(kind: &mut OpKind, to: SignalId, sel: Option<Vec<usize>>) {
    match kind {
        OpKind::Copy { dst, dst_sel, .. }
        | OpKind::ElementwiseInc { dst, dst_sel, .. }
        | OpKind::DotInc { dst, dst_sel, .. }
        | OpKind::SparseDotInc { dst, dst_sel, .. } => {
            *dst = to;
            *dst_sel = sel;
        }
        OpKind::ConvInc { dst, .. } => *dst = to,
        _ => {}
    }
}
