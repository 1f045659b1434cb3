//! The one run loop of every backend: a batch of elements advanced a chunk of steps at a time,
//! their probe samples handed out per chunk. A backend says how to make batch element `b` at
//! `t = 0` and how to advance it ([`Stepper`]); [`run_chunked`] does the rest (elements on
//! threads, progress on the caller's thread, one chunk's samples held at a time), and
//! [`run_whole`] is the same loop with the whole run as one chunk. The interpreter
//! (`snn-compiler`) and compiled code (`snn-exec`'s `Runner`, the JIT) both run through it, so
//! a streamed run and a whole one give the same samples on every backend.

use crate::real::Real;
use ndarray::{ArrayD, Axis, IxDyn};
use rayon::prelude::*;

/// A probe as the run loop sees it.
#[derive(Clone, Copy, Debug)]
pub struct ProbeSpec<'a> {
    /// Its name (for error messages).
    pub name: &'a str,
    /// Values per sample.
    pub size: usize,
    /// Steps per sample: a sample after every step `k` with `k % every == 0` (0 is taken as 1).
    pub every: usize,
    /// Shape of one sample.
    pub shape: &'a [usize],
}

impl ProbeSpec<'_> {
    /// Samples taken in steps `k0 + 1 ..= k1`.
    pub fn samples(&self, k0: u64, k1: u64) -> usize {
        let every = self.every.max(1) as u64;
        (k1 / every - k0 / every) as usize
    }
}

/// A simulation [`run_chunked`] can run: batch elements made at `t = 0` and advanced any number
/// of steps at a time.
pub trait Stepper<T>: Sync {
    /// One batch element's state between chunks.
    type Element: Send;

    /// Batch element `b` at `t = 0`.
    fn element(&self, b: usize) -> Result<Self::Element, String>;

    /// Runs steps `k0 + 1 ..= k1` (from 1; `steps` is `(k0, k1)`) of `e`, batch element `b`, which has run `k0`
    /// steps; `out[i]` receives probe `i`'s samples of those steps, exactly
    /// [`ProbeSpec::samples`]`(k0, k1)` times its size values. `report(n)` after every `n`
    /// steps run. `k0 == k1 == 0` (a run of no steps) runs nothing but what comes before the
    /// first step.
    fn advance(
        &self,
        e: &mut Self::Element,
        b: usize,
        steps: (u64, u64),
        out: &mut [&mut [T]],
        report: &mut dyn FnMut(u64),
    ) -> Result<(), String>;
}

/// Runs `steps` steps of `batch` elements of `stepper` in chunks of `chunk` steps (at least
/// one chunk, even of no steps), giving `sink` each chunk's samples: per probe
/// `(batch, samples in the chunk, *shape)`, chunks in step order; concatenated along axis 1
/// they are the whole run's. Elements run on `threads` threads (0: one per core); each lives
/// from its first chunk to its last, and `progress(n)` is called on the calling thread after
/// every `n` simulated steps (summed over the batch). Memory: the live elements and one
/// chunk's samples.
#[allow(clippy::too_many_arguments)]
pub fn run_chunked<T: Real, S: Stepper<T>>(
    stepper: &S,
    probes: &[ProbeSpec<'_>],
    steps: usize,
    batch: usize,
    threads: usize,
    chunk: usize,
    progress: &mut dyn FnMut(u64),
    sink: &mut dyn FnMut(Vec<ArrayD<T>>) -> Result<(), String>,
) -> Result<(), String> {
    let (steps, chunk) = (steps as u64, chunk.max(1) as u64);
    let mut elems: Vec<Option<S::Element>> = (0..batch).map(|_| None).collect();
    let mut k0 = 0u64;
    loop {
        let k1 = (k0 + chunk).min(steps);
        let counts: Vec<usize> = probes.iter().map(|p| p.samples(k0, k1) * p.size).collect();
        let mut bufs: Vec<Vec<T>> = counts.iter().map(|&n| vec![T::zero(); batch * n]).collect();
        {
            let mut per: Vec<Vec<&mut [T]>> = (0..batch).map(|_| Vec::new()).collect();
            for (buf, &n) in bufs.iter_mut().zip(&counts) {
                if n == 0 {
                    per.iter_mut().for_each(|e| e.push(&mut []));
                } else {
                    per.iter_mut().zip(buf.chunks_mut(n)).for_each(|(e, c)| e.push(c));
                }
            }
            let items: Vec<_> = elems.iter_mut().zip(per).collect();
            let last = k1 >= steps;
            let job = |b: usize,
                       (slot, mut out): (&mut Option<S::Element>, Vec<&mut [T]>),
                       report: &mut dyn FnMut(u64)| {
                let mut e = match slot.take() {
                    Some(e) => e,
                    None => stepper.element(b)?,
                };
                stepper.advance(&mut e, b, (k0, k1), &mut out, report)?;
                if !last {
                    *slot = Some(e);
                }
                Ok(())
            };
            for_each_element(threads, items, job, progress)?;
        }
        let mut arrays = Vec::with_capacity(probes.len());
        for ((p, buf), &n) in probes.iter().zip(bufs).zip(&counts) {
            let mut shape = vec![batch, n.checked_div(p.size).unwrap_or(0)];
            shape.extend(p.shape);
            arrays.push(
                ArrayD::from_shape_vec(IxDyn(&shape), buf)
                    .map_err(|e| format!("probe {}: {e}", p.name))?,
            );
        }
        sink(arrays)?;
        if k1 >= steps {
            return Ok(());
        }
        k0 = k1;
    }
}

/// [`run_chunked`] with the whole run as one chunk: one array per probe,
/// `(batch, samples, *shape)`.
pub fn run_whole<T: Real, S: Stepper<T>>(
    stepper: &S,
    probes: &[ProbeSpec<'_>],
    steps: usize,
    batch: usize,
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ArrayD<T>>, String> {
    let mut whole = None;
    let mut keep = |arrays: Vec<ArrayD<T>>| {
        whole = Some(arrays);
        Ok(())
    };
    run_chunked(stepper, probes, steps, batch, threads, steps.max(1), progress, &mut keep)?;
    whole.ok_or_else(|| "the run gave no samples".to_string())
}

/// Checks the inputs of a run of `steps` steps for `batch` elements against the program's
/// inputs `decls` (name, values per sample): one array each, one row per batch element, each
/// row the values held or at least `steps` samples of them. Returns each input's values per
/// element.
pub fn check_inputs<T>(
    decls: &[(&str, usize)],
    inputs: &[ArrayD<T>],
    steps: usize,
    batch: usize,
) -> Result<Vec<usize>, String> {
    if inputs.len() != decls.len() {
        return Err(format!("the program has {} inputs, {} given", decls.len(), inputs.len()));
    }
    let mut per = Vec::with_capacity(inputs.len());
    for (&(name, size), a) in decls.iter().zip(inputs) {
        let rows = a.shape().first().copied().unwrap_or(0);
        let per_b = a.len().checked_div(rows).unwrap_or(0);
        let per_step = size > 0 && per_b % size == 0 && per_b / size >= steps;
        if rows != batch || (per_b != size && !per_step) {
            return Err(format!(
                "input `{name}` holds {rows} element(s) of {per_b} values; this run needs {batch} of {size} (held) or of {steps} steps × {size}"
            ));
        }
        per.push(per_b);
    }
    Ok(per)
}

/// Batch element `b`'s row of the run input `a` (checked by [`check_inputs`]).
pub fn element_row<T>(a: &ArrayD<T>, b: usize) -> Result<&[T], String> {
    let flat = a.as_slice().ok_or("an input array is not contiguous")?;
    let per_b = flat.len() / a.shape().first().copied().unwrap_or(1).max(1);
    flat.get(b * per_b..(b + 1) * per_b).ok_or_else(|| "an input has too few rows".to_string())
}

/// The float-`T` buffers of one chunk of a batch element run chunk by chunk with `f64` inputs
/// and outputs (what the interpreter's and compiled code's resumable elements share): the
/// chunk's inputs cast to `T`, and its probe samples, widened back.
pub struct ChunkBuffers<T> {
    /// Per input, the chunk's values in `T`.
    pub ins: Vec<Vec<T>>,
    /// Per probe, the chunk's samples in `T`.
    pub outs: Vec<Vec<T>>,
}

impl<T> Default for ChunkBuffers<T> {
    fn default() -> Self {
        Self { ins: Vec::new(), outs: Vec::new() }
    }
}

impl<T: Real> ChunkBuffers<T> {
    /// Casts `inputs` into [`ChunkBuffers::ins`] and sizes [`ChunkBuffers::outs`] as `out`
    /// (zeros), reusing the buffers' memory.
    pub fn load(&mut self, inputs: &[&[f64]], out: &[&mut [f64]]) {
        self.ins.resize_with(inputs.len(), Vec::new);
        for (dst, src) in self.ins.iter_mut().zip(inputs) {
            dst.clear();
            dst.extend(src.iter().map(|&v| T::cast(v)));
        }
        self.outs.resize_with(out.len(), Vec::new);
        for (dst, o) in self.outs.iter_mut().zip(out) {
            dst.clear();
            dst.resize(o.len(), T::zero());
        }
    }

    /// Widens [`ChunkBuffers::outs`] into `out`.
    pub fn store(&self, out: &mut [&mut [f64]]) {
        for (o, v) in out.iter_mut().zip(&self.outs) {
            o.iter_mut().zip(v).for_each(|(d, &x)| *d = x.widen());
        }
    }
}

/// Concatenates chunks of probe samples along the sample axis (what [`run_chunked`]'s chunks
/// make together; for tests and callers that collect a streamed run).
pub fn concat_chunks<T: Real>(chunks: &[Vec<ArrayD<T>>]) -> Result<Vec<ArrayD<T>>, String> {
    let Some(first) = chunks.first() else { return Ok(Vec::new()) };
    (0..first.len())
        .map(|i| {
            let views: Vec<_> = chunks.iter().map(|c| c[i].view()).collect();
            ndarray::concatenate(Axis(1), &views).map_err(|e| e.to_string())
        })
        .collect()
}

/// Runs `job(b, item, report)` for every `(b, item)` of `items` on `threads` threads (0: one
/// per core), forwarding progress reports to `progress` on the calling thread; the first error
/// wins.
pub fn for_each_element<I: Send>(
    threads: usize,
    items: Vec<I>,
    job: impl Fn(usize, I, &mut dyn FnMut(u64)) -> Result<(), String> + Sync,
    progress: &mut dyn FnMut(u64),
) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if threads == 0 { cores } else { threads }.min(items.len().max(1));
    if threads <= 1 {
        for (b, item) in items.into_iter().enumerate() {
            job(b, item, progress)?;
        }
        return Ok(());
    }
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let job = &job;
    let res = std::thread::scope(|s| {
        let h = s.spawn(move || {
            pool.install(|| {
                items.into_par_iter().enumerate().try_for_each_with(tx, |tx, (b, item)| {
                    let mut report = |n: u64| {
                        let _ = tx.send(n);
                    };
                    job(b, item, &mut report)
                })
            })
        });
        for n in rx {
            progress(n);
        }
        h.join()
    });
    res.map_err(|_| "a simulation thread panicked".to_string())?
}
