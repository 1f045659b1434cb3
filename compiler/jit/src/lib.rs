//! snn-jit, the Cranelift backend: a whole [`Program`] — every op of a step and the loop over steps —
//! compiled into one native function over a state block (all signals contiguous), probes
//! written straight into the output buffers. Results equal the interpreter's: the generated
//! arithmetic follows the interpreter's operation order (dot products in ndarray's summation
//! order, filters and neurons as snn-runtime writes them) and calls the same math routines.
//!
//! Generated: Input, Reset, Copy, ElementwiseInc, DotInc, SparseDotInc, Filter, SimNeurons
//! (every neuron type), NodeFn. Host calls: ConvInc (a Rust kernel), Process, HostFn, the random
//! spike draws of stochastic/Poisson wrappers, node functions too large to unroll.
//!
//! The code generator works on any `cranelift_module::Module` (`compile::generate`): the JIT
//! (`jit.rs`, the only JIT-specific code: the module, its host symbols, finalizing) or an object
//! file ([`object`], what `snnc build` links into a native library). Generated code holds no
//! host address, so the same code runs from memory or from a linked library:
//! - the state block and the context table (`u64` slots: error cell, block length, the "run the
//!   hoisted ops" flag, per input its data pointer and stride, per probe its buffer, per host
//!   kernel the kernel and its state) are arguments of `snn_run(mem, ctx, k0, k1)`, filled by
//!   the executor (`snn-exec`'s `Runner`, which the JIT and native libraries share);
//! - constant arrays (reset values, matrices, scales, selection and sparse index tables) are one
//!   read-only data object of the module, `snn_consts` (`emit::Pool`, arrays 16-byte aligned),
//!   whose address the entry block takes (`symbol_value`, a relocation) and keeps in the state
//!   block; uses load it from there (scalars known at compile time are immediates);
//! - host functions (math routines, the kernel trampoline) are imported by name
//!   (`snn_exec::symbols`, exported C symbols): the JIT registers their addresses, a linker
//!   resolves them;
//! - host kernels are [`snn_exec::KernelSpec`]s in the layout, called through
//!   `snn_host_step_<T>(ctx, slot, k, mem)`, which finds the kernel at context slot `slot` and
//!   its state at `slot + 1`.
//!
//! Files: `compile.rs` (code generation into a module, step loop, op dispatch), `jit.rs` (the
//! JIT module), `object.rs` (an object file), `emit.rs` (code-building helpers, the constant
//! pool), `ops.rs` (linear and data-movement ops, filters, probes), `neurons.rs`, `func.rs`
//! (node functions), `specs.rs` (host kernels of ops). A new op kind is a new arm in
//! `compile::emit_op`, generated with the helpers of `emit.rs` or run as a host kernel (a
//! `KernelSpec` variant in snn-exec calling the runtime).

mod compile;
mod emit;
mod float;
mod func;
pub mod fuse;
mod jit;
mod neurons;
mod object;
#[cfg(test)]
mod object_tests;
mod ops;
mod specs;
#[cfg(test)]
mod tests;

pub use float::JitFloat;
pub use object::{object, Object};

use cranelift_jit::JITModule;
use ndarray::ArrayD;
use snn_compiler::ir::opt::{self, Pass};
use snn_compiler::ir::Program;
use snn_compiler::target::{Executable, Resumable, Target, TargetError};
use snn_exec::{InputInfo, Layout, Plan, ProbeInfo, Runner};
use snn_runtime::Precision;
use std::time::{Duration, Instant};

/// Why a program could not be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JitError {
    /// The program uses something the backend does not support.
    #[error("jit: unsupported: {0}")]
    Unsupported(String),
    /// The program is inconsistent (sizes or indices that do not fit).
    #[error("jit: invalid program: {0}")]
    Invalid(String),
    /// Cranelift failed.
    #[error("jit: code generation failed: {0}")]
    Codegen(String),
}

enum Inner {
    F64(Runner<f64>),
    F32(Runner<f32>),
}

/// A program compiled to native code, ready to run any number of times.
pub struct Compiled {
    inner: Inner,
    module: Option<Code>,
    compile_time: Duration,
    code_size: usize,
    host_ops: Vec<String>,
}

/// The JIT module owning the generated code: after finalizing it is only kept to free the
/// code's memory when the program goes.
struct Code(JITModule);

// SAFETY: nothing uses the module after finalizing (the code is called through `Runner`s, which
// are Send and Sync); it is only dropped, by `Compiled::drop`, once.
unsafe impl Send for Code {}
// SAFETY: as above: no method of the module is called through a shared reference.
unsafe impl Sync for Code {}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(Code(m)) = self.module.take() {
            // SAFETY: the code is only called through `self`, which is going away.
            unsafe { m.free_memory() };
        }
    }
}

/// A batch element of compiled code as a [`Resumable`].
struct Resume<'a, T>(snn_exec::Resume<'a, T>);

impl<T: snn_exec::Float> Resumable for Resume<'_, T> {
    fn advance(
        &mut self,
        steps: (u64, u64),
        inputs: &[&[f64]],
        out: &mut [&mut [f64]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), TargetError> {
        self.0.advance(steps, inputs, out, report).map_err(TargetError::Run)
    }
}

impl From<JitError> for TargetError {
    fn from(e: JitError) -> Self {
        match e {
            JitError::Unsupported(what) => TargetError::Unsupported { target: "jit", what },
            JitError::Invalid(what) => TargetError::Invalid { target: "jit", what },
            JitError::Codegen(what) => TargetError::Codegen { target: "jit", what },
        }
    }
}

/// The Cranelift JIT as a [`Target`] (the default of `snnc run`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Jit;

impl Target for Jit {
    fn name(&self) -> &'static str {
        "jit"
    }

    fn passes(&self) -> Vec<Pass> {
        let mut passes = opt::PASSES.to_vec();
        passes.push(Pass {
            name: "fuse",
            what: "elementwise ops fused into the loop before them",
            run: fuse::schedule,
        });
        passes
    }

    fn print(&self, program: &Program) -> String {
        snn_compiler::ir::print_marked(program, &fuse::plan(program))
    }

    fn prepare(
        &self,
        program: &Program,
        precision: Precision,
    ) -> Result<Box<dyn Executable>, TargetError> {
        Ok(Box::new(compile(program, precision)?))
    }
}

impl Executable for Compiled {
    fn run(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, TargetError> {
        Compiled::run(self, steps, batch, inputs, threads, progress).map_err(TargetError::Run)
    }

    fn streams(&self) -> bool {
        true
    }

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
        match &self.inner {
            Inner::F64(r) => r.run_streaming(steps, batch, inputs, threads, chunk, progress, sink),
            Inner::F32(r) => r.run_streaming(steps, batch, inputs, threads, chunk, progress, sink),
        }
        .map_err(TargetError::Run)
    }

    fn element(&self, b: usize) -> Result<Box<dyn Resumable + '_>, TargetError> {
        match &self.inner {
            Inner::F64(r) => Ok(Box::new(Resume(r.resume(b).map_err(TargetError::Run)?))),
            Inner::F32(r) => Ok(Box::new(Resume(r.resume(b).map_err(TargetError::Run)?))),
        }
    }

    fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "jit: compiled in {:.2} ms ({} bytes of code, {} values of state per batch element)",
            self.compile_time.as_secs_f64() * 1e3,
            self.code_size,
            self.state_len()
        )];
        lines.extend(self.host_ops.iter().map(|h| format!("jit: host call: {h}")));
        lines
    }
}

/// Compiles `program` to native code computing in `precision`.
pub fn compile(program: &Program, precision: Precision) -> Result<Compiled, JitError> {
    let start = Instant::now();
    let fused = fuse::plan(program);
    let invalid = |e: String| JitError::Invalid(e);
    let (inner, module, size, host_ops) = match precision {
        Precision::F64 => {
            let (m, f, layout, size) = jit::compile::<f64>(program, &fused)?;
            let ops = layout.host_ops.clone();
            let plan = plan(program, layout, precision);
            // SAFETY: `f` was generated for this plan's layout; `m` owns the code and goes with it.
            (Inner::F64(unsafe { Runner::new(plan, f) }.map_err(invalid)?), m, size, ops)
        }
        Precision::F32 => {
            let (m, f, layout, size) = jit::compile::<f32>(program, &fused)?;
            let ops = layout.host_ops.clone();
            let plan = plan(program, layout, precision);
            // SAFETY: as above.
            (Inner::F32(unsafe { Runner::new(plan, f) }.map_err(invalid)?), m, size, ops)
        }
    };
    Ok(Compiled {
        inner,
        module: Some(Code(module)),
        compile_time: start.elapsed(),
        code_size: size,
        host_ops,
    })
}

/// What the executor needs of `program` besides its code: names and shapes of inputs and probes,
/// hoisted inputs, the time step, and the generated `layout`.
pub(crate) fn plan(program: &Program, layout: Layout, precision: Precision) -> Plan {
    Plan {
        dtype: precision.name().to_string(),
        dt: program.dt,
        inputs: program
            .inputs
            .iter()
            .map(|i| InputInfo { name: i.name.clone(), shape: i.shape.clone() })
            .collect(),
        probes: program
            .probes
            .iter()
            .map(|p| ProbeInfo {
                name: p.name.clone(),
                shape: p.shape.clone(),
                every: p.every.max(1),
                size: program.signals.get(p.signal.0 as usize).map_or(0, |s| s.size),
            })
            .collect(),
        hoisted_inputs: program.hoisted_inputs(),
        layout,
    }
}

impl Compiled {
    /// Runs `steps` steps for `batch` elements, as [`snn_compiler::backend::interp::run_with_progress`]:
    /// `inputs[i]` is `(batch, *shape)` (held) or `(batch, steps, *shape)` (per step); returns
    /// one array per probe, `(batch, samples, *shape)`, widened to `f64`. Batch elements run in
    /// parallel on `threads` threads (0: one per core); `progress(n)` is called on the calling
    /// thread after every `n` simulated steps (summed over the batch).
    pub fn run(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, String> {
        match &self.inner {
            Inner::F64(r) => r.run(steps, batch, inputs, threads, progress),
            Inner::F32(r) => r.run(steps, batch, inputs, threads, progress),
        }
    }

    /// Wall-clock time [`compile`] took.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// Bytes of generated machine code.
    pub fn code_size(&self) -> usize {
        self.code_size
    }

    /// The float type the code computes in.
    pub fn precision(&self) -> Precision {
        match self.inner {
            Inner::F64(_) => Precision::F64,
            Inner::F32(_) => Precision::F32,
        }
    }

    /// Ops (or parts of ops) that run as host calls, one line each.
    pub fn host_ops(&self) -> &[String] {
        &self.host_ops
    }

    /// Values in one batch element's state block.
    pub fn state_len(&self) -> usize {
        match &self.inner {
            Inner::F64(r) => r.plan().layout.len,
            Inner::F32(r) => r.plan().layout.len,
        }
    }
}
