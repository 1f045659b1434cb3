//! snn-aot: `snnc build`, a program compiled ahead of time into a native library.
//!
//! The JIT's own code generator writes the program into an object file
//! ([`snn_jit::object`]: step function, constants); [`abi`] generates a second object with the
//! model's C functions (`NAME_new`, `NAME_run`, …) calling snn-capi's `snnrt_*` with the plan
//! (layout, kernels with their weights, inputs, probes) embedded as data; both are linked with
//! snn-capi — the executor and the runtime kernels, the same code `snnc run` runs, built by
//! `build.rs` and embedded in snnc — into `libNAME.so` (`cc -shared`) and `libNAME.a` (`ar`),
//! beside `NAME.h` ([`header`]). The library reads no file and needs nothing of snnc.

mod abi;
pub mod header;
mod link;
mod runtime;

pub use header::{c_ident, ABI_VERSION};
pub use link::Built;

use snn_compiler::ir::Program;
use snn_runtime::Precision;
use std::path::Path;

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AotError {
    /// Code generation failed (or the program is not supported).
    #[error("{0}")]
    Jit(String),
    /// The object files could not be made.
    #[error("code generation failed: {0}")]
    Codegen(String),
    /// The target is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The C compiler or archiver is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// Files could not be written.
    #[error("{0}")]
    Io(String),
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// Library name, a C identifier: `libNAME.so`, `libNAME.a`, `NAME.h`, `NAME_*` functions.
    pub name: &'a str,
    /// The float type of the code, inputs and probes.
    pub precision: Precision,
    /// The model file (named in the header, never overwritten).
    pub source: &'a Path,
    /// The C compiler driver that links (`cc`, or `$CC`; see [`default_cc`]).
    pub cc: &'a str,
}

/// The linker driver `snnc build` uses: `$CC` when set, else `cc`.
pub fn default_cc() -> String {
    std::env::var("CC").ok().filter(|c| !c.is_empty()).unwrap_or_else(|| "cc".to_string())
}

/// Builds `program` (optimised for the JIT with every input held): the shared and static
/// libraries and the header, in a scratch directory for the caller to install.
pub fn build(program: &Program, opts: &Options<'_>) -> Result<Built, AotError> {
    let name = opts.name;
    if c_ident(name) != name {
        return Err(AotError::Unsupported(format!("`{name}` is not a C identifier")));
    }
    let obj = snn_jit::object(program, opts.precision, &format!("{name}_snn"))
        .map_err(|e| AotError::Jit(e.to_string()))?;
    let plan_bytes = obj.plan.to_bytes().map_err(AotError::Codegen)?;
    let abi_o = abi::object(name, &obj.run_symbol, &plan_bytes)?;
    let source = opts.source.display().to_string();
    let header = header::header(name, &obj.plan, &source);
    let parts = link::Parts {
        name,
        model_o: &obj.bytes,
        abi_o: &abi_o,
        runtime_a: runtime::CAPI,
        header: &header,
        cc: opts.cc,
    };
    link::link(&parts)
}
