//! Dense matrix-vector products in snnc's own summation order, which every backend follows.
//!
//! **The order.** A row `a` (contiguous in memory) times `x` is summed as ndarray 0.16's
//! `unrolled_dot` sums it, so that the order does not change with how a row is computed:
//! 1. eight partial sums, `p[l] = 0 + a[l] x[l] + a[8 + l] x[8 + l] + …` over the first
//!    `8 * (len / 8)` terms (lane `l` of a vector of eight);
//! 2. `sum = 0 + (p[0] + p[4]) + (p[1] + p[5]) + (p[2] + p[6]) + (p[3] + p[7])`, left to right;
//! 3. `sum += a[j] x[j]` for the remaining `len % 8` terms in order.
//!
//! Every product is rounded, then added (never a fused multiply-add). A row not contiguous in
//! memory (a column-major matrix) is summed sequentially: `0 + a[0] x[0] + a[1] x[1] + …`. The
//! JIT's generated dot products emit exactly this order (`snn-jit`'s `op_dot`, tested against
//! [`dot_rows`]); large products call [`dot_rows`] itself, whose AVX-512 (`f64`) and AVX (`f32`)
//! kernels hold the eight partial sums in one vector.

use crate::real::Real;
use ndarray::ArrayView2;

/// `a · x` in snnc's order (the module's steps 1–3); `a` and `x` of one length.
#[inline(always)]
pub fn dot<T: Real>(a: &[T], x: &[T]) -> T {
    let mut p = [T::zero(); 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (xc, xr) = x.split_at(ac.len().min(x.len()));
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

/// `0 + a[0] x[0] + a[1] x[1] + …`: the order of a row not contiguous in memory.
pub fn dot_sequential<T: Real>(a: impl IntoIterator<Item = T>, x: &[T]) -> T {
    a.into_iter().zip(x).fold(T::zero(), |sum, (a, &x)| sum + a * x)
}

/// `y[r] = row r of mat · x` for a row-major `mat` of `y.len()` rows of `x.len()` values, in
/// snnc's order ([`dot`]), in the CPU's vectors when it has them.
pub fn dot_rows_slice<T: Real>(mat: &[T], x: &[T], y: &mut [T]) {
    if x.is_empty() {
        y.iter_mut().for_each(|v| *v = T::zero());
    } else if !T::dot_rows_simd(mat, x, y) {
        for (row, out) in mat.chunks_exact(x.len()).zip(y.iter_mut()) {
            *out = dot(row, x);
        }
    }
}

/// `y[r] = row r of mat · x` (`y.len()` rows) in snnc's order: [`dot`] for contiguous rows,
/// [`dot_sequential`] for others.
pub fn dot_rows<T: Real>(mat: ArrayView2<'_, T>, x: &[T], y: &mut [T]) {
    if let Some(all) = mat.as_slice() {
        let m = y.len().min(mat.nrows());
        dot_rows_slice(&all[..m * mat.ncols()], x, &mut y[..m]);
        return;
    }
    for (row, out) in mat.rows().into_iter().zip(y.iter_mut()) {
        *out = match row.as_slice() {
            Some(a) => dot(a, x),
            None => dot_sequential(row.iter().copied(), x),
        };
    }
}

/// `y += mat @ x` in snnc's order, through `scratch` (`y.len()` rows).
pub fn dot_rows_inc<T: Real>(mat: ArrayView2<'_, T>, x: &[T], y: &mut [T], scratch: &mut Vec<T>) {
    scratch.clear();
    scratch.resize(y.len(), T::zero());
    dot_rows(mat, x, scratch);
    y.iter_mut().zip(scratch.iter()).for_each(|(v, &s)| *v += s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    fn ndarray_order<T: Real>(a: &[T], x: &[T]) -> T {
        ndarray::ArrayView1::from(a).dot(&ndarray::ArrayView1::from(x))
    }

    #[test]
    fn dot_is_ndarrays_unrolled_order() {
        for len in [0, 1, 7, 8, 9, 15, 17, 63, 100, 1001] {
            let a: Vec<f64> = (0..len).map(|i| (i as f64 * 0.37).sin() * 1e3).collect();
            let x: Vec<f64> = (0..len).map(|i| (i as f64 * 1.3).cos() / 7.0).collect();
            assert_eq!(dot(&a, &x).to_bits(), ndarray_order(&a, &x).to_bits());
            let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            assert_eq!(dot(&a32, &x32).to_bits(), ndarray_order(&a32, &x32).to_bits());
        }
    }

    #[test]
    fn rows_in_vectors_match_the_scalar_order() {
        for (m, k) in [(1, 1), (5, 9), (9, 17), (13, 4099), (3, 8)] {
            let mat = Array2::from_shape_fn((m, k), |(r, c)| ((r * 31 + c) as f64 * 0.1).sin());
            let x: Vec<f64> = (0..k).map(|i| (i as f64).sqrt() - 3.0).collect();
            let mut y = vec![0.0; m];
            dot_rows(mat.view(), &x, &mut y);
            for (r, got) in y.iter().enumerate() {
                let want = mat.row(r).dot(&ndarray::ArrayView1::from(&x[..]));
                assert_eq!(got.to_bits(), want.to_bits());
            }
            let mat32 = mat.mapv(|v| v as f32);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let mut y32 = vec![0.0f32; m];
            dot_rows(mat32.view(), &x32, &mut y32);
            for (r, got) in y32.iter().enumerate() {
                let want = mat32.row(r).dot(&ndarray::ArrayView1::from(&x32[..]));
                assert_eq!(got.to_bits(), want.to_bits());
            }
            // Column-major: rows are strided, summed in sequence (as ndarray does).
            let f = Array2::from_shape_fn((m, k).f(), |(r, c)| mat[[r, c]]);
            let mut yf = vec![0.0; m];
            dot_rows(f.view(), &x, &mut yf);
            for (r, got) in yf.iter().enumerate() {
                let want = f.row(r).dot(&ndarray::ArrayView1::from(&x[..]));
                assert_eq!(got.to_bits(), want.to_bits());
            }
        }
    }
}
