//! Evaluation points for decoder solving: Nengo's default count and per-ensemble generation.

use ndarray::Array2;

use super::dists::Dist;
use super::entropy::Entropy;
use super::NefError;

/// Nengo's heuristic number of eval points: `max(clip(500 * dims, 750, 2500), 2 * n_neurons)`.
pub fn default_n_eval_points(n_neurons: usize, dims: usize) -> usize {
    dims.saturating_mul(500).clamp(750, 2500).max(n_neurons.saturating_mul(2))
}

/// Eval points for an ensemble (Nengo's `gen_eval_points`): sample `dist` (`n_eval_points`
/// of them, or the default count) in `dims` dimensions, then multiply by `radius` when
/// `scale` is set. Explicit [`Dist::Samples`] are used as given, whatever `n_eval_points`.
pub fn gen_eval_points<E: Entropy + ?Sized>(
    dist: &Dist,
    n_eval_points: Option<usize>,
    n_neurons: usize,
    dims: usize,
    radius: f64,
    scale: bool,
    rng: &mut E,
) -> Result<Array2<f64>, NefError> {
    if !radius.is_finite() || radius <= 0.0 {
        return Err(NefError::InvalidParameter(format!(
            "radius must be positive and finite (got {radius})"
        )));
    }
    let mut points = match dist {
        Dist::Samples(a) => {
            if a.ncols() != dims {
                return Err(NefError::Shape(format!(
                    "eval points have {} columns but the ensemble has {dims} dimensions",
                    a.ncols()
                )));
            }
            dist.validate()?;
            a.clone()
        }
        _ => {
            let n = n_eval_points.unwrap_or_else(|| default_n_eval_points(n_neurons, dims));
            dist.sample(n, Some(dims), rng)?
        }
    };
    if scale {
        points.mapv_inplace(|v| v * radius);
    }
    Ok(points)
}
