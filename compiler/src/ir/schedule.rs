//! Order ops so that, for every signal, sets come before incs, incs before reads and reads before
//! updates (Nengo's dependency rule); ties keep construction order, so the result is deterministic.

use super::{Op, SignalId};
use indexmap::IndexMap;
use std::collections::BTreeSet;

/// A cycle of same-step dependencies (the checker rejects algebraic loops, so this is a bug).
#[derive(Debug)]
pub struct CycleError {
    /// Indices of ops that could not be scheduled.
    pub ops: Vec<usize>,
}

/// Reorder `ops` by the set → inc → read → update rule.
pub fn schedule(ops: Vec<Op>) -> Result<Vec<Op>, CycleError> {
    let n = ops.len();
    #[derive(Default)]
    struct Users {
        sets: Vec<usize>,
        incs: Vec<usize>,
        reads: Vec<usize>,
        updates: Vec<usize>,
    }
    let mut by_signal: IndexMap<SignalId, Users> = IndexMap::new();
    for (i, op) in ops.iter().enumerate() {
        let a = op.kind.access();
        for s in a.sets {
            by_signal.entry(s).or_default().sets.push(i);
        }
        for s in a.incs {
            by_signal.entry(s).or_default().incs.push(i);
        }
        for s in a.reads {
            by_signal.entry(s).or_default().reads.push(i);
        }
        for s in a.updates {
            by_signal.entry(s).or_default().updates.push(i);
        }
    }
    let mut succ: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for u in by_signal.values() {
        let groups = [&u.sets, &u.incs, &u.reads, &u.updates];
        for (gi, g) in groups.iter().enumerate() {
            for later in groups.iter().skip(gi + 1) {
                for &a in g.iter() {
                    for &b in later.iter() {
                        if a != b {
                            succ[a].insert(b);
                        }
                    }
                }
            }
        }
    }
    let mut indeg = vec![0usize; n];
    for s in &succ {
        for &b in s {
            indeg[b] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &b in &succ[i] {
            indeg[b] -= 1;
            if indeg[b] == 0 {
                ready.insert(b);
            }
        }
    }
    if order.len() != n {
        let done: BTreeSet<usize> = order.iter().copied().collect();
        return Err(CycleError { ops: (0..n).filter(|i| !done.contains(i)).collect() });
    }
    let mut slots: Vec<Option<Op>> = ops.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}
