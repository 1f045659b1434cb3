//! `LIFRate` (snn-runtime `neurons/lif_rate.rs`): the steady-state LIF rate.

use super::super::emit::Gen;
use super::super::float::JitFloat;
use super::super::JitError;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// LIFRate's rate: `amp / (tau_ref + tau_rc log1p(1 / (j - 1)))` above threshold, else 0.
    pub(super) fn lif_rate(
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
}
