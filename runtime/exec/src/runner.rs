//! Running compiled code: a [`Runner`] holds the code's entry point, its [`Plan`] and the
//! instantiated kernels; an [`Element`] is one batch element's state block, context table and
//! kernel states, advanced chunk by chunk through the generated function. [`Runner::run`] is the
//! one-shot run of `snnc run` (through the runtime's run loop, `snn_runtime::batch`, which the
//! interpreter shares: batch elements in parallel, progress on the caller's thread); [`crate::Session`] keeps elements alive between calls (a native library).

use crate::float::Float;
use crate::kernel::{HostKernel, KernelState, SLOT_ERROR, SLOT_LEN, SLOT_ONCE};
use crate::plan::Plan;
use ndarray::ArrayD;
pub use snn_runtime::batch::for_each_element;
use snn_runtime::batch::{self, ChunkBuffers, ProbeSpec, Stepper};

/// The generated function: state block, context table, first and last step (`k` from 1).
pub type RunFn<T> = unsafe extern "C" fn(*mut T, *const u64, i64, i64);

/// Steps per call of the generated function (progress and errors are checked between calls).
const CHUNK: u64 = 100;

/// Compiled code with what it refers to.
pub struct Runner<T> {
    run: RunFn<T>,
    plan: Plan,
    kernels: Vec<(Box<dyn HostKernel<T>>, usize)>,
}

/// Where one input's values for one batch element are: a data pointer and the byte stride per
/// step (0: held).
#[derive(Clone, Copy)]
pub struct InputPtr<T> {
    /// First value of the element's first step.
    pub data: *const T,
    /// Bytes between steps.
    pub stride: u64,
}

/// The error cell generated code reports host-kernel failures into (owned through a raw
/// pointer, which is all the code and the driver use).
struct ErrCell(*mut Option<String>);

// SAFETY: the cell is owned by its element and only touched by the thread running it.
unsafe impl Send for ErrCell {}

impl ErrCell {
    fn new() -> Self {
        Self(Box::into_raw(Box::new(None)))
    }
    fn take(&self) -> Option<String> {
        // SAFETY: the cell is live until drop; no call into generated code is running.
        unsafe { (*self.0).take() }
    }
}

impl Drop for ErrCell {
    fn drop(&mut self) {
        // SAFETY: made by Box::into_raw in `new`, freed once.
        drop(unsafe { Box::from_raw(self.0) });
    }
}

/// One batch element: its state block, context table and kernel states, and the steps run.
pub struct Element<T> {
    mem: Vec<T>,
    ctx: Vec<u64>,
    states: Vec<KernelState>,
    err: ErrCell,
    steps: u64,
}

impl<T: Float> Runner<T> {
    /// The runner of `run`, the code generated for `plan`; instantiates the plan's kernels.
    ///
    /// # Safety
    /// `run` must be the function generated for exactly this plan's layout (its signals, slots
    /// and kernels), and its code and constants must stay valid as long as the runner lives.
    pub unsafe fn new(plan: Plan, run: RunFn<T>) -> Result<Self, String> {
        let mut kernels = Vec::with_capacity(plan.layout.kernels.len());
        for (spec, slot) in &plan.layout.kernels {
            kernels.push((spec.instantiate::<T>()?, *slot));
        }
        Ok(Runner { run, plan, kernels })
    }

    /// The plan the code was generated for.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Batch element `b` at `t = 0`.
    pub fn element(&self, b: usize) -> Result<Element<T>, String> {
        let layout = &self.plan.layout;
        let mem = layout.initial_block::<T>();
        let err = ErrCell::new();
        let mut ctx = vec![0u64; layout.n_slots];
        ctx[SLOT_ERROR] = err.0 as u64;
        ctx[SLOT_LEN] = mem.len() as u64;
        for (kernel, slot) in &self.kernels {
            ctx[*slot] = kernel as *const Box<dyn HostKernel<T>> as u64;
        }
        let mut e = Element { mem, ctx, states: Vec::new(), err, steps: 0 };
        self.start(&mut e, b)?;
        Ok(e)
    }

    /// Puts `e` back at `t = 0` as batch element `b`, reusing its memory (every page of its
    /// block written now, not during the next run).
    pub fn reinit(&self, e: &mut Element<T>, b: usize) -> Result<(), String> {
        self.plan.layout.write_initial(&mut e.mem, true);
        self.start(e, b)
    }

    /// The kernel states of `e` (batch element `b`, whose block holds its initial values) and
    /// what the context says of them; step 0.
    fn start(&self, e: &mut Element<T>, b: usize) -> Result<(), String> {
        e.states.clear();
        for (k, _) in &self.kernels {
            e.states.push(k.init(b, &mut e.mem)?);
        }
        for ((_, slot), st) in self.kernels.iter().zip(e.states.iter_mut()) {
            e.ctx[*slot + 1] = st as *mut KernelState as u64;
        }
        e.ctx[SLOT_ONCE] = 1;
        e.steps = 0;
        e.err.take();
        Ok(())
    }

    /// Advances `e` by `steps` steps, reading `inputs` (one per program input, their data for
    /// every step from the first this element ever ran when they advance) and writing probe
    /// samples into `probes` (per probe, a buffer holding every sample since the element's
    /// first step: at least `(e.steps + steps) / every * size` values).
    ///
    /// # Safety
    /// `inputs` and `probes` must point to buffers as large as described, live for the call.
    pub unsafe fn advance(
        &self,
        e: &mut Element<T>,
        steps: u64,
        inputs: &[InputPtr<T>],
        probes: &[*mut T],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        let layout = &self.plan.layout;
        if inputs.len() != layout.inputs.len() || probes.len() != layout.probes.len() {
            return Err("inputs or probes do not match the program".to_string());
        }
        for (d, &(ps, ss)) in inputs.iter().zip(&layout.inputs) {
            e.ctx[ps] = d.data as u64;
            e.ctx[ss] = d.stride;
        }
        for (&o, &slot) in probes.iter().zip(&layout.probes) {
            e.ctx[slot] = o as u64;
        }
        let (mut k, last) = (e.steps + 1, e.steps + steps);
        while k <= last {
            let k1 = (k + CHUNK - 1).min(last);
            // SAFETY: the code was generated for this layout: `mem` is a whole state block, `ctx`
            // has every slot set (kernels live in `self`, their states in `e`, inputs and probe
            // buffers as the caller promises), and the code outlives `self` (`new`'s contract).
            unsafe { (self.run)(e.mem.as_mut_ptr(), e.ctx.as_ptr(), k as i64, k1 as i64) };
            e.ctx[SLOT_ONCE] = 0;
            e.steps = k1;
            if let Some(err) = e.err.take() {
                return Err(err);
            }
            report(k1 - k + 1);
            k = k1 + 1;
        }
        Ok(())
    }

    /// Runs `steps` steps for `batch` elements from `t = 0`: `inputs[i]` is `(batch, *shape)`
    /// (held) or `(batch, steps, *shape)` (per step); returns one array per probe,
    /// `(batch, samples, *shape)`, widened to `f64`. Batch elements run in parallel on
    /// `threads` threads (0: one per core); `progress(n)` is called on the calling thread after
    /// every `n` simulated steps (summed over the batch). The run loop is the runtime's
    /// ([`snn_runtime::batch::run_whole`]), which the interpreter shares.
    pub fn run(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, String> {
        let bound = Bound { runner: self, data: self.input_data(steps, batch, inputs)? };
        let probes = self.probe_specs();
        let out = batch::run_whole(&bound, &probes, steps, batch, threads, progress)?;
        Ok(out.into_iter().map(|a| a.mapv_into_any(|v: T| v.widen())).collect())
    }

    /// The plan's probes as the run loop sees them.
    fn probe_specs(&self) -> Vec<ProbeSpec<'_>> {
        self.plan
            .probes
            .iter()
            .map(|p| ProbeSpec { name: &p.name, size: p.size, every: p.every, shape: &p.shape })
            .collect()
    }

    /// The inputs of a run of `steps` steps as `T`: per input, the flat values, the values per
    /// batch element and the byte stride per step (0: held).
    #[allow(clippy::type_complexity)]
    fn input_data(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
    ) -> Result<Vec<(Vec<T>, usize, u64)>, String> {
        let plan = &self.plan;
        if inputs.len() != plan.inputs.len() {
            return Err(format!(
                "the program has {} inputs, {} given",
                plan.inputs.len(),
                inputs.len()
            ));
        }
        let mut data = Vec::with_capacity(inputs.len());
        for (i, (info, a)) in plan.inputs.iter().zip(inputs).enumerate() {
            let (name, size) = (&info.name, info.size());
            let b0 = a.shape().first().copied().unwrap_or(0);
            if b0 != batch {
                return Err(format!("input `{name}` has batch {b0}, expected {batch}"));
            }
            let flat: Vec<T> = a.iter().map(|&v| T::cast(v)).collect();
            let per_b = flat.len().checked_div(batch).unwrap_or(0);
            let stride = if per_b == size {
                0
            } else if per_b == steps * size {
                size
            } else {
                return Err(format!(
                    "input `{name}` has {per_b} values per batch element; expected {size} (held) or {} ({steps} steps)",
                    steps * size
                ));
            };
            if stride != 0 && plan.hoisted_inputs.contains(&i) {
                return Err(format!(
                    "input `{name}` changes over time, but the program was optimised for it held"
                ));
            }
            data.push((flat, per_b, (stride as u64) * T::SIZE as u64));
        }
        Ok(data)
    }

    /// [`Runner::run`], giving the probes' samples to `sink` `chunk` steps at a time (per probe,
    /// `(batch, samples in the chunk, *shape)` widened to `f64`, chunks in step order), so a
    /// long run holds one chunk of samples, not all: every batch element stays alive between
    /// chunks ([`snn_runtime::batch::run_chunked`]). The concatenated chunks equal what
    /// [`Runner::run`] returns.
    #[allow(clippy::too_many_arguments)]
    pub fn run_streaming(
        &self,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        chunk: usize,
        progress: &mut dyn FnMut(u64),
        sink: &mut dyn FnMut(Vec<ArrayD<f64>>) -> Result<(), String>,
    ) -> Result<(), String> {
        let bound = Bound { runner: self, data: self.input_data(steps, batch, inputs)? };
        let probes = self.probe_specs();
        let mut widen = |arrays: Vec<ArrayD<T>>| {
            sink(arrays.into_iter().map(|a| a.mapv_into_any(|v: T| v.widen())).collect())
        };
        batch::run_chunked(&bound, &probes, steps, batch, threads, chunk, progress, &mut widen)
    }
}

impl<T: Float> Runner<T> {
    /// Batch element `b` at `t = 0`, to be advanced chunk by chunk with each chunk's inputs
    /// ([`Resume::advance`]).
    pub fn resume(&self, b: usize) -> Result<Resume<'_, T>, String> {
        Ok(Resume { runner: self, e: self.element(b)?, bufs: ChunkBuffers::default() })
    }

    /// Where the code writes the probes' samples of steps `k0 + 1 ..`: it writes sample `s` at
    /// `s * size` from the pointer given, so each pointer starts the samples before the chunk
    /// ahead of the chunk's buffer `out[i]`, and the chunk's samples land in it.
    fn chunk_probe_ptrs(&self, k0: u64, out: &mut [&mut [T]]) -> Vec<*mut T> {
        out.iter_mut()
            .zip(&self.plan.probes)
            .map(|(buf, p)| {
                let before = (k0 / p.every.max(1) as u64) as usize * p.size;
                buf.as_mut_ptr().wrapping_sub(before)
            })
            .collect()
    }
}

/// One batch element of a [`Runner`] with the buffers of its chunks ([`Runner::resume`]).
pub struct Resume<'a, T> {
    runner: &'a Runner<T>,
    e: Element<T>,
    bufs: ChunkBuffers<T>,
}

impl<T: Float> Resume<'_, T> {
    /// Runs steps `k0 + 1 ..= k1` (the element has run `k0`): `inputs[i]` holds input `i`'s
    /// values for those steps, one sample (held) or `k1 − k0` (per step); `out[i]` receives
    /// probe `i`'s samples of those steps.
    pub fn advance(
        &mut self,
        (k0, k1): (u64, u64),
        inputs: &[&[f64]],
        out: &mut [&mut [f64]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        let plan = &self.runner.plan;
        if inputs.len() != plan.inputs.len() || out.len() != plan.probes.len() {
            return Err("inputs or probes do not match the program".to_string());
        }
        if self.e.steps != k0 {
            return Err(format!("the element has run {} steps, not {k0}", self.e.steps));
        }
        let n = (k1 - k0) as usize;
        for (i, (src, info)) in inputs.iter().zip(&plan.inputs).enumerate() {
            let size = info.size();
            let per_step = src.len() != size;
            if per_step && src.len() != n * size {
                return Err(format!(
                    "input `{}` has {} values; expected {size} (held) or {} ({n} steps)",
                    info.name,
                    src.len(),
                    n * size
                ));
            }
            if per_step && plan.hoisted_inputs.contains(&i) {
                return Err(format!(
                    "input `{}` changes over time, but the program was optimised for it held",
                    info.name
                ));
            }
        }
        for (o, p) in out.iter().zip(&plan.probes) {
            let spec = ProbeSpec { name: &p.name, size: p.size, every: p.every, shape: &p.shape };
            if o.len() != spec.samples(k0, k1) * p.size {
                return Err(format!("probe {}: the buffer does not fit the chunk", p.name));
            }
        }
        self.bufs.load(inputs, out);
        // the code reads step k at `(k − 1) · size` from the pointer: a per-step input starts
        // k0 steps ahead of the chunk's buffer
        let ptrs: Vec<InputPtr<T>> = self
            .bufs
            .ins
            .iter()
            .zip(&plan.inputs)
            .map(|(buf, info)| match info.size() {
                size if buf.len() != size => InputPtr {
                    data: buf.as_ptr().wrapping_sub(k0 as usize * size),
                    stride: size as u64 * T::SIZE as u64,
                },
                _ => InputPtr { data: buf.as_ptr(), stride: 0 },
            })
            .collect();
        let mut outs: Vec<&mut [T]> = self.bufs.outs.iter_mut().map(Vec::as_mut_slice).collect();
        let outs = self.runner.chunk_probe_ptrs(k0, &mut outs);
        // SAFETY: per-step inputs hold the chunk's `n` steps, read at steps k0 + 1 ..= k1 from
        // pointers set k0 steps ahead; held ones one sample; probe pointers, offset by the
        // samples before this chunk, reach exactly the chunk's buffers (sizes checked above);
        // the element has run k0 steps.
        unsafe { self.runner.advance(&mut self.e, k1 - k0, &ptrs, &outs, report)? };
        self.bufs.store(out);
        Ok(())
    }
}

/// A runner with the inputs of one run ([`Runner::input_data`]): what the run loop steps.
struct Bound<'a, T> {
    runner: &'a Runner<T>,
    data: Vec<(Vec<T>, usize, u64)>,
}

impl<T: Float> Stepper<T> for Bound<'_, T> {
    type Element = Element<T>;

    fn element(&self, b: usize) -> Result<Element<T>, String> {
        self.runner.element(b)
    }

    fn advance(
        &self,
        e: &mut Element<T>,
        b: usize,
        (k0, k1): (u64, u64),
        out: &mut [&mut [T]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        let ins: Vec<InputPtr<T>> = self
            .data
            .iter()
            .map(|(flat, per_b, stride)| InputPtr {
                data: flat.as_ptr().wrapping_add(b * per_b),
                stride: *stride,
            })
            .collect();
        let outs = self.runner.chunk_probe_ptrs(k0, out);
        // SAFETY: inputs hold `steps` samples per element when they advance (checked by
        // `input_data`); the probe pointers, offset by the samples before this chunk, reach
        // exactly the buffers the run loop sized for the chunk's samples; `e` has run `k0` steps.
        unsafe { self.runner.advance(e, k1 - k0, &ins, &outs, report) }
    }
}

impl<T> Element<T> {
    /// Steps this element has run since `t = 0`.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Asks the generated code to run the hoisted ops again before its next step (their held
    /// inputs changed).
    pub fn rerun_once(&mut self) {
        self.ctx[SLOT_ONCE] = 1;
    }

    /// Values in the state block.
    pub fn state_len(&self) -> usize {
        self.mem.len()
    }
}

impl<T> Drop for Element<T> {
    fn drop(&mut self) {
        // Kernel states go before the error cell; nothing runs any more.
        self.states.clear();
    }
}
