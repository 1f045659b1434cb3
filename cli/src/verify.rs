//! `snnc verify MODEL [--snn FILE.snn] [--atol A] [--rtol R]`: like `Converter.verify`, run the
//! converted network (rate neurons, one step, float64) beside a Keras-semantics evaluation of
//! the model on the same inputs, and compare every layer. Without `--snn` the model is converted
//! in memory (checking the converter); with it, an imported `.snn` and its weights file are
//! checked (a corrupted weights file is caught, and the first diverging layer named).

use ndarray::{ArrayD, IxDyn};
use snn_compiler::{backend::interp, CompileConfig, SourceDb};
use snn_fs::FsDb;
use snn_keras::convert::{convert, Options};
use snn_runtime::neurons::NeuronType;
use std::path::{Path, PathBuf};

/// Options of `snnc verify`.
pub struct VerifyConfig {
    /// The Keras model.
    pub model: PathBuf,
    /// An imported `.snn` to check instead of a fresh conversion.
    pub snn: Option<PathBuf>,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// `--layers` files (custom classes, Lambdas): their layers are taken as the blocks compute
    /// them (Keras semantics of Python code are not available), the rest is still checked.
    pub layers: Vec<PathBuf>,
    /// `--input [NAME=]FILE.npy`: the values to compare on, `(batch, *shape)` per Keras input
    /// (as NengoDL's `Converter.verify(inputs=…)`); none given: two random samples in [0, 1).
    pub inputs: Vec<String>,
    /// `--max-memory`: the converted network's budget (default: the machine's memory).
    pub max_memory: Option<u64>,
}

/// The comparison of one layer.
#[derive(Clone, Debug)]
pub struct LayerDiff {
    /// Keras layer name.
    pub layer: String,
    /// Largest |snnc − Keras|.
    pub max_abs: f64,
    /// Whether every element satisfies |a − b| ≤ atol + rtol·|b|.
    pub ok: bool,
    /// Whether the layer is a model output.
    pub output: bool,
}

/// Inputs in [0, 1) from a fixed stream (batch 2), one per model input.
fn inputs(model: &snn_keras::KerasModel) -> Result<Vec<ArrayD<f64>>, String> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    model
        .inputs
        .iter()
        .map(|i| {
            let mut shape = vec![2usize];
            for d in &i.shape {
                shape.push(d.ok_or_else(|| format!("input `{}` has a variable size", i.name))?);
            }
            Ok(ArrayD::from_shape_fn(IxDyn(&shape), |_| next()))
        })
        .collect()
}

/// The `--input [NAME=]FILE.npy` arrays, one per Keras input in the model's order, each
/// `(batch, *shape)` with one batch size.
fn given_inputs(
    model: &snn_keras::KerasModel,
    args: &[String],
) -> Result<Vec<ArrayD<f64>>, String> {
    // an input is named as `snnc import` names it, or by its Keras name
    let names: Vec<String> =
        model.inputs.iter().map(|i| snn_keras::convert::sanitize(&i.name)).collect();
    let shown: Vec<&str> = names.iter().map(String::as_str).collect();
    let given = crate::run::read_named_inputs(args, &shown, |n| {
        model.inputs.iter().zip(&names).position(|(i, m)| m == n || i.name == n)
    })?;
    let mut batch = None;
    let mut out = Vec::new();
    for (i, a) in model.inputs.iter().zip(given) {
        let name = snn_keras::convert::sanitize(&i.name);
        let a = a.ok_or_else(|| format!("missing input `{name}`: give --input {name}=FILE.npy"))?;
        let want: Vec<Option<usize>> = i.shape.clone();
        let fits = a.ndim() == want.len() + 1
            && a.shape()[1..].iter().zip(&want).all(|(&d, w)| w.is_none_or(|w| w == d));
        if fits && a.shape()[0] == 0 {
            return Err(format!(
                "input `{name}` has no batch elements (shape {:?}): give at least one",
                a.shape()
            ));
        }
        if !fits {
            let shown: Vec<String> =
                want.iter().map(|d| d.map_or("?".into(), |d| d.to_string())).collect();
            return Err(format!(
                "input `{name}` has shape {:?}; expected (batch, {})",
                a.shape(),
                shown.join(", ")
            ));
        }
        // Keras and snnc both turn NaN and inf into NaN and inf: no difference to compare
        if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(format!(
                "input `{name}` holds a non-finite value ({v}) at flat index {i}: verify \
                 compares the outputs of finite inputs"
            ));
        }
        match batch {
            Some(b) if b != a.shape()[0] => {
                return Err(format!("inputs disagree on the batch size: {b} and {}", a.shape()[0]))
            }
            _ => batch = Some(a.shape()[0]),
        }
        out.push(a);
    }
    Ok(out)
}

/// The name of the network a `snnc import --network NAME` file defines: a top-level
/// `network NAME {` and no top-level `input` (the model's inputs are members).
fn network_definition(text: &str) -> Option<String> {
    let top = |l: &&str| !l.starts_with(char::is_whitespace);
    if text.lines().filter(top).any(|l| l.starts_with("input ")) {
        return None;
    }
    text.lines().filter(top).find_map(|l| {
        let mut words = l.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("network"), Some(name), Some("{")) => Some(name.to_string()),
            _ => None,
        }
    })
}

/// Compare; the result lists every layer in graph order.
pub fn verify(cfg: &VerifyConfig) -> Result<Vec<LayerDiff>, String> {
    verify_with_notes(cfg).map(|(diffs, _)| diffs)
}

/// [`verify`], with notes for the user: a spiking `.snn` (`--swap relu=spiking_relu`) is
/// compared in rate mode, each spiking neuron type replaced by its rate equivalent, since one
/// step of spikes is not Keras's activation; the note says which types were replaced.
pub fn verify_with_notes(cfg: &VerifyConfig) -> Result<(Vec<LayerDiff>, Vec<String>), String> {
    let model = snn_keras::read_model(&cfg.model).map_err(|e| e.to_string())?;
    let mut opts = Options::default();
    // one scratch directory per call (calls may run at once in one process)
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let scratch_dir =
        std::env::temp_dir().join(format!("snnc-verify-{}-{call}", std::process::id()));
    for f in &cfg.layers {
        // in-memory runs use a scratch directory that does not exist yet: the block file is
        // then imported by its absolute path
        let here = cfg.snn.clone().unwrap_or_else(|| scratch_dir.join("m.snn"));
        opts.custom.extend(crate::import::custom_blocks(f, &here)?);
    }
    let mut scratch_guard = None;
    let (snn_path, mut text, converted) = match &cfg.snn {
        Some(p) => {
            // bounded, as every source is read (a device refused, a pipe capped)
            let text = snn_fs::read_source_text(p)?;
            let c = convert(&model, "unused.safetensors", &opts).map_err(|e| e.to_string())?;
            (p.clone(), text, c)
        }
        None => {
            std::fs::create_dir_all(&scratch_dir).map_err(|e| e.to_string())?;
            let scratch = &scratch_guard.insert(ScratchDir(scratch_dir)).0;
            let c = convert(&model, "model.safetensors", &opts).map_err(|e| e.to_string())?;
            let named: Vec<(&str, ndarray::ArrayViewD<f64>)> =
                c.tensors.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
            snn_io::write_safetensors(
                &scratch.join("model.safetensors"),
                &named,
                snn_runtime::Precision::F64,
            )
            .map_err(|e| e.to_string())?;
            (scratch.join("model.snn"), c.snn.clone(), c)
        }
    };
    // a probe on every object that stands for a Keras tensor; a file written by
    // `snnc import --network NAME` is a definition, instantiated (its Keras inputs fed) by a
    // wrapper beside it that the probes reach into
    let (snn_path, prefix) = match network_definition(&text) {
        Some(net) if cfg.snn.is_some() => {
            let lib = snn_path.file_name().map(|f| f.to_string_lossy().into_owned());
            let lib = lib.ok_or_else(|| format!("{} is not a file", snn_path.display()))?;
            let mut wrapper = format!(
                "// added by snnc verify: an instance of `{net}`\nuse \"{}\"\nnetwork __verify = {net}()\n",
                lib.replace('\\', "\\\\").replace('"', "\\\"")
            );
            for input in &model.inputs {
                let name = snn_keras::convert::sanitize(&input.name);
                let shape: Vec<String> =
                    input.shape.iter().map(|d| d.map_or("?".into(), |d| d.to_string())).collect();
                wrapper.push_str(&format!(
                    "input {name}: [{}]\nconnect {name} -> __verify.{name} synapse none\n",
                    shape.join(", ")
                ));
            }
            text = wrapper;
            (snn_path.with_file_name("__snnc_verify__.snn"), "__verify.")
        }
        _ => (snn_path, ""),
    };
    text.push_str("\n// added by snnc verify\n");
    for (i, (_, name)) in converted.objects.iter().enumerate() {
        text.push_str(&format!("probe __verify_{i} = {prefix}{name}\n"));
    }
    let mut notes = Vec::new();
    let diffs =
        run_and_compare(&model, &snn_path, text, &converted.objects, cfg, &opts, &mut notes)?;
    drop(scratch_guard);
    Ok((diffs, notes))
}

/// A scratch directory removed when dropped, on every return (an error or not).
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The rate neuron type a spiking one stands for (`lif` → `lif_rate`), `None` for types that are
/// not spiking or have none (Izhikevich).
fn rate_equivalent(n: &NeuronType) -> Option<NeuronType> {
    use snn_runtime::neurons as nt;
    Some(match n {
        NeuronType::SpikingRectifiedLinear(s) => {
            NeuronType::RectifiedLinear(nt::RectifiedLinear { amplitude: s.amplitude })
        }
        NeuronType::SpikingLeakyRelu(s) => NeuronType::LeakyRelu(nt::LeakyRelu {
            negative_slope: s.negative_slope,
            amplitude: s.amplitude,
        }),
        NeuronType::Lif(s) => NeuronType::LifRate(nt::LifRate {
            tau_rc: s.tau_rc,
            tau_ref: s.tau_ref,
            amplitude: s.amplitude,
        }),
        NeuronType::AdaptiveLif(s) => NeuronType::AdaptiveLifRate(nt::AdaptiveLifRate {
            tau_n: s.tau_n,
            inc_n: s.inc_n,
            tau_rc: s.tau_rc,
            tau_ref: s.tau_ref,
            amplitude: s.amplitude,
        }),
        NeuronType::RegularSpiking(_)
        | NeuronType::StochasticSpiking(_)
        | NeuronType::PoissonSpiking(_) => {
            let base = n.base()?;
            let amplitude = n.amplitude().unwrap_or(1.0);
            match base.amplitude() {
                Some(a) => base.with_amplitude(a * amplitude)?,
                None => base.clone(),
            }
        }
        _ => return None,
    })
}

/// Replaces every spiking neuron type of `program` by its rate equivalent; returns the Nengo
/// names of the types replaced and of spiking types left (no rate equivalent).
fn to_rate_mode(program: &mut snn_compiler::ir::Program) -> (Vec<&'static str>, Vec<&'static str>) {
    let (mut swapped, mut kept) = (Vec::new(), Vec::new());
    for op in program.once.iter_mut().chain(program.ops.iter_mut()) {
        if let snn_compiler::ir::OpKind::SimNeurons { neuron, states, init, .. } = &mut op.kind {
            if !neuron.is_spiking() {
                continue;
            }
            match rate_equivalent(neuron) {
                Some(rate) => {
                    swapped.push(neuron.name());
                    *neuron = rate;
                    // the spiking type's state (voltage, refractory time) is not the rate
                    // type's; verify probes outputs only
                    states.retain(|(v, _)| rate_state(neuron, v));
                    init.retain(|(v, _)| rate_state(neuron, v));
                }
                None => kept.push(neuron.name()),
            }
        }
    }
    for v in [&mut swapped, &mut kept] {
        v.sort_unstable();
        v.dedup();
    }
    (swapped, kept)
}

/// Whether `var` is a state variable of `neuron`.
fn rate_state(neuron: &NeuronType, var: &snn_runtime::neurons::StateVar) -> bool {
    neuron.state_vars().contains(var)
}

fn run_and_compare(
    model: &snn_keras::KerasModel,
    snn_path: &Path,
    text: String,
    objects: &[(snn_keras::TensorRef, String)],
    cfg: &VerifyConfig,
    opts: &Options,
    notes: &mut Vec<String>,
) -> Result<Vec<LayerDiff>, String> {
    let mut db = FsDb::new();
    // diagnostics name the file the user gave, not the scratch copy of a conversion
    let name = match &cfg.snn {
        Some(p) => p.display().to_string(),
        None => format!("{} (converted)", cfg.model.display()),
    };
    let root = db.add(&name, Some(snn_path.to_path_buf()), text);
    let max_memory = Some(cfg.max_memory.unwrap_or_else(crate::run::default_max_memory));
    let compile_cfg = CompileConfig { max_memory, ..CompileConfig::default() };
    let mut program = snn_compiler::compile(&mut db, root, &compile_cfg).map_err(|d| {
        let mut s = String::new();
        for d in &d {
            s.push_str(&crate::render::render(&db as &dyn SourceDb, d, false));
        }
        let limit = d.iter().any(|d| d.code == snn_syntax::codes::LIMIT);
        let what = if limit { "is beyond a limit" } else { "does not compile" };
        format!("the converted network {what}:\n{s}")
    })?;
    let (swapped, kept) = to_rate_mode(&mut program);
    if !swapped.is_empty() {
        notes.push(format!(
            "{} has spiking neurons ({}): compared in rate mode, each replaced by its rate equivalent for the one step verify runs (spikes in one step are not Keras's activations); measure the spiking network itself with `snnc run`",
            snn_path.display(),
            swapped.join(", ")
        ));
    }
    if !kept.is_empty() {
        notes.push(format!(
            "{} has spiking neurons with no rate equivalent ({}): layers after them differ from Keras",
            snn_path.display(),
            kept.join(", ")
        ));
    }
    let xs = if cfg.inputs.is_empty() { inputs(model)? } else { given_inputs(model, &cfg.inputs)? };
    let mut ordered = Vec::new();
    for decl in &program.inputs {
        let k = model
            .inputs
            .iter()
            .position(|i| snn_keras::convert::sanitize(&i.name) == decl.name)
            .ok_or_else(|| format!("the network's input `{}` is not a Keras input", decl.name))?;
        ordered.push(xs[k].clone());
    }
    let batch = ordered.first().map_or(1, |a| a.shape().first().copied().unwrap_or(1));
    let out = interp::run(&program, 1, batch, &ordered)?;
    // snnc's value of each Keras tensor, (batch, *shape)
    let snnc_value = |r: &snn_keras::TensorRef| -> Option<ArrayD<f64>> {
        let i = objects.iter().position(|(t, _)| t == r)?;
        let p = program.probes.iter().position(|p| p.name == format!("__verify_{i}"))?;
        let a = &out[p];
        let mut shape = vec![a.shape()[0]];
        shape.extend(&a.shape()[2..]);
        a.to_owned().into_shape_with_order(IxDyn(&shape)).ok()
    };
    let custom = |l: &snn_keras::Layer, _: &[&ArrayD<f64>]| -> Option<ArrayD<f64>> {
        opts.custom.iter().any(|b| b.matches(l)).then(|| snnc_value(&l.output())).flatten()
    };
    let eval = snn_keras::evaluate_with::<f64>(model, &xs, &custom).map_err(|e| e.to_string())?;
    let mut diffs = Vec::new();
    let mut compared = Vec::new();
    for (i, (r, _)) in objects.iter().enumerate() {
        let Some(want) = eval.get(r).or_else(|| eval.inputs.get(&r.layer)) else { continue };
        let pname = format!("__verify_{i}");
        let Some(p) = program.probes.iter().position(|p| p.name == pname) else { continue };
        let got = &out[p];
        let (mut max_abs, mut ok) = (0.0f64, got.len() == want.len());
        for (a, b) in got.iter().zip(want.iter()) {
            let d = (a - b).abs();
            max_abs = max_abs.max(d);
            if d.is_nan() || d > cfg.atol + cfg.rtol * b.abs() {
                ok = false;
            }
        }
        diffs.push(LayerDiff {
            layer: r.layer.clone(),
            max_abs,
            ok,
            output: model.outputs.contains(r),
        });
        compared.push(r);
    }
    if diffs.iter().any(|d| !d.ok && d.max_abs.is_finite()) {
        within_conditioning(model, &xs, &custom, &eval, &compared, &diffs, notes)?;
    }
    Ok(diffs)
}

/// For the first layer outside the tolerance, a note measuring the network's own sensitivity
/// to rounding there: Keras's evaluation again with every input multiplied by (1 + 2⁻⁵²), one
/// unit in the last place. When that moves the layer about as much as snnc differs from it (up
/// to 10×), the difference is what any other summation order gives (random BatchNormalization
/// statistics make some deep networks amplify rounding enormously); beyond 1000× it is not
/// rounding; in between the note gives the ratio. The verdict stays the tolerance's.
fn within_conditioning(
    model: &snn_keras::KerasModel,
    xs: &[ArrayD<f64>],
    custom: snn_keras::eval::CustomLayerFn<'_, f64>,
    eval: &snn_keras::Evaluation<f64>,
    compared: &[&snn_keras::TensorRef],
    diffs: &[LayerDiff],
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let Some((d, r)) = diffs.iter().zip(compared).find(|(d, _)| !d.ok) else { return Ok(()) };
    let nudged: Vec<ArrayD<f64>> =
        xs.iter().map(|a| a.mapv(|v| v * (1.0 + f64::EPSILON))).collect();
    let again =
        snn_keras::evaluate_with::<f64>(model, &nudged, custom).map_err(|e| e.to_string())?;
    let (Some(a), Some(b)) = (eval.get(r), again.get(r)) else { return Ok(()) };
    let moved = a.iter().zip(b.iter()).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    let ratio = d.max_abs / moved.max(f64::MIN_POSITIVE);
    let verdict = if ratio <= 10.0 {
        "the network amplifies rounding this much, so the difference is the size any other \
         summation order gives, not a semantic one"
            .to_string()
    } else if ratio <= 1e3 {
        format!(
            "snnc differs {ratio:.0}× more than one rounding step moves it; rounding accumulated \
             over many layers can reach that, a semantic error is usually orders of magnitude more"
        )
    } else {
        "far less than snnc's difference, which is therefore not rounding".to_string()
    };
    notes.push(format!(
        "multiplying the input by (1 + 2^-52), one unit in the last place, moves Keras's own \
         float64 value of `{}` by {moved:.1e} (snnc differs by {:.1e}): {verdict}",
        d.layer, d.max_abs
    ));
    Ok(())
}
