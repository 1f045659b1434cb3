//! The memory a checked model needs to be built and run (per batch element), estimated from
//! the model alone, so that a model too large for the machine is a located error at check time
//! rather than an allocation failure later (`snnc check`, `run`, `build`, `ir`, `bench`).
//!
//! Counted, in 8-byte values: every object's signals (its input and output, and per neuron its
//! current, output, gain, bias and up to four state variables); for an ensemble, its encoders,
//! its eval points and, when something is decoded from it, the activity matrix (eval points x
//! neurons) and the solver's Gram matrix (neurons x neurons), for a decoded connection or probe;
//! each connection's weights
//! (decoders, dense and sparse transforms); and the `dims × dims` random rotation Nengo's
//! `ScatteredHypersphere` (the default encoders and eval points) samples and decomposes, for an
//! ensemble and for a connection's own eval points. Probes are counted by the command that knows the
//! number of steps. Sizes multiply in `u128`, so no declared size can overflow the count.

use crate::model::{Model, ObjectKind, ProbeAttr, Transform};
use crate::spec::DistSpec;
use snn_syntax::{codes, Diagnostic, Span};

/// One part of the estimate: what, where, how many bytes.
#[derive(Clone, Debug)]
pub struct Cost {
    /// The statement it comes from.
    pub span: Span,
    /// What needs the memory (`ensemble `a`: activity matrix`).
    pub what: String,
    /// Bytes.
    pub bytes: u128,
}

/// Bytes per stored value (the build and the reference backend use `f64`).
const VALUE: u128 = 8;

/// Values per neuron besides its state: input current, output, gain, bias; plus four states.
const PER_NEURON: u128 = 8;

/// The memory `model` needs, part by part.
pub fn estimate(model: &Model) -> Vec<Cost> {
    let mut costs = Vec::new();
    let decoded_from: Vec<bool> = {
        let mut v = vec![false; model.objects.len()];
        for c in &model.connections {
            if c.is_decoded(model) {
                if let Some(slot) = v.get_mut(c.pre.obj.0 as usize) {
                    *slot = true;
                }
            }
        }
        // a probe of an ensemble's value is decoded too
        for p in &model.probes {
            let ensemble = matches!(model.object(p.target.obj).kind, ObjectKind::Ensemble(_));
            if ensemble && p.target.port == crate::model::Port::Value && p.attr == ProbeAttr::Output
            {
                if let Some(slot) = v.get_mut(p.target.obj.0 as usize) {
                    *slot = true;
                }
            }
        }
        v
    };
    for (i, o) in model.objects.iter().enumerate() {
        let size_out: u128 = o.shape.iter().map(|&d| d as u128).product();
        let mut values = size_out + o.size_in as u128;
        if let Some(n) = o.n_neurons() {
            values = values.saturating_add((n as u128).saturating_mul(PER_NEURON));
        }
        costs.push(Cost {
            span: o.span,
            what: format!("{} `{}`: signals", o.kind.describe(), o.name),
            bytes: values.saturating_mul(VALUE),
        });
        if let ObjectKind::Ensemble(e) = &o.kind {
            let n = e.n_neurons as u128;
            let d = e.dims as u128;
            let n_eval = e
                .n_eval_points
                .unwrap_or_else(|| crate::nef::default_n_eval_points(e.n_neurons, e.dims))
                as u128;
            let mut v = n.saturating_mul(d).saturating_add(n_eval.saturating_mul(d));
            if decoded_from[i] {
                v = v.saturating_add(n_eval.saturating_mul(n)).saturating_add(n.saturating_mul(n));
            }
            costs.push(Cost {
                span: o.span,
                what: format!("ensemble `{}`: encoders, eval points and decoder solving", o.name),
                bytes: v.saturating_mul(VALUE),
            });
            let rotated: Vec<&str> = [("encoders", &e.encoders), ("eval points", &e.eval_points)]
                .into_iter()
                .filter(|(_, spec)| scattered(spec))
                .map(|(what, _)| what)
                .collect();
            if !rotated.is_empty() && e.dims > 1 {
                costs.push(Cost {
                    span: o.span,
                    what: format!(
                        "ensemble `{}`: the {}×{} random rotation of its {} (scattered_hypersphere)",
                        o.name,
                        e.dims,
                        e.dims,
                        rotated.join(" and ")
                    ),
                    bytes: rotation_bytes(e.dims),
                });
            }
        }
    }
    for c in &model.connections {
        let pre = model.object(c.pre.obj);
        let post_size = c.post.size as u128;
        let values: u128 = match &c.transform {
            Transform::Dense(m) => m.len() as u128,
            Transform::Sparse { values, .. } => values.len() as u128 * 3,
            Transform::Elementwise(v) => v.len() as u128,
            _ => 0,
        };
        let decoders = match &pre.kind {
            ObjectKind::Ensemble(e) if c.is_decoded(model) => {
                (e.n_neurons as u128).saturating_mul(post_size.max(1))
            }
            _ => 0,
        };
        costs.push(Cost {
            span: c.span,
            what: format!("connection from `{}`: weights", pre.name),
            bytes: values.saturating_add(decoders).saturating_mul(VALUE),
        });
        // a connection's own eval points are sampled (and rotated) when it is built
        if let (ObjectKind::Ensemble(e), Some(spec)) = (&pre.kind, &c.eval_points) {
            if scattered(spec) && e.dims > 1 && c.is_decoded(model) {
                costs.push(Cost {
                    span: c.span,
                    what: format!(
                        "connection from `{}`: the {}×{} random rotation of its eval points \
                         (scattered_hypersphere)",
                        pre.name, e.dims, e.dims
                    ),
                    bytes: rotation_bytes(e.dims),
                });
            }
        }
    }
    costs
}

/// Whether `spec` samples Nengo's `ScatteredHypersphere` (the default encoders and eval points
/// do), which rotates its points by a random `dims × dims` orthogonal matrix.
fn scattered(spec: &DistSpec) -> bool {
    matches!(spec, DistSpec::Default | DistSpec::ScatteredHypersphere { .. })
}

/// `dims × dims` matrices alive while the random rotation is made (`nef::dists::random_orthogonal`):
/// the normal draws, the matrix, the SVD's copy, U and Vᵀ, their product and the result.
const ROTATION_MATRICES: u128 = 7;

/// Bytes of the random rotation for `dims` dimensions (none for one: it is not rotated).
fn rotation_bytes(dims: usize) -> u128 {
    let d = dims as u128;
    d.saturating_mul(d).saturating_mul(ROTATION_MATRICES).saturating_mul(VALUE)
}

/// An error at the largest part of the estimate when the whole is above `limit` bytes.
pub fn check(model: &Model, limit: u64) -> Option<Diagnostic> {
    let costs = estimate(model);
    let total: u128 = costs.iter().fold(0u128, |a, c| a.saturating_add(c.bytes));
    if total <= limit as u128 {
        return None;
    }
    let big = costs.iter().max_by_key(|c| c.bytes)?;
    Some(
        Diagnostic::error(
            codes::LIMIT,
            format!(
                "the model needs about {} of memory, more than the {} allowed",
                human_bytes(total),
                human_bytes(limit as u128)
            ),
            big.span,
            format!("{}: {}", big.what, human_bytes(big.bytes)),
        )
        .with_help(
            "make it smaller, or raise the limit with --max-memory (the default is the \
             machine's memory)",
        ),
    )
}

/// The processes of `model`'s nodes at time step `dt`: a located error for each one the
/// runtime would refuse (a white signal's `high` above the Nyquist frequency, a negative noise
/// `std`, no inputs to present), and for one whose state (a white signal's sampled period)
/// alone is more than `limit` bytes.
pub fn check_processes(model: &Model, dt: f64, limit: Option<u64>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for o in &model.objects {
        let ObjectKind::Node(crate::model::NodeKind::Process(spec)) = &o.kind else { continue };
        let n: usize = o.shape.iter().product();
        match spec.validate(n, dt) {
            Err(e) => out.push(Diagnostic::error(
                codes::OUT_OF_RANGE,
                format!("node `{}`: {e}", o.name),
                o.span,
                "this process",
            )),
            Ok(bytes) => {
                if let Some(l) = limit.filter(|&l| bytes > u128::from(l)) {
                    out.push(
                        Diagnostic::error(
                            codes::LIMIT,
                            format!(
                                "node `{}` needs {} for its process, more than the {} allowed",
                                o.name,
                                human_bytes(bytes),
                                human_bytes(u128::from(l))
                            ),
                            o.span,
                            "its whole period is sampled at the time step",
                        )
                        .with_help("a shorter period, or a larger dt, samples fewer values"),
                    );
                }
            }
        }
    }
    out
}

/// A byte count for messages: `1.5 GiB`.
pub fn human_bytes(b: u128) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut x = b as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{x:.1} {}", units[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_reads() {
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(u128::MAX), format!("{:.1} YiB", u128::MAX as f64 / 2f64.powi(80)));
    }
}
