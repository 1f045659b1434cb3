//! Probability distributions as in `nengo.dists`: scalar distributions, hypersphere samplers
//! (uniform and Nengo 3.2's quasirandom `ScatteredHypersphere`) and explicit samples.

use std::f64::consts::PI;

use nalgebra::{linalg::SVD, DMatrix};
use ndarray::{s, Array1, Array2, ArrayView2, Axis};

use super::entropy::Entropy;
use super::special::{betainc, betaincinv, interp, BetaincinvTable};
use super::NefError;

/// How [`Dist::ScatteredHypersphere`] maps points of the unit cube onto the sphere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SphericalMethod {
    /// Spherical coordinate transform with Nengo's tabulated inverse incomplete beta (default).
    #[default]
    SctApprox,
    /// Spherical coordinate transform with the exact inverse incomplete beta.
    Sct,
    /// The Tashiro-Fang-Wang-Wong transform (surface-uniform, no special functions).
    Tfww,
}

/// A distribution to sample parameters, encoders or eval points from (Nengo's `Distribution`),
/// or explicit samples.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Uniform on `[low, high)`; with `integer`, uniform over the integers in `[low, high)`.
    Uniform {
        /// Closed lower bound.
        low: f64,
        /// Open upper bound.
        high: f64,
        /// Draw integers instead of reals.
        integer: bool,
    },
    /// Normal distribution.
    Gaussian {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        std: f64,
    },
    /// Exponential with scale, shifted by `shift`, values clipped just below `high`.
    Exponential {
        /// Scale (inverse rate, > 0).
        scale: f64,
        /// Minimum value.
        shift: f64,
        /// Values at or above this are clipped to just below it (`f64::INFINITY` for none).
        high: f64,
    },
    /// Discrete choice between the rows of `options`, optionally weighted.
    Choice {
        /// One option per row (a single column for scalar options).
        options: Array2<f64>,
        /// Non-negative relative weights, one per option (uniform if `None`).
        weights: Option<Vec<f64>>,
    },
    /// A distribution given by (interpolated) probabilities `p` at points `x`.
    Pdf {
        /// Points.
        x: Vec<f64>,
        /// Probabilities of the points (summing to 1).
        p: Vec<f64>,
    },
    /// Uniform on the unit sphere surface or in the unit ball (Monte Carlo).
    UniformHypersphere {
        /// Sample the surface instead of the ball.
        surface: bool,
        /// Smallest magnitude in the ball (`[0, 1)`), ignored for the surface.
        min_magnitude: f64,
    },
    /// Quasirandom (low-discrepancy) points on the sphere surface or in the ball:
    /// Nengo 3.2's default for encoders (surface) and eval points (ball).
    ScatteredHypersphere {
        /// Sample the surface instead of the ball.
        surface: bool,
        /// Smallest magnitude in the ball (`[0, 1)`), ignored for the surface.
        min_magnitude: f64,
        /// Cube-to-sphere mapping.
        method: SphericalMethod,
    },
    /// The R_d quasirandom sequence in the unit cube (random offset, shuffled).
    QuasirandomSequence,
    /// Square root of a Beta(m/2, n/2) variable: the length of an m-dimensional subvector of a
    /// random unit vector in n + m dimensions.
    SqrtBeta {
        /// Number of remaining dimensions.
        n: f64,
        /// Subvector length.
        m: f64,
    },
    /// The dot product of two random unit vectors in `dimensions` dimensions.
    CosineSimilarity {
        /// Dimensionality of the vectors (>= 2).
        dimensions: usize,
    },
    /// Explicit samples, one per row; the requested count and dimensions must match.
    Samples(Array2<f64>),
}

impl Dist {
    /// `Uniform(low, high)` over the reals.
    pub fn uniform(low: f64, high: f64) -> Self {
        Dist::Uniform { low, high, integer: false }
    }

    /// `Gaussian(mean, std)`.
    pub fn gaussian(mean: f64, std: f64) -> Self {
        Dist::Gaussian { mean, std }
    }

    /// `ScatteredHypersphere(surface)` with Nengo's defaults otherwise.
    pub fn scattered_hypersphere(surface: bool) -> Self {
        Dist::ScatteredHypersphere {
            surface,
            min_magnitude: 0.0,
            method: SphericalMethod::SctApprox,
        }
    }

    /// `UniformHypersphere(surface)` with `min_magnitude = 0`.
    pub fn uniform_hypersphere(surface: bool) -> Self {
        Dist::UniformHypersphere { surface, min_magnitude: 0.0 }
    }

    /// `SubvectorLength(dimensions, subdimensions)` = `SqrtBeta(dimensions - sub, sub)`.
    pub fn subvector_length(dimensions: usize, subdimensions: usize) -> Self {
        Dist::SqrtBeta {
            n: dimensions.saturating_sub(subdimensions) as f64,
            m: subdimensions as f64,
        }
    }

    /// Nengo's default ensemble encoders: `ScatteredHypersphere(surface=True)`.
    pub fn default_encoders() -> Self {
        Self::scattered_hypersphere(true)
    }

    /// Nengo's default ensemble eval points: `ScatteredHypersphere()` (the ball).
    pub fn default_eval_points() -> Self {
        Self::scattered_hypersphere(false)
    }

    /// Nengo's default `max_rates`: `Uniform(200, 400)`.
    pub fn default_max_rates() -> Self {
        Self::uniform(200.0, 400.0)
    }

    /// Nengo's default `intercepts`: `Uniform(-1, 0.9)`.
    pub fn default_intercepts() -> Self {
        Self::uniform(-1.0, 0.9)
    }

    /// Check parameters as Nengo's parameter validation does.
    pub fn validate(&self) -> Result<(), NefError> {
        let bad = |m: &str| Err(NefError::InvalidParameter(m.to_string()));
        match self {
            Dist::Uniform { low, high, integer } => {
                if !low.is_finite() || !high.is_finite() {
                    return bad("uniform bounds must be finite");
                }
                if *integer && (low.fract() != 0.0 || high.fract() != 0.0 || low >= high) {
                    return bad("integer uniform needs integer bounds with low < high");
                }
            }
            Dist::Gaussian { mean, std } => {
                if !(mean.is_finite() && std.is_finite() && *std > 0.0) {
                    return bad("gaussian needs a finite mean and std > 0");
                }
            }
            Dist::Exponential { scale, shift, high } => {
                if !(scale.is_finite() && *scale > 0.0 && shift.is_finite()) || high.is_nan() {
                    return bad("exponential needs scale > 0 and a finite shift");
                }
            }
            Dist::Choice { options, weights } => {
                if options.nrows() == 0 {
                    return bad("choice needs at least one option");
                }
                if let Some(w) = weights {
                    if w.len() != options.nrows() {
                        return Err(NefError::InvalidParameter(format!(
                            "number of weights ({}) must match number of options ({})",
                            w.len(),
                            options.nrows()
                        )));
                    }
                    if w.iter().any(|&v| !(v >= 0.0 && v.is_finite())) {
                        return bad("all choice weights must be non-negative");
                    }
                    if w.iter().sum::<f64>() <= 0.0 {
                        return bad("sum of choice weights must be positive");
                    }
                }
            }
            Dist::Pdf { x, p } => {
                if x.len() != p.len() || x.is_empty() {
                    return bad("pdf `x` and `p` must be the same, non-zero length");
                }
                let total: f64 = p.iter().sum();
                if (total - 1.0).abs() > 1e-8 {
                    return Err(NefError::InvalidParameter(format!(
                        "pdf must sum to one (sums to {total})"
                    )));
                }
            }
            Dist::UniformHypersphere { min_magnitude, .. }
            | Dist::ScatteredHypersphere { min_magnitude, .. } => {
                if !(0.0..1.0).contains(min_magnitude) {
                    return bad("min_magnitude must be in [0, 1)");
                }
            }
            Dist::QuasirandomSequence => {}
            Dist::SqrtBeta { n, m } => {
                if !(*n > 0.0 && *m > 0.0 && n.is_finite() && m.is_finite()) {
                    return bad("sqrt-beta needs n > 0 and m > 0");
                }
            }
            Dist::CosineSimilarity { dimensions } => {
                if *dimensions < 2 {
                    return bad("cosine similarity needs dimensions >= 2");
                }
            }
            Dist::Samples(a) => {
                if a.iter().any(|v| !v.is_finite()) {
                    return Err(NefError::NonFinite("samples".into()));
                }
            }
        }
        Ok(())
    }

    /// Draw `n` samples of dimension `d` as an `(n, d)` array; `d = None` asks for scalars and
    /// gives an `(n, 1)` array. Hypersphere and quasirandom distributions need `d >= 1`.
    pub fn sample<E: Entropy + ?Sized>(
        &self,
        n: usize,
        d: Option<usize>,
        rng: &mut E,
    ) -> Result<Array2<f64>, NefError> {
        self.validate()?;
        let cols = d.unwrap_or(1);
        let need_dims = || match d {
            Some(d) if d >= 1 => Ok(d),
            _ => Err(NefError::InvalidParameter("dimensions must be a positive integer".into())),
        };
        let scalar = |rng: &mut E, f: &dyn Fn(&mut E) -> f64| {
            let mut out = Array2::zeros((n, cols));
            out.iter_mut().for_each(|v| *v = f(rng));
            out
        };
        Ok(match self {
            Dist::Uniform { low, high, integer: false } => {
                scalar(rng, &|r| low + (high - low) * r.next_uniform())
            }
            Dist::Uniform { low, high, integer: true } => {
                scalar(rng, &|r| (low + ((high - low) * r.next_uniform()).floor()).min(high - 1.0))
            }
            Dist::Gaussian { mean, std } => scalar(rng, &|r| mean + std * r.next_standard_normal()),
            Dist::Exponential { scale, shift, high } => {
                let top = libm::nextafter(*high, f64::NEG_INFINITY);
                scalar(rng, &|r| {
                    let x = scale * -(-r.next_uniform()).ln_1p() + shift;
                    x.max(*shift).min(top)
                })
            }
            Dist::Choice { options, weights } => {
                let want = options.ncols();
                if cols != want {
                    return Err(NefError::InvalidParameter(format!(
                        "choice options must be of dimensionality {cols} (got {want})"
                    )));
                }
                let w = weights.clone().unwrap_or_else(|| vec![1.0; options.nrows()]);
                let total: f64 = w.iter().sum();
                let mut cum = Vec::with_capacity(w.len());
                let mut acc = 0.0;
                for v in &w {
                    acc += v / total;
                    cum.push(acc);
                }
                let mut out = Array2::zeros((n, want));
                for mut row in out.rows_mut() {
                    let u = rng.next_uniform();
                    let i = cum.partition_point(|&c| c < u).min(cum.len() - 1);
                    row.assign(&options.row(i));
                }
                out
            }
            Dist::Pdf { x, p } => {
                // cdf = midpoints of the cumulative sum (Nengo's construction)
                let mut cs = Vec::with_capacity(p.len());
                let mut acc = 0.0;
                for v in p {
                    acc += v;
                    cs.push(acc * 0.5);
                }
                let mut cdf = cs.clone();
                for i in 1..cs.len() {
                    cdf[i] = cs[i - 1] + cs[i];
                }
                scalar(rng, &|r| interp(r.next_uniform(), &cdf, x))
            }
            Dist::UniformHypersphere { surface, min_magnitude } => {
                let d = need_dims()?;
                uniform_hypersphere(n, d, *surface, *min_magnitude, rng)
            }
            Dist::ScatteredHypersphere { surface, min_magnitude, method } => {
                let d = need_dims()?;
                scattered_hypersphere(n, d, *surface, *min_magnitude, *method, rng)?
            }
            Dist::QuasirandomSequence => {
                let d = need_dims()?;
                sample_quasirandom(n, d, rng)?
            }
            Dist::SqrtBeta { n: nn, m } => scalar(rng, &|r| r.next_beta(m / 2.0, nn / 2.0).sqrt()),
            Dist::CosineSimilarity { dimensions } => {
                let signs: Vec<f64> = (0..n * cols)
                    .map(|_| if rng.next_uniform() <= 0.5 { 1.0 } else { -1.0 })
                    .collect();
                let nn = (*dimensions - 1) as f64;
                let mut out = scalar(rng, &|r| r.next_beta(0.5, nn / 2.0).sqrt());
                out.iter_mut().zip(signs).for_each(|(v, s)| *v *= s);
                out
            }
            Dist::Samples(a) => {
                if a.nrows() != n {
                    return Err(NefError::Shape(format!(
                        "wrong number of samples requested: got {n}, should be {}",
                        a.nrows()
                    )));
                }
                if a.ncols() != cols {
                    return Err(NefError::Shape(format!(
                        "wrong sample dimensionality requested: got {cols}, should be {}",
                        a.ncols()
                    )));
                }
                a.clone()
            }
        })
    }

    /// Draw `n` scalar samples (`sample(n, None)` as a vector).
    pub fn sample_1d<E: Entropy + ?Sized>(
        &self,
        n: usize,
        rng: &mut E,
    ) -> Result<Array1<f64>, NefError> {
        Ok(self.sample(n, None, rng)?.index_axis_move(Axis(1), 0))
    }

    /// Cumulative distribution function, for `SqrtBeta` and `CosineSimilarity` (and the
    /// uniform and Gaussian cases); `None` for the others.
    pub fn cdf(&self, x: f64) -> Option<f64> {
        match self {
            Dist::SqrtBeta { n, m } => Some(sqrt_beta_cdf(*n, *m, x)),
            Dist::CosineSimilarity { dimensions } => {
                let nn = (*dimensions as f64) - 1.0;
                Some((sqrt_beta_cdf(nn, 1.0, x) * sign(x) + 1.0) / 2.0)
            }
            Dist::Uniform { low, high, integer: false } => {
                Some(((x - low) / (high - low)).clamp(0.0, 1.0))
            }
            Dist::Gaussian { mean, std } => {
                Some(0.5 * libm::erfc(-(x - mean) / (std * std::f64::consts::SQRT_2)))
            }
            _ => None,
        }
    }

    /// Percent point function (inverse CDF), for `SqrtBeta` and `CosineSimilarity`
    /// (e.g. intercepts that make neurons fire with a given probability).
    pub fn ppf(&self, y: f64) -> Option<f64> {
        match self {
            Dist::SqrtBeta { n, m } => Some(betaincinv(m / 2.0, n / 2.0, y).sqrt()),
            Dist::CosineSimilarity { dimensions } => {
                let nn = (*dimensions as f64) - 1.0;
                let x = betaincinv(0.5, nn / 2.0, (y * 2.0 - 1.0).abs()).sqrt();
                Some(if y > 0.5 { x } else { -x })
            }
            _ => None,
        }
    }
}

fn sqrt_beta_cdf(n: f64, m: f64, x: f64) -> f64 {
    let sq = x * x;
    if sq < 1.0 {
        betainc(m / 2.0, n / 2.0, sq)
    } else {
        1.0
    }
}

/// `np.sign`: -1, 0 or 1 (NaN stays NaN).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

fn uniform_hypersphere<E: Entropy + ?Sized>(
    n: usize,
    d: usize,
    surface: bool,
    min_magnitude: f64,
    rng: &mut E,
) -> Array2<f64> {
    let mut normals = rng.standard_normals(n * d).into_iter();
    let mut samples = Array2::from_shape_simple_fn((n, d), || normals.next().unwrap_or(f64::NAN));
    for mut row in samples.rows_mut() {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        row.mapv_inplace(|v| v / norm);
    }
    if surface {
        return samples;
    }
    let low = min_magnitude.powf(d as f64);
    for mut row in samples.rows_mut() {
        let u = low + (1.0 - low) * rng.next_uniform();
        let scale = u.powf(1.0 / d as f64);
        row.mapv_inplace(|v| v * scale);
    }
    samples
}

/// Nengo's `QuasirandomSequence._phi(d)`: the positive root of `x^(d+1) = x + 1`
/// (the generalised golden ratio) by Newton's method.
pub fn quasirandom_phi(d: usize) -> Result<f64, NefError> {
    let p = d as f64;
    let mut x: f64 = 1.0;
    for _ in 0..100 {
        let dx = (x.powf(p + 1.0) - x - 1.0) / ((p + 1.0) * x.powf(p) - 1.0);
        x -= dx;
        if dx.abs() < 1e-10 {
            return Ok(x);
        }
    }
    Err(NefError::Convergence(format!("'phi' computation did not converge for d={d}")))
}

/// The R_d sequence with the given per-dimension `offset` (length `d`), before shuffling:
/// row `i` is `(offset + (i + 1) * alpha) mod 1` with `alpha_j = phi_d^-(j+1)`; for `d = 1`
/// the points tile the interval evenly, `(offset + i / n) mod 1`.
pub fn quasirandom_sequence(n: usize, offset: &[f64]) -> Result<Array2<f64>, NefError> {
    let d = offset.len();
    if d == 0 {
        return Err(NefError::InvalidParameter("dimensions must be a positive integer".into()));
    }
    let mut z = Array2::zeros((n, d));
    if d == 1 {
        let step = 1.0 / n as f64;
        for (i, v) in z.iter_mut().enumerate() {
            *v = (offset[0] + step * i as f64) % 1.0;
        }
    } else {
        let phi_inv = 1.0 / quasirandom_phi(d)?;
        let alpha: Vec<f64> = (1..=d).map(|j| phi_inv.powf(j as f64)).collect();
        for ((i, j), v) in z.indexed_iter_mut() {
            *v = (offset[j] + (i + 1) as f64 * alpha[j]) % 1.0;
        }
    }
    Ok(z)
}

fn sample_quasirandom<E: Entropy + ?Sized>(
    n: usize,
    d: usize,
    rng: &mut E,
) -> Result<Array2<f64>, NefError> {
    let offset = rng.uniforms(d);
    let mut z = quasirandom_sequence(n, &offset)?;
    rng.shuffle_rows(&mut z);
    Ok(z)
}

/// Inverse CDF of the `j`-th spherical coordinate (in units of pi) for `dims` remaining
/// dimensions; `approx` uses Nengo's lookup table.
pub fn spherical_coords_ppf(dims: usize, y: f64, approx: bool) -> f64 {
    if approx {
        let (xp, yp) = BetaincinvTable::get().curve(dims);
        ppf_with(y, |v| interp(v, &xp, &yp))
    } else {
        ppf_with(y, |v| betaincinv(dims as f64 / 2.0, 0.5, v))
    }
}

fn ppf_with(y: f64, inv: impl Fn(f64) -> f64) -> f64 {
    let y_reflect = if y < 0.5 { y } else { 1.0 - y };
    let z_sq = inv(2.0 * y_reflect);
    let x = z_sq.sqrt().asin() / PI;
    if y < 0.5 {
        x
    } else {
        1.0 - x
    }
}

/// Map points of the `[0, 1]^k` cube onto the unit sphere in `k + 1` dimensions with the
/// spherical coordinate transform (Fang & Wang 1994, section 1.5.3), as Nengo does.
pub fn spherical_transform_sct(samples: ArrayView2<'_, f64>, approx: bool) -> Array2<f64> {
    let (n, d) = samples.dim();
    let mut coords = Array2::zeros((n, d));
    for j in 0..d {
        let dims = d - j;
        if approx {
            let (xp, yp) = BetaincinvTable::get().curve(dims);
            for i in 0..n {
                coords[(i, j)] = ppf_with(samples[(i, j)], |v| interp(v, &xp, &yp));
            }
        } else {
            let a = dims as f64 / 2.0;
            for i in 0..n {
                coords[(i, j)] = ppf_with(samples[(i, j)], |v| betaincinv(a, 0.5, v));
            }
        }
    }
    let mut mapped = Array2::ones((n, d + 1));
    for i in 0..n {
        let mut prod = 1.0;
        for j in 0..d {
            let factor = if j + 1 == d { 2.0 * PI } else { PI };
            let arg = factor * coords[(i, j)];
            let (s, c) = arg.sin_cos();
            mapped[(i, j)] *= c;
            prod *= s;
            mapped[(i, j + 1)] = prod;
        }
    }
    mapped
}

/// Map points of the `[0, 1]^k` cube onto the unit sphere surface in `k + 1` dimensions with
/// the Tashiro-Fang-Wang-Wong method (Fang & Wang 1994, section 4.3), as Nengo does.
pub fn spherical_transform_tfww(samples: ArrayView2<'_, f64>) -> Array2<f64> {
    let (n, s1) = samples.dim();
    let s = s1 + 1;
    let mut x = Array2::zeros((n, s));
    if s == 2 {
        for i in 0..n {
            let phi = 2.0 * PI * samples[(i, 0)];
            x[(i, 0)] = phi.cos();
            x[(i, 1)] = phi.sin();
        }
        return x;
    }
    let even = s % 2 == 0;
    let m = if even { s / 2 } else { (s - 1) / 2 };
    for i in 0..n {
        let c = samples.row(i);
        let mut g = vec![0.0; m + 1];
        g[m] = 1.0;
        for j in (1..m).rev() {
            let e = if even { 1.0 / j as f64 } else { 2.0 / (2 * j + 1) as f64 };
            g[j] = g[j + 1] * c[j - 1].powf(e);
        }
        let dd: Vec<f64> = (0..m).map(|k| (g[k + 1] - g[k]).sqrt()).collect();
        let mut phi: Vec<f64> = c.slice(s![m - 1..]).to_vec();
        if even {
            for k in 0..m {
                let p = phi[k] * (2.0 * PI);
                x[(i, 2 * k)] = dd[k] * p.cos();
                x[(i, 2 * k + 1)] = dd[k] * p.sin();
            }
        } else {
            for p in phi.iter_mut().skip(1) {
                *p *= 2.0 * PI;
            }
            let f = 2.0 * dd[0] * (phi[0] * (1.0 - phi[0])).sqrt();
            x[(i, 0)] = dd[0] * (1.0 - 2.0 * phi[0]);
            x[(i, 1)] = f * phi[1].cos();
            x[(i, 2)] = f * phi[1].sin();
            for k in 1..m {
                x[(i, 2 * k + 1)] = dd[k] * phi[k + 1].cos();
                x[(i, 2 * k + 2)] = dd[k] * phi[k + 1].sin();
            }
        }
    }
    x
}

/// A random orthogonal `d x d` matrix: the orthogonal polar factor `U V^T` of a matrix of
/// `d * d` standard-normal draws (row-major), as Nengo's `random_orthogonal`.
pub fn random_orthogonal<E: Entropy + ?Sized>(
    d: usize,
    rng: &mut E,
) -> Result<Array2<f64>, NefError> {
    let normals = rng.standard_normals(d * d);
    orthogonal_polar_factor(&normals, d)
}

/// `U V^T` from the SVD of the row-major `d x d` matrix `values`.
pub fn orthogonal_polar_factor(values: &[f64], d: usize) -> Result<Array2<f64>, NefError> {
    if values.len() != d * d {
        return Err(NefError::Shape(format!(
            "need {} values for a {d}x{d} matrix, got {}",
            d * d,
            values.len()
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(NefError::NonFinite("rotation matrix".into()));
    }
    let m = DMatrix::from_row_slice(d, d, values);
    let svd = SVD::try_new(m, true, true, f64::EPSILON, 10_000)
        .ok_or_else(|| NefError::Convergence("SVD of the random rotation".into()))?;
    let (u, v_t) = match (svd.u, svd.v_t) {
        (Some(u), Some(v_t)) => (u, v_t),
        _ => return Err(NefError::Convergence("SVD of the random rotation".into())),
    };
    let r = u * v_t;
    Ok(Array2::from_shape_fn((d, d), |(i, j)| r[(i, j)]))
}

fn scattered_hypersphere<E: Entropy + ?Sized>(
    n: usize,
    d: usize,
    surface: bool,
    min_magnitude: f64,
    method: SphericalMethod,
    rng: &mut E,
) -> Result<Array2<f64>, NefError> {
    if d == 1 && surface {
        let z = sample_quasirandom(n, 1, rng)?;
        return Ok(z.mapv(|v| sign(v - 0.5)));
    }
    if d == 1 {
        let n_pos = n / 2;
        let mut pos = sample_quasirandom(n_pos, 1, rng)?;
        let mut neg = sample_quasirandom(n - n_pos, 1, rng)?;
        if min_magnitude > 0.0 {
            for a in [&mut pos, &mut neg] {
                a.mapv_inplace(|v| v * (1.0 - min_magnitude));
                a.mapv_inplace(|v| v + min_magnitude);
            }
        }
        neg.mapv_inplace(|v| -v);
        let mut samples = ndarray::concatenate(Axis(0), &[pos.view(), neg.view()])
            .map_err(|e| NefError::Shape(e.to_string()))?;
        rng.shuffle_rows(&mut samples);
        return Ok(samples);
    }

    let (cube, radius) = if surface {
        (sample_quasirandom(n, d - 1, rng)?, None)
    } else {
        let q = sample_quasirandom(n, d, rng)?;
        let mut radius = q.column(d - 1).to_owned();
        if min_magnitude != 0.0 {
            let min_d = min_magnitude.powf(d as f64);
            radius.mapv_inplace(|r| r * (1.0 - min_d));
            radius.mapv_inplace(|r| r + min_d);
        }
        radius.mapv_inplace(|r| r.powf(1.0 / d as f64));
        (q.slice(s![.., ..d - 1]).to_owned(), Some(radius))
    };
    let mut mapped = match method {
        SphericalMethod::SctApprox => spherical_transform_sct(cube.view(), true),
        SphericalMethod::Sct => spherical_transform_sct(cube.view(), false),
        SphericalMethod::Tfww => spherical_transform_tfww(cube.view()),
    };
    if let Some(radius) = radius {
        for (mut row, r) in mapped.rows_mut().into_iter().zip(radius) {
            row.mapv_inplace(|v| v * r);
        }
    }
    let rotation = random_orthogonal(d, rng)?;
    Ok(mapped.dot(&rotation))
}
