//! Decoder solvers as in `nengo.solvers`: L2-regularised least squares by Cholesky (the
//! default `LstsqL2`), its non-zero variant, plain SVD least squares and the noise solvers.

use nalgebra::{linalg::SVD, Cholesky, DMatrix};
use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::entropy::Entropy;
use super::NefError;

/// A decoder (or, with `weights`, weight-matrix) solver. `Solver::default()` is Nengo's
/// default `LstsqL2(weights=False, reg=0.1)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Solver {
    /// Least squares with L2 regularisation `sigma = reg * max(A)` (ridge `m * sigma^2`).
    LstsqL2 {
        /// Regularisation as a fraction of the largest activity.
        reg: f64,
        /// Solve for a full neuron-to-neuron weight matrix.
        weights: bool,
    },
    /// L2 regularisation scaled per neuron by the square root of its fraction of non-zero
    /// activities.
    LstsqL2nz {
        /// Regularisation as a fraction of the largest activity.
        reg: f64,
        /// Solve for a full neuron-to-neuron weight matrix.
        weights: bool,
    },
    /// Unregularised least squares (SVD, singular values `<= rcond * max` dropped).
    Lstsq {
        /// Cut-off ratio for small singular values.
        rcond: f64,
        /// Solve for a full neuron-to-neuron weight matrix.
        weights: bool,
    },
    /// Least squares on activities with additive Gaussian noise `noise * max|A|`.
    LstsqNoise {
        /// Noise amplitude as a fraction of the largest activity.
        noise: f64,
        /// Solve for a full neuron-to-neuron weight matrix.
        weights: bool,
    },
    /// Least squares on activities with multiplicative Gaussian noise.
    LstsqMultNoise {
        /// Relative noise amplitude.
        noise: f64,
        /// Solve for a full neuron-to-neuron weight matrix.
        weights: bool,
    },
}

impl Default for Solver {
    fn default() -> Self {
        Solver::LstsqL2 { reg: 0.1, weights: false }
    }
}

/// What a solve reports besides the decoders (Nengo's `info` dict).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SolverInfo {
    /// Root-mean-square error of `A X` against `Y`, one per target column.
    pub rmses: Array1<f64>,
    /// Numerical rank of `A` (SVD solver only).
    pub rank: Option<usize>,
    /// Singular values of `A`, largest first (SVD solver only).
    pub singular_values: Option<Array1<f64>>,
}

/// The regularisation of a Cholesky solve: one sigma, or one per neuron.
#[derive(Debug, Clone, PartialEq)]
pub enum Sigma {
    /// The same sigma for every neuron.
    Scalar(f64),
    /// One sigma per neuron (column of `A`).
    PerNeuron(Array1<f64>),
}

impl Solver {
    /// Whether this solver asks for a full weight matrix (folding in post encoders).
    pub fn weights(&self) -> bool {
        match self {
            Solver::LstsqL2 { weights, .. }
            | Solver::LstsqL2nz { weights, .. }
            | Solver::Lstsq { weights, .. }
            | Solver::LstsqNoise { weights, .. }
            | Solver::LstsqMultNoise { weights, .. } => *weights,
        }
    }

    /// Solve `A X ~= Y` for `X` (`n_neurons x d`) given activities `a`
    /// (`n_eval_points x n_neurons`) and targets `y` (`n_eval_points x d`).
    /// Only the noise solvers draw from `rng`.
    pub fn solve<E: Entropy + ?Sized>(
        &self,
        a: ArrayView2<'_, f64>,
        y: ArrayView2<'_, f64>,
        rng: &mut E,
    ) -> Result<(Array2<f64>, SolverInfo), NefError> {
        check_system(a, y)?;
        let param = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(NefError::InvalidParameter(format!(
                    "solver `{name}` must be finite and non-negative (got {v})"
                )))
            }
        };
        match self {
            Solver::LstsqL2 { reg, .. } => {
                let reg = param("reg", *reg)?;
                let amax = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                cholesky_lstsq(a, y, &Sigma::Scalar(reg * amax), None)
            }
            Solver::LstsqL2nz { reg, .. } => {
                let reg = param("reg", *reg)?;
                let amax = a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                let m = a.nrows() as f64;
                let mut sigma: Array1<f64> = a
                    .axis_iter(Axis(1))
                    .map(|col| {
                        let frac = col.iter().filter(|v| v.abs() > 0.0).count() as f64 / m;
                        (reg * amax) * frac.sqrt()
                    })
                    .collect();
                let smax = sigma.iter().copied().fold(0.0_f64, f64::max);
                sigma.mapv_inplace(|s| if s == 0.0 { smax } else { s });
                cholesky_lstsq(a, y, &Sigma::PerNeuron(sigma), None)
            }
            Solver::Lstsq { rcond, .. } => svd_lstsq(a, y, param("rcond", *rcond)?),
            Solver::LstsqNoise { noise, .. } => {
                let noise = param("noise", *noise)?;
                let sigma = noise * a.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                let mut noisy = a.to_owned();
                noisy.iter_mut().for_each(|v| *v += sigma * rng.next_standard_normal());
                cholesky_lstsq(noisy.view(), y, &Sigma::Scalar(0.0), None)
            }
            Solver::LstsqMultNoise { noise, .. } => {
                let noise = param("noise", *noise)?;
                let mut noisy = a.to_owned();
                noisy.iter_mut().for_each(|v| *v += noise * rng.next_standard_normal() * *v);
                cholesky_lstsq(noisy.view(), y, &Sigma::Scalar(0.0), None)
            }
        }
    }
}

fn check_system(a: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> Result<(), NefError> {
    if a.nrows() != y.nrows() {
        return Err(NefError::Shape(format!(
            "activities have {} eval points but targets have {}",
            a.nrows(),
            y.nrows()
        )));
    }
    if a.nrows() == 0 || a.ncols() == 0 {
        return Err(NefError::Shape(format!(
            "empty activities matrix ({} x {})",
            a.nrows(),
            a.ncols()
        )));
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(NefError::NonFinite("activities".into()));
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(NefError::NonFinite("targets".into()));
    }
    Ok(())
}

fn to_dmatrix(a: &Array2<f64>) -> DMatrix<f64> {
    DMatrix::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)])
}

fn from_dmatrix(m: &DMatrix<f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Nengo's `Cholesky` least-squares solver. With a scalar sigma and fewer eval points `m`
/// than neurons `n` (unless `transpose` says otherwise) it solves the dual system
/// `(A A^T + m sigma^2 I) Xb = Y`, `X = A^T Xb`; otherwise `(A^T A + m sigma^2 I) X = A^T Y`.
pub fn cholesky_lstsq(
    a: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    sigma: &Sigma,
    transpose: Option<bool>,
) -> Result<(Array2<f64>, SolverInfo), NefError> {
    check_system(a, y)?;
    let (m, n) = a.dim();
    let transpose = transpose.unwrap_or(m < n && matches!(sigma, Sigma::Scalar(_)));
    let (mut g, b) =
        if transpose { (a.dot(&a.t()), y.to_owned()) } else { (a.t().dot(&a), a.t().dot(&y)) };
    let mf = m as f64;
    match sigma {
        Sigma::Scalar(s) => {
            let ridge = mf * (s * s);
            g.diag_mut().mapv_inplace(|v| v + ridge);
        }
        Sigma::PerNeuron(s) => {
            if transpose || s.len() != n {
                return Err(NefError::Shape(format!(
                    "per-neuron sigma needs the primal system and {n} values (got {})",
                    s.len()
                )));
            }
            for (v, si) in g.diag_mut().iter_mut().zip(s) {
                *v += mf * (si * si);
            }
        }
    }
    let chol = Cholesky::new(to_dmatrix(&g)).ok_or(NefError::NotPositiveDefinite)?;
    let xb = from_dmatrix(&chol.solve(&to_dmatrix(&b)));
    if xb.iter().any(|v| !v.is_finite()) {
        return Err(NefError::NotPositiveDefinite);
    }
    let x = if transpose { a.t().dot(&xb) } else { xb };
    let info = SolverInfo { rmses: rmses(a, x.view(), y), ..SolverInfo::default() };
    Ok((x, info))
}

/// Minimum-norm least squares via SVD, dropping singular values `<= rcond * max`
/// (`numpy.linalg.lstsq` as Nengo's `Lstsq` calls it).
pub fn svd_lstsq(
    a: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    rcond: f64,
) -> Result<(Array2<f64>, SolverInfo), NefError> {
    check_system(a, y)?;
    let owned = a.to_owned();
    let svd = SVD::try_new(to_dmatrix(&owned), true, true, f64::EPSILON, 100_000)
        .ok_or_else(|| NefError::Convergence("SVD of the activities matrix".into()))?;
    let (u, v_t) = match (&svd.u, &svd.v_t) {
        (Some(u), Some(v_t)) => (u, v_t),
        _ => return Err(NefError::Convergence("SVD of the activities matrix".into())),
    };
    let s = &svd.singular_values;
    let smax = s.iter().copied().fold(0.0_f64, f64::max);
    let cutoff = rcond * smax;
    let ut_y = u.transpose() * to_dmatrix(&y.to_owned());
    let mut scaled = ut_y;
    let mut rank = 0;
    for (k, &sk) in s.iter().enumerate() {
        let factor = if sk > cutoff {
            rank += 1;
            1.0 / sk
        } else {
            0.0
        };
        scaled.row_mut(k).scale_mut(factor);
    }
    let x = from_dmatrix(&(v_t.transpose() * scaled));
    let mut sv: Vec<f64> = s.iter().copied().collect();
    sv.sort_by(|p, q| q.total_cmp(p));
    let info = SolverInfo {
        rmses: rmses(a, x.view(), y),
        rank: Some(rank),
        singular_values: Some(Array1::from(sv)),
    };
    Ok((x, info))
}

/// Root-mean-square error of `A X` against `Y`, per column (Nengo's `rmses`).
pub fn rmses(
    a: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
) -> Array1<f64> {
    let err = &y - &a.dot(&x);
    let m = err.nrows().max(1) as f64;
    err.axis_iter(Axis(1)).map(|c| (c.iter().map(|v| v * v).sum::<f64>() / m).sqrt()).collect()
}
