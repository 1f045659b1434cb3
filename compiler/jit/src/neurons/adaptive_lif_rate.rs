//! `AdaptiveLIFRate` (snn-runtime `neurons/adaptive_lif_rate.rs`): the LIF rate of `j - n`,
//! and the adaptation `n` following the output.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, States};
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{AdaptiveLifRate, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i`; its output.
    pub(super) fn adaptive_lif_rate(
        &mut self,
        p: &AdaptiveLifRate,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        let a_off = state(st, StateVar::Adaptation)?;
        let nv = self.ldm(a_off, i)?;
        let jn = self.b.ins().fsub(j, nv);
        let o = self.lif_rate(jn, p.tau_rc, p.tau_ref, p.amplitude)?;
        self.adapt(o, nv, a_off, i, dt / T::cast(p.tau_n), T::cast(p.inc_n))?;
        Ok(o)
    }

    /// `n += rate_n (inc_n o - n)`.
    pub(super) fn adapt(
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
}
