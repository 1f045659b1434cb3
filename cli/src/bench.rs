//! `snnc bench`: times compiling a model (check, build, lower) and simulating it, inside the
//! process, so start-up is excluded; reports steps per second, as text or JSON.

use crate::run::{self, Dtype, Failure};
use snn_compiler::ir::{OpKind, Program};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `snnc bench`.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The model file.
    pub file: PathBuf,
    /// Steps per timed run.
    pub steps: usize,
    /// Time step.
    pub dt: f64,
    /// `NAME=FILE.npy` or `FILE.npy`, as for `snnc run`.
    pub inputs: Vec<String>,
    /// Seed override.
    pub seed: Option<u64>,
    /// Backend (`jit` or `interp`).
    pub backend: String,
    /// Threads for batch elements (jit; 0: one per core).
    pub threads: usize,
    /// Skip the optimisation passes.
    pub no_opt: bool,
    /// Float type of the simulation.
    pub dtype: Dtype,
    /// Timed runs (the best is reported).
    pub repeat: usize,
    /// Memory the model and one run's probes may use (default: the machine's).
    pub max_memory: Option<u64>,
}

/// What one benchmark measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    /// The model file.
    pub file: String,
    /// Backend used.
    pub backend: String,
    /// `float32` or `float64`.
    pub dtype: String,
    /// Steps per run.
    pub steps: usize,
    /// Batch size (from the inputs; 1 without inputs).
    pub batch: usize,
    /// Time step (s).
    pub dt: f64,
    /// Neurons in the model.
    pub neurons: usize,
    /// Ops in one step of the lowered program.
    pub ops: usize,
    /// Seconds to check, build, lower and optimise the model (file reading included).
    pub compile_s: f64,
    /// Seconds the backend took to prepare the program (the JIT's code generation; 0 for interp).
    pub codegen_s: f64,
    /// Seconds of each timed run (inputs loaded beforehand, outputs not written).
    pub run_s: Vec<f64>,
    /// The fastest run.
    pub best_run_s: f64,
    /// Simulated steps per second of the fastest run, summed over the batch (`steps · batch / s`).
    pub steps_per_s: f64,
    /// Simulated seconds per wall-clock second of each batch element (`steps · dt / s`: the
    /// batch runs side by side, so it is not counted again).
    pub realtime_factor: f64,
}

/// Neurons of a program (the sizes of its neuron-input signals; hoisted layers included).
pub fn neuron_count(program: &Program) -> usize {
    program
        .once
        .iter()
        .chain(&program.ops)
        .map(|op| match &op.kind {
            OpKind::SimNeurons { j, .. } => program.signals[j.0 as usize].size,
            _ => 0,
        })
        .sum()
}

/// The most timed runs one bench makes.
pub const MAX_REPEAT: usize = 10_000;

/// Compile once and simulate `repeat` times with `snnc run`'s own path.
pub fn bench(cfg: &BenchConfig) -> Result<BenchResult, Failure> {
    let target = run::check_backend(&cfg.backend)?;
    if cfg.steps == 0 || cfg.repeat == 0 {
        return Err(Failure("error: --steps and --repeat must be at least 1\n".to_string()));
    }
    if cfg.repeat > MAX_REPEAT {
        return Err(Failure(format!(
            "error: --repeat {} is more than {MAX_REPEAT} timed runs\n",
            cfg.repeat
        )));
    }
    let start = Instant::now();
    let (_, mut program) =
        run::compile_within(&cfg.file, cfg.seed, cfg.dt, cfg.max_memory, target.build_options())?;
    let (inputs, batch) = run::load_inputs(&program, &cfg.inputs, cfg.steps)?;
    // a timed run keeps its probes in memory (nothing is written to stream them into)
    let limit = cfg.max_memory.unwrap_or_else(run::default_max_memory);
    let probes = run::probe_bytes(&program, cfg.steps, batch);
    if probes > u128::from(limit) {
        return Err(Failure(format!(
            "error: the probes of {} steps x batch {batch} need {}, more than the {} allowed \
             (--max-memory); bench fewer steps\n",
            cfg.steps,
            run::human_bytes(probes),
            run::human_bytes(u128::from(limit))
        )));
    }
    if !cfg.no_opt {
        run::optimize(target, &mut program, &inputs);
    }
    let compile_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let prepared = run::prepare(&program, target, cfg.dtype)?;
    let codegen_s = start.elapsed().as_secs_f64();
    let mut run_s = Vec::with_capacity(cfg.repeat);
    for _ in 0..cfg.repeat {
        let start = Instant::now();
        let out = prepared
            .run(cfg.steps, batch, &inputs, cfg.threads, &mut |_| {})
            .map_err(|e| Failure(format!("error: {e}\n")))?;
        run_s.push(start.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    let best_run_s = run_s.iter().copied().fold(f64::INFINITY, f64::min);
    let steps_per_s = (cfg.steps * batch) as f64 / best_run_s;
    Ok(BenchResult {
        file: cfg.file.display().to_string(),
        backend: cfg.backend.clone(),
        dtype: cfg.dtype.name().to_string(),
        steps: cfg.steps,
        batch,
        dt: cfg.dt,
        neurons: neuron_count(&program),
        ops: program.ops.len(),
        compile_s,
        codegen_s,
        run_s,
        best_run_s,
        steps_per_s,
        realtime_factor: cfg.steps as f64 * cfg.dt / best_run_s,
    })
}

/// The result as a few lines of text.
pub fn render(r: &BenchResult) -> String {
    let runs: Vec<String> = r.run_s.iter().map(|s| format!("{s:.4}")).collect();
    format!(
        "{file}: {neurons} neurons, {ops} ops per step; backend {backend}, {dtype}\n\
         compile  {compile:.2} ms (check + build + lower + optimise), {codegen:.2} ms code generation\n\
         run      {steps} steps x batch {batch}: best {best:.4} s of [{runs}] s\n\
         speed    {sps:.0} steps/s over the batch ({rt:.2}x real time at dt = {dt} s)\n",
        file = r.file,
        neurons = r.neurons,
        ops = r.ops,
        backend = r.backend,
        dtype = r.dtype,
        compile = r.compile_s * 1e3,
        codegen = r.codegen_s * 1e3,
        steps = r.steps,
        batch = r.batch,
        best = r.best_run_s,
        runs = runs.join(", "),
        sps = r.steps_per_s,
        rt = r.realtime_factor,
        dt = r.dt,
    )
}

/// The result as one JSON object.
pub fn to_json(r: &BenchResult) -> Result<String, Failure> {
    serde_json::to_string_pretty(r).map_err(|e| Failure(format!("error: {e}\n")))
}
