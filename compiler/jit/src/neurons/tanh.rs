//! `Tanh` (snn-runtime `neurons/tanh.rs`): `tanh(j) / tau_ref`.

use super::super::emit::Gen;
use super::super::float::JitFloat;
use super::super::JitError;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::Tanh;

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// The rate for input `j`.
    pub(super) fn tanh(&mut self, p: &Tanh, j: Value) -> Result<Value, JitError> {
        let c = self.fc(T::one() / T::cast(p.tau_ref));
        let t = self.math("tanh", j)?;
        Ok(self.b.ins().fmul(c, t))
    }
}
