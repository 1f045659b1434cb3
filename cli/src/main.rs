//! The `snnc` binary: parses arguments and dispatches to the commands.

use clap::{Parser, Subcommand};
use snn_compiler::{FsDb, SourceDb};
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
    Run {
        /// The .snn model.
        file: PathBuf,
        /// Number of steps.
        #[arg(long, conflicts_with = "time")]
        steps: Option<usize>,
        /// Simulated time in seconds (rounded to whole steps).
        #[arg(long)]
        time: Option<f64>,
        /// Time step in seconds.
        #[arg(long, default_value_t = 0.001)]
        dt: f64,
        /// Input data: `NAME=FILE.npy`, or `FILE.npy` for a model with one input.
        #[arg(long = "input")]
        inputs: Vec<String>,
        /// Model seed (overrides `seed N` in the file).
        #[arg(long)]
        seed: Option<u64>,
        /// Backend.
        #[arg(long, default_value = "interp")]
        backend: String,
        /// Output file.
        #[arg(short = 'o', long, default_value = "out.npz")]
        output: PathBuf,
    },
    /// Print the lowered step IR.
    Ir {
        /// The .snn model.
        file: PathBuf,
        /// Time step in seconds.
        #[arg(long, default_value_t = 0.001)]
        dt: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => check(&files),
        Command::Fmt { check, files } => fmt(&files, check),
        Command::Run { file, steps, time, dt, inputs, seed, backend, output } => {
            let steps =
                steps.unwrap_or_else(|| time.map(|t| (t / dt).round() as usize).unwrap_or(1000));
            report(snnc::run::run(&snnc::run::RunConfig {
                file,
                steps,
                dt,
                inputs,
                seed,
                backend,
                output,
            }))
        }
        Command::Ir { file, dt } => report(snnc::run::ir(&file, dt).map(|text| print!("{text}"))),
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
