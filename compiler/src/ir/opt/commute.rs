//! Synapses moved past dense readouts: `D += M @ filter(S)` becomes `D += filter(M @ S)`. A
//! synapse is linear, time-invariant, elementwise and starts at zero, so the two are equal (up
//! to summation order) — but the second filters `rows(M)` values instead of `len(S)`, and when
//! `S` is a spiking population the product becomes spike-driven ([`super::events`]). A
//! converted network's 10-way readout of a 9,216-neuron layer behind a 10 ms synapse is this
//! shape. The pattern, every signal whole and used nowhere else (no probe, no other reader):
//!
//! ```text
//! W = 0; W += S            (the connection's weighted input)
//! F <- filter(W)           (its synapse)
//! X = 0; X += F            (the node it feeds)
//! D += M @ X               (the dense readout)
//! ```
//!
//! with fewer rows in `M` than values in `S`, is rewritten to `W2 = 0; W2 += M @ S` (where `W += S` was), then `D += F2` and
//! `F2 <- filter(W2)` (where the readout was); [`super::dead`] removes what is left unread.

use super::{observed, uses};
use crate::ir::{Op, OpKind, Program, Signal, SignalId};

/// Moves such synapses; returns how many.
pub fn run(p: &mut Program) -> usize {
    let mut moved = 0;
    while let Some(m) = candidate(p) {
        rewrite(p, m);
        moved += 1;
    }
    moved
}

struct Match {
    copy_w: usize,
    filter: usize,
    dot: usize,
    s: SignalId,
}

fn candidate(p: &Program) -> Option<Match> {
    let u = uses(p);
    let seen = observed(p);
    let observed = |s: SignalId| seen[s.0 as usize];
    let zero_reset = |i: usize| matches!(&p.ops[i].kind, OpKind::Reset { value, .. } if value.iter().all(|v| *v == 0.0));
    let zero_init = |s: SignalId| p.signals[s.0 as usize].init.iter().all(|v| *v == 0.0);
    for (dot, op) in p.ops.iter().enumerate() {
        let OpKind::DotInc { src: x, dst, src_sel: None, .. } = &op.kind else { continue };
        // X = 0; X += F; read only here.
        let ux = &u[x.0 as usize];
        if ux.sets.len() != 1 || ux.incs.len() != 1 || ux.reads != [dot] || !ux.updates.is_empty() {
            continue;
        }
        if observed(*x) || !zero_reset(ux.sets[0]) || !zero_init(*x) {
            continue;
        }
        let OpKind::Copy { src: f, src_sel: None, dst_sel: None, inc: true, .. } =
            &p.ops[ux.incs[0]].kind
        else {
            continue;
        };
        // F <- filter(W); read only by that copy.
        let uf = &u[f.0 as usize];
        if uf.updates.len() != 1 || !uf.sets.is_empty() || !uf.incs.is_empty() {
            continue;
        }
        if uf.reads != [ux.incs[0]] || observed(*f) || !zero_init(*f) {
            continue;
        }
        let filter = uf.updates[0];
        let OpKind::Filter { src: w, .. } = &p.ops[filter].kind else { continue };
        // W = 0; W += S; read only by the filter.
        let uw = &u[w.0 as usize];
        if uw.sets.len() != 1 || uw.incs.len() != 1 || uw.reads != [filter] {
            continue;
        }
        if !uw.updates.is_empty() || observed(*w) || !zero_reset(uw.sets[0]) {
            continue;
        }
        let copy_w = uw.incs[0];
        let OpKind::Copy { src: s, src_sel: None, dst_sel: None, inc: true, .. } =
            &p.ops[copy_w].kind
        else {
            continue;
        };
        let sizes = [*s, *w, *f, *x].map(|id| p.signals[id.0 as usize].size);
        let OpKind::DotInc { mat, .. } = &op.kind else { continue };
        // Only when it leaves fewer values to filter.
        let fewer = mat.nrows() < sizes[0];
        if !fewer || sizes.iter().any(|&n| n != sizes[0]) || *s == *dst || copy_w > dot {
            continue;
        }
        return Some(Match { copy_w, filter, dot, s: *s });
    }
    None
}

fn rewrite(p: &mut Program, m: Match) {
    let (OpKind::DotInc { mat, dst, dst_sel, .. }, origin) =
        (p.ops[m.dot].kind.clone(), p.ops[m.dot].origin)
    else {
        return;
    };
    let OpKind::Filter { filter, dst: f, .. } = p.ops[m.filter].kind.clone() else { return };
    let rows = mat.nrows();
    let fname = p.signals[f.0 as usize].name.clone();
    let mut add = |name: String| {
        p.signals.push(Signal { name, size: rows, init: Vec::new() });
        SignalId(p.signals.len() as u32 - 1)
    };
    let w2 = add(format!("{fname}.readout_in"));
    let f2 = add(format!("{fname}.readout"));
    let copy_origin = p.ops[m.copy_w].origin;
    let filter_origin = p.ops[m.filter].origin;
    // Later positions first, so earlier indices stay valid.
    p.ops[m.dot] =
        Op::new(OpKind::Copy { src: f2, dst, src_sel: None, dst_sel, inc: true }, origin);
    p.ops.insert(m.dot + 1, Op::new(OpKind::Filter { filter, src: w2, dst: f2 }, filter_origin));
    p.ops.insert(
        m.copy_w + 1,
        Op::new(OpKind::DotInc { mat, src: m.s, dst: w2, src_sel: None, dst_sel: None }, origin),
    );
    p.ops.insert(m.copy_w + 1, Op::new(OpKind::Reset { dst: w2, value: vec![0.0] }, copy_origin));
}
