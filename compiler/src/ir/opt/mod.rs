//! Optimisation passes over a lowered [`Program`], each separate and each keeping the program's
//! meaning (results equal up to floating-point summation order, which both backends then share):
//! [`dead`] (ops nothing observes), [`forward`] (copies through zero-reset temporaries),
//! [`commute`] (synapses moved past dense readouts), [`distribute`] (an ensemble's input sum met
//! by its encoders), [`hoist`] (work constant over a run, done once), [`events`] (spike-driven products), [`absorb`] (first-order synapses folded into the
//! products feeding them). [`PASSES`] is that pipeline; a target runs it and may add its own
//! passes ([`run`]; the JIT adds its fusion schedule). [`optimize`] runs [`PASSES`] (debug
//! builds verify the program after each pass, [`optimize_verified`] always does); `snnc ir
//! --opt` prints the result of the default target's pipeline.

pub mod absorb;
pub mod commute;
pub mod dead;
pub mod distribute;
pub mod elementwise;
pub mod events;
pub mod forward;
pub mod hoist;

pub use elementwise::elementwise_len;

use super::verify::{verify, VerifyError};
use super::{Access, Program, SignalId};

/// What the passes did, one line per pass that changed something.
pub type Report = Vec<String>;

/// One pass: its name, what its count counts, and the pass (`held[i]`: input `i` is held over
/// the run; only `hoist` needs it). Returns how many things it changed.
#[derive(Clone, Copy)]
pub struct Pass {
    /// Its name in reports (`snnc run -v`).
    pub name: &'static str,
    /// What its count counts.
    pub what: &'static str,
    /// The pass.
    pub run: fn(&mut Program, &[bool]) -> usize,
}

/// The target-independent pipeline, in order.
pub const PASSES: &[Pass] = &[
    Pass { name: "dead", what: "ops removed", run: |p, _| dead::run(p) },
    Pass { name: "forward", what: "copies forwarded", run: |p, _| forward::run(p) },
    Pass {
        name: "commute",
        what: "synapses moved past dense readouts",
        run: |p, _| commute::run(p),
    },
    Pass { name: "dead", what: "ops removed", run: |p, _| dead::run(p) },
    // After commute, whose pattern (a readout through a copied temporary) it would take.
    Pass {
        name: "distribute",
        what: "sums distributed over the products reading them",
        run: |p, _| distribute::run(p),
    },
    Pass { name: "hoist", what: "ops moved out of the step", run: hoist::run },
    Pass { name: "events", what: "products made spike-driven", run: |p, _| events::run(p) },
    Pass {
        name: "absorb",
        what: "synapses absorbed into their products",
        run: |p, _| absorb::run(p),
    },
];

/// Runs `passes` in order, calling `after(name, p)` after each; stops at its first error.
fn run_passes<E>(
    p: &mut Program,
    held: &[bool],
    passes: &[Pass],
    mut after: impl FnMut(&str, &Program) -> Result<(), E>,
) -> Result<Report, E> {
    let mut report = Vec::new();
    for pass in passes {
        let n = (pass.run)(p, held);
        if n > 0 {
            report.push(format!("{}: {n} {}", pass.name, pass.what));
        }
        after(pass.name, p)?;
    }
    Ok(report)
}

/// Runs the target-independent pipeline [`PASSES`]. `held[i]` says whether input `i` is held
/// over the run (given without a time axis): only then is its value, and what is computed from
/// it, constant. Debug builds verify the program after each pass ([`verify`]) and panic on a
/// fault.
pub fn optimize(p: &mut Program, held: &[bool]) -> Report {
    run(p, held, PASSES)
}

/// Runs `passes` (a target's pipeline) as [`optimize`] runs [`PASSES`].
pub fn run(p: &mut Program, held: &[bool], passes: &[Pass]) -> Report {
    let checked = run_passes(p, held, passes, |name, p| {
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
    run_verified(p, held, PASSES)
}

/// [`optimize_verified`] for `passes` (a target's pipeline).
pub fn run_verified(
    p: &mut Program,
    held: &[bool],
    passes: &[Pass],
) -> Result<Report, (String, Vec<VerifyError>)> {
    verify(p).map_err(|e| ("input".to_string(), e))?;
    run_passes(p, held, passes, |name, p| verify(p).map_err(|e| (name.to_string(), e)))
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
