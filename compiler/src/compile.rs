//! The compile façade: source to a lowered [`Program`] in one call, the chain every user of the
//! compiler runs (`snnc run`, `ir`, `bench`, `verify`, the tests, the fuzz targets).

use crate::ir::Program;
use crate::model::Model;
use crate::source_db::SourceDb;
use crate::{build, lower, resolve};
use snn_syntax::{Diagnostic, FileId};

/// What [`compile`] needs besides the source.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileConfig {
    /// Model seed overriding the file's `seed N` (`snnc run --seed`).
    pub seed: Option<u64>,
    /// Time step in seconds (finite and positive; the command line checks it).
    pub dt: f64,
    /// Refuse (a located `E0801`) a model whose build and run need more bytes than this
    /// ([`crate::budget`]); `None`: no limit.
    pub max_memory: Option<u64>,
    /// The target's build profile (Nengo's by default; the `loihi` target's is nengo-loihi's).
    pub build: build::BuildOptions,
}

impl Default for CompileConfig {
    /// The file's own seed and Nengo's default time step, 1 ms.
    fn default() -> Self {
        Self { seed: None, dt: 0.001, max_memory: None, build: build::BuildOptions::default() }
    }
}

impl CompileConfig {
    /// The defaults with time step `dt`.
    pub fn with_dt(dt: f64) -> Self {
        Self { dt, ..Self::default() }
    }
}

/// Parses, resolves and checks `root` and what it uses, builds the NEF parameters and lowers the
/// model to a step program. On any error, every diagnostic of the failing stage (warnings
/// included) is returned; warnings of a model without errors are dropped.
pub fn compile(
    db: &mut dyn SourceDb,
    root: FileId,
    cfg: &CompileConfig,
) -> Result<Program, Vec<Diagnostic>> {
    let checked = resolve::check_within(db, root, cfg.seed, cfg.max_memory);
    if checked.has_errors() {
        return Err(checked.diagnostics);
    }
    if let Some(d) = cfg.max_memory.and_then(|limit| crate::budget::check(&checked.model, limit)) {
        return Err(vec![d]);
    }
    let procs = crate::budget::check_processes(&checked.model, cfg.dt, cfg.max_memory);
    if !procs.is_empty() {
        return Err(procs);
    }
    build_and_lower(&checked.model, cfg.dt, &cfg.build)
}

/// The back half of [`compile`], for callers that look at the checked model first (the fuzz
/// targets skip models too large to build quickly): builds the NEF parameters of a model
/// without errors (its node processes checked first) and lowers it with time step `dt`.
pub fn lower_model(model: &Model, dt: f64) -> Result<Program, Vec<Diagnostic>> {
    lower_model_with(model, dt, &build::BuildOptions::default())
}

/// [`lower_model`] with a target's build profile (`Target::build_options`).
pub fn lower_model_with(
    model: &Model,
    dt: f64,
    opts: &build::BuildOptions,
) -> Result<Program, Vec<Diagnostic>> {
    let procs = crate::budget::check_processes(model, dt, None);
    if !procs.is_empty() {
        return Err(procs);
    }
    build_and_lower(model, dt, opts)
}

/// Builds and lowers a model whose processes are checked.
fn build_and_lower(
    model: &Model,
    dt: f64,
    opts: &build::BuildOptions,
) -> Result<Program, Vec<Diagnostic>> {
    let built = build::build_with(model, opts, dt)?;
    lower::lower(model, &built, dt)
}
