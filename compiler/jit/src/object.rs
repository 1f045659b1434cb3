//! The generator writing an object file (`cranelift-object`): the code of a whole program as a
//! relocatable, position-independent object exporting `<prefix>_run`, with its constants as
//! data and the host functions as imports — what `snnc build` links with snn-exec into a native
//! library — plus the [`Plan`] the executor needs beside it.

use super::compile;
use super::float::JitFloat;
use super::JitError;
use cranelift_module::default_libcall_names;
use cranelift_object::{ObjectBuilder, ObjectModule};
use snn_compiler::ir::Program;
use snn_exec::Plan;
use snn_runtime::Precision;

/// An object file of a program's code and the plan it runs with.
pub struct Object {
    /// The object file's bytes (ELF on Linux).
    pub bytes: Vec<u8>,
    /// The exported step function's name (`<prefix>_run`).
    pub run_symbol: String,
    /// Layout, kernels, inputs and probes.
    pub plan: Plan,
}

/// Generates `program` computing in `precision` into an object file whose step function is
/// `<prefix>_run` (the constant pool is local to the object). The plan's kernels are
/// instantiated once to check them.
pub fn object(program: &Program, precision: Precision, prefix: &str) -> Result<Object, JitError> {
    match precision {
        Precision::F64 => object_t::<f64>(program, precision, prefix),
        Precision::F32 => object_t::<f32>(program, precision, prefix),
    }
}

fn object_t<T: JitFloat>(
    program: &Program,
    precision: Precision,
    prefix: &str,
) -> Result<Object, JitError> {
    let isa = compile::isa(true)?;
    let builder = ObjectBuilder::new(isa, prefix, default_libcall_names()).map_err(compile::cg)?;
    let mut module = ObjectModule::new(builder);
    let run_symbol = format!("{prefix}_run");
    let fused = crate::fuse::plan(program);
    let (_, layout, _) = compile::generate::<T, _>(&mut module, program, &fused, &run_symbol)?;
    for (spec, _) in &layout.kernels {
        spec.instantiate::<T>().map_err(JitError::Invalid)?;
    }
    let plan = crate::plan(program, layout, precision);
    let bytes = module.finish().emit().map_err(compile::cg)?;
    Ok(Object { bytes, run_symbol, plan })
}
