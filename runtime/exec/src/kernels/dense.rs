//! The dense product of a large matrix with contiguous rows through the runtime's kernel
//! ([`snn_runtime::kernels::dense::dot_rows_slice`]: snnc's summation order, in AVX-512 / AVX
//! vectors), which is what the interpreter and the generated code compute, so results stay
//! bit-identical; Cranelift's 128-bit vectors take four times the instructions.

use super::events::{add_into, gather, Place};
use crate::float::Float;
use crate::kernel::{HostKernel, KernelState};
use snn_runtime::kernels::dense;

/// `dst[dst_sel] += mat @ src[src_sel]` for a matrix whose rows are summed in snnc's dot order.
pub(crate) struct Rows<T> {
    /// Row-major `m x k`.
    mat: Vec<T>,
    m: usize,
    k: usize,
    src: Place,
    dst: Place,
    end: usize,
}

impl<T: Float> Rows<T> {
    /// The kernel of a row-major `m x k` matrix reading `k` values at `src` and adding `m` at
    /// `dst`.
    pub(crate) fn new(
        mat: &[f64],
        m: usize,
        k: usize,
        src: &Place,
        dst: &Place,
    ) -> Result<Self, String> {
        if mat.len() != m * k {
            return Err(format!("dense kernel: {} values for a [{m}, {k}] matrix", mat.len()));
        }
        let end = src.max_end(k).max(dst.max_end(m));
        let mat = mat.iter().map(|&v| T::cast(v)).collect();
        Ok(Self { mat, m, k, src: src.clone(), dst: dst.clone(), end })
    }
}

impl<T: Float> HostKernel<T> for Rows<T> {
    fn init(&self, _b: usize, mem: &mut [T]) -> Result<KernelState, String> {
        if self.end > mem.len() {
            return Err("dense kernel: range outside the state block".to_string());
        }
        Ok(Box::new((vec![T::zero(); self.k], vec![T::zero(); self.m])))
    }

    fn step(&self, state: &mut KernelState, _k: u64, mem: &mut [T]) -> Result<(), String> {
        let (x, y) = state
            .downcast_mut::<(Vec<T>, Vec<T>)>()
            .ok_or_else(|| "dense kernel: wrong state".to_string())?;
        gather(mem, &self.src, x);
        dense::dot_rows_slice(&self.mat, x, y);
        add_into(mem, &self.dst, y);
        Ok(())
    }
}
