//! The NEF build: gains, biases, encoders and eval points per ensemble, and decoders per decoded
//! connection and probe. Random quantities come from a ChaCha8 stream seeded per object.

use crate::lower::neuron_type;
use crate::model::{Model, ObjectKind, Port, ProbeAttr, Transform};
use crate::nef::{self, Dist};
use crate::spec::{DistSpec, SolverSpec};
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use snn_syntax::{codes, Diagnostic, Span};

/// How the build stage makes a target's parameters, when the target builds ensembles and
/// decoders differently from Nengo (the `loihi` target supplies
/// `snn_loihi::BUILD_OPTIONS`, nengo-loihi 1.1's). The default is Nengo's build.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BuildOptions {
    /// Intercepts above this limit are lowered to it (nengo-loihi's `intercept_limit`: a
    /// uniform distribution reaching above it is cut to it before sampling, any other sample
    /// above it clipped); ensembles given gains and biases are unchanged.
    pub intercept_limit: Option<f64>,
    /// Solve decoders from the rate curves of neurons whose spike intervals are whole steps
    /// (nengo-loihi's `loihi_rates`) instead of Nengo's rates.
    pub loihi_rates: bool,
}

/// Built parameters of one ensemble.
#[derive(Clone, Debug)]
pub struct BuiltEnsemble {
    /// Gain per neuron.
    pub gain: Vec<f64>,
    /// Bias per neuron.
    pub bias: Vec<f64>,
    /// Unit-length encoders, `n × dims`.
    pub encoders: Array2<f64>,
    /// `encoders * gain / radius`, `n × dims`.
    pub scaled_encoders: Array2<f64>,
    /// Eval points, `m × dims` (already scaled by the radius).
    pub eval_points: Array2<f64>,
}

/// Everything the build stage computes, indexed like the model.
#[derive(Clone, Debug, Default)]
pub struct Built {
    /// Per object: built ensemble parameters (`None` for other objects).
    pub ensembles: Vec<Option<BuiltEnsemble>>,
    /// Per connection: `(post size × n_neurons)` decoded weights for decoded connections.
    pub connections: Vec<Option<Array2<f64>>>,
    /// Per probe: decoded weights for probes of an ensemble's value.
    pub probes: Vec<Option<Array2<f64>>>,
}

/// The NEF distribution of a parameter given as `spec` (`default` for [`DistSpec::Default`]).
pub(crate) fn dist(spec: &DistSpec, default: Dist) -> Dist {
    match spec {
        DistSpec::Default => default,
        DistSpec::Uniform { low, high, integer } => {
            Dist::Uniform { low: *low, high: *high, integer: *integer }
        }
        DistSpec::Gaussian { mean, std } => Dist::Gaussian { mean: *mean, std: *std },
        DistSpec::Choice(rows) => {
            let cols = rows.first().map(Vec::len).unwrap_or(1);
            let flat: Vec<f64> = rows.iter().flatten().copied().collect();
            let options = Array2::from_shape_vec((rows.len(), cols), flat)
                .unwrap_or_else(|_| Array2::zeros((1, 1)));
            Dist::Choice { options, weights: None }
        }
        DistSpec::UniformHypersphere { surface } => Dist::uniform_hypersphere(*surface),
        DistSpec::ScatteredHypersphere { surface } => Dist::scattered_hypersphere(*surface),
        DistSpec::Array(a) => {
            let rows = a.shape().first().copied().unwrap_or(1);
            let cols = if a.ndim() > 1 { a.len() / rows.max(1) } else { 1 };
            Dist::Samples(
                Array2::from_shape_vec((rows, cols), a.iter().copied().collect())
                    .unwrap_or_else(|_| Array2::zeros((1, 1))),
            )
        }
    }
}

fn err(span: Span, msg: String) -> Diagnostic {
    Diagnostic::error(codes::BUILD, msg, span, "while building this")
}

/// Build every ensemble, then solve decoders, as Nengo does.
pub fn build(model: &Model) -> Result<Built, Vec<Diagnostic>> {
    build_with(model, &BuildOptions::default(), 0.001)
}

/// Build every ensemble, then solve decoders, with a target's `opts` (`dt`, the time step,
/// matters only to [`BuildOptions::loihi_rates`]).
pub fn build_with(model: &Model, opts: &BuildOptions, dt: f64) -> Result<Built, Vec<Diagnostic>> {
    let mut built = Built::default();
    let mut errors = Vec::new();
    for o in &model.objects {
        let ObjectKind::Ensemble(e) = &o.kind else {
            built.ensembles.push(None);
            continue;
        };
        match build_ensemble(e, o.seed, opts) {
            Ok(b) => built.ensembles.push(Some(b)),
            Err(m) => {
                errors.push(err(o.span, format!("cannot build ensemble `{}`: {m}", o.name)));
                built.ensembles.push(None);
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for c in &model.connections {
        if !c.is_decoded(model) {
            built.connections.push(None);
            continue;
        }
        let Some(Some(ens)) = built.ensembles.get(c.pre.obj.0 as usize) else {
            built.connections.push(None);
            continue;
        };
        let ObjectKind::Ensemble(e) = &model.object(c.pre.obj).kind else { continue };
        let eval_points = match &c.eval_points {
            Some(spec) => {
                let mut rng = ChaCha8Rng::seed_from_u64(c.seed);
                match nef::gen_eval_points(
                    &dist(spec, Dist::default_eval_points()),
                    None,
                    e.n_neurons,
                    e.dims,
                    e.radius,
                    true,
                    &mut rng,
                ) {
                    Ok(p) => p,
                    Err(m) => {
                        errors.push(err(c.span, format!("eval points: {m}")));
                        continue;
                    }
                }
            }
            None => ens.eval_points.clone(),
        };
        let transform = match &c.transform {
            Transform::Identity => nef::Transform::Identity,
            Transform::Scalar(s) => nef::Transform::Scalar(*s),
            Transform::Elementwise(v) => nef::Transform::Diagonal(v.clone().into()),
            Transform::Dense(m) => nef::Transform::Dense(m.clone()),
            _ => {
                errors.push(err(
                    c.span,
                    "sparse and convolution transforms cannot be used on decoded connections"
                        .to_string(),
                ));
                continue;
            }
        };
        let post_enc = if c.solver.weights {
            built.ensembles.get(c.post.obj.0 as usize).and_then(|b| b.as_ref()).map(|b| {
                match &c.post.indices {
                    Some(ix) => b.scaled_encoders.select(Axis(1), ix),
                    None => b.scaled_encoders.clone(),
                }
            })
        } else {
            None
        };
        match decode(
            model,
            c.pre.obj,
            e,
            ens,
            &eval_points,
            c.pre.indices.as_deref(),
            c.function.as_ref(),
            &c.solver,
            &transform,
            post_enc.as_ref(),
            c.seed,
            opts,
            dt,
        ) {
            Ok(w) => built.connections.push(Some(w)),
            Err(m) => {
                errors.push(err(c.span, m));
                built.connections.push(None);
            }
        }
    }
    for p in &model.probes {
        let is_decoded = p.attr == ProbeAttr::Output
            && p.target.port == Port::Value
            && matches!(model.object(p.target.obj).kind, ObjectKind::Ensemble(_));
        let (true, Some(Some(ens)), ObjectKind::Ensemble(e)) = (
            is_decoded,
            built.ensembles.get(p.target.obj.0 as usize),
            &model.object(p.target.obj).kind,
        ) else {
            built.probes.push(None);
            continue;
        };
        let eval_points = ens.eval_points.clone();
        match decode(
            model,
            p.target.obj,
            e,
            ens,
            &eval_points,
            p.target.indices.as_deref(),
            None,
            &p.solver,
            &nef::Transform::Identity,
            None,
            0,
            opts,
            dt,
        ) {
            Ok(w) => built.probes.push(Some(w)),
            Err(m) => {
                errors.push(err(p.span, m));
                built.probes.push(None);
            }
        }
    }
    if errors.is_empty() {
        Ok(built)
    } else {
        Err(errors)
    }
}

fn build_ensemble(
    e: &crate::model::Ensemble,
    seed: u64,
    opts: &BuildOptions,
) -> Result<BuiltEnsemble, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = e.n_neurons;
    // Order as Nengo: eval points, encoders, then max_rates and intercepts.
    let eval_points = nef::gen_eval_points(
        &dist(&e.eval_points, Dist::default_eval_points()),
        e.n_eval_points,
        n,
        e.dims,
        e.radius,
        true,
        &mut rng,
    )
    .map_err(|m| format!("eval points: {m}"))?;
    let enc = dist(&e.encoders, Dist::default_encoders())
        .sample(n, Some(e.dims), &mut rng)
        .map_err(|m| format!("encoders: {m}"))?;
    let encoders = if e.normalize_encoders {
        nef::normalize_encoders(enc.view()).map_err(|m| m.to_string())?
    } else {
        enc
    };
    let neuron = neuron_type(&e.neuron);
    let (gain, bias) = match (&e.gain, &e.bias) {
        (Some(g), Some(b)) => {
            let g = dist(g, Dist::uniform(1.0, 1.0))
                .sample(n, None, &mut rng)
                .map_err(|m| m.to_string())?;
            let b = dist(b, Dist::uniform(0.0, 0.0))
                .sample(n, None, &mut rng)
                .map_err(|m| m.to_string())?;
            (g.iter().copied().collect::<Vec<_>>(), b.iter().copied().collect::<Vec<_>>())
        }
        _ => {
            let mr = dist(&e.max_rates, Dist::default_max_rates())
                .sample(n, None, &mut rng)
                .map_err(|m| format!("max_rates: {m}"))?;
            let mut ic_dist = dist(&e.intercepts, Dist::default_intercepts());
            // nengo-loihi's get_gain_bias: a uniform reaching above the limit is cut first
            if let (Some(limit), Dist::Uniform { low, high, .. }) =
                (opts.intercept_limit, &mut ic_dist)
            {
                if *high > limit {
                    *low = low.min(limit);
                    *high = limit;
                }
            }
            let ic = ic_dist.sample(n, None, &mut rng).map_err(|m| format!("intercepts: {m}"))?;
            let mr: Vec<f64> = mr.iter().copied().collect();
            let mut ic: Vec<f64> = ic.iter().copied().collect();
            if let Some(limit) = opts.intercept_limit {
                for x in ic.iter_mut().filter(|x| **x > limit) {
                    *x = limit;
                }
            }
            neuron.gain_bias(&mr, &ic).map_err(|m| neuron_error(&e.neuron, &m))?
        }
    };
    // Nengo takes any finite gain (nengo_dl's benchmarks draw gains from {1, -1}): a negative
    // gain flips the neuron's preferred direction.
    if let Some(i) = gain.iter().position(|g| !g.is_finite()) {
        return Err(format!("neuron {i} has a gain of {} (gains must be finite)", gain[i]));
    }
    let mut scaled_encoders = encoders.clone();
    for (mut row, g) in scaled_encoders.outer_iter_mut().zip(&gain) {
        row.mapv_inplace(|v| v * g / e.radius);
    }
    Ok(BuiltEnsemble { gain, bias, encoders, scaled_encoders, eval_points })
}

/// A neuron error in the language's words: the type the model names (`lif`, not Nengo's
/// `LIFRate`, which builds it) and numbers that read (`1e308`, not 309 digits).
fn neuron_error(spec: &crate::spec::NeuronSpec, e: &snn_runtime::neurons::NeuronError) -> String {
    use snn_runtime::neurons::NeuronError;
    let ty = spec.base.as_deref().unwrap_or(spec).kind.info().name();
    let num = snn_syntax::diag::number;
    match e {
        NeuronError::MaxRateTooHigh { max_rate, limit, .. } => format!(
            "`{ty}`: max_rates must be below the inverse refractory period, 1/tau_ref = {} Hz; \
             got {} Hz",
            num(*limit),
            num(*max_rate)
        ),
        other => {
            let m = other.to_string();
            // most messages begin with Nengo's name of the type: `LIFRate: …`
            match m.split_once(": ") {
                Some((head, rest)) if !head.contains(' ') => format!("`{ty}`: {rest}"),
                _ => m,
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn decode(
    model: &Model,
    _obj: crate::model::ObjectId,
    e: &crate::model::Ensemble,
    ens: &BuiltEnsemble,
    eval_points: &Array2<f64>,
    pre_slice: Option<&[usize]>,
    function: Option<&crate::func::FnExpr>,
    solver: &SolverSpec,
    transform: &nef::Transform,
    post_encoders: Option<&Array2<f64>>,
    seed: u64,
    opts: &BuildOptions,
    dt: f64,
) -> Result<Array2<f64>, String> {
    let _ = model;
    if let Some(d) = &solver.values {
        return nef::fold_decoders(d.view(), transform, post_encoders.map(|p| p.view()))
            .map_err(|m| m.to_string());
    }
    let x = nef::encoder_inputs(eval_points.view(), ens.encoders.view(), e.radius)
        .map_err(|m| m.to_string())?;
    let neuron = neuron_type(&e.neuron);
    let activities = if opts.loihi_rates {
        loihi_rates(&neuron, x.view(), &ens.gain, &ens.bias, dt)
    } else {
        None
    };
    let activities = match activities {
        Some(a) => a,
        None => neuron.rates(x.view(), &ens.gain, &ens.bias).map_err(|m| m.to_string())?,
    };
    let targets = match function {
        Some(f) => {
            nef::decoder_targets(eval_points.view(), pre_slice, Some(&|v: &[f64]| f.eval(0.0, v)))
        }
        None => nef::decoder_targets(eval_points.view(), pre_slice, None),
    }
    .map_err(|m| m.to_string())?;
    let solver = nef::Solver::LstsqL2 { reg: solver.reg, weights: solver.weights };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let res = nef::solve_decoders(
        activities.view(),
        targets.view(),
        &solver,
        transform,
        post_encoders.map(|p| p.view()),
        &mut rng,
    )
    .map_err(|m| m.to_string())?;
    Ok(res.weights)
}

/// nengo-loihi 1.1's `loihi_rates` (`neurons.py`): the rates of LIF and spiking ReLU neurons
/// (and `regular_spiking` of their rate forms) whose spike intervals are whole steps, with
/// `tau_rc` and `tau_ref` discretized as Loihi's compartments hold them; `None` for other
/// types (nengo-loihi uses Nengo's rates there).
pub fn loihi_rates(
    neuron: &snn_runtime::neurons::NeuronType,
    x: ndarray::ArrayView2<'_, f64>,
    gain: &[f64],
    bias: &[f64],
    dt: f64,
) -> Option<Array2<f64>> {
    use snn_runtime::neurons::NeuronType as N;
    // (tau_rc, tau_ref) for LIF; None for ReLU
    let (lif, amplitude) = match neuron {
        N::Lif(l) => (Some((l.tau_rc, l.tau_ref)), l.amplitude),
        N::SpikingRectifiedLinear(r) => (None, r.amplitude),
        N::RegularSpiking(rs) => match rs.base.as_ref() {
            N::LifRate(l) => (Some((l.tau_rc, l.tau_ref)), rs.amplitude),
            N::RectifiedLinear(_) => (None, rs.amplitude),
            _ => return None,
        },
        _ => return None,
    };
    let mut out = Array2::zeros(x.raw_dim());
    for ((r, c), v) in out.indexed_iter_mut() {
        // neuron_type.current: gain * x + bias
        let j = gain[c] * x[[r, c]] + bias[c];
        let period = match lif {
            Some((tau_rc, tau_ref)) => {
                let j = j - 1.0;
                if j <= 0.0 {
                    continue;
                }
                // discretize_tau_ref, discretize_tau_rc
                let tau_ref = dt * (tau_ref / dt).round_ties_even();
                let decay_rc = -(-dt / tau_rc).exp_m1();
                let decay_rc = (decay_rc * 4095.0).round_ties_even() / 4095.0;
                let tau_rc = -dt / (-decay_rc).ln_1p();
                tau_ref + tau_rc * (1.0 / j).ln_1p()
            }
            None => {
                if j <= 0.0 {
                    continue;
                }
                1.0 / j
            }
        };
        *v = (amplitude / dt) / (period / dt).ceil();
    }
    Some(out)
}
