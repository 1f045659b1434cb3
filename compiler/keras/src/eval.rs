//! Evaluate a [`KerasModel`] on inputs with Keras inference semantics, in f32 or f64, keeping
//! every layer's output so a caller can find the first layer where two implementations diverge.
//! Each layer runs the runtime's kernel ([`snn_runtime::keras`]), the one `keras_layer` host ops
//! call.

use indexmap::IndexMap;
use ndarray::{ArrayD, IxDyn};

use snn_runtime::keras::{apply_in, check_options, checked_size};
pub use snn_runtime::keras::{
    apply_layer, check_layer, is_known_activation, is_supported_class, Scalar,
};

use crate::error::{ErrorKind, KerasError};
use crate::model::{KerasModel, Layer, TensorRef};

/// The result of [`evaluate`]: the model outputs and every layer application's output.
#[derive(Debug, Clone)]
pub struct Evaluation<T> {
    /// Model outputs, in `KerasModel::outputs` order.
    pub outputs: Vec<ArrayD<T>>,
    /// The model inputs as given, by input name.
    pub inputs: IndexMap<String, ArrayD<T>>,
    /// Output of each layer application, in evaluation (topological) order.
    pub layer_outputs: IndexMap<TensorRef, ArrayD<T>>,
}

impl<T> Evaluation<T> {
    /// The value of a tensor (a model input or a layer output).
    pub fn get(&self, t: &TensorRef) -> Option<&ArrayD<T>> {
        self.layer_outputs.get(t).or_else(|| {
            if t.node == 0 && t.tensor == 0 {
                self.inputs.get(&t.layer)
            } else {
                None
            }
        })
    }

    /// The output of the first application of the layer with flattened name `name`.
    pub fn layer(&self, name: &str) -> Option<&ArrayD<T>> {
        self.layer_outputs.get(&TensorRef::first(name))
    }
}

/// See [`KerasModel::check_supported`].
pub(crate) fn check_supported(model: &KerasModel) -> Result<(), KerasError> {
    let file = model.source.as_str();
    for l in &model.layers {
        check_options(l)
            .map_err(|r| KerasError::layer(ErrorKind::Unsupported, file, &l.name, r))?;
    }
    Ok(())
}

/// Evaluate `model` on `inputs` (one array per model input, in order, each with a leading batch
/// dimension) and return all outputs. Fails with a [`KerasError`] naming the layer on an
/// unsupported layer or activation, or a shape that does not fit.
pub fn evaluate<T: Scalar>(
    model: &KerasModel,
    inputs: &[ArrayD<T>],
) -> Result<Evaluation<T>, KerasError> {
    evaluate_with(model, inputs, &|_, _| None)
}

/// Computes a layer the evaluator does not know from its inputs (`None`: still unsupported).
pub type CustomLayerFn<'a, T> = &'a dyn Fn(&Layer, &[&ArrayD<T>]) -> Option<ArrayD<T>>;

/// [`evaluate`], asking `custom` for the output of layers the evaluator does not support.
pub fn evaluate_with<T: Scalar>(
    model: &KerasModel,
    inputs: &[ArrayD<T>],
    custom: CustomLayerFn<'_, T>,
) -> Result<Evaluation<T>, KerasError> {
    let file = model.source.as_str();
    if inputs.len() != model.inputs.len() {
        return Err(KerasError::new(
            ErrorKind::Shape,
            file,
            format!("model has {} input(s), {} given", model.inputs.len(), inputs.len()),
        ));
    }
    let mut given = IndexMap::new();
    let mut batch = None;
    for (spec, x) in model.inputs.iter().zip(inputs) {
        let shape = x.shape();
        let ok = shape.len() == spec.shape.len() + 1
            && spec.shape.iter().zip(&shape[1..]).all(|(d, &s)| d.is_none_or(|d| d == s));
        if !ok {
            return Err(KerasError::layer(
                ErrorKind::Shape,
                file,
                &spec.name,
                format!("input has shape {shape:?}, the model expects (batch, {:?})", spec.shape),
            ));
        }
        if *batch.get_or_insert(shape[0]) != shape[0] {
            return Err(KerasError::layer(
                ErrorKind::Shape,
                file,
                &spec.name,
                "inputs have different batch sizes",
            ));
        }
        given.insert(spec.name.clone(), x.clone());
    }
    let keras3 = model.keras_version.as_deref().is_some_and(|v| v.starts_with('3'));
    let mut ev = Evaluation { outputs: Vec::new(), inputs: given, layer_outputs: IndexMap::new() };
    for layer in &model.layers {
        let mut args: Vec<&ArrayD<T>> = Vec::with_capacity(layer.inbound.len());
        for t in &layer.inbound {
            let v = ev.get(t).ok_or_else(|| {
                KerasError::layer(
                    ErrorKind::Config,
                    file,
                    &layer.name,
                    format!("input tensor {}[{}][{}] is not available", t.layer, t.node, t.tensor),
                )
            })?;
            args.push(v);
        }
        let y = match apply_in(layer, &args, keras3, file) {
            Ok(y) => y,
            Err(e) if e.kind == ErrorKind::Unsupported => custom(layer, &args).ok_or(e)?,
            Err(e) => return Err(e),
        };
        ev.layer_outputs.insert(layer.output(), y);
    }
    for t in &model.outputs {
        let v = ev.get(t).ok_or_else(|| {
            KerasError::new(
                ErrorKind::Config,
                file,
                format!("output tensor {}[{}][{}] is not computed", t.layer, t.node, t.tensor),
            )
        })?;
        ev.outputs.push(v.clone());
    }
    Ok(ev)
}

/// Output shape (without the batch dimension) of every layer application, found by evaluating
/// the model in f32 on zeros with batch size 1. Every input dimension must be known.
pub fn infer_shapes(model: &KerasModel) -> Result<IndexMap<TensorRef, Vec<usize>>, KerasError> {
    infer_shapes_with(model, &[])
}

/// [`infer_shapes`], treating layers of the classes in `same_shape` (which the evaluator does not
/// know, e.g. custom layers given as `.snn` blocks) as keeping the shape of their first input.
pub fn infer_shapes_with(
    model: &KerasModel,
    same_shape: &[String],
) -> Result<IndexMap<TensorRef, Vec<usize>>, KerasError> {
    let mut inputs = Vec::with_capacity(model.inputs.len());
    for i in &model.inputs {
        let mut shape = vec![1usize];
        for d in &i.shape {
            shape.push(d.ok_or_else(|| {
                KerasError::layer(
                    ErrorKind::Shape,
                    &model.source,
                    &i.name,
                    "input has an unknown dimension",
                )
            })?);
        }
        checked_size(&shape)
            .map_err(|r| KerasError::layer(ErrorKind::Shape, &model.source, &i.name, r))?;
        inputs.push(ArrayD::<f32>::zeros(IxDyn(&shape)));
    }
    let keep = |l: &Layer, args: &[&ArrayD<f32>]| -> Option<ArrayD<f32>> {
        same_shape.contains(&l.class_name).then(|| args.first().map(|a| (*a).clone())).flatten()
    };
    let ev = evaluate_with(model, &inputs, &keep)?;
    Ok(ev.layer_outputs.into_iter().map(|(t, a)| (t, a.shape()[1..].to_vec())).collect())
}
