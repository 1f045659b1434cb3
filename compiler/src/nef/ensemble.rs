//! Pure NEF build helpers for ensembles and decoded connections: encoder normalisation and
//! scaling, decoder targets, and decoder solving with the connection transform folded in.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::entropy::Entropy;
use super::solvers::{Solver, SolverInfo};
use super::NefError;

/// A connection transform as Nengo applies it to decoders (`Dense`, or `NoTransform`).
#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    /// No transform (Nengo's `NoTransform`: identity).
    Identity,
    /// A scalar gain.
    Scalar(f64),
    /// A diagonal matrix given by its diagonal (a 1-D Dense transform).
    Diagonal(Array1<f64>),
    /// A full `(size_out, size_mid)` matrix.
    Dense(Array2<f64>),
}

/// A decoded function: one eval point (sliced) in, the function's value out.
pub type TargetFn<'a> = &'a dyn Fn(&[f64]) -> Vec<f64>;

/// A decoded function that can fail (e.g. an interpreted `.snn` function), with a message.
pub type TryTargetFn<'a> = &'a mut dyn FnMut(&[f64]) -> Result<Vec<f64>, String>;

/// Decoders and the connection weights built from them.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedWeights {
    /// Solver output, `n_neurons x size_mid` (Nengo stores the transpose).
    pub decoders: Array2<f64>,
    /// `transform @ decoders^T` (`size_out x n_neurons`), or with post encoders given,
    /// `post_encoders @ transform @ decoders^T` (`n_post_neurons x n_neurons`).
    pub weights: Array2<f64>,
    /// Solver diagnostics.
    pub info: SolverInfo,
}

/// Scale each encoder row to unit length (Nengo's `normalize_encoders=True`); a zero row is
/// an error, as Nengo's NaN check.
pub fn normalize_encoders(encoders: ArrayView2<'_, f64>) -> Result<Array2<f64>, NefError> {
    let mut out = encoders.to_owned();
    for (i, mut row) in out.rows_mut().into_iter().enumerate() {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return Err(NefError::ZeroEncoder(i));
        }
        if !norm.is_finite() {
            return Err(NefError::NonFinite(format!("encoder {i}")));
        }
        row.mapv_inplace(|v| v / norm);
    }
    Ok(out)
}

/// `encoders * (gain / radius)[:, None]`: what multiplies the decoded input of an ensemble.
pub fn scaled_encoders(
    encoders: ArrayView2<'_, f64>,
    gain: ArrayView1<'_, f64>,
    radius: f64,
) -> Result<Array2<f64>, NefError> {
    if gain.len() != encoders.nrows() {
        return Err(NefError::Shape(format!(
            "{} gains for {} encoders",
            gain.len(),
            encoders.nrows()
        )));
    }
    check_radius(radius)?;
    let mut out = encoders.to_owned();
    for (mut row, g) in out.rows_mut().into_iter().zip(gain) {
        let s = g / radius;
        row.mapv_inplace(|v| v * s);
    }
    Ok(out)
}

fn check_radius(radius: f64) -> Result<(), NefError> {
    if radius.is_finite() && radius > 0.0 {
        Ok(())
    } else {
        Err(NefError::InvalidParameter(format!(
            "radius must be positive and finite (got {radius})"
        )))
    }
}

/// `eval_points @ (encoders^T / radius)`: the per-neuron input `x` at each eval point, which
/// the neuron model's `rates(x, gain, bias)` turns into the activity matrix.
pub fn encoder_inputs(
    eval_points: ArrayView2<'_, f64>,
    encoders: ArrayView2<'_, f64>,
    radius: f64,
) -> Result<Array2<f64>, NefError> {
    if eval_points.ncols() != encoders.ncols() {
        return Err(NefError::Shape(format!(
            "eval points have {} dimensions but encoders have {}",
            eval_points.ncols(),
            encoders.ncols()
        )));
    }
    check_radius(radius)?;
    let enc_t = encoders.t().mapv(|v| v / radius);
    Ok(eval_points.dot(&enc_t))
}

fn sliced_rows(
    eval_points: ArrayView2<'_, f64>,
    pre_slice: Option<&[usize]>,
) -> Result<Array2<f64>, NefError> {
    match pre_slice {
        None => Ok(eval_points.to_owned()),
        Some(idx) => {
            if let Some(&bad) = idx.iter().find(|&&i| i >= eval_points.ncols()) {
                return Err(NefError::Shape(format!(
                    "pre slice index {bad} out of range for {} dimensions",
                    eval_points.ncols()
                )));
            }
            Ok(eval_points.select(Axis(1), idx))
        }
    }
}

/// Decoder targets: `function(eval_points[i, pre_slice])` row by row, or the sliced eval
/// points themselves when there is no function (Nengo's `get_targets`).
pub fn decoder_targets(
    eval_points: ArrayView2<'_, f64>,
    pre_slice: Option<&[usize]>,
    function: Option<TargetFn<'_>>,
) -> Result<Array2<f64>, NefError> {
    match function {
        None => sliced_rows(eval_points, pre_slice),
        Some(f) => try_decoder_targets(eval_points, pre_slice, &mut |x| Ok(f(x))),
    }
}

/// [`decoder_targets`] for a function that can fail (e.g. an interpreted `.snn` function);
/// every output must have the same, non-zero length.
pub fn try_decoder_targets(
    eval_points: ArrayView2<'_, f64>,
    pre_slice: Option<&[usize]>,
    function: TryTargetFn<'_>,
) -> Result<Array2<f64>, NefError> {
    let inputs = sliced_rows(eval_points, pre_slice)?;
    let mut out: Option<Array2<f64>> = None;
    for (i, row) in inputs.rows().into_iter().enumerate() {
        let x = row.to_vec();
        let y = function(&x).map_err(NefError::Function)?;
        let targets = match &mut out {
            Some(t) => t,
            None => {
                if y.is_empty() {
                    return Err(NefError::Function("function returned no values".into()));
                }
                out.insert(Array2::zeros((inputs.nrows(), y.len())))
            }
        };
        if y.len() != targets.ncols() {
            return Err(NefError::Function(format!(
                "function returned {} values at eval point {i} but {} at eval point 0",
                y.len(),
                targets.ncols()
            )));
        }
        if let Some(bad) = y.iter().position(|v| !v.is_finite()) {
            return Err(NefError::Function(format!(
                "function returned a non-finite value (output {bad}) at eval point {i}"
            )));
        }
        targets.row_mut(i).assign(&ArrayView1::from(&y));
    }
    out.ok_or_else(|| NefError::Shape("no eval points".into()))
}

/// Solve decoders for a decoded connection and fold in the transform:
/// `weights = transform @ decoders^T`, then `post_encoders @ weights` when the solver solves
/// for weights (`post_encoders` = the post ensemble's scaled encoders, columns restricted to
/// the post slice). An all-zero activity matrix is Nengo's "activities matrix is all zero".
pub fn solve_decoders<E: Entropy + ?Sized>(
    activities: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    solver: &Solver,
    transform: &Transform,
    post_encoders: Option<ArrayView2<'_, f64>>,
    rng: &mut E,
) -> Result<DecodedWeights, NefError> {
    if activities.iter().all(|&v| v == 0.0) {
        return Err(NefError::AllZeroActivities);
    }
    let (decoders, info) = solver.solve(activities, targets, rng)?;
    let weights = fold_decoders(decoders.view(), transform, post_encoders)?;
    Ok(DecodedWeights { decoders, weights, info })
}

/// The weights of a decoded connection from its decoders (`n_neurons x size_mid`, solved or
/// given as Nengo's `NoSolver` gives them): `transform @ decoders^T`, then
/// `post_encoders @ weights` when solving for weights.
pub fn fold_decoders(
    decoders: ArrayView2<'_, f64>,
    transform: &Transform,
    post_encoders: Option<ArrayView2<'_, f64>>,
) -> Result<Array2<f64>, NefError> {
    let dec_t = decoders.t();
    let d = dec_t.nrows();
    let mut weights = match transform {
        Transform::Identity => dec_t.to_owned(),
        Transform::Scalar(s) => dec_t.mapv(|v| s * v),
        Transform::Diagonal(diag) => {
            if diag.len() != d {
                return Err(NefError::Shape(format!(
                    "diagonal transform of size {} for a function of size {d}",
                    diag.len()
                )));
            }
            let mut w = dec_t.to_owned();
            for (mut row, g) in w.rows_mut().into_iter().zip(diag) {
                row.mapv_inplace(|v| g * v);
            }
            w
        }
        Transform::Dense(t) => {
            if t.ncols() != d {
                return Err(NefError::Shape(format!(
                    "transform has {} columns but the function has size {d}",
                    t.ncols()
                )));
            }
            t.dot(&dec_t)
        }
    };
    if let Some(enc) = post_encoders {
        if enc.ncols() != weights.nrows() {
            return Err(NefError::Shape(format!(
                "post encoders have {} columns but the transform outputs {}",
                enc.ncols(),
                weights.nrows()
            )));
        }
        weights = enc.dot(&weights);
    }
    Ok(weights)
}
