//! [`Real`]: the float types a simulation runs in (`f32`, `f64`), shared by every backend, and
//! [`Precision`], the choice between them.

use ndarray::LinalgScalar;

/// The float type of a simulation and of the arrays it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// 64-bit floats (lossless).
    #[default]
    F64,
    /// 32-bit floats (rounded).
    F32,
}

impl Precision {
    /// NumPy's name of the type (`float64`, `float32`).
    pub fn name(self) -> &'static str {
        match self {
            Precision::F64 => <f64 as Real>::NAME,
            Precision::F32 => <f32 as Real>::NAME,
        }
    }
}

/// A float type the backends can run in: `f32` or `f64`.
pub trait Real:
    num_traits::Float + LinalgScalar + std::ops::AddAssign + std::fmt::Debug + Send + Sync + 'static
{
    /// NumPy's name of the type (`float32`, `float64`).
    const NAME: &'static str;
    /// Rounds an `f64` to this type.
    fn cast(x: f64) -> Self;
    /// Widens (exactly) to `f64`.
    fn widen(self) -> f64;
    /// The bits of `self` without its sign: zero exactly when `self == 0` (`+0` or `-0`).
    fn magnitude_bits(self) -> u64;
    /// `y[r] = row r of mat · x` in [`crate::kernels::dense::dot`]'s order in the CPU's vectors,
    /// when it has the ones this type's kernel needs (`false`: nothing done).
    fn dot_rows_simd(mat: &[Self], x: &[Self], y: &mut [Self]) -> bool;
}

impl Real for f32 {
    const NAME: &'static str = "float32";
    fn cast(x: f64) -> Self {
        x as f32
    }
    fn widen(self) -> f64 {
        f64::from(self)
    }
    fn magnitude_bits(self) -> u64 {
        u64::from(self.to_bits() << 1)
    }
    fn dot_rows_simd(mat: &[Self], x: &[Self], y: &mut [Self]) -> bool {
        crate::kernels::simd::dot_rows_f32(mat, x, y)
    }
}

impl Real for f64 {
    const NAME: &'static str = "float64";
    fn cast(x: f64) -> Self {
        x
    }
    fn widen(self) -> f64 {
        self
    }
    fn magnitude_bits(self) -> u64 {
        self.to_bits() << 1
    }
    fn dot_rows_simd(mat: &[Self], x: &[Self], y: &mut [Self]) -> bool {
        crate::kernels::simd::dot_rows_f64(mat, x, y)
    }
}

/// `v` rounded to `T`, element by element.
pub fn cast_all<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::cast(x)).collect()
}

/// `dst[i] = src[i]` rounded to `T` (the shorter length).
pub fn cast_into<T: Real>(src: &[f64], dst: &mut [T]) {
    dst.iter_mut().zip(src).for_each(|(d, &v)| *d = T::cast(v));
}
