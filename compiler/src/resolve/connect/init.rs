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
        let Value::Ctor(c) = v else { return None };
        let (dist, truncated) = if INITIALISERS.contains(&c.name.as_str()) {
            self.initialiser(&c, size_in, size_out)?
        } else {
            let spec =
                self.dist_from(Value::Ctor(c), span, "transform", &[size_out, size_in], Unit::One)?;
            (crate::build::dist(&spec, Dist::uniform(-1.0, 1.0)), None)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let fail = |e: String| {
            Diagnostic::error(
                codes::BUILD,
                format!("cannot draw this transform: {e}"),
                span,
                "here",
            )
        };
        let mut m: Array2<f64> = match dist.sample(size_out * size_in, None, &mut rng) {
            Ok(s) => s,
            Err(e) => {
                self.diags.push(fail(e.to_string()));
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
                    if let Some(slot) = m.as_slice_mut().and_then(|s| s.get_mut(i)) {
                        *slot = *v;
                    }
                }
            }
        }
        let m = m.into_shape_with_order((size_out, size_in)).ok()?;
        Some(Transform::Dense(m))
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
