//! Running compiled code: a state block, context table and host-kernel states per batch
//! element, chunks of steps through the generated function, batch elements in parallel on a
//! rayon pool, progress reported on the caller's thread.

use super::compile::RunFn;
use super::float::JitFloat;
use super::host::{HostKernel, KernelState, SLOT_ERROR, SLOT_LEN};
use super::layout::Res;
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Steps per call of the generated function (progress is reported between calls).
const CHUNK: usize = 100;

/// What the driver needs to know of the program.
pub(super) struct Meta {
    /// Inputs read by hoisted ops (they must be held).
    pub hoisted_inputs: Vec<usize>,
    /// Per input: name and size of one sample.
    pub inputs: Vec<(String, usize)>,
    /// Per probe: name, shape, sampling period (steps) and signal size.
    pub probes: Vec<(String, Vec<usize>, usize, usize)>,
}

/// Compiled code and what it refers to.
pub(super) struct Exec<T> {
    pub f: RunFn<T>,
    pub res: Res<T>,
}

/// One input cast to `T`, with where a batch element's data starts and how it advances.
struct Input<T> {
    flat: Vec<T>,
    per_b: usize,
    stride_bytes: u64,
}

/// The error cell generated code reports host-kernel failures into (owned through a raw
/// pointer, which is all the code and the driver use).
struct ErrCell(*mut Option<String>);

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

impl<T: JitFloat> Exec<T> {
    /// Runs `steps` steps for `batch` elements on `threads` threads (0: all cores).
    pub(super) fn run(
        &self,
        meta: &Meta,
        steps: usize,
        batch: usize,
        inputs: &[ArrayD<f64>],
        threads: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<ArrayD<f64>>, String> {
        if inputs.len() != meta.inputs.len() {
            return Err(format!(
                "the program has {} inputs, {} given",
                meta.inputs.len(),
                inputs.len()
            ));
        }
        let mut data = Vec::with_capacity(inputs.len());
        for (i, ((name, size), a)) in meta.inputs.iter().zip(inputs).enumerate() {
            let b0 = a.shape().first().copied().unwrap_or(0);
            if b0 != batch {
                return Err(format!("input `{name}` has batch {b0}, expected {batch}"));
            }
            let flat: Vec<T> = a.iter().map(|&v| T::cast(v)).collect();
            let per_b = flat.len().checked_div(batch).unwrap_or(0);
            let stride = if per_b == *size {
                0
            } else if per_b == steps * size {
                *size
            } else {
                return Err(format!(
                    "input `{name}` has {per_b} values per batch element; expected {size} (held) or {} ({steps} steps)",
                    steps * size
                ));
            };
            if stride != 0 && meta.hoisted_inputs.contains(&i) {
                return Err(format!(
                    "input `{name}` changes over time, but the program was optimised for it held"
                ));
            }
            data.push(Input { flat, per_b, stride_bytes: (stride as u64) * T::SIZE as u64 });
        }
        let samples: Vec<usize> = meta.probes.iter().map(|p| steps / p.2.max(1)).collect();
        let mut outs: Vec<Vec<T>> = meta
            .probes
            .iter()
            .zip(&samples)
            .map(|(p, &s)| vec![T::zero(); batch * s * p.3])
            .collect();
        {
            let mut per: Vec<Vec<&mut [T]>> = (0..batch).map(|_| Vec::new()).collect();
            for ((out, p), &s) in outs.iter_mut().zip(&meta.probes).zip(&samples) {
                let chunk = s * p.3;
                if chunk == 0 {
                    per.iter_mut().for_each(|e| e.push(&mut []));
                } else {
                    for (e, c) in per.iter_mut().zip(out.chunks_mut(chunk)) {
                        e.push(c);
                    }
                }
            }
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let threads = if threads == 0 { cores } else { threads }.min(batch.max(1));
            if threads <= 1 {
                for (b, o) in per.into_iter().enumerate() {
                    self.element(b, steps, &data, o, progress)?;
                }
            } else {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| e.to_string())?;
                let (tx, rx) = std::sync::mpsc::channel::<u64>();
                let data = &data;
                let res = std::thread::scope(|s| {
                    let h = s.spawn(move || {
                        pool.install(|| {
                            per.into_par_iter().enumerate().try_for_each_with(tx, |tx, (b, o)| {
                                let mut report = |n: u64| {
                                    let _ = tx.send(n);
                                };
                                self.element(b, steps, data, o, &mut report)
                            })
                        })
                    });
                    for n in rx {
                        progress(n);
                    }
                    h.join()
                });
                res.map_err(|_| "a simulation thread panicked".to_string())??;
            }
        }
        let mut result = Vec::with_capacity(outs.len());
        for ((out, p), &s) in outs.into_iter().zip(&meta.probes).zip(&samples) {
            let mut shape = vec![batch, s];
            shape.extend(&p.1);
            let wide: Vec<f64> = out.into_iter().map(|v| v.widen()).collect();
            result.push(
                ArrayD::from_shape_vec(IxDyn(&shape), wide)
                    .map_err(|e| format!("probe {}: {e}", p.0))?,
            );
        }
        Ok(result)
    }

    /// Simulates batch element `b`, writing its probe samples into `outs`.
    fn element(
        &self,
        b: usize,
        steps: usize,
        data: &[Input<T>],
        mut outs: Vec<&mut [T]>,
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String> {
        let mut mem = self.res.initial_block();
        let mut states: Vec<KernelState> = Vec::with_capacity(self.res.kernels.len());
        for (k, _) in &self.res.kernels {
            states.push(k.init(b, &mut mem)?);
        }
        let err = ErrCell::new();
        let mut ctx = vec![0u64; self.res.n_slots];
        ctx[SLOT_ERROR] = err.0 as u64;
        ctx[SLOT_LEN] = mem.len() as u64;
        for (d, &(ps, ss)) in data.iter().zip(&self.res.inputs) {
            ctx[ps] = d.flat.as_ptr().wrapping_add(b * d.per_b) as u64;
            ctx[ss] = d.stride_bytes;
        }
        for (o, &slot) in outs.iter_mut().zip(&self.res.probes) {
            ctx[slot] = o.as_mut_ptr() as u64;
        }
        for ((kernel, slot), st) in self.res.kernels.iter().zip(states.iter_mut()) {
            ctx[*slot] = kernel as *const Box<dyn HostKernel<T>> as u64;
            ctx[*slot + 1] = st as *mut KernelState as u64;
        }
        let mut k = 1;
        while k <= steps {
            let k1 = (k + CHUNK - 1).min(steps);
            // SAFETY: the code was generated for this layout: `mem` is a whole state block, `ctx`
            // has every slot set above (inputs hold `steps` samples when they advance, probe
            // buffers `steps / every` samples, kernels live in `self` and their states here),
            // and the JIT module holding the code and its constants is owned with `self` by
            // `Compiled`.
            unsafe { (self.f)(mem.as_mut_ptr(), ctx.as_ptr(), k as i64, k1 as i64) };
            if let Some(e) = err.take() {
                return Err(e);
            }
            report((k1 - k + 1) as u64);
            k = k1 + 1;
        }
        drop(states);
        Ok(())
    }
}
