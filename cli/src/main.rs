//! The `snnc` binary: parses arguments and dispatches to the commands.

use clap::{Parser, Subcommand};
use snn_compiler::SourceDb;
use snn_fs::FsDb;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
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
        /// Also check the model maps onto this target (`loihi`: cores, integers, synapses).
        #[arg(long)]
        target: Option<String>,
        /// Memory the model may need to build and run: bytes, or with K/M/G/T (default: the
        /// machine's memory).
        #[arg(long, value_parser = snnc::run::parse_bytes)]
        max_memory: Option<u64>,
        /// Show at most this many errors (0: all); the count at the end is of all of them.
        #[arg(long, default_value_t = 100)]
        error_limit: usize,
    },
    /// Format files canonically (in place), or with --check report which would change.
    Fmt {
        /// Only check; exit 1 if a file is not formatted.
        #[arg(long)]
        check: bool,
        /// The .snn files (`-`: standard input, formatted to standard output).
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
    /// Train a model's transforms and biases on data (NengoDL's `fit`), writing OUT.snn and
    /// OUT.safetensors.
    Train(TrainArgs),
    /// Print a model's losses and accuracy on data, as it runs (NengoDL's `evaluate`).
    Evaluate(EvaluateArgs),
    /// Run the language server (LSP over stdin/stdout), for editors.
    Lsp {
        /// Also report what does not map onto this target (`loihi`), as `snnc check --target`
        /// does; a client's `initializationOptions: {"target": …}` overrides it.
        #[arg(long)]
        target: Option<String>,
    },
    /// Explain an error code (`snnc explain E0101`): what it means, how to fix it, an example.
    Explain {
        /// The code, as `snnc check` prints it.
        code: String,
    },
    /// Print the lowered step IR.
    Ir {
        /// The .snn model.
        file: PathBuf,
        /// Time step: seconds, or with a unit (`0.5ms`); from 1 ns to 1 hour.
        #[arg(long, default_value = "0.001", value_parser = snnc::run::parse_seconds)]
        dt: f64,
        /// Print the program after the optimisation passes (every input taken as held).
        #[arg(long)]
        opt: bool,
    },
}

/// How a model is simulated: the arguments `snnc run` and `snnc bench` share.
#[derive(clap::Args)]
struct SimArgs {
    /// Time step: seconds, or with a unit (`0.5ms`); from 1 ns to 1 hour.
    #[arg(long, default_value = "0.001", value_parser = snnc::run::parse_seconds)]
    dt: f64,
    /// Input data: `NAME=FILE.npy`, or `FILE.npy` for a model with one input.
    #[arg(long = "input")]
    inputs: Vec<String>,
    /// Model seed (overrides `seed N` in the file).
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: `jit` (native code), `interp` (the reference interpreter) or `loihi` (Loihi 1
    /// cores in nengo-loihi's integers).
    #[arg(long, default_value = "jit")]
    backend: String,
    /// Threads running batch elements in parallel (jit; 0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Run the program as lowered, without the optimisation passes.
    #[arg(long)]
    no_opt: bool,
    /// Float type of the simulation (and of `run`'s output arrays; docs/PRECISION.md); with
    /// `--backend loihi`, of its host part (the chip computes in its integers).
    #[arg(long, value_enum, default_value_t = snnc::run::Dtype::Float64)]
    dtype: snnc::run::Dtype,
    /// Memory a model and its probes may use: bytes, or with K/M/G/T (binary; default: the
    /// machine's memory).
    #[arg(long, value_parser = snnc::run::parse_bytes)]
    max_memory: Option<u64>,
}

/// Arguments of `snnc run`.
#[derive(clap::Args)]
struct RunArgs {
    /// The .snn model.
    file: PathBuf,
    /// Number of steps.
    #[arg(long, conflicts_with = "time")]
    steps: Option<usize>,
    /// Simulated time: seconds, or with a unit (`500ms`); rounded to whole steps as Nengo does.
    #[arg(long, value_parser = snnc::run::parse_seconds)]
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

/// The data options `snnc train` and `snnc evaluate` share.
#[derive(clap::Args)]
struct DataArgs {
    /// Data: an .npz with one array per input and one per probe with a loss.
    #[arg(long)]
    data: PathBuf,
    /// A loss: PROBE=mse | sparse_categorical_crossentropy | categorical_crossentropy |
    /// l2(TARGET), optionally weighted (PROBE=mse*0.01); repeat for several probes.
    #[arg(long = "loss", required = true)]
    losses: Vec<String>,
    /// Threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Steps per sample when the data has no time axis (default 1).
    #[arg(long)]
    steps: Option<usize>,
    /// Time step: seconds, or with a unit (`0.5ms`); from 1 ns to 1 hour.
    #[arg(long, default_value = "0.001", value_parser = snnc::run::parse_seconds)]
    dt: f64,
    /// Take an input's or a probe's data from another array of the .npz: NAME=ARRAY
    /// (e.g. --array image=images --array dense=labels); repeatable.
    #[arg(long = "array")]
    arrays: Vec<String>,
    /// Memory the model and one batch's run may use: bytes, or with K/M/G/T (binary;
    /// default: the machine's memory).
    #[arg(long, value_parser = snnc::run::parse_bytes)]
    max_memory: Option<u64>,
}

/// Arguments of `snnc train`.
#[derive(clap::Args)]
struct TrainArgs {
    /// The .snn model.
    file: PathBuf,
    #[command(flatten)]
    d: DataArgs,
    /// Validation data (.npz, as --data), scored after every epoch.
    #[arg(long)]
    validation: Option<PathBuf>,
    /// Passes over the training data.
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Samples per update.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Update rule: sgd, adam or rmsprop (Keras's).
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate.
    #[arg(long, default_value_t = 0.001)]
    learning_rate: f64,
    /// Momentum of sgd.
    #[arg(long, default_value_t = 0.0)]
    momentum: f64,
    /// Train LIF neurons through NengoDL's SoftLIFRate with this smoothing (its
    /// `lif_smoothing` setting) instead of LIFRate.
    #[arg(long, value_name = "SIGMA")]
    lif_smoothing: Option<f64>,
    /// Float type of training's arithmetic: float32 as NengoDL and Keras train (their default
    /// `dtype`), or float64. Parameters are kept and written in float64 either way.
    #[arg(long, value_enum, default_value_t = snnc::run::Dtype::Float32)]
    dtype: snnc::run::Dtype,
    /// Seed of the minibatch shuffling, and the model seed (initial transforms drawn from
    /// distributions); without it, the file's own seed and shuffling seed 0.
    #[arg(long)]
    seed: Option<u64>,
    /// The trained model (OUT.snn; its weights go to OUT.safetensors).
    #[arg(short = 'o', long)]
    output: PathBuf,
}

/// Arguments of `snnc evaluate`.
#[derive(clap::Args)]
struct EvaluateArgs {
    /// The .snn model.
    file: PathBuf,
    #[command(flatten)]
    d: DataArgs,
    /// Samples per forward pass.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Print one JSON object instead of a line.
    #[arg(long)]
    json: bool,
    /// Backend that runs the model: `jit` (native code) or `interp` (the reference interpreter).
    #[arg(long, default_value = "jit")]
    backend: String,
    /// Score as training runs the model (spiking neurons as their rate equivalents) instead
    /// of as it runs (NengoDL's `evaluate`).
    #[arg(long)]
    training_mode: bool,
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
    /// What to build for: `native` (this machine) or `loihi` (a core configuration).
    #[arg(long, default_value = "native")]
    target: String,
    /// Print the per-core resource report (`--target loihi`).
    #[arg(long)]
    report: bool,
    /// Time step: seconds, or with a unit (`0.5ms`); from 1 ns to 1 hour.
    #[arg(long, default_value = "0.001", value_parser = snnc::run::parse_seconds)]
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
    /// Time step of the run, for files without `snnc run`'s record of it (default 1 ms):
    /// seconds, or with a unit.
    #[arg(long, value_parser = snnc::run::parse_seconds)]
    dt: Option<f64>,
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
    /// Lowpass synapse on every connection leaving a neuron layer: seconds, or with a unit
    /// (`5ms`).
    #[arg(long, value_parser = snnc::run::parse_seconds)]
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
    #[arg(long, default_value_t = 1e-8, value_parser = snnc::run::parse_tolerance)]
    atol: f64,
    /// Relative tolerance.
    #[arg(long, default_value_t = 1e-5, value_parser = snnc::run::parse_tolerance)]
    rtol: f64,
    /// `.snn` blocks for custom classes and Lambdas (as given to `snnc import`).
    #[arg(long)]
    layers: Vec<PathBuf>,
    /// Values to compare on: `[NAME=]FILE.npy`, `(batch, *shape)` per Keras input (NengoDL's
    /// `verify(inputs=…)`); default: two random samples in [0, 1).
    #[arg(long, value_name = "[NAME=]FILE.npy")]
    input: Vec<String>,
    /// Memory the converted network may need: bytes, or with K/M/G/T (default: the machine's
    /// memory).
    #[arg(long, value_parser = snnc::run::parse_bytes)]
    max_memory: Option<u64>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // help and version go to stdout through `out` (a full stdout is an error, a closed
        // one is quiet); usage errors to stderr, as clap prints them
        Err(e) if !e.use_stderr() => {
            let text = e.render();
            if std::io::stdout().is_terminal() {
                snnc::out!("{}", text.ansi());
            } else {
                snnc::out!("{text}");
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::Check { files, target, max_memory, error_limit } => {
            check(&files, target.as_deref(), max_memory, error_limit)
        }
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
                report: a.report,
            };
            report(snnc::build::build(&cfg).map(|text| snnc::err!("{text}")))
        }
        Command::Plot(args) => plot_cmd(args),
        Command::Bench(args) => bench_cmd(args),
        Command::Import(args) => import_cmd(args),
        Command::Verify(args) => verify_cmd(args),
        Command::Train(a) => report(snnc::train::train(&snnc::train::TrainConfig {
            file: a.file,
            data: a.d.data,
            validation: a.validation,
            epochs: a.epochs,
            batch_size: a.batch_size,
            optimizer: a.optimizer,
            learning_rate: a.learning_rate,
            momentum: a.momentum,
            lif_smoothing: a.lif_smoothing,
            dtype: a.dtype,
            losses: a.d.losses,
            seed: a.seed,
            threads: a.d.threads,
            steps: a.d.steps,
            dt: a.d.dt,
            output: a.output,
            arrays: a.d.arrays,
            max_memory: a.d.max_memory,
        })),
        Command::Evaluate(a) => {
            let cfg = snnc::train::EvaluateConfig {
                file: a.file,
                data: a.d.data,
                losses: a.d.losses,
                batch_size: a.batch_size,
                threads: a.d.threads,
                steps: a.d.steps,
                dt: a.d.dt,
                arrays: a.d.arrays,
                backend: a.backend,
                training_mode: a.training_mode,
                max_memory: a.d.max_memory,
            };
            report(snnc::train::evaluate(&cfg).map(|(s, l)| {
                snnc::train::print_scores(&s, &l, a.json);
            }))
        }
        Command::Lsp { target } => lsp(target),
        Command::Explain { code } => match snnc::explain::explain(&code) {
            Ok(text) => {
                snnc::out!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                snnc::errln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Ir { file, dt, opt } => {
            report(snnc::run::ir(&file, dt, opt).map(|text| snnc::out!("{text}")))
        }
    }
}

/// `snnc run`.
fn run_cmd(args: RunArgs) -> ExitCode {
    let RunArgs { file, steps, time, sim, verbose, output, labels, rates } = args;
    let SimArgs { dt, inputs, seed, backend, threads, no_opt, dtype, max_memory } = sim;
    let steps = match (steps, time) {
        (Some(s), _) => Ok(s),
        (None, Some(t)) => snnc::run::steps_for_time(t, dt),
        (None, None) => Ok(1000),
    };
    let steps = match steps.and_then(|s| snnc::run::check_counts(s, threads).map(|_| s)) {
        Ok(s) => s,
        Err(e) => return report(Err(e)),
    };
    // labels are read and checked before the run, so a mistake in them writes nothing
    let labels = match labels.as_deref().map(|l| {
        let (probe, file) = snnc::accuracy::parse_labels_arg(l);
        snnc::output::check(&[file.to_path_buf()], &[&output])?;
        let labels = snnc::accuracy::read_labels(file)?;
        Ok::<_, String>((probe.map(String::from), labels))
    }) {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => return report(Err(snnc::run::Failure(format!("error: {e}\n")))),
    };
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
        max_memory,
        labels: labels.clone(),
    });
    match (res, labels) {
        (Ok(()), Some((probe, labels))) => score(&output, probe.as_deref(), &labels),
        (res, _) => report(res),
    }
}

/// `snnc plot`.
fn plot_cmd(args: PlotArgs) -> ExitCode {
    let PlotArgs { data, output, probes, image, indices, neurons, dt } = args;
    let cfg = snnc::plot::PlotConfig { data, output, probes, image, indices, neurons, dt };
    match snnc::plot::plot(&cfg) {
        Ok(msg) => {
            snnc::errln!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            snnc::errln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `snnc bench`.
fn bench_cmd(args: BenchArgs) -> ExitCode {
    let BenchArgs { file, steps, sim, repeat, json } = args;
    let SimArgs { dt, inputs, seed, backend, threads, no_opt, dtype, max_memory } = sim;
    if let Err(e) = snnc::run::check_counts(steps, threads) {
        return report(Err(e));
    }
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
        max_memory,
    };
    report(snnc::bench::bench(&cfg).and_then(|r| {
        let text = if json { snnc::bench::to_json(&r)? + "\n" } else { snnc::bench::render(&r) };
        snnc::out!("{text}");
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
            snnc::out!("{}", snnc::import::table(&c));
            snnc::errln!(
                "wrote {} and {}",
                cfg.output.display(),
                cfg.output.with_extension("safetensors").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            snnc::errln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `snnc verify`.
fn verify_cmd(args: VerifyArgs) -> ExitCode {
    let VerifyArgs { model, snn, atol, rtol, layers, input, max_memory } = args;
    let cfg =
        snnc::verify::VerifyConfig { model, snn, atol, rtol, layers, inputs: input, max_memory };
    match snnc::verify::verify_with_notes(&cfg) {
        Ok((diffs, notes)) => {
            for n in &notes {
                snnc::errln!("note: {n}");
            }
            for d in diffs.iter().filter(|d| d.output) {
                snnc::outln!("output `{}`: largest difference {:.3e}", d.layer, d.max_abs);
            }
            match diffs.iter().find(|d| !d.ok) {
                None => {
                    snnc::outln!(
                        "verified: {} layer(s) agree with Keras (atol {atol:e}, rtol {rtol:e})",
                        diffs.len()
                    );
                    ExitCode::SUCCESS
                }
                Some(d) => {
                    snnc::errln!(
                        "error: layer `{}` is the first to diverge from Keras: largest difference {:.3e} (atol {atol:e}, rtol {rtol:e})",
                        d.layer, d.max_abs
                    );
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            snnc::errln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `snnc lsp`.
/// What `--target loihi` adds to a check (`snnc check`, the language server): the model built
/// as nengo-loihi builds it, and everything that does not map onto Loihi cores.
fn loihi_check(model: &snn_compiler::model::Model) -> Vec<snn_syntax::Diagnostic> {
    match snn_compiler::lower_model_with(model, 0.001, &snn_loihi::BUILD_OPTIONS) {
        Ok(program) => snn_loihi::check(&program),
        Err(d) => d,
    }
}

fn lsp(target: Option<String>) -> ExitCode {
    let loihi: Box<snn_lsp::TargetCheck> = Box::new(loihi_check);
    let targets = snn_lsp::Targets { checks: vec![(snn_loihi::NAME, loihi)], selected: target };
    match snn_lsp::run_stdio(targets) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.contains("without `shutdown`") => {
            snnc::errln!("error: snnc lsp: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            // typed at a terminal or fed a file, the server only sees its input end
            snnc::errln!(
                "error: snnc lsp: {e}: its standard input ended or did not carry Language Server \
                 Protocol messages (an editor starts `snnc lsp`; see the README's Editors section)"
            );
            ExitCode::FAILURE
        }
    }
}

fn report(res: Result<(), snnc::run::Failure>) -> ExitCode {
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            snnc::err!("{}", f.0);
            ExitCode::FAILURE
        }
    }
}

/// `run --labels`: score the probe written to `output` against the labels (checked before
/// the run by `snnc::run::check_labels`).
fn score(output: &std::path::Path, probe: Option<&str>, labels: &[usize]) -> ExitCode {
    let res = snn_io::read_npz(output).map_err(|e| e.to_string()).and_then(|data| {
        let name = match probe {
            Some(p) => p,
            None => data.keys().next().map(String::as_str).ok_or("no probe")?,
        };
        let arr = data.get(name).ok_or_else(|| format!("the model has no probe `{name}`"))?;
        snnc::accuracy::accuracy(name, arr, labels)
    });
    match res {
        Ok(acc) => {
            snnc::outln!("{acc}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            snnc::errln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(
    files: &[PathBuf],
    target: Option<&str>,
    max_memory: Option<u64>,
    error_limit: usize,
) -> ExitCode {
    if let Some(t) = target.filter(|t| *t != snn_loihi::NAME) {
        snnc::errln!("error: unknown check target `{t}` (available: {})", snn_loihi::NAME);
        return ExitCode::FAILURE;
    }
    let color = std::io::stderr().is_terminal();
    let limit = max_memory.unwrap_or_else(snnc::run::default_max_memory);
    let mut n_errors = 0;
    let mut shown = 0;
    for path in files {
        let mut db = FsDb::new();
        let root = match db.load(path) {
            Ok(f) => f,
            Err(e) => {
                snnc::errln!("error: {e}");
                n_errors += 1;
                shown += 1;
                continue;
            }
        };
        let mut checked = snn_compiler::check_within(&mut db, root, None, Some(limit));
        if !checked.has_errors() {
            checked.diagnostics.extend(snn_compiler::budget::check(&checked.model, limit));
        }
        if target.is_some() && !checked.has_errors() {
            checked.diagnostics.extend(loihi_check(&checked.model));
        }
        let mut renderer = snnc::render::Renderer::new(&db as &dyn SourceDb, color);
        for d in &checked.diagnostics {
            if d.is_error() {
                n_errors += 1;
                if error_limit > 0 && shown >= error_limit {
                    continue;
                }
                shown += 1;
            }
            snnc::err!("{}", renderer.render(d));
        }
    }
    if n_errors > 0 {
        if shown < n_errors {
            snnc::errln!(
                "note: {} more error(s) not shown (--error-limit {error_limit})",
                n_errors - shown
            );
        }
        let s = if n_errors == 1 { "" } else { "s" };
        snnc::errln!("error: aborting due to {n_errors} previous error{s}");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `snnc fmt -`: standard input formatted to standard output (with `--check`, nothing printed
/// and false when it is not formatted). False on an error.
fn fmt_stdin(check_only: bool, color: bool) -> bool {
    let text = match snn_fs::read_stdin_source()
        .and_then(|b| snn_fs::source_text(b).map_err(|e| format!("<stdin>: {e}")))
    {
        Ok(t) => t,
        Err(e) => {
            snnc::errln!("error: {e}");
            return false;
        }
    };
    match snn_syntax::format(&text) {
        Ok(out) if check_only && out != text => {
            snnc::errln!("<stdin> is not formatted");
            false
        }
        Ok(_) if check_only => true,
        Ok(out) => {
            snnc::out!("{out}");
            true
        }
        Err(d) => {
            let mut db = FsDb::new();
            db.add("<stdin>", None, text);
            snnc::err!("{}", snnc::render::render(&db as &dyn SourceDb, &d, color));
            false
        }
    }
}

fn fmt(files: &[PathBuf], check_only: bool) -> ExitCode {
    let color = std::io::stderr().is_terminal();
    let mut failed = false;
    for path in files {
        if path == Path::new("-") {
            failed |= !fmt_stdin(check_only, color);
            continue;
        }
        // a FIFO or device has no contents to rewrite (and reading one may wait forever)
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => {
                let why = if check_only {
                    "fmt reads only regular files; `-` reads standard input"
                } else {
                    "fmt rewrites files in place; `-` formats standard input"
                };
                snnc::errln!("error: {}: not a regular file ({why})", path.display());
                failed = true;
                continue;
            }
            _ => {}
        }
        // as `snnc check` reads it: a byte-order mark kept aside, bad bytes located
        let read = snn_fs::read_source(path);
        let bom = read.as_ref().is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF"));
        let text = match read
            .and_then(|b| snn_fs::source_text(b).map_err(|e| format!("{}: {e}", path.display())))
        {
            Ok(t) => t,
            Err(e) => {
                snnc::errln!("error: {e}");
                failed = true;
                continue;
            }
        };
        match snn_syntax::format(&text) {
            Ok(out) if out == text => {}
            Ok(_) if check_only => {
                snnc::errln!("{} is not formatted", path.display());
                failed = true;
            }
            Ok(out) => {
                // the mark put back; through a link to its target, atomically (snn_io::output)
                let out = if bom { format!("\u{feff}{out}") } else { out };
                if let Err(e) = snn_io::output::write_bytes(path, out.as_bytes()) {
                    snnc::errln!("error: {e}");
                    failed = true;
                }
            }
            Err(d) => {
                let mut db = FsDb::new();
                db.add(&path.display().to_string(), None, text);
                snnc::err!("{}", snnc::render::render(&db as &dyn SourceDb, &d, color));
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
