//! The JIT module: a [`JITModule`] with the host symbols registered, the program generated into
//! it (`compile.rs`), finalized, and the entry point taken from it. The only code that knows
//! the module is a JIT.

use super::compile::{self, cg};
use super::float::JitFloat;
use super::JitError;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;
use snn_compiler::ir::Program;
use snn_exec::{symbols, Layout, RunFn};

/// Compiles `program` for `T` in memory (`fused`: the fusion plan, [`crate::fuse::plan`]): the
/// module owning the code and its constants, the entry point, the layout and kernels the driver
/// provides it, and the size of the code in bytes.
pub(super) fn compile<T: JitFloat>(
    program: &Program,
    fused: &[bool],
) -> Result<(JITModule, RunFn<T>, Layout, usize), JitError> {
    let mut jb = JITBuilder::with_isa(compile::isa(false)?, default_libcall_names());
    for (name, addr) in symbols::symbols::<T>() {
        jb.symbol(name, addr);
    }
    let mut module = JITModule::new(jb);
    let (fid, layout, size) =
        compile::generate::<T, _>(&mut module, program, fused, compile::RUN_SYMBOL)?;
    module.finalize_definitions().map_err(cg)?;
    let code = module.get_finalized_function(fid);
    // SAFETY: `snn_run` was declared with exactly this signature (four 64-bit arguments).
    let f: RunFn<T> = unsafe { std::mem::transmute::<*const u8, RunFn<T>>(code) };
    Ok((module, f, layout, size))
}
