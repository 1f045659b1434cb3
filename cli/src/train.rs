//! `snnc train` and `snnc evaluate`: NengoDL's `Simulator.fit` and `evaluate` on a `.snn` model,
//! with data from an `.npz` (one array per input, one per probe with a loss).

use crate::run::{fail, Dtype, Failure};
use ndarray::{Array3, ArrayD, Ix3};
use snn_compiler::ir::Program;
use snn_compiler::model::Model;
use snn_compiler::SourceDb;
use snn_fs::FsDb;
use snn_train::fit::{self, Data, FitConfig, Scores};
use snn_train::{Engine, Loss, LossKind, OptimizerKind};
use std::path::{Path, PathBuf};

/// Options of `snnc train`.
pub struct TrainConfig {
    /// The model.
    pub file: PathBuf,
    /// Training data (`.npz`).
    pub data: PathBuf,
    /// Validation data (`.npz`), scored after every epoch.
    pub validation: Option<PathBuf>,
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per update.
    pub batch_size: usize,
    /// `sgd`, `adam` or `rmsprop`.
    pub optimizer: String,
    /// Learning rate.
    pub learning_rate: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// SoftLIFRate smoothing for LIF neurons while training (NengoDL's `lif_smoothing`).
    pub lif_smoothing: Option<f64>,
    /// Float type of the arithmetic (parameters stay `f64`).
    pub dtype: crate::run::Dtype,
    /// `PROBE=KIND` (`KIND`: mse, sparse_categorical_crossentropy, categorical_crossentropy),
    /// optionally `PROBE=KIND*WEIGHT`.
    pub losses: Vec<String>,
    /// Seed of the shuffling and the model seed (the initial transforms); without it, the
    /// model's own seed and shuffling seed 0.
    pub seed: Option<u64>,
    /// Threads.
    pub threads: usize,
    /// Steps per sample when every array is held (default 1).
    pub steps: Option<usize>,
    /// Time step.
    pub dt: f64,
    /// The trained model to write (`OUT.snn`, with `OUT.safetensors` beside it).
    pub output: PathBuf,
    /// `NAME=ARRAY`: the data's array `ARRAY` feeds input (or targets probe) `NAME`.
    pub arrays: Vec<String>,
    /// Memory the model and one minibatch may use (default: the machine's).
    pub max_memory: Option<u64>,
}

/// Options of `snnc evaluate`.
pub struct EvaluateConfig {
    /// The model.
    pub file: PathBuf,
    /// Test data (`.npz`).
    pub data: PathBuf,
    /// Losses, as for `train`.
    pub losses: Vec<String>,
    /// Samples per forward pass.
    pub batch_size: usize,
    /// Threads.
    pub threads: usize,
    /// Steps per sample when every array is held (default 1).
    pub steps: Option<usize>,
    /// Time step.
    pub dt: f64,
    /// `NAME=ARRAY`, as for `train`.
    pub arrays: Vec<String>,
    /// The backend that runs the model (`jit`, `interp`), as `snnc run`'s.
    pub backend: String,
    /// Score as training does (spiking neurons as their rate equivalents) instead of running
    /// the model as it is.
    pub training_mode: bool,
    /// Memory the model and one batch may use (default: the machine's).
    pub max_memory: Option<u64>,
}

/// A checked, lowered (not optimised) model and its database.
struct Loaded {
    db: FsDb,
    root: snn_syntax::FileId,
    model: Model,
    built: snn_compiler::build::Built,
    program: Program,
    syntax: std::rc::Rc<snn_syntax::ast::File>,
}

/// Refuse a run of `steps` steps over `rows` samples at a time whose buffers need more than
/// `limit` bytes: the probes' samples and, when training (`tape`), what the forward pass keeps
/// of every signal at every step for the backward pass and the gradients of the probes.
fn check_run_memory(
    program: &Program,
    steps: usize,
    rows: usize,
    tape: bool,
    limit: u64,
) -> Result<(), Failure> {
    let probes = crate::run::probe_bytes(program, steps, rows);
    let signals: u128 = program.signals.iter().map(|s| s.size as u128).sum();
    let need =
        if tape { probes * 2 + signals * steps as u128 * rows as u128 * 8 * 2 } else { probes };
    if need > u128::from(limit) {
        return Err(fail(format!(
            "{} step(s) x {rows} sample(s) at a time need about {}, more than the {} allowed \
             (--max-memory); use fewer --steps or a smaller --batch-size",
            steps,
            crate::run::human_bytes(need),
            crate::run::human_bytes(u128::from(limit))
        )));
    }
    Ok(())
}

fn load(
    file: &Path,
    seed: Option<u64>,
    dt: f64,
    max_memory: Option<u64>,
) -> Result<Loaded, Failure> {
    crate::run::check_dt(dt)?;
    let mut db = FsDb::new();
    let root = db.load(file).map_err(fail)?;
    let limit = max_memory.unwrap_or_else(crate::run::default_max_memory);
    let checked = snn_compiler::check_within(&mut db, root, seed, Some(limit));
    if checked.has_errors() {
        return Err(crate::run::render_all(&db, &checked.diagnostics));
    }
    if let Some(d) = snn_compiler::budget::check(&checked.model, limit) {
        return Err(crate::run::render_all(&db, &[d]));
    }
    let built =
        snn_compiler::build::build(&checked.model).map_err(|d| crate::run::render_all(&db, &d))?;
    let program = snn_compiler::lower::lower(&checked.model, &built, dt)
        .map_err(|d| crate::run::render_all(&db, &d))?;
    let syntax = checked
        .syntax
        .get(&root)
        .cloned()
        .ok_or_else(|| fail("internal error: the model's syntax tree is missing"))?;
    Ok(Loaded { db, root, model: checked.model, built, program, syntax })
}

/// A training error, rendered at its statement when it has one.
fn train_failure(db: &FsDb, e: snn_train::TrainError) -> Failure {
    match e.span {
        Some(span) => {
            let d =
                snn_syntax::Diagnostic::error(snn_syntax::codes::BUILD, e.message, span, "here");
            Failure(crate::render::render(db as &dyn SourceDb, &d, false))
        }
        None => fail(e.message),
    }
}

/// Parses `--loss PROBE=KIND[*WEIGHT]` against the program's probes.
fn parse_losses(program: &Program, args: &[String]) -> Result<Vec<(String, Loss)>, Failure> {
    if args.is_empty() {
        return Err(fail("give at least one loss: --loss PROBE=mse (or sparse_categorical_crossentropy, categorical_crossentropy)"));
    }
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if args[..i].contains(a) {
            return Err(fail(format!("--loss `{a}` is given twice (it would count double)")));
        }
        let (probe, rest) = a
            .split_once('=')
            .ok_or_else(|| fail(format!("--loss `{a}`: expected PROBE=KIND, e.g. out=mse")))?;
        let (kind, weight) = match rest.split_once('*') {
            Some((k, w)) => {
                let w: f64 = w
                    .parse()
                    .map_err(|_| fail(format!("--loss `{a}`: the weight `{w}` is not a number")))?;
                if !(w.is_finite() && w >= 0.0) {
                    return Err(fail(format!(
                        "--loss `{a}`: the weight must be a finite number >= 0"
                    )));
                }
                (k, w)
            }
            None => (rest, 1.0),
        };
        // `l2` / `l2(TARGET)`: mean square distance from a constant (a firing-rate regulariser).
        let (kind, constant) = match kind.strip_prefix("l2") {
            Some("") => (LossKind::Mse, Some(0.0)),
            Some(rest) => {
                let v = rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|v| v.trim().trim_end_matches("Hz").parse::<f64>().ok())
                    .ok_or_else(|| fail(format!("--loss `{a}`: expected l2 or l2(TARGET), e.g. conv0=l2(250)*0.001")))?;
                if !v.is_finite() {
                    return Err(fail(format!("--loss `{a}`: the target must be a finite number, found {v}")));
                }
                (LossKind::Mse, Some(v))
            }
            None => (
                LossKind::parse(kind).ok_or_else(|| {
                    fail(format!("--loss `{a}`: unknown loss `{kind}` (mse, sparse_categorical_crossentropy, categorical_crossentropy, l2(TARGET))"))
                })?,
                None,
            ),
        };
        let idx = program.probes.iter().position(|p| p.name == probe).ok_or_else(|| {
            let names: Vec<&str> = program.probes.iter().map(|p| p.name.as_str()).collect();
            fail(format!(
                "--loss `{a}`: the model has no probe `{probe}` (probes: {})",
                names.join(", ")
            ))
        })?;
        let probabilities = reads_softmax(program, idx);
        out.push((probe.to_string(), Loss { probe: idx, kind, probabilities, weight, constant }));
    }
    Ok(out)
}

/// Whether probe `idx` records the output of a softmax (then crossentropies take its values as
/// probabilities, else as logits).
fn reads_softmax(program: &Program, idx: usize) -> bool {
    use snn_compiler::ir::OpKind;
    use snn_runtime::kernels::host::HostOp;
    let mut sig = program.probes[idx].signal;
    // Follow plain copies back to the op that sets the probed signal.
    for _ in 0..8 {
        let Some(op) = program.ops.iter().find(|op| op.kind.access().sets.contains(&sig)) else {
            return false;
        };
        match &op.kind {
            OpKind::HostFn { op: HostOp::Softmax { .. }, .. } => return true,
            OpKind::HostFn { op: HostOp::Keras(k), .. } => return k.layer.class_name == "Softmax",
            OpKind::Copy { src, src_sel: None, dst_sel: None, .. } => sig = *src,
            _ => return false,
        }
    }
    false
}

/// Reads `path` and matches its arrays to the program's inputs and the losses' probes:
/// inputs `(n, steps, *shape)` or `(n, *shape)` (held; a last axis of one channel may be left
/// out), targets `(n, samples, *shape)` or
/// `(n, *shape)` (every sample), labels `(n, 1)` or `(n, samples, 1)`.
fn load_data(
    path: &Path,
    program: &Program,
    losses: &[(String, Loss)],
    steps: Option<usize>,
    renames: &[String],
) -> Result<Data, Failure> {
    let arrays = snn_io::read_npz(path).map_err(|e| fail(e.to_string()))?;
    let shown = path.display();
    let mut map = std::collections::BTreeMap::new();
    for r in renames {
        let (model, array) = r
            .split_once('=')
            .ok_or_else(|| fail(format!("--array `{r}`: expected NAME=ARRAY (a model input or probe, and the array in the .npz)")))?;
        let known = program.inputs.iter().any(|d| d.name == model)
            || losses.iter().any(|(p, _)| p == model);
        if !known {
            let mut names: Vec<&str> = program.inputs.iter().map(|d| d.name.as_str()).collect();
            names.extend(losses.iter().map(|(p, _)| p.as_str()));
            return Err(fail(format!(
                "--array `{r}`: `{model}` is neither an input nor a probe with a loss ({})",
                names.join(", ")
            )));
        }
        if map.insert(model.to_string(), array.to_string()).is_some() {
            return Err(fail(format!("--array `{r}`: `{model}` is renamed twice")));
        }
    }
    let get = |name: &str, what: &str| -> Result<&ArrayD<f64>, Failure> {
        let array = map.get(name).map_or(name, String::as_str);
        arrays.get(array).ok_or_else(|| {
            let names: Vec<&str> = arrays.keys().map(String::as_str).collect();
            let via = if array == name { String::new() } else { format!(" (for `{name}`)") };
            let has = if names.is_empty() {
                "it has no arrays".to_string()
            } else {
                format!("it has: {}", names.join(", "))
            };
            fail(format!("{shown} has no array `{array}`{via} ({what}); {has}"))
        })
    };
    let mut n = None;
    let mut check_n = |name: &str, a: &ArrayD<f64>| -> Result<(), Failure> {
        let rows = a.shape().first().copied().unwrap_or(0);
        match n {
            None => n = Some((name.to_string(), rows)),
            Some((ref other, m)) if m != rows => {
                return Err(fail(format!(
                    "{shown}: `{name}` has {rows} samples but `{other}` has {m}"
                )))
            }
            _ => {}
        }
        if let Some(i) = a.iter().position(|v| !v.is_finite()) {
            return Err(fail(format!(
                "{shown}: `{name}` holds a non-finite value ({}) at flat index {i}",
                a.iter().nth(i).copied().unwrap_or(f64::NAN)
            )));
        }
        Ok(())
    };
    // Steps: the longest time axis of the inputs, else --steps, else 1.
    let mut time_axis = None;
    let mut inputs = Vec::new();
    for decl in &program.inputs {
        let a = get(&decl.name, "an input of the model")?;
        check_n(&decl.name, a)?;
        let s = a.shape();
        let size: usize = decl.shape.iter().product();
        let shape = crate::render_shape(&decl.shape);
        // A last axis of one channel may be left out or added (images (n, 28, 28) for
        // [28, 28, 1]).
        let fits = |per: &[usize]| crate::run::sample_fits(per, &decl.shape);
        let (t, ok) = if !s.is_empty() && fits(&s[1..]) {
            (1, true)
        } else if s.len() >= 2 && fits(&s[2..]) {
            (s[1], true)
        } else {
            (0, false)
        };
        if !ok || t == 0 {
            return Err(fail(format!(
                "{shown}: input `{}` has shape {s:?}; expected (n, {shape}) or (n, steps, {shape})",
                decl.name
            )));
        }
        if t > 1 {
            match time_axis {
                Some(prev) if prev != t => {
                    return Err(fail(format!(
                        "{shown}: inputs disagree on the number of steps ({prev} and {t})"
                    )))
                }
                _ => time_axis = Some(t),
            }
        }
        let a3 = a
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((s[0], t, size))
            .map_err(|e| fail(e.to_string()))?;
        inputs.push(a3);
    }
    let steps = match (time_axis, steps) {
        (Some(t), Some(s)) if t != s => {
            return Err(fail(format!("--steps {s} disagrees with the inputs' {t} steps")))
        }
        (Some(t), _) => t,
        (None, Some(s)) => s,
        (None, None) => 1,
    };
    if steps == 0 {
        return Err(fail("--steps must be at least 1"));
    }
    let mut targets = Vec::new();
    for (probe, loss) in losses {
        let decl = &program.probes[loss.probe];
        if loss.constant.is_some() {
            targets.push(None);
            continue;
        }
        let a = get(probe, "the targets of a probe with a loss")?;
        check_n(probe, a)?;
        let s = a.shape();
        let samples = snn_train::engine::samples(steps, decl.every);
        let size: usize = decl.shape.iter().product();
        let (want, what) = if loss.kind == LossKind::SparseCategoricalCrossentropy {
            (vec![1], "labels".to_string())
        } else {
            (decl.shape.clone(), format!("shape {}", crate::render_shape(&decl.shape)))
        };
        let width: usize = want.iter().product();
        let t = if s.len() == want.len() + 1 && s[1..] == want[..] {
            1
        } else if loss.kind == LossKind::SparseCategoricalCrossentropy && s.len() == 1 {
            // labels (n,), as Keras takes them
            1
        } else if s.len() == want.len() + 2 && s[2..] == want[..] && (s[1] == samples || s[1] == 1)
        {
            s[1]
        } else {
            return Err(fail(format!(
                "{shown}: `{probe}` has shape {s:?}; expected (n, {w}) or (n, {samples}, {w}) ({what})",
                w = crate::render_shape(&want)
            )));
        };
        if loss.kind == LossKind::SparseCategoricalCrossentropy {
            if let Some(bad) =
                a.iter().find(|&&v| v < 0.0 || v.fract() != 0.0 || v as usize >= size)
            {
                return Err(fail(format!(
                    "{shown}: `{probe}` holds the label {bad}, but the probe has {size} classes (labels are integers 0..{})",
                    size.saturating_sub(1)
                )));
            }
        }
        let a3 = a
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((s[0], t, width))
            .map_err(|e| fail(e.to_string()))?;
        targets.push(Some(a3.into_dimensionality::<Ix3>().map_err(|e| fail(e.to_string()))?));
    }
    let inputs = inputs
        .into_iter()
        .map(|a| a.into_dimensionality::<Ix3>().map_err(|e| fail(e.to_string())))
        .collect::<Result<Vec<Array3<f64>>, Failure>>()?;
    let rows = n.as_ref().map_or(0, |(_, rows)| *rows);
    if rows == 0 {
        return Err(fail(format!("{shown} holds no samples")));
    }
    let targets =
        targets.into_iter().map(|t| t.unwrap_or_else(|| Array3::zeros((rows, 1, 0)))).collect();
    Ok(Data { inputs, targets, steps })
}

fn threads(n: usize) -> usize {
    if n == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        n
    }
}

/// One line of scores: `loss 0.0123 (out: mse 0.0123, accuracy 0.9812)`.
fn scores_line(losses: &[(String, Loss)], s: &Scores) -> String {
    let parts: Vec<String> = losses
        .iter()
        .zip(&s.losses)
        .zip(&s.accuracy)
        .map(|(((probe, l), v), acc)| match acc {
            Some(a) => format!("{probe}: {} {v:.6}, accuracy {a:.4}", l.kind.name()),
            None if l.constant.is_some() => format!("{probe}: l2 {v:.6}"),
            None => format!("{probe}: {} {v:.6}", l.kind.name()),
        })
        .collect();
    format!("loss {:.6} ({})", s.loss, parts.join("; "))
}

/// `snnc train`.
pub fn train(cfg: &TrainConfig) -> Result<(), Failure> {
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(fail("--epochs and --batch-size must be at least 1"));
    }
    crate::run::check_counts(cfg.steps.unwrap_or(1), cfg.threads)?;
    if !(cfg.learning_rate > 0.0 && cfg.learning_rate.is_finite()) {
        return Err(fail(format!(
            "--learning-rate must be a positive number, found {}",
            cfg.learning_rate
        )));
    }
    // Keras's SGD takes momentum in [0, 1]; the other rules have none
    if !(0.0..=1.0).contains(&cfg.momentum) {
        return Err(fail(format!("--momentum must be from 0 to 1, found {}", cfg.momentum)));
    }
    if cfg.momentum != 0.0 && cfg.optimizer != "sgd" {
        return Err(fail(format!("--momentum is sgd's; `{}` has none", cfg.optimizer)));
    }
    let optimizer = OptimizerKind::parse(&cfg.optimizer, cfg.momentum).ok_or_else(|| {
        fail(format!("unknown optimizer `{}` (sgd, adam, rmsprop)", cfg.optimizer))
    })?;
    let out_snn = cfg.output.clone();
    let out_weights = crate::output::weights_beside(&out_snn).map_err(fail)?;
    let loaded = load(&cfg.file, cfg.seed, cfg.dt, cfg.max_memory)?;
    // the outputs must not replace the model, its imports, its weights or the data
    let mut inputs = loaded.db.files_read();
    inputs.push(cfg.data.clone());
    inputs.extend(cfg.validation.iter().cloned());
    crate::output::check(&inputs, &[out_snn.as_path(), out_weights.as_path()]).map_err(fail)?;
    crate::output::check_directories(&[out_snn.as_path()]).map_err(fail)?;
    let (params, skipped) = snn_train::params::find(&loaded.model, &loaded.program);
    for s in &skipped {
        let d = snn_syntax::Diagnostic::warning(
            snn_syntax::codes::BUILD,
            format!("not trained: {}", s.reason),
            s.span,
            "left as it is",
        );
        crate::err!("{}", crate::render::render(&loaded.db as &dyn SourceDb, &d, false));
    }
    if params.is_empty() {
        return Err(fail(
            "the model has nothing to train (no transforms, decoders, encoders or biases that \
             are trainable)",
        ));
    }
    let losses = parse_losses(&loaded.program, &cfg.losses)?;
    let data = load_data(&cfg.data, &loaded.program, &losses, cfg.steps, &cfg.arrays)?;
    let validation = match &cfg.validation {
        Some(v) => Some(load_data(v, &loaded.program, &losses, Some(data.steps), &cfg.arrays)?),
        None => None,
    };
    let limit = cfg.max_memory.unwrap_or_else(crate::run::default_max_memory);
    let rows = cfg.batch_size.min(data.len());
    check_run_memory(&loaded.program, data.steps, rows, true, limit)?;
    if let Some(s) = cfg.lif_smoothing.filter(|s| !(*s > 0.0 && s.is_finite())) {
        return Err(fail(format!("--lif-smoothing must be a positive number, found {s}")));
    }
    let mut values: Vec<ArrayD<f64>> = params.iter().map(|p| p.value.clone()).collect();
    let n_values: usize = values.iter().map(ArrayD::len).sum();
    crate::errln!(
        "training {} parameters ({n_values} values) on {} samples x {} step(s), {}, {} threads",
        params.len(),
        data.len(),
        data.steps,
        cfg.dtype.name(),
        threads(cfg.threads)
    );
    let loss_list: Vec<Loss> = losses.iter().map(|(_, l)| l.clone()).collect();
    let fit_cfg = FitConfig {
        epochs: cfg.epochs,
        batch_size: cfg.batch_size,
        optimizer,
        learning_rate: cfg.learning_rate,
        seed: cfg.seed.unwrap_or(0),
        threads: threads(cfg.threads),
    };
    let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut last_epoch = usize::MAX;
    // validation is scored as the model runs (Keras's and NengoDL's inference mode)
    let runner = match validation {
        Some(_) => Some(crate::run::check_backend("jit")?),
        None => None,
    };
    let (lowered, trained, scored) = (&loaded.program, &params, &loss_list);
    let mut validate = validation.as_ref().zip(runner).map(|(v, runner)| {
        move |values: &[ArrayD<f64>]| -> Result<Scores, snn_train::TrainError> {
            let mut program = lowered.clone();
            snn_train::params::apply(&mut program, trained, values)?;
            score_running(runner, &program, scored, v, cfg.batch_size, fit_cfg.threads)
        }
    });
    let mut progress = |epoch: usize, done: usize, total: usize, loss: f64| {
        if let Some(b) = &bar {
            if epoch != last_epoch {
                b.reset();
                b.set_length(total as u64);
                b.set_prefix(format!("{}/{}", epoch + 1, cfg.epochs));
                last_epoch = epoch;
            }
            b.set_position(done as u64);
            b.set_message(format!("loss {loss:.6}"));
        }
    };
    let validate = validate.as_mut().map(|f| f as &mut fit::Validate<'_>);
    let history = match cfg.dtype {
        Dtype::Float32 => Engine::<f32>::new(&loaded.program, &params).and_then(|e| {
            let engine = e.with_lif_smoothing(cfg.lif_smoothing);
            fit::fit(&engine, &mut values, &loss_list, &data, validate, &fit_cfg, &mut progress)
        }),
        Dtype::Float64 => Engine::<f64>::new(&loaded.program, &params).and_then(|e| {
            let engine = e.with_lif_smoothing(cfg.lif_smoothing);
            fit::fit(&engine, &mut values, &loss_list, &data, validate, &fit_cfg, &mut progress)
        }),
    }
    .map_err(|e| train_failure(&loaded.db, e))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for (e, loss) in history.loss.iter().enumerate() {
        let val = history
            .validation
            .get(e)
            .map(|s| format!(", validation {}", scores_line(&losses, s)))
            .unwrap_or_default();
        crate::outln!(
            "epoch {}/{}: loss {loss:.6} ({:.2} s){val}",
            e + 1,
            cfg.epochs,
            history.seconds.get(e).copied().unwrap_or(0.0)
        );
    }
    let weights_name = out_weights
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| fail("the output name is not valid UTF-8"))?
        .to_string();
    let written = snn_train::writeback::write_back(
        loaded.db.text(loaded.root),
        &loaded.syntax,
        &loaded.model,
        &loaded.built,
        &params,
        &values,
        &weights_name,
    )
    .map_err(|e| train_failure(&loaded.db, e))?;
    let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
        written.tensors.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    crate::import::write_both(&out_snn, &out_weights, &written.source, &named).map_err(fail)?;
    crate::outln!("wrote {} and {}", out_snn.display(), out_weights.display());
    Ok(())
}

/// `snnc evaluate`: the losses and accuracies of the model on `data`, as NengoDL's `evaluate`
/// gives them: the model run as it is (spiking neurons spiking) by `cfg.backend`, or with
/// `training_mode` as training runs it (rate equivalents).
pub fn evaluate(cfg: &EvaluateConfig) -> Result<(Scores, Vec<(String, Loss)>), Failure> {
    if cfg.batch_size == 0 {
        return Err(fail("--batch-size must be at least 1"));
    }
    crate::run::check_counts(cfg.steps.unwrap_or(1), cfg.threads)?;
    let loaded = load(&cfg.file, None, cfg.dt, cfg.max_memory)?;
    let losses = parse_losses(&loaded.program, &cfg.losses)?;
    let data = load_data(&cfg.data, &loaded.program, &losses, cfg.steps, &cfg.arrays)?;
    let limit = cfg.max_memory.unwrap_or_else(crate::run::default_max_memory);
    let rows = cfg.batch_size.min(data.len());
    check_run_memory(&loaded.program, data.steps, rows, cfg.training_mode, limit)?;
    let loss_list: Vec<Loss> = losses.iter().map(|(_, l)| l.clone()).collect();
    let n = threads(cfg.threads);
    if !cfg.training_mode {
        let target = crate::run::check_backend(&cfg.backend)?;
        let scores = score_running(target, &loaded.program, &loss_list, &data, cfg.batch_size, n)
            .map_err(|e| train_failure(&loaded.db, e))?;
        return Ok((scores, losses));
    }
    let engine =
        Engine::<f64>::new(&loaded.program, &[]).map_err(|e| train_failure(&loaded.db, e))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| fail(format!("cannot start threads: {e}")))?;
    let scores = pool
        .install(|| fit::score(&engine, &[], &loss_list, &data, cfg.batch_size.max(1), n))
        .map_err(|e| train_failure(&loaded.db, e))?;
    Ok((scores, losses))
}

/// The losses and accuracies of `program` run by `target` as it runs (spiking neurons
/// spiking) on `data`, in batches of `batch_size`: NengoDL's `evaluate`, and how `train`
/// scores validation data after each epoch (as Keras and NengoDL do, in inference mode).
fn score_running(
    target: &dyn snn_compiler::target::Target,
    program: &Program,
    losses: &[Loss],
    data: &Data,
    batch_size: usize,
    threads: usize,
) -> Result<Scores, snn_train::TrainError> {
    let prepared = target
        .prepare(program, snn_runtime::Precision::F64)
        .map_err(|e| snn_train::TrainError::new(e.to_string()))?;
    let every: Vec<usize> = program.probes.iter().map(|p| p.every).collect();
    let mut run = |part: &Data| -> Result<Vec<Array3<f64>>, snn_train::TrainError> {
        let rows = part.len();
        let inputs: Vec<ArrayD<f64>> =
            part.inputs.iter().map(|a| a.as_standard_layout().to_owned().into_dyn()).collect();
        let outs = prepared
            .run(part.steps, rows, &inputs, threads, &mut |_| {})
            .map_err(|e| snn_train::TrainError::new(e.to_string()))?;
        outs.into_iter()
            .map(|o| {
                let samples = o.shape().get(1).copied().unwrap_or(0);
                let size = o.len() / (rows * samples).max(1);
                o.into_shape_with_order((rows, samples, size))
                    .map_err(|e| snn_train::TrainError::new(e.to_string()))
            })
            .collect()
    };
    fit::score_outputs(losses, data, batch_size.max(1), &every, &mut run)
}

/// Prints `evaluate`'s result (`json`: one JSON object).
pub fn print_scores(scores: &Scores, losses: &[(String, Loss)], json: bool) {
    if !scores.loss.is_finite() {
        crate::errln!(
            "warning: the loss is {}: the model's outputs overflow or are not numbers (JSON shows null)",
            scores.loss
        );
    }
    if json {
        let per: Vec<serde_json::Value> = losses
            .iter()
            .zip(&scores.losses)
            .zip(&scores.accuracy)
            .map(|(((probe, l), v), a)| {
                let kind = if l.constant.is_some() { "l2" } else { l.kind.name() };
                serde_json::json!({"probe": probe, "loss": kind, "value": v, "accuracy": a})
            })
            .collect();
        crate::outln!("{}", serde_json::json!({"loss": scores.loss, "losses": per}));
    } else {
        crate::outln!("{}", scores_line(losses, scores));
    }
}
