//! The dense product of a large matrix with contiguous rows through the runtime's kernel
//! ([`snn_runtime::kernels::dense::dot_rows_slice`]: snnc's summation order, in AVX-512 / AVX
//! vectors), which is what the interpreter and the generated code compute, so results stay
//! bit-identical; Cranelift's 128-bit vectors take four times the instructions.

use super::events::{add_into, gather, Place};
use super::float::JitFloat;
use super::host::{HostKernel, KernelState};
use super::JitError;
use ndarray::Array2;
use snn_compiler::ir::Sel;
use snn_runtime::kernels::dense;

/// Products of at least this many terms use [`Rows`] (smaller ones stay generated: a host call
/// costs more than it saves).
pub(super) const MIN_TERMS: usize = 4096;

/// `dst[dst_sel] += mat @ src[src_sel]` for a matrix whose rows are summed in snnc's dot order.
pub(super) struct Rows<T> {
    /// Row-major `m x k`.
    mat: Vec<T>,
    m: usize,
    k: usize,
    src: Place,
    dst: Place,
    end: usize,
}

impl<T: JitFloat> Rows<T> {
    /// The kernel of one DotInc (`src`, `dst`: offset and length in the block); the first `m`
    /// rows of `mat` are used.
    pub(super) fn new(
        mat: &Array2<f64>,
        m: usize,
        src: (usize, usize),
        dst: (usize, usize),
        src_sel: &Sel,
        dst_sel: &Sel,
    ) -> Result<Self, JitError> {
        let k = mat.ncols();
        let (src, ns) = Place::new(src, src_sel)?;
        let (dst, nd) = Place::new(dst, dst_sel)?;
        if ns != k || nd < m || mat.nrows() < m {
            return Err(JitError::Invalid(format!(
                "matrix [{}, {k}] applied to {ns} values into {nd}",
                mat.nrows()
            )));
        }
        let rows =
            mat.rows().into_iter().take(m).flat_map(|r| r.into_iter().copied().collect::<Vec<_>>());
        let mat = rows.map(T::cast).collect();
        let end = src.max_end(ns).max(dst.max_end(nd));
        Ok(Self { mat, m, k, src, dst, end })
    }
}

impl<T: JitFloat> HostKernel<T> for Rows<T> {
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
