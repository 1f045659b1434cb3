//! `AdaptiveLIF` (snn-runtime `neurons/adaptive_lif.rs`): LIF on `j - n`, the adaptation `n`
//! following the spikes.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, LifP, States};
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{AdaptiveLif, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i`; its output.
    pub(super) fn adaptive_lif(
        &mut self,
        p: &AdaptiveLif,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        let a_off = state(st, StateVar::Adaptation)?;
        let nv = self.ldm(a_off, i)?;
        let jn = self.b.ins().fsub(j, nv);
        let lp = LifP::of(p.tau_rc, p.tau_ref, p.min_voltage);
        let spiked = self.lif_update(jn, i, st, &lp, dt)?;
        let h = self.fc(T::cast(p.amplitude) / dt);
        let zero = self.fc(T::zero());
        let o = self.select(spiked, h, zero);
        self.adapt(o, nv, a_off, i, dt / T::cast(p.tau_n), T::cast(p.inc_n))?;
        Ok(o)
    }
}
