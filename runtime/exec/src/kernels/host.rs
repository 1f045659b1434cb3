//! Host kernels other than convolution: processes, host functions, node functions too large to
//! unroll, and neuron-state initialisation (plus the random spike generation of the stochastic
//! rates-to-spikes wrappers): the runtime's kernels ([`ProcessState`], [`HostOp::apply_in`],
//! [`init_state`]) on the state block, which the interpreter calls too.

use crate::float::Float;
use crate::kernel::{split, HostKernel, KernelState};
use serde::{Deserialize, Serialize};
use snn_runtime::expr::FnExpr;
use snn_runtime::kernels::host::HostOp;
use snn_runtime::kernels::neurons::init_state;
use snn_runtime::neurons::{NeuronState, NeuronType, StateInit, StateVar};
use snn_runtime::process::{ProcessSpec, ProcessState};
use snn_runtime::real::cast_into;

/// A process writing `n` values at `dst` each step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Process {
    pub spec: ProcessSpec,
    pub seed: u64,
    pub dst: usize,
    pub n: usize,
    pub dt: f64,
}

impl<T: Float> HostKernel<T> for Process {
    fn init(&self, b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        let st = ProcessState::new(&self.spec, self.n, self.dt, self.seed, b)
            .map_err(|e| e.to_string())?;
        Ok(Box::new((st, vec![0.0f64; self.n])))
    }

    fn step(&self, state: &mut KernelState, k: u64, mem: &mut [T]) -> Result<(), String> {
        let (st, wide) =
            state.downcast_mut::<(ProcessState, Vec<f64>)>().ok_or("process: wrong state")?;
        st.step(k, self.dt, wide);
        let dst = mem.get_mut(self.dst..self.dst + self.n).ok_or("process: bad range")?;
        cast_into(wide, dst);
        Ok(())
    }
}

/// A host function (`max_pool2d`, `softmax`, …): `dst = op(src)`, evaluated in `f64`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostFn {
    pub op: HostOp,
    pub src: (usize, usize),
    pub dst: (usize, usize),
}

impl<T: Float> HostKernel<T> for HostFn {
    fn init(&self, _b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        Ok(Box::new((Vec::<f64>::new(), Vec::<f64>::new())))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let wide = state.downcast_mut::<(Vec<f64>, Vec<f64>)>().ok_or("host fn: wrong state")?;
        let (src, dst) = split(mem, self.src, self.dst)?;
        self.op.apply_in(src, dst, wide);
        Ok(())
    }
}

/// A node function evaluated by [`FnExpr::eval`] (for functions too large to unroll).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeFn {
    pub f: FnExpr,
    pub src: Option<(usize, usize)>,
    pub dst: (usize, usize),
    pub dt: f64,
}

impl<T: Float> HostKernel<T> for NodeFn {
    fn init(&self, _b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        Ok(Box::new(Vec::<f64>::new()))
    }

    fn step(&self, state: &mut KernelState, k: u64, mem: &mut [T]) -> Result<(), String> {
        let wide = state.downcast_mut::<Vec<f64>>().ok_or("node fn: wrong state")?;
        wide.clear();
        if let Some((off, n)) = self.src {
            let src = mem.get(off..off + n).ok_or("node fn: bad range")?;
            wide.extend(src.iter().map(|v| v.widen()));
        }
        let y = self.f.eval(k as f64 * self.dt, wide);
        let dst = mem.get_mut(self.dst.0..self.dst.0 + self.dst.1).ok_or("node fn: bad range")?;
        for (d, v) in dst.iter_mut().zip(y) {
            *d = T::cast(v);
        }
        Ok(())
    }
}

/// Initial neuron states of one `SimNeurons` op (drawn as the interpreter draws them), written
/// into the block; for the stochastic wrappers also the step that turns `rate_out` into spikes
/// with the state's random stream.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Neurons {
    pub neuron: NeuronType,
    pub n: usize,
    /// Explicitly initialised state variables (the others take their defaults).
    pub init: Vec<(StateVar, StateInit)>,
    pub seed: u64,
    /// Where each state variable lives in the block.
    pub states: Vec<(StateVar, usize)>,
    /// For stochastic wrappers: `(rate_out offset, out offset, dt)`.
    pub spikes: Option<(usize, usize, f64)>,
}

impl<T: Float> HostKernel<T> for Neurons {
    fn init(&self, b: usize, mem: &mut [T]) -> Result<KernelState, String> {
        let st: NeuronState<T> = init_state(&self.neuron, self.n, self.seed, b, &self.init)
            .map_err(|e| e.to_string())?;
        for &(var, off) in &self.states {
            let v = st.get(var);
            mem.get_mut(off..off + v.len()).ok_or("neurons: bad range")?.copy_from_slice(v);
        }
        Ok(Box::new(st))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let Some((rate, out, dt)) = self.spikes else { return Ok(()) };
        let st = state.downcast_mut::<NeuronState<T>>().ok_or("neurons: wrong state")?;
        let (r, o) = split(mem, (rate, self.n), (out, self.n))?;
        let dt = T::cast(dt);
        match &self.neuron {
            NeuronType::StochasticSpiking(w) => w.step(dt, r, o, w.base.is_negative(), &mut st.rng),
            NeuronType::PoissonSpiking(w) => w.step(dt, r, o, w.base.is_negative(), &mut st.rng),
            _ => return Err("neurons: no host spike step for this type".to_string()),
        }
        Ok(())
    }
}
