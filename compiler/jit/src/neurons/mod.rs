//! Generated neuron kernels: one loop over the neurons of a `SimNeurons` op with every type's
//! exact update from snn-runtime (`exp`, `expm1`, `log1p`, `tanh` through host symbols), each
//! type in its own file named as the runtime's (`runtime/src/neurons/<type>.rs`; the JIT test
//! `neuron_files_pair_with_the_runtime` checks they pair). The stochastic wrappers' base runs
//! here; their random spike draws run on the host ([`snn_exec::kernels::host::Neurons`]), which
//! also draws every op's initial state as the interpreter does.

mod adaptive_lif;
mod adaptive_lif_rate;
mod izhikevich;
mod leaky_relu;
mod lif;
mod lif_rate;
mod rectified_linear;
mod regular_spiking;
mod sigmoid;
mod spiking_leaky_relu;
mod spiking_rectified_linear;
mod tanh;

use super::emit::{bug, Elem, Gen, Loop, I};
use super::float::JitFloat;
use super::JitError;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_compiler::ir::SignalId;
use snn_exec::kernels::host::Neurons;
use snn_exec::KernelSpec;
use snn_runtime::neurons::{NeuronType, StateInit, StateVar};

/// Where each state variable of the op's type ([`NeuronType::state_vars`]) lives in the block.
type States = [(StateVar, usize)];

/// The block offset of `var`. Every variable of the type has one (exposed ones in their signal,
/// the others in scratch), and each kernel below asks only for its type's variables (the table
/// in snn-runtime), so a failure is a bug of this file, found when the kernel is compiled.
fn state(st: &States, var: StateVar) -> Result<usize, JitError> {
    st.iter().find(|(v, _)| *v == var).map(|(_, o)| *o).ok_or_else(|| bug("neuron state"))
}

/// LIF membrane parameters in the run's type.
struct LifP<T> {
    tau_rc: T,
    tau_ref: T,
    min_v: T,
}

impl<T: JitFloat> LifP<T> {
    fn of(tau_rc: f64, tau_ref: f64, min_v: f64) -> Self {
        LifP { tau_rc: T::cast(tau_rc), tau_ref: T::cast(tau_ref), min_v: T::cast(min_v) }
    }
}

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// A `SimNeurons` op: its loop (`None` when emitted already: stochastic wrappers, whose
    /// random draws follow the loop as a host call).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn op_neurons<'c>(
        &mut self,
        neuron: &'c NeuronType,
        j: SignalId,
        out: SignalId,
        states: &[(StateVar, SignalId)],
        init: &[(StateVar, StateInit)],
        seed: u64,
    ) -> Result<Option<Loop<'c, 'f, 'm, T>>, JitError> {
        let (_, n) = self.sig(j)?;
        let (o_off, no) = self.sig(out)?;
        if no != n {
            return Err(JitError::Invalid(format!("{n} neuron inputs but {no} outputs")));
        }
        let mut st: Vec<(StateVar, usize)> = Vec::new();
        for var in neuron.state_vars() {
            let off = match states.iter().find(|(s, _)| *s == var) {
                Some((_, sid)) => {
                    let (o, l) = self.sig(*sid)?;
                    if l != n {
                        return Err(JitError::Invalid(format!("state `{var}` of size {l}")));
                    }
                    o
                }
                None => self.res.alloc(n),
            };
            st.push((var, off));
        }
        let j_off = self.source(j, out)?;
        let dt = T::cast(self.dt);
        let spikes = match neuron {
            NeuronType::StochasticSpiking(_) | NeuronType::PoissonSpiking(_) => {
                Some((state(&st, StateVar::RateOut)?, o_off, self.dt))
            }
            _ => None,
        };
        // Types computed by arithmetic alone run a vector of neurons at a time.
        let vectorise = matches!(
            neuron,
            NeuronType::RectifiedLinear(_)
                | NeuronType::SpikingRectifiedLinear(_)
                | NeuronType::LeakyRelu(_)
                | NeuronType::SpikingLeakyRelu(_)
        );
        // The initial state (and, for stochastic wrappers, the random spike draws after the
        // neurons' loop: those are not fused).
        let what = if spikes.is_some() {
            format!("SimNeurons {}: random spike draws", neuron.name())
        } else {
            String::new()
        };
        let kernel = Neurons {
            neuron: neuron.clone(),
            n,
            init: init.to_vec(),
            seed,
            states: st.clone(),
            spikes,
        };
        let stochastic = spikes.is_some();
        let each_st = st.clone();
        let each = move |g: &mut Gen<'f, 'm, T>, i: I| -> Result<(), JitError> {
            let st = &each_st;
            let jv = g.ldm(j_off, i)?;
            match neuron {
                NeuronType::RegularSpiking(w) => {
                    let r = g.body(&w.base, jv, i, st, dt)?;
                    let o = g.regular_spiking(w, r, i, st, dt)?;
                    g.stm(o, o_off, i)
                }
                NeuronType::StochasticSpiking(w) => {
                    let r = g.body(&w.base, jv, i, st, dt)?;
                    g.stm(r, state(st, StateVar::RateOut)?, i)
                }
                NeuronType::PoissonSpiking(w) => {
                    let r = g.body(&w.base, jv, i, st, dt)?;
                    g.stm(r, state(st, StateVar::RateOut)?, i)
                }
                other => {
                    let o = g.body(other, jv, i, st, dt)?;
                    g.stm(o, o_off, i)
                }
            }
        };
        if stochastic {
            // The draws are a host call after the loop: emit both here, unfused.
            self.for_n(n, each)?;
            self.kernel(KernelSpec::Neurons(kernel), what)?;
            return Ok(None);
        }
        self.kernel(KernelSpec::Neurons(kernel), what)?;
        if let NeuronType::Lif(p) = neuron {
            // Vectors of neurons that integrate the whole step or none of it without spiking
            // (nearly all of them, each step) take a branch-free path; other lanes the scalar code.
            let lp = LifP::of(p.tau_rc, p.tau_ref, p.min_voltage);
            let (v_off, rt_off) =
                (state(&st, StateVar::Voltage)?, state(&st, StateVar::RefractoryTime)?);
            let fast = move |g: &mut Gen<'f, 'm, T>, i: I| {
                g.lif_quiet(j_off, v_off, rt_off, o_off, i, &lp, dt)
            };
            return Ok(Some((n, Elem::Guarded(Box::new(fast), Box::new(each)))));
        }
        let elem =
            if vectorise { Elem::Vector(Box::new(each)) } else { Elem::Scalar(Box::new(each)) };
        Ok(Some((n, elem)))
    }

    /// `n = floor(v)` (or `trunc`), `out = height n`, `v -= n`; stores `v`, returns `out`.
    fn integrate_and_fire(
        &mut self,
        v: Value,
        v_off: usize,
        i: I,
        height: T,
        trunc: bool,
    ) -> Result<Value, JitError> {
        let ns = if trunc { self.b.ins().trunc(v) } else { self.b.ins().floor(v) };
        let h = self.fc(height);
        let o = self.b.ins().fmul(h, ns);
        let v = self.b.ins().fsub(v, ns);
        self.stm(v, v_off, i)?;
        Ok(o)
    }

    /// `j` if `j > 0` or NaN, else 0 (NumPy's `maximum(0, j)`).
    fn relu(&mut self, j: Value) -> Value {
        let zero = self.fc(T::zero());
        let c = self.fcmp(FloatCC::UnorderedOrGreaterThan, j, zero);
        self.select(c, j, zero)
    }

    /// `slope j` if `j < 0`, else `j`.
    fn leaky(&mut self, slope: f64, j: Value) -> Value {
        let zero = self.fc(T::zero());
        let s = self.fc(T::cast(slope));
        let sj = self.b.ins().fmul(s, j);
        let c = self.fcmp(FloatCC::LessThan, j, zero);
        self.select(c, sj, j)
    }

    /// The output of one neuron of a non-wrapper type for input `j` (updating its state).
    fn body(
        &mut self,
        nt: &NeuronType,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        match nt {
            NeuronType::RectifiedLinear(p) => Ok(self.rectified_linear(p, j)),
            NeuronType::SpikingRectifiedLinear(p) => self.spiking_rectified_linear(p, j, i, st, dt),
            NeuronType::LeakyRelu(p) => Ok(self.leaky_relu(p, j)),
            NeuronType::SpikingLeakyRelu(p) => self.spiking_leaky_relu(p, j, i, st, dt),
            NeuronType::Sigmoid(p) => self.sigmoid(p, j),
            NeuronType::Tanh(p) => self.tanh(p, j),
            NeuronType::LifRate(p) => self.lif_rate(j, p.tau_rc, p.tau_ref, p.amplitude),
            NeuronType::Lif(p) => self.lif(p, j, i, st, dt),
            NeuronType::AdaptiveLifRate(p) => self.adaptive_lif_rate(p, j, i, st, dt),
            NeuronType::AdaptiveLif(p) => self.adaptive_lif(p, j, i, st, dt),
            NeuronType::Izhikevich(p) => self.izhikevich(p, j, i, st, dt),
            NeuronType::RegularSpiking(_)
            | NeuronType::StochasticSpiking(_)
            | NeuronType::PoissonSpiking(_) => Err(JitError::Unsupported(format!(
                "{} as the base of a rates-to-spikes wrapper",
                nt.name()
            ))),
        }
    }
}
