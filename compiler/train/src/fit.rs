//! The training loop: shuffled minibatches, each split over threads (forward, losses, backward
//! per part, gradients summed in part order, so a seed and a thread count give the same
//! result), one optimiser step per minibatch, as Keras's `fit`.

use crate::engine::{Engine, Feed, Workspace};
use crate::loss::{self, Loss};
use crate::optim::{Optimizer, OptimizerKind};
use crate::TrainError;
use ndarray::{Array3, ArrayD, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use snn_runtime::Real;

/// Training settings.
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Samples per update (the last minibatch may be smaller, as in Keras).
    pub batch_size: usize,
    /// The update rule.
    pub optimizer: OptimizerKind,
    /// Its learning rate.
    pub learning_rate: f64,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Threads (the minibatch is split into this many parts).
    pub threads: usize,
}

/// Data: per program input `(n, steps or 1, size)`, per loss its targets `(n, samples or 1,
/// size)`, and the steps to run.
#[derive(Clone, Debug)]
pub struct Data {
    /// One array per program input.
    pub inputs: Vec<Array3<f64>>,
    /// One array per loss.
    pub targets: Vec<Array3<f64>>,
    /// Steps per sample.
    pub steps: usize,
}

impl Data {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.inputs.first().or(self.targets.first()).map_or(0, |a| a.shape()[0])
    }

    /// Whether it holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples `ix`.
    pub fn rows(&self, ix: &[usize]) -> Data {
        Data {
            inputs: self.inputs.iter().map(|a| a.select(Axis(0), ix)).collect(),
            targets: self.targets.iter().map(|a| a.select(Axis(0), ix)).collect(),
            steps: self.steps,
        }
    }
}

/// The losses and metrics over a data set.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// The total (weighted) loss.
    pub loss: f64,
    /// Each loss, in the order given.
    pub losses: Vec<f64>,
    /// Classification accuracy of each loss (`None` for regression losses).
    pub accuracy: Vec<Option<f64>>,
}

/// What each epoch gave.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Per epoch: the mean training loss over its minibatches.
    pub loss: Vec<f64>,
    /// Per epoch: the validation scores, when validation data was given.
    pub validation: Vec<Scores>,
    /// Per epoch: seconds it took.
    pub seconds: Vec<f64>,
}

/// One part of a minibatch: its summed loss, gradients and correct counts.
struct Part {
    loss: Vec<f64>,
    correct: Vec<usize>,
    grads: Option<Vec<ArrayD<f64>>>,
}

fn run_part<T: Real>(
    engine: &Engine<'_, T>,
    params: &[ArrayD<f64>],
    losses: &[Loss],
    data: &Data,
    denom: usize,
    backward: bool,
    ws: &mut Workspace<T>,
) -> Result<Part, TrainError> {
    let feed = Feed { inputs: &data.inputs, steps: data.steps };
    engine.forward(params, feed, ws)?;
    let (probes, seeds) = ws.probes_and_seeds();
    let mut out = Part { loss: Vec::new(), correct: Vec::new(), grads: None };
    for (l, t) in losses.iter().zip(&data.targets) {
        let y = probes.get(l.probe).ok_or_else(|| TrainError::new("loss on a missing probe"))?;
        let g = backward.then(|| seeds.get_mut(l.probe).map(|s| s.view_mut())).flatten();
        let (sum, correct) = loss::evaluate(l, y.view(), t.view(), denom, g);
        out.loss.push(sum);
        out.correct.push(correct);
    }
    if backward {
        out.grads = Some(engine.backward(params, ws)?);
    }
    Ok(out)
}

/// Splits rows `ix` into at most `parts` contiguous parts.
fn split(ix: &[usize], parts: usize) -> Vec<&[usize]> {
    let parts = parts.clamp(1, ix.len().max(1));
    let per = ix.len().div_ceil(parts).max(1);
    ix.chunks(per).collect()
}

/// One minibatch: summed losses (over rows), correct counts, and gradients of the mean loss;
/// each part works in its own of `workspaces` (kept from one minibatch to the next).
#[allow(clippy::too_many_arguments)]
fn minibatch<T: Real>(
    engine: &Engine<'_, T>,
    params: &[ArrayD<f64>],
    losses: &[Loss],
    data: &Data,
    ix: &[usize],
    threads: usize,
    backward: bool,
    workspaces: &mut Vec<Workspace<T>>,
) -> Result<Part, TrainError> {
    let split = split(ix, threads);
    if workspaces.len() < split.len() {
        workspaces.resize_with(split.len(), Workspace::default);
    }
    let parts: Vec<Result<Part, TrainError>> = workspaces[..split.len()]
        .par_iter_mut()
        .zip(split.par_iter())
        .map(|(ws, rows)| {
            run_part(engine, params, losses, &data.rows(rows), ix.len(), backward, ws)
        })
        .collect();
    let mut total =
        Part { loss: vec![0.0; losses.len()], correct: vec![0; losses.len()], grads: None };
    for part in parts {
        let part = part?;
        for (a, b) in total.loss.iter_mut().zip(&part.loss) {
            *a += b;
        }
        for (a, b) in total.correct.iter_mut().zip(&part.correct) {
            *a += b;
        }
        if let Some(g) = part.grads {
            match &mut total.grads {
                None => total.grads = Some(g),
                Some(acc) => {
                    for (a, b) in acc.iter_mut().zip(&g) {
                        *a += b;
                    }
                }
            }
        }
    }
    Ok(total)
}

/// The losses and accuracies of `params` on `data`, in training mode (rate neurons), in
/// minibatches of `batch_size`.
pub fn score<T: Real>(
    engine: &Engine<'_, T>,
    params: &[ArrayD<f64>],
    losses: &[Loss],
    data: &Data,
    batch_size: usize,
    threads: usize,
) -> Result<Scores, TrainError> {
    let n = data.len();
    let all: Vec<usize> = (0..n).collect();
    let mut sums = vec![0.0; losses.len()];
    let mut correct = vec![0usize; losses.len()];
    let mut workspaces = Vec::new();
    for ix in all.chunks(batch_size.max(1)) {
        let part = minibatch(engine, params, losses, data, ix, threads, false, &mut workspaces)?;
        for (a, b) in sums.iter_mut().zip(&part.loss) {
            *a += b;
        }
        for (a, b) in correct.iter_mut().zip(&part.correct) {
            *a += b;
        }
    }
    let every: Vec<usize> = engine.program().probes.iter().map(|p| p.every).collect();
    Ok(scores_from(&sums, &correct, losses, n, data.steps, &every))
}

/// Runs a model on some samples: one output per probe, `(rows, samples, size)`.
pub type RunOutputs<'a> = dyn FnMut(&Data) -> Result<Vec<Array3<f64>>, TrainError> + 'a;

/// The losses and accuracies of the probe outputs `run` computes (one array per probe,
/// `(rows, samples, size)`) for the samples of `data`, in batches of `batch_size`: how a
/// model is scored as it runs (spiking neurons spiking), as NengoDL's `evaluate` does.
/// `every[p]` is probe `p`'s sampling period in steps.
pub fn score_outputs(
    losses: &[Loss],
    data: &Data,
    batch_size: usize,
    every: &[usize],
    run: &mut RunOutputs<'_>,
) -> Result<Scores, TrainError> {
    let n = data.len();
    let all: Vec<usize> = (0..n).collect();
    let mut sums = vec![0.0; losses.len()];
    let mut correct = vec![0usize; losses.len()];
    for ix in all.chunks(batch_size.max(1)) {
        let part = data.rows(ix);
        let probes = run(&part)?;
        for (i, (l, t)) in losses.iter().zip(&part.targets).enumerate() {
            let y =
                probes.get(l.probe).ok_or_else(|| TrainError::new("loss on a missing probe"))?;
            if y.shape()[..2] != [ix.len(), crate::engine::samples(data.steps, every[l.probe])] {
                return Err(TrainError::new("a probe's output does not have the data's shape"));
            }
            let (sum, ok) = loss::evaluate(l, y.view(), t.view(), ix.len(), None);
            sums[i] += sum;
            correct[i] += ok;
        }
    }
    Ok(scores_from(&sums, &correct, losses, n, data.steps, every))
}

/// Scores from summed losses and correct counts over `n` samples of `steps` steps.
fn scores_from(
    sums: &[f64],
    correct: &[usize],
    losses: &[Loss],
    n: usize,
    steps: usize,
    every: &[usize],
) -> Scores {
    let samples_of = |i: usize| crate::engine::samples(steps, every[losses[i].probe]).max(1);
    let per_loss: Vec<f64> = sums.iter().map(|s| s / n.max(1) as f64).collect();
    let loss = per_loss.iter().zip(losses).map(|(v, l)| v * l.weight).sum();
    let accuracy = losses
        .iter()
        .enumerate()
        .map(|(i, l)| {
            l.kind.classifies().then(|| {
                // every sample of every row is counted
                correct[i] as f64 / (n.max(1) * samples_of(i)) as f64
            })
        })
        .collect();
    Scores { loss, losses: per_loss, accuracy }
}

/// Scores parameter values on validation data (after each epoch): Keras and NengoDL score
/// validation in inference mode, so the caller runs the model as it runs
/// ([`crate::params::apply`] then a target, scored by [`score_outputs`]).
pub type Validate<'a> = dyn FnMut(&[ArrayD<f64>]) -> Result<Scores, TrainError> + 'a;

/// Trains `params` on `data` for `cfg.epochs`, calling `progress(epoch, done, total, loss)`
/// after every minibatch; `validate` scores the values after every epoch when given.
pub fn fit<T: Real>(
    engine: &Engine<'_, T>,
    params: &mut [ArrayD<f64>],
    losses: &[Loss],
    data: &Data,
    mut validate: Option<&mut Validate<'_>>,
    cfg: &FitConfig,
    progress: &mut dyn FnMut(usize, usize, usize, f64),
) -> Result<History, TrainError> {
    let n = data.len();
    if n == 0 {
        return Err(TrainError::new("the training data has no samples"));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .build()
        .map_err(|e| TrainError::new(format!("cannot start threads: {e}")))?;
    let mut opt = Optimizer::new(cfg.optimizer, cfg.learning_rate, params);
    let mut history = History::default();
    let mut order: Vec<usize> = (0..n).collect();
    let batches = n.div_ceil(cfg.batch_size.max(1));
    let mut workspaces = Vec::new();
    for epoch in 0..cfg.epochs {
        let start = std::time::Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(epoch as u64));
        order.shuffle(&mut rng);
        let mut sum = 0.0;
        for (bi, ix) in order.chunks(cfg.batch_size.max(1)).enumerate() {
            let part = pool.install(|| {
                minibatch(engine, params, losses, data, ix, cfg.threads, true, &mut workspaces)
            })?;
            let batch_loss: f64 =
                part.loss.iter().zip(losses).map(|(v, l)| v * l.weight / ix.len() as f64).sum();
            if !batch_loss.is_finite() {
                return Err(TrainError::new(format!(
                    "the loss became {batch_loss} in epoch {} (minibatch {}): lower the learning rate",
                    epoch + 1,
                    bi + 1
                )));
            }
            sum += batch_loss;
            if let Some(g) = part.grads {
                opt.step(params, &g);
                // in the arithmetic's type: a float32 run overflows at 3.4e38
                if params.iter().any(|p| p.iter().any(|&v| !T::cast(v).is_finite())) {
                    return Err(TrainError::new(format!(
                        "a parameter is no longer a finite {} after epoch {} (minibatch {}): lower the learning rate",
                        T::NAME,
                        epoch + 1,
                        bi + 1
                    )));
                }
            }
            progress(epoch, bi + 1, batches, sum / (bi + 1) as f64);
        }
        history.loss.push(sum / batches as f64);
        history.seconds.push(start.elapsed().as_secs_f64());
        if let Some(v) = validate.as_mut() {
            history.validation.push(v(params)?);
        }
    }
    Ok(history)
}
