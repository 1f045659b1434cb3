//! Generated neuron kernels: one loop over the neurons of a `SimNeurons` op with every type's
//! exact update from snn-runtime (`exp`, `expm1`, `log1p`, `tanh` through host symbols). The
//! stochastic wrappers' base runs here; their random spike draws run on the host
//! ([`snn_exec::kernels::host::Neurons`]), which also draws every op's initial state as the interpreter does.

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
                    g.stm(r, state(st, StateVar::RateOut)?, i)?;
                    let v_off = state(st, StateVar::Voltage)?;
                    let v = g.ldm(v_off, i)?;
                    let dtv = g.fc(dt);
                    let inc = g.b.ins().fmul(dtv, r);
                    let v = g.b.ins().fadd(v, inc);
                    let o = g.integrate_and_fire(v, v_off, i, T::cast(w.amplitude) / dt, false)?;
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
            let lp = LifP {
                tau_rc: T::cast(p.tau_rc),
                tau_ref: T::cast(p.tau_ref),
                min_v: T::cast(p.min_voltage),
            };
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

    /// LIFRate's rate: `amp / (tau_ref + tau_rc log1p(1 / (j - 1)))` above threshold, else 0.
    fn lif_rate(
        &mut self,
        j: Value,
        tau_rc: f64,
        tau_ref: f64,
        amp: f64,
    ) -> Result<Value, JitError> {
        let one = self.fc(T::one());
        let zero = self.fc(T::zero());
        let jm = self.b.ins().fsub(j, one);
        let above = self.fcmp(FloatCC::GreaterThan, jm, zero);
        let ty = T::TY;
        let r = self.if_else(
            above,
            &[ty],
            |g| {
                let inv = g.b.ins().fdiv(one, jm);
                let l = g.math("log1p", inv)?;
                let rc = g.fc(T::cast(tau_rc));
                let rf = g.fc(T::cast(tau_ref));
                let p = g.b.ins().fmul(rc, l);
                let den = g.b.ins().fadd(rf, p);
                let a = g.fc(T::cast(amp));
                Ok(vec![g.b.ins().fdiv(a, den)])
            },
            |_| Ok(vec![zero]),
        )?;
        Ok(r[0])
    }

    /// One LIF step (snn-runtime's `lif_update`): updates the voltage and refractory time in
    /// place, returns the spiked flag.
    fn lif_update(
        &mut self,
        j: Value,
        i: I,
        st: &States,
        p: &LifP<T>,
        dt: T,
    ) -> Result<Value, JitError> {
        let (v_off, rt_off) = (state(st, StateVar::Voltage)?, state(st, StateVar::RefractoryTime)?);
        let v = self.ldm(v_off, i)?;
        let rt = self.ldm(rt_off, i)?;
        let dtv = self.fc(dt);
        let zero = self.fc(T::zero());
        let one = self.fc(T::one());
        let rt = self.b.ins().fsub(rt, dtv);
        // delta_t = (dt - rt).max(0).min(dt), with Rust's NaN rules.
        let d = self.b.ins().fsub(dtv, rt);
        let pos = self.fcmp(FloatCC::GreaterThan, d, zero);
        let d = self.select(pos, d, zero);
        let lt = self.fcmp(FloatCC::LessThan, d, dtv);
        let d = self.select(lt, d, dtv);
        // expm1(-delta_t / tau_rc): a constant when the whole step integrates.
        let full = (-dt / p.tau_rc).exp_m1();
        let is_full = self.fcmp(FloatCC::Equal, d, dtv);
        let tau_rc = p.tau_rc;
        let e = self.if_else(
            is_full,
            &[T::TY],
            |g| Ok(vec![g.fc(full)]),
            |g| {
                let nd = g.b.ins().fneg(d);
                let rc = g.fc(tau_rc);
                let q = g.b.ins().fdiv(nd, rc);
                Ok(vec![g.math("expm1", q)?])
            },
        )?[0];
        let jv = self.b.ins().fsub(j, v);
        let dv = self.b.ins().fmul(jv, e);
        let v = self.b.ins().fsub(v, dv);
        let spiked = self.fcmp(FloatCC::GreaterThan, v, one);
        let (tau_ref, min_v) = (p.tau_ref, p.min_v);
        let vr = self.if_else(
            spiked,
            &[T::TY, T::TY],
            |g| {
                let vm = g.b.ins().fsub(v, one);
                let num = g.b.ins().fneg(vm);
                let jm = g.b.ins().fsub(j, one);
                let q = g.b.ins().fdiv(num, jm);
                let l = g.math("log1p", q)?;
                let rc = g.fc(tau_rc);
                let p = g.b.ins().fmul(rc, l);
                let t_spike = g.b.ins().fadd(dtv, p);
                let rf = g.fc(tau_ref);
                let nrt = g.b.ins().fadd(rf, t_spike);
                Ok(vec![zero, nrt])
            },
            |g| {
                let mv = g.fc(min_v);
                let below = g.fcmp(FloatCC::LessThan, v, mv);
                Ok(vec![g.select(below, mv, v), rt])
            },
        )?;
        self.stm(vr[0], v_off, i)?;
        self.stm(vr[1], rt_off, i)?;
        Ok(spiked)
    }

    /// LIF in vector mode for neurons that integrate the whole step or none of it (refractory)
    /// and do not spike: the values [`Gen::lif_update`] computes for them, and whether every
    /// lane is such a neuron.
    #[allow(clippy::too_many_arguments)]
    fn lif_quiet(
        &mut self,
        j_off: usize,
        v_off: usize,
        rt_off: usize,
        o_off: usize,
        i: I,
        p: &LifP<T>,
        dt: T,
    ) -> Result<(Value, Vec<(Value, usize)>), JitError> {
        let j = self.ldm(j_off, i)?;
        let v = self.ldm(v_off, i)?;
        let rt = self.ldm(rt_off, i)?;
        let dtv = self.fc(dt);
        let zero = self.fc(T::zero());
        let one = self.fc(T::one());
        let rt = self.b.ins().fsub(rt, dtv);
        // The scalar code integrates for d = clamp(dt - rt, 0, dt): the whole step (d = dt)
        // when rt <= 0, none of it (d = 0: expm1(-0 / tau_rc) = -0, which leaves v as it is)
        // when rt >= dt. Lanes in between go to the scalar code.
        let full = self.fcmp(FloatCC::LessThanOrEqual, rt, zero);
        let none_ = self.fcmp(FloatCC::GreaterThanOrEqual, rt, dtv);
        let either = self.b.ins().bor(full, none_);
        let ef = self.fc((-dt / p.tau_rc).exp_m1());
        let mz = self.fc(-T::zero());
        let e = self.select(full, ef, mz);
        let jv = self.b.ins().fsub(j, v);
        let dv = self.b.ins().fmul(jv, e);
        let v = self.b.ins().fsub(v, dv);
        let spiked = self.fcmp(FloatCC::GreaterThan, v, one);
        // Refused: a lane that spikes or is part-way out of its refractory period.
        let refused = self.b.ins().bor_not(spiked, either);
        let any = self.b.ins().vany_true(refused);
        let ok = self.b.ins().bxor_imm_s(any, 1);
        let mv = self.fc(p.min_v);
        let below = self.fcmp(FloatCC::LessThan, v, mv);
        let v = self.select(below, mv, v);
        Ok((ok, vec![(v, v_off), (rt, rt_off), (zero, o_off)]))
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
        let lit = T::cast;
        match nt {
            NeuronType::RectifiedLinear(p) => {
                let r = self.relu(j);
                let a = self.fc(lit(p.amplitude));
                Ok(self.b.ins().fmul(a, r))
            }
            NeuronType::SpikingRectifiedLinear(p) => {
                let zero = self.fc(T::zero());
                let c = self.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, j, zero);
                let jj = self.select(c, j, zero);
                let v_off = state(st, StateVar::Voltage)?;
                let v = self.ldm(v_off, i)?;
                let dtv = self.fc(dt);
                let inc = self.b.ins().fmul(jj, dtv);
                let v = self.b.ins().fadd(v, inc);
                self.integrate_and_fire(v, v_off, i, lit(p.amplitude) / dt, false)
            }
            NeuronType::LeakyRelu(p) => {
                let l = self.leaky(p.negative_slope, j);
                let a = self.fc(lit(p.amplitude));
                Ok(self.b.ins().fmul(a, l))
            }
            NeuronType::SpikingLeakyRelu(p) => {
                let l = self.leaky(p.negative_slope, j);
                let v_off = state(st, StateVar::Voltage)?;
                let v = self.ldm(v_off, i)?;
                let dtv = self.fc(dt);
                let inc = self.b.ins().fmul(l, dtv);
                let v = self.b.ins().fadd(v, inc);
                self.integrate_and_fire(v, v_off, i, lit(p.amplitude) / dt, true)
            }
            NeuronType::Sigmoid(p) => {
                let c = self.fc(T::one() / lit(p.tau_ref));
                let nj = self.b.ins().fneg(j);
                let e = self.math("exp", nj)?;
                let one = self.fc(T::one());
                let den = self.b.ins().fadd(one, e);
                Ok(self.b.ins().fdiv(c, den))
            }
            NeuronType::Tanh(p) => {
                let c = self.fc(T::one() / lit(p.tau_ref));
                let t = self.math("tanh", j)?;
                Ok(self.b.ins().fmul(c, t))
            }
            NeuronType::LifRate(p) => self.lif_rate(j, p.tau_rc, p.tau_ref, p.amplitude),
            NeuronType::Lif(p) => {
                let lp = LifP {
                    tau_rc: lit(p.tau_rc),
                    tau_ref: lit(p.tau_ref),
                    min_v: lit(p.min_voltage),
                };
                let spiked = self.lif_update(j, i, st, &lp, dt)?;
                let h = self.fc(lit(p.amplitude) / dt);
                let zero = self.fc(T::zero());
                Ok(self.select(spiked, h, zero))
            }
            NeuronType::AdaptiveLifRate(p) => {
                let a_off = state(st, StateVar::Adaptation)?;
                let nv = self.ldm(a_off, i)?;
                let jn = self.b.ins().fsub(j, nv);
                let o = self.lif_rate(jn, p.tau_rc, p.tau_ref, p.amplitude)?;
                self.adapt(o, nv, a_off, i, dt / lit(p.tau_n), lit(p.inc_n))?;
                Ok(o)
            }
            NeuronType::AdaptiveLif(p) => {
                let a_off = state(st, StateVar::Adaptation)?;
                let nv = self.ldm(a_off, i)?;
                let jn = self.b.ins().fsub(j, nv);
                let lp = LifP {
                    tau_rc: lit(p.tau_rc),
                    tau_ref: lit(p.tau_ref),
                    min_v: lit(p.min_voltage),
                };
                let spiked = self.lif_update(jn, i, st, &lp, dt)?;
                let h = self.fc(lit(p.amplitude) / dt);
                let zero = self.fc(T::zero());
                let o = self.select(spiked, h, zero);
                self.adapt(o, nv, a_off, i, dt / lit(p.tau_n), lit(p.inc_n))?;
                Ok(o)
            }
            NeuronType::Izhikevich(p) => self.izhikevich(p, j, i, st, dt),
            NeuronType::RegularSpiking(_)
            | NeuronType::StochasticSpiking(_)
            | NeuronType::PoissonSpiking(_) => Err(JitError::Unsupported(format!(
                "{} as the base of a rates-to-spikes wrapper",
                nt.name()
            ))),
        }
    }

    /// `n += rate_n (inc_n o - n)`.
    fn adapt(
        &mut self,
        o: Value,
        nv: Value,
        off: usize,
        i: I,
        rate_n: T,
        inc_n: T,
    ) -> Result<(), JitError> {
        let inc = self.fc(inc_n);
        let rn = self.fc(rate_n);
        let io = self.b.ins().fmul(inc, o);
        let d = self.b.ins().fsub(io, nv);
        let s = self.b.ins().fmul(rn, d);
        let nn = self.b.ins().fadd(nv, s);
        self.stm(nn, off, i)
    }

    fn izhikevich(
        &mut self,
        p: &snn_runtime::neurons::Izhikevich,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        let lit = T::cast;
        let (v_off, u_off) = (state(st, StateVar::Voltage)?, state(st, StateVar::Recovery)?);
        let v = self.ldm(v_off, i)?;
        let u = self.ldm(u_off, i)?;
        let thousand = self.fc(lit(1000.0));
        let m30 = self.fc(lit(-30.0));
        let low = self.fcmp(FloatCC::LessThan, j, m30);
        let j = self.select(low, m30, j);
        let c004 = self.fc(lit(0.04));
        let c5 = self.fc(lit(5.0));
        let c140 = self.fc(lit(140.0));
        let vv = self.b.ins().fmul(v, v);
        let a = self.b.ins().fmul(c004, vv);
        let b5 = self.b.ins().fmul(c5, v);
        let s = self.b.ins().fadd(a, b5);
        let s = self.b.ins().fadd(s, c140);
        let s = self.b.ins().fsub(s, u);
        let s = self.b.ins().fadd(s, j);
        let dv = self.b.ins().fmul(s, thousand);
        let dtv = self.fc(dt);
        let step = self.b.ins().fmul(dv, dtv);
        let v = self.b.ins().fadd(v, step);
        let c30 = self.fc(lit(30.0));
        let spiked = self.fcmp(FloatCC::GreaterThanOrEqual, v, c30);
        let rv = self.fc(lit(p.reset_voltage));
        let v = self.select(spiked, rv, v);
        let tr = self.fc(lit(p.tau_recovery));
        let cp = self.fc(lit(p.coupling));
        let cv = self.b.ins().fmul(cp, v);
        let cvu = self.b.ins().fsub(cv, u);
        let du = self.b.ins().fmul(tr, cvu);
        let du = self.b.ins().fmul(du, thousand);
        let ustep = self.b.ins().fmul(du, dtv);
        let u = self.b.ins().fadd(u, ustep);
        let rr = self.fc(lit(p.reset_recovery));
        let ur = self.b.ins().fadd(u, rr);
        let u = self.select(spiked, ur, u);
        self.stm(v, v_off, i)?;
        self.stm(u, u_off, i)?;
        let h = self.fc(T::one() / dt);
        let zero = self.fc(T::zero());
        Ok(self.select(spiked, h, zero))
    }
}
