//! Products distributed over the sums feeding them: a temporary `T = 0; T += s_1 A_1[sel_1];
//! …; T += s_K A_K[sel_K]` read only by dense products `D += M @ T` becomes `D += (M s_1) @
//! A_1[sel_1]; …` in each product's place (`M s_k`: the columns of `M` scaled). This is an
//! ensemble's input — the sum of its incoming connections — met by its encoders: in an ensemble
//! array each one-dimensional ensemble's `T` is one value copied from the array's input, and its
//! encoders then read that value directly, as a one-column product the JIT's fusion runs in the
//! neurons' loop. Equal up to rounding (`(M s) a` for `M (s a)`).

use super::{observed, uses};
use crate::ir::{Op, OpKind, Program, Sel, SignalId};

/// Sums with more terms than this stay (each product would become that many).
const MAX_TERMS: usize = 4;

/// One term of a temporary's sum: source, selection, scale (one value or one per element).
type Term = (SignalId, Sel, Vec<f64>);

struct Plan {
    reset: usize,
    incs: Vec<usize>,
    readers: Vec<usize>,
    terms: Vec<Term>,
}

/// Distributes every such product; returns how many temporaries went.
pub fn run(p: &mut Program) -> usize {
    let plans = plans(p);
    if plans.is_empty() {
        return 0;
    }
    let n = p.ops.len();
    let mut drop = vec![false; n];
    let mut replace: Vec<Option<Vec<Op>>> = vec![None; n];
    for plan in &plans {
        drop[plan.reset] = true;
        for &k in &plan.incs {
            drop[k] = true;
        }
        for &r in &plan.readers {
            let op = &p.ops[r];
            let OpKind::DotInc { mat, dst, dst_sel, .. } = &op.kind else { continue };
            let ops = plan
                .terms
                .iter()
                .map(|(src, sel, scale)| {
                    let mut m = mat.clone();
                    for (j, mut col) in m.columns_mut().into_iter().enumerate() {
                        let s = if scale.len() == 1 { scale[0] } else { scale[j] };
                        col.mapv_inplace(|v| v * s);
                    }
                    let kind = OpKind::DotInc {
                        mat: m,
                        src: *src,
                        dst: *dst,
                        src_sel: sel.clone(),
                        dst_sel: dst_sel.clone(),
                    };
                    Op::new(kind, op.origin)
                })
                .collect();
            replace[r] = Some(ops);
        }
    }
    let old = std::mem::take(&mut p.ops);
    for ((op, new), drop) in old.into_iter().zip(replace).zip(drop) {
        match new {
            Some(ops) => p.ops.extend(ops),
            None if !drop => p.ops.push(op),
            None => {}
        }
    }
    plans.len()
}

fn plans(p: &Program) -> Vec<Plan> {
    let u = uses(p);
    let observed = observed(p);
    let mut plans = Vec::new();
    for (t, ut) in u.iter().enumerate() {
        let size = p.signals[t].size;
        if observed[t] || !p.signals[t].init.iter().all(|v| *v == 0.0) {
            continue;
        }
        if ut.sets.len() != 1 || ut.incs.is_empty() || ut.incs.len() > MAX_TERMS {
            continue;
        }
        if ut.reads.is_empty() || !ut.updates.is_empty() {
            continue;
        }
        let reset = ut.sets[0];
        if !matches!(&p.ops[reset].kind, OpKind::Reset { value, .. } if value.iter().all(|v| *v == 0.0))
        {
            continue;
        }
        // The terms: whole-`T` copies and scaled increments of other signals.
        let tid = SignalId(t as u32);
        let terms: Option<Vec<Term>> = ut
            .incs
            .iter()
            .map(|&k| match &p.ops[k].kind {
                OpKind::Copy { src, src_sel, dst_sel: None, inc: true, .. } if *src != tid => {
                    Some((*src, src_sel.clone(), vec![1.0]))
                }
                OpKind::ElementwiseInc { scale, src, src_sel, dst_sel: None, .. }
                    if *src != tid && (scale.len() == 1 || scale.len() == size) =>
                {
                    Some((*src, src_sel.clone(), scale.clone()))
                }
                _ => None,
            })
            .collect();
        let Some(terms) = terms else { continue };
        // The readers: dense products of all of `T` into something else.
        let readers_ok = ut.reads.iter().all(|&r| {
            matches!(&p.ops[r].kind, OpKind::DotInc { src, dst, src_sel: None, mat, .. }
                if *src == tid && *dst != tid && mat.ncols() == size)
        });
        if !readers_ok {
            continue;
        }
        // What each term reads must not change between its increment and any reader, and no
        // term may read what a reader writes (the readers then run in the terms' place).
        let steady = ut.incs.iter().zip(&terms).all(|(&k, (src, _, _))| {
            let writes = u[src.0 as usize].writers().collect::<Vec<_>>();
            ut.reads.iter().all(|&r| r > k && writes.iter().all(|&w| w <= k || w > r))
        });
        if !steady {
            continue;
        }
        plans.push(Plan { reset, incs: ut.incs.clone(), readers: ut.reads.clone(), terms });
    }
    plans
}
