//! First-order synapses absorbed into the products feeding them: `W = 0; W += M @ S;
//! F <- lowpass(W)` becomes `F *= a` (just after the last op reading `F` when that op's loop has
//! `F`'s length, so the two fuse; else where the filter was) and `F += (b M) @ S` (where the
//! filter was). The synapse's update is `F = a F + b W` and the product is linear, so
//! the two are equal up to rounding — but the second has no `W` to reset, sum into and read
//! back: a spike-driven product adds its few columns straight into `F`, and the decay joins the
//! loop of the neurons that read `F` (the JIT's fusion, [`super::elementwise`]). This is Brian2's way with current-based
//! synapses (a spike adds its weight to `g`; `g` decays each step).
//!
//! The pattern, every signal used nowhere else (no probe, no hoisted op):
//!
//! ```text
//! W = 0                    (one whole zero reset, W's only set)
//! W += P_k(S_k)            (products: DotInc, SparseDotInc, ElementwiseInc, Copy; W's only incs)
//! F <- filter(W)           (order 1, no passthrough: W's only reader, F's only writer; F starts at 0)
//! ```
//!
//! A product moves from its place to the filter's, so what it reads must not change in between
//! (nothing writes it there, and it is not the output of another absorbed synapse).

use super::elementwise::elementwise_len;
use super::uses;
use crate::ir::{Op, OpKind, Program, SignalId};
use snn_runtime::synapse::FilterKind;
use std::collections::BTreeSet;

/// One synapse to absorb.
struct Cand {
    reset: usize,
    prods: Vec<usize>,
    filter: usize,
    /// The op after which the decay runs (the last reader of `F`, when its loop has `F`'s
    /// length), or `None`: at the filter.
    after: Option<usize>,
    decay: f64,
    gain: f64,
    out: SignalId,
}

/// Absorbs every such synapse; returns how many.
pub fn run(p: &mut Program) -> usize {
    let cands = candidates(p);
    if cands.is_empty() {
        return 0;
    }
    let n = cands.len();
    let mut drop = vec![false; p.ops.len()];
    let mut decay_after: Vec<Vec<Op>> = vec![Vec::new(); p.ops.len()];
    let mut at_filter: Vec<Vec<Op>> = vec![Vec::new(); p.ops.len()];
    for c in &cands {
        drop[c.reset] = true;
        drop[c.filter] = true;
        let origin = p.ops[c.filter].origin;
        let decay = Op::new(OpKind::Scale { dst: c.out, factor: c.decay }, origin);
        match c.after {
            Some(r) => decay_after[r].push(decay),
            None => at_filter[c.filter].push(decay),
        }
        for &k in &c.prods {
            drop[k] = true;
            let mut op = p.ops[k].clone();
            scale_into(&mut op.kind, c.gain, c.out);
            at_filter[c.filter].push(op);
        }
    }
    let old = std::mem::take(&mut p.ops);
    for (k, op) in old.into_iter().enumerate() {
        if !drop[k] {
            p.ops.push(op);
        }
        p.ops.append(&mut decay_after[k]);
        p.ops.append(&mut at_filter[k]);
    }
    n
}

/// `W += P(S)` made `F += gain P(S)`.
fn scale_into(kind: &mut OpKind, gain: f64, out: SignalId) {
    match kind {
        OpKind::DotInc { mat, dst, .. } => {
            mat.mapv_inplace(|v| gain * v);
            *dst = out;
        }
        OpKind::SparseDotInc { vals, dst, .. } => {
            vals.iter_mut().for_each(|v| *v *= gain);
            *dst = out;
        }
        OpKind::ElementwiseInc { scale, dst, .. } => {
            scale.iter_mut().for_each(|v| *v *= gain);
            *dst = out;
        }
        OpKind::Copy { src, src_sel, dst_sel, .. } => {
            *kind = OpKind::ElementwiseInc {
                scale: vec![gain],
                src: *src,
                dst: out,
                src_sel: src_sel.take(),
                dst_sel: dst_sel.take(),
            };
        }
        _ => {}
    }
}

fn candidates(p: &Program) -> Vec<Cand> {
    let u = uses(p);
    let mut fixed: BTreeSet<SignalId> = p.probes.iter().map(|pr| pr.signal).collect();
    for op in &p.once {
        let a = op.kind.access();
        fixed.extend(a.sets.into_iter().chain(a.incs).chain(a.reads).chain(a.updates));
    }
    let zero_init = |s: SignalId| p.signals[s.0 as usize].init.iter().all(|v| *v == 0.0);
    let mut cands = Vec::new();
    for (f, op) in p.ops.iter().enumerate() {
        let OpKind::Filter { filter, src: w, dst: out } = &op.kind else { continue };
        if filter.kind != FilterKind::OneX || w == out || fixed.contains(w) {
            continue;
        }
        let (uw, uo) = (&u[w.0 as usize], &u[out.0 as usize]);
        if uw.sets.len() != 1 || uw.incs.is_empty() || uw.reads != [f] || !uw.updates.is_empty() {
            continue;
        }
        if uo.updates != [f] || !uo.sets.is_empty() || !uo.incs.is_empty() || !zero_init(*out) {
            continue;
        }
        let reset = uw.sets[0];
        let whole_zero = matches!(&p.ops[reset].kind,
            OpKind::Reset { value, .. } if value.iter().all(|v| *v == 0.0));
        if !whole_zero || uo.reads.iter().any(|&r| r > f) {
            continue;
        }
        let movable = |k: usize| {
            let src = match &p.ops[k].kind {
                OpKind::DotInc { src, .. }
                | OpKind::SparseDotInc { src, .. }
                | OpKind::ElementwiseInc { src, .. } => *src,
                OpKind::Copy { src, inc: true, .. } => *src,
                _ => return false,
            };
            k < f && src != *out && u[src.0 as usize].writers().all(|wr| wr <= k || wr > f)
        };
        if !uw.incs.iter().all(|&k| movable(k)) {
            continue;
        }
        let (a, b) = (filter.a[(0, 0)], filter.c[0] * filter.b[0]);
        let n = p.signals[out.0 as usize].size;
        let after =
            uo.reads.iter().max().copied().filter(|&r| elementwise_len(p, &p.ops[r]) == Some(n));
        cands.push(Cand {
            reset,
            prods: uw.incs.clone(),
            filter: f,
            after,
            decay: a,
            gain: b,
            out: *out,
        });
    }
    // A product must not read another absorbed synapse's output: that one now changes (decays,
    // gains its products) between the product's old place and its new one.
    let outs: BTreeSet<SignalId> = cands.iter().map(|c| c.out).collect();
    cands.retain(|c| {
        c.prods.iter().all(|&k| p.ops[k].kind.access().reads.iter().all(|s| !outs.contains(s)))
    });
    cands
}
