//! The reference backend: runs a [`Program`] op by op over plain buffers of `f32` or `f64` (one
//! generic code path, [`Real`]). Simple and obviously right; the definition the other backends
//! are tested against. Batch elements and chunks of steps go through the runtime's run loop
//! (`snn_runtime::batch`, which compiled code shares), so long runs stream their probes.
//!
//! Constants of the IR (matrices, kernels, scales) are `f64`; a run casts them once to its float
//! type. Node functions ([`crate::func::FnExpr`]) and processes are evaluated in `f64` and their
//! results cast. Precision contract of `f32` runs: docs/PRECISION.md.

use crate::ir::{OpKind, Program, Sel, SignalId};
use crate::target::{Executable, Resumable, Target, TargetError};
use ndarray::{Array2, ArrayD};
use snn_runtime::batch::{self, ProbeSpec, Stepper};
use snn_runtime::kernels::conv::Conv;
use snn_runtime::kernels::dense;
use snn_runtime::kernels::neurons::init_state;
use snn_runtime::kernels::spike::Columns;
use snn_runtime::neurons::NeuronState;
use snn_runtime::process::ProcessState;
use snn_runtime::real::{cast_all, cast_into};
use snn_runtime::synapse::FilterState;
use snn_runtime::Precision;
pub use snn_runtime::Real;

/// Per-op mutable state of one batch element.
#[allow(clippy::large_enum_variant)] // one per op, built once per run
enum OpState<T> {
    None,
    Neurons(NeuronState<T>),
    Filter(FilterState<T>),
    Process(ProcessState),
}

/// Per-op constants cast to the run's float type (shared by the batch).
enum Consts<T> {
    None,
    /// Reset value, elementwise scale or sparse values.
    Vec(Vec<T>),
    /// Dense matrix.
    Mat(Array2<T>),
    /// Convolution kernel.
    Conv(Conv<T>),
    /// Matrix by columns (spike-driven products).
    Cols(Columns<T>),
}

fn prepare<T: Real>(program: &Program) -> Result<Vec<Consts<T>>, String> {
    all_ops(program)
        .map(|op| {
            Ok(match &op.kind {
                OpKind::Reset { value, .. } => Consts::Vec(cast_all(value)),
                OpKind::ElementwiseInc { scale, .. } => Consts::Vec(cast_all(scale)),
                OpKind::SparseDotInc { rows, cols, vals, src, dst, src_sel, dst_sel }
                    if op.events =>
                {
                    let sel_len = |sel: &crate::ir::Sel, sig: &SignalId| {
                        sel.as_ref().map_or(program.signals[sig.0 as usize].size, Vec::len)
                    };
                    let (m, n) = (sel_len(dst_sel, dst), sel_len(src_sel, src));
                    Consts::Cols(Columns::sparse(rows, cols, vals, m, n)?)
                }
                OpKind::DotInc { mat, .. } if op.events => Consts::Cols(Columns::dense(mat.view())),
                OpKind::SparseDotInc { vals, .. } => Consts::Vec(cast_all(vals)),
                OpKind::DotInc { mat, .. } => Consts::Mat(mat.mapv(T::cast)),
                OpKind::ConvInc { spec, .. } => Consts::Conv(Conv::new(spec, op.events)?),
                _ => Consts::None,
            })
        })
        .collect()
}

/// The hoisted ops, then the ops of a step.
fn all_ops(program: &Program) -> impl Iterator<Item = &crate::ir::Op> {
    program.once.iter().chain(&program.ops)
}

/// The reference interpreter as a [`Target`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Interp;

impl Target for Interp {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn prepare(
        &self,
        program: &Program,
        precision: Precision,
    ) -> Result<Box<dyn Executable>, TargetError> {
        Ok(Box::new(Prepared { program: program.clone(), precision }))
    }
}

/// A program for the interpreter, with the float type it runs in.
struct Prepared {
    program: Program,
    precision: Precision,
}

impl Executable for Prepared {
    fn run(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, TargetError> {
        let mut whole = None;
        let mut keep = |arrays: Vec<ArrayD<f64>>| {
            whole = Some(arrays);
            Ok(())
        };
        self.run_streaming(steps, batch, inputs, threads, steps.max(1), progress, &mut keep)?;
        whole.ok_or_else(|| TargetError::Run("the run gave no samples".into()))
    }

    fn streams(&self) -> bool {
        true
    }

    fn element(&self, b: usize) -> Result<Box<dyn Resumable + '_>, TargetError> {
        fn make<T: Real>(p: &Program, b: usize) -> Result<Box<dyn Resumable + '_>, String> {
            let sim = Sim::<T>::new(p)?;
            let e = sim.element(b)?;
            Ok(Box::new(Resume { sim, e, bufs: batch::ChunkBuffers::default() }))
        }
        match self.precision {
            Precision::F64 => make::<f64>(&self.program, b),
            Precision::F32 => make::<f32>(&self.program, b),
        }
        .map_err(TargetError::Run)
    }

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
        let p = &self.program;
        let run = (steps, batch, threads, chunk);
        match self.precision {
            Precision::F64 => run_chunked::<f64>(p, run, inputs, progress, sink),
            Precision::F32 => {
                let cast: Vec<ArrayD<f32>> = inputs.iter().map(|a| a.mapv(|v| v as f32)).collect();
                let mut widen = |arrays: Vec<ArrayD<f32>>| {
                    sink(arrays.into_iter().map(|a| a.mapv(f64::from)).collect())
                };
                run_chunked::<f32>(p, run, &cast, progress, &mut widen)
            }
        }
        .map_err(TargetError::Run)
    }
}

/// Run `program` for `steps` steps in the float type `T`. `inputs[i]` is `(batch, *shape)`
/// (held) or `(batch, steps, *shape)` (per step) for program input `i`. Returns one array per
/// probe, `(batch, samples, *shape)`.
pub fn run<T: Real>(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<T>],
) -> Result<Vec<ArrayD<T>>, String> {
    run_with_progress(program, steps, batch, inputs, &mut |_| {})
}

/// [`run`], calling `progress(n)` after every `n` simulated steps (summed over the batch).
/// Batch elements run one at a time.
pub fn run_with_progress<T: Real>(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<T>],
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ArrayD<T>>, String> {
    let mut whole = None;
    let mut keep = |arrays: Vec<ArrayD<T>>| {
        whole = Some(arrays);
        Ok(())
    };
    run_chunked(program, (steps, batch, 1, steps.max(1)), inputs, progress, &mut keep)?;
    whole.ok_or_else(|| "the run gave no samples".to_string())
}

/// Runs `program` through the runtime's run loop ([`batch::run_chunked`], which compiled code
/// shares): `(steps, batch, threads, chunk)`, `sink` getting each chunk's probe samples, per
/// probe `(batch, samples in the chunk, *shape)`.
pub fn run_chunked<T: Real>(
    program: &Program,
    (steps, batch, threads, chunk): (usize, usize, usize, usize),
    inputs: &[ArrayD<T>],
    progress: &mut dyn FnMut(u64),
    sink: &mut dyn FnMut(Vec<ArrayD<T>>) -> Result<(), String>,
) -> Result<(), String> {
    let decls: Vec<(&str, usize)> =
        program.inputs.iter().map(|d| (d.name.as_str(), d.shape.iter().product())).collect();
    for (i, per_b) in batch::check_inputs(&decls, inputs, steps, batch)?.into_iter().enumerate() {
        program.check_held(i, per_b)?;
    }
    let sim = Bound { sim: Sim::new(program)?, inputs };
    let probes: Vec<ProbeSpec<'_>> = program
        .probes
        .iter()
        .map(|p| ProbeSpec {
            name: &p.name,
            size: program.signals[p.signal.0 as usize].size,
            every: p.every,
            shape: &p.shape,
        })
        .collect();
    batch::run_chunked(&sim, &probes, steps, batch, threads, chunk, progress, sink)
}

/// Scratch buffers reused by every op of a step (no allocation per step).
struct Scratch<T> {
    /// Copy of a source that is also the destination.
    alias: Vec<T>,
    /// Gathered source elements.
    gathered: Vec<T>,
    /// Results before scattering.
    y: Vec<T>,
    /// `f64` values for node functions and processes.
    wide: Vec<f64>,
    /// Nonzero source elements of a spike-driven product.
    nz: Vec<(usize, T)>,
    /// `f64` input and output of a host function.
    host: (Vec<f64>, Vec<f64>),
}

/// `(src, dst)` of one op; `src` is copied first when it is `dst`.
fn io<'a, T: Copy>(
    sig: &'a mut [Vec<T>],
    src: SignalId,
    dst: SignalId,
    alias: &'a mut Vec<T>,
) -> (&'a [T], &'a mut [T]) {
    let (s, d) = (src.0 as usize, dst.0 as usize);
    if s == d {
        alias.clear();
        alias.extend_from_slice(&sig[s]);
        (alias.as_slice(), sig[d].as_mut_slice())
    } else if s < d {
        let (lo, hi) = sig.split_at_mut(d);
        (lo[s].as_slice(), hi[0].as_mut_slice())
    } else {
        let (lo, hi) = sig.split_at_mut(s);
        (hi[0].as_slice(), lo[d].as_mut_slice())
    }
}

/// `src[sel]`: the slice itself, or its selected elements gathered into `buf`.
fn select<'a, T: Copy>(src: &'a [T], sel: &Sel, buf: &'a mut Vec<T>) -> &'a [T] {
    match sel {
        None => src,
        Some(ix) => {
            buf.clear();
            buf.extend(ix.iter().map(|&i| src[i]));
            buf
        }
    }
}

/// `dst[sel] = vals` or `dst[sel] += vals`.
fn scatter<T: Real>(dst: &mut [T], sel: &Sel, vals: &[T], inc: bool) {
    match (sel, inc) {
        (None, true) => dst.iter_mut().zip(vals).for_each(|(d, &v)| *d += v),
        (None, false) => dst.iter_mut().zip(vals).for_each(|(d, &v)| *d = v),
        (Some(ix), true) => ix.iter().zip(vals).for_each(|(&i, &v)| dst[i] += v),
        (Some(ix), false) => ix.iter().zip(vals).for_each(|(&i, &v)| dst[i] = v),
    }
}

/// What one batch element's run of a step reads besides signals: the step, its time, `dt`,
/// and the element's inputs: per input its values held (one sample) or per step from step
/// `base + 1` on.
struct StepCtx<'a, T> {
    k: usize,
    t: f64,
    dt: f64,
    dt_t: T,
    base: usize,
    inputs: &'a [&'a [T]],
}

/// The mutable state of `op` for batch element `b` (neurons, filters, processes), at t = 0.
fn op_state<T: Real>(
    program: &Program,
    op: &crate::ir::Op,
    b: usize,
) -> Result<OpState<T>, String> {
    let dt = program.dt;
    Ok(match &op.kind {
        OpKind::SimNeurons { neuron, j, init, seed, .. } => {
            let n = program.signals[j.0 as usize].size;
            OpState::Neurons(init_state(neuron, n, *seed, b, init).map_err(|e| e.to_string())?)
        }
        OpKind::Filter { filter, src, .. } => {
            OpState::Filter(filter.new_state(program.signals[src.0 as usize].size))
        }
        OpKind::Process { spec, dst, seed } => {
            let n = program.signals[dst.0 as usize].size;
            let p = ProcessState::new(spec, n, dt, *seed, b).map_err(|e| e.to_string())?;
            OpState::Process(p)
        }
        _ => OpState::None,
    })
}

/// Runs one op of a step on the signals of one batch element.
#[allow(clippy::too_many_lines)] // one arm per op kind
fn step_op<T: Real>(
    op: &crate::ir::Op,
    st: &mut OpState<T>,
    c: &Consts<T>,
    sig: &mut [Vec<T>],
    sc: &mut Scratch<T>,
    cx: &StepCtx<'_, T>,
) -> Result<(), String> {
    let StepCtx { k, t, dt, dt_t, base, inputs } = *cx;
    match &op.kind {
        OpKind::Input { input, dst } => {
            let flat = inputs.get(*input).ok_or("an input is missing")?;
            let size = sig[dst.0 as usize].len();
            let start = if flat.len() == size { 0 } else { (k - 1 - base) * size };
            let row = flat.get(start..start + size).ok_or("an input holds too few steps")?;
            sig[dst.0 as usize].copy_from_slice(row);
        }
        OpKind::Scale { dst, factor } => {
            let f = T::cast(*factor);
            sig[dst.0 as usize].iter_mut().for_each(|v| *v = *v * f);
        }
        OpKind::Reset { dst, .. } => {
            let Consts::Vec(value) = c else { return Ok(()) };
            let d = &mut sig[dst.0 as usize];
            if value.len() == 1 {
                d.fill(value[0]);
            } else {
                d.copy_from_slice(value);
            }
        }
        OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
            let (s, d) = io(sig, *src, *dst, &mut sc.alias);
            let x = select(s, src_sel, &mut sc.gathered);
            scatter(d, dst_sel, x, *inc);
        }
        OpKind::ElementwiseInc { src, dst, src_sel, dst_sel, .. } => {
            let Consts::Vec(scale) = c else { return Ok(()) };
            let (s, d) = io(sig, *src, *dst, &mut sc.alias);
            let x = select(s, src_sel, &mut sc.gathered);
            sc.y.clear();
            if scale.len() == 1 {
                sc.y.extend(x.iter().map(|&v| v * scale[0]));
            } else {
                sc.y.extend(x.iter().zip(scale).map(|(&v, &a)| v * a));
            }
            scatter(d, dst_sel, &sc.y, true);
        }
        OpKind::DotInc { src, dst, src_sel, dst_sel, .. }
        | OpKind::SparseDotInc { src, dst, src_sel, dst_sel, .. }
            if op.events =>
        {
            let Consts::Cols(m) = c else { return Ok(()) };
            let (s, d) = io(sig, *src, *dst, &mut sc.alias);
            let x = select(s, src_sel, &mut sc.gathered);
            match dst_sel {
                None => m.product(x, &mut sc.nz, d),
                Some(_) => {
                    sc.y.clear();
                    sc.y.resize(m.rows(), T::zero());
                    m.product(x, &mut sc.nz, &mut sc.y);
                    scatter(d, dst_sel, &sc.y, true);
                }
            }
        }
        OpKind::DotInc { src, dst, src_sel, dst_sel, .. } => {
            let Consts::Mat(mat) = c else { return Ok(()) };
            let (s, d) = io(sig, *src, *dst, &mut sc.alias);
            let x = select(s, src_sel, &mut sc.gathered);
            sc.y.clear();
            sc.y.resize(mat.nrows(), T::zero());
            dense::dot_rows(mat.view(), x, &mut sc.y);
            scatter(d, dst_sel, &sc.y, true);
        }
        OpKind::SparseDotInc { rows, cols, src, dst, src_sel, dst_sel, .. } => {
            let Consts::Vec(vals) = c else { return Ok(()) };
            let (s, d) = io(sig, *src, *dst, &mut sc.alias);
            let x = select(s, src_sel, &mut sc.gathered);
            let n_out = dst_sel.as_ref().map_or(d.len(), Vec::len);
            sc.y.clear();
            sc.y.resize(n_out, T::zero());
            for ((&r, &col), &v) in rows.iter().zip(cols).zip(vals) {
                sc.y[r] += v * x[col];
            }
            scatter(d, dst_sel, &sc.y, true);
        }
        OpKind::ConvInc { src, dst, .. } => {
            let Consts::Conv(conv) = c else { return Ok(()) };
            let (x, y) = io(sig, *src, *dst, &mut sc.alias);
            sc.y.clear();
            sc.y.resize(conv.scratch_len(), T::zero());
            conv.apply(x, y, &mut sc.y, false)?;
        }
        OpKind::SimNeurons { neuron, j, out, states: st_sigs, .. } => {
            let OpState::Neurons(ns) = st else { return Ok(()) };
            let (jv, o) = io(sig, *j, *out, &mut sc.alias);
            neuron.step(dt_t, jv, o, ns);
            for (var, s) in st_sigs {
                sig[s.0 as usize].copy_from_slice(ns.get(*var));
            }
        }
        OpKind::Filter { src, dst, .. } => {
            let OpState::Filter(fs) = st else { return Ok(()) };
            let (x, y) = io(sig, *src, *dst, &mut sc.alias);
            fs.step(x, y);
        }
        OpKind::NodeFn { f, input, dst } => {
            sc.wide.clear();
            if let Some(i) = input {
                sc.wide.extend(sig[i.0 as usize].iter().map(|v| v.widen()));
            }
            let y = f.eval(t, &sc.wide);
            for (d, v) in sig[dst.0 as usize].iter_mut().zip(y) {
                *d = T::cast(v);
            }
        }
        OpKind::HostFn { op, input, dst } => {
            let (x, y) = io(sig, *input, *dst, &mut sc.alias);
            op.apply_in(x, y, &mut sc.host);
        }
        OpKind::Process { dst, .. } => {
            let OpState::Process(p) = st else { return Ok(()) };
            let d = &mut sig[dst.0 as usize];
            sc.wide.resize(d.len(), 0.0);
            p.step(k as u64, dt, &mut sc.wide);
            cast_into(&sc.wide, d);
        }
    }
    Ok(())
}

/// A program with its constants cast to `T`.
struct Sim<'a, T> {
    program: &'a Program,
    consts: Vec<Consts<T>>,
    /// The hoisted ops, then the ops of a step (aligned with `consts`).
    ops: Vec<&'a crate::ir::Op>,
}

/// A program with the inputs of one run (`(batch, *shape)` or `(batch, steps, *shape)` each):
/// what the run loop steps.
struct Bound<'a, T> {
    sim: Sim<'a, T>,
    inputs: &'a [ArrayD<T>],
}

/// One batch element between chunks: its signals, op states and scratch buffers.
struct Elem<T> {
    sig: Vec<Vec<T>>,
    states: Vec<OpState<T>>,
    sc: Scratch<T>,
}

impl<'a, T: Real> Sim<'a, T> {
    /// `program`'s ops with their constants cast to `T`.
    fn new(program: &'a Program) -> Result<Self, String> {
        Ok(Sim { program, consts: prepare::<T>(program)?, ops: all_ops(program).collect() })
    }

    /// Batch element `b` at `t = 0`.
    fn element(&self, b: usize) -> Result<Elem<T>, String> {
        let sig =
            self.program
                .signals
                .iter()
                .map(|s| {
                    if s.init.len() == s.size {
                        cast_all(&s.init)
                    } else {
                        vec![T::zero(); s.size]
                    }
                })
                .collect();
        let mut states = Vec::with_capacity(self.ops.len());
        for op in &self.ops {
            states.push(op_state(self.program, op, b)?);
        }
        let sc = Scratch {
            alias: Vec::new(),
            gathered: Vec::new(),
            y: Vec::new(),
            wide: Vec::new(),
            nz: Vec::new(),
            host: (Vec::new(), Vec::new()),
        };
        Ok(Elem { sig, states, sc })
    }

    /// Runs steps `k0 + 1 ..= k1` of `e` (which has run `k0`): `inputs[i]` holds input `i`'s
    /// values held or per step from step `base + 1` on; `out[i]` gets probe `i`'s samples.
    fn advance(
        &self,
        e: &mut Elem<T>,
        (k0, k1): (u64, u64),
        (inputs, base): (&[&[T]], usize),
        out: &mut [&mut [T]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        let program = self.program;
        let (dt, n_once) = (program.dt, program.once.len());
        let dt_t = T::cast(dt);
        let mut filled = vec![0usize; out.len()];
        let mut unreported = 0;
        // The hoisted ops run first (as part of step 1), then each step runs the rest.
        let first = if k0 == 0 { 0 } else { k0 as usize + 1 };
        for pass in first..=k1 as usize {
            let k = pass.max(1);
            let cx = StepCtx { k, t: k as f64 * dt, dt, dt_t, base, inputs };
            let range = if pass == 0 { 0..n_once } else { n_once..self.ops.len() };
            let todo = self.ops[range.clone()]
                .iter()
                .zip(&mut e.states[range.clone()])
                .zip(&self.consts[range]);
            for ((op, st), c) in todo {
                step_op(op, st, c, &mut e.sig, &mut e.sc, &cx)?;
            }
            if pass == 0 {
                continue;
            }
            for (i, p) in program.probes.iter().enumerate() {
                if k % p.every.max(1) == 0 {
                    let v = &e.sig[p.signal.0 as usize];
                    let at = filled[i];
                    let dst = out[i].get_mut(at..at + v.len()).ok_or_else(|| {
                        format!("probe {}: more samples than its buffer holds", p.name)
                    })?;
                    dst.copy_from_slice(v);
                    filled[i] += v.len();
                }
            }
            unreported += 1;
            if unreported == 100 {
                report(100);
                unreported = 0;
            }
        }
        if unreported > 0 {
            report(unreported);
        }
        Ok(())
    }
}

impl<T: Real> Stepper<T> for Bound<'_, T> {
    type Element = Elem<T>;

    fn element(&self, b: usize) -> Result<Elem<T>, String> {
        self.sim.element(b)
    }

    fn advance(
        &self,
        e: &mut Elem<T>,
        b: usize,
        steps: (u64, u64),
        out: &mut [&mut [T]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        // element b's row of every input (checked by `run_chunked`)
        let rows =
            self.inputs.iter().map(|a| batch::element_row(a, b)).collect::<Result<Vec<_>, _>>()?;
        self.sim.advance(e, steps, (&rows, 0), out, report)
    }
}

/// One batch element of a program prepared for the interpreter, run chunk by chunk
/// ([`Executable::element`]).
struct Resume<'a, T> {
    sim: Sim<'a, T>,
    e: Elem<T>,
    bufs: batch::ChunkBuffers<T>,
}

impl<T: Real> Resumable for Resume<'_, T> {
    fn advance(
        &mut self,
        (k0, k1): (u64, u64),
        inputs: &[&[f64]],
        out: &mut [&mut [f64]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), TargetError> {
        self.bufs.load(inputs, out);
        let ins: Vec<&[T]> = self.bufs.ins.iter().map(Vec::as_slice).collect();
        let mut outs: Vec<&mut [T]> = self.bufs.outs.iter_mut().map(Vec::as_mut_slice).collect();
        let base = k0 as usize;
        self.sim
            .advance(&mut self.e, (k0, k1), (&ins, base), &mut outs, report)
            .map_err(TargetError::Run)?;
        self.bufs.store(out);
        Ok(())
    }
}
