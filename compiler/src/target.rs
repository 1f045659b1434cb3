//! Targets: what runs a lowered [`Program`]. A [`Target`] has its own pass pipeline
//! ([`Target::optimize`]) and prepares a program into an [`Executable`] that simulates any number
//! of steps over a batch. The reference interpreter ([`crate::backend::interp::Interp`]) lives
//! here; code generators (the Cranelift JIT in `snn-jit`) live in their own crates and implement
//! the same trait, so the command line, `verify` and the tests treat every target alike.

use crate::ir::{opt, Program};
use ndarray::ArrayD;
use snn_runtime::Precision;

/// Why a target could not prepare or run a program.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    /// The program uses something the target does not support.
    #[error("{target}: unsupported: {what}")]
    Unsupported {
        /// The target's name.
        target: &'static str,
        /// What it does not support.
        what: String,
    },
    /// The program is inconsistent (sizes or indices that do not fit).
    #[error("{target}: invalid program: {what}")]
    Invalid {
        /// The target's name.
        target: &'static str,
        /// What does not fit.
        what: String,
    },
    /// Code generation failed.
    #[error("{target}: code generation failed: {what}")]
    Codegen {
        /// The target's name.
        target: &'static str,
        /// The generator's message.
        what: String,
    },
    /// The inputs do not fit the program, or a kernel failed while running.
    #[error("{0}")]
    Run(String),
}

/// A target: prepares programs for execution.
pub trait Target: Sync {
    /// Its name on the command line (`--backend NAME`).
    fn name(&self) -> &'static str;

    /// How the build stage makes this target's ensembles and decoders (Nengo's unless the
    /// target's hardware needs otherwise); callers put it in `CompileConfig::build`.
    fn build_options(&self) -> crate::build::BuildOptions {
        crate::build::BuildOptions::default()
    }

    /// This target's optimisation pipeline: the target-independent passes, then its own.
    fn passes(&self) -> Vec<opt::Pass> {
        opt::PASSES.to_vec()
    }

    /// Runs [`Target::passes`] on `program` (`held[i]`: input `i` has no time axis); returns
    /// what they did, one line per pass that changed something.
    fn optimize(&self, program: &mut Program, held: &[bool]) -> opt::Report {
        opt::run(program, held, &self.passes())
    }

    /// The program as `snnc ir --opt` prints it for this target (the JIT marks fused ops).
    fn print(&self, program: &Program) -> String {
        crate::ir::print(program)
    }

    /// Prepares `program` to run in `precision` (a code generator compiles here).
    fn prepare(
        &self,
        program: &Program,
        precision: Precision,
    ) -> Result<Box<dyn Executable>, TargetError>;
}

/// A program prepared by a [`Target`], ready to run any number of times, from any thread.
pub trait Executable: Send + Sync {
    /// Runs `steps` steps for `batch` elements. `inputs[i]` is `(batch, *shape)` (held) or
    /// `(batch, steps, *shape)` (per step) for program input `i`; returns one array per probe,
    /// `(batch, samples, *shape)`, widened to `f64` (exactly, for float32 runs). `threads`:
    /// batch elements run in parallel where the target can (0: one per core); `progress(n)` is
    /// called on the calling thread after every `n` simulated steps (summed over the batch).
    fn run(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, TargetError>;

    /// What `snnc run -v` prints about the preparation, one line each (compile time, code
    /// size, host calls); empty when there is nothing to say.
    fn describe(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether [`Executable::run_streaming`] holds one chunk of probe samples at a time (a
    /// target that cannot stream holds the whole run).
    fn streams(&self) -> bool {
        false
    }

    /// [`Executable::run`], giving the probes' samples to `sink` `chunk` steps at a time (per
    /// probe `(batch, samples in the chunk, *shape)`, in step order; concatenated along the
    /// sample axis they are what `run` returns). The default runs everything and gives it in
    /// one piece.
    #[allow(clippy::too_many_arguments)]
    fn run_streaming(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        chunk: usize,
        progress: &mut dyn FnMut(u64),
        sink: &mut dyn FnMut(Vec<ArrayD<f64>>) -> Result<(), String>,
    ) -> Result<(), TargetError> {
        let _ = chunk;
        let out = self.run(steps, batch, inputs, threads, progress)?;
        sink(out).map_err(TargetError::Run)
    }

    /// Batch element `b` at `t = 0`, to be run chunk by chunk with each chunk's inputs given
    /// as it comes (what composes programs: the loihi target's host parts around its chip).
    fn element(&self, b: usize) -> Result<Box<dyn Resumable + '_>, TargetError> {
        let _ = b;
        Err(TargetError::Run("this target cannot run an element chunk by chunk".into()))
    }
}

/// One batch element of an [`Executable`], advanced chunk by chunk.
pub trait Resumable: Send {
    /// Runs steps `k0 + 1 ..= k1` (`steps`; the element has run `k0`). `inputs[i]` holds
    /// program input `i`'s values for those steps: one sample (held) or `k1 − k0` samples (per
    /// step); `out[i]` receives probe `i`'s samples of those steps
    /// ([`snn_runtime::batch::ProbeSpec::samples`]`(k0, k1)` times its size). `report(n)`
    /// after every `n` steps run.
    fn advance(
        &mut self,
        steps: (u64, u64),
        inputs: &[&[f64]],
        out: &mut [&mut [f64]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), TargetError>;
}

/// Prepares `program` on `target` and runs it once: [`Target::prepare`] then
/// [`Executable::run`].
#[allow(clippy::too_many_arguments)]
pub fn run(
    target: &dyn Target,
    program: &Program,
    precision: Precision,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ArrayD<f64>>, TargetError> {
    target.prepare(program, precision)?.run(steps, batch, inputs, threads, progress)
}
