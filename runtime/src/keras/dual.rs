//! Forward-mode differentiation of the Keras evaluator: a dual number `v + d·ε` (ε² = 0) that
//! is a [`Scalar`], so any layer the evaluator computes can be differentiated exactly (the
//! chain rule at every primitive, not finite differences). [`vjp`] gives `(∂y/∂x)ᵀ dy` with
//! one pass per input element — what training needs of a `keras_layer` host op.

use super::eval::Scalar;
use num_traits::{Float, Num, NumCast, One, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::num::FpCategory;
use std::ops::{Add, Div, Mul, Neg, Rem, Sub};

/// A value and its derivative along one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dual {
    /// The value.
    pub v: f64,
    /// Its derivative.
    pub d: f64,
}

impl Dual {
    /// A constant (derivative zero).
    pub const fn constant(v: f64) -> Self {
        Self { v, d: 0.0 }
    }

    /// `f(self)` given `f(v)` and `f'(v)`.
    fn chain(self, value: f64, slope: f64) -> Self {
        // a zero tangent stays zero even where the slope is infinite (sqrt(0), ln(0))
        let d = if self.d == 0.0 { 0.0 } else { self.d * slope };
        Self { v: value, d }
    }
}

impl PartialOrd for Dual {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.v.partial_cmp(&other.v)
    }
}

impl Add for Dual {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self { v: self.v + o.v, d: self.d + o.d }
    }
}

impl Sub for Dual {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self { v: self.v - o.v, d: self.d - o.d }
    }
}

impl Mul for Dual {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        Self { v: self.v * o.v, d: self.d * o.v + self.v * o.d }
    }
}

impl Div for Dual {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let v = self.v / o.v;
        Self { v, d: (self.d - v * o.d) / o.v }
    }
}

impl Rem for Dual {
    type Output = Self;
    fn rem(self, o: Self) -> Self {
        // x mod y = x − trunc(x / y)·y; the truncation is locally constant
        let q = (self.v / o.v).trunc();
        Self { v: self.v % o.v, d: self.d - q * o.d }
    }
}

impl Neg for Dual {
    type Output = Self;
    fn neg(self) -> Self {
        Self { v: -self.v, d: -self.d }
    }
}

impl Zero for Dual {
    fn zero() -> Self {
        Self::constant(0.0)
    }
    fn is_zero(&self) -> bool {
        self.v == 0.0
    }
}

impl One for Dual {
    fn one() -> Self {
        Self::constant(1.0)
    }
}

impl Num for Dual {
    type FromStrRadixErr = <f64 as Num>::FromStrRadixErr;
    fn from_str_radix(s: &str, radix: u32) -> Result<Self, Self::FromStrRadixErr> {
        f64::from_str_radix(s, radix).map(Self::constant)
    }
}

impl ToPrimitive for Dual {
    fn to_i64(&self) -> Option<i64> {
        self.v.to_i64()
    }
    fn to_u64(&self) -> Option<u64> {
        self.v.to_u64()
    }
    fn to_f64(&self) -> Option<f64> {
        Some(self.v)
    }
}

impl NumCast for Dual {
    fn from<T: ToPrimitive>(n: T) -> Option<Self> {
        n.to_f64().map(Self::constant)
    }
}

impl ndarray::ScalarOperand for Dual {}

impl Float for Dual {
    fn nan() -> Self {
        Self::constant(f64::NAN)
    }
    fn infinity() -> Self {
        Self::constant(f64::INFINITY)
    }
    fn neg_infinity() -> Self {
        Self::constant(f64::NEG_INFINITY)
    }
    fn neg_zero() -> Self {
        Self::constant(-0.0)
    }
    fn min_value() -> Self {
        Self::constant(f64::MIN)
    }
    fn min_positive_value() -> Self {
        Self::constant(f64::MIN_POSITIVE)
    }
    fn max_value() -> Self {
        Self::constant(f64::MAX)
    }
    fn is_nan(self) -> bool {
        self.v.is_nan()
    }
    fn is_infinite(self) -> bool {
        self.v.is_infinite()
    }
    fn is_finite(self) -> bool {
        self.v.is_finite()
    }
    fn is_normal(self) -> bool {
        self.v.is_normal()
    }
    fn classify(self) -> FpCategory {
        self.v.classify()
    }
    fn floor(self) -> Self {
        Self::constant(self.v.floor())
    }
    fn ceil(self) -> Self {
        Self::constant(self.v.ceil())
    }
    fn round(self) -> Self {
        Self::constant(self.v.round())
    }
    fn trunc(self) -> Self {
        Self::constant(self.v.trunc())
    }
    fn fract(self) -> Self {
        Self { v: self.v.fract(), d: self.d }
    }
    fn abs(self) -> Self {
        // TensorFlow's Abs gradient is sign(x): zero at zero
        self.chain(self.v.abs(), if self.v == 0.0 { 0.0 } else { self.v.signum() })
    }
    fn signum(self) -> Self {
        Self::constant(self.v.signum())
    }
    fn is_sign_positive(self) -> bool {
        self.v.is_sign_positive()
    }
    fn is_sign_negative(self) -> bool {
        self.v.is_sign_negative()
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }
    fn recip(self) -> Self {
        Self::one() / self
    }
    fn powi(self, n: i32) -> Self {
        let slope = if n == 0 { 0.0 } else { <f64 as From<i32>>::from(n) * self.v.powi(n - 1) };
        self.chain(self.v.powi(n), slope)
    }
    fn powf(self, n: Self) -> Self {
        let v = self.v.powf(n.v);
        let dx = if self.d == 0.0 { 0.0 } else { self.d * n.v * self.v.powf(n.v - 1.0) };
        let dn = if n.d == 0.0 { 0.0 } else { n.d * v * self.v.ln() };
        Self { v, d: dx + dn }
    }
    fn sqrt(self) -> Self {
        let v = self.v.sqrt();
        self.chain(v, 0.5 / v)
    }
    fn exp(self) -> Self {
        let v = self.v.exp();
        self.chain(v, v)
    }
    fn exp2(self) -> Self {
        let v = self.v.exp2();
        self.chain(v, v * std::f64::consts::LN_2)
    }
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    fn log(self, base: Self) -> Self {
        self.ln() / base.ln()
    }
    fn log2(self) -> Self {
        self.chain(self.v.log2(), 1.0 / (self.v * std::f64::consts::LN_2))
    }
    fn log10(self) -> Self {
        self.chain(self.v.log10(), 1.0 / (self.v * std::f64::consts::LN_10))
    }
    fn max(self, o: Self) -> Self {
        // TensorFlow's Maximum passes the gradient to the first operand on ties
        if self.v.is_nan() || o.v > self.v {
            o
        } else {
            self
        }
    }
    fn min(self, o: Self) -> Self {
        if self.v.is_nan() || o.v < self.v {
            o
        } else {
            self
        }
    }
    #[allow(deprecated)]
    fn abs_sub(self, o: Self) -> Self {
        if self.v > o.v {
            self - o
        } else {
            Self::zero()
        }
    }
    fn cbrt(self) -> Self {
        let v = self.v.cbrt();
        self.chain(v, 1.0 / (3.0 * v * v))
    }
    fn hypot(self, o: Self) -> Self {
        (self * self + o * o).sqrt()
    }
    fn sin(self) -> Self {
        self.chain(self.v.sin(), self.v.cos())
    }
    fn cos(self) -> Self {
        self.chain(self.v.cos(), -self.v.sin())
    }
    fn tan(self) -> Self {
        let t = self.v.tan();
        self.chain(t, 1.0 + t * t)
    }
    fn asin(self) -> Self {
        self.chain(self.v.asin(), 1.0 / (1.0 - self.v * self.v).sqrt())
    }
    fn acos(self) -> Self {
        self.chain(self.v.acos(), -1.0 / (1.0 - self.v * self.v).sqrt())
    }
    fn atan(self) -> Self {
        self.chain(self.v.atan(), 1.0 / (1.0 + self.v * self.v))
    }
    fn atan2(self, o: Self) -> Self {
        let r2 = self.v * self.v + o.v * o.v;
        Self { v: self.v.atan2(o.v), d: (self.d * o.v - o.d * self.v) / r2 }
    }
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    fn exp_m1(self) -> Self {
        self.chain(self.v.exp_m1(), self.v.exp())
    }
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    fn sinh(self) -> Self {
        self.chain(self.v.sinh(), self.v.cosh())
    }
    fn cosh(self) -> Self {
        self.chain(self.v.cosh(), self.v.sinh())
    }
    fn tanh(self) -> Self {
        let t = self.v.tanh();
        self.chain(t, 1.0 - t * t)
    }
    fn asinh(self) -> Self {
        self.chain(self.v.asinh(), 1.0 / (self.v * self.v + 1.0).sqrt())
    }
    fn acosh(self) -> Self {
        self.chain(self.v.acosh(), 1.0 / (self.v * self.v - 1.0).sqrt())
    }
    fn atanh(self) -> Self {
        self.chain(self.v.atanh(), 1.0 / (1.0 - self.v * self.v))
    }
    fn integer_decode(self) -> (u64, i16, i8) {
        self.v.integer_decode()
    }
}

impl Scalar for Dual {
    fn of(x: f64) -> Self {
        Self::constant(x)
    }
    fn erf(self) -> Self {
        let slope = std::f64::consts::FRAC_2_SQRT_PI * (-self.v * self.v).exp();
        self.chain(libm::erf(self.v), slope)
    }
    fn erfc(self) -> Self {
        let slope = -std::f64::consts::FRAC_2_SQRT_PI * (-self.v * self.v).exp();
        self.chain(libm::erfc(self.v), slope)
    }
}

/// `dx += (∂y/∂x)ᵀ dy` for `y = f(x)`, `f` any function the evaluator computes over [`Dual`]s
/// (taking the flat input, giving the flat output): one forward pass per input element, each
/// giving a column of the Jacobian exactly. Inputs whose column is zero cost a pass too.
pub fn vjp(
    x: &[f64],
    dy: &[f64],
    dx: &mut [f64],
    f: impl Fn(&[Dual]) -> Result<Vec<Dual>, String>,
) -> Result<(), String> {
    let mut seed: Vec<Dual> = x.iter().map(|&v| Dual::constant(v)).collect();
    for i in 0..x.len() {
        seed[i].d = 1.0;
        let y = f(&seed)?;
        seed[i].d = 0.0;
        if y.len() != dy.len() {
            return Err(format!("the layer gave {} values, expected {}", y.len(), dy.len()));
        }
        dx[i] += y.iter().zip(dy).map(|(y, g)| y.d * g).sum::<f64>();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Primitive = (&'static str, fn(Dual) -> Dual);

    /// Each primitive's derivative against a central difference.
    #[test]
    fn primitives_match_central_differences() {
        let fs: Vec<Primitive> = vec![
            ("exp", |x| x.exp()),
            ("ln", |x| x.ln()),
            ("sqrt", |x| x.sqrt()),
            ("tanh", |x| x.tanh()),
            ("erf", |x| Scalar::erf(x)),
            ("erfc", |x| Scalar::erfc(x)),
            ("powf", |x| x.powf(Dual::constant(1.7))),
            ("powi", |x| x.powi(3)),
            ("div", |x| Dual::constant(2.0) / (x + Dual::constant(1.0))),
            ("sigmoid", |x| Dual::one() / (Dual::one() + (-x).exp())),
            ("atan", |x| x.atan()),
            ("ln_1p", |x| x.ln_1p()),
        ];
        for (name, f) in fs {
            for &x in &[0.3, 0.9, 1.7] {
                let d = f(Dual { v: x, d: 1.0 }).d;
                let h = 1e-6;
                let fd = (f(Dual::constant(x + h)).v - f(Dual::constant(x - h)).v) / (2.0 * h);
                assert!((d - fd).abs() <= 1e-6 * fd.abs().max(1.0), "{name} at {x}: {d} vs {fd}");
            }
        }
    }
}
