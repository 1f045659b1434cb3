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
//! file (`cranelift_object`, tested in `object_tests.rs`). Generated code holds no host address,
//! so the same code can be written to an object file and linked:
//! - the state block and the context table (`u64` slots: error cell, block length, per input its
//!   data pointer and stride, per probe its buffer, per host kernel the kernel and its state)
//!   are arguments of `snn_run(mem, ctx, k0, k1)`, filled by the driver (`driver.rs`);
//! - constant arrays (reset values, matrices, scales, selection and sparse index tables) are one
//!   read-only data object of the module, `snn_consts` (`emit::Pool`, arrays 16-byte aligned),
//!   whose address the entry block takes (`symbol_value`, a relocation) and keeps in the state
//!   block; uses load it from there (scalars known at compile time are immediates);
//! - host functions (math routines, the kernel trampoline `host_step`) are imported by name
//!   (`host::symbols`): the JIT registers their addresses, a linker would resolve them;
//! - host kernels are called through `host_step(ctx, slot, k, mem)`, which finds the kernel at
//!   context slot `slot` and its state at `slot + 1`.
//!
//! Files: `compile.rs` (code generation into a module, step loop, op dispatch), `jit.rs` (the
//! JIT module), `emit.rs` (code-building helpers, the constant pool), `ops.rs` (linear and
//! data-movement ops, filters, probes), `neurons.rs`, `func.rs` (node functions), `host.rs` (host
//! symbols and the kernel trampoline), `kernels.rs` and `conv.rs` (host kernels), `layout.rs`
//! (state block, kernels, context slots), `driver.rs` (running). A new op kind is a new arm in
//! `compile::emit_op`, generated with the helpers of `emit.rs` or run as a [`host::HostKernel`].

mod compile;
mod conv;
mod dense;
mod driver;
mod emit;
mod events;
mod float;
mod func;
pub mod fuse;
mod host;
mod jit;
mod kernels;
mod layout;
mod neurons;
#[cfg(test)]
mod object_tests;
mod ops;
#[cfg(test)]
mod tests;

pub use float::JitFloat;

use cranelift_jit::JITModule;
use driver::{Exec, Meta};
use ndarray::ArrayD;
use snn_compiler::ir::opt::{self, Pass};
use snn_compiler::ir::Program;
use snn_compiler::target::{Executable, Target, TargetError};
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
    F64(Exec<f64>),
    F32(Exec<f32>),
}

/// A program compiled to native code, ready to run any number of times.
pub struct Compiled {
    inner: Inner,
    meta: Meta,
    module: Option<JITModule>,
    compile_time: Duration,
    code_size: usize,
    host_ops: Vec<String>,
}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: the code is only called through `self`, which is going away.
            unsafe { m.free_memory() };
        }
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
    let (inner, module, size, host_ops) = match precision {
        Precision::F64 => {
            let (m, f, res, size) = jit::compile::<f64>(program, &fused)?;
            let ops = res.host_ops.clone();
            (Inner::F64(Exec { f, res }), m, size, ops)
        }
        Precision::F32 => {
            let (m, f, res, size) = jit::compile::<f32>(program, &fused)?;
            let ops = res.host_ops.clone();
            (Inner::F32(Exec { f, res }), m, size, ops)
        }
    };
    let meta = Meta {
        hoisted_inputs: program.hoisted_inputs(),
        inputs: program.inputs.iter().map(|i| (i.name.clone(), i.shape.iter().product())).collect(),
        probes: program
            .probes
            .iter()
            .map(|p| {
                let size = program.signals.get(p.signal.0 as usize).map_or(0, |s| s.size);
                (p.name.clone(), p.shape.clone(), p.every.max(1), size)
            })
            .collect(),
    };
    Ok(Compiled {
        inner,
        meta,
        module: Some(module),
        compile_time: start.elapsed(),
        code_size: size,
        host_ops,
    })
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
            Inner::F64(e) => e.run(&self.meta, steps, batch, inputs, threads, progress),
            Inner::F32(e) => e.run(&self.meta, steps, batch, inputs, threads, progress),
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
            Inner::F64(e) => e.res.len,
            Inner::F32(e) => e.res.len,
        }
    }
}
