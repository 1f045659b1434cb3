//! The convolution host kernel: the runtime's convolution ([`snn_runtime::kernels::conv::Conv`],
//! which the interpreter runs too) between two ranges of the state block.

use crate::float::Float;
use crate::kernel::{split, HostKernel, KernelState};
use snn_runtime::kernels::conv::{self, ConvSpec};

/// A convolution between two ranges of the state block.
pub(crate) struct Conv<T> {
    conv: conv::Conv<T>,
    /// `(offset, len)` of the input and output in the block.
    x: (usize, usize),
    y: (usize, usize),
    /// Spike-driven, into a destination holding zeros when the op runs.
    fresh: bool,
}

impl<T: Float> Conv<T> {
    /// The kernel of `spec` reading `x` and incrementing `y` (`(offset, len)` in the block);
    /// `events`: spike-driven (`fresh`: `y` holds zeros when it runs).
    pub(crate) fn new(
        spec: &ConvSpec,
        x: (usize, usize),
        y: (usize, usize),
        events: bool,
        fresh: bool,
    ) -> Result<Self, String> {
        let conv = conv::Conv::new(spec, events)?;
        let g = conv.geometry();
        if x.1 != g.input_len() || y.1 != g.output_len() {
            return Err("convolution shapes do not match their signals".to_string());
        }
        Ok(Self { conv, x, y, fresh: events && fresh })
    }
}

impl<T: Float> HostKernel<T> for Conv<T> {
    fn init(&self, _b: usize, _mem: &mut [T]) -> Result<KernelState, String> {
        Ok(Box::new(vec![T::zero(); self.conv.scratch_len()]))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let (x, y) = split(mem, self.x, self.y)?;
        let acc = state.downcast_mut::<Vec<T>>().ok_or("conv: wrong state")?;
        self.conv.apply(x, y, acc, self.fresh)
    }
}
