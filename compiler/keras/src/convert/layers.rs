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
                let rank = pre.shape.len().saturating_sub(1);
                if !(1..=3).contains(&pre.shape.len()) {
                    return Err(self.unsupported(l, "Dense on an input with more than three axes"));
                }
                let kernel = self.weight(l, "kernel")?;
                let bias = if l.config.use_bias() { Some(self.weight(l, "bias")?) } else { None };
                let act = self.activation_of(l)?;
                let obj = self.target(l, &out_shape, &act, bias)?;
                let syn = self.synapse(&pre);
                if rank == 0 {
                    let k = self.tensor(format!("{}/kernel", l.name), kernel);
                    self.line(format!(
                        "connect {} -> {} transform {k}.T {syn}",
                        pre.name, obj.name
                    ));
                } else {
                    // Dense over the last axis of (L, C) / (H, W, C): a 1×1 convolution
                    // (ConvNeXt's pointwise layers)
                    let mut shape = vec![1usize; rank];
                    shape.extend_from_slice(kernel.shape());
                    let kernel = kernel
                        .into_shape_with_order(IxDyn(&shape))
                        .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?;
                    let k = self.tensor(format!("{}/kernel", l.name), kernel);
                    let ones = vec!["1"; rank].join(", ");
                    self.line(format!(
                        "connect {} -> {} transform conv{rank}d(kernel = {k}, strides = [{ones}], padding = valid) {syn}",
                        pre.name, obj.name
                    ));
                }
                obj
            }
            "Conv1D" | "Conv2D" | "DepthwiseConv1D" | "DepthwiseConv2D" | "SeparableConv1D"
            | "SeparableConv2D" | "Conv1DTranspose" | "Conv2DTranspose" => {
                self.conv(l, &one()?, &out_shape)?
            }
            "Rescaling" | "Normalization" => self.preprocessing(l, &one()?, &out_shape)?,
            "Activation" | "ReLU" | "LeakyReLU" => {
                let pre = one()?;
                let act = match class {
                    "Activation" => self.activation_of(l)?,
                    "LeakyReLU" => Act::Leaky(l.config.negative_slope(0.3)),
                    _ => {
                        let slope = l.config.negative_slope(0.0);
                        if let (Some(m), 0.0, 0.0) =
                            (l.config.max_value(), slope, l.config.threshold())
                        {
                            if m > 0.0 {
                                return self.clipped_relu(l, &pre, &out_shape, m, None);
                            }
                        }
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
                let w = if class == "Average" { 1.0 / inputs.len() as f64 } else { 1.0 };
                let weights = vec![w; inputs.len()];
                self.weighted_sum(l, &inputs, &weights, &out_shape)?
            }
            // InceptionResNetV2's residual: inputs[0] + inputs[1] * scale
            "CustomScaleLayer" if inputs.len() == 2 => {
                let scale = l.config.f64("scale").unwrap_or(1.0);
                self.weighted_sum(l, &inputs, &[1.0, scale], &out_shape)?
            }
            "TFOpLambda" if inputs.len() == 2 => {
                let w = match l.config.str("function").unwrap_or_default() {
                    "__operators__.add" | "math.add" => 1.0,
                    "math.subtract" => -1.0,
                    f => {
                        return Err(self.unsupported(l, &format!("tf.{f} of two tensors")));
                    }
                };
                self.weighted_sum(l, &inputs, &[1.0, w], &out_shape)?
            }
            // elementwise arithmetic with constants, a per-channel scale: x * scale + offset
            "TFOpLambda" | "LayerScale" => {
                let pre = one()?;
                let affine = matches!(
                    l.config.str("function").unwrap_or("LayerScale"),
                    "LayerScale"
                        | "__operators__.add"
                        | "math.add"
                        | "math.subtract"
                        | "math.multiply"
                        | "math.truediv"
                        | "math.divide"
                        | "math.negative"
                );
                if !affine || pre.shape != out_shape || inputs.len() != 1 {
                    return Err(self.unsupported(l, "not an elementwise affine map"));
                }
                self.preprocessing(l, &pre, &out_shape)?
            }
            "StochasticDepth" => {
                self.identity(l, &one()?, &out_shape, "passthrough node (identity at inference)")
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
            "relu6" => Act::Relu6,
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
        if matches!(act, Act::Relu6) {
            // the weighted sum (with its bias) flows into a linear node, clipped after it
            let sum = Layer { name: format!("{}_linear", l.name), ..l.clone() };
            let lin = self.target(&sum, shape, &Act::Linear, bias.map(ArrayD::into_dyn))?;
            let out = self.clipped_relu(l, &lin, shape, 6.0, Some(()))?;
            self.pending_output = Some(out);
            return Ok(lin);
        }
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
            Act::Host(_) | Act::Relu6 => unreachable!("handled above"),
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
        let class = l.class_name.as_str();
        let rank = if class.trim_end_matches("Transpose").ends_with("1D") { 1 } else { 2 };
        let padding = match l.config.padding() {
            Some(Padding::Valid) => "valid",
            Some(Padding::Same) => "same",
            _ => return Err(self.unsupported(l, "causal padding")),
        };
        let dilation = l.config.dilation_rate(rank);
        let transpose = class.ends_with("Transpose");
        if transpose && dilation.iter().any(|&d| d != 1) {
            return Err(self.unsupported(l, "dilated transposed convolution"));
        }
        let bias = if l.config.use_bias() { Some(self.weight(l, "bias")?) } else { None };
        let act = self.activation_of(l)?;
        let geo = ConvGeo {
            rank,
            strides: l.config.strides(rank),
            padding,
            cf: l.config.data_format() == Some(DataFormat::ChannelsFirst),
        };
        if class.starts_with("Separable") {
            // a depthwise convolution into a linear node, then the 1x1 pointwise one
            let (dw, groups) = self.depthwise_kernel(l)?;
            let dw = dilate(&dw, &dilation);
            let mid_shape = self.depthwise_shape(l, &pre.shape, &dw, &geo).ok_or_else(|| {
                self.err(ErrorKind::Shape, &l.name, "bad depthwise geometry".into())
            })?;
            let dl = Layer { name: format!("{}_depthwise", l.name), ..l.clone() };
            let mid = self.target(&dl, &mid_shape, &Act::Linear, None)?;
            self.conv_connect(&dl, pre, &mid, dw, &geo, groups, None);
            let pw = self.weight(l, "pointwise_kernel")?;
            let obj = self.target(l, out_shape, &act, bias)?;
            let one = ConvGeo { strides: vec![1; rank], padding: "valid", ..geo };
            let pl = Layer { name: format!("{}_pointwise", l.name), ..l.clone() };
            self.conv_connect(&pl, &mid, &obj, pw, &one, 1, None);
            return Ok(obj);
        }
        let (kernel, groups) = if class.starts_with("Depthwise") {
            self.depthwise_kernel(l)?
        } else if transpose {
            // Keras (k..., filters, in) -> the language's (k..., in, filters)
            let k = self.weight(l, "kernel")?;
            let nd = k.ndim();
            if nd != rank + 2 {
                return Err(self.err(ErrorKind::Weights, &l.name, "bad kernel rank".into()));
            }
            let mut k = k;
            k.swap_axes(nd - 2, nd - 1);
            (k.as_standard_layout().into_owned(), 1)
        } else {
            (self.weight(l, "kernel")?, l.config.groups())
        };
        let kernel = dilate(&kernel, &dilation);
        let obj = self.target(l, out_shape, &act, bias)?;
        let out = transpose.then(|| out_shape.to_vec());
        self.conv_connect(l, pre, &obj, kernel, &geo, groups, out);
        Ok(obj)
    }

    /// A depthwise kernel `(k..., C, M)` as a grouped one `(k..., 1, C·M)`, and its groups `C`.
    fn depthwise_kernel(&self, l: &Layer) -> Result<(ArrayD<f64>, usize), KerasError> {
        let k = self.weight(l, "depthwise_kernel")?;
        let c = k.shape().get(k.ndim().saturating_sub(2)).copied().unwrap_or(1);
        let g = snn_runtime::keras::depthwise_as_grouped(&k)
            .map_err(|e| self.err(ErrorKind::Weights, &l.name, e))?;
        Ok((g, c))
    }

    /// The output shape of a separable convolution's depthwise stage.
    fn depthwise_shape(
        &self,
        l: &Layer,
        input: &[usize],
        kernel: &ArrayD<f64>,
        geo: &ConvGeo,
    ) -> Option<Vec<usize>> {
        let rank = geo.rank;
        let sp: Vec<usize> =
            if geo.cf { input.get(1..)?.to_vec() } else { input.get(..rank)?.to_vec() };
        let pad = l.config.padding()?;
        let mut out = Vec::new();
        for (d, &n) in sp.iter().enumerate() {
            let k = *kernel.shape().get(d)?;
            let s = *geo.strides.get(d)?;
            out.push(if pad == Padding::Same {
                n.div_ceil(s)
            } else {
                (n.checked_sub(k)?) / s + 1
            });
        }
        let f = *kernel.shape().get(rank + 1)?;
        if geo.cf {
            out.insert(0, f);
        } else {
            out.push(f);
        }
        Some(out)
    }

    /// `connect pre -> obj transform conv{rank}d(…)` (or `conv_transpose{rank}d` with its output
    /// shape).
    #[allow(clippy::too_many_arguments)]
    fn conv_connect(
        &mut self,
        l: &Layer,
        pre: &Obj,
        obj: &Obj,
        kernel: ArrayD<f64>,
        geo: &ConvGeo,
        groups: usize,
        transpose_out: Option<Vec<usize>>,
    ) {
        let k = self.tensor(format!("{}/kernel", l.name), kernel);
        let strides: Vec<String> = geo.strides.iter().map(|s| s.to_string()).collect();
        let mut args = vec![
            format!("kernel = {k}"),
            format!("strides = [{}]", strides.join(", ")),
            format!("padding = {}", geo.padding),
        ];
        if geo.cf {
            args.push("channels_last = false".into());
        }
        if groups > 1 {
            args.push(format!("groups = {groups}"));
        }
        let op = match &transpose_out {
            Some(out) => {
                args.push(format!("output_shape = {}", shape_str(out)));
                "conv_transpose"
            }
            None => "conv",
        };
        let syn = self.synapse(pre);
        self.line(format!(
            "connect {} -> {} transform {op}{}d({}) {syn}",
            pre.name,
            obj.name,
            geo.rank,
            args.join(", ")
        ));
    }

    /// `min(max(x, 0), max)` natively: `relu(x) - relu(x - max)`, two ReLU layers summed into a
    /// node (`fed`: the input is already this layer's weighted sum).
    fn clipped_relu(
        &mut self,
        l: &Layer,
        pre: &Obj,
        shape: &[usize],
        max: f64,
        fed: Option<()>,
    ) -> Result<Obj, KerasError> {
        let n: usize = shape.iter().product();
        let relu = Act::Named("relu".into());
        let lo = Layer { name: format!("{}_relu", l.name), ..l.clone() };
        let pos = self.target(&lo, shape, &relu, None)?;
        let hi = Layer { name: format!("{}_over", l.name), ..l.clone() };
        let over = self.target(&hi, shape, &relu, Some(ArrayD::from_elem(IxDyn(&[n]), -max)))?;
        let syn = self.synapse(pre);
        self.line(format!("connect {} -> {} {syn}", pre.name, pos.name));
        self.line(format!("connect {} -> {} {syn}", pre.name, over.name));
        let name = self.fresh(&l.name);
        let what = if fed.is_some() { "activation relu6" } else { "ReLU(max_value)" };
        self.line(format!(
            "// Keras: {} ({what}: relu(x) - relu(x - {}))",
            l.class_name,
            fmt_num(max)
        ));
        self.line(format!("node {name}: {}", shape_str(shape)));
        let (sp, so) = (self.synapse(&pos), self.synapse(&over));
        self.line(format!("connect {} -> {name} {sp}", pos.name));
        self.line(format!("connect {} -> {name} transform -1 {so}", over.name));
        self.report.push(LayerRow {
            layer: l.name.clone(),
            class: l.class_name.clone(),
            became: format!("node {} (relu(x) - relu(x - {}))", shape_str(shape), fmt_num(max)),
        });
        Ok(Obj { name, shape: shape.to_vec(), neurons: false })
    }

    /// Sparse entries broadcasting an input of shape `from` onto `to` (Keras rules: trailing
    /// axes aligned, size-1 axes repeated), each with weight `w`.
    fn broadcast_entries(
        &self,
        l: &Layer,
        from: &[usize],
        to: &[usize],
        w: f64,
    ) -> Result<Vec<(usize, usize, f64)>, KerasError> {
        if from.len() > to.len() {
            return Err(self.err(
                ErrorKind::Shape,
                &l.name,
                format!("{from:?} does not broadcast to {to:?}"),
            ));
        }
        let lead = to.len() - from.len();
        for (d, &f) in from.iter().enumerate() {
            if f != 1 && f != to[lead + d] {
                return Err(self.err(
                    ErrorKind::Shape,
                    &l.name,
                    format!("{from:?} does not broadcast to {to:?}"),
                ));
            }
        }
        let n: usize = to.iter().product();
        let mut out = Vec::with_capacity(n);
        let mut ix = vec![0usize; to.len()];
        for o in 0..n {
            let mut i = 0;
            for (d, &f) in from.iter().enumerate() {
                i = i * f + if f == 1 { 0 } else { ix[lead + d] };
            }
            out.push((o, i, w));
            for d in (0..to.len()).rev() {
                ix[d] += 1;
                if ix[d] < to[d] {
                    break;
                }
                ix[d] = 0;
            }
        }
        Ok(out)
    }

    /// `Rescaling` (`x * scale + offset`) and adapted `Normalization` (`(x - mean) /
    /// max(sqrt(var), 1e-7)`) as an elementwise scale and offset.
    /// A passthrough node summing `inputs`, each times its weight; an input of another shape
    /// is broadcast the Keras way (e.g. a (1, 1, C) gate onto (H, W, C)) by a sparse transform
    /// copying each of its values to the outputs it reaches.
    fn weighted_sum(
        &mut self,
        l: &Layer,
        inputs: &[Obj],
        weights: &[f64],
        out_shape: &[usize],
    ) -> Result<Obj, KerasError> {
        let obj = self.node(l, out_shape, "passthrough node");
        for (k, (pre, &w)) in inputs.iter().zip(weights).enumerate() {
            if pre.shape == out_shape {
                let scale =
                    if w == 1.0 { String::new() } else { format!(" transform {}", fmt_num(w)) };
                let syn = self.synapse(pre);
                self.line(format!("connect {} -> {}{scale} {syn}", pre.name, obj.name));
            } else {
                let entries = self.broadcast_entries(l, &pre.shape, out_shape, w)?;
                self.sparse(l, &format!("in{k}_"), pre, &obj, entries);
            }
        }
        Ok(obj)
    }

    fn preprocessing(&mut self, l: &Layer, pre: &Obj, shape: &[usize]) -> Result<Obj, KerasError> {
        // the evaluator's kernel gives the per-element affine map: f(0) and f(1) - f(0)
        let n: usize = shape.iter().product();
        let mut dims = vec![1usize];
        dims.extend_from_slice(shape);
        let at = |v: f64| -> Result<Vec<f64>, KerasError> {
            let x = ArrayD::from_elem(IxDyn(&dims), v);
            let y = snn_runtime::keras::apply_layer(l, &[&x], self.keras_major() == 3)
                .map_err(|e| self.err(ErrorKind::Config, &l.name, e.reason))?;
            Ok(y.iter().copied().collect())
        };
        let (f0, f1) = (at(0.0)?, at(1.0)?);
        if f0.len() != n || f1.len() != n {
            return Err(self.err(ErrorKind::Shape, &l.name, "shape changed".into()));
        }
        let scale: Vec<f64> = f1.iter().zip(&f0).map(|(a, b)| a - b).collect();
        let scale = ArrayD::from_shape_vec(IxDyn(&[n]), scale)
            .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?;
        let offset = ArrayD::from_shape_vec(IxDyn(shape), f0)
            .map_err(|e| self.err(ErrorKind::Shape, &l.name, e.to_string()))?;
        let what = match l.class_name.as_str() {
            "Rescaling" => "x * scale + offset",
            "Normalization" => "(x - mean) / max(sqrt(variance), 1e-7)",
            "LayerScale" => "x * gamma",
            _ => "elementwise arithmetic with a constant",
        };
        Ok(self.affine(l, pre, shape, scale, offset, what))
    }

    /// A node `x * scale + offset` (elementwise; `scale` flat, `offset` of `shape`).
    fn affine(
        &mut self,
        l: &Layer,
        pre: &Obj,
        shape: &[usize],
        scale: ArrayD<f64>,
        offset: ArrayD<f64>,
        what: &str,
    ) -> Obj {
        let name = self.fresh(&l.name);
        self.line(format!("// Keras: {} (inference: {what})", l.class_name));
        self.line(format!("node {name}: {}", shape_str(shape)));
        let s = self.tensor(format!("{}/scale", l.name), scale);
        let o = self.tensor(format!("{}/offset", l.name), offset);
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
        Obj { name, shape: shape.to_vec(), neurons: false }
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
        Ok(self.affine(
            l,
            pre,
            shape,
            full_scale,
            full_offset,
            "x * gamma / sqrt(var + eps) + offset",
        ))
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
    /// `min(max(x, 0), 6)`: two ReLU layers, `relu(x) - relu(x - 6)`.
    Relu6,
}

/// Text inside a `.snn` string literal: backslashes and quotes escaped.
fn escape_json(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Geometry of a convolution transform.
#[derive(Clone, Debug)]
struct ConvGeo {
    rank: usize,
    strides: Vec<usize>,
    padding: &'static str,
    cf: bool,
}

/// A kernel `(k..., in, out)` dilated by `rate` along its spatial axes: zeros between the taps,
/// the same convolution with a larger window (exact, as TensorFlow's dilated convolution).
fn dilate(kernel: &ArrayD<f64>, rate: &[usize]) -> ArrayD<f64> {
    if rate.iter().all(|&r| r <= 1) || kernel.ndim() < rate.len() + 2 {
        return kernel.clone();
    }
    let mut shape = kernel.shape().to_vec();
    for (d, &r) in rate.iter().enumerate() {
        shape[d] = (shape[d] - 1) * r.max(1) + 1;
    }
    let mut out = ArrayD::zeros(IxDyn(&shape));
    for (ix, &v) in kernel.indexed_iter() {
        let mut o = ix.slice().to_vec();
        for (d, &r) in rate.iter().enumerate() {
            o[d] *= r.max(1);
        }
        out[IxDyn(&o)] = v;
    }
    out
}
