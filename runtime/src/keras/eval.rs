//! One Keras layer applied with Keras inference semantics, in f32 or f64: what a `keras_layer`
//! host op computes, and what snn-keras's whole-model evaluator runs layer by layer.

use std::fmt::Debug;

use ndarray::{ArrayD, Axis, IxDyn, LinalgScalar, ScalarOperand};
use num_traits::Float;

use super::config::{DataFormat, LayerConfig, Padding};
use super::error::{ErrorKind, KerasError};
use super::layer::Layer;
use super::ops;
use super::recurrent;

/// The element types the evaluator runs in (f32 and f64).
pub trait Scalar:
    Float + LinalgScalar + ScalarOperand + Debug + Default + Send + Sync + 'static
{
    /// Convert from f64 (rounding for f32).
    fn of(x: f64) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// The complementary error function.
    fn erfc(self) -> Self;
}

impl Scalar for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
    fn erfc(self) -> Self {
        libm::erfcf(self)
    }
}

impl Scalar for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn erfc(self) -> Self {
        libm::erfc(self)
    }
}

/// Layer classes the evaluator implements.
const SUPPORTED: &[&str] = &[
    "Dense",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "Convolution2DTranspose",
    "Rescaling",
    "Normalization",
    "LayerNormalization",
    "SimpleRNN",
    "GRU",
    "LSTM",
    "Bidirectional",
    "TimeDistributed",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "Softmax",
    "BatchNormalization",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "Flatten",
    "Reshape",
    "Permute",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Identity",
    "RepeatVector",
    "TFOpLambda",
    "LayerScale",
    "CustomScaleLayer",
    "StochasticDepth",
];

/// `TFOpLambda` functions of two operands (`x` and the tensor or constant `y`).
const TF_BINARY: &[&str] = &[
    "__operators__.add",
    "math.add",
    "math.subtract",
    "math.multiply",
    "math.truediv",
    "math.divide",
    "math.maximum",
    "math.minimum",
];

/// `TFOpLambda` functions of one operand, with the Keras activation each computes.
const TF_UNARY: &[(&str, &str)] = &[
    ("nn.relu", "relu"),
    ("nn.relu6", "relu6"),
    ("math.sigmoid", "sigmoid"),
    ("nn.sigmoid", "sigmoid"),
    ("math.tanh", "tanh"),
    ("nn.tanh", "tanh"),
    ("nn.silu", "swish"),
    ("nn.swish", "swish"),
    ("math.exp", "exponential"),
];

/// Whether a `TFOpLambda` calling `function` is one the evaluator computes.
pub(crate) fn is_supported_tf_op(function: &str) -> bool {
    TF_BINARY.contains(&function)
        || TF_UNARY.iter().any(|(f, _)| *f == function)
        || function == "math.negative"
}

/// Whether the evaluator implements layer class `class_name`.
pub fn is_supported_class(class_name: &str) -> bool {
    SUPPORTED.contains(&class_name)
}

/// The class, activation, interpolation and data format of `l` are ones the evaluator knows.
pub fn check_options(l: &Layer) -> Result<(), String> {
    if !is_supported_class(&l.class_name) {
        return Err(format!("layer class `{}` is not supported", l.class_name));
    }
    if l.config.get("activation").is_some() {
        match l.config.activation() {
            Some(a) if ops::is_known_activation(&a) => {}
            Some(a) => return Err(format!("activation `{a}` is not supported")),
            None => return Err("unreadable activation".to_string()),
        }
    }
    if l.class_name.starts_with("UpSampling") && l.config.interpolation() != "nearest" {
        return Err(format!("interpolation `{}` (only nearest)", l.config.interpolation()));
    }
    if l.config.data_format().is_none() {
        return Err(format!("data_format {:?}", l.config.str("data_format")));
    }
    if l.class_name == "TFOpLambda" {
        match l.config.str("function") {
            Some(f) if is_supported_tf_op(f) => {}
            Some(f) => return Err(format!("TFOpLambda function `tf.{f}` is not supported")),
            None => return Err("TFOpLambda without a `function`".to_string()),
        }
    }
    Ok(())
}

/// Check one layer given on its own (class, config and named weights, e.g. a host op of an
/// imported `.snn`): a class and options the evaluator knows, and the weights its class needs
/// (in any order) with shapes that fit its config. Errors name `layer.name`.
pub fn check_layer(layer: &Layer) -> Result<(), KerasError> {
    let file = "keras_layer";
    check_options(layer)
        .map_err(|r| KerasError::layer(ErrorKind::Unsupported, file, &layer.name, r))?;
    super::weights::check_names_any_order(file, layer)
}

/// Apply one layer with Keras inference semantics to its inputs (each with a leading batch
/// dimension, in call order): what [`evaluate`] does for one layer application. Check the layer
/// with [`check_layer`] first; shape errors and unsupported options are errors naming the layer.
/// `keras3` selects Keras 3 definitions where the generations differ (`hard_sigmoid`).
pub fn apply_layer<T: Scalar>(
    layer: &Layer,
    inputs: &[&ArrayD<T>],
    keras3: bool,
) -> Result<ArrayD<T>, KerasError> {
    apply_in(layer, inputs, keras3, "keras_layer")
}

/// [`apply_layer`], errors naming `file` (the model being evaluated) instead of `keras_layer`.
pub fn apply_in<T: Scalar>(
    layer: &Layer,
    inputs: &[&ArrayD<T>],
    keras3: bool,
    file: &str,
) -> Result<ArrayD<T>, KerasError> {
    apply(layer, inputs, keras3).map_err(|e| e.into_error(file, &layer.name))
}

/// Spatial rank encoded in a class name suffix (`Conv2D` -> 2).
fn rank_of(class_name: &str) -> usize {
    let c = class_name.trim_end_matches("Transpose");
    if c.ends_with("1D") {
        1
    } else if c.ends_with("3D") {
        3
    } else {
        2
    }
}

/// An evaluation failure inside one layer.
enum Fail {
    Unsupported(String),
    Shape(String),
    Weights(String),
}

impl Fail {
    fn into_error(self, file: &str, layer: &str) -> KerasError {
        match self {
            Fail::Unsupported(r) => KerasError::layer(ErrorKind::Unsupported, file, layer, r),
            Fail::Shape(r) => KerasError::layer(ErrorKind::Shape, file, layer, r),
            Fail::Weights(r) => KerasError::layer(ErrorKind::Weights, file, layer, r),
        }
    }
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Shape(s)
    }
}

fn one<'a, T>(args: &[&'a ArrayD<T>]) -> Result<&'a ArrayD<T>, Fail> {
    match args {
        [x] => Ok(x),
        _ => Err(Fail::Shape(format!("expects one input, got {}", args.len()))),
    }
}

fn weight<'a>(layer: &'a Layer, name: &str) -> Result<&'a ArrayD<f64>, Fail> {
    layer.weight(name).ok_or_else(|| Fail::Weights(format!("weight `{name}` is missing")))
}

fn data_format(cfg: &LayerConfig) -> Result<DataFormat, Fail> {
    cfg.data_format()
        .ok_or_else(|| Fail::Unsupported(format!("data_format {:?}", cfg.str("data_format"))))
}

fn padding(cfg: &LayerConfig) -> Result<Padding, Fail> {
    cfg.padding().ok_or_else(|| Fail::Unsupported(format!("padding {:?}", cfg.str("padding"))))
}

/// Normalise a possibly negative axis against `ndim` (batch included); axis 0 is refused.
fn norm_axis(axis: i64, ndim: usize) -> Result<usize, Fail> {
    let a = if axis < 0 { (ndim as i64).saturating_add(axis) } else { axis };
    if a <= 0 || a as usize >= ndim {
        return Err(Fail::Shape(format!(
            "axis {axis} is out of range for a {ndim}-d tensor (batch axis excluded)"
        )));
    }
    Ok(a as usize)
}

fn activation_of<T: Scalar>(
    cfg: &LayerConfig,
    y: ArrayD<T>,
    keras3: bool,
) -> Result<ArrayD<T>, Fail> {
    let name = cfg.activation().ok_or_else(|| Fail::Unsupported("unreadable activation".into()))?;
    if !ops::is_known_activation(&name) {
        return Err(Fail::Unsupported(format!("activation `{name}` is not supported")));
    }
    ops::activation(&name, y, keras3).map_err(Fail::Unsupported)
}

fn elementwise<T: Scalar>(args: &[&ArrayD<T>], f: impl Fn(T, T) -> T) -> Result<ArrayD<T>, Fail> {
    let (first, rest) =
        args.split_first().ok_or_else(|| Fail::Shape("merge layer with no inputs".into()))?;
    let mut acc = (*first).clone();
    for a in rest {
        if a.shape() == acc.shape() {
            acc.zip_mut_with(a, |x, &y| *x = f(*x, y));
        } else {
            let shape = co_broadcast(acc.shape(), a.shape()).ok_or_else(|| {
                Fail::Shape(format!("cannot combine shapes {:?} and {:?}", acc.shape(), a.shape()))
            })?;
            let l = acc
                .broadcast(IxDyn(&shape))
                .ok_or_else(|| Fail::Shape("broadcast failed".into()))?;
            let r =
                a.broadcast(IxDyn(&shape)).ok_or_else(|| Fail::Shape("broadcast failed".into()))?;
            let mut out = l.to_owned();
            out.zip_mut_with(&r, |x, &y| *x = f(*x, y));
            acc = out;
        }
    }
    Ok(acc)
}

fn co_broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let x = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let y = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if x == y || y == 1 {
            x
        } else if x == 1 {
            y
        } else {
            return None;
        };
    }
    Some(out)
}

/// One family of layer classes: `Ok(None)` when the layer's class is not one of the family's.
type Family<T> = fn(&Layer, &[&ArrayD<T>], bool) -> Result<Option<ArrayD<T>>, Fail>;

fn apply<T: Scalar>(layer: &Layer, args: &[&ArrayD<T>], keras3: bool) -> Result<ArrayD<T>, Fail> {
    // Each class belongs to exactly one family, so the order only decides which is asked first.
    let families: [Family<T>; 10] = [
        weighted,
        lambdas,
        activations,
        normalization,
        merge,
        pooling,
        reshaping,
        spatial,
        passthrough,
        recurrent_family,
    ];
    for family in families {
        if let Some(y) = family(layer, args, keras3)? {
            return Ok(y);
        }
    }
    Err(Fail::Unsupported(format!(
        "layer class `{}` is not supported by the evaluator",
        layer.class_name
    )))
}

/// Layers with a kernel: `Dense` and the convolutions, followed by their activation.
fn weighted<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    let class = layer.class_name.as_str();
    let y = match class {
        "Dense" => {
            let x = one(args)?;
            let bias = if cfg.use_bias() { Some(weight(layer, "bias")?) } else { None };
            ops::dense(x, weight(layer, "kernel")?, bias)?
        }
        "Conv1D" | "Conv2D" | "Conv3D" | "Convolution1D" | "Convolution2D" | "Convolution3D" => {
            let x = one(args)?;
            let rank = rank_of(class);
            let kernel = weight(layer, "kernel")?;
            if kernel.ndim() != rank + 2 {
                return Err(Fail::Weights(format!(
                    "kernel has shape {:?}, expected {} dims",
                    kernel.shape(),
                    rank + 2
                )));
            }
            let bias = if cfg.use_bias() { Some(weight(layer, "bias")?) } else { None };
            let strides = cfg.strides(rank);
            let dilation = cfg.dilation_rate(rank);
            let spec = ops::ConvSpec {
                strides: &strides,
                dilation: &dilation,
                padding: padding(cfg)?,
                groups: cfg.groups(),
                data_format: data_format(cfg)?,
            };
            ops::conv(x, kernel, bias, &spec)?
        }
        "DepthwiseConv1D" | "DepthwiseConv2D" => {
            let x = one(args)?;
            let rank = rank_of(class);
            let kernel = ops::depthwise_as_grouped(weight(layer, "depthwise_kernel")?)?;
            let bias = if cfg.use_bias() { Some(weight(layer, "bias")?) } else { None };
            let groups =
                kernel.shape().get(rank + 1).copied().unwrap_or(1) / depth_multiplier(cfg)?;
            conv_with(x, &kernel, bias, cfg, rank, groups)?
        }
        "SeparableConv1D"
        | "SeparableConv2D"
        | "SeparableConvolution1D"
        | "SeparableConvolution2D" => {
            let x = one(args)?;
            let rank = rank_of(class);
            let dw = ops::depthwise_as_grouped(weight(layer, "depthwise_kernel")?)?;
            let groups = dw.shape().get(rank + 1).copied().unwrap_or(1) / depth_multiplier(cfg)?;
            let h = conv_with(x, &dw, None, cfg, rank, groups)?;
            let pw = weight(layer, "pointwise_kernel")?;
            let bias = if cfg.use_bias() { Some(weight(layer, "bias")?) } else { None };
            let ones = vec![1; rank];
            let spec = ops::ConvSpec {
                strides: &ones,
                dilation: &ones,
                padding: Padding::Valid,
                groups: 1,
                data_format: data_format(cfg)?,
            };
            ops::conv(&h, pw, bias, &spec)?
        }
        "Conv1DTranspose" | "Conv2DTranspose" | "Conv3DTranspose" | "Convolution2DTranspose" => {
            let x = one(args)?;
            let rank = rank_of(class);
            let kernel = weight(layer, "kernel")?;
            if kernel.ndim() != rank + 2 || x.ndim() != rank + 2 {
                return Err(Fail::Weights(format!(
                    "kernel has shape {:?}, expected {} dims",
                    kernel.shape(),
                    rank + 2
                )));
            }
            let bias = if cfg.use_bias() { Some(weight(layer, "bias")?) } else { None };
            let strides = cfg.strides(rank);
            let dilation = cfg.dilation_rate(rank);
            let df = data_format(cfg)?;
            let pad = padding(cfg)?;
            let out_pad = cfg.ints("output_padding", rank);
            let sp: Vec<usize> = match df {
                DataFormat::ChannelsLast => x.shape()[1..=rank].to_vec(),
                DataFormat::ChannelsFirst => x.shape()[2..].to_vec(),
            };
            let mut out_sp = Vec::with_capacity(rank);
            for d in 0..rank {
                out_sp.push(ops::deconv_output_length(
                    sp[d],
                    kernel.shape()[d],
                    strides[d],
                    dilation[d],
                    pad,
                    out_pad.as_ref().map(|o| o[d]),
                )?);
            }
            let spec = ops::ConvSpec {
                strides: &strides,
                dilation: &dilation,
                padding: pad,
                groups: 1,
                data_format: df,
            };
            ops::conv_transpose(x, kernel, bias, &spec, &out_sp)?
        }
        _ => return Ok(None),
    };
    activation_of(cfg, y, keras3).map(Some)
}

/// `depth_multiplier` of depthwise and separable convolutions (default 1).
fn depth_multiplier(cfg: &LayerConfig) -> Result<usize, Fail> {
    match cfg.usize("depth_multiplier").unwrap_or(1) {
        0 => Err(Fail::Unsupported("depth_multiplier 0".into())),
        m => Ok(m),
    }
}

/// A forward convolution with the layer's strides, dilation, padding and data format.
fn conv_with<T: Scalar>(
    x: &ArrayD<T>,
    kernel: &ArrayD<f64>,
    bias: Option<&ArrayD<f64>>,
    cfg: &LayerConfig,
    rank: usize,
    groups: usize,
) -> Result<ArrayD<T>, Fail> {
    let strides = cfg.strides(rank);
    let dilation = cfg.dilation_rate(rank);
    let spec = ops::ConvSpec {
        strides: &strides,
        dilation: &dilation,
        padding: padding(cfg)?,
        groups,
        data_format: data_format(cfg)?,
    };
    Ok(ops::conv(x, kernel, bias, &spec)?)
}

/// The kept axes of a Normalization / LayerNormalization config (`axis`: an int, a list, or
/// null = none), batch-inclusive and positive.
fn kept_axes(cfg: &LayerConfig, ndim: usize, default: &[i64]) -> Result<Vec<usize>, Fail> {
    let raw: Vec<i64> = match cfg.0.get("axis") {
        None => default.to_vec(),
        Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Number(n)) => {
            vec![n.as_i64().ok_or_else(|| Fail::Unsupported("unreadable axis".into()))?]
        }
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_i64().ok_or_else(|| Fail::Unsupported("unreadable axis".into())))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(Fail::Unsupported("unreadable axis".into())),
    };
    raw.iter().map(|&a| norm_axis(a, ndim)).collect()
}

/// A config value that is a number or a list of numbers, as an array.
fn num_or_list(cfg: &LayerConfig, key: &str, default: f64) -> Result<ArrayD<f64>, Fail> {
    let bad = || Fail::Unsupported(format!("unreadable {key}"));
    match cfg.get(key) {
        None => Ok(ArrayD::from_elem(IxDyn(&[1]), default)),
        Some(v) => {
            let flat = flatten_json(v).ok_or_else(bad)?;
            Ok(ArrayD::from_shape_vec(IxDyn(&[flat.len()]), flat).map_err(|_| bad())?)
        }
    }
}

/// A JSON number or (nested) list of numbers, flattened.
fn flatten_json(v: &serde_json::Value) -> Option<Vec<f64>> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().map(|x| vec![x]),
        serde_json::Value::Array(a) => {
            let mut out = Vec::new();
            for x in a {
                out.extend(flatten_json(x)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// A JSON number or nested list of numbers as an array (a scalar is 0-d).
fn json_array<T: Scalar>(v: &serde_json::Value) -> Option<ArrayD<T>> {
    let mut shape = Vec::new();
    let mut cur = v;
    while let serde_json::Value::Array(a) = cur {
        shape.push(a.len());
        cur = a.first()?;
    }
    let flat = flatten_json(v)?;
    ArrayD::from_shape_vec(IxDyn(&shape), flat.into_iter().map(T::of).collect()).ok()
}

/// Elementwise arithmetic of Keras 2's `TFOpLambda` (`x + 3`, `tf.math.multiply(x, 1/6)`,
/// `x + y`), `LayerScale` (ConvNeXt: `x * gamma`), `CustomScaleLayer` (InceptionResNetV2:
/// `x0 + x1 * scale`) and `StochasticDepth` (the identity at inference).
fn lambdas<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    let y = match layer.class_name.as_str() {
        "TFOpLambda" => {
            let f = cfg.str("function").unwrap_or_default();
            let x = args.first().ok_or_else(|| Fail::Shape("TFOpLambda with no input".into()))?;
            if let Some((_, act)) = TF_UNARY.iter().find(|(name, _)| *name == f) {
                return Ok(Some(ops::activation(act, (*x).clone(), false)?));
            }
            if f == "math.negative" {
                return Ok(Some(x.mapv(|v| -v)));
            }
            let constant;
            let y: &ArrayD<T> = match args.get(1) {
                Some(y) => y,
                None => {
                    let v = cfg
                        .get("call_kwargs")
                        .and_then(|k| k.get("y"))
                        .ok_or_else(|| Fail::Unsupported(format!("tf.{f} without a `y`")))?;
                    constant = json_array(v).ok_or_else(|| {
                        Fail::Unsupported(format!("tf.{f}: `y` is not a number or a list"))
                    })?;
                    &constant
                }
            };
            let pair = [*x, y];
            match f {
                "__operators__.add" | "math.add" => elementwise(&pair, |a, b| a + b)?,
                "math.subtract" => elementwise(&pair, |a, b| a - b)?,
                "math.multiply" => elementwise(&pair, |a, b| a * b)?,
                "math.truediv" | "math.divide" => elementwise(&pair, |a, b| a / b)?,
                "math.maximum" => elementwise(&pair, |a, b| if b > a { b } else { a })?,
                "math.minimum" => elementwise(&pair, |a, b| if b < a { b } else { a })?,
                _ => return Err(Fail::Unsupported(format!("TFOpLambda function `tf.{f}`"))),
            }
        }
        "LayerScale" => {
            let x = one(args)?;
            let g = weight(layer, "gamma")?.mapv(T::of);
            elementwise(&[x, &g], |a, b| a * b)?
        }
        "CustomScaleLayer" => {
            let [x0, x1] = args else {
                return Err(Fail::Shape(format!("expects two inputs, got {}", args.len())));
            };
            let scale = T::of(cfg.f64("scale").unwrap_or(1.0));
            let scaled = x1.mapv(|v| v * scale);
            elementwise(&[x0, &scaled], |a, b| a + b)?
        }
        "StochasticDepth" => one(args)?.clone(),
        _ => return Ok(None),
    };
    Ok(Some(y))
}

/// Activation layers: `Activation`, the ReLU family, `ELU`, `PReLU`, `Softmax`.
fn activations<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    let y = match layer.class_name.as_str() {
        "Activation" => activation_of(cfg, one(args)?.clone(), keras3)?,
        "ReLU" => {
            let (mut slope, max_value, threshold) =
                (cfg.negative_slope(0.0), cfg.max_value(), cfg.threshold());
            if max_value.is_none() && threshold == 0.0 {
                // Keras then calls tf.nn.leaky_relu, whose slope is a 32-bit float attribute.
                slope = f64::from(slope as f32);
            }
            ops::relu_layer(one(args)?, slope, max_value, threshold)
        }
        // TensorFlow's LeakyRelu op takes its slope as a 32-bit float attribute.
        "LeakyReLU" => ops::leaky_relu(one(args)?, f64::from(cfg.negative_slope(0.3) as f32)),
        "ELU" => ops::elu_layer(one(args)?, cfg.f64("alpha").unwrap_or(1.0)),
        "PReLU" => ops::prelu(one(args)?, weight(layer, "alpha")?)?,
        "Softmax" => {
            let x = one(args)?;
            let axis = norm_axis(
                cfg.axis().ok_or_else(|| Fail::Unsupported("multi-axis softmax".into()))?,
                x.ndim(),
            )?;
            ops::softmax(x, axis)
        }
        _ => return Ok(None),
    };
    Ok(Some(y))
}

/// `BatchNormalization` with its moving statistics (inference).
fn normalization<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    match layer.class_name.as_str() {
        "BatchNormalization" => {}
        "Rescaling" => {
            let x = one(args)?;
            // Keras (2 and 3) casts the Python numbers through a float32 tensor, whatever the
            // layer's dtype: a float64 model multiplies by float32(1/255)
            let f32_rounded = |a: ArrayD<f64>| a.mapv(|v| f64::from(v as f32));
            let scale = f32_rounded(num_or_list(cfg, "scale", 1.0)?);
            let offset = f32_rounded(num_or_list(cfg, "offset", 0.0)?);
            let last = vec![x.ndim() - 1];
            let s = ops::over_axes(x, &last, &scale, "scale")?;
            let o = ops::over_axes(x, &last, &offset, "offset")?;
            return Ok(Some(&(x * &s) + &o));
        }
        "Normalization" => {
            let x = one(args)?;
            let axes = kept_axes(cfg, x.ndim(), &[-1])?;
            let (mean, var) = match (layer.weight("mean"), layer.weight("variance")) {
                (Some(m), Some(v)) => (m.clone(), v.clone()),
                _ => (num_or_list(cfg, "mean", 0.0)?, num_or_list(cfg, "variance", 1.0)?),
            };
            let invert = cfg.bool("invert").unwrap_or(false);
            return Ok(Some(ops::normalize(x, &axes, &mean, &var, invert)?));
        }
        "LayerNormalization" => {
            let x = one(args)?;
            let axes = kept_axes(cfg, x.ndim(), &[-1])?;
            let gamma = if cfg.scale() { Some(weight(layer, "gamma")?) } else { None };
            let beta = if cfg.center() { Some(weight(layer, "beta")?) } else { None };
            let rms = cfg.bool("rms_scaling").unwrap_or(false);
            let y =
                ops::layer_norm(x, &axes, gamma, beta, cfg.f64("epsilon").unwrap_or(1e-3), rms)?;
            return Ok(Some(y));
        }
        _ => return Ok(None),
    }
    let x = one(args)?;
    let axes = cfg.axes().ok_or_else(|| Fail::Unsupported("unreadable axis".into()))?;
    let axes = axes.iter().map(|&a| norm_axis(a, x.ndim())).collect::<Result<Vec<_>, _>>()?;
    let gamma = if cfg.scale() { Some(weight(layer, "gamma")?) } else { None };
    let beta = if cfg.center() { Some(weight(layer, "beta")?) } else { None };
    let y = ops::batch_norm(
        x,
        &axes,
        gamma,
        beta,
        weight(layer, "moving_mean")?,
        weight(layer, "moving_variance")?,
        cfg.epsilon(),
    )?;
    Ok(Some(y))
}

/// Merge layers of several inputs: the elementwise ones (broadcasting) and `Concatenate`.
fn merge<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let y = match layer.class_name.as_str() {
        "Add" => elementwise(args, |a, b| a + b)?,
        "Subtract" => {
            if args.len() != 2 {
                return Err(Fail::Shape(format!("Subtract needs 2 inputs, got {}", args.len())));
            }
            elementwise(args, |a, b| a - b)?
        }
        "Multiply" => elementwise(args, |a, b| a * b)?,
        "Maximum" => elementwise(args, |a, b| if b > a { b } else { a })?,
        "Minimum" => elementwise(args, |a, b| if b < a { b } else { a })?,
        "Average" => {
            let s = elementwise(args, |a, b| a + b)?;
            let n = T::of(args.len() as f64);
            s.mapv(|v| v / n)
        }
        "Concatenate" => {
            let first =
                args.first().ok_or_else(|| Fail::Shape("Concatenate with no inputs".into()))?;
            let axis = norm_axis(
                layer.config.axis().ok_or_else(|| Fail::Unsupported("unreadable axis".into()))?,
                first.ndim(),
            )?;
            let views: Vec<_> = args.iter().map(|a| a.view()).collect();
            ndarray::concatenate(Axis(axis), &views)
                .map_err(|e| Fail::Shape(format!("cannot concatenate: {e}")))?
        }
        _ => return Ok(None),
    };
    Ok(Some(y))
}

/// Pooling layers: average and max pooling over windows, and the global poolings.
fn pooling<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    let y = match layer.class_name.as_str() {
        c if c.starts_with("AveragePooling")
            || c.starts_with("AvgPool")
            || c.starts_with("MaxPooling")
            || c.starts_with("MaxPool") =>
        {
            let rank = rank_of(c);
            let max = c.starts_with("Max");
            ops::pool(
                one(args)?,
                &cfg.pool_size(rank),
                &cfg.pool_strides(rank),
                padding(cfg)?,
                data_format(cfg)?,
                max,
            )?
        }
        c if c.starts_with("Global") => {
            let max = c.starts_with("GlobalMax");
            ops::global_pool(one(args)?, data_format(cfg)?, cfg.keepdims(), max)?
        }
        _ => return Ok(None),
    };
    Ok(Some(y))
}

/// Layers that rearrange values without changing them: `Flatten`, `Reshape`, `Permute`,
/// `RepeatVector`.
fn reshaping<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    let y = match layer.class_name.as_str() {
        "Flatten" => ops::flatten(one(args)?, data_format(cfg)?)?,
        "Reshape" => {
            let t = cfg
                .target_shape()
                .ok_or_else(|| Fail::Unsupported("unreadable target_shape".into()))?;
            ops::reshape(one(args)?, &t)?
        }
        "Permute" => {
            let x = one(args)?;
            let dims =
                cfg.permute_dims().ok_or_else(|| Fail::Unsupported("unreadable dims".into()))?;
            let mut perm = vec![0usize];
            perm.extend(dims.iter().copied());
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if perm.len() != x.ndim() || sorted != (0..x.ndim()).collect::<Vec<_>>() {
                return Err(Fail::Shape(format!(
                    "dims {dims:?} is not a permutation of the {} non-batch axes",
                    x.ndim() - 1
                )));
            }
            x.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()
        }
        "RepeatVector" => {
            let x = one(args)?;
            let n = cfg.usize("n").ok_or_else(|| Fail::Unsupported("unreadable n".into()))?;
            if x.ndim() != 2 {
                return Err(Fail::Shape(format!(
                    "RepeatVector needs a vector input, got shape {:?}",
                    &x.shape()[1..]
                )));
            }
            let (b, m) = (x.shape()[0], x.shape()[1]);
            ops::checked_size(&[b, n, m])?;
            ArrayD::from_shape_fn(IxDyn(&[b, n, m]), |ix| x[[ix[0], ix[2]]])
        }
        _ => return Ok(None),
    };
    Ok(Some(y))
}

/// Spatial resizing: zero padding, cropping and nearest-neighbour upsampling.
fn spatial<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let cfg = &layer.config;
    let y = match layer.class_name.as_str() {
        c if c.starts_with("ZeroPadding") || c.starts_with("Cropping") => {
            let rank = rank_of(c);
            let key = if c.starts_with("Zero") { "padding" } else { "cropping" };
            let pairs = cfg
                .pad_pairs(key, rank)
                .ok_or_else(|| Fail::Unsupported(format!("unreadable {key}")))?;
            if c.starts_with("Zero") {
                ops::zero_pad(one(args)?, &pairs, data_format(cfg)?)?
            } else {
                ops::crop(one(args)?, &pairs, data_format(cfg)?)?
            }
        }
        c if c.starts_with("UpSampling") => {
            let rank = rank_of(c);
            let interp = cfg.interpolation();
            if interp != "nearest" {
                return Err(Fail::Unsupported(format!("interpolation `{interp}` (only nearest)")));
            }
            ops::upsample(one(args)?, &cfg.up_size(rank), data_format(cfg)?)?
        }
        _ => return Ok(None),
    };
    Ok(Some(y))
}

/// Layers that are the identity at inference: dropouts, noise, activity regularisation.
fn passthrough<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    _keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    match layer.class_name.as_str() {
        "Dropout"
        | "SpatialDropout1D"
        | "SpatialDropout2D"
        | "SpatialDropout3D"
        | "GaussianNoise"
        | "GaussianDropout"
        | "AlphaDropout"
        | "ActivityRegularization"
        | "Identity" => Ok(Some(one(args)?.clone())),
        _ => Ok(None),
    }
}

/// Recurrent layers and their wrappers (`TimeDistributed` applies any layer the evaluator knows).
fn recurrent_family<T: Scalar>(
    layer: &Layer,
    args: &[&ArrayD<T>],
    keras3: bool,
) -> Result<Option<ArrayD<T>>, Fail> {
    let class = layer.class_name.as_str();
    let y = match class {
        c if recurrent::RNN_CLASSES.contains(&c) => {
            recurrent::rnn(c, &layer.config, &layer.weights, one(args)?, keras3)?
        }
        "Bidirectional" => recurrent::bidirectional(layer, one(args)?, keras3)?,
        "TimeDistributed" => recurrent::time_distributed(layer, one(args)?, keras3, |l, x, k3| {
            apply(l, &[x], k3).map_err(|e| match e {
                Fail::Unsupported(r) | Fail::Shape(r) | Fail::Weights(r) => r,
            })
        })?,
        _ => return Ok(None),
    };
    Ok(Some(y))
}
