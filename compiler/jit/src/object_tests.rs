//! The generator against an object-file module: every example compiles into a relocatable
//! object exporting `snn_run`, with its constants as data and no JIT in sight (what an
//! ahead-of-time build will link against the host symbols of `host.rs`).

use super::compile::{self, RUN_SYMBOL};
use super::emit::POOL_SYMBOL;
use super::float::JitFloat;
use cranelift_module::default_libcall_names;
use cranelift_object::{ObjectBuilder, ObjectModule};
use snn_compiler::ir::Program;
use snn_compiler::CompileConfig;
use snn_exec::symbols;
use snn_fs::FsDb;
use std::path::Path;

/// `program` generated for `T` into an object module (position-independent code).
fn object<T: JitFloat>(program: &Program) -> cranelift_object::ObjectProduct {
    let isa = compile::isa(true).expect("isa");
    let builder = ObjectBuilder::new(isa, "snn", default_libcall_names()).expect("builder");
    let mut module = ObjectModule::new(builder);
    compile::generate::<T, _>(&mut module, program, &crate::fuse::plan(program), RUN_SYMBOL)
        .expect("generates");
    module.finish()
}

fn example(name: &str) -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    let mut db = FsDb::new();
    let root = db.load(&path).expect("reads the example");
    let mut program =
        snn_compiler::compile(&mut db, root, &CompileConfig::default()).expect("compiles");
    let held = vec![true; program.inputs.len()];
    snn_compiler::target::Target::optimize(&crate::Jit, &mut program, &held);
    program
}

fn check<T: JitFloat>(name: &str) {
    let product = object::<T>(&example(name));
    let obj = &product.object;
    let run = obj.symbol_id(RUN_SYMBOL.as_bytes()).expect("snn_run is defined");
    assert!(!obj.symbol(run).is_undefined(), "{name}: snn_run is defined");
    let pool = obj.symbol_id(POOL_SYMBOL.as_bytes()).expect("the constants are data");
    assert!(!obj.symbol(pool).is_undefined(), "{name}: the constant pool is defined");
    // Host functions are imports, left to the linker.
    for (host, _) in symbols::symbols::<T>() {
        if let Some(id) = obj.symbol_id(host.as_bytes()) {
            assert!(obj.symbol(id).is_undefined(), "{name}: {host} is an import");
        }
    }
    if name == "conv_layers.snn" {
        let step = symbols::typed_symbol::<T>("host_step");
        assert!(obj.symbol_id(step.as_bytes()).is_some(), "{name}: kernels through {step}");
    }
    let bytes = product.emit().expect("emits");
    assert!(bytes.len() > 64, "{name}: an object file");
}

#[test]
fn examples_generate_objects() {
    for name in
        ["communication_channel.snn", "conv_layers.snn", "integrator.snn", "square.snn", "tour.snn"]
    {
        check::<f64>(name);
        check::<f32>(name);
    }
}
