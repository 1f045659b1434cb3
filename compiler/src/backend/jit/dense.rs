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
use crate::ir::Sel;
use ndarray::Array2;

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

/// `y[r] = row r · x` in `unrolled_dot`'s order with AVX-512 (`f64`: the eight partial sums
/// are one vector), four rows at a time; `x.len() == k`, `mat.len() == k * y.len()`.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn rows_f64_avx512(mat: &[f64], k: usize, x: &[f64], y: &mut [f64]) {
    use std::arch::x86_64::*;
    let c = k / 8;
    let finish = |acc: __m512d, row: &[f64]| {
        let mut p = [0.0f64; 8];
        // SAFETY: `p` holds eight values.
        unsafe { _mm512_storeu_pd(p.as_mut_ptr(), acc) };
        let mut sum = 0.0f64;
        for l in 0..4 {
            sum += p[l] + p[l + 4];
        }
        for j in c * 8..k {
            sum += row[j] * x[j];
        }
        sum
    };
    let mut quads = mat.chunks_exact(4 * k).zip(y.chunks_exact_mut(4));
    for (rows, out) in &mut quads {
        let mut acc = [_mm512_setzero_pd(); 4];
        for j in 0..c {
            let xv = _mm512_loadu_pd(x.as_ptr().add(j * 8));
            for (r, a) in acc.iter_mut().enumerate() {
                let m = _mm512_loadu_pd(rows.as_ptr().add(r * k + j * 8));
                *a = _mm512_add_pd(*a, _mm512_mul_pd(m, xv));
            }
        }
        for (r, o) in out.iter_mut().enumerate() {
            *o = finish(acc[r], &rows[r * k..(r + 1) * k]);
        }
    }
    let done = y.len() / 4 * 4;
    for (row, o) in mat[done * k..].chunks_exact(k).zip(&mut y[done..]) {
        let mut acc = _mm512_setzero_pd();
        for j in 0..c {
            let xv = _mm512_loadu_pd(x.as_ptr().add(j * 8));
            let m = _mm512_loadu_pd(row.as_ptr().add(j * 8));
            acc = _mm512_add_pd(acc, _mm512_mul_pd(m, xv));
        }
        *o = finish(acc, row);
    }
}

/// [`rows_f64_avx512`] for `f32` with AVX (the eight partial sums are one 256-bit vector).
///
/// # Safety
/// The CPU must have AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(super) unsafe fn rows_f32_avx(mat: &[f32], k: usize, x: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::*;
    let c = k / 8;
    let finish = |acc: __m256, row: &[f32]| {
        let mut p = [0.0f32; 8];
        // SAFETY: `p` holds eight values.
        unsafe { _mm256_storeu_ps(p.as_mut_ptr(), acc) };
        let mut sum = 0.0f32;
        for l in 0..4 {
            sum += p[l] + p[l + 4];
        }
        for j in c * 8..k {
            sum += row[j] * x[j];
        }
        sum
    };
    let mut quads = mat.chunks_exact(4 * k).zip(y.chunks_exact_mut(4));
    for (rows, out) in &mut quads {
        let mut acc = [_mm256_setzero_ps(); 4];
        for j in 0..c {
            let xv = _mm256_loadu_ps(x.as_ptr().add(j * 8));
            for (r, a) in acc.iter_mut().enumerate() {
                let m = _mm256_loadu_ps(rows.as_ptr().add(r * k + j * 8));
                *a = _mm256_add_ps(*a, _mm256_mul_ps(m, xv));
            }
        }
        for (r, o) in out.iter_mut().enumerate() {
            *o = finish(acc[r], &rows[r * k..(r + 1) * k]);
        }
    }
    let done = y.len() / 4 * 4;
    for (row, o) in mat[done * k..].chunks_exact(k).zip(&mut y[done..]) {
        let mut acc = _mm256_setzero_ps();
        for j in 0..c {
            let xv = _mm256_loadu_ps(x.as_ptr().add(j * 8));
            let m = _mm256_loadu_ps(row.as_ptr().add(j * 8));
            acc = _mm256_add_ps(acc, _mm256_mul_ps(m, xv));
        }
        *o = finish(acc, row);
    }
}

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
