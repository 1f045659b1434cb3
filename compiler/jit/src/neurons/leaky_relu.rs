//! `LeakyReLU` (snn-runtime `neurons/leaky_relu.rs`): `amplitude (j < 0 ? slope j : j)`.

use super::super::emit::Gen;
use super::super::float::JitFloat;
use cranelift_codegen::ir::{InstBuilder, Value};
use snn_runtime::neurons::LeakyRelu;

impl<'f, 'm, T: JitFloat> Gen<'f, 'm, T> {
    /// `amplitude leaky(j)`.
    pub(super) fn leaky_relu(&mut self, p: &LeakyRelu, j: Value) -> Value {
        let l = self.leaky(p.negative_slope, j);
        let a = self.fc(T::cast(p.amplitude));
        self.b.ins().fmul(a, l)
    }
}
