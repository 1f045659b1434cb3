//! Keras graph → `.snn` text plus a weights file: what `nengo_dl.Converter` does, emitted as the
//! language (one block per Keras layer, named after it) rather than as a network object.
//!
//! Layers with an activation become neuron layers (`relu`, `sigmoid`, … or the type a `--swap`
//! names); linear layers become passthrough nodes. Weighted layers are transforms on the
//! connection into the layer (dense matrices, convolutions); biases are the layer's bias or a
//! constant node. Layout layers (padding, upsampling, concatenation, channels-first flattening)
//! are sparse selection transforms whose indices live in the weights file.

mod layers;
mod layout;

use crate::{infer_shapes_with, ErrorKind, KerasError, KerasModel, TensorRef};
use indexmap::{IndexMap, IndexSet};
use ndarray::ArrayD;

/// Options mirroring the Converter's.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `FROM=TO` activation swaps by name (`relu` → `spiking_relu`).
    pub swap: Vec<(String, String)>,
    /// Gain and bias × X, amplitude ÷ X on neuron layers.
    pub scale_firing_rates: Option<f64>,
    /// Lowpass time constant (s) on connections leaving neuron layers (`None`: no synapse).
    pub synapse: Option<f64>,
    /// Refuse layers that would run on the host.
    pub no_fallback: bool,
    /// Convert MaxPooling as average pooling.
    pub max_to_avg_pool: bool,
    /// Initial voltages of spiking layers, by Keras layer name (one value per neuron, flat in
    /// the layer's order), e.g. the ones NengoDL drew, for run-for-run comparisons.
    pub initial_voltages: IndexMap<String, ArrayD<f64>>,
    /// Keras layers to probe besides the model's outputs (`nengo.Probe(converter.layers[l])`).
    pub probes: Vec<String>,
    /// `.snn` network blocks standing in for Keras classes (`--layers FILE.snn`).
    pub custom: Vec<CustomBlock>,
    /// Emit the model as `network NAME { … }` (inputs as passthrough-node members, outputs as
    /// members, no probes) for other `.snn` files to `use` and instantiate (`--network NAME`).
    pub network: Option<String>,
}

/// A user's `.snn` network definition used for a Keras class (the analogue of registering a
/// NengoDL LayerConverter): named after the class, with an `input` and an `output` member of the
/// same size. Its parameters are filled by name: `n` = the input's element count, a name found in
/// the layer's config = that number, `tensor` parameters = the layer's weights in Keras order.
#[derive(Clone, Debug)]
pub struct CustomBlock {
    /// The network's name (= the Keras class, without a `package>` prefix).
    pub network: String,
    /// Its parameters: name, declared type, whether it has a default.
    pub params: Vec<(String, Option<String>, bool)>,
    /// The path the emitted `.snn` uses to import the file defining it.
    pub use_path: String,
}

impl CustomBlock {
    /// Whether this block converts `layer`: it is named after the layer's class (`zoo>ScaleShift`
    /// or `ScaleShift`) or after the layer itself (how a `Lambda`, which is Python code, is given).
    pub fn matches(&self, layer: &crate::Layer) -> bool {
        layer.class_name.rsplit('>').next() == Some(self.network.as_str())
            || sanitize(&layer.name) == self.network
    }
}

/// How one Keras layer was converted.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerRow {
    /// Keras layer name.
    pub layer: String,
    /// Keras class.
    pub class: String,
    /// What it became (`relu layer [26, 26, 32]`, `passthrough node`, …).
    pub became: String,
}

/// The result of a conversion.
#[derive(Clone, Debug)]
pub struct Converted {
    /// The `.snn` text.
    pub snn: String,
    /// Tensors for the weights file, by name.
    pub tensors: IndexMap<String, ArrayD<f64>>,
    /// One row per Keras layer.
    pub report: Vec<LayerRow>,
    /// Things the user should know (NengoDL's warnings).
    pub warnings: Vec<String>,
    /// The `.snn` object standing for each Keras tensor (inputs first, then layers in order).
    pub objects: Vec<(TensorRef, String)>,
}

/// An object of the emitted network standing for a Keras tensor.
#[derive(Clone, Debug)]
pub(crate) struct Obj {
    /// Its name in the `.snn` file.
    pub(crate) name: String,
    /// Keras shape without the batch dimension.
    pub(crate) shape: Vec<usize>,
    /// Whether it is a neuron layer (its outgoing connections get `--synapse`).
    pub(crate) neurons: bool,
}

/// Convert `model`; the `.snn` refers to its tensors in `weights_file` (a path relative to it).
pub fn convert(
    model: &KerasModel,
    weights_file: &str,
    opts: &Options,
) -> Result<Converted, KerasError> {
    let custom = |l: &crate::Layer| opts.custom.iter().any(|b| b.matches(l));
    let has_block = |name: &str| model.layers.iter().any(|l| l.name == name && custom(l));
    if let Some((layer, class)) =
        model.unsupported_layers().into_iter().find(|(name, _)| !has_block(name))
    {
        let how = if opts.no_fallback {
            "and --no-fallback refuses host ops"
        } else {
            "and the Keras evaluator cannot run it as a host op either (give a `.snn` block for \
             it with --layers)"
        };
        return Err(KerasError::layer(
            ErrorKind::Unsupported,
            &model.source,
            &layer,
            format!(
                "{class} cannot be converted natively: snnc does not know this layer class {how}"
            ),
        ));
    }
    let custom_classes: Vec<String> =
        model.layers.iter().filter(|l| custom(l)).map(|l| l.class_name.clone()).collect();
    let shapes = infer_shapes_with(model, &custom_classes)?;
    let mut e = Emitter {
        model,
        opts,
        shapes,
        lines: Vec::new(),
        tensors: IndexMap::new(),
        objs: IndexMap::new(),
        names: IndexSet::new(),
        report: Vec::new(),
        warnings: Vec::new(),
        swaps_used: vec![false; opts.swap.len()],
        voltages_used: IndexSet::new(),
        pending_output: None,
    };
    e.header(weights_file);
    let body_start = e.lines.len();
    if let Some(net) = &opts.network {
        if sanitize(net) != *net || snn_syntax::lex::KEYWORDS.contains(&net.as_str()) {
            return Err(KerasError::new(
                ErrorKind::Config,
                &model.source,
                format!(
                    "--network {net}: not a .snn name (letters, digits and `_`, not a keyword)"
                ),
            ));
        }
    }
    for input in &model.inputs {
        let shape: Option<Vec<usize>> = input.shape.iter().copied().collect();
        let shape = shape.ok_or_else(|| {
            KerasError::new(
                ErrorKind::Unsupported,
                &model.source,
                format!("input `{}` has a variable dimension {:?}", input.name, input.shape),
            )
        })?;
        let name = e.fresh(&input.name);
        if opts.network.is_some() {
            e.line(format!(
                "// Keras: InputLayer (a member: connect into it)\nnode {name}: {}",
                shape_str(&shape)
            ));
        } else {
            e.line(format!("// Keras: InputLayer\ninput {name}: {}", shape_str(&shape)));
        }
        e.report.push(LayerRow {
            layer: input.name.clone(),
            class: "InputLayer".into(),
            became: format!("input {}", shape_str(&shape)),
        });
        let r = TensorRef { layer: input.name.clone(), node: 0, tensor: 0 };
        e.objs.insert(r, Obj { name, shape, neurons: false });
    }
    for layer in &model.layers {
        e.layer(layer)?;
    }
    for name in opts.initial_voltages.keys() {
        if !e.voltages_used.contains(name) {
            return Err(KerasError::new(
                ErrorKind::Config,
                &model.source,
                format!("initial voltages are given for `{name}`, which is not a spiking layer of the model"),
            ));
        }
    }
    for (i, used) in e.swaps_used.iter().enumerate() {
        if !used {
            let (from, to) = &opts.swap[i];
            return Err(KerasError::new(
                ErrorKind::Config,
                &model.source,
                format!(
                    "--swap {from}={to} matches no layer: no layer has the activation `{from}`"
                ),
            ));
        }
    }
    e.lines.push(String::new());
    let mut probed: Vec<TensorRef> = model.outputs.clone();
    for name in &opts.probes {
        let r = e.objs.keys().find(|r| r.layer == *name).cloned().ok_or_else(|| {
            KerasError::new(
                ErrorKind::Config,
                &model.source,
                format!("--probe {name}: the model has no layer `{name}`"),
            )
        })?;
        if !probed.contains(&r) {
            probed.push(r);
        }
    }
    for out in &probed {
        let obj = e.obj(out, &out.layer)?.clone();
        let probe = sanitize(&out.layer);
        match (&opts.network, probe == obj.name) {
            // in a network the output is a member under its Keras name
            (Some(_), true) => {}
            (Some(_), false) => {
                e.line(format!("// Keras output `{}`", out.layer));
                e.line(format!("alias {probe} = {}", obj.name));
            }
            (None, true) => e.line(format!("probe {probe}")),
            (None, false) => e.line(format!("probe {probe} = {}", obj.name)),
        }
    }
    if let Some(net) = &opts.network {
        let ins: Vec<String> = model.inputs.iter().map(|i| sanitize(&i.name)).collect();
        let outs: Vec<String> = probed.iter().map(|o| sanitize(&o.layer)).collect();
        e.lines.insert(
            body_start,
            format!(
                "\n// The Keras model as a network: inputs {}; outputs {}.\nnetwork {net} {{\nweights w = \"{}\"",
                ins.join(", "),
                outs.join(", "),
                escape(weights_file)
            ),
        );
        e.lines.push("}".into());
    }
    let mut snn = e.lines.join("\n");
    snn.push('\n');
    // canonical layout, as `snnc fmt` would write it
    if let Ok(formatted) = snn_syntax::format(&snn) {
        snn = formatted;
    }
    let objects = e.objs.iter().map(|(r, o)| (r.clone(), o.name.clone())).collect();
    Ok(Converted { snn, tensors: e.tensors, report: e.report, warnings: e.warnings, objects })
}

/// Emission state.
pub(crate) struct Emitter<'m> {
    pub(crate) model: &'m KerasModel,
    pub(crate) opts: &'m Options,
    pub(crate) shapes: IndexMap<TensorRef, Vec<usize>>,
    pub(crate) lines: Vec<String>,
    pub(crate) tensors: IndexMap<String, ArrayD<f64>>,
    pub(crate) objs: IndexMap<TensorRef, Obj>,
    pub(crate) names: IndexSet<String>,
    pub(crate) report: Vec<LayerRow>,
    pub(crate) warnings: Vec<String>,
    pub(crate) swaps_used: Vec<bool>,
    pub(crate) voltages_used: IndexSet<String>,
    /// Set by `target` when a layer's output is a host node after the node its sum flows into.
    pub(crate) pending_output: Option<Obj>,
}

impl Emitter<'_> {
    fn header(&mut self, weights_file: &str) {
        // a network definition declares its weights inside its body (names are scoped)
        let weights = if self.opts.network.is_some() {
            String::new()
        } else {
            format!("\n\nweights w = \"{}\"", escape(weights_file))
        };
        self.line(format!(
            "// Converted from {} by `snnc import` (Keras {}).\n// One block per Keras layer; tensors are in {weights_file}.{weights}",
            file_name(&self.model.source),
            self.model.keras_version.as_deref().unwrap_or("version unknown"),
        ));
        let mut uses: Vec<String> = self.opts.custom.iter().map(|b| b.use_path.clone()).collect();
        uses.dedup();
        for u in uses {
            self.line(format!("use \"{}\"", escape(&u)));
        }
    }

    pub(crate) fn line(&mut self, s: String) {
        self.lines.push(s);
    }

    /// A unique `.snn` name for a Keras name.
    pub(crate) fn fresh(&mut self, keras: &str) -> String {
        let base = sanitize(keras);
        let mut name = base.clone();
        let mut k = 1;
        while self.names.contains(&name) {
            k += 1;
            name = format!("{base}_{k}");
        }
        self.names.insert(name.clone());
        name
    }

    /// The object standing for tensor `r` (an error naming `layer` if there is none).
    pub(crate) fn obj(&self, r: &TensorRef, layer: &str) -> Result<&Obj, KerasError> {
        self.objs.get(r).ok_or_else(|| {
            self.err(
                ErrorKind::Config,
                layer,
                format!("input tensor `{}` is not available", r.layer),
            )
        })
    }

    pub(crate) fn err(&self, kind: ErrorKind, layer: &str, reason: String) -> KerasError {
        KerasError::layer(kind, &self.model.source, layer, reason)
    }

    /// Store a tensor for the weights file; returns the `.snn` expression reading it.
    pub(crate) fn tensor(&mut self, name: String, a: ArrayD<f64>) -> String {
        let expr = format!("w[\"{}\"]", escape(&name));
        self.tensors.insert(name, a);
        expr
    }

    /// The synapse clause for a connection leaving `pre`.
    pub(crate) fn synapse(&self, pre: &Obj) -> String {
        match (pre.neurons, self.opts.synapse) {
            (true, Some(tau)) => format!("synapse {}", seconds(tau)),
            _ => "synapse none".to_string(),
        }
    }
}

/// `[2, 3]`.
pub(crate) fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// A time in the language's units (`10ms`, `1.5ms`, `2s`).
pub(crate) fn seconds(t: f64) -> String {
    let ms = t * 1e3;
    if (ms - ms.round()).abs() < 1e-9 && ms.abs() >= 1.0 {
        format!("{}ms", ms.round() as i64)
    } else {
        format!("{}s", fmt_num(t))
    }
}

/// Shortest decimal that reads back as the same f64.
pub(crate) fn fmt_num(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('e') || s.contains('.') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0").trim_end_matches(".0").to_string()
    }
}

/// A Keras name as a `.snn` identifier (how inputs, layers and probes are named): letters, digits and `_`; never starting with a digit.
pub fn sanitize(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('\\', "/").replace('"', "'")
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.to_string())
}
