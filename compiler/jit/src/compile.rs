//! Builds the one native function of a program into any Cranelift [`Module`]:
//! `snn_run(mem, ctx, k0, k1)` simulates steps `k0..=k1` of one batch element over its state
//! block, every op inlined in schedule order, then samples the probes. The JIT's module is made
//! and finalized in `jit.rs`; an object file's would take the same code.

use super::emit::{Elem, Gen, Loop};
use super::float::JitFloat;
use super::specs;
use super::JitError;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, BlockArg, InstBuilder};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Linkage, Module};
use snn_compiler::ir::{Op, OpKind, Program};
use snn_exec::kernel::SLOT_ONCE;
use snn_exec::kernels::host::{HostFn, Process};
use snn_exec::{KernelSpec, Layout};

/// Name of the generated function in the JIT (a native library prefixes its own).
pub(super) const RUN_SYMBOL: &str = "snn_run";

pub(super) fn cg<E: std::fmt::Display>(e: E) -> JitError {
    JitError::Codegen(e.to_string())
}

/// The host's instruction set with the generator's settings (position-independent code for an
/// object file, `pic`; absolute addresses for the JIT).
pub(super) fn isa(pic: bool) -> Result<OwnedTargetIsa, JitError> {
    let mut flags = settings::builder();
    flags.set("use_colocated_libcalls", "false").map_err(cg)?;
    flags.set("is_pic", if pic { "true" } else { "false" }).map_err(cg)?;
    flags.set("opt_level", "speed").map_err(cg)?;
    flags
        .set("enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })
        .map_err(cg)?;
    cranelift_native::builder().map_err(cg)?.finish(settings::Flags::new(flags)).map_err(cg)
}

/// Generates `program` for `T` into `module`: defines the function `run_symbol` (exported)
/// and the constant data it reads, and imports the host functions it calls (`host.rs`, by
/// name). Returns the function, the layout and kernels the caller must provide at run time,
/// and the size of the code in bytes.
pub(super) fn generate<T: JitFloat, M: Module>(
    module: &mut M,
    program: &Program,
    fused: &[bool],
    run_symbol: &str,
) -> Result<(FuncId, Layout, usize), JitError> {
    let ptr = module.target_config().pointer_type();
    if ptr != types::I64 {
        return Err(JitError::Unsupported("only 64-bit targets".into()));
    }
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(types::I64));
    }
    let fid = module.declare_function(run_symbol, Linkage::Export, &sig).map_err(cg)?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    let mut fbc = FunctionBuilderContext::new();
    let tc = module.target_config();
    let signals = program.signals.iter().map(|s| (s.size, s.init.as_slice()));
    let res = Layout::new(T::LANES, signals, program.inputs.len(), program.probes.len());
    let res = {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry).to_vec();
        let (mem, cx, k0, k1) = (p[0], p[1], p[2], p[3]);
        let head = b.create_block();
        let k = b.append_block_param(head, types::I64);
        let body = b.create_block();
        let exit = b.create_block();
        let once = b.create_block();
        let t0 = {
            let kf = b.ins().fcvt_from_sint(types::F64, k0);
            let dt = b.ins().f64const(program.dt);
            b.ins().fmul(kf, dt)
        };
        let mut g = Gen::new(b, module, res, mem, cx, k0, t0, program.dt)?;
        // The hoisted ops run when the driver asks (before the first step, and after a held
        // input changed).
        let flag = g.ld_ctx(SLOT_ONCE);
        g.b.ins().brif(flag, once, &[], head, &[BlockArg::Value(k0)]);
        g.b.switch_to_block(once);
        for op in &program.once {
            if let Some((n, e)) = emit_op(&mut g, op)? {
                g.run_elems(n, vec![e], true)?;
            }
        }
        g.b.ins().jump(head, &[BlockArg::Value(k0)]);
        g.b.switch_to_block(head);
        let more = g.b.ins().icmp(IntCC::SignedLessThanOrEqual, k, k1);
        g.b.ins().brif(more, body, &[], exit, &[]);
        g.b.switch_to_block(body);
        let kf = g.b.ins().fcvt_from_sint(types::F64, k);
        let dt = g.b.ins().f64const(program.dt);
        g.t = g.b.ins().fmul(kf, dt);
        g.k = k;
        // Elementwise ops the fusion plan joins to the op before them share its loop.
        let mut group: Vec<Elem<'_, '_, '_, T>> = Vec::new();
        let mut group_ops: Vec<&Op> = Vec::new();
        let mut group_n = 0;
        let fresh = fresh_zero(&program.ops);
        for ((op, &fresh), &joins) in program.ops.iter().zip(&fresh).zip(fused) {
            if !joins && !group.is_empty() {
                let defer = may_defer(&group, &group_ops);
                g.run_elems(group_n, std::mem::take(&mut group), defer)?;
                group_ops.clear();
            }
            g.fresh = fresh;
            if let Some((n, e)) = emit_op(&mut g, op)? {
                if !group.is_empty() && n != group_n {
                    return Err(JitError::Invalid("fused ops of different lengths".into()));
                }
                group_n = n;
                group.push(e);
                group_ops.push(op);
            } else if joins {
                return Err(JitError::Invalid(format!("{} cannot be fused", op.kind.name())));
            }
        }
        if !group.is_empty() {
            let defer = may_defer(&group, &group_ops);
            g.run_elems(group_n, group, defer)?;
        }
        g.fresh = false;
        g.probes(&program.probes)?;
        let (mut b, res) = g.into_parts()?;
        let next = b.ins().iadd_imm_s(k, 1);
        b.ins().jump(head, &[BlockArg::Value(next)]);
        b.switch_to_block(exit);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(tc);
        res
    };
    module.define_function(fid, &mut ctx).map_err(|e| JitError::Codegen(format!("{e:?}")))?;
    let size = ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
    module.clear_context(&mut ctx);
    Ok((fid, res, size))
}

/// Whether a fused group's guarded elem may leave the vectors its fast path refuses until after
/// the loop: no later op of the group touches a signal it touches.
fn may_defer<T: JitFloat>(elems: &[Elem<'_, '_, '_, T>], ops: &[&Op]) -> bool {
    let Some(at) = elems.iter().position(|e| matches!(e, Elem::Guarded(..))) else {
        return false;
    };
    let signals = |op: &Op| {
        let a = op.kind.access();
        let mut all = a.sets;
        all.extend(a.incs.into_iter().chain(a.reads).chain(a.updates));
        all
    };
    let mine = signals(ops[at]);
    ops[at + 1..].iter().all(|op| signals(op).iter().all(|s| !mine.contains(s)))
}

/// For each op, whether it is a convolution into a destination that holds zeros when it runs
/// (the last op of the step before it that writes the destination is a zero reset of all of
/// it): the spike-driven scatter then sums straight into it, which is the same as summing apart
/// and adding to zeros (spike-driven dense and sparse products sum in place into any whole
/// destination, as the interpreter does). One pass over the ops, tracking which signals were
/// just reset to zero.
fn fresh_zero(ops: &[Op]) -> Vec<bool> {
    let mut zeroed = std::collections::HashSet::new();
    ops.iter()
        .map(|op| {
            let fresh = match &op.kind {
                OpKind::ConvInc { dst, .. } => zeroed.contains(dst),
                _ => false,
            };
            let a = op.kind.access();
            for w in a.sets.iter().chain(&a.incs).chain(&a.updates) {
                zeroed.remove(w);
            }
            if let OpKind::Reset { dst, value } = &op.kind {
                if value.iter().all(|v| *v == 0.0) {
                    zeroed.insert(*dst);
                }
            }
            fresh
        })
        .collect()
}

/// The code of one op: emitted, or for an elementwise op its loop, to run alone or fused.
fn emit_op<'c, 'f, 'm, T: JitFloat>(
    g: &mut Gen<'f, 'm, T>,
    op: &'c Op,
) -> Result<Option<Loop<'c, 'f, 'm, T>>, JitError> {
    let done = |r: Result<(), JitError>| r.map(|()| None);
    match &op.kind {
        OpKind::Input { input, dst } => done(g.op_input(*input, *dst)),
        OpKind::Reset { dst, value } => g.op_reset(*dst, value).map(Some),
        OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
            g.op_copy(*src, *dst, src_sel, dst_sel, *inc, None).map(Some)
        }
        OpKind::ElementwiseInc { scale, src, dst, src_sel, dst_sel } => {
            g.op_copy(*src, *dst, src_sel, dst_sel, true, Some(scale)).map(Some)
        }
        OpKind::DotInc { mat, src, dst, src_sel, dst_sel } if op.events => {
            let kernel = specs::spikes_dense(mat, g.sig(*src)?, g.sig(*dst)?, src_sel, dst_sel)?;
            done(g.kernel(kernel, "DotInc: spike-driven columns".to_string()))
        }
        OpKind::DotInc { mat, src, dst, src_sel, dst_sel } => {
            g.op_dot(mat, *src, *dst, src_sel, dst_sel)
        }
        OpKind::SparseDotInc { rows, cols, vals, src, dst, src_sel, dst_sel } if op.events => {
            let (s, d) = (g.sig(*src)?, g.sig(*dst)?);
            let kernel = specs::spikes_sparse(rows, cols, vals, s, d, src_sel, dst_sel)?;
            done(g.kernel(kernel, "SparseDotInc: spike-driven columns".to_string()))
        }
        OpKind::SparseDotInc { rows, cols, vals, src, dst, src_sel, dst_sel } => {
            done(g.op_sparse(rows, cols, vals, *src, *dst, src_sel, dst_sel))
        }
        OpKind::ConvInc { spec, src, dst } => {
            let s = g.source(*src, *dst)?;
            let (_, ns) = g.sig(*src)?;
            let d = g.sig(*dst)?;
            let (events, fresh) = (op.events, op.events && g.fresh);
            let kernel = KernelSpec::Conv { spec: spec.clone(), x: (s, ns), y: d, events, fresh };
            let what = if op.events { "spike-driven scatter" } else { "Rust convolution kernel" };
            done(g.kernel(kernel, format!("ConvInc: {what}")))
        }
        OpKind::SimNeurons { neuron, j, out, states, init, seed } => {
            g.op_neurons(neuron, *j, *out, states, init, *seed)
        }
        OpKind::Filter { filter, src, dst } => g.op_filter(filter, *src, *dst).map(Some),
        OpKind::Scale { dst, factor } => g.op_scale(*dst, *factor).map(Some),
        OpKind::NodeFn { f, input, dst } => done(g.op_node_fn(f, *input, *dst)),
        OpKind::Process { spec, dst, seed } => {
            let (d, n) = g.sig(*dst)?;
            let kernel = Process { spec: spec.clone(), seed: *seed, dst: d, n, dt: g.dt };
            done(g.kernel(KernelSpec::Process(kernel), "Process: host process".to_string()))
        }
        OpKind::HostFn { op: hop, input, dst } => {
            let s = g.source(*input, *dst)?;
            let (_, ns) = g.sig(*input)?;
            let d = g.sig(*dst)?;
            let kernel = HostFn { op: hop.clone(), src: (s, ns), dst: d };
            done(g.kernel(KernelSpec::HostFn(kernel), format!("HostFn {}", hop.name())))
        }
    }
}
