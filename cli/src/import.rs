//! `snnc import MODEL -o OUT.snn`: a Keras model (.h5 or .keras) → `.snn` text plus
//! `OUT.safetensors` beside it, both written atomically (nothing is left half-written).

use snn_io::output::{commit_all, Staged};
use snn_io::{write_safetensors_to, Precision};
use snn_keras::convert::{convert, Converted, Options};
use std::path::{Path, PathBuf};

/// Options of `snnc import`.
pub struct ImportConfig {
    /// The Keras model.
    pub model: PathBuf,
    /// The `.snn` to write; the weights go to the same path with `.safetensors`.
    pub output: PathBuf,
    /// `FROM=TO` swaps.
    pub swap: Vec<String>,
    /// An `.npz` of initial voltages by Keras layer name.
    pub initial_voltages: Option<PathBuf>,
    /// `.snn` files whose network definitions stand in for Keras classes.
    pub layers: Vec<PathBuf>,
    /// Converter options other than the swaps.
    pub options: Options,
}

/// Parse `FROM=TO`; `TO` must be a neuron type of the language (an unknown one is an error
/// here, not a `.snn` that fails to compile).
pub fn parse_swap(s: &str) -> Result<(String, String), String> {
    let (from, to) = match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            (a.trim().to_string(), b.trim().to_string())
        }
        _ => return Err(format!("--swap takes FROM=TO (e.g. relu=spiking_relu), found `{s}`")),
    };
    use snn_runtime::neurons::NeuronKind;
    if NeuronKind::from_name(&to).is_none() {
        let names: Vec<&str> = NeuronKind::language_names().collect();
        let guess = snn_syntax::diag::did_you_mean(&to, names.iter().copied())
            .map(|g| format!(" (did you mean `{g}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "--swap {from}={to}: `{to}` is not a neuron type{guess}; the types are {}",
            names.join(", ")
        ));
    }
    Ok((from, to))
}

/// Read, convert and write; returns the conversion (for the layer table).
pub fn import(cfg: &ImportConfig) -> Result<Converted, String> {
    let mut opts = cfg.options.clone();
    for s in &cfg.swap {
        let (from, to) = parse_swap(s)?;
        if let Some((_, first)) = opts.swap.iter().find(|(f, _)| *f == from) {
            return Err(format!("--swap {from}={to}: `{from}` is already swapped for `{first}`"));
        }
        opts.swap.push((from, to));
    }
    if let Some(x) = opts.scale_firing_rates {
        if !(x > 0.0 && x.is_finite()) {
            return Err(format!("--scale-firing-rates must be a positive number, found {x}"));
        }
    }
    if let Some(t) = opts.synapse {
        if !(t >= 0.0 && t.is_finite()) {
            return Err(format!("--synapse must be a non-negative time in seconds, found {t}"));
        }
    }
    if let Some(p) = &cfg.initial_voltages {
        opts.initial_voltages = snn_io::read_npz(p).map_err(|e| e.to_string())?;
    }
    for f in &cfg.layers {
        opts.custom.extend(custom_blocks(f, &cfg.output)?);
    }
    let mut read = vec![cfg.model.clone()];
    read.extend(cfg.layers.iter().cloned());
    read.extend(cfg.initial_voltages.iter().cloned());
    // never an input; then a .snn (`-o model.safetensors` would name the weights twice)
    crate::output::check(&read, &[&cfg.output])?;
    let weights = crate::output::weights_beside(&cfg.output)?;
    crate::output::check(&read, &[&cfg.output, &weights])?;
    crate::output::check_directories(&[&cfg.output])?;
    let model = snn_keras::read_model(&cfg.model).map_err(|e| e.to_string())?;
    let weights_name = weights
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| format!("{} is not a file name", cfg.output.display()))?;
    let mut converted = convert(&model, &weights_name, &opts).map_err(|e| e.to_string())?;
    check_converted(&cfg.output, &weights_name, &mut converted)?;
    let tensors: Vec<(&str, ndarray::ArrayViewD<f64>)> =
        converted.tensors.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    write_both(&cfg.output, &weights, &converted.snn, &tensors)?;
    Ok(converted)
}

/// Checks the converted `.snn` (as `snnc check` will, its weights in memory) before anything
/// is written: a conversion the options break (`--swap` to a type that needs a base type,
/// `--layers` blocks without the members the converter connects) is refused with the
/// diagnostics, not written as a file that does not compile.
fn check_converted(
    output: &Path,
    weights_name: &str,
    converted: &mut Converted,
) -> Result<(), String> {
    use snn_compiler::source_db::MemTensors;
    let source = std::rc::Rc::new(MemTensors(std::mem::take(&mut converted.tensors)));
    let mut db = snn_fs::FsDb::new();
    let root =
        db.add(&output.display().to_string(), Some(output.to_path_buf()), converted.snn.clone());
    db.add_weights(root, weights_name, source.clone());
    let checked = snn_compiler::check(&mut db, root);
    let mut shown = String::new();
    for d in checked.diagnostics.iter().filter(|d| d.is_error()).take(10) {
        shown.push_str(&crate::render::render(&db as &dyn snn_compiler::SourceDb, d, false));
    }
    drop(db);
    converted.tensors = std::rc::Rc::try_unwrap(source)
        .map_err(|_| "the converted weights are still in use".to_string())?
        .0;
    if checked.has_errors() {
        return Err(format!(
            "the converted network does not check, so nothing was written (the options given \
             to import, or the --layers blocks, do not fit the model):\n{shown}"
        ));
    }
    Ok(())
}

/// The network definitions of a `--layers` file, with the path the output uses to import it
/// (its file name when it sits beside the output, else its absolute path).
pub(crate) fn custom_blocks(
    file: &Path,
    output: &Path,
) -> Result<Vec<snn_keras::convert::CustomBlock>, String> {
    // bounded, as every source is read (a device refused, a pipe capped)
    let text = snn_fs::read_source_text(file)
        .map_err(|e| e.replacen("cannot read ", "cannot read --layers ", 1))?;
    let parsed = snn_syntax::parse(snn_syntax::FileId(0), &text);
    if let Some(d) = parsed.errors.first() {
        let mut db = snn_fs::FsDb::new();
        db.add(&file.display().to_string(), None, text.clone());
        return Err(crate::render::render(&db as &dyn snn_compiler::SourceDb, d, false));
    }
    let abs = file.canonicalize().map_err(|e| format!("{}: {e}", file.display()))?;
    let out_dir = output
        .parent()
        .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
        .and_then(|p| p.canonicalize().ok());
    let use_path = match (abs.parent(), out_dir) {
        (Some(a), Some(b)) if a == b => {
            abs.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
        }
        _ => abs.display().to_string(),
    };
    let blocks: Vec<_> = parsed
        .file
        .items
        .iter()
        .filter_map(|item| match item {
            snn_syntax::ast::Item::Network(def) => Some(snn_keras::convert::CustomBlock {
                network: def.name.name.clone(),
                params: def
                    .params
                    .iter()
                    .map(|p| {
                        (
                            p.name.name.clone(),
                            p.ty.as_ref().map(|t| t.name.clone()),
                            p.default.is_some(),
                        )
                    })
                    .collect(),
                use_path: use_path.clone(),
            }),
            _ => None,
        })
        .collect();
    if blocks.is_empty() {
        return Err(format!("--layers {} defines no network", file.display()));
    }
    Ok(blocks)
}

/// Write the `.snn` and its weights as a pair: both or neither (`snn_io::output::commit_all`).
pub(crate) fn write_both(
    snn: &Path,
    weights: &Path,
    text: &str,
    named: &[(&str, ndarray::ArrayViewD<f64>)],
) -> Result<(), String> {
    use std::io::Write;
    let mut w = Staged::new(weights).map_err(|e| e.to_string())?;
    write_safetensors_to(w.file(), weights, named, Precision::F64).map_err(|e| e.to_string())?;
    let mut t = Staged::new(snn).map_err(|e| e.to_string())?;
    t.file()
        .write_all(text.as_bytes())
        .map_err(|e| format!("{}: cannot write file: {e}", snn.display()))?;
    commit_all(vec![w, t]).map_err(|e| e.to_string())
}

/// The layer table printed after an import.
pub fn table(c: &Converted) -> String {
    let w0 = c.report.iter().map(|r| r.layer.len()).max().unwrap_or(5).max(5);
    let w1 = c.report.iter().map(|r| r.class.len()).max().unwrap_or(5).max(11);
    let mut s = format!("{:w0$}  {:w1$}  became\n", "layer", "Keras class");
    for r in &c.report {
        s.push_str(&format!("{:w0$}  {:w1$}  {}\n", r.layer, r.class, r.became));
    }
    for w in &c.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}
