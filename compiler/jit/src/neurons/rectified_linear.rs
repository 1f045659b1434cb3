//! `RectifiedLinear` (snn-runtime `neurons/rectified_linear.rs`): `amplitude max(0, j)`.

use super::super::emit::Gen;
use super::super::float::JitFloat;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::RectifiedLinear;

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// `amplitude relu(j)`.
    pub(super) fn rectified_linear(&mut self, p: &RectifiedLinear, j: Value) -> Value {
        let r = self.relu(j);
        let a = self.fc(T::cast(p.amplitude));
        self.b.ins().fmul(a, r)
    }
}
