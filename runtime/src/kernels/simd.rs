//! The only `unsafe` code of the runtime: kernels in the CPU's widest vectors, chosen at run time
//! (AVX-512 / AVX2 / AVX when the CPU has them, else the portable code). None uses fused
//! multiply-adds, so every result is rounded exactly as the portable code rounds it.

/// A kernel run by [`widest`]: its `run` must be `#[inline(always)]`, so that it is compiled
/// into each target-feature wrapper (a closure would stay a separate function, compiled for the
/// baseline CPU: measured 12% slower on the spiking MNIST convnet).
pub(crate) trait Wide {
    /// What the kernel returns.
    type Out;
    /// The kernel.
    fn run(self) -> Self::Out;
}

/// Runs `k` compiled for the widest vectors the CPU has (AVX-512F, else AVX2, else as is): the
/// compiler vectorises the same Rust code wider; the arithmetic (and so every result bit) is the
/// same.
#[inline(always)]
pub(crate) fn widest<K: Wide>(k: K) -> K::Out {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above).
            return unsafe { with_avx512(k) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above).
            return unsafe { with_avx2(k) };
        }
    }
    k.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn with_avx512<K: Wide>(k: K) -> K::Out {
    k.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn with_avx2<K: Wide>(k: K) -> K::Out {
    k.run()
}

/// `y[r] = row r of mat · x` in snnc's dot order ([`super::dense::dot`]) with AVX-512 vectors of
/// `f64` when the CPU has them; `false` (nothing done) otherwise or when `mat` is not `y.len()`
/// rows of `x.len()`.
pub(crate) fn dot_rows_f64(mat: &[f64], x: &[f64], y: &mut [f64]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && mat.len() == x.len() * y.len() {
        // SAFETY: the CPU has AVX-512F; the lengths are as the kernel requires.
        unsafe { rows_f64_avx512(mat, x.len(), x, y) };
        return true;
    }
    false
}

/// [`dot_rows_f64`] for `f32`, in AVX vectors.
pub(crate) fn dot_rows_f32(mat: &[f32], x: &[f32], y: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") && mat.len() == x.len() * y.len() {
        // SAFETY: the CPU has AVX; the lengths are as the kernel requires.
        unsafe { rows_f32_avx(mat, x.len(), x, y) };
        return true;
    }
    false
}

/// A kernel `y[r] = row r of mat · x` in snnc's dot order: the eight partial sums are one vector
/// (`f64` in AVX-512, `f32` in AVX), rows four at a time, then the rest one by one;
/// `x.len() == k`, `mat.len() == k * y.len()`.
macro_rules! rows_kernel {
    ($(#[$doc:meta])* $name:ident, $feature:literal, $t:ty, $v:ty,
     $zero:ident, $load:ident, $add:ident, $mul:ident, $store:ident) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $name(mat: &[$t], k: usize, x: &[$t], y: &mut [$t]) {
            use std::arch::x86_64::*;
            /// `R` rows: `out[r] = rows[r] · x`.
            #[target_feature(enable = $feature)]
            unsafe fn block<const R: usize>(rows: &[$t], k: usize, x: &[$t], out: &mut [$t]) {
                let c = k / 8;
                let mut acc: [$v; R] = [$zero(); R];
                for j in 0..c {
                    // SAFETY: `j * 8 + 8 <= k == x.len()` and `r * k + j * 8 + 8 <= R * k ==
                    // rows.len()`: every load reads 8 values inside its slice.
                    unsafe {
                        let xv = $load(x.as_ptr().add(j * 8));
                        for (r, a) in acc.iter_mut().enumerate() {
                            let m = $load(rows.as_ptr().add(r * k + j * 8));
                            *a = $add(*a, $mul(m, xv));
                        }
                    }
                }
                for (r, o) in out.iter_mut().enumerate() {
                    let mut p: [$t; 8] = [0.0; 8];
                    // SAFETY: `p` holds the 8 values one vector stores.
                    unsafe { $store(p.as_mut_ptr(), acc[r]) };
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
                // SAFETY: the caller's CPU feature; `rows` is 4 rows of `k`, `x` of `k`.
                unsafe { block::<4>(rows, k, x, out) };
            }
            let rest = mat[quads * 4 * k..].chunks_exact(k);
            for (row, out) in rest.zip(y[quads * 4..].chunks_exact_mut(1)) {
                // SAFETY: as above, one row.
                unsafe { block::<1>(row, k, x, out) };
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
