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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files } => check(&files),
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
