//! A [`Session`]: batch elements kept alive between calls, held inputs set by name, probes
//! accumulated since `t = 0` — what a native library's C functions (`NAME_new`, `NAME_run`, …)
//! drive. Two `run` calls of `n` and `m` steps give what one of `n + m` steps gives.

use crate::float::Float;
use crate::runner::{for_each_element, Element, InputPtr, Runner};

/// A batch of elements of one compiled program, advanced step by step.
pub struct Session<T> {
    runner: Runner<T>,
    batch: usize,
    elems: Vec<Element<T>>,
    /// Per input: `batch * size` held values.
    held: Vec<Vec<T>>,
    /// Per element, per probe: every sample since `t = 0`.
    samples: Vec<Vec<Vec<T>>>,
    threads: usize,
}

impl<T: Float> Session<T> {
    /// `batch` elements of `runner`'s program at `t = 0`, inputs all zeros; batch elements run
    /// on `threads` threads (0: one per core).
    pub fn new(runner: Runner<T>, batch: usize, threads: usize) -> Result<Self, String> {
        let held = runner.plan().inputs.iter().map(|i| vec![T::zero(); batch * i.size()]).collect();
        let mut s =
            Session { runner, batch, elems: Vec::new(), held, samples: Vec::new(), threads };
        s.reset()?;
        Ok(s)
    }

    /// Back to `t = 0` with probes cleared (held inputs stay). Elements keep their memory (a
    /// fresh allocation would be faulted in page by page during the next run).
    pub fn reset(&mut self) -> Result<(), String> {
        if self.elems.len() != self.batch {
            self.elems.clear();
            for b in 0..self.batch {
                self.elems.push(self.runner.element(b)?);
            }
        }
        for (b, e) in self.elems.iter_mut().enumerate() {
            self.runner.reinit(e, b)?;
        }
        let n_probes = self.runner.plan().probes.len();
        if self.samples.len() != self.batch {
            self.samples = (0..self.batch).map(|_| vec![Vec::new(); n_probes]).collect();
        }
        self.samples.iter_mut().flatten().for_each(Vec::clear);
        Ok(())
    }

    /// The program's plan (inputs, probes, time step).
    pub fn runner(&self) -> &Runner<T> {
        &self.runner
    }

    /// Elements in the batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Sets input `name` to `values` (`batch * size`, `(batch, *shape)` row-major), held until
    /// set again.
    pub fn set_input(&mut self, name: &str, values: &[T]) -> Result<(), String> {
        let plan = self.runner.plan();
        let i = plan
            .inputs
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| format!("no input named `{name}`"))?;
        let want = self.batch * plan.inputs[i].size();
        if values.len() != want {
            return Err(format!(
                "input `{name}` takes {want} values (batch {} x {}), {} given",
                self.batch,
                plan.inputs[i].size(),
                values.len()
            ));
        }
        self.held[i].copy_from_slice(values);
        self.elems.iter_mut().for_each(Element::rerun_once);
        Ok(())
    }

    /// Advances every element by `steps` steps; probes record.
    pub fn run(&mut self, steps: u64) -> Result<(), String> {
        let runner = &self.runner;
        let plan = runner.plan();
        let held = &self.held;
        let items: Vec<(&mut Element<T>, &mut Vec<Vec<T>>)> =
            self.elems.iter_mut().zip(self.samples.iter_mut()).collect();
        let job =
            |b: usize, (e, bufs): (&mut Element<T>, &mut Vec<Vec<T>>), _: &mut dyn FnMut(u64)| {
                let total = e.steps() + steps;
                let mut outs = Vec::with_capacity(bufs.len());
                for (buf, p) in bufs.iter_mut().zip(&plan.probes) {
                    let n = usize::try_from(total / p.every.max(1) as u64)
                        .ok()
                        .and_then(|s| s.checked_mul(p.size))
                        .ok_or("too many samples")?;
                    if buf.capacity() == 0 {
                        // Zeroed pages from the allocator (as `snnc run`'s buffers), not a fill.
                        *buf = vec![T::zero(); n];
                    } else {
                        buf.resize(n, T::zero());
                    }
                    outs.push(buf.as_mut_ptr());
                }
                let ins: Vec<InputPtr<T>> = held
                    .iter()
                    .zip(&plan.inputs)
                    .map(|(h, info)| InputPtr {
                        data: h.as_ptr().wrapping_add(b * info.size()),
                        stride: 0,
                    })
                    .collect();
                // SAFETY: held inputs (stride 0) hold a sample per element; every probe buffer was
                // just sized for all samples up to the last step of this call.
                unsafe { runner.advance(e, steps, &ins, &outs, &mut |_| {}) }
            };
        for_each_element(self.threads, items, job, &mut |_| {})
    }

    /// Index of probe `name`.
    pub fn probe(&self, name: &str) -> Option<usize> {
        self.runner.plan().probes.iter().position(|p| p.name == name)
    }

    /// Samples probe `i` recorded since `t = 0`.
    pub fn probe_samples(&self, i: usize) -> usize {
        let every = self.runner.plan().probes.get(i).map_or(1, |p| p.every.max(1));
        self.elems.first().map_or(0, |e| (e.steps() / every as u64) as usize)
    }

    /// Probe `i`'s samples as `(batch, samples, size)` row-major into `out` (of exactly that
    /// length).
    pub fn read_probe(&self, i: usize, out: &mut [T]) -> Result<(), String> {
        let p = self.runner.plan().probes.get(i).ok_or("no such probe")?;
        let per = self.probe_samples(i) * p.size;
        if out.len() != self.batch * per {
            return Err(format!(
                "probe `{}` has {} values (batch {} x {} samples x {}), buffer of {}",
                p.name,
                self.batch * per,
                self.batch,
                self.probe_samples(i),
                p.size,
                out.len()
            ));
        }
        for (chunk, bufs) in out.chunks_mut(per.max(1)).zip(&self.samples) {
            if per > 0 {
                chunk.copy_from_slice(&bufs[i][..per]);
            }
        }
        Ok(())
    }
}
