//! The `snnc` binary: parses arguments and dispatches to the commands.

use clap::{Parser, Subcommand};
use snn_compiler::SourceDb;
use snn_fs::FsDb;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "snnc", version, about = "Compiler and runtime for .snn spiking neural networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files for errors; exit 1 if there are any.
    Check {
        /// The .snn files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Format files canonically (in place), or with --check report which would change.
    Fmt {
        /// Only check; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
        /// The .snn files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Simulate a model and write its probes to an .npz file.
    Run(RunArgs),
    /// Compile a model ahead of time into a native library with a C ABI: DIR/libNAME.so,
    /// DIR/libNAME.a and DIR/NAME.h.
    Build(BuildArgs),
    /// Draw a run's probes over time (and the input images) as a PNG or SVG figure.
    Plot(PlotArgs),
    /// Time compiling and simulating a model (in-process): compile time and steps per second.
    Bench(BenchArgs),
    /// Convert a Keras model (.h5 or .keras) into a .snn file and a .safetensors weights file.
    Import(ImportArgs),
    /// Check a converted network against a Keras-semantics evaluation of the model, layer by
    /// layer (rate neurons, one step); exit 1 naming the first layer that diverges.
    Verify(VerifyArgs),
    /// Run the language server (LSP over stdin/stdout), for editors.
    Lsp,
    /// Print the lowered step IR.
    Ir {
        /// The .snn model.
        file: PathBuf,
        /// Time step in seconds.
        #[arg(long, default_value_t = 0.001)]
        dt: f64,
        /// Print the program after the optimisation passes (every input taken as held).
        #[arg(long)]
        opt: bool,
    },
}

/// How a model is simulated: the arguments `snnc run` and `snnc bench` share.
#[derive(clap::Args)]
struct SimArgs {
    /// Time step in seconds.
    #[arg(long, default_value_t = 0.001)]
    dt: f64,
    /// Input data: `NAME=FILE.npy`, or `FILE.npy` for a model with one input.
    #[arg(long = "input")]
    inputs: Vec<String>,
    /// Model seed (overrides `seed N` in the file).
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: `jit` (native code) or `interp` (the reference interpreter).
    #[arg(long, default_value = "jit")]
    backend: String,
    /// Threads running batch elements in parallel (jit; 0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Run the program as lowered, without the optimisation passes.
    #[arg(long)]
    no_opt: bool,
    /// Float type of the simulation (and of `run`'s output arrays; docs/PRECISION.md).
    #[arg(long, value_enum, default_value_t = snnc::run::Dtype::Float64)]
    dtype: snnc::run::Dtype,
}

/// Arguments of `snnc run`.
#[derive(clap::Args)]
struct RunArgs {
    /// The .snn model.
    file: PathBuf,
    /// Number of steps.
    #[arg(long, conflicts_with = "time")]
    steps: Option<usize>,
    /// Simulated time in seconds (rounded to whole steps).
    #[arg(long)]
    time: Option<f64>,
    #[command(flatten)]
    sim: SimArgs,
    /// Print compile and simulation times, and what runs as host calls.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Output file.
    #[arg(short = 'o', long, default_value = "out.npz")]
    output: PathBuf,
    /// Class labels `[PROBE=]FILE.npy`, shape (batch,): print the accuracy of the probe's
    /// argmax at the last step (the probe may be omitted when the model has one).
    #[arg(long)]
    labels: Option<String>,
    /// Print each neuron population's mean and max firing rate (Hz) over the run.
    #[arg(long)]
    rates: bool,
}

/// Arguments of `snnc build`.
#[derive(clap::Args)]
struct BuildArgs {
    /// The .snn model.
    file: PathBuf,
    /// Output directory (created if missing).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Library name: libNAME.so, NAME.h, NAME_new, … (default: the file stem as a C identifier).
    #[arg(long)]
    name: Option<String>,
    /// Float type of the code, its inputs and probes.
    #[arg(long, value_enum, default_value_t = snnc::run::Dtype::Float64)]
    dtype: snnc::run::Dtype,
    /// What to build for: `native` (this machine).
    #[arg(long, default_value = "native")]
    target: String,
    /// Time step in seconds.
    #[arg(long, default_value_t = 0.001)]
    dt: f64,
    /// Model seed (overrides `seed N` in the file).
    #[arg(long)]
    seed: Option<u64>,
}

/// Arguments of `snnc plot`.
#[derive(clap::Args)]
struct PlotArgs {
    /// The .npz written by `snnc run`.
    data: PathBuf,
    /// The figure (.png or .svg).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// A probe to draw (repeatable; default: every probe).
    #[arg(long = "probe")]
    probes: Vec<String>,
    /// Input images (batch, H, W[, C]) to draw in the first column.
    #[arg(long)]
    image: Option<PathBuf>,
    /// Batch element to draw, one row each (repeatable; default 0).
    #[arg(long = "index")]
    indices: Vec<usize>,
    /// Draw at most this many neurons per probe (evenly spaced).
    #[arg(long, default_value_t = 100)]
    neurons: usize,
    /// Time step of the run, for the time axis.
    #[arg(long, default_value_t = 0.001)]
    dt: f64,
}

/// Arguments of `snnc bench`.
#[derive(clap::Args)]
struct BenchArgs {
    /// The .snn model.
    file: PathBuf,
    /// Steps per timed run.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    #[command(flatten)]
    sim: SimArgs,
    /// Timed runs; the fastest is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `snnc import`.
#[derive(clap::Args)]
struct ImportArgs {
    /// The Keras model.
    model: PathBuf,
    /// The .snn file to write (weights go beside it, same name, .safetensors).
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Swap an activation by name: `relu=spiking_relu`, `relu=lif` (repeatable).
    #[arg(long)]
    swap: Vec<String>,
    /// Multiply gains and biases of neuron layers by X and divide their amplitude by X.
    #[arg(long)]
    scale_firing_rates: Option<f64>,
    /// Lowpass synapse (seconds) on every connection leaving a neuron layer.
    #[arg(long)]
    synapse: Option<f64>,
    /// Refuse layers that cannot be converted natively (exit 1 naming the layer).
    #[arg(long)]
    no_fallback: bool,
    /// Convert MaxPooling as average pooling.
    #[arg(long)]
    max_to_avg_pool: bool,
    /// Initial voltages of spiking layers: an .npz with one array per Keras layer name.
    #[arg(long)]
    initial_voltages: Option<PathBuf>,
    /// Also probe this Keras layer (repeatable); the model's outputs are always probed.
    #[arg(long)]
    probe: Vec<String>,
    /// A .snn file whose `network` definitions convert Keras classes of the same name.
    #[arg(long)]
    layers: Vec<PathBuf>,
    /// Write the model as `network NAME { … }` (Keras inputs and outputs as members) for other
    /// .snn files to `use` and instantiate.
    #[arg(long)]
    network: Option<String>,
}

/// Arguments of `snnc verify`.
#[derive(clap::Args)]
struct VerifyArgs {
    /// The Keras model.
    model: PathBuf,
    /// An imported .snn (with its weights file) to check; default: convert in memory.
    #[arg(long)]
    snn: Option<PathBuf>,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-8)]
    atol: f64,
    /// Relative tolerance.
    #[arg(long, default_value_t = 1e-5)]
    rtol: f64,
    /// `.snn` blocks for custom classes and Lambdas (as given to `snnc import`).
    #[arg(long)]
    layers: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => check(&files),
        Command::Fmt { check, files } => fmt(&files, check),
        Command::Run(args) => run_cmd(args),
        Command::Build(a) => {
            let cfg = snnc::build::BuildConfig {
                file: a.file,
                output: a.output,
                name: a.name,
                dtype: a.dtype,
                target: a.target,
                dt: a.dt,
                seed: a.seed,
                cc: None,
            };
            report(snnc::build::build(&cfg).map(|text| eprint!("{text}")))
        }
        Command::Plot(args) => plot_cmd(args),
        Command::Bench(args) => bench_cmd(args),
        Command::Import(args) => import_cmd(args),
        Command::Verify(args) => verify_cmd(args),
        Command::Lsp => lsp(),
        Command::Ir { file, dt, opt } => {
            report(snnc::run::ir(&file, dt, opt).map(|text| print!("{text}")))
        }
    }
}

/// `snnc run`.
fn run_cmd(args: RunArgs) -> ExitCode {
    let RunArgs { file, steps, time, sim, verbose, output, labels, rates } = args;
    let SimArgs { dt, inputs, seed, backend, threads, no_opt, dtype } = sim;
    let steps = steps.unwrap_or_else(|| time.map(|t| (t / dt).round() as usize).unwrap_or(1000));
    let res = snnc::run::run(&snnc::run::RunConfig {
        file,
        steps,
        dt,
        inputs,
        seed,
        backend,
        threads,
        verbose,
        no_opt,
        output: output.clone(),
        rates,
        dtype,
    });
    match (res, labels) {
        (Ok(()), Some(l)) => score(&output, &l),
        (res, _) => report(res),
    }
}

/// `snnc plot`.
fn plot_cmd(args: PlotArgs) -> ExitCode {
    let PlotArgs { data, output, probes, image, indices, neurons, dt } = args;
    let cfg = snnc::plot::PlotConfig { data, output, probes, image, indices, neurons, dt };
    match snnc::plot::plot(&cfg) {
        Ok(msg) => {
            eprintln!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `snnc bench`.
fn bench_cmd(args: BenchArgs) -> ExitCode {
    let BenchArgs { file, steps, sim, repeat, json } = args;
    let SimArgs { dt, inputs, seed, backend, threads, no_opt, dtype } = sim;
    let cfg = snnc::bench::BenchConfig {
        file,
        steps,
        dt,
        inputs,
        seed,
        backend,
        threads,
        no_opt,
        dtype,
        repeat,
    };
    report(snnc::bench::bench(&cfg).and_then(|r| {
        let text = if json { snnc::bench::to_json(&r)? + "\n" } else { snnc::bench::render(&r) };
        print!("{text}");
        Ok(())
    }))
}

/// `snnc import`.
fn import_cmd(args: ImportArgs) -> ExitCode {
    let ImportArgs {
        model,
        output,
        swap,
        scale_firing_rates,
        synapse,
        no_fallback,
        max_to_avg_pool,
        initial_voltages,
        probe,
        layers,
        network,
    } = args;
    let cfg = snnc::import::ImportConfig {
        model,
        output,
        swap,
        initial_voltages,
        layers,
        options: snn_keras::convert::Options {
            scale_firing_rates,
            synapse,
            no_fallback,
            max_to_avg_pool,
            probes: probe,
            network,
            ..Default::default()
        },
    };
    match snnc::import::import(&cfg) {
        Ok(c) => {
            print!("{}", snnc::import::table(&c));
            eprintln!(
                "wrote {} and {}",
                cfg.output.display(),
                cfg.output.with_extension("safetensors").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `snnc verify`.
fn verify_cmd(args: VerifyArgs) -> ExitCode {
    let VerifyArgs { model, snn, atol, rtol, layers } = args;
    let cfg = snnc::verify::VerifyConfig { model, snn, atol, rtol, layers };
    match snnc::verify::verify(&cfg) {
        Ok(diffs) => {
            for d in diffs.iter().filter(|d| d.output) {
                println!("output `{}`: largest difference {:.3e}", d.layer, d.max_abs);
            }
            match diffs.iter().find(|d| !d.ok) {
                None => {
                    println!(
                        "verified: {} layer(s) agree with Keras (atol {atol:e}, rtol {rtol:e})",
                        diffs.len()
                    );
                    ExitCode::SUCCESS
                }
                Some(d) => {
                    eprintln!(
                        "error: layer `{}` is the first to diverge from Keras: largest difference {:.3e} (atol {atol:e}, rtol {rtol:e})",
                        d.layer, d.max_abs
                    );
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `snnc lsp`.
fn lsp() -> ExitCode {
    match snn_lsp::run_stdio() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report(res: Result<(), snnc::run::Failure>) -> ExitCode {
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprint!("{}", f.0);
            ExitCode::FAILURE
        }
    }
}

/// `run --labels`: score the probe written to `output` against the labels.
fn score(output: &std::path::Path, arg: &str) -> ExitCode {
    let (probe, file) = snnc::accuracy::parse_labels_arg(arg);
    let res = snnc::accuracy::read_labels(file).and_then(|labels| {
        let data = snn_io::read_npz(output).map_err(|e| e.to_string())?;
        let (name, arr) = match probe {
            Some(p) => (p, data.get(p).ok_or_else(|| format!("the model has no probe `{p}`"))?),
            None if data.len() == 1 => data.iter().next().map(|(n, a)| (n.as_str(), a)).ok_or("no probe")?,
            None => {
                let names: Vec<&str> = data.keys().map(String::as_str).collect();
                return Err(format!(
                    "the model has {} probes ({}): name the scored one with --labels PROBE=FILE.npy",
                    names.len(),
                    names.join(", ")
                ));
            }
        };
        snnc::accuracy::accuracy(name, arr, &labels)
    });
    match res {
        Ok(acc) => {
            println!("{acc}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(files: &[PathBuf]) -> ExitCode {
    let color = std::io::stderr().is_terminal();
    let mut n_errors = 0;
    for path in files {
        let mut db = FsDb::new();
        let root = match db.load(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {e}");
                n_errors += 1;
                continue;
            }
        };
        let checked = snn_compiler::check(&mut db, root);
        for d in &checked.diagnostics {
            eprint!("{}", snnc::render::render(&db as &dyn SourceDb, d, color));
            if d.is_error() {
                n_errors += 1;
            }
        }
    }
    if n_errors > 0 {
        eprintln!("{n_errors} error(s)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn fmt(files: &[PathBuf], check_only: bool) -> ExitCode {
    let color = std::io::stderr().is_terminal();
    let mut failed = false;
    for path in files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                failed = true;
                continue;
            }
        };
        match snn_syntax::format(&text) {
            Ok(out) if out == text => {}
            Ok(_) if check_only => {
                eprintln!("{} is not formatted", path.display());
                failed = true;
            }
            Ok(out) => {
                let tmp = path.with_extension("snn.fmt-tmp");
                if let Err(e) = std::fs::write(&tmp, out).and_then(|_| std::fs::rename(&tmp, path))
                {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    let _ = std::fs::remove_file(&tmp);
                    failed = true;
                }
            }
            Err(d) => {
                let mut db = FsDb::new();
                db.add(&path.display().to_string(), None, text);
                eprint!("{}", snnc::render::render(&db as &dyn SourceDb, &d, color));
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
