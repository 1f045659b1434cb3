//! Special functions for the NEF samplers: the regularised incomplete beta function and its
//! inverse, NumPy-compatible linear interpolation, and Nengo's `betaincinv(d/2, 1/2, x)`
//! lookup table (rebuilt here by Nengo's own recipe rather than shipped as data).

use std::borrow::Cow;
use std::sync::OnceLock;

use super::mt19937::Mt19937;

/// `ln B(a, b)` for `a, b > 0`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b)
}

/// Continued fraction for the incomplete beta function (modified Lentz), valid for
/// `x < (a + 1) / (a + b + 2)`.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

/// `x^a (1-x)^b / (a B(a, b))` times the continued fraction: `I_x(a, b)` for small `x`.
fn betainc_lower(a: f64, b: f64, x: f64) -> f64 {
    let ln_front = a * x.ln() + b * (-x).ln_1p() - ln_beta(a, b);
    ln_front.exp() / a * beta_cf(a, b, x)
}

/// The regularised incomplete beta function `I_x(a, b)` (SciPy's `betainc`).
///
/// Returns NaN for `a <= 0`, `b <= 0` or NaN `x`; clamps `x` to `[0, 1]`.
pub fn betainc(a: f64, b: f64, x: f64) -> f64 {
    if a.is_nan() || b.is_nan() || x.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        1.0 - betainc_lower(b, a, 1.0 - x)
    } else {
        betainc_lower(a, b, x)
    }
}

/// Inverse of [`betainc`] in `x`: the `x` with `I_x(a, b) = p` (SciPy's `betaincinv`).
///
/// Safeguarded Newton-Halley iteration from Numerical Recipes' starting guess, on whichever
/// tail holds the root (so roots near 1 keep their precision). Returns NaN for invalid `a`,
/// `b` or NaN `p`.
pub fn betaincinv(a: f64, b: f64, p: f64) -> f64 {
    if a.is_nan() || b.is_nan() || p.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let mean = a / (a + b);
    if p <= betainc(a, b, mean) {
        inverse_lower(a, b, p, mean)
    } else {
        // I_x(a, b) = p  <=>  I_{1-x}(b, a) = 1 - p (exact in floating point for p > 1/2)
        1.0 - inverse_lower(b, a, 1.0 - p, 1.0 - mean)
    }
}

/// The root of `I_x(a, b) = p` known to lie in `[0, top]`.
fn inverse_lower(a: f64, b: f64, p: f64, top: f64) -> f64 {
    let lnb = ln_beta(a, b);
    let mut x = match initial_guess(a, b, p) {
        Some(x) => x.min(top),
        None => return 0.0, // root below the smallest subnormal
    };
    let (mut lo, mut hi) = (0.0_f64, top);
    // |f| before the last Newton step (infinite after a bisection step)
    let mut prev_f = f64::INFINITY;
    for _ in 0..2000 {
        let f = betainc(a, b, x) - p;
        if f == 0.0 {
            return x;
        }
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let tol = 4.0 * f64::EPSILON * x;
        // Halley step where the curvature term is tame, Newton step otherwise
        let pdf = ((a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - lnb).exp();
        if pdf > 0.0 && pdf.is_finite() {
            let u = f / pdf;
            let curv = u * ((a - 1.0) / x - (b - 1.0) / (1.0 - x));
            let step = if curv.abs() < 1.0 { u / (1.0 - 0.5 * curv) } else { u };
            let next = x - step;
            if next > lo && next < hi {
                if step.abs() <= tol {
                    return next;
                }
                // keep taking Newton steps while they at least halve the residual
                if f.abs() <= 0.5 * prev_f {
                    prev_f = f.abs();
                    x = next;
                    continue;
                }
            }
        }
        // bisect, geometrically while the bracket spans decades
        if hi - lo <= tol {
            return x;
        }
        prev_f = f64::INFINITY;
        x = if lo == 0.0 {
            hi / 16.0
        } else if hi / lo > 4.0 {
            lo.sqrt() * hi.sqrt()
        } else {
            0.5 * (lo + hi)
        };
    }
    x
}

/// Numerical Recipes' starting point for the inverse incomplete beta (`None` if it underflows).
fn initial_guess(a: f64, b: f64, p: f64) -> Option<f64> {
    if a >= 1.0 && b >= 1.0 {
        let pp = if p < 0.5 { p } else { 1.0 - p };
        let t = (-2.0 * pp.ln()).sqrt();
        let mut z = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t;
        if p < 0.5 {
            z = -z;
        }
        let al = (z * z - 3.0) / 6.0;
        let h = 2.0 / (1.0 / (2.0 * a - 1.0) + 1.0 / (2.0 * b - 1.0));
        let w = z * (al + h).sqrt() / h
            - (1.0 / (2.0 * b - 1.0) - 1.0 / (2.0 * a - 1.0)) * (al + 5.0 / 6.0 - 2.0 / (3.0 * h));
        let x = a / (a + b * (2.0 * w).exp());
        if x > 0.0 && x < 1.0 {
            return Some(x);
        }
    }
    let lna = (a / (a + b)).ln();
    let lnb = (b / (a + b)).ln();
    let t = (a * lna).exp() / a;
    let u = (b * lnb).exp() / b;
    let w = t + u;
    if p < t / w {
        let ln_x = (a.ln() + w.ln() + p.ln()) / a;
        if ln_x < -745.0 {
            None
        } else {
            Some(ln_x.exp().clamp(f64::MIN_POSITIVE, 0.5))
        }
    } else {
        let x = 1.0 - (b * w * (1.0 - p)).powf(1.0 / b);
        Some(x.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON))
    }
}

/// One-point linear interpolation with `numpy.interp` semantics (`xp` increasing; values
/// outside the range clamp to the end points).
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len().min(fp.len());
    if n == 0 {
        return f64::NAN;
    }
    if x.is_nan() {
        return f64::NAN;
    }
    if n == 1 || x < xp[0] {
        return fp[0];
    }
    if x >= xp[n - 1] {
        return fp[n - 1];
    }
    // largest j with xp[j] <= x (so xp[j] <= x < xp[j + 1])
    let j = xp[..n].partition_point(|&v| v <= x) - 1;
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let mut r = slope * (x - xp[j]) + fp[j];
    if r.is_nan() {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if r.is_nan() && fp[j] == fp[j + 1] {
            r = fp[j];
        }
    }
    r
}

/// `numpy.linspace(start, stop, num)` (endpoint included), bit-for-bit.
pub(crate) fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 0 {
        return Vec::new();
    }
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    v[num - 1] = stop;
    v
}

/// Sorted, exact-duplicate-free copy (NumPy's `unique` on finite values).
fn unique_sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| *a == *b);
    v
}

/// Nengo's `_betaincinv22` lookup table of `betaincinv(d/2, 1/2, x)`, 200 nodes for each of
/// 50 dimensionalities `d` between 1 and 1000, rebuilt by `_betaincinv22.make_table`'s recipe.
#[derive(Debug)]
pub struct BetaincinvTable {
    dims: Vec<usize>,
    base_counts: Vec<usize>,
    x: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
}

const N_INTERP: usize = 200;
const N_DIMS: usize = 50;

impl BetaincinvTable {
    /// The shared table, built on first use (a few milliseconds).
    pub fn get() -> &'static BetaincinvTable {
        static TABLE: OnceLock<BetaincinvTable> = OnceLock::new();
        TABLE.get_or_init(BetaincinvTable::build)
    }

    fn build() -> Self {
        // dims: 1..=25 linearly, then 25 log-spaced values from 26 to 1000
        let n_log = N_DIMS / 2;
        let n_lin = N_DIMS - n_log;
        let mut dims: Vec<usize> = (1..=n_lin).collect();
        let exps = linspace(((n_lin + 1) as f64).log10(), 3.0, n_log);
        for e in exps {
            let v = 10f64.powf(e).round_ties_even();
            dims.push(v as usize);
        }
        dims.sort_unstable();
        dims.dedup();

        let mut rng = Mt19937::new(0);
        let n_range = (0.8 * N_INTERP as f64) as usize;
        let x0 = linspace(0.0, 1.0, N_INTERP - n_range);
        let y0 = linspace(1e-16, 1.0 - 1e-7, n_range);
        let mut xs = Vec::with_capacity(dims.len());
        let mut ys = Vec::with_capacity(dims.len());
        let mut base_counts = Vec::with_capacity(dims.len());
        for &dim in &dims {
            let a = dim as f64 / 2.0;
            let mut nodes: Vec<f64> = x0.clone();
            nodes.extend(y0.iter().map(|&y| betainc(a, 0.5, y)));
            let mut nodes = unique_sorted(nodes);
            base_counts.push(nodes.len());
            while nodes.len() < N_INTERP {
                let k = N_INTERP - nodes.len();
                for _ in 0..k {
                    nodes.push(rng.random_sample());
                }
                nodes = unique_sorted(nodes);
            }
            let y: Vec<f64> = nodes.iter().map(|&x| betaincinv(a, 0.5, x)).collect();
            xs.push(nodes);
            ys.push(y);
        }
        Self { dims, base_counts, x: xs, y: ys }
    }

    /// The tabulated dimensionalities, increasing.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The `(x, y)` nodes for a tabulated dimensionality.
    pub fn nodes(&self, dims: usize) -> Option<(&[f64], &[f64])> {
        let i = self.dims.binary_search(&dims).ok()?;
        Some((&self.x[i], &self.y[i]))
    }

    /// How many distinct nodes the recipe produced for `dims` before random filling.
    pub fn base_node_count(&self, dims: usize) -> Option<usize> {
        let i = self.dims.binary_search(&dims).ok()?;
        Some(self.base_counts[i])
    }

    /// `betaincinv(dims / 2, 1/2, x)` approximated exactly as Nengo's `_betaincinv22.lookup`.
    /// `dims` must be at least 1 (0 is treated as 1).
    pub fn lookup(&self, dims: usize, x: f64) -> f64 {
        let (xp, yp) = self.curve(dims);
        interp(x, &xp, &yp)
    }

    /// The interpolation nodes used for `dims`: the tabulated curve, the largest one beyond
    /// the table, or between tabulated dimensionalities a blend of the two neighbours.
    pub fn curve(&self, dims: usize) -> (Cow<'_, [f64]>, Cow<'_, [f64]>) {
        let dims = dims.max(1);
        let i = self.dims.partition_point(|&d| d < dims);
        if i < self.dims.len() && self.dims[i] == dims {
            return (Cow::Borrowed(&self.x[i]), Cow::Borrowed(&self.y[i]));
        }
        if i >= self.dims.len() {
            let last = self.dims.len() - 1;
            return (Cow::Borrowed(&self.x[last]), Cow::Borrowed(&self.y[last]));
        }
        // i > 0 here since dims >= 1 = self.dims[0]
        let (d0, d1) = (self.dims[i - 1], self.dims[i]);
        let ratio0 = (d1 - dims) as f64 / (d1 - d0) as f64;
        let ratio1 = 1.0 - ratio0;
        let (xp0, yp0) = (&self.x[i - 1], &self.y[i - 1]);
        let (xp1, yp1) = (&self.x[i], &self.y[i]);
        let xp: Vec<f64> = if xp0.len() == xp1.len() {
            xp0.iter().zip(xp1).map(|(&u, &v)| ratio0 * u + ratio1 * v).collect()
        } else {
            xp0.clone()
        };
        let yp = xp
            .iter()
            .map(|&x| ratio0 * interp(x, xp0, yp0) + ratio1 * interp(x, xp1, yp1))
            .collect();
        (Cow::Owned(xp), Cow::Owned(yp))
    }
}
