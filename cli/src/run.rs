//! `snnc run` and `snnc ir`: compile a model, feed its inputs, simulate, write probes.

use ndarray::{ArrayD, IxDyn};
use snn_compiler::backend::interp::Interp;
use snn_compiler::target::{Executable, Target};
use snn_compiler::{ir::Program, CompileConfig, SourceDb};
use snn_fs::FsDb;
use snn_jit::Jit;
use snn_runtime::Precision;
use snn_runtime::Real;
use snn_syntax::Diagnostic;
use std::path::{Path, PathBuf};

/// Options of `snnc run`.
pub struct RunConfig {
    /// The model file.
    pub file: PathBuf,
    /// Steps to simulate.
    pub steps: usize,
    /// Time step.
    pub dt: f64,
    /// `NAME=FILE.npy` or `FILE.npy`.
    pub inputs: Vec<String>,
    /// Seed override.
    pub seed: Option<u64>,
    /// `jit` (the default) or `interp` (the reference).
    pub backend: String,
    /// Threads running batch elements in parallel (jit; 0: one per core).
    pub threads: usize,
    /// Print compile and simulation times (and what runs on the host) to stderr.
    pub verbose: bool,
    /// Skip the optimisation passes (run the program as lowered).
    pub no_opt: bool,
    /// Output `.npz`.
    pub output: PathBuf,
    /// Print each neuron population's mean and max firing rate (Hz) over the run.
    pub rates: bool,
    /// Float type of the simulation and of the output arrays.
    pub dtype: Dtype,
    /// Memory the run may use, in bytes (`--max-memory`; default: the machine's).
    pub max_memory: Option<u64>,
    /// `--labels`: the probe to score (None: the only one) and the labels, checked against the
    /// model and the batch before anything runs or is written.
    pub labels: Option<(Option<String>, Vec<usize>)>,
}

impl Default for RunConfig {
    /// `snnc run`'s defaults: 1000 steps of 1 ms, the JIT in float64 on every core, `out.npz`.
    fn default() -> Self {
        Self {
            file: PathBuf::new(),
            steps: 1000,
            dt: 0.001,
            inputs: Vec::new(),
            seed: None,
            backend: DEFAULT_TARGET.name().to_string(),
            threads: 0,
            verbose: false,
            no_opt: false,
            output: PathBuf::from("out.npz"),
            rates: false,
            dtype: Dtype::Float64,
            max_memory: None,
            labels: None,
        }
    }
}

/// Float type of a simulation (`--dtype`); float32 is faster with the looser contract of
/// docs/PRECISION.md.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Dtype {
    /// 32-bit floats.
    Float32,
    /// 64-bit floats (the reference).
    #[default]
    Float64,
}

impl Dtype {
    /// NumPy's name (`float32`, `float64`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Float32 => f32::NAME,
            Dtype::Float64 => f64::NAME,
        }
    }

    /// Element type of the arrays a run writes.
    pub fn precision(self) -> Precision {
        match self {
            Dtype::Float32 => Precision::F32,
            Dtype::Float64 => Precision::F64,
        }
    }
}

/// A failure, already rendered for the terminal.
pub struct Failure(pub String);

pub(crate) fn fail(msg: impl Into<String>) -> Failure {
    Failure(format!("error: {}\n", msg.into()))
}

/// The most errors a failed compile shows (as `snnc check`'s default `--error-limit`).
pub const ERROR_LIMIT: usize = 100;

pub(crate) fn render_all(db: &FsDb, diags: &[Diagnostic]) -> Failure {
    let mut s = String::new();
    let mut renderer = crate::render::Renderer::new(db as &dyn SourceDb, false);
    let n_errors = diags.iter().filter(|d| d.is_error()).count();
    let mut shown = 0;
    for d in diags {
        if d.is_error() {
            if shown == ERROR_LIMIT {
                continue;
            }
            shown += 1;
        }
        s.push_str(&renderer.render(d));
    }
    if shown < n_errors {
        s.push_str(&format!("note: {} more error(s) not shown\n", n_errors - shown));
    }
    if n_errors > 1 {
        s.push_str(&format!("error: aborting due to {n_errors} previous errors\n"));
    }
    Failure(s)
}

/// Every target `--backend` can name, the default first.
pub const TARGETS: [&dyn Target; 3] = [&Jit, &Interp, &snn_loihi::Loihi];

/// The target of `snnc run` without `--backend`, whose passes `snnc ir --opt` prints.
pub const DEFAULT_TARGET: &dyn Target = TARGETS[0];

/// Check, build and lower `file` (with model seed `seed`, time step `dt`).
pub fn compile(file: &Path, seed: Option<u64>, dt: f64) -> Result<(FsDb, Program), Failure> {
    compile_within(file, seed, dt, None, Default::default())
}

/// [`compile`], refusing a model that needs more than `max_memory` bytes (default: the
/// machine's memory; `snn_compiler::budget`).
pub fn compile_within(
    file: &Path,
    seed: Option<u64>,
    dt: f64,
    max_memory: Option<u64>,
    build: snn_compiler::build::BuildOptions,
) -> Result<(FsDb, Program), Failure> {
    check_dt(dt)?;
    let max_memory = Some(max_memory.unwrap_or_else(default_max_memory));
    let mut db = FsDb::new();
    let root = db.load(file).map_err(fail)?;
    let program =
        snn_compiler::compile(&mut db, root, &CompileConfig { seed, dt, max_memory, build })
            .map_err(|d| render_all(&db, &d))?;
    Ok((db, program))
}

/// The steps of `--time SECONDS` at time step `dt`, rounded as Nengo's `Simulator.run` does
/// (`np.round`: halves to even); non-finite or negative times are errors.
pub fn steps_for_time(time: f64, dt: f64) -> Result<usize, Failure> {
    check_dt(dt)?;
    if !(time >= 0.0 && time.is_finite()) {
        return Err(fail(format!(
            "--time must be a non-negative number of seconds, found {time:?}"
        )));
    }
    let steps = (time / dt).round_ties_even();
    if steps > MAX_STEPS as f64 {
        return Err(fail(format!(
            "--time {time:?} is {steps:e} steps of {dt} s; at most {MAX_STEPS} steps can be run"
        )));
    }
    Ok(steps as usize)
}

/// The most steps one run can have (`--steps`, `--time`): 2^40, beyond any run that ends.
pub const MAX_STEPS: usize = 1 << 40;

/// The most threads `--threads` can ask for.
pub const MAX_THREADS: usize = 4096;

/// Refuse a `--dt` that is not a positive finite number of seconds.
pub fn check_dt(dt: f64) -> Result<(), Failure> {
    if !(dt > 0.0 && dt.is_finite()) {
        return Err(fail(format!("--dt must be a positive number of seconds, found {dt}")));
    }
    // beyond these, synapses and neurons do not discretise meaningfully (and a step count
    // of a second's simulation overflows)
    if !(MIN_DT..=MAX_DT).contains(&dt) {
        return Err(fail(format!("--dt must be from 1 ns to 1 hour, found {dt:e} s")));
    }
    Ok(())
}

/// The smallest time step a command takes (1 ns).
pub const MIN_DT: f64 = 1e-9;
/// The largest time step a command takes (1 hour).
pub const MAX_DT: f64 = 3600.0;

/// Refuse absurd `--steps` and `--threads`.
pub fn check_counts(steps: usize, threads: usize) -> Result<(), Failure> {
    if steps > MAX_STEPS {
        return Err(fail(format!("--steps {steps} is more than the {MAX_STEPS} a run can have")));
    }
    if threads > MAX_THREADS {
        return Err(fail(format!(
            "--threads {threads} is more than {MAX_THREADS}; 0 uses one per core"
        )));
    }
    Ok(())
}

/// The memory a run may use unless `--max-memory` says otherwise: the machine's memory
/// (`MemTotal` of /proc/meminfo; 16 GiB where that cannot be read), or less where the process
/// may use less: what its address-space and data limits (`ulimit -v`, `-d`) leave beyond what
/// it already maps, and its cgroup's `memory.max`.
pub fn default_max_memory() -> u64 {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    // "Key:   1234 kB" in /proc's status files
    let kib = |text: &Option<String>, key: &str| -> Option<u64> {
        let line = text.as_deref()?.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()?.checked_mul(1024)
    };
    let mut limit = kib(&read("/proc/meminfo"), "MemTotal:").unwrap_or(16 << 30);
    let status = read("/proc/self/status");
    let limits = read("/proc/self/limits");
    for (name, used) in [("Max address space", "VmSize:"), ("Max data size", "VmData:")] {
        let soft = limits.as_deref().and_then(|l| {
            let line = l.lines().find(|x| x.starts_with(name))?;
            line[name.len()..].split_whitespace().next()?.parse::<u64>().ok()
        });
        if let Some(soft) = soft {
            limit = limit.min(soft.saturating_sub(kib(&status, used).unwrap_or(0)));
        }
    }
    let cgroup = read("/sys/fs/cgroup/memory.max").and_then(|m| m.trim().parse::<u64>().ok());
    limit.min(cgroup.unwrap_or(u64::MAX))
}

/// Parse a byte count: `1000000`, `512M`, `8G`, `1.5T` (K, M, G, T: powers of 1024; an
/// optional `B` or `iB`).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown unit in `{s}` (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let x: f64 =
        num.trim().parse().map_err(|_| format!("`{s}` is not a size such as 8G or 512M"))?;
    let bytes = x * mult as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{s}` is not a usable memory size"));
    }
    Ok(bytes as u64)
}

pub use snn_compiler::budget::human_bytes;

/// A time option (`--time`, `--dt`, `--synapse`): seconds, or a number with one of the
/// language's time units (`5ms`, `0.5 s`, `100us`, `1min`), as the language reads times.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    let t = s.trim();
    // a plain number (also `inf`, `nan`: the option's own check explains why not)
    if let Ok(x) = t.parse::<f64>() {
        return Ok(x);
    }
    let split = t
        .char_indices()
        .find(|&(i, c)| c.is_ascii_alphabetic() && !is_exponent(t, i))
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = (t[..split].trim(), t[split..].trim());
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "min" => 60.0,
        other => {
            return Err(format!(
                "unknown time unit `{other}` in `{s}` (units are s, ms, us and min; a bare number is seconds)"
            ))
        }
    };
    let x: f64 = num.parse().map_err(|_| format!("`{s}` is not a time such as 0.5, 10ms or 2s"))?;
    Ok(x * scale)
}

/// Whether the `e`/`E` at byte `i` of `t` is a number's exponent (`1e-3`), not a unit.
fn is_exponent(t: &str, i: usize) -> bool {
    let b = t.as_bytes();
    matches!(b[i], b'e' | b'E')
        && i > 0
        && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.')
        && b.get(i + 1).is_some_and(|c| c.is_ascii_digit() || *c == b'-' || *c == b'+')
}

/// Bytes the probes of a run hold: batch × samples × sample size × 8 per probe.
pub fn probe_bytes(program: &Program, steps: usize, batch: usize) -> u128 {
    program
        .probes
        .iter()
        .map(|p| {
            let size: u128 = p.shape.iter().map(|&d| d as u128).product();
            let samples = (steps / p.every.max(1)) as u128;
            batch as u128 * samples * size * 8
        })
        .sum()
}

/// `snnc ir FILE` (`opt`: after the default target's passes, every input taken as held).
pub fn ir(file: &Path, dt: f64, opt: bool) -> Result<String, Failure> {
    let (_, mut program) = compile(file, None, dt)?;
    if !opt {
        return Ok(snn_compiler::ir::print(&program));
    }
    let held = vec![true; program.inputs.len()];
    DEFAULT_TARGET.optimize(&mut program, &held);
    Ok(DEFAULT_TARGET.print(&program))
}

/// Runs `target`'s optimisation passes for these inputs (each held when it has no time axis);
/// what they did, one line per pass.
pub fn optimize(target: &dyn Target, program: &mut Program, inputs: &[ArrayD<f64>]) -> Vec<String> {
    let held: Vec<bool> =
        program.inputs.iter().zip(inputs).map(|(d, a)| a.ndim() == d.shape.len() + 1).collect();
    target.optimize(program, &held)
}

/// The target called `name` (`snnc run` and `snnc bench` share it).
pub fn check_backend(name: &str) -> Result<&'static dyn Target, Failure> {
    // the loihi target's host part (nodes, host populations) runs on the JIT
    snn_loihi::host::set_host_target(&Jit);
    TARGETS.into_iter().find(|t| t.name() == name).ok_or_else(|| {
        let all: Vec<&str> = TARGETS.iter().map(|t| t.name()).collect();
        fail(format!("unknown backend `{name}` (available: {})", all.join(", ")))
    })
}

/// Prepare `program` for `target` in `dtype` (the JIT compiles here).
pub fn prepare(
    program: &Program,
    target: &dyn Target,
    dtype: Dtype,
) -> Result<Box<dyn Executable>, Failure> {
    target.prepare(program, dtype.precision()).map_err(|e| fail(e.to_string()))
}

/// What `-v` prints about a prepared program (empty for the interpreter).
pub fn describe(prepared: &dyn Executable) -> String {
    prepared.describe().iter().map(|l| format!("{l}\n")).collect()
}

/// The probe `--labels` scores (`name`, or the only probe), checked as
/// [`crate::accuracy::accuracy`] will check its samples (labels one per batch element, each a
/// class the probe has), so a mistake is reported before the run, not after writing its file.
pub fn check_labels(
    probes: &[snn_compiler::ir::ProbeDecl],
    name: Option<&str>,
    labels: &[usize],
    batch: usize,
    steps: usize,
) -> Result<(), String> {
    let decl = match name {
        Some(p) => probes
            .iter()
            .find(|d| d.name == p)
            .ok_or_else(|| format!("the model has no probe `{p}`"))?,
        None => match probes {
            [one] => one,
            _ => {
                let names: Vec<&str> = probes.iter().map(|d| d.name.as_str()).collect();
                return Err(format!(
                    "the model has {} probes ({}): name the scored one with --labels PROBE=FILE.npy",
                    names.len(),
                    names.join(", ")
                ));
            }
        },
    };
    let samples = (steps / decl.every.max(1)).min(1);
    let mut shape = vec![batch, samples];
    shape.extend(&decl.shape);
    let size: usize = shape.iter().product();
    if size > 1 << 24 {
        return Ok(()); // too large to try on zeros; scored after the run
    }
    let zeros = ndarray::ArrayD::zeros(ndarray::IxDyn(&shape));
    crate::accuracy::accuracy(&decl.name, &zeros, labels).map(|_| ())
}

/// A tolerance (`verify --atol/--rtol`): a finite number, zero or more.
pub fn parse_tolerance(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(x) => Err(format!("a tolerance is a finite number, zero or more; found {x}")),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

/// `snnc run FILE …`.
pub fn run(cfg: &RunConfig) -> Result<(), Failure> {
    let target = check_backend(&cfg.backend)?;
    let (db, mut program) =
        compile_within(&cfg.file, cfg.seed, cfg.dt, cfg.max_memory, target.build_options())?;
    // nothing read may be overwritten: the model, its imports and weights, the inputs
    let mut read = db.files_read();
    read.extend(
        cfg.inputs.iter().map(|a| PathBuf::from(a.split_once('=').map_or(a.as_str(), |p| p.1))),
    );
    crate::output::check(&read, &[&cfg.output]).map_err(fail)?;
    crate::output::check_directories(&[&cfg.output]).map_err(fail)?;
    if program.probes.is_empty() {
        crate::errln!(
            "warning: {} has no probes: {} will hold no arrays",
            cfg.file.display(),
            cfg.output.display()
        );
    }
    let monitors = if cfg.rates {
        snn_compiler::ir::monitor::add_rate_monitors(&mut program, cfg.steps)
    } else {
        Vec::new()
    };
    let meta = probe_metadata(&program);
    let (inputs, batch) = load_inputs(&program, &cfg.inputs, cfg.steps)?;
    if let Some((probe, labels)) = &cfg.labels {
        let user = &program.probes[..program.probes.len() - monitors.len()];
        check_labels(user, probe.as_deref(), labels, batch, cfg.steps).map_err(fail)?;
    }
    let probes = probe_bytes(&program, cfg.steps, batch);
    let limit = cfg.max_memory.unwrap_or_else(default_max_memory);
    // Probes beyond the budget stream to disk a chunk of steps at a time (the budget then holds
    // the chunk's buffers, not the run's samples).
    let stream = (probes > limit as u128).then(|| stream_chunk(&program, cfg.steps, batch, limit));
    let too_big = |why: &str| {
        fail(format!(
            "the probes of {} steps x batch {batch} need {}, more than the {} allowed (--max-memory){why}; \
             run fewer steps, probe less or use `sample_every`",
            cfg.steps,
            human_bytes(probes),
            human_bytes(limit as u128)
        ))
    };
    let chunk = match stream {
        None => None,
        Some(_) if cfg.rates => return Err(too_big(", and --rates needs every sample in memory")),
        Some(None) => return Err(too_big(", even one step at a time")),
        // the spool and the file hold the samples twice on disk
        Some(Some(_))
            if snn_io::free_space(&cfg.output)
                .is_some_and(|free| probes.saturating_mul(2) > u128::from(free)) =>
        {
            return Err(too_big(", and streaming them needs twice that on disk, more than is free"))
        }
        Some(Some(c)) => Some(c),
    };
    if !cfg.no_opt {
        let report = optimize(target, &mut program, &inputs);
        if cfg.verbose {
            for line in report {
                crate::errln!("opt: {line}");
            }
        }
    }
    let total = (cfg.steps as u64).saturating_mul(batch as u64);
    // A progress bar on long runs, on stderr only when it is a terminal.
    let bar = (total >= 100_000 && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(|| indicatif::ProgressBar::new(total));
    let prepared = prepare(&program, target, cfg.dtype)?;
    if cfg.verbose {
        crate::err!("{}", describe(prepared.as_ref()));
    }
    if let Some(chunk) = chunk {
        if !prepared.streams() {
            return Err(too_big(&format!(
                ", and the `{}` backend holds a whole run in memory",
                target.name()
            )));
        }
        if cfg.verbose {
            crate::errln!("probes stream to {} every {chunk} steps", cfg.output.display());
        }
        let start = std::time::Instant::now();
        stream_to(&program, prepared.as_ref(), cfg, &inputs, (batch, chunk), &meta, &bar)?;
        if cfg.verbose {
            let s = start.elapsed().as_secs_f64();
            crate::errln!("{}: {} steps x batch {batch} in {s:.4} s", target.name(), cfg.steps);
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        return Ok(());
    }
    let start = std::time::Instant::now();
    let out = prepared
        .run(cfg.steps, batch, &inputs, cfg.threads, &mut |n| {
            if let Some(b) = &bar {
                b.inc(n);
            }
        })
        .map_err(|e| fail(e.to_string()))?;
    if cfg.verbose {
        let s = start.elapsed().as_secs_f64();
        crate::errln!(
            "{}: {} steps x batch {batch} in {s:.4} s ({:.0} steps/s, {})",
            target.name(),
            cfg.steps,
            cfg.steps as f64 * batch as f64 / s.max(1e-12),
            cfg.dtype.name()
        );
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !monitors.is_empty() {
        print_rates(&monitors, &out, cfg.steps);
    }
    let named: Vec<(&str, ndarray::ArrayViewD<f64>)> = program
        .probes
        .iter()
        .zip(&out)
        .filter(|(p, _)| !p.name.starts_with(snn_compiler::ir::monitor::PROBE_PREFIX))
        .map(|(p, a)| (p.name.as_str(), a.view()))
        .collect();
    snn_io::write_npz_with_comment(&cfg.output, &named, cfg.dtype.precision(), &meta)
        .map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// The `.npz` archive comment `snnc run` writes (NumPy's `np.load` ignores it; `snnc plot`
/// reads it): JSON `{"snnc_probes": {"dt": DT, "probes": {NAME: {"every": N, "spikes": B}}}}`,
/// so sample `k` (from 0) of probe `NAME` is at time `(k + 1) * N * DT`, as Nengo's
/// `trange(sample_every)`, and `spikes` says whether it records a spiking population's
/// unfiltered output.
pub fn probe_metadata(program: &Program) -> String {
    use snn_compiler::ir::OpKind;
    let spiking: std::collections::BTreeSet<u32> = program
        .once
        .iter()
        .chain(&program.ops)
        .filter_map(|op| match &op.kind {
            OpKind::SimNeurons { neuron, out, .. } if neuron.is_spiking() => Some(out.0),
            _ => None,
        })
        .collect();
    let probes: serde_json::Map<String, serde_json::Value> = program
        .probes
        .iter()
        .filter(|p| !p.name.starts_with(snn_compiler::ir::monitor::PROBE_PREFIX))
        .map(|p| {
            let v = serde_json::json!({"every": p.every.max(1), "spikes": spiking.contains(&p.signal.0)});
            (p.name.clone(), v)
        })
        .collect();
    serde_json::json!({"snnc_probes": {"dt": program.dt, "probes": probes}}).to_string()
}

/// Bytes of probe buffers one streaming chunk may hold: an eighth of the memory budget, at
/// most 64 MiB (larger chunks gain nothing; the samples are written as they come).
const STREAM_BUFFER: u64 = 64 << 20;

/// Steps per chunk when streaming probes under memory `limit`: as many as fit the buffer
/// (the code's samples, their `f64` copies and the bytes written: 3 copies at 8 bytes), `None`
/// when not even one step fits.
pub fn stream_chunk(program: &Program, steps: usize, batch: usize, limit: u64) -> Option<usize> {
    let per_step: u128 = program
        .probes
        .iter()
        .map(|p| {
            let size: u128 = p.shape.iter().map(|&d| d as u128).product();
            // a chunk of `c` steps holds at most c / every + 1 samples
            (batch as u128 * size * 8 * 3).div_ceil(p.every.max(1) as u128)
                + batch as u128 * size * 8 * 3
        })
        .sum();
    let buffer = u128::from((limit / 8).min(STREAM_BUFFER));
    let chunk = buffer.checked_div(per_step.max(1))?;
    (chunk >= 1).then(|| chunk.min(steps.max(1) as u128) as usize)
}

/// Runs `prepared` in chunks of `chunk` steps, writing each chunk's probe samples into an
/// [`snn_io::NpzSpool`] at `output`; the file equals what the in-memory run writes.
fn stream_to(
    program: &Program,
    prepared: &dyn Executable,
    cfg: &RunConfig,
    inputs: &[ArrayD<f64>],
    (batch, chunk): (usize, usize),
    meta: &str,
    bar: &Option<indicatif::ProgressBar>,
) -> Result<(), Failure> {
    let output = &cfg.output;
    let kept: Vec<usize> = (0..program.probes.len())
        .filter(|&i| !program.probes[i].name.starts_with(snn_compiler::ir::monitor::PROBE_PREFIX))
        .collect();
    let totals: Vec<usize> = program.probes.iter().map(|p| cfg.steps / p.every.max(1)).collect();
    let decl: Vec<(&str, Vec<usize>)> = kept
        .iter()
        .map(|&i| {
            let p = &program.probes[i];
            let mut shape = vec![batch, totals[i]];
            shape.extend(&p.shape);
            (p.name.as_str(), shape)
        })
        .collect();
    let mut spool = snn_io::NpzSpool::new(output, &decl, cfg.dtype.precision())
        .map_err(|e| fail(e.to_string()))?;
    spool.set_comment(meta);
    let mut done = vec![0usize; program.probes.len()];
    let mut sink = |arrays: Vec<ArrayD<f64>>| -> Result<(), String> {
        for (k, &i) in kept.iter().enumerate() {
            let a = &arrays[i];
            let n = a.shape().get(1).copied().unwrap_or(0);
            let size: usize = program.probes[i].shape.iter().product();
            let flat = a.as_standard_layout();
            let flat = flat.as_slice().ok_or("probe chunk not contiguous")?;
            for b in 0..batch {
                let piece = &flat[b * n * size..(b + 1) * n * size];
                let first = (b * totals[i] + done[i]) * size;
                spool.write_at(k, first, piece).map_err(|e| e.to_string())?;
            }
        }
        for (d, a) in done.iter_mut().zip(&arrays) {
            *d += a.shape().get(1).copied().unwrap_or(0);
        }
        Ok(())
    };
    prepared
        .run_streaming(
            cfg.steps,
            batch,
            inputs,
            cfg.threads,
            chunk,
            &mut |n| {
                if let Some(b) = bar {
                    b.inc(n);
                }
            },
            &mut sink,
        )
        .map_err(|e| fail(e.to_string()))?;
    spool.finish().map_err(|e| fail(e.to_string()))
}

/// Read the `--input [NAME=]FILE.npy` arguments and match them to `program`'s inputs (shape
/// `(batch, *shape)` or `(batch, steps, *shape)`); returns the arrays in input order and the
/// batch size (1 for a model without inputs).
pub fn load_inputs(
    program: &Program,
    args: &[String],
    steps: usize,
) -> Result<(Vec<ArrayD<f64>>, usize), Failure> {
    // Match --input arguments to the model's inputs.
    let names: Vec<&str> = program.inputs.iter().map(|i| i.name.as_str()).collect();
    let given =
        read_named_inputs(args, &names, |n| names.iter().position(|m| *m == n)).map_err(fail)?;
    let mut inputs = Vec::new();
    let mut batch = None;
    for (decl, arr) in program.inputs.iter().zip(given) {
        let shape = crate::render_shape(&decl.shape);
        let arr = arr.ok_or_else(|| fail(format!("missing input `{}`: give --input {}=FILE.npy with shape (batch, {}) or (batch, steps, {})", decl.name, decl.name, shape, shape)))?;
        let s = arr.shape().to_vec();
        if s.first() == Some(&0) {
            return Err(fail(format!(
                "input `{}` has shape {s:?}: no batch elements (its first axis is the batch)",
                decl.name
            )));
        }
        let held = s.len() >= 2 && sample_fits(&s[1..], &decl.shape);
        let per_step = s.len() >= 3 && sample_fits(&s[2..], &decl.shape) && s[1] == steps;
        if !held && !per_step {
            return Err(fail(format!(
                "input `{}` has shape {:?}; expected (batch, {shape}) or (batch, {}, {shape})",
                decl.name, s, steps
            )));
        }
        // a channel axis of 1 left out or added: the declared shape
        let mut want = if held { vec![s[0]] } else { vec![s[0], s[1]] };
        want.extend(&decl.shape);
        let arr = arr
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order(IxDyn(&want))
            .map_err(|e| fail(e.to_string()))?;
        match batch {
            None => batch = Some(s[0]),
            Some(b) if b != s[0] => {
                return Err(fail(format!("inputs disagree on the batch size: {b} and {}", s[0])))
            }
            _ => {}
        }
        inputs.push(arr.as_standard_layout().to_owned());
    }
    Ok((inputs, batch.unwrap_or(1)))
}

/// `--input [NAME=]FILE.npy` arguments read into one slot per input (`names`, in order; `find`
/// maps a given name to its slot; a bare file is the only input's). An error names an unknown
/// input, or asks for names when there are several inputs.
pub fn read_named_inputs(
    args: &[String],
    names: &[&str],
    find: impl Fn(&str) -> Option<usize>,
) -> Result<Vec<Option<ArrayD<f64>>>, String> {
    let mut given: Vec<Option<ArrayD<f64>>> = vec![None; names.len()];
    for arg in args {
        let (name, path) = match arg.split_once('=') {
            Some((n, p)) => (Some(n), PathBuf::from(p)),
            None => (None, PathBuf::from(arg)),
        };
        let idx = match name {
            Some(n) => find(n).ok_or_else(|| {
                format!(
                    "the model has no input `{n}` (inputs: {})",
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                )
            })?,
            None if names.len() == 1 => 0,
            None if names.is_empty() => {
                return Err(format!("the model has no inputs, but --input {arg} was given"))
            }
            None => {
                return Err(format!(
                    "the model has {} inputs: name them with --input NAME=FILE.npy",
                    names.len()
                ))
            }
        };
        if given[idx].is_some() {
            return Err(format!("input `{}` is given twice (--input {arg})", names[idx]));
        }
        given[idx] = Some(snn_io::read_npy(&path).map_err(|e| e.to_string())?);
    }
    Ok(given)
}

/// Whether one sample of shape `per` is one of a value declared `decl`: the same shape, or with
/// a last axis of one channel left out or added (images `(28, 28)` for `[28, 28, 1]`, or
/// `(28, 28, 1)` for `[28, 28]`).
pub fn sample_fits(per: &[usize], decl: &[usize]) -> bool {
    per == decl
        || matches!(decl.split_last(), Some((1, rest)) if !rest.is_empty() && per == rest)
        || matches!(per.split_last(), Some((1, rest)) if !decl.is_empty() && rest == decl)
}

/// Simulate `program` with the reference interpreter in `dtype` (any target: [`prepare`]);
/// inputs and probe arrays are `f64` (float32 results widened exactly). `progress(n)` is called
/// every `n` steps.
pub fn simulate(
    program: &Program,
    steps: usize,
    batch: usize,
    inputs: &[ArrayD<f64>],
    dtype: Dtype,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ArrayD<f64>>, Failure> {
    snn_compiler::target::run(
        &Interp,
        program,
        dtype.precision(),
        steps,
        batch,
        inputs,
        1,
        progress,
    )
    .map_err(|e| fail(e.to_string()))
}

/// The `--rates` table: one line per neuron population.
fn print_rates(
    monitors: &[snn_compiler::ir::monitor::RateMonitor],
    out: &[ArrayD<f64>],
    steps: usize,
) {
    let width = monitors.iter().map(|m| m.name.len()).max().unwrap_or(0).max(5);
    crate::outln!(
        "{:width$}  {:>8}  {:>8}  {:>12}  {:>12}",
        "layer",
        "neurons",
        "kind",
        "mean (Hz)",
        "max (Hz)"
    );
    for m in monitors {
        let s = snn_compiler::ir::monitor::rate_stats(m, &out[m.probe], steps);
        let kind = if s.spiking { "spiking" } else { "rate" };
        crate::outln!(
            "{:width$}  {:>8}  {:>8}  {:>12.3}  {:>12.3}",
            s.name,
            s.neurons,
            kind,
            s.mean_hz,
            s.max_hz
        );
    }
}
