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
}

impl Real for f32 {
    const NAME: &'static str = "float32";
    fn cast(x: f64) -> Self {
        x as f32
    }
    fn widen(self) -> f64 {
        f64::from(self)
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
}

/// `v` rounded to `T`, element by element.
pub fn cast_all<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::cast(x)).collect()
}
