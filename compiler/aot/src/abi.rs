//! The model's own C functions (`NAME_new`, `NAME_run`, …) as generated code in a second object
//! file: each calls the matching `snnrt_*` function of snn-capi; `NAME_new` passes the model's
//! embedded plan (a read-only data object) and its step function.

use crate::AotError;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, Type, Value};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{default_libcall_names, DataDescription, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};

fn cg<E: std::fmt::Display>(e: E) -> AotError {
    AotError::Codegen(e.to_string())
}

/// One C function: its name after `NAME_`, parameter and result types.
struct Fwd {
    name: &'static str,
    params: &'static [Type],
    rets: &'static [Type],
}

const P: Type = types::I64;

/// Every C function of a model, after its `NAME_` prefix (the library exports these only):
/// `new` and the forwards.
pub(crate) fn functions() -> impl Iterator<Item = &'static str> {
    std::iter::once("new").chain(FORWARDS.iter().map(|f| f.name))
}

/// Functions forwarded as they are (`NAME_x` calls `snnrt_x`).
const FORWARDS: &[Fwd] = &[
    Fwd { name: "free", params: &[P], rets: &[] },
    Fwd { name: "set_input", params: &[P, P, P, P], rets: &[types::I32] },
    Fwd { name: "run", params: &[P, types::I64], rets: &[types::I32] },
    Fwd { name: "probe_size", params: &[P, P], rets: &[P] },
    Fwd { name: "probe_samples", params: &[P, P], rets: &[P] },
    Fwd { name: "read_probe", params: &[P, P, P, P], rets: &[types::I32] },
    Fwd { name: "reset", params: &[P], rets: &[] },
    Fwd { name: "last_error", params: &[P], rets: &[P] },
];

/// The object defining `NAME_*` for the model whose step function is `run_symbol` and whose
/// plan is `plan`.
pub(crate) fn object(name: &str, run_symbol: &str, plan: &[u8]) -> Result<Vec<u8>, AotError> {
    let mut flags = settings::builder();
    flags.set("is_pic", "true").map_err(cg)?;
    flags.set("opt_level", "speed").map_err(cg)?;
    let isa =
        cranelift_native::builder().map_err(cg)?.finish(settings::Flags::new(flags)).map_err(cg)?;
    let builder =
        ObjectBuilder::new(isa, format!("{name}_abi"), default_libcall_names()).map_err(cg)?;
    let mut module = ObjectModule::new(builder);
    if module.target_config().pointer_type() != P {
        return Err(AotError::Unsupported("only 64-bit targets".into()));
    }

    // The plan: read-only bytes, local to the library.
    let plan_id = module
        .declare_data(&format!("{name}_snn_plan"), Linkage::Local, false, false)
        .map_err(cg)?;
    let mut data = DataDescription::new();
    data.define(plan.to_vec().into_boxed_slice());
    data.set_align(16);
    module.define_data(plan_id, &data).map_err(cg)?;

    // NAME_new(batch) = snnrt_new(plan, plan_len, run, batch)
    let run_id = module
        .declare_function(run_symbol, Linkage::Import, &signature(&module, &[P; 4], &[]))
        .map_err(cg)?;
    let target = signature(&module, &[P, P, P, types::I32], &[P]);
    let callee = module.declare_function("snnrt_new", Linkage::Import, &target).map_err(cg)?;
    let sig = signature(&module, &[types::I32], &[P]);
    let plan_len = plan.len() as i64;
    define(&mut module, &format!("{name}_new"), sig, |m, b, args| {
        let gv = m.declare_data_in_func(plan_id, b.func);
        let plan_ptr = b.ins().symbol_value(P, gv);
        let len = b.ins().iconst(P, plan_len);
        let fref = m.declare_func_in_func(run_id, b.func);
        let run = b.ins().func_addr(P, fref);
        let cref = m.declare_func_in_func(callee, b.func);
        let call = b.ins().call(cref, &[plan_ptr, len, run, args[0]]);
        b.inst_results(call).to_vec()
    })?;
    // NAME_x(args) = snnrt_x(args)
    for f in FORWARDS {
        let sig = signature(&module, f.params, f.rets);
        let callee = module
            .declare_function(&format!("snnrt_{}", f.name), Linkage::Import, &sig)
            .map_err(cg)?;
        define(&mut module, &format!("{name}_{}", f.name), sig, |m, b, args| {
            let cref = m.declare_func_in_func(callee, b.func);
            let call = b.ins().call(cref, args);
            b.inst_results(call).to_vec()
        })?;
    }
    module.finish().emit().map_err(cg)
}

fn signature(module: &ObjectModule, params: &[Type], rets: &[Type]) -> Signature {
    let mut sig = module.make_signature();
    sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
    sig.returns.extend(rets.iter().map(|&t| AbiParam::new(t)));
    sig
}

/// Defines the exported function `name` of signature `sig` whose single block returns what
/// `body` computes from the arguments.
fn define(
    module: &mut ObjectModule,
    name: &str,
    sig: Signature,
    body: impl FnOnce(&mut ObjectModule, &mut FunctionBuilder<'_>, &[Value]) -> Vec<Value>,
) -> Result<(), AotError> {
    let id = module.declare_function(name, Linkage::Export, &sig).map_err(cg)?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    let mut fbc = FunctionBuilderContext::new();
    let tc = module.target_config();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let args = b.block_params(entry).to_vec();
        let r = body(module, &mut b, &args);
        b.ins().return_(&r);
        b.seal_all_blocks();
        b.finalize(tc);
    }
    module.define_function(id, &mut ctx).map_err(cg)
}
