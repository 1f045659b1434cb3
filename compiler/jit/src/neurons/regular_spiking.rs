//! `RegularSpiking(base)` (snn-runtime `neurons/regular_spiking.rs`): the base rate integrated
//! into a voltage; whole units are spikes.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, States};
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{RegularSpiking, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i` with base rate `r` (stored as `rate_out`); its output.
    pub(super) fn regular_spiking(
        &mut self,
        w: &RegularSpiking,
        r: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        self.stm(r, state(st, StateVar::RateOut)?, i)?;
        let v_off = state(st, StateVar::Voltage)?;
        let v = self.ldm(v_off, i)?;
        let dtv = self.fc(dt);
        let inc = self.b.ins().fmul(dtv, r);
        let v = self.b.ins().fadd(v, inc);
        self.integrate_and_fire(v, v_off, i, T::cast(w.amplitude) / dt, false)
    }
}
