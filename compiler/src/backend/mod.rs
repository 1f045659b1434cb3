//! Backends that execute a lowered program: `interp` (the reference) and `jit` (Cranelift), and
//! [`Backend`], the choice between them.

pub mod interp;
pub mod jit;

use crate::ir::Program;
use ndarray::ArrayD;
use snn_runtime::io::Precision;

/// A backend that runs programs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The reference interpreter.
    Interp,
    /// Native code from Cranelift (the default).
    #[default]
    Jit,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 2] = [Backend::Interp, Backend::Jit];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Interp => "interp",
            Backend::Jit => "jit",
        }
    }

    /// The backend called `name`, if any.
    pub fn parse(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs `program` on `backend` in `precision` (inputs and probe arrays are `f64`; float32
/// results are widened exactly). `threads` applies to the JIT (0: one per core).
#[allow(clippy::too_many_arguments)]
pub fn run(
    backend: Backend,
    program: &Program,
    precision: Precision,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ArrayD<f64>>, String> {
    match backend {
        Backend::Interp => match precision {
            Precision::F64 => {
                interp::run_with_progress::<f64>(program, steps, batch, inputs, progress)
            }
            Precision::F32 => {
                let cast: Vec<ArrayD<f32>> = inputs.iter().map(|a| a.mapv(|v| v as f32)).collect();
                let out = interp::run_with_progress::<f32>(program, steps, batch, &cast, progress)?;
                Ok(out.into_iter().map(|a| a.mapv(f64::from)).collect())
            }
        },
        Backend::Jit => jit::compile(program, precision)
            .map_err(|e| e.to_string())?
            .run(steps, batch, inputs, threads, progress),
    }
}
