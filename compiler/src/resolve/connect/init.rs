//! Transforms drawn from a distribution, their shape `(size_out, size_in)` taken from the two
//! ends, as Nengo allows (`transform=nengo.dists.Uniform(-1, 1)`), and NengoDL's variance-scaling
//! initialisers (`nengo_dl.dists.Glorot`, `He`): `glorot_uniform()`, `glorot_normal()`,
//! `he_uniform()`, `he_normal()` (each with `scale = 1`). Drawn from the connection's seed.

use crate::model::Transform;
use crate::nef::Dist;
use crate::resolve::decl::Args;
use crate::resolve::Elab;
use crate::value::{Ctor, Unit, Value};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_syntax::{codes, Diagnostic, Span};

/// The most values a transform or kernel the compiler fills itself (drawn, or a generated
/// kernel) may hold: 2^28 (2 GiB of `f64`); beyond it a located error, not an allocation failure.
const MAX_FILLED: usize = 1 << 28;

/// The variance-scaling initialisers.
pub(crate) const INITIALISERS: &[&str] =
    &["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"];

impl Elab<'_> {
    /// A dense transform `(size_out, size_in)` drawn from `v` (a distribution or an
    /// initialiser), seeded with `seed`.
    pub(super) fn drawn_transform(
        &mut self,
        v: Value,
        span: Span,
        size_in: usize,
        size_out: usize,
        seed: u64,
    ) -> Option<Transform> {
        let n = self.filled_len(&[size_out, size_in], span)?;
        let values = self.drawn(v, span, n, size_in, size_out, seed)?;
        let m = Array2::from_shape_vec((size_out, size_in), values).ok()?;
        Some(Transform::Dense(m))
    }

    /// The number of values of an array of `dims` the compiler fills itself, or a located
    /// error (E0801) above [`MAX_FILLED`].
    pub(super) fn filled_len(&mut self, dims: &[usize], span: Span) -> Option<usize> {
        let n = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        match n {
            Some(n) if n <= MAX_FILLED => Some(n),
            _ => {
                let shown: Vec<String> = dims.iter().map(usize::to_string).collect();
                self.diags.push(
                    Diagnostic::error(
                        codes::LIMIT,
                        format!(
                            "this would fill [{}] values; the limit is {MAX_FILLED} values (2 GiB)",
                            shown.join(", ")
                        ),
                        span,
                        "too large to fill",
                    )
                    .with_help("give the values from a weights file (`w[\"…\"]`), or make the ends smaller"),
                );
                None
            }
        }
    }

    /// `n` values drawn from `v` (a distribution or an initialiser whose fans are `fan_in` and
    /// `fan_out`), seeded with `seed`.
    pub(super) fn drawn(
        &mut self,
        v: Value,
        span: Span,
        n: usize,
        fan_in: usize,
        fan_out: usize,
        seed: u64,
    ) -> Option<Vec<f64>> {
        let Value::Ctor(c) = v else { return None };
        let (dist, truncated) = if INITIALISERS.contains(&c.name.as_str()) {
            self.initialiser(&c, fan_in, fan_out)?
        } else {
            let spec = self.dist_from(Value::Ctor(c), span, "transform", &[n], Unit::One)?;
            (crate::build::dist(&spec, Dist::uniform(-1.0, 1.0)), None)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut m: Vec<f64> = match dist.sample(n, None, &mut rng) {
            Ok(s) => s.iter().copied().collect(),
            Err(e) => {
                self.diags.push(Diagnostic::error(
                    codes::BUILD,
                    format!("cannot draw these values: {e}"),
                    span,
                    "here",
                ));
                return None;
            }
        };
        // A truncated normal redraws the values beyond two standard deviations.
        if let Some(limit) = truncated {
            for _ in 0..1000 {
                let bad: Vec<usize> =
                    m.iter().enumerate().filter(|(_, v)| v.abs() > limit).map(|(i, _)| i).collect();
                if bad.is_empty() {
                    break;
                }
                let redraw = dist.sample(bad.len(), None, &mut rng).ok()?;
                for (i, v) in bad.into_iter().zip(redraw.iter()) {
                    m[i] = *v;
                }
            }
        }
        Some(m)
    }

    /// Whether `v` is drawn: a distribution or an initialiser call.
    pub(super) fn is_drawn(v: &Value) -> bool {
        matches!(v, Value::Ctor(c) if ["uniform", "gaussian"].contains(&c.name.as_str())
            || INITIALISERS.contains(&c.name.as_str()))
    }

    /// NengoDL's `VarianceScaling` for an initialiser call: the distribution and, for normal
    /// ones, the truncation limit (two standard deviations).
    fn initialiser(
        &mut self,
        c: &Ctor,
        size_in: usize,
        size_out: usize,
    ) -> Option<(Dist, Option<f64>)> {
        let mut args = Args::new(self, c, &["scale"])?;
        let scale = args.opt_num(self, "scale", Unit::One).unwrap_or(1.0);
        args.finish(self);
        if !(scale > 0.0 && scale.is_finite()) {
            self.diags.push(Diagnostic::error(
                codes::OUT_OF_RANGE,
                format!("`{}` needs a positive scale, found {scale}", c.name),
                c.span,
                "scale",
            ));
            return None;
        }
        let (fan_in, fan_out) = (size_in as f64, size_out as f64);
        let (scale, n) = match c.name.as_str() {
            "glorot_uniform" | "glorot_normal" => (scale, (fan_in + fan_out) / 2.0),
            _ => (2.0 * scale * scale, fan_in),
        };
        let n = n.max(1.0);
        Some(if c.name.ends_with("uniform") {
            let limit = (3.0 * scale / n).sqrt();
            (Dist::uniform(-limit, limit), None)
        } else {
            let std = (scale / n).sqrt();
            (Dist::gaussian(0.0, std), Some(2.0 * std))
        })
    }
}
