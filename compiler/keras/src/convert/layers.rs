//! One Keras layer → `.snn` declarations and connections, following NengoDL's converters.

use super::{fmt_num, sanitize, shape_str, Emitter, LayerRow, Obj};
use crate::{DataFormat, ErrorKind, KerasError, Layer, Padding};
use ndarray::{ArrayD, Dimension, IxDyn};

/// Classes that are the identity at inference time.
const IDENTITY: &[&str] = &[
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
];

impl Emitter<'_> {
    /// Convert one layer application: natively when it can, else (fallback allowed) as a
    /// `keras_layer` host op computing the layer with the evaluator's Keras semantics.
    pub(crate) fn layer(&mut self, l: &Layer) -> Result<(), KerasError> {
        let mark = (self.lines.len(), self.tensors.len(), self.names.len(), self.report.len());
        let obj = match self.native(l) {
            Ok(obj) => obj,
            Err(e) if e.kind == ErrorKind::Unsupported && self.can_host(l) => {
                // undo what the native attempt emitted
                self.lines.truncate(mark.0);
                self.tensors.truncate(mark.1);
                self.names.truncate(mark.2);
                self.report.truncate(mark.3);
                self.pending_output = None;
                self.keras_host(l)?
            }
            Err(e) => return Err(e),
        };
        let obj = self.pending_output.take().unwrap_or(obj);
        self.objs.insert(l.output(), obj);
        Ok(())
    }

    /// Whether `l` may run as a `keras_layer` host op: fallback is allowed and the evaluator
    /// computes it.
    fn can_host(&self, l: &Layer) -> bool {
        !self.opts.no_fallback
            && crate::eval::check_layer(l).is_ok()
            && !self.opts.custom.iter().any(|b| b.matches(l))
    }

    /// Convert one layer application natively (or with the dedicated host functions).
    fn native(&mut self, l: &Layer) -> Result<Obj, KerasError> {
        let out_shape = self.shapes.get(&l.output()).cloned().ok_or_else(|| {
            self.err(ErrorKind::Shape, &l.name, "no inferred output shape".into())
        })?;
        let inputs: Vec<Obj> =
            l.inbound.iter().map(|r| self.obj(r, &l.name).cloned()).collect::<Result<_, _>>()?;
        let class = l.class_name.as_str();
        let first = inputs.first().cloned();
        let source = self.model.source.clone();
        let one = || {
            first.clone().ok_or_else(|| {
                KerasError::layer(ErrorKind::Config, &source, &l.name, "the layer has no input")
            })
        };
        self.line(String::new());
        let obj = match class {
            "Dense" => {
                let pre = one()?;
                if pre.shape.len() != 1 {
                    return Err(self.unsupported(l, "Dense on an input with more than one axis"));
                }
                let kernel = self.weight(l, "kernel")?;
                let bias = if l.config.use_bias() { Some(self.weight(l, "bias")?) } else { None };
                let act = self.activation_of(l)?;
                let k = self.tensor(format!("{}/kernel", l.name), kernel);
                let obj = self.target(l, &out_shape, &act, bias)?;
                let syn = self.synapse(&pre);
                self.line(format!("connect {} -> {} transform {k}.T {syn}", pre.name, obj.name));
                obj
            }
            "Conv1D" | "Conv2D" => self.conv(l, &one()?, &out_shape)?,
            "Activation" | "ReLU" | "LeakyReLU" => {
                let pre = one()?;
                let act = match class {
                    "Activation" => self.activation_of(l)?,
                    "LeakyReLU" => Act::Leaky(l.config.negative_slope(0.3)),
                    _ => {
                        let slope = l.config.negative_slope(0.0);
                        if l.config.max_value().is_some() || l.config.threshold() != 0.0 {
                            return Err(self.unsupported(l, "ReLU with max_value or threshold"));
                        }
                        if slope != 0.0 {
                            Act::Leaky(slope)
                        } else {
                            Act::Named("relu".into())
                        }
                    }
                };
                let obj = self.target(l, &out_shape, &act, None)?;
                let syn = self.synapse(&pre);
                self.line(format!("connect {} -> {} {syn}", pre.name, obj.name));
                obj
            }
            "BatchNormalization" => self.batch_norm(l, &one()?, &out_shape)?,
            "Add" | "Average" => {
                let obj = self.node(l, &out_shape, "passthrough node");
                let scale = if class == "Average" {
                    format!(" transform {}", fmt_num(1.0 / inputs.len() as f64))
                } else {
                    String::new()
                };
                for pre in &inputs {
                    let syn = self.synapse(pre);
                    self.line(format!("connect {} -> {}{scale} {syn}", pre.name, obj.name));
                }
                obj
            }
            "Concatenate" => self.concatenate(l, &inputs, &out_shape)?,
            "Flatten" => {
                let pre = one()?;
                let cf = l.config.data_format() == Some(DataFormat::ChannelsFirst);
                if cf && pre.shape.len() > 1 {
                    self.channels_first_flatten(l, &pre, &out_shape)?
                } else {
                    self.identity(l, &pre, &out_shape, "passthrough node (same order)")
                }
            }
            "Reshape" => self.identity(l, &one()?, &out_shape, "passthrough node (same order)"),
            c if IDENTITY.contains(&c) => {
                self.identity(l, &one()?, &out_shape, "passthrough node (identity at inference)")
            }
            "ZeroPadding1D" | "ZeroPadding2D" | "UpSampling1D" | "UpSampling2D" => {
                self.layout(l, &one()?, &out_shape)?
            }
            "AveragePooling1D" | "AveragePooling2D" => self.pooling(l, &one()?, &out_shape)?,
            "MaxPooling1D" | "MaxPooling2D" if self.opts.max_to_avg_pool => {
                self.pooling(l, &one()?, &out_shape)?
            }
            "GlobalAveragePooling1D" | "GlobalAveragePooling2D" => {
                self.global_pooling(l, &one()?, &out_shape)?
            }
            "MaxPooling1D" | "MaxPooling2D" => self.max_pool_host(l, &one()?, &out_shape)?,
            _ if self.opts.custom.iter().any(|b| b.matches(l)) => self.custom(l, &one()?)?,
            _ => return Err(self.unsupported(l, "no native conversion")),
        };
        Ok(obj)
    }

    fn unsupported(&self, l: &Layer, why: &str) -> KerasError {
        let how = if self.opts.no_fallback {
            "and --no-fallback refuses host ops".to_string()
        } else {
            match crate::eval::check_layer(l) {
                Ok(()) => "(it runs as a host op)".to_string(),
                Err(e) => format!("and it cannot run as a host op either: {}", e.reason),
            }
        };
        let mp = if l.class_name.starts_with("MaxPooling") {
            "; --max-to-avg-pool converts it as average pooling"
        } else {
            ""
        };
        self.err(
            ErrorKind::Unsupported,
            &l.name,
            format!("{} cannot be converted natively: {why} {how}{mp}", l.class_name),
        )
    }

    pub(crate) fn weight(&self, l: &Layer, name: &str) -> Result<ArrayD<f64>, KerasError> {
        l.weight(name).cloned().ok_or_else(|| {
            self.err(ErrorKind::Weights, &l.name, format!("missing weight `{name}`"))
        })
    }

    fn activation_of(&self, l: &Layer) -> Result<Act, KerasError> {
        let a = l
            .config
            .activation()
            .ok_or_else(|| self.err(ErrorKind::Config, &l.name, "unreadable activation".into()))?;
        Ok(match a.as_str() {
            "linear" => Act::Linear,
            "relu" | "sigmoid" | "tanh" => Act::Named(a),
            "leaky_relu" => Act::Leaky(0.2),
            "elu" | "softmax" if !self.opts.no_fallback => Act::Host(a),
            // any other activation the evaluator knows: a `keras_layer` Activation host op
            other if !self.opts.no_fallback && crate::eval::is_known_activation(other) => {
                Act::Host(a)
            }
            other => {
                return Err(self.unsupported(l, &format!("the activation `{other}`")));
            }
        })
    }

    /// Declare the object a layer's weighted sum flows into: a neuron layer for an activation,
    /// a passthrough node (plus a constant bias node) for `linear`.
    pub(crate) fn target(
        &mut self,
        l: &Layer,
        shape: &[usize],
        act: &Act,
        bias: Option<ArrayD<f64>>,
    ) -> Result<Obj, KerasError> {
        let n: usize = shape.iter().product();
        let bias = match bias {
            Some(b) if b.len() == n => Some(
                b.into_shape_with_order(IxDyn(&[n]))
                    .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?,
            ),
            Some(b) => Some(self.per_neuron(l, &b, shape)?),
            None => None,
        };
        if let Act::Host(h) = act {
            // the weighted sum flows into a linear node; the layer's output is a host node
            let sum = Layer { name: format!("{}_linear", l.name), ..l.clone() };
            let lin = self.target(&sum, shape, &Act::Linear, bias.map(ArrayD::into_dyn))?;
            let call = if matches!(h.as_str(), "elu" | "softmax") {
                format!("{h}(input_shape = {})", shape_str(shape))
            } else {
                let config = serde_json::json!({ "activation": h }).to_string();
                format!(
                    "keras_layer(class = \"Activation\", input_shape = {}, config = \"{}\", keras = {})",
                    shape_str(shape),
                    escape_json(&config),
                    self.keras_major()
                )
            };
            let out = self.host_node(l, shape, &call, &lin);
            self.pending_output = Some(out);
            return Ok(lin);
        }
        let (keras_act, mut ty, mut args) = match act {
            Act::Host(_) => unreachable!("handled above"),
            Act::Linear => {
                let name = self.fresh(&l.name);
                self.line(format!("// Keras: {} (linear)", l.class_name));
                self.line(format!("node {name}: {}", shape_str(shape)));
                if let Some(b) = bias {
                    let b = b
                        .into_shape_with_order(IxDyn(shape))
                        .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?;
                    let bname = self.fresh(&format!("{}_bias", l.name));
                    let t = self.tensor(format!("{}/bias", l.name), b);
                    self.line(format!("node {bname} = {t}"));
                    self.line(format!("connect {bname} -> {name} synapse none"));
                }
                self.report.push(LayerRow {
                    layer: l.name.clone(),
                    class: l.class_name.clone(),
                    became: format!("node {}", shape_str(shape)),
                });
                return Ok(Obj { name, shape: shape.to_vec(), neurons: false });
            }
            Act::Named(a) => {
                let (ty, args) = match a.as_str() {
                    "sigmoid" | "tanh" => (a.clone(), vec!["tau_ref = 1s".to_string()]),
                    _ => (a.clone(), Vec::new()),
                };
                (a.clone(), ty, args)
            }
            Act::Leaky(s) => (
                "leaky_relu".to_string(),
                "leaky_relu".to_string(),
                vec![format!("negative_slope = {}", fmt_num(*s))],
            ),
        };
        if let Some(i) = self.opts.swap.iter().position(|(from, _)| *from == keras_act) {
            self.swaps_used[i] = true;
            ty = self.opts.swap[i].1.clone();
            args.clear();
        }
        let name = self.fresh(&l.name);
        let scale = self.opts.scale_firing_rates;
        if let Some(x) = scale {
            args.push(format!("gain = {}", fmt_num(x)));
            if matches!(ty.as_str(), "sigmoid" | "tanh") {
                self.warnings.push(format!(
                    "layer `{}`: scale_firing_rates on a `{ty}` layer changes its output, which \
                     has no amplitude to undo the scaling (NengoDL warns the same)",
                    l.name
                ));
            } else {
                args.push(format!("amplitude = {}", fmt_num(1.0 / x)));
            }
        }
        if let Some(v) = self.opts.initial_voltages.get(&l.name) {
            let has_voltage = snn_runtime::neurons::NeuronKind::from_name(&ty).is_some_and(|k| {
                k.info().states.iter().any(|s| s.var == snn_runtime::neurons::StateVar::Voltage)
            });
            if !has_voltage {
                return Err(self.err(
                    ErrorKind::Config,
                    &l.name,
                    format!("initial voltages are given, but a `{ty}` layer has no voltage"),
                ));
            }
            if v.len() != n {
                return Err(self.err(
                    ErrorKind::Shape,
                    &l.name,
                    format!("{} initial voltages for {n} neurons", v.len()),
                ));
            }
            let flat = v
                .clone()
                .into_shape_with_order(IxDyn(&[n]))
                .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?;
            let t = self.tensor(format!("{}/initial_voltage", l.name), flat);
            args.push(format!("initial_voltage = {t}"));
            self.voltages_used.insert(l.name.clone());
        }
        if let Some(b) = bias {
            let b = match scale {
                Some(x) => b * x,
                None => b,
            };
            let t = self.tensor(format!("{}/bias", l.name), b);
            args.push(format!("bias = {t}"));
        }
        self.line(format!("// Keras: {} (activation {keras_act})", l.class_name));
        self.line(format!("layer {name}: {} = {ty}({})", shape_str(shape), args.join(", ")));
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!("{ty} layer {}", shape_str(shape)),
        });
        Ok(Obj { name, shape: shape.to_vec(), neurons: true })
    }

    /// A per-channel vector spread over a layer's neurons (channel axis last, or first for
    /// channels_first layers), flattened.
    fn per_neuron(
        &self,
        l: &Layer,
        v: &ArrayD<f64>,
        shape: &[usize],
    ) -> Result<ArrayD<f64>, KerasError> {
        let cf = l.config.data_format() == Some(DataFormat::ChannelsFirst);
        let axis = if cf { 0 } else { shape.len().saturating_sub(1) };
        if shape.get(axis) != Some(&v.len()) {
            return Err(self.err(
                ErrorKind::Shape,
                &l.name,
                format!("a vector of {} does not match the output shape {shape:?}", v.len()),
            ));
        }
        let flat: Vec<f64> = v.iter().copied().collect();
        let full = ArrayD::from_shape_fn(IxDyn(shape), |ix| flat[ix[axis]]);
        let n = full.len();
        full.into_shape_with_order(IxDyn(&[n]))
            .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))
    }

    fn conv(&mut self, l: &Layer, pre: &Obj, out_shape: &[usize]) -> Result<Obj, KerasError> {
        let rank = if l.class_name == "Conv1D" { 1 } else { 2 };
        if l.config.dilation_rate(rank).iter().any(|&d| d != 1) {
            return Err(self.unsupported(l, "dilated convolution"));
        }
        let padding = match l.config.padding() {
            Some(Padding::Valid) => "valid",
            Some(Padding::Same) => "same",
            _ => return Err(self.unsupported(l, "causal padding")),
        };
        let cf = l.config.data_format() == Some(DataFormat::ChannelsFirst);
        let strides: Vec<String> = l.config.strides(rank).iter().map(|s| s.to_string()).collect();
        let kernel = self.weight(l, "kernel")?;
        let bias = if l.config.use_bias() { Some(self.weight(l, "bias")?) } else { None };
        let act = self.activation_of(l)?;
        let k = self.tensor(format!("{}/kernel", l.name), kernel);
        let obj = self.target(l, out_shape, &act, bias)?;
        let groups = l.config.groups();
        let mut args = vec![
            format!("kernel = {k}"),
            format!("strides = [{}]", strides.join(", ")),
            format!("padding = {padding}"),
        ];
        if cf {
            args.push("channels_last = false".into());
        }
        if groups > 1 {
            args.push(format!("groups = {groups}"));
        }
        let syn = self.synapse(pre);
        self.line(format!(
            "connect {} -> {} transform conv{rank}d({}) {syn}",
            pre.name,
            obj.name,
            args.join(", ")
        ));
        Ok(obj)
    }

    fn batch_norm(&mut self, l: &Layer, pre: &Obj, shape: &[usize]) -> Result<Obj, KerasError> {
        let axes = l.config.axes().unwrap_or_else(|| vec![-1]);
        let nd = shape.len() as i64;
        let axes: Vec<usize> = axes
            .iter()
            .map(|&a| if a < 0 { (a + nd) as usize } else { (a - 1) as usize })
            .collect();
        // Keras axes count the batch dimension: a positive axis a is a - 1 here.
        let mean = self.weight(l, "moving_mean")?;
        let var = self.weight(l, "moving_variance")?;
        let gamma = if l.config.scale() { Some(self.weight(l, "gamma")?) } else { None };
        let beta = if l.config.center() { Some(self.weight(l, "beta")?) } else { None };
        let eps = l.config.epsilon();
        let (mut scale, mut offset) = (Vec::new(), Vec::new());
        let params: Vec<f64> = mean.iter().copied().collect();
        for (i, m) in params.iter().enumerate() {
            let v = var.iter().nth(i).copied().unwrap_or(1.0);
            let g = gamma.as_ref().and_then(|g| g.iter().nth(i).copied()).unwrap_or(1.0);
            let b = beta.as_ref().and_then(|b| b.iter().nth(i).copied()).unwrap_or(0.0);
            let inv = g / (v + eps).sqrt();
            scale.push(inv);
            offset.push(b - m * inv);
        }
        // index into the parameters from a position: row-major over the normalised axes
        let param_index = |ix: &[usize]| -> usize {
            axes.iter().fold(0, |acc, &a| acc * shape.get(a).copied().unwrap_or(1) + ix[a])
        };
        let n: usize = shape.iter().product();
        if axes.iter().map(|&a| shape.get(a).copied().unwrap_or(0)).product::<usize>()
            != params.len()
        {
            return Err(self.err(
                ErrorKind::Shape,
                &l.name,
                format!("{} parameters do not fit axes {axes:?} of {shape:?}", params.len()),
            ));
        }
        let full_scale = ArrayD::from_shape_fn(IxDyn(shape), |ix| scale[param_index(ix.slice())]);
        let full_offset = ArrayD::from_shape_fn(IxDyn(shape), |ix| offset[param_index(ix.slice())]);
        let full_scale = full_scale
            .into_shape_with_order(IxDyn(&[n]))
            .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?;
        let name = self.fresh(&l.name);
        self.line(
            "// Keras: BatchNormalization (inference: x * gamma / sqrt(var + eps) + offset)".into(),
        );
        self.line(format!("node {name}: {}", shape_str(shape)));
        let s = self.tensor(format!("{}/scale", l.name), full_scale);
        let o = self.tensor(format!("{}/offset", l.name), full_offset);
        let oname = self.fresh(&format!("{}_offset", l.name));
        self.line(format!("node {oname} = {o}"));
        self.line(format!("connect {oname} -> {name} synapse none"));
        let syn = self.synapse(pre);
        self.line(format!("connect {} -> {name} transform {s} {syn}", pre.name));
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!("node {} (elementwise scale and offset)", shape_str(shape)),
        });
        Ok(Obj { name, shape: shape.to_vec(), neurons: false })
    }

    /// A passthrough node of `shape`, declared with a comment and a report row.
    pub(crate) fn node(&mut self, l: &Layer, shape: &[usize], became: &str) -> Obj {
        let name = self.fresh(&l.name);
        self.line(format!("// Keras: {}", l.class_name));
        self.line(format!("node {name}: {}", shape_str(shape)));
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!("{became} {}", shape_str(shape)),
        });
        Obj { name, shape: shape.to_vec(), neurons: false }
    }

    /// The Keras major version the model's semantics follow (2 unless the file says 3).
    fn keras_major(&self) -> u32 {
        if self.model.keras_version.as_deref().is_some_and(|v| v.starts_with('3')) {
            3
        } else {
            2
        }
    }

    /// Any layer the evaluator computes, as a `keras_layer` host node: its config (without
    /// names, dtypes, initializers, regularizers and constraints) as JSON, its weights as tensors
    /// named after the layer, its inputs connected into consecutive slices of the node's input.
    fn keras_host(&mut self, l: &Layer) -> Result<Obj, KerasError> {
        let out_shape = self.shapes.get(&l.output()).cloned().ok_or_else(|| {
            self.err(ErrorKind::Shape, &l.name, "no inferred output shape".into())
        })?;
        let inputs: Vec<Obj> =
            l.inbound.iter().map(|r| self.obj(r, &l.name).cloned()).collect::<Result<_, _>>()?;
        if inputs.is_empty() {
            return Err(self.err(ErrorKind::Config, &l.name, "the layer has no input".into()));
        }
        let rank = inputs.iter().map(|i| i.shape.len()).max().unwrap_or(1);
        // inputs of lower rank (broadcast by merge layers) get leading 1s: same result
        let shapes: Vec<Vec<usize>> = inputs
            .iter()
            .map(|i| {
                let mut s = vec![1; rank - i.shape.len()];
                s.extend_from_slice(&i.shape);
                s
            })
            .collect();
        let input_shape = if shapes.len() == 1 {
            shape_str(&shapes[0])
        } else {
            let parts: Vec<String> = shapes.iter().map(|s| shape_str(s)).collect();
            format!("[{}]", parts.join(", "))
        };
        let config = match &l.config.0 {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "name" | "trainable" | "dtype" | "batch_input_shape" | "batch_shape"
                        ) && !k.ends_with("_initializer")
                            && !k.ends_with("_regularizer")
                            && !k.ends_with("_constraint")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        };
        let mut args = vec![
            format!("class = \"{}\"", escape_json(&l.class_name)),
            format!("input_shape = {input_shape}"),
            format!("config = \"{}\"", escape_json(&config.to_string())),
            format!("keras = {}", self.keras_major()),
        ];
        for w in l.weights.iter() {
            let ident = w.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && w.name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            if !ident || matches!(w.name.as_str(), "class" | "input_shape" | "config" | "keras") {
                return Err(self.unsupported(l, &format!("a weight named `{}`", w.name)));
            }
            let t = self.tensor(format!("{}/{}", l.name, w.name), w.array.clone());
            args.push(format!("{} = {t}", w.name));
        }
        let name = self.fresh(&l.name);
        self.line(format!(
            "// Keras: {} (host op: computed on the host with Keras semantics, off the neuromorphic path)",
            l.class_name
        ));
        self.line(format!(
            "node {name}: {} = keras_layer({})",
            shape_str(&out_shape),
            args.join(", ")
        ));
        let mut at = 0;
        for pre in &inputs {
            let n: usize = pre.shape.iter().product();
            let syn = self.synapse(pre);
            if inputs.len() == 1 {
                self.line(format!("connect {} -> {name} {syn}", pre.name));
            } else {
                self.line(format!("connect {} -> {name}[{at}:{}] {syn}", pre.name, at + n));
            }
            at += n;
        }
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!("host op keras_layer {}", shape_str(&out_shape)),
        });
        Ok(Obj { name, shape: out_shape, neurons: false })
    }

    /// A host-function node `NAME = CALL` fed by `pre` (NengoDL's TensorNode fallback).
    fn host_node(&mut self, l: &Layer, shape: &[usize], call: &str, pre: &Obj) -> Obj {
        let name = self.fresh(&l.name);
        self.line(format!(
            "// Keras: {} (host op: computed on the host, off the neuromorphic path)",
            l.class_name
        ));
        self.line(format!("node {name}: {} = {call}", shape_str(shape)));
        let syn = self.synapse(pre);
        self.line(format!("connect {} -> {name} {syn}", pre.name));
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!(
                "host op {} {}",
                call.split('(').next().unwrap_or(""),
                shape_str(shape)
            ),
        });
        Obj { name, shape: shape.to_vec(), neurons: false }
    }

    fn max_pool_host(&mut self, l: &Layer, pre: &Obj, out: &[usize]) -> Result<Obj, KerasError> {
        if self.opts.no_fallback {
            return Err(self.unsupported(l, "max pooling is not a neuromorphic operation"));
        }
        let rank = pre.shape.len() - 1;
        let list = |v: Vec<usize>| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
        let padding = if l.config.padding() == Some(Padding::Same) { "same" } else { "valid" };
        let mut call = format!(
            "max_pool{rank}d(input_shape = {}, size = [{}], strides = [{}], padding = {padding}",
            shape_str(&pre.shape),
            list(l.config.pool_size(rank)),
            list(l.config.pool_strides(rank))
        );
        if l.config.data_format() == Some(DataFormat::ChannelsFirst) {
            call.push_str(", channels_last = false");
        }
        call.push(')');
        Ok(self.host_node(l, out, &call, pre))
    }

    /// A custom Keras class converted by the user's `.snn` block.
    fn custom(&mut self, l: &Layer, pre: &Obj) -> Result<Obj, KerasError> {
        let Some(block) = self.opts.custom.iter().find(|b| b.matches(l)).cloned() else {
            return Err(self.unsupported(l, "no custom block"));
        };
        let mut weights = l.weights.iter();
        let mut args = Vec::new();
        for (name, ty, has_default) in &block.params {
            if name == "n" {
                args.push(format!("n = {}", pre.shape.iter().product::<usize>()));
            } else if let Some(x) = l.config.f64(name) {
                args.push(format!("{name} = {}", fmt_num(x)));
            } else if ty.as_deref() == Some("tensor") {
                let w = weights.next().ok_or_else(|| {
                    self.err(
                        ErrorKind::Weights,
                        &l.name,
                        format!(
                            "block `{}` wants tensor `{name}`, but the layer has no more weights",
                            block.network
                        ),
                    )
                })?;
                let t = self.tensor(format!("{}/{}", l.name, w.name), w.array.clone());
                args.push(format!("{name} = {t}"));
            } else if !has_default {
                return Err(self.err(
                    ErrorKind::Config,
                    &l.name,
                    format!("block `{}`: nothing fills parameter `{name}` (not `n`, not in the layer's config, not a tensor)", block.network),
                ));
            }
        }
        let name = if sanitize(&l.name) == block.network {
            self.fresh(&format!("{}_block", l.name))
        } else {
            self.fresh(&l.name)
        };
        self.line(format!(
            "// Keras: {} (custom block `{}` from {})",
            l.class_name, block.network, block.use_path
        ));
        self.line(format!("network {name} = {}({})", block.network, args.join(", ")));
        let syn = self.synapse(pre);
        self.line(format!("connect {} -> {name}.input {syn}", pre.name));
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!("custom block {}", block.network),
        });
        Ok(Obj { name: format!("{name}.output"), shape: pre.shape.clone(), neurons: false })
    }

    fn identity(&mut self, l: &Layer, pre: &Obj, shape: &[usize], became: &str) -> Obj {
        let obj = self.node(l, shape, became);
        let syn = self.synapse(pre);
        self.line(format!("connect {} -> {} {syn}", pre.name, obj.name));
        obj
    }
}

/// The nonlinearity of a layer.
#[derive(Clone, Debug)]
pub(crate) enum Act {
    /// No nonlinearity: a node.
    Linear,
    /// A named activation (`relu`, `sigmoid`, `tanh`).
    Named(String),
    /// Leaky ReLU with this negative slope.
    Leaky(f64),
    /// An activation computed by a host function (`elu`, `softmax` over the last axis).
    Host(String),
}

/// Text inside a `.snn` string literal: backslashes and quotes escaped.
fn escape_json(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
