//! `SpikingRectifiedLinear` (snn-runtime `neurons/spiking_rectified_linear.rs`): the voltage
//! integrates `max(0, j)`; each whole unit is a spike.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, States};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{SpikingRectifiedLinear, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i`; its output.
    pub(super) fn spiking_rectified_linear(
        &mut self,
        p: &SpikingRectifiedLinear,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        let zero = self.fc(T::zero());
        let c = self.fcmp(FloatCC::UnorderedOrGreaterThanOrEqual, j, zero);
        let jj = self.select(c, j, zero);
        let v_off = state(st, StateVar::Voltage)?;
        let v = self.ldm(v_off, i)?;
        let dtv = self.fc(dt);
        let inc = self.b.ins().fmul(jj, dtv);
        let v = self.b.ins().fadd(v, inc);
        self.integrate_and_fire(v, v_off, i, T::cast(p.amplitude) / dt, false)
    }
}
