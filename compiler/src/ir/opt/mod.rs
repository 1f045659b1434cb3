//! Optimisation passes over a lowered [`Program`], each separate and each keeping the program's
//! meaning (results equal up to floating-point summation order, which both backends then share):
//! [`dead`] (ops nothing observes), [`forward`] (copies through zero-reset temporaries),
//! [`commute`] (synapses moved past dense readouts), [`distribute`] (an ensemble's input sum met
//! by its encoders), [`hoist`] (work constant over a run, done once), [`events`] (spike-driven products), [`absorb`] (first-order synapses folded into the
//! products feeding them), [`fuse`] (elementwise chains in one loop).
//! [`optimize`] runs them in that order; `snnc ir --opt` prints the result.

pub mod absorb;
pub mod commute;
pub mod dead;
pub mod distribute;
pub mod events;
pub mod forward;
pub mod fuse;
pub mod hoist;

use super::{Access, Program, SignalId};

/// What the passes did, one line per pass that changed something.
pub type Report = Vec<String>;

/// Runs every pass. `held[i]` says whether input `i` is held over the run (given without a
/// time axis): only then is its value, and what is computed from it, constant.
pub fn optimize(p: &mut Program, held: &[bool]) -> Report {
    let mut report = Vec::new();
    let mut note = |name: &str, n: usize, what: &str| {
        if n > 0 {
            report.push(format!("{name}: {n} {what}"));
        }
    };
    note("dead", dead::run(p), "ops removed");
    note("forward", forward::run(p), "copies forwarded");
    note("commute", commute::run(p), "synapses moved past dense readouts");
    note("dead", dead::run(p), "ops removed");
    // After commute, whose pattern (a readout through a copied temporary) it would take.
    note("distribute", distribute::run(p), "sums distributed over the products reading them");
    note("hoist", hoist::run(p, held), "ops moved out of the step");
    note("events", events::run(p), "products made spike-driven");
    note("absorb", absorb::run(p), "synapses absorbed into their products");
    note("fuse", fuse::run(p), "elementwise ops fused into the loop before them");
    report
}

/// For every signal, the indices of the ops (of `ops`) that set, increment, read and update it.
#[derive(Default, Clone)]
pub(crate) struct Uses {
    pub(crate) sets: Vec<usize>,
    pub(crate) incs: Vec<usize>,
    pub(crate) reads: Vec<usize>,
    pub(crate) updates: Vec<usize>,
}

impl Uses {
    /// Every op writing the signal (sets, incs, updates).
    pub(crate) fn writers(&self) -> impl Iterator<Item = usize> + '_ {
        self.sets.iter().chain(&self.incs).chain(&self.updates).copied()
    }
}

/// For every signal of `p`, whether it is observed outside the step's ops: probed, or read by
/// a hoisted op.
pub(crate) fn observed(p: &Program) -> Vec<bool> {
    let mut observed = vec![false; p.signals.len()];
    let once_reads = p.once.iter().flat_map(|op| op.kind.access().reads);
    for s in p.probes.iter().map(|pr| pr.signal).chain(once_reads) {
        if let Some(o) = observed.get_mut(s.0 as usize) {
            *o = true;
        }
    }
    observed
}

/// [`Uses`] of every signal of `p` by `p.ops`.
pub(crate) fn uses(p: &Program) -> Vec<Uses> {
    let mut u = vec![Uses::default(); p.signals.len()];
    for (i, op) in p.ops.iter().enumerate() {
        let Access { sets, incs, reads, updates } = op.kind.access();
        let mut add = |list: Vec<SignalId>, pick: fn(&mut Uses) -> &mut Vec<usize>| {
            for s in list {
                if let Some(x) = u.get_mut(s.0 as usize) {
                    pick(x).push(i);
                }
            }
        };
        add(sets, |x| &mut x.sets);
        add(incs, |x| &mut x.incs);
        add(reads, |x| &mut x.reads);
        add(updates, |x| &mut x.updates);
    }
    u
}
