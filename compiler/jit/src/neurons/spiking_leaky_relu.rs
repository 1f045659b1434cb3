//! `SpikingLeakyReLU` (snn-runtime `neurons/spiking_leaky_relu.rs`): the voltage integrates
//! the leaky rectified input; whole units (truncated toward zero) are spikes.

use super::super::emit::{Gen, I};
use super::super::float::JitFloat;
use super::super::JitError;
use super::{state, States};
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::{SpikingLeakyRelu, StateVar};

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// One step of neuron `i`; its output.
    pub(super) fn spiking_leaky_relu(
        &mut self,
        p: &SpikingLeakyRelu,
        j: Value,
        i: I,
        st: &States,
        dt: T,
    ) -> Result<Value, JitError> {
        let l = self.leaky(p.negative_slope, j);
        let v_off = state(st, StateVar::Voltage)?;
        let v = self.ldm(v_off, i)?;
        let dtv = self.fc(dt);
        let inc = self.b.ins().fmul(l, dtv);
        let v = self.b.ins().fadd(v, inc);
        self.integrate_and_fire(v, v_off, i, T::cast(p.amplitude) / dt, true)
    }
}
