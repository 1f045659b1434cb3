//! Optimisation passes over a lowered [`Program`], each separate and each keeping the program's
//! meaning (results equal up to floating-point summation order, which both backends then share):
//! [`dead`] (ops nothing observes), [`forward`] (copies through zero-reset temporaries),
//! [`commute`] (synapses moved past dense readouts), [`distribute`] (an ensemble's input sum met
//! by its encoders), [`hoist`] (work constant over a run, done once), [`events`] (spike-driven products), [`absorb`] (first-order synapses folded into the
//! products feeding them), [`fuse`] (elementwise chains in one loop).
//! [`optimize`] runs them in that order (debug builds verify the program after each,
//! [`optimize_verified`] always does); `snnc ir --opt` prints the result.

pub mod absorb;
pub mod commute;
pub mod dead;
pub mod distribute;
pub mod events;
pub mod forward;
pub mod fuse;
pub mod hoist;

use super::verify::{verify, VerifyError};
use super::{Access, Program, SignalId};

/// What the passes did, one line per pass that changed something.
pub type Report = Vec<String>;

/// One pass: its name, what its count counts, and the pass (`held` is only for `hoist`).
type Pass = (&'static str, &'static str, fn(&mut Program, &[bool]) -> usize);

/// The pipeline, in order.
const PASSES: &[Pass] = &[
    ("dead", "ops removed", |p, _| dead::run(p)),
    ("forward", "copies forwarded", |p, _| forward::run(p)),
    ("commute", "synapses moved past dense readouts", |p, _| commute::run(p)),
    ("dead", "ops removed", |p, _| dead::run(p)),
    // After commute, whose pattern (a readout through a copied temporary) it would take.
    ("distribute", "sums distributed over the products reading them", |p, _| distribute::run(p)),
    ("hoist", "ops moved out of the step", hoist::run),
    ("events", "products made spike-driven", |p, _| events::run(p)),
    ("absorb", "synapses absorbed into their products", |p, _| absorb::run(p)),
    ("fuse", "elementwise ops fused into the loop before them", |p, _| fuse::run(p)),
];

/// Runs every pass, calling `after(name, p)` after each; stops at its first error.
fn run_passes<E>(
    p: &mut Program,
    held: &[bool],
    mut after: impl FnMut(&str, &Program) -> Result<(), E>,
) -> Result<Report, E> {
    let mut report = Vec::new();
    for (name, what, pass) in PASSES {
        let n = pass(p, held);
        if n > 0 {
            report.push(format!("{name}: {n} {what}"));
        }
        after(name, p)?;
    }
    Ok(report)
}

/// Runs every pass. `held[i]` says whether input `i` is held over the run (given without a
/// time axis): only then is its value, and what is computed from it, constant. Debug builds
/// verify the program after each pass ([`verify`]) and panic on a fault.
pub fn optimize(p: &mut Program, held: &[bool]) -> Report {
    let checked = run_passes(p, held, |name, p| {
        if cfg!(debug_assertions) {
            if let Err(errors) = verify(p) {
                return Err(super::verify::failure(name, &errors));
            }
        }
        Ok(())
    });
    checked.unwrap_or_else(|msg| panic!("{msg}"))
}

/// [`optimize`], verifying the program before the passes (stage `input`) and after each one:
/// the first failing stage's name and all its faults.
pub fn optimize_verified(
    p: &mut Program,
    held: &[bool],
) -> Result<Report, (String, Vec<VerifyError>)> {
    verify(p).map_err(|e| ("input".to_string(), e))?;
    run_passes(p, held, |name, p| verify(p).map_err(|e| (name.to_string(), e)))
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
