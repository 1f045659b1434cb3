//! `LIF` (snn-runtime `neurons/lif.rs`, `lif_update`): the exact membrane update with
//! refractory time and spike timing, and the branch-free vector path for neurons that integrate
//! the whole step (or none of it) without spiking.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, LifP, States};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{Lif, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i`; its output (`amplitude / dt` when it spikes).
    pub(super) fn lif(
        &mut self,
        p: &Lif,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        let lp = LifP::of(p.tau_rc, p.tau_ref, p.min_voltage);
        let spiked = self.lif_update(j, i, st, &lp, dt)?;
        let h = self.fc(T::cast(p.amplitude) / dt);
        let zero = self.fc(T::zero());
        Ok(self.select(spiked, h, zero))
    }

    /// One LIF step (snn-runtime's `lif_update`): updates the voltage and refractory time in
    /// place, returns the spiked flag.
    pub(super) fn lif_update(
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
    pub(super) fn lif_quiet(
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
}
