//! `snnc build FILE.snn -o DIR`: the model compiled ahead of time into `DIR/libNAME.so`,
//! `DIR/libNAME.a` and `DIR/NAME.h` (snn-aot), for C, C++, Python (ctypes) or any host.

use crate::run::{compile, fail, Dtype, Failure, DEFAULT_TARGET};
use std::path::{Path, PathBuf};

/// What `snnc build` was asked for.
pub struct BuildConfig {
    /// The model.
    pub file: PathBuf,
    /// Output directory.
    pub output: PathBuf,
    /// Library name (default: the file stem made a C identifier).
    pub name: Option<String>,
    /// Float type.
    pub dtype: Dtype,
    /// Target (`native`).
    pub target: String,
    /// Time step in seconds.
    pub dt: f64,
    /// Model seed override.
    pub seed: Option<u64>,
    /// The C compiler driver that links (default: `$CC`, else `cc`).
    pub cc: Option<String>,
    /// Also print the per-core resource report (`loihi`).
    pub report: bool,
}

/// The targets `snnc build --target` knows.
pub const BUILD_TARGETS: &[&str] = &["native", snn_loihi::NAME];

/// The library name for `file`: its stem made a C identifier.
pub fn default_name(file: &Path) -> String {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    snn_aot::c_ident(&stem)
}

/// Builds; returns what was written, one line each.
pub fn build(cfg: &BuildConfig) -> Result<String, Failure> {
    if !BUILD_TARGETS.contains(&cfg.target.as_str()) {
        return Err(fail(format!(
            "unknown build target `{}` (available: {})",
            cfg.target,
            BUILD_TARGETS.join(", ")
        )));
    }
    let name = match &cfg.name {
        Some(n) if snn_aot::c_ident(n) != *n => {
            return Err(fail(format!(
                "--name `{n}` is not a C identifier (letters, digits and `_`, not starting with a digit)"
            )))
        }
        Some(n) => n.clone(),
        None => default_name(&cfg.file),
    };
    let start = std::time::Instant::now();
    if cfg.target == snn_loihi::NAME {
        // the chip computes in its integers; the configuration has no float type
        if cfg.dtype != Dtype::Float64 {
            return Err(fail(format!(
                "--dtype {} is for native libraries; --target loihi writes integer core configurations",
                cfg.dtype.name()
            )));
        }
        return build_loihi(cfg, &name, start);
    }
    if cfg.report {
        return Err(fail("--report is the loihi target's per-core report (--target loihi)"));
    }
    let (db, mut program) = compile(&cfg.file, cfg.seed, cfg.dt)?;
    crate::output::check_dir(&cfg.output).map_err(fail)?;
    // the library, archive and header must not replace the model, its imports or weights
    let outs = [format!("lib{name}.so"), format!("lib{name}.a"), format!("{name}.h")]
        .map(|f| cfg.output.join(f));
    let outs: Vec<&Path> = outs.iter().map(PathBuf::as_path).collect();
    crate::output::check(&db.files_read(), &outs).map_err(fail)?;
    // The C ABI holds inputs (`NAME_set_input`), so ops reading only them are hoisted; setting
    // an input runs them again.
    let held = vec![true; program.inputs.len()];
    DEFAULT_TARGET.optimize(&mut program, &held);
    let cc = cfg.cc.clone().unwrap_or_else(snn_aot::default_cc);
    let opts = snn_aot::Options {
        name: &name,
        precision: cfg.dtype.precision(),
        source: &cfg.file,
        cc: &cc,
    };
    let built = snn_aot::build(&program, &opts).map_err(|e| fail(e.to_string()))?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| fail(format!("{}: {e}", p.display())));
    let files = [
        (outs[0].to_path_buf(), read(&built.shared)?),
        (outs[1].to_path_buf(), read(&built.static_lib)?),
        (outs[2].to_path_buf(), read(&built.header)?),
    ];
    crate::output::write_into_dir(&cfg.output, &files).map_err(fail)?;
    Ok(format!(
        "built {} in {:.0} ms:\n  {}\n  {}\n  {}\n",
        cfg.file.display(),
        start.elapsed().as_secs_f64() * 1e3,
        outs[0].display(),
        outs[1].display(),
        outs[2].display()
    ))
}

/// `snnc build --target loihi`: the core configuration `DIR/NAME.loihi.json` (docs/LOIHI.md).
fn build_loihi(
    cfg: &BuildConfig,
    name: &str,
    start: std::time::Instant,
) -> Result<String, Failure> {
    let (db, program) =
        crate::run::compile_within(&cfg.file, cfg.seed, cfg.dt, None, snn_loihi::BUILD_OPTIONS)?;
    let chip = snn_loihi::map(&program).map_err(|d| crate::run::render_all(&db, &d))?;
    let conf = snn_loihi::host::config(&chip, &program, &cfg.file.display().to_string());
    let json = serde_json::to_string_pretty(&conf).map_err(|e| fail(e.to_string()))?;
    let path = cfg.output.join(format!("{name}.loihi.json"));
    crate::output::check(&db.files_read(), &[&path]).map_err(fail)?;
    crate::output::write_into_dir(&cfg.output, &[(path.clone(), json.into_bytes())])
        .map_err(fail)?;
    let mut out = format!(
        "built {} for loihi in {:.0} ms: {} cores on {} chip(s)\n  {}\n",
        cfg.file.display(),
        start.elapsed().as_secs_f64() * 1e3,
        conf.cores.len(),
        conf.chips,
        path.display()
    );
    if cfg.report {
        out.push_str(&snn_loihi::config::report(&chip));
    }
    Ok(out)
}
