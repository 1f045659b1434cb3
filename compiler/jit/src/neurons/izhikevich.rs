//! `Izhikevich` (snn-runtime `neurons/izhikevich.rs`): voltage and recovery, Euler steps in
//! milliseconds.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, States};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{Izhikevich, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i` (voltage and recovery); its output.
    pub(super) fn izhikevich(
        &mut self,
        p: &Izhikevich,
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
