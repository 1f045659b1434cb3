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
use ndarray::{s, Array2, Array3, ArrayD, Axis};
use snn_compiler::ir::{OpKind, Program, Sel, SignalId};
use snn_runtime::kernels::conv::{Conv, ConvGeometry, ConvSpec};
use snn_runtime::process::ProcessState;
use snn_runtime::synapse::{DiscreteFilter, FilterKind};

/// A program prepared for training with a fixed set of parameters.
#[derive(Debug)]
pub struct Engine<'p> {
    program: &'p Program,
    /// Per op, the parameter it holds.
    op_param: Vec<Option<usize>>,
    /// Per signal, whether it depends on a parameter (its adjoint matters).
    needs: Vec<bool>,
    /// LIF neurons train as NengoDL's `SoftLIFRate` with this sigma (`lif_smoothing`).
    lif_smoothing: Option<f64>,
}

/// What the forward pass kept for the backward pass.
#[derive(Debug)]
pub struct Tape {
    /// Per step, per op: the values its gradient needs.
    saved: Vec<Vec<Saved>>,
    /// Number of batch rows.
    rows: usize,
}

#[derive(Debug)]
enum Saved {
    None,
    /// The op's (selected) input.
    Input(Array2<f64>),
    /// A host op's input and output.
    InOut(Array2<f64>, Array2<f64>),
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

impl<'p> Engine<'p> {
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
        Ok(Self { program, op_param, needs, lif_smoothing: None })
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

    /// Runs `feed` forward in training mode with `params`; returns each probe's samples
    /// `(rows, samples, size)` and the tape for [`Engine::backward`].
    pub fn forward(
        &self,
        params: &[ArrayD<f64>],
        feed: Feed<'_>,
    ) -> Result<(Vec<Array3<f64>>, Tape), TrainError> {
        let p = self.program;
        let rows = feed.inputs.first().map_or(1, |a| a.shape()[0]);
        let mut vals: Vec<Array2<f64>> = p
            .signals
            .iter()
            .map(|s| {
                let mut a = Array2::zeros((rows, s.size));
                if s.init.len() == s.size {
                    for mut r in a.rows_mut() {
                        r.iter_mut().zip(&s.init).for_each(|(d, &v)| *d = v);
                    }
                }
                a
            })
            .collect();
        let mut filters = filter_states(p, rows);
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
        let convs = self.convs(params)?;
        let mut probes: Vec<Array3<f64>> = p
            .probes
            .iter()
            .map(|pr| {
                let size = p.signals[pr.signal.0 as usize].size;
                Array3::zeros((rows, samples(feed.steps, pr.every), size))
            })
            .collect();
        let mut sample_at = vec![0usize; p.probes.len()];
        let mut saved = Vec::with_capacity(feed.steps);
        for k in 1..=feed.steps {
            let mut step_saved = Vec::with_capacity(p.ops.len());
            for (i, op) in p.ops.iter().enumerate() {
                let param = self.op_param[i].map(|j| &params[j]);
                let keep = self.op_param[i].is_some();
                let s = match &op.kind {
                    OpKind::Input { input, dst } => {
                        let data = feed
                            .inputs
                            .get(*input)
                            .ok_or_else(|| TrainError::at("no data for this input", op.origin))?;
                        let t = if data.shape()[1] == 1 { 0 } else { k - 1 };
                        vals[dst.0 as usize].assign(&data.slice(s![.., t, ..]));
                        Saved::None
                    }
                    OpKind::Reset { dst, value } => {
                        let v: Vec<f64> = match param {
                            Some(a) => a.iter().copied().collect(),
                            None => value.clone(),
                        };
                        fill(&mut vals[dst.0 as usize], &v);
                        Saved::None
                    }
                    OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
                        if let (None, None, Ok((x, y))) =
                            (src_sel, dst_sel, read_write(&mut vals, *src, *dst))
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
                        Saved::None
                    }
                    OpKind::ElementwiseInc { scale, src, dst, src_sel, dst_sel } => {
                        let scale: Vec<f64> = match param {
                            Some(a) => a.iter().copied().collect(),
                            None => scale.clone(),
                        };
                        let x = gather(&vals[src.0 as usize], src_sel);
                        let mut y = x.clone();
                        scale_cols(&mut y, &scale);
                        scatter(&mut vals[dst.0 as usize], dst_sel, &y, true);
                        if keep {
                            Saved::Input(x)
                        } else {
                            Saved::None
                        }
                    }
                    OpKind::DotInc { mat, src, dst, src_sel, dst_sel } => {
                        let x = gather(&vals[src.0 as usize], src_sel);
                        let y = match param {
                            Some(a) => x.dot(&matrix(a)?.t()),
                            None => x.dot(&mat.t()),
                        };
                        scatter(&mut vals[dst.0 as usize], dst_sel, &y, true);
                        if keep {
                            Saved::Input(x)
                        } else {
                            Saved::None
                        }
                    }
                    OpKind::SparseDotInc { rows: r, cols, vals: v, src, dst, src_sel, dst_sel } => {
                        let v: Vec<f64> = match param {
                            Some(a) => a.iter().copied().collect(),
                            None => v.clone(),
                        };
                        let x = gather(&vals[src.0 as usize], src_sel);
                        let n_out =
                            dst_sel.as_ref().map_or(p.signals[dst.0 as usize].size, Vec::len);
                        let mut y = Array2::zeros((rows, n_out));
                        for ((&ri, &ci), &w) in r.iter().zip(cols).zip(&v) {
                            let xc = x.column(ci).to_owned();
                            y.column_mut(ri).scaled_add(w, &xc);
                        }
                        scatter(&mut vals[dst.0 as usize], dst_sel, &y, true);
                        if keep {
                            Saved::Input(x)
                        } else {
                            Saved::None
                        }
                    }
                    OpKind::ConvInc { src, dst, .. } => {
                        let conv = convs[i]
                            .as_ref()
                            .ok_or_else(|| TrainError::at("convolution not prepared", op.origin))?;
                        let (x, y) = read_write(&mut vals, *src, *dst)?;
                        conv.forward_batch(x.view(), y.view_mut())
                            .map_err(|e| TrainError::at(e, op.origin))?;
                        if keep {
                            Saved::Input(x.clone())
                        } else {
                            Saved::None
                        }
                    }
                    OpKind::SimNeurons { neuron, j, out, .. } => {
                        let (jv, o) = read_write(&mut vals, *j, *out)?;
                        let smoothing = self.lif_smoothing;
                        o.zip_mut_with(jv, |d, &jj| *d = neuron.training_rate(jj, smoothing));
                        if self.needs[j.0 as usize] {
                            Saved::Input(jv.clone())
                        } else {
                            Saved::None
                        }
                    }
                    OpKind::Filter { filter, src, dst } => {
                        let x = vals[src.0 as usize].clone();
                        let state = &mut filters[i];
                        let y = &mut vals[dst.0 as usize];
                        for ((xr, mut yr), mut st) in
                            x.rows().into_iter().zip(y.rows_mut()).zip(state.rows_mut())
                        {
                            let xs = xr.to_vec();
                            let mut ys = vec![0.0; xs.len()];
                            let stv = st
                                .as_slice_mut()
                                .ok_or_else(|| TrainError::new("filter state is not contiguous"))?;
                            filter.step(stv, &xs, &mut ys);
                            yr.iter_mut().zip(ys).for_each(|(d, v)| *d = v);
                        }
                        Saved::None
                    }
                    OpKind::Scale { dst, factor } => {
                        vals[dst.0 as usize].mapv_inplace(|v| v * factor);
                        Saved::None
                    }
                    OpKind::NodeFn { f, input, dst } => {
                        let t = k as f64 * p.dt;
                        for b in 0..rows {
                            let x: Vec<f64> =
                                input.map_or_else(Vec::new, |s| vals[s.0 as usize].row(b).to_vec());
                            let y = f.eval(t, &x);
                            vals[dst.0 as usize]
                                .row_mut(b)
                                .iter_mut()
                                .zip(y)
                                .for_each(|(d, v)| *d = v);
                        }
                        Saved::None
                    }
                    OpKind::Process { dst, .. } => {
                        let mut out = vec![0.0; p.signals[dst.0 as usize].size];
                        for (b, st) in processes[i].iter().enumerate() {
                            st.step(k as u64, p.dt, &mut out);
                            vals[dst.0 as usize]
                                .row_mut(b)
                                .iter_mut()
                                .zip(&out)
                                .for_each(|(d, &v)| *d = v);
                        }
                        Saved::None
                    }
                    OpKind::HostFn { op: h, input, dst } => {
                        let x = vals[input.0 as usize].clone();
                        let y = &mut vals[dst.0 as usize];
                        let mut ys = vec![0.0; y.ncols()];
                        for (xr, mut yr) in x.rows().into_iter().zip(y.rows_mut()) {
                            h.apply(&xr.to_vec(), &mut ys);
                            yr.iter_mut().zip(&ys).for_each(|(d, &v)| *d = v);
                        }
                        if self.needs[input.0 as usize] {
                            Saved::InOut(x, y.clone())
                        } else {
                            Saved::None
                        }
                    }
                };
                step_saved.push(s);
            }
            for (pi, pr) in p.probes.iter().enumerate() {
                if k % pr.every.max(1) == 0 {
                    let at = sample_at[pi];
                    probes[pi].slice_mut(s![.., at, ..]).assign(&vals[pr.signal.0 as usize]);
                    sample_at[pi] += 1;
                }
            }
            saved.push(step_saved);
        }
        Ok((probes, Tape { saved, rows }))
    }

    /// The gradients of the loss with respect to `params`, given the loss's gradient with
    /// respect to each probe's samples (`seeds[p]`, shaped as [`Engine::forward`]'s outputs).
    pub fn backward(
        &self,
        params: &[ArrayD<f64>],
        tape: &Tape,
        seeds: &[Array3<f64>],
    ) -> Result<Vec<ArrayD<f64>>, TrainError> {
        let p = self.program;
        let rows = tape.rows;
        let mut grads: Vec<ArrayD<f64>> =
            params.iter().map(|a| ArrayD::zeros(a.raw_dim())).collect();
        let mut adj: Vec<Array2<f64>> =
            p.signals.iter().map(|s| Array2::zeros((rows, s.size))).collect();
        let mut adj_filter = filter_states(p, rows);
        let convs = self.convs(params)?;
        let steps = tape.saved.len();
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
            let saved = &tape.saved[k - 1];
            for (i, op) in p.ops.iter().enumerate().rev() {
                let param = self.op_param[i];
                let need = |s: &SignalId| self.needs[s.0 as usize];
                match &op.kind {
                    OpKind::Input { dst, .. }
                    | OpKind::NodeFn { dst, .. }
                    | OpKind::Process { dst, .. } => adj[dst.0 as usize].fill(0.0),
                    OpKind::Reset { dst, .. } => {
                        if let Some(j) = param {
                            let g = adj[dst.0 as usize].sum_axis(Axis(0));
                            add_flat(&mut grads[j], g.iter());
                        }
                        adj[dst.0 as usize].fill(0.0);
                    }
                    OpKind::Copy { src, dst, src_sel, dst_sel, inc }
                        if src_sel.is_none() && dst_sel.is_none() && src != dst =>
                    {
                        if need(src) {
                            let (g, a) = read_write(&mut adj, *dst, *src)?;
                            *a += g;
                        }
                        if !inc {
                            adj[dst.0 as usize].fill(0.0);
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
                    OpKind::ElementwiseInc { scale, src, dst, src_sel, dst_sel } => {
                        let g = gather(&adj[dst.0 as usize], dst_sel);
                        let scale: Vec<f64> = match param {
                            Some(j) => params[j].iter().copied().collect(),
                            None => scale.clone(),
                        };
                        if let (Some(j), Saved::Input(x)) = (param, &saved[i]) {
                            let gx = &g * x;
                            if scale.len() == 1 {
                                add_flat(&mut grads[j], &[gx.sum()]);
                            } else {
                                let col = gx.sum_axis(Axis(0));
                                add_flat(&mut grads[j], col.iter());
                            }
                        }
                        if need(src) {
                            let mut gs = g;
                            scale_cols(&mut gs, &scale);
                            scatter(&mut adj[src.0 as usize], src_sel, &gs, true);
                        }
                    }
                    OpKind::DotInc { mat, src, dst, src_sel, dst_sel } => {
                        let g = gather(&adj[dst.0 as usize], dst_sel);
                        if let (Some(j), Saved::Input(x)) = (param, &saved[i]) {
                            let gm = g.t().dot(x).into_dyn();
                            if grads[j].shape() == gm.shape() {
                                grads[j] += &gm;
                            }
                        }
                        if need(src) {
                            let gx = match param {
                                Some(j) => g.dot(&matrix(&params[j])?),
                                None => g.dot(mat),
                            };
                            scatter(&mut adj[src.0 as usize], src_sel, &gx, true);
                        }
                    }
                    OpKind::SparseDotInc { rows: r, cols, vals: v, src, dst, src_sel, dst_sel } => {
                        let g = gather(&adj[dst.0 as usize], dst_sel);
                        let v: Vec<f64> = match param {
                            Some(j) => params[j].iter().copied().collect(),
                            None => v.clone(),
                        };
                        if let (Some(j), Saved::Input(x)) = (param, &saved[i]) {
                            let gv: Vec<f64> = r
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
                            for ((&ri, &ci), &w) in r.iter().zip(cols).zip(&v) {
                                let gc = g.column(ri).to_owned();
                                gx.column_mut(ci).scaled_add(w, &gc);
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
                        let mut dk = param.map(|j| vec![0.0; params[j].len()]);
                        let (g, dx) = read_write(&mut adj, *dst, *src)?;
                        let dx = need(src).then(|| dx.view_mut());
                        conv.backward_batch(x, g.view(), dx, dk.as_deref_mut())
                            .map_err(|e| TrainError::at(e, op.origin))?;
                        if let (Some(j), Some(dk)) = (param, dk) {
                            add_flat(&mut grads[j], &dk);
                        }
                    }
                    OpKind::SimNeurons { neuron, j, out, states, .. } => {
                        for (_, s) in states {
                            if s != out {
                                adj[s.0 as usize].fill(0.0);
                            }
                        }
                        if let Saved::Input(jv) = &saved[i] {
                            // adj[j] += rate'(j) * adj[out], in one pass over the three.
                            let smoothing = self.lif_smoothing;
                            let (g, aj) = read_write(&mut adj, *out, *j)?;
                            ndarray::Zip::from(aj).and(g).and(jv).for_each(|a, &gv, &x| {
                                let d = neuron.training_rate_derivative(x, smoothing);
                                *a += d.unwrap_or(0.0) * gv;
                            });
                        }
                        adj[out.0 as usize].fill(0.0);
                    }
                    OpKind::Filter { filter, src, dst } => {
                        let g = std::mem::replace(
                            &mut adj[dst.0 as usize],
                            Array2::zeros((rows, p.signals[dst.0 as usize].size)),
                        );
                        let n = p.signals[src.0 as usize].size;
                        let mut du = Array2::zeros((rows, n));
                        let mut ax = vec![0.0; adj_filter[i].ncols()];
                        let mut dub = vec![0.0; n];
                        for b in 0..rows {
                            ax.iter_mut().zip(adj_filter[i].row(b)).for_each(|(d, &v)| *d = v);
                            filter_adjoint(filter, n, &mut ax, &g.row(b).to_vec(), &mut dub);
                            adj_filter[i].row_mut(b).iter_mut().zip(&ax).for_each(|(d, &v)| *d = v);
                            du.row_mut(b).iter_mut().zip(&dub).for_each(|(d, &v)| *d = v);
                        }
                        if need(src) {
                            adj[src.0 as usize] += &du;
                        }
                    }
                    OpKind::Scale { dst, factor } => {
                        adj[dst.0 as usize].mapv_inplace(|v| v * factor)
                    }
                    OpKind::HostFn { op: h, input, dst } => {
                        let g = std::mem::replace(
                            &mut adj[dst.0 as usize],
                            Array2::zeros((rows, p.signals[dst.0 as usize].size)),
                        );
                        if let Saved::InOut(x, y) = &saved[i] {
                            for b in 0..rows {
                                let mut dx = vec![0.0; x.ncols()];
                                h.backward(
                                    &x.row(b).to_vec(),
                                    &y.row(b).to_vec(),
                                    &g.row(b).to_vec(),
                                    &mut dx,
                                )
                                .map_err(|e| TrainError::at(e, op.origin))?;
                                adj[input.0 as usize]
                                    .row_mut(b)
                                    .iter_mut()
                                    .zip(dx)
                                    .for_each(|(d, v)| *d += v);
                            }
                        }
                    }
                }
            }
        }
        Ok(grads)
    }

    /// Per op, the convolution to run with the current parameters.
    fn convs(&self, params: &[ArrayD<f64>]) -> Result<Vec<Option<Conv<f64>>>, TrainError> {
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

/// Per op, a zeroed filter state `(rows, order * n)` (empty for ops that are not filters).
fn filter_states(p: &Program, rows: usize) -> Vec<Array2<f64>> {
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
fn filter_adjoint(filter: &DiscreteFilter, n: usize, ax: &mut [f64], g: &[f64], du: &mut [f64]) {
    let order = filter.order();
    match filter.kind {
        FilterKind::NoX => {
            for (d, &gv) in du.iter_mut().zip(g) {
                *d = filter.d * gv;
            }
        }
        FilterKind::OneX => {
            // x' = a x + (c b) u, y = x'.
            let a = filter.a[(0, 0)];
            let cb = filter.c[0] * filter.b[0];
            for s in 0..n {
                let axn = ax[s] + g[s];
                du[s] = cb * axn;
                ax[s] = a * axn;
            }
        }
        FilterKind::NoD | FilterKind::General => {
            let general = filter.kind == FilterKind::General;
            let mut col = vec![0.0; order];
            for s in 0..n {
                // x' = A x + B u; y = C x' (NoD) or y = C x + D u (General).
                for (i, c) in col.iter_mut().enumerate() {
                    *c = ax[i * n + s] + if general { 0.0 } else { filter.c[i] * g[s] };
                }
                let mut dus = if general { filter.d * g[s] } else { 0.0 };
                for (i, &c) in col.iter().enumerate() {
                    dus += filter.b[i] * c;
                }
                du[s] = dus;
                for k in 0..order {
                    let mut acc = if general { filter.c[k] * g[s] } else { 0.0 };
                    for (i, &c) in col.iter().enumerate() {
                        acc += filter.a[(i, k)] * c;
                    }
                    ax[k * n + s] = acc;
                }
            }
        }
    }
}

/// A matrix parameter as a 2-D view.
fn matrix(a: &ArrayD<f64>) -> Result<ndarray::ArrayView2<'_, f64>, TrainError> {
    a.view()
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| TrainError::new("a matrix parameter is not 2-D"))
}

/// Signal `read`'s array and signal `write`'s, mutable (two different signals).
fn read_write(
    v: &mut [Array2<f64>],
    read: SignalId,
    write: SignalId,
) -> Result<(&Array2<f64>, &mut Array2<f64>), TrainError> {
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

/// `src[:, sel]`, owned.
fn gather(src: &Array2<f64>, sel: &Sel) -> Array2<f64> {
    match sel {
        None => src.clone(),
        Some(ix) => src.select(Axis(1), ix),
    }
}

/// `dst[:, sel] (+)= vals`.
fn scatter(dst: &mut Array2<f64>, sel: &Sel, vals: &Array2<f64>, inc: bool) {
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
fn zero_sel(dst: &mut Array2<f64>, sel: &Sel) {
    match sel {
        None => dst.fill(0.0),
        Some(ix) => ix.iter().for_each(|&i| dst.column_mut(i).fill(0.0)),
    }
}

/// Every row set to `v` (one value broadcast, or one per column).
fn fill(dst: &mut Array2<f64>, v: &[f64]) {
    if v.len() == 1 {
        dst.fill(v[0]);
    } else {
        for mut r in dst.rows_mut() {
            r.iter_mut().zip(v).for_each(|(d, &x)| *d = x);
        }
    }
}

/// Columns scaled by `scale` (one value broadcast, or one per column).
fn scale_cols(a: &mut Array2<f64>, scale: &[f64]) {
    if scale.len() == 1 {
        a.mapv_inplace(|v| v * scale[0]);
    } else {
        for mut r in a.rows_mut() {
            r.iter_mut().zip(scale).for_each(|(d, &s)| *d *= s);
        }
    }
}

/// `g += v` elementwise, both in logical (row-major) order.
fn add_flat<'a>(g: &mut ArrayD<f64>, v: impl IntoIterator<Item = &'a f64>) {
    for (d, &x) in g.iter_mut().zip(v) {
        *d += x;
    }
}
