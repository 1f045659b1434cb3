//! `Sigmoid` (snn-runtime `neurons/sigmoid.rs`): `(1 / tau_ref) / (1 + exp(-j))`.

use super::super::emit::Gen;
use super::super::float::JitFloat;
use super::super::JitError;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::Sigmoid;

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// The rate for input `j`.
    pub(super) fn sigmoid(&mut self, p: &Sigmoid, j: Value) -> Result<Value, JitError> {
        let c = self.fc(T::one() / T::cast(p.tau_ref));
        let nj = self.b.ins().fneg(j);
        let e = self.math("exp", nj)?;
        let one = self.fc(T::one());
        let den = self.b.ins().fadd(one, e);
        Ok(self.b.ins().fdiv(c, den))
    }
}
