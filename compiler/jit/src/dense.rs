//! The dense product of a large matrix with contiguous rows, as a Rust kernel in the widest
//! vectors the CPU has: each row is summed exactly as ndarray's `unrolled_dot` sums it (eight
//! partial sums, one per lane of an AVX-512 vector of `f64`, then `0 + (p0 + p4) + (p1 + p5) +
//! (p2 + p6) + (p3 + p7)`, then the remainder), which is what the interpreter and the generated
//! code compute, so results stay bit-identical; Cranelift's 128-bit vectors take four times the
//! instructions.

use super::events::{add_into, gather, Place};
use super::float::JitFloat;
use super::host::{HostKernel, KernelState};
use super::JitError;
use ndarray::Array2;
use snn_compiler::ir::Sel;

/// Products of at least this many terms use [`Rows`] (smaller ones stay generated: a host call
/// costs more than it saves).
pub(super) const MIN_TERMS: usize = 4096;

/// `dst[dst_sel] += mat @ src[src_sel]` for a matrix whose rows are summed by `unrolled_dot`.
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

    fn product(&self, x: &[T], y: &mut [T]) {
        if !T::dot_rows_simd(&self.mat, self.k, x, y) {
            for (row, out) in self.mat.chunks_exact(self.k).zip(y.iter_mut()) {
                *out = unrolled_dot(row, x);
            }
        }
    }
}

/// A kernel `y[r] = row r of mat · x` in `unrolled_dot`'s order: the eight partial sums are one
/// vector (`f64` in AVX-512, `f32` in AVX), rows four at a time, then the rest one by one;
/// `x.len() == k`, `mat.len() == k * y.len()`.
macro_rules! rows_kernel {
    ($(#[$doc:meta])* $name:ident, $feature:literal, $t:ty, $v:ty,
     $zero:ident, $load:ident, $add:ident, $mul:ident, $store:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        pub(super) unsafe fn $name(mat: &[$t], k: usize, x: &[$t], y: &mut [$t]) {
            use std::arch::x86_64::*;
            /// `R` rows: `out[r] = rows[r] · x`.
            #[target_feature(enable = $feature)]
            unsafe fn block<const R: usize>(rows: &[$t], k: usize, x: &[$t], out: &mut [$t]) {
                let c = k / 8;
                let mut acc: [$v; R] = [$zero(); R];
                for j in 0..c {
                    let xv = $load(x.as_ptr().add(j * 8));
                    for (r, a) in acc.iter_mut().enumerate() {
                        let m = $load(rows.as_ptr().add(r * k + j * 8));
                        *a = $add(*a, $mul(m, xv));
                    }
                }
                for (r, o) in out.iter_mut().enumerate() {
                    let mut p: [$t; 8] = [0.0; 8];
                    $store(p.as_mut_ptr(), acc[r]);
                    let row = &rows[r * k..(r + 1) * k];
                    let mut sum: $t = 0.0;
                    for l in 0..4 {
                        sum += p[l] + p[l + 4];
                    }
                    for j in c * 8..k {
                        sum += row[j] * x[j];
                    }
                    *o = sum;
                }
            }
            let quads = y.len() / 4;
            for (rows, out) in mat.chunks_exact(4 * k).zip(y.chunks_exact_mut(4)) {
                block::<4>(rows, k, x, out);
            }
            let rest = mat[quads * 4 * k..].chunks_exact(k);
            for (row, out) in rest.zip(y[quads * 4..].chunks_exact_mut(1)) {
                block::<1>(row, k, x, out);
            }
        }
    };
}

rows_kernel!(
    /// The kernel for `f64` with AVX-512.
    ///
    /// # Safety
    /// The CPU must have AVX-512F; the lengths as above.
    rows_f64_avx512, "avx512f", f64, __m512d,
    _mm512_setzero_pd, _mm512_loadu_pd, _mm512_add_pd, _mm512_mul_pd, _mm512_storeu_pd
);

rows_kernel!(
    /// The kernel for `f32` with AVX.
    ///
    /// # Safety
    /// The CPU must have AVX; the lengths as above.
    rows_f32_avx, "avx", f32, __m256,
    _mm256_setzero_ps, _mm256_loadu_ps, _mm256_add_ps, _mm256_mul_ps, _mm256_storeu_ps
);

/// ndarray's `unrolled_dot`: eight partial sums (mul then add, never fused), combined as
/// `0 + (p0 + p4) + (p1 + p5) + (p2 + p6) + (p3 + p7)`, then the remaining terms in order.
#[inline(always)]
fn unrolled_dot<T: JitFloat>(a: &[T], x: &[T]) -> T {
    let mut p = [T::zero(); 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (xc, xr) = x.split_at(ac.len());
    for (a8, x8) in ac.chunks_exact(8).zip(xc.chunks_exact(8)) {
        for l in 0..8 {
            p[l] += a8[l] * x8[l];
        }
    }
    let mut sum = T::zero();
    for l in 0..4 {
        sum += p[l] + p[l + 4];
    }
    for (&a, &x) in ar.iter().zip(xr) {
        sum += a * x;
    }
    sum
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
        self.product(x, y);
        add_into(mem, &self.dst, y);
        Ok(())
    }
}
