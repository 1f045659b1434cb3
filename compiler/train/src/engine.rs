//! Reverse mode through time over the step IR: a batched forward pass in training mode (neurons
//! as their rate equivalents, every batch element a row of one matrix, products as matrix
//! products) that records what the gradients need, then the backward pass from the probes'
//! gradients to the parameters'.
//!
//! The forward pass keeps the IR's semantics: per step, the ops in their scheduled order (sets,
//! then increments, then reads, then updates), then the probes sample. The backward pass runs
//! the steps and ops in reverse, one adjoint buffer per signal: a set zeroes its signal's
//! adjoint, an increment passes it on, an update (a synapse) carries its filter state's adjoint
//! to the previous step.

use crate::params::Param;
use crate::TrainError;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, Array3, ArrayD, ArrayView2, Axis, Ix2};
use snn_compiler::ir::{OpKind, Program, Sel, SignalId};
use snn_runtime::kernels::conv::{Conv, ConvGeometry, ConvSpec};
use snn_runtime::process::ProcessState;
use snn_runtime::synapse::{DiscreteFilter, FilterKind};
use snn_runtime::Real;
use std::borrow::Cow;

/// A program prepared for training with a fixed set of parameters, computing in `T` (`f32`,
/// as NengoDL and Keras train by default, or `f64`); parameters and gradients are `f64`.
#[derive(Debug)]
pub struct Engine<'p, T: Real> {
    program: &'p Program,
    /// Per op, the parameter it holds.
    op_param: Vec<Option<usize>>,
    /// Per signal, whether it depends on a parameter (its adjoint matters).
    needs: Vec<bool>,
    /// LIF neurons train as NengoDL's `SoftLIFRate` with this sigma (`lif_smoothing`).
    lif_smoothing: Option<f64>,
    /// Per signal, whether an op writes all of it before anything reads it in a step (its
    /// value before the first step is never seen, so a forward pass need not reset it).
    written_first: Vec<bool>,
    /// Per signal, its initial value in `T`.
    inits: Vec<Vec<T>>,
    /// Per op, its constant values in `T`: a reset's value, an elementwise scale, a sparse
    /// product's values.
    consts: Vec<Vec<T>>,
    /// Per op, a constant matrix in `T` (`DotInc`).
    mats: Vec<Option<Array2<T>>>,
}

/// The buffers one part of a minibatch works in, kept from one minibatch to the next so that
/// training allocates (and the system maps and zeroes) nothing again: the signals' values and
/// adjoints, the filters' states and their adjoints, what the forward pass keeps for the
/// backward pass (the tape), the probes' samples, the loss's gradients with respect to them,
/// and the convolutions' patches.
#[derive(Debug)]
pub struct Workspace<T: Real> {
    /// Batch rows the buffers hold.
    rows: usize,
    /// Steps of the last forward pass.
    steps: usize,
    vals: Vec<Array2<T>>,
    adj: Vec<Array2<T>>,
    filters: Vec<Array2<T>>,
    adj_filter: Vec<Array2<T>>,
    /// Per step, per op: the values its gradient needs.
    saved: Vec<Vec<Saved<T>>>,
    probes: Vec<Array3<T>>,
    seeds: Vec<Array3<T>>,
    /// The convolutions' patches.
    scratch: Vec<T>,
}

impl<T: Real> Default for Workspace<T> {
    fn default() -> Self {
        Self {
            rows: 0,
            steps: 0,
            vals: Vec::new(),
            adj: Vec::new(),
            filters: Vec::new(),
            adj_filter: Vec::new(),
            saved: Vec::new(),
            probes: Vec::new(),
            seeds: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

impl<T: Real> Workspace<T> {
    /// Each probe's samples `(rows, samples, size)` from the last forward pass.
    pub fn probes(&self) -> &[Array3<T>] {
        &self.probes
    }

    /// The probes' samples and, shaped as them, the gradients of the loss with respect to
    /// them (zero after each forward pass), which [`Engine::backward`] starts from.
    pub fn probes_and_seeds(&mut self) -> (&[Array3<T>], &mut [Array3<T>]) {
        (&self.probes, &mut self.seeds)
    }

    /// Buffers for `rows` rows and `steps` steps of `p`, the signals at their initial values
    /// (but those `written_first`) and the filters at rest.
    fn prepare(
        &mut self,
        p: &Program,
        rows: usize,
        steps: usize,
        written_first: &[bool],
        inits: &[Vec<T>],
    ) {
        if self.rows != rows || self.vals.len() != p.signals.len() {
            *self =
                Workspace { rows, scratch: std::mem::take(&mut self.scratch), ..Self::default() };
            self.vals = p.signals.iter().map(|s| Array2::zeros((rows, s.size))).collect();
            self.adj = p.signals.iter().map(|s| Array2::zeros((rows, s.size))).collect();
            self.filters = filter_states(p, rows);
            self.adj_filter = filter_states(p, rows);
        }
        for (((a, s), &skip), init) in
            self.vals.iter_mut().zip(&p.signals).zip(written_first).zip(inits)
        {
            if skip {
                continue;
            }
            if init.len() == s.size {
                fill(a, init);
            } else {
                a.fill(T::zero());
            }
        }
        self.filters.iter_mut().for_each(|f| f.fill(T::zero()));
        if self.steps != steps || self.probes.len() != p.probes.len() {
            self.probes = p
                .probes
                .iter()
                .map(|pr| {
                    let size = p.signals[pr.signal.0 as usize].size;
                    Array3::zeros((rows, samples(steps, pr.every), size))
                })
                .collect();
            self.seeds = self.probes.iter().map(|a| Array3::zeros(a.raw_dim())).collect();
        } else {
            self.seeds.iter_mut().for_each(|a| a.fill(T::zero()));
        }
        self.steps = steps;
        self.saved.truncate(steps);
        self.saved.resize_with(steps, Vec::new);
        for step in &mut self.saved {
            step.resize_with(p.ops.len(), || Saved::None);
        }
    }
}

#[derive(Debug)]
enum Saved<T> {
    None,
    /// The op's (selected) input.
    Input(Array2<T>),
    /// A host op's input and output.
    InOut(Array2<T>, Array2<T>),
}

/// Keeps `x` in `slot`, in the buffer already there when it has the shape.
fn keep<T: Real>(slot: &mut Saved<T>, x: ArrayView2<'_, T>) {
    match slot {
        Saved::Input(a) if a.dim() == x.dim() => a.assign(&x),
        _ => *slot = Saved::Input(x.to_owned()),
    }
}

/// Keeps a host op's `x` and `y` in `slot`, in the buffers already there when they fit.
fn keep_in_out<T: Real>(slot: &mut Saved<T>, x: ArrayView2<'_, T>, y: ArrayView2<'_, T>) {
    match slot {
        Saved::InOut(a, b) if a.dim() == x.dim() && b.dim() == y.dim() => {
            a.assign(&x);
            b.assign(&y);
        }
        _ => *slot = Saved::InOut(x.to_owned(), y.to_owned()),
    }
}

/// The data of one forward pass: per program input an array `(rows, steps or 1, size)`.
#[derive(Clone, Copy, Debug)]
pub struct Feed<'a> {
    /// One array per program input.
    pub inputs: &'a [Array3<f64>],
    /// Steps to run.
    pub steps: usize,
}

/// Number of samples probe `every` takes in `steps` steps.
pub fn samples(steps: usize, every: usize) -> usize {
    (1..=steps).filter(|k| k % every.max(1) == 0).count()
}

impl<'p, T: Real> Engine<'p, T> {
    /// Prepares `program` (lowered, not optimised) for training `params`; an error at the
    /// statement of an op the gradient cannot pass through.
    pub fn new(program: &'p Program, params: &[Param]) -> Result<Self, TrainError> {
        if !program.once.is_empty() {
            return Err(TrainError::new("training needs the program before optimisation"));
        }
        let mut op_param = vec![None; program.ops.len()];
        for (i, p) in params.iter().enumerate() {
            op_param[p.op] = Some(i);
        }
        for op in &program.ops {
            if let OpKind::ConvInc { spec, .. } = &op.kind {
                ConvGeometry::new(spec).map_err(|e| TrainError::at(e, op.origin))?;
            }
        }
        // Signals that depend on a parameter, through any number of steps.
        let mut needs = vec![false; program.signals.len()];
        loop {
            let mut changed = false;
            for (i, op) in program.ops.iter().enumerate() {
                let a = op.kind.access();
                let live = op_param[i].is_some() || a.reads.iter().any(|s| needs[s.0 as usize]);
                if !live {
                    continue;
                }
                for s in a.sets.iter().chain(&a.incs).chain(&a.updates) {
                    if !needs[s.0 as usize] {
                        needs[s.0 as usize] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for op in &program.ops {
            let reads_live = op.kind.access().reads.iter().any(|s| needs[s.0 as usize]);
            if !reads_live {
                continue;
            }
            let why = match &op.kind {
                OpKind::NodeFn { .. } => Some("a node function (`fn`) has no gradient".to_string()),
                OpKind::SimNeurons { neuron, .. } if neuron.rate_derivative(0.5).is_none() => {
                    Some(format!("{} neurons have no rate derivative", neuron.name()))
                }
                _ => None,
            };
            if let Some(why) = why {
                return Err(TrainError::at(
                    format!("cannot train through this statement: {why}"),
                    op.origin,
                ));
            }
        }
        Ok(Self {
            program,
            op_param,
            needs,
            lif_smoothing: None,
            written_first: written_first(program),
            inits: program
                .signals
                .iter()
                .map(|s| s.init.iter().map(|&v| T::cast(v)).collect())
                .collect(),
            consts: program
                .ops
                .iter()
                .map(|op| {
                    let v: &[f64] = match &op.kind {
                        OpKind::Reset { value, .. } => value,
                        OpKind::ElementwiseInc { scale, .. } => scale,
                        OpKind::SparseDotInc { vals, .. } => vals,
                        _ => &[],
                    };
                    v.iter().map(|&x| T::cast(x)).collect()
                })
                .collect(),
            mats: program
                .ops
                .iter()
                .map(|op| match &op.kind {
                    OpKind::DotInc { mat, .. } => Some(mat.mapv(T::cast)),
                    _ => None,
                })
                .collect(),
        })
    }

    /// Train LIF neurons through NengoDL's `SoftLIFRate` with smoothing `sigma` (its
    /// `configure_settings(lif_smoothing=sigma)`) instead of `LIFRate`.
    pub fn with_lif_smoothing(mut self, sigma: Option<f64>) -> Self {
        self.lif_smoothing = sigma;
        self
    }

    /// The program it trains.
    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// Runs `feed` forward in training mode with `params` in `ws`: each probe's samples
    /// ([`Workspace::probes`]) and the tape for [`Engine::backward`].
    pub fn forward(
        &self,
        params: &[ArrayD<f64>],
        feed: Feed<'_>,
        ws: &mut Workspace<T>,
    ) -> Result<(), TrainError> {
        let p = self.program;
        let rows = feed.inputs.first().map_or(1, |a| a.shape()[0]);
        ws.prepare(p, rows, feed.steps, &self.written_first, &self.inits);
        let convs = self.convs(params)?;
        let params: Vec<ArrayD<T>> = params.iter().map(|a| a.mapv(T::cast)).collect();
        let Workspace { vals, filters, saved, probes, scratch, .. } = ws;
        let mut processes: Vec<Vec<ProcessState>> = Vec::with_capacity(p.ops.len());
        for op in &p.ops {
            let mut v = Vec::new();
            if let OpKind::Process { spec, dst, seed } = &op.kind {
                let n = p.signals[dst.0 as usize].size;
                for b in 0..rows {
                    v.push(
                        ProcessState::new(spec, n, p.dt, *seed, b)
                            .map_err(|e| TrainError::at(e.to_string(), op.origin))?,
                    );
                }
            }
            processes.push(v);
        }
        let mut sample_at = vec![0usize; p.probes.len()];
        for k in 1..=feed.steps {
            let step_saved = &mut saved[k - 1];
            for (i, op) in p.ops.iter().enumerate() {
                let param = self.op_param[i].map(|j| &params[j]);
                let kept = self.op_param[i].is_some();
                let slot = &mut step_saved[i];
                match &op.kind {
                    OpKind::Input { input, dst } => {
                        let data = feed
                            .inputs
                            .get(*input)
                            .ok_or_else(|| TrainError::at("no data for this input", op.origin))?;
                        let t = if data.shape()[1] == 1 { 0 } else { k - 1 };
                        ndarray::Zip::from(&mut vals[dst.0 as usize])
                            .and(&data.slice(s![.., t, ..]))
                            .for_each(|d, &v| *d = T::cast(v));
                    }
                    OpKind::Reset { dst, .. } => {
                        fill(&mut vals[dst.0 as usize], &values(param, &self.consts[i]));
                    }
                    OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
                        if let (None, None, Ok((x, y))) =
                            (src_sel, dst_sel, read_write(vals, *src, *dst))
                        {
                            if *inc {
                                *y += x;
                            } else {
                                y.assign(x);
                            }
                        } else {
                            let x = gather(&vals[src.0 as usize], src_sel);
                            scatter(&mut vals[dst.0 as usize], dst_sel, &x, *inc);
                        }
                    }
                    OpKind::ElementwiseInc { src, dst, src_sel, dst_sel, .. } => {
                        let scale = values(param, &self.consts[i]);
                        if let (None, None, Ok((x, y))) =
                            (src_sel, dst_sel, read_write(vals, *src, *dst))
                        {
                            add_scaled_cols(y, x, &scale);
                            if kept {
                                keep(slot, x.view());
                            }
                            continue;
                        }
                        let x = gather(&vals[src.0 as usize], src_sel);
                        let mut y = x.clone();
                        scale_cols(&mut y, &scale);
                        scatter(&mut vals[dst.0 as usize], dst_sel, &y, true);
                        if kept {
                            *slot = Saved::Input(x);
                        }
                    }
                    OpKind::DotInc { src, dst, src_sel, dst_sel, .. } => {
                        let w = match (param, &self.mats[i]) {
                            (Some(a), _) => matrix(a)?,
                            (None, Some(m)) => m.view(),
                            (None, None) => {
                                return Err(TrainError::new("a product without a matrix"))
                            }
                        };
                        if let (None, None, Ok((x, y))) =
                            (src_sel, dst_sel, read_write(vals, *src, *dst))
                        {
                            general_mat_mul(T::one(), x, &w.t(), T::one(), y);
                            if kept {
                                keep(slot, x.view());
                            }
                        } else {
                            let x = gather(&vals[src.0 as usize], src_sel);
                            scatter(&mut vals[dst.0 as usize], dst_sel, &x.dot(&w.t()), true);
                            if kept {
                                *slot = Saved::Input(x);
                            }
                        }
                    }
                    OpKind::SparseDotInc { rows: r, cols, src, dst, src_sel, dst_sel, .. } => {
                        let v = values(param, &self.consts[i]);
                        let x = gather(&vals[src.0 as usize], src_sel);
                        let n_out =
                            dst_sel.as_ref().map_or(p.signals[dst.0 as usize].size, Vec::len);
                        let mut y = Array2::zeros((rows, n_out));
                        for ((&ri, &ci), &w) in r.iter().zip(cols).zip(v.iter()) {
                            y.column_mut(ri).scaled_add(w, &x.column(ci));
                        }
                        scatter(&mut vals[dst.0 as usize], dst_sel, &y, true);
                        if kept {
                            *slot = Saved::Input(x);
                        }
                    }
                    OpKind::ConvInc { src, dst, .. } => {
                        let conv = convs[i]
                            .as_ref()
                            .ok_or_else(|| TrainError::at("convolution not prepared", op.origin))?;
                        let (x, y) = read_write(vals, *src, *dst)?;
                        conv.forward_batch(x.view(), y.view_mut(), scratch)
                            .map_err(|e| TrainError::at(e, op.origin))?;
                        if kept {
                            keep(slot, x.view());
                        }
                    }
                    OpKind::SimNeurons { neuron, j, out, .. } => {
                        let (jv, o) = read_write(vals, *j, *out)?;
                        match (jv.as_slice(), o.as_slice_mut()) {
                            (Some(js), Some(os)) => {
                                neuron.training_rates(js, os, self.lif_smoothing)
                            }
                            _ => return Err(TrainError::new("neuron signals are not contiguous")),
                        }
                        if self.needs[j.0 as usize] {
                            keep(slot, jv.view());
                        }
                    }
                    OpKind::Filter { filter, src, dst } => {
                        let (x, y) = read_write(vals, *src, *dst)?;
                        for ((xr, mut yr), mut st) in
                            x.rows().into_iter().zip(y.rows_mut()).zip(filters[i].rows_mut())
                        {
                            match (xr.as_slice(), yr.as_slice_mut(), st.as_slice_mut()) {
                                (Some(xs), Some(ys), Some(stv)) => filter.step(stv, xs, ys),
                                _ => return Err(TrainError::new("filter rows are not contiguous")),
                            }
                        }
                    }
                    OpKind::Scale { dst, factor } => {
                        let factor = T::cast(*factor);
                        vals[dst.0 as usize].mapv_inplace(|v| v * factor);
                    }
                    OpKind::NodeFn { f, input, dst } => {
                        let t = k as f64 * p.dt;
                        for b in 0..rows {
                            let x: Vec<f64> = input.map_or_else(Vec::new, |s| {
                                vals[s.0 as usize].row(b).iter().map(|v| v.widen()).collect()
                            });
                            let y = f.eval(t, &x);
                            vals[dst.0 as usize]
                                .row_mut(b)
                                .iter_mut()
                                .zip(y)
                                .for_each(|(d, v)| *d = T::cast(v));
                        }
                    }
                    OpKind::Process { dst, .. } => {
                        let mut out = vec![0.0; p.signals[dst.0 as usize].size];
                        for (b, st) in processes[i].iter().enumerate() {
                            st.step(k as u64, p.dt, &mut out);
                            vals[dst.0 as usize]
                                .row_mut(b)
                                .iter_mut()
                                .zip(&out)
                                .for_each(|(d, &v)| *d = T::cast(v));
                        }
                    }
                    OpKind::HostFn { op: h, input, dst } => {
                        let (x, y) = read_write(vals, *input, *dst)?;
                        // host ops compute in f64
                        let (mut xs, mut ys) = (vec![0.0; x.ncols()], vec![0.0; y.ncols()]);
                        for (xr, mut yr) in x.rows().into_iter().zip(y.rows_mut()) {
                            xs.iter_mut().zip(&xr).for_each(|(d, v)| *d = v.widen());
                            h.apply(&xs, &mut ys);
                            yr.iter_mut().zip(&ys).for_each(|(d, &v)| *d = T::cast(v));
                        }
                        if self.needs[input.0 as usize] {
                            keep_in_out(slot, x.view(), y.view());
                        }
                    }
                }
            }
            for (pi, pr) in p.probes.iter().enumerate() {
                if k % pr.every.max(1) == 0 {
                    let at = sample_at[pi];
                    probes[pi].slice_mut(s![.., at, ..]).assign(&vals[pr.signal.0 as usize]);
                    sample_at[pi] += 1;
                }
            }
        }
        Ok(())
    }

    /// The gradients of the loss with respect to `params`, from the tape of the last
    /// [`Engine::forward`] in `ws` and the loss's gradients with respect to the probes'
    /// samples (its seeds, [`Workspace::probes_and_seeds`]).
    pub fn backward(
        &self,
        params: &[ArrayD<f64>],
        ws: &mut Workspace<T>,
    ) -> Result<Vec<ArrayD<f64>>, TrainError> {
        let p = self.program;
        let Workspace { rows, steps, adj, adj_filter, saved, seeds, scratch, .. } = ws;
        let (rows, steps) = (*rows, *steps);
        if adj.len() != p.signals.len() || saved.len() != steps {
            return Err(TrainError::new("no forward pass to take the gradient of"));
        }
        let convs = self.convs(params)?;
        let params: Vec<ArrayD<T>> = params.iter().map(|a| a.mapv(T::cast)).collect();
        let mut grads: Vec<ArrayD<T>> = params.iter().map(|a| ArrayD::zeros(a.raw_dim())).collect();
        adj.iter_mut().for_each(|a| a.fill(T::zero()));
        adj_filter.iter_mut().for_each(|a| a.fill(T::zero()));
        let mut sample_at: Vec<usize> =
            p.probes.iter().map(|pr| samples(steps, pr.every)).collect();
        for k in (1..=steps).rev() {
            for (pi, pr) in p.probes.iter().enumerate() {
                if k % pr.every.max(1) == 0 {
                    sample_at[pi] -= 1;
                    let seed = seeds[pi].slice(s![.., sample_at[pi], ..]);
                    adj[pr.signal.0 as usize] += &seed;
                }
            }
            let saved = &saved[k - 1];
            for (i, op) in p.ops.iter().enumerate().rev() {
                let param = self.op_param[i];
                let need = |s: &SignalId| self.needs[s.0 as usize];
                match &op.kind {
                    OpKind::Input { dst, .. }
                    | OpKind::NodeFn { dst, .. }
                    | OpKind::Process { dst, .. } => adj[dst.0 as usize].fill(T::zero()),
                    OpKind::Reset { dst, .. } => {
                        if let Some(j) = param {
                            let g = adj[dst.0 as usize].sum_axis(Axis(0));
                            add_flat(&mut grads[j], g.iter());
                        }
                        adj[dst.0 as usize].fill(T::zero());
                    }
                    OpKind::Copy { src, dst, src_sel, dst_sel, inc }
                        if src_sel.is_none() && dst_sel.is_none() && src != dst =>
                    {
                        if need(src) {
                            let (g, a) = read_write(adj, *dst, *src)?;
                            *a += g;
                        }
                        if !inc {
                            adj[dst.0 as usize].fill(T::zero());
                        }
                    }
                    OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
                        let g = gather(&adj[dst.0 as usize], dst_sel);
                        if !inc {
                            zero_sel(&mut adj[dst.0 as usize], dst_sel);
                        }
                        if need(src) {
                            scatter(&mut adj[src.0 as usize], src_sel, &g, true);
                        }
                    }
                    OpKind::ElementwiseInc { src, dst, src_sel, dst_sel, .. } => {
                        let scale = values(param.map(|j| &params[j]), &self.consts[i]);
                        if let (None, None, Ok((g, a))) =
                            (src_sel, dst_sel, read_write(adj, *dst, *src))
                        {
                            if let (Some(j), Saved::Input(x)) = (param, &saved[i]) {
                                add_products(&mut grads[j], g, x, scale.len() == 1);
                            }
                            if need(src) {
                                add_scaled_cols(a, g, &scale);
                            }
                            continue;
                        }
                        let g = gather(&adj[dst.0 as usize], dst_sel);
                        if let (Some(j), Saved::Input(x)) = (param, &saved[i]) {
                            add_products(&mut grads[j], &g, x, scale.len() == 1);
                        }
                        if need(src) {
                            let mut gs = g;
                            scale_cols(&mut gs, &scale);
                            scatter(&mut adj[src.0 as usize], src_sel, &gs, true);
                        }
                    }
                    OpKind::DotInc { src, dst, src_sel, dst_sel, .. } => {
                        let w = match (param, &self.mats[i]) {
                            (Some(j), _) => matrix(&params[j])?,
                            (None, Some(m)) => m.view(),
                            (None, None) => {
                                return Err(TrainError::new("a product without a matrix"))
                            }
                        };
                        let x = match (param, &saved[i]) {
                            (Some(_), Saved::Input(x)) => Some(x),
                            _ => None,
                        };
                        let dw = match param {
                            Some(j) => {
                                Some(grads[j].view_mut().into_dimensionality::<Ix2>().map_err(
                                    |_| TrainError::new("a matrix parameter is not 2-D"),
                                )?)
                            }
                            None => None,
                        };
                        if let (None, None, Ok((g, a))) =
                            (src_sel, dst_sel, read_write(adj, *dst, *src))
                        {
                            if let (Some(x), Some(mut dw)) = (x, dw) {
                                general_mat_mul(T::one(), &g.t(), x, T::one(), &mut dw);
                            }
                            if need(src) {
                                general_mat_mul(T::one(), g, &w, T::one(), a);
                            }
                        } else {
                            let g = gather(&adj[dst.0 as usize], dst_sel);
                            if let (Some(x), Some(mut dw)) = (x, dw) {
                                general_mat_mul(T::one(), &g.t(), x, T::one(), &mut dw);
                            }
                            if need(src) {
                                scatter(&mut adj[src.0 as usize], src_sel, &g.dot(&w), true);
                            }
                        }
                    }
                    OpKind::SparseDotInc { rows: r, cols, src, dst, src_sel, dst_sel, .. } => {
                        let g = gather(&adj[dst.0 as usize], dst_sel);
                        let v = values(param.map(|j| &params[j]), &self.consts[i]);
                        if let (Some(j), Saved::Input(x)) = (param, &saved[i]) {
                            let gv: Vec<T> = r
                                .iter()
                                .zip(cols)
                                .map(|(&ri, &ci)| g.column(ri).dot(&x.column(ci)))
                                .collect();
                            add_flat(&mut grads[j], &gv);
                        }
                        if need(src) {
                            let n_in =
                                src_sel.as_ref().map_or(p.signals[src.0 as usize].size, Vec::len);
                            let mut gx = Array2::zeros((rows, n_in));
                            for ((&ri, &ci), &w) in r.iter().zip(cols).zip(v.iter()) {
                                gx.column_mut(ci).scaled_add(w, &g.column(ri));
                            }
                            scatter(&mut adj[src.0 as usize], src_sel, &gx, true);
                        }
                    }
                    OpKind::ConvInc { src, dst, .. } => {
                        let conv = convs[i]
                            .as_ref()
                            .ok_or_else(|| TrainError::at("convolution not prepared", op.origin))?;
                        let empty = Array2::zeros((rows, 0));
                        let x = match &saved[i] {
                            Saved::Input(x) => x.view(),
                            _ => empty.view(),
                        };
                        let dk = match param {
                            Some(j) => Some(grads[j].as_slice_mut().ok_or_else(|| {
                                TrainError::new("a kernel's gradient is not contiguous")
                            })?),
                            None => None,
                        };
                        let (g, dx) = read_write(adj, *dst, *src)?;
                        let dx = need(src).then(|| dx.view_mut());
                        conv.backward_batch(x, g.view(), dx, dk, scratch)
                            .map_err(|e| TrainError::at(e, op.origin))?;
                    }
                    OpKind::SimNeurons { neuron, j, out, states, .. } => {
                        for (_, s) in states {
                            if s != out {
                                adj[s.0 as usize].fill(T::zero());
                            }
                        }
                        if let Saved::Input(jv) = &saved[i] {
                            // adj[j] += rate'(j) * adj[out], in one pass over the three.
                            let (g, aj) = read_write(adj, *out, *j)?;
                            match (jv.as_slice(), g.as_slice(), aj.as_slice_mut()) {
                                (Some(js), Some(gs), Some(a)) => {
                                    neuron.add_training_gradient(js, gs, a, self.lif_smoothing)
                                }
                                _ => {
                                    return Err(TrainError::new(
                                        "neuron signals are not contiguous",
                                    ))
                                }
                            }
                        }
                        adj[out.0 as usize].fill(T::zero());
                    }
                    OpKind::Filter { filter, src, dst } => {
                        let n = p.signals[src.0 as usize].size;
                        let mut du = vec![T::zero(); n];
                        let (g, a) = read_write(adj, *dst, *src)?;
                        for ((gr, mut ar), mut axr) in
                            g.rows().into_iter().zip(a.rows_mut()).zip(adj_filter[i].rows_mut())
                        {
                            let (Some(gs), Some(ax)) = (gr.as_slice(), axr.as_slice_mut()) else {
                                return Err(TrainError::new("filter rows are not contiguous"));
                            };
                            filter_adjoint(filter, n, ax, gs, &mut du);
                            if need(src) {
                                ar.iter_mut().zip(&du).for_each(|(d, &v)| *d += v);
                            }
                        }
                        adj[dst.0 as usize].fill(T::zero());
                    }
                    OpKind::Scale { dst, factor } => {
                        let factor = T::cast(*factor);
                        adj[dst.0 as usize].mapv_inplace(|v| v * factor)
                    }
                    OpKind::HostFn { op: h, input, dst } => {
                        if let Saved::InOut(x, y) = &saved[i] {
                            let (g, a) = read_write(adj, *dst, *input)?;
                            // host ops compute in f64
                            let widen = |r: ndarray::ArrayView1<'_, T>| -> Vec<f64> {
                                r.iter().map(|v| v.widen()).collect()
                            };
                            let mut dx = vec![0.0; x.ncols()];
                            for (b, mut ar) in a.rows_mut().into_iter().enumerate() {
                                dx.fill(0.0);
                                h.backward(
                                    &widen(x.row(b)),
                                    &widen(y.row(b)),
                                    &widen(g.row(b)),
                                    &mut dx,
                                )
                                .map_err(|e| TrainError::at(e, op.origin))?;
                                ar.iter_mut().zip(&dx).for_each(|(d, &v)| *d += T::cast(v));
                            }
                        }
                        adj[dst.0 as usize].fill(T::zero());
                    }
                }
            }
        }
        Ok(grads.into_iter().map(|g| g.mapv(|v| v.widen())).collect())
    }

    /// Per op, the convolution to run with the current parameters.
    fn convs(&self, params: &[ArrayD<f64>]) -> Result<Vec<Option<Conv<T>>>, TrainError> {
        let mut out = Vec::with_capacity(self.program.ops.len());
        for (i, op) in self.program.ops.iter().enumerate() {
            out.push(match &op.kind {
                OpKind::ConvInc { spec, .. } => {
                    let spec: ConvSpec = match self.op_param[i] {
                        Some(j) => ConvSpec { kernel: params[j].clone(), ..spec.clone() },
                        None => spec.clone(),
                    };
                    Some(Conv::new(&spec, false).map_err(|e| TrainError::at(e, op.origin))?)
                }
                _ => None,
            });
        }
        Ok(out)
    }
}

/// Per signal, whether an op sets all of it before any op reads, increments or updates it in
/// a step (in the program's order).
fn written_first(p: &Program) -> Vec<bool> {
    let mut seen = vec![false; p.signals.len()];
    let mut first = vec![false; p.signals.len()];
    for op in &p.ops {
        let a = op.kind.access();
        for s in a.reads.iter().chain(&a.incs).chain(&a.updates) {
            seen[s.0 as usize] = true;
        }
        let whole = match &op.kind {
            OpKind::Reset { dst, .. } | OpKind::Input { dst, .. } => Some(*dst),
            OpKind::SimNeurons { out, .. } => Some(*out),
            OpKind::Copy { dst, dst_sel: None, inc: false, .. } => Some(*dst),
            _ => None,
        };
        if let Some(d) = whole {
            let d = d.0 as usize;
            first[d] |= !seen[d];
        }
        for s in &a.sets {
            seen[s.0 as usize] = true;
        }
    }
    first
}

/// Per op, a zeroed filter state `(rows, order * n)` (empty for ops that are not filters).
fn filter_states<T: Real>(p: &Program, rows: usize) -> Vec<Array2<T>> {
    p.ops
        .iter()
        .map(|op| match &op.kind {
            OpKind::Filter { filter, src, .. } => {
                Array2::zeros((rows, filter.order() * p.signals[src.0 as usize].size))
            }
            _ => Array2::zeros((0, 0)),
        })
        .collect()
}

/// The adjoint of one step of `filter` on `n` elements: `ax` holds the adjoint of the state
/// after the step and becomes that of the state before it; `g` is the adjoint of the output;
/// `du` receives the adjoint of the input.
fn filter_adjoint<T: Real>(filter: &DiscreteFilter, n: usize, ax: &mut [T], g: &[T], du: &mut [T]) {
    let order = filter.order();
    let (fa, fb, fc, fd) = (&filter.a, &filter.b, &filter.c, T::cast(filter.d));
    match filter.kind {
        FilterKind::NoX => {
            for (d, &gv) in du.iter_mut().zip(g) {
                *d = fd * gv;
            }
        }
        FilterKind::OneX => {
            // x' = a x + (c b) u, y = x'.
            let a = T::cast(fa[(0, 0)]);
            let cb = T::cast(fc[0] * fb[0]);
            for s in 0..n {
                let axn = ax[s] + g[s];
                du[s] = cb * axn;
                ax[s] = a * axn;
            }
        }
        FilterKind::NoD | FilterKind::General => {
            let general = filter.kind == FilterKind::General;
            let mut col = vec![T::zero(); order];
            for s in 0..n {
                // x' = A x + B u; y = C x' (NoD) or y = C x + D u (General).
                for (i, c) in col.iter_mut().enumerate() {
                    *c = ax[i * n + s] + if general { T::zero() } else { T::cast(fc[i]) * g[s] };
                }
                let mut dus = if general { fd * g[s] } else { T::zero() };
                for (i, &c) in col.iter().enumerate() {
                    dus += T::cast(fb[i]) * c;
                }
                du[s] = dus;
                for k in 0..order {
                    let mut acc = if general { T::cast(fc[k]) * g[s] } else { T::zero() };
                    for (i, &c) in col.iter().enumerate() {
                        acc += T::cast(fa[(i, k)]) * c;
                    }
                    ax[k * n + s] = acc;
                }
            }
        }
    }
}

/// A matrix parameter as a 2-D view.
fn matrix<T: Real>(a: &ArrayD<T>) -> Result<ndarray::ArrayView2<'_, T>, TrainError> {
    a.view()
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| TrainError::new("a matrix parameter is not 2-D"))
}

/// Signal `read`'s array and signal `write`'s, mutable (two different signals).
fn read_write<T: Real>(
    v: &mut [Array2<T>],
    read: SignalId,
    write: SignalId,
) -> Result<(&Array2<T>, &mut Array2<T>), TrainError> {
    let (r, w) = (read.0 as usize, write.0 as usize);
    if r == w || r >= v.len() || w >= v.len() {
        return Err(TrainError::new("an op reads and writes the same signal"));
    }
    Ok(if r < w {
        let (a, b) = v.split_at_mut(w);
        (&a[r], &mut b[0])
    } else {
        let (a, b) = v.split_at_mut(r);
        (&b[0], &mut a[w])
    })
}

/// A parameter's values in logical order, or `fallback` without a parameter.
fn values<'a, T: Real>(param: Option<&'a ArrayD<T>>, fallback: &'a [T]) -> Cow<'a, [T]> {
    match param {
        Some(a) => match a.as_slice() {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Owned(a.iter().copied().collect()),
        },
        None => Cow::Borrowed(fallback),
    }
}

/// `src[:, sel]`, owned.
fn gather<T: Real>(src: &Array2<T>, sel: &Sel) -> Array2<T> {
    match sel {
        None => src.clone(),
        Some(ix) => src.select(Axis(1), ix),
    }
}

/// `dst[:, sel] (+)= vals`.
fn scatter<T: Real>(dst: &mut Array2<T>, sel: &Sel, vals: &Array2<T>, inc: bool) {
    match (sel, inc) {
        (None, true) => *dst += vals,
        (None, false) => dst.assign(vals),
        (Some(ix), _) => {
            for (k, &i) in ix.iter().enumerate() {
                let v = vals.column(k);
                let mut d = dst.column_mut(i);
                if inc {
                    d += &v;
                } else {
                    d.assign(&v);
                }
            }
        }
    }
}

/// `dst[:, sel] = 0`.
fn zero_sel<T: Real>(dst: &mut Array2<T>, sel: &Sel) {
    match sel {
        None => dst.fill(T::zero()),
        Some(ix) => ix.iter().for_each(|&i| dst.column_mut(i).fill(T::zero())),
    }
}

/// Every row set to `v` (one value broadcast, or one per column).
fn fill<T: Real>(dst: &mut Array2<T>, v: &[T]) {
    if v.len() == 1 {
        dst.fill(v[0]);
    } else {
        for mut r in dst.rows_mut() {
            r.iter_mut().zip(v).for_each(|(d, &x)| *d = x);
        }
    }
}

/// Columns scaled by `scale` (one value broadcast, or one per column).
fn scale_cols<T: Real>(a: &mut Array2<T>, scale: &[T]) {
    if scale.len() == 1 {
        a.mapv_inplace(|v| v * scale[0]);
    } else {
        for mut r in a.rows_mut() {
            r.iter_mut().zip(scale).for_each(|(d, &s)| *d = *d * s);
        }
    }
}

/// `y += x * scale` (one value broadcast, or one per column).
fn add_scaled_cols<T: Real>(y: &mut Array2<T>, x: &Array2<T>, scale: &[T]) {
    if let [c] = scale {
        y.scaled_add(*c, x);
    } else {
        for (mut yr, xr) in y.rows_mut().into_iter().zip(x.rows()) {
            ndarray::Zip::from(&mut yr).and(&xr).and(scale).for_each(|d, &v, &s| *d += s * v);
        }
    }
}

/// `grad += Σ_rows g * x`, per column, or summed over the columns too when `one` (the
/// gradient of an elementwise scale).
fn add_products<T: Real>(grad: &mut ArrayD<T>, g: &Array2<T>, x: &Array2<T>, one: bool) {
    let gx = g * x;
    if one {
        add_flat(grad, &[gx.sum()]);
    } else {
        add_flat(grad, gx.sum_axis(Axis(0)).iter());
    }
}

/// `g += v` elementwise, both in logical (row-major) order.
fn add_flat<'a, T: Real>(g: &mut ArrayD<T>, v: impl IntoIterator<Item = &'a T>) {
    for (d, &x) in g.iter_mut().zip(v) {
        *d += x;
    }
}
