//! Turn a Keras model config (Keras 2 or Keras 3 JSON, Sequential or Functional, nested) into a
//! flat list of layer applications in topological order.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::config::LayerConfig;
use crate::error::{ErrorKind, KerasError};
use crate::model::{Layer, ModelInput, TensorRef};

/// Whether a class name denotes a model (which is flattened rather than kept as a layer).
pub(crate) fn is_model_class(class_name: &str) -> bool {
    matches!(class_name, "Functional" | "Model" | "Sequential")
}

/// The class name of a serialized layer entry.
pub(crate) fn class_of(entry: &Value) -> &str {
    entry.get("class_name").and_then(Value::as_str).unwrap_or("")
}

/// The name of a serialized layer entry (top-level `name`, else `config.name`).
pub(crate) fn name_of(entry: &Value) -> Option<&str> {
    entry
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| entry.get("config").and_then(|c| c.get("name")).and_then(Value::as_str))
}

/// The `config.layers` list of a model entry.
pub(crate) fn model_layers(entry: &Value) -> &[Value] {
    entry
        .get("config")
        .and_then(|c| c.get("layers"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Keras 2 configs count the internal node of a nested model built from its own Input
/// as node 0, so calls of it start at node 1 ("skip first node").
fn k2_skips_first_node(entry: &Value) -> bool {
    match class_of(entry) {
        "Functional" | "Model" => true,
        "Sequential" => model_layers(entry).first().map(class_of) == Some("InputLayer"),
        _ => false,
    }
}

/// The result of flattening a model config.
pub(crate) struct Flat {
    pub(crate) name: String,
    pub(crate) inputs: Vec<ModelInput>,
    pub(crate) layers: Vec<Layer>,
    pub(crate) outputs: Vec<TensorRef>,
}

/// What a (local layer name, node index) resolves to.
#[derive(Clone)]
enum NodeOut {
    /// A tensor produced by an input or a leaf layer application: (flat layer name, flat node).
    Leaf(String, usize),
    /// The outputs of a nested model application.
    Model(Vec<TensorRef>),
}

/// How a node index in a config counts the calls of a nested model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Numbering {
    /// 0-based calls (Keras 3 `keras_history` in inbound nodes).
    Calls,
    /// Keras 2 (inbound nodes and `output_layers`): a nested Functional, or a Sequential built
    /// from an Input, counts its internal node as 0, so its calls start at 1.
    Keras2,
    /// Keras 3 `output_layers`: a nested Functional (not a Sequential) starts at 1.
    Keras3Outputs,
}

/// A parsed reference: local layer name, node index, tensor index, and its numbering.
struct InRef {
    layer: String,
    node: usize,
    tensor: usize,
    numbering: Numbering,
}

/// Resolved (local layer name, node index) of a functional model -> what it is.
type Resolved = BTreeMap<(String, usize), NodeOut>;

/// A layer application waiting for its inputs: (entry, local node index, inbound refs, the
/// call's keyword arguments when the node records them).
type Pending<'v> = (&'v Value, usize, Vec<InRef>, Option<Value>);

struct Flattener<'a> {
    file: &'a str,
    layers: Vec<Layer>,
    inputs: Vec<ModelInput>,
    /// Number of applications seen so far per flat layer name.
    calls: BTreeMap<String, usize>,
    depth: usize,
}

/// Flatten the model described by `root` (an object with `class_name` and `config`).
pub(crate) fn flatten(file: &str, root: &Value) -> Result<Flat, KerasError> {
    let class = class_of(root);
    if !is_model_class(class) {
        return Err(KerasError::new(
            ErrorKind::Config,
            file,
            format!("top-level class is `{class}`, expected Sequential or Functional"),
        ));
    }
    let name =
        root.get("config").and_then(|c| c.get("name")).and_then(Value::as_str).unwrap_or("model");
    let mut fl = Flattener {
        file,
        layers: Vec::new(),
        inputs: Vec::new(),
        calls: BTreeMap::new(),
        depth: 0,
    };
    let outputs = fl.model(root, "", None)?;
    // Fill in the call counts now that all applications are known.
    for l in &mut fl.layers {
        l.n_calls = fl.calls.get(&l.name).copied().unwrap_or(1);
    }
    Ok(Flat { name: name.to_string(), inputs: fl.inputs, layers: fl.layers, outputs })
}

impl Flattener<'_> {
    fn err(&self, reason: impl Into<String>) -> KerasError {
        KerasError::new(ErrorKind::Config, self.file, reason)
    }

    fn layer_err(&self, layer: &str, reason: impl Into<String>) -> KerasError {
        KerasError::layer(ErrorKind::Config, self.file, layer, reason)
    }

    /// Flatten one model; `bindings` are the tensors it is applied to (None at top level).
    fn model(
        &mut self,
        entry: &Value,
        prefix: &str,
        bindings: Option<&[TensorRef]>,
    ) -> Result<Vec<TensorRef>, KerasError> {
        self.depth += 1;
        if self.depth > 64 {
            return Err(self.err("models nested more than 64 deep"));
        }
        let res = if class_of(entry) == "Sequential" {
            self.sequential(entry, prefix, bindings)
        } else {
            self.functional(entry, prefix, bindings)
        };
        self.depth -= 1;
        res
    }

    fn add_input(&mut self, name: &str, cfg: &LayerConfig) -> Result<TensorRef, KerasError> {
        let shape = cfg
            .input_shape()
            .ok_or_else(|| self.layer_err(name, "InputLayer has no readable shape"))?;
        if self.inputs.iter().any(|i| i.name == name) {
            return Err(self.layer_err(name, "duplicate input name"));
        }
        self.inputs.push(ModelInput { name: name.to_string(), shape, dtype: cfg.dtype() });
        Ok(TensorRef::first(name))
    }

    fn add_leaf(
        &mut self,
        entry: &Value,
        flat_name: String,
        inbound: Vec<TensorRef>,
        kwargs: Option<Value>,
    ) -> Result<(String, usize), KerasError> {
        // Keras 2 writes registered custom classes as `package>Class`; keep the class name.
        let class = class_of(entry);
        let mut class_name = class.rsplit('>').next().unwrap_or(class).to_string();
        let op = keras3_op_function(entry);
        if class_name.is_empty() {
            return Err(self.layer_err(&flat_name, "layer entry has no class_name"));
        }
        let mut config = entry.get("config").cloned().unwrap_or(Value::Null);
        if let (Some(f), Value::Object(c)) = (op, &mut config) {
            class_name = "TFOpLambda".to_string();
            c.insert("function".to_string(), Value::from(f));
        }
        if let (Some(kw), Value::Object(c)) = (kwargs, &mut config) {
            if class_name == "TFOpLambda" {
                c.insert("call_kwargs".to_string(), kw);
            }
        }
        let config = LayerConfig(config);
        if let Some(why) = config.invalid() {
            return Err(self.layer_err(&flat_name, why));
        }
        let count = self.calls.entry(flat_name.clone()).or_insert(0);
        let node = *count;
        *count += 1;
        self.layers.push(Layer {
            name: flat_name.clone(),
            class_name,
            config,
            node,
            n_calls: 1,
            inbound,
            weights: Arc::new(Vec::new()),
        });
        Ok((flat_name, node))
    }

    fn sequential(
        &mut self,
        entry: &Value,
        prefix: &str,
        bindings: Option<&[TensorRef]>,
    ) -> Result<Vec<TensorRef>, KerasError> {
        let seq_name = name_of(entry).unwrap_or("sequential").to_string();
        let layers = model_layers(entry);
        let mut current = match bindings {
            Some(b) if b.len() == 1 => b[0].clone(),
            Some(b) => {
                return Err(self.layer_err(
                    &format!("{prefix}{seq_name}"),
                    format!("Sequential model applied to {} tensors, expected 1", b.len()),
                ))
            }
            None => {
                // Top level: the input comes from an InputLayer entry or from the first layer's
                // `batch_input_shape` / the model's build shape.
                if let Some(first) = layers.first().filter(|l| class_of(l) == "InputLayer") {
                    let name = name_of(first).unwrap_or("input").to_string();
                    let cfg = LayerConfig(first.get("config").cloned().unwrap_or(Value::Null));
                    self.add_input(&name, &cfg)?
                } else {
                    let first =
                        layers.first().ok_or_else(|| self.err("Sequential model has no layers"))?;
                    let mut cfg = LayerConfig(first.get("config").cloned().unwrap_or(Value::Null));
                    if cfg.input_shape().is_none() {
                        let c = entry.get("config");
                        let shape = c
                            .and_then(|c| c.get("build_input_shape"))
                            .or_else(|| {
                                entry.get("build_config").and_then(|b| b.get("input_shape"))
                            })
                            .cloned()
                            .ok_or_else(|| {
                                self.err(
                                    "Sequential model has no InputLayer and no known input shape",
                                )
                            })?;
                        cfg = LayerConfig(serde_json::json!({ "batch_input_shape": shape }));
                    }
                    let name = format!("{}_input", name_of(first).unwrap_or("sequential"));
                    self.add_input(&name, &cfg)?
                }
            }
        };
        for l in layers {
            let class = class_of(l);
            if class == "InputLayer" {
                continue;
            }
            let name = name_of(l).ok_or_else(|| self.err("Sequential layer entry has no name"))?;
            let flat = format!("{prefix}{name}");
            if is_model_class(class) {
                let outs =
                    self.model(l, &format!("{flat}/"), Some(std::slice::from_ref(&current)))?;
                if outs.len() != 1 {
                    return Err(
                        self.layer_err(&flat, "nested model in a Sequential must have one output")
                    );
                }
                current = outs[0].clone();
            } else {
                let (n, node) = self.add_leaf(l, flat, vec![current], None)?;
                current = TensorRef { layer: n, node, tensor: 0 };
            }
        }
        Ok(vec![current])
    }

    /// Flatten a functional model: bind its inputs, collect its layer applications, resolve
    /// them in dependency order, then read its outputs.
    fn functional(
        &mut self,
        entry: &Value,
        prefix: &str,
        bindings: Option<&[TensorRef]>,
    ) -> Result<Vec<TensorRef>, KerasError> {
        let model_name = name_of(entry).unwrap_or("model").to_string();
        let label = format!("{prefix}{model_name}");
        let cfg = entry.get("config").ok_or_else(|| self.err("model entry has no config"))?;
        let layers = model_layers(entry);
        if layers.is_empty() {
            return Err(self.layer_err(&label, "functional model has no layers"));
        }
        let input_layers = parse_triples(cfg.get("input_layers"))
            .ok_or_else(|| self.layer_err(&label, "bad `input_layers`"))?;
        let output_layers = parse_triples(cfg.get("output_layers"))
            .filter(|o| !o.is_empty())
            .ok_or_else(|| self.layer_err(&label, "bad `output_layers` (none, or not a list)"))?;
        let by_name = self.by_name(layers, prefix)?;
        let mut resolved = self.bind_inputs(layers, &input_layers, bindings, prefix, &label)?;
        let pending = self.applications(layers, prefix)?;
        self.resolve(pending, &by_name, &mut resolved, prefix)?;
        self.outputs(layers, output_layers, &by_name, &resolved, prefix)
    }

    /// A functional model's layer entries by local name (names must be unique).
    fn by_name<'v>(
        &self,
        layers: &'v [Value],
        prefix: &str,
    ) -> Result<BTreeMap<&'v str, &'v Value>, KerasError> {
        let mut by_name: BTreeMap<&str, &Value> = BTreeMap::new();
        for l in layers {
            let n = name_of(l).ok_or_else(|| self.err("layer entry has no name"))?;
            if by_name.insert(n, l).is_some() {
                return Err(self.layer_err(&format!("{prefix}{n}"), "duplicate layer name"));
            }
        }
        Ok(by_name)
    }

    /// The model's inputs, resolved: new model inputs at top level (`bindings` None, ordered as
    /// `input_layers`), else the tensors the nested model is applied to.
    fn bind_inputs(
        &mut self,
        layers: &[Value],
        input_layers: &[(String, usize, usize)],
        bindings: Option<&[TensorRef]>,
        prefix: &str,
        label: &str,
    ) -> Result<Resolved, KerasError> {
        let mut resolved = Resolved::new();
        match bindings {
            None => {
                for l in layers.iter().filter(|l| class_of(l) == "InputLayer") {
                    let n = name_of(l).unwrap_or_default().to_string();
                    let lc = LayerConfig(l.get("config").cloned().unwrap_or(Value::Null));
                    let flat = format!("{prefix}{n}");
                    let t = self.add_input(&flat, &lc)?;
                    resolved.insert((n, 0), NodeOut::Leaf(t.layer, 0));
                }
                // Keep model input order as in `input_layers`.
                let order: Vec<String> =
                    input_layers.iter().map(|(n, _, _)| format!("{prefix}{n}")).collect();
                self.inputs
                    .sort_by_key(|i| order.iter().position(|o| *o == i.name).unwrap_or(usize::MAX));
            }
            Some(b) => {
                if b.len() != input_layers.len() {
                    return Err(self.layer_err(
                        label,
                        format!(
                            "model applied to {} tensors but has {} inputs",
                            b.len(),
                            input_layers.len()
                        ),
                    ));
                }
                for ((n, _, _), t) in input_layers.iter().zip(b) {
                    resolved.insert((n.clone(), 0), NodeOut::Model(vec![t.clone()]));
                }
            }
        }
        Ok(resolved)
    }

    /// Every layer application of the model (InputLayers excluded), in config order.
    fn applications<'v>(
        &self,
        layers: &'v [Value],
        prefix: &str,
    ) -> Result<Vec<Pending<'v>>, KerasError> {
        let mut pending = Vec::new();
        for l in layers {
            if class_of(l) == "InputLayer" {
                continue;
            }
            let n = name_of(l).unwrap_or_default();
            let nodes = match l.get("inbound_nodes") {
                Some(Value::Array(a)) => a.as_slice(),
                None | Some(Value::Null) => &[],
                Some(_) => {
                    return Err(self.layer_err(&format!("{prefix}{n}"), "bad `inbound_nodes`"))
                }
            };
            for (k, node) in nodes.iter().enumerate() {
                let refs = parse_node(node).ok_or_else(|| {
                    self.layer_err(&format!("{prefix}{n}"), "cannot parse inbound node")
                })?;
                pending.push((l, k, refs, call_kwargs(node)));
            }
        }
        Ok(pending)
    }

    /// Flatten the applications in dependency order (Kahn-style sweeps; config order breaks
    /// ties), adding each to `resolved`; an application whose inputs never resolve is an error.
    fn resolve(
        &mut self,
        mut pending: Vec<Pending<'_>>,
        by_name: &BTreeMap<&str, &Value>,
        resolved: &mut Resolved,
        prefix: &str,
    ) -> Result<(), KerasError> {
        while !pending.is_empty() {
            let mut progressed = false;
            let mut i = 0;
            while i < pending.len() {
                let ready = pending[i].2.iter().all(|r| {
                    let node = adjust_node(r, by_name);
                    node.is_some_and(|node| resolved.contains_key(&(r.layer.clone(), node)))
                });
                if !ready {
                    i += 1;
                    continue;
                }
                let (l, k, refs, kwargs) = pending.remove(i);
                progressed = true;
                let mut inbound = Vec::with_capacity(refs.len());
                for r in &refs {
                    let node = adjust_node(r, by_name).unwrap_or(0);
                    let out = resolved.get(&(r.layer.clone(), node)).cloned();
                    inbound.push(self.tensor_of(out, r, prefix)?);
                }
                let n = name_of(l).unwrap_or_default().to_string();
                let flat = format!("{prefix}{n}");
                if is_model_class(class_of(l)) {
                    let outs = self.model(l, &format!("{flat}/"), Some(&inbound))?;
                    resolved.insert((n, k), NodeOut::Model(outs));
                } else {
                    let (fname, fnode) = self.add_leaf(l, flat, inbound, kwargs)?;
                    resolved.insert((n, k), NodeOut::Leaf(fname, fnode));
                }
            }
            if !progressed {
                let (l, _, refs, _) = &pending[0];
                let missing: Vec<String> = refs
                    .iter()
                    .filter(|r| {
                        adjust_node(r, by_name)
                            .is_none_or(|node| !resolved.contains_key(&(r.layer.clone(), node)))
                    })
                    .map(|r| format!("{}[{}][{}]", r.layer, r.node, r.tensor))
                    .collect();
                return Err(self.layer_err(
                    &format!("{prefix}{}", name_of(l).unwrap_or_default()),
                    format!(
                        "inputs cannot be resolved (unknown layer or cycle): {}",
                        missing.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The tensors `output_layers` name, which follow the numbering of the Keras generation
    /// that wrote the config.
    fn outputs(
        &self,
        layers: &[Value],
        output_layers: Vec<(String, usize, usize)>,
        by_name: &BTreeMap<&str, &Value>,
        resolved: &Resolved,
        prefix: &str,
    ) -> Result<Vec<TensorRef>, KerasError> {
        let keras3 = layers.iter().any(|l| {
            l.get("inbound_nodes")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .is_some_and(Value::is_object)
        });
        let numbering = if keras3 { Numbering::Keras3Outputs } else { Numbering::Keras2 };
        let mut outputs = Vec::with_capacity(output_layers.len());
        for (n, node, t) in output_layers {
            let r = InRef { layer: n, node, tensor: t, numbering };
            let out = adjust_node(&r, by_name)
                .and_then(|node| resolved.get(&(r.layer.clone(), node)).cloned());
            outputs.push(self.tensor_of(out, &r, prefix)?);
        }
        Ok(outputs)
    }

    fn tensor_of(
        &self,
        out: Option<NodeOut>,
        r: &InRef,
        prefix: &str,
    ) -> Result<TensorRef, KerasError> {
        match out {
            Some(NodeOut::Leaf(layer, node)) => Ok(TensorRef { layer, node, tensor: r.tensor }),
            Some(NodeOut::Model(ts)) => ts.get(r.tensor).cloned().ok_or_else(|| {
                self.layer_err(
                    &format!("{prefix}{}", r.layer),
                    format!("has no output tensor {}", r.tensor),
                )
            }),
            None => {
                Err(self
                    .err(format!("reference to unknown tensor {}{}[{}]", prefix, r.layer, r.node)))
            }
        }
    }
}

/// The 0-based call index a reference means, undoing the skip-first-node conventions.
fn adjust_node(r: &InRef, by_name: &BTreeMap<&str, &Value>) -> Option<usize> {
    let skips = by_name.get(r.layer.as_str()).is_some_and(|e| match r.numbering {
        Numbering::Calls => false,
        Numbering::Keras2 => k2_skips_first_node(e),
        Numbering::Keras3Outputs => matches!(class_of(e), "Functional" | "Model"),
    });
    if skips {
        r.node.checked_sub(1)
    } else {
        Some(r.node)
    }
}

/// Parse `input_layers` / `output_layers`: a list of `[name, node, tensor]`, or one such triple.
fn parse_triples(v: Option<&Value>) -> Option<Vec<(String, usize, usize)>> {
    let a = v?.as_array()?;
    let triple = |t: &Value| -> Option<(String, usize, usize)> {
        let t = t.as_array()?;
        Some((
            t.first()?.as_str()?.to_string(),
            t.get(1)?.as_u64()? as usize,
            t.get(2)?.as_u64()? as usize,
        ))
    };
    if a.first().is_some_and(Value::is_string) {
        return Some(vec![triple(v?)?]);
    }
    a.iter().map(triple).collect()
}

/// Parse one inbound node: Keras 2 `[[name, node, tensor, kwargs], ...]` or Keras 3
/// `{"args": [...], "kwargs": {...}}` with `__keras_tensor__` entries.
fn parse_node(node: &Value) -> Option<Vec<InRef>> {
    match node {
        // Keras 2 `TFOpLambda` / `SlicingOpLambda` keep the call's structure: one entry
        // `[name, node, tensor, kwargs]`, further tensors as `[name, node, tensor]` in kwargs
        Value::Array(items) if items.first().is_some_and(Value::is_string) => {
            let mut out = vec![k2_ref(node)?];
            if let Some(Value::Object(kw)) = items.get(3) {
                for v in kw.values() {
                    if v.as_array().is_some_and(|a| a.first().is_some_and(Value::is_string)) {
                        out.push(k2_ref(v)?);
                    }
                }
            }
            Some(out)
        }
        Value::Array(items) => items
            .iter()
            .map(|it| {
                let t = it.as_array()?;
                Some(InRef {
                    layer: t.first()?.as_str()?.to_string(),
                    node: t.get(1)?.as_u64()? as usize,
                    tensor: t.get(2)?.as_u64()? as usize,
                    numbering: Numbering::Keras2,
                })
            })
            .collect(),
        Value::Object(o) => {
            let mut out = Vec::new();
            collect_keras_tensors(o.get("args")?, &mut out, 0)?;
            Some(out)
        }
        _ => None,
    }
}

/// A Keras 2 reference `[name, node, tensor, ...]`.
fn k2_ref(v: &Value) -> Option<InRef> {
    let t = v.as_array()?;
    Some(InRef {
        layer: t.first()?.as_str()?.to_string(),
        node: t.get(1)?.as_u64()? as usize,
        tensor: t.get(2)?.as_u64()? as usize,
        numbering: Numbering::Keras2,
    })
}

/// The constant operands of a tensor-arithmetic call, as the `call_kwargs` option the evaluator
/// reads (`{"y": 3.0}`): the keyword arguments of a Keras 2 `TFOpLambda` node
/// (`[name, node, tensor, {"y": 3.0, "name": null}]`), or the non-tensor second argument of a
/// Keras 3 `keras.src.ops` operation (`{"args": [tensor, 3.0]}`); `None` for any other node.
fn call_kwargs(node: &Value) -> Option<Value> {
    match node {
        Value::Array(items) if items.first().is_some_and(Value::is_string) => {
            items.get(3).filter(|v| v.is_object()).cloned()
        }
        Value::Object(o) => {
            let args = o.get("args")?.as_array()?;
            match args.as_slice() {
                [_, y] if !is_keras_tensor(y) => Some(serde_json::json!({ "y": y })),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_keras_tensor(v: &Value) -> bool {
    v.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__")
}

/// Keras 3 records tensor arithmetic in a functional model as `keras.src.ops` operations
/// (`x + 3.0` is `Add` with args `[x, 3.0]`); they are read as the Keras 2 `TFOpLambda`
/// function that computes the same (`__operators__.add`), so one layer class covers both.
fn keras3_op_function(entry: &Value) -> Option<&'static str> {
    let module = entry.get("module").and_then(Value::as_str)?;
    if !module.starts_with("keras.src.ops") {
        return None;
    }
    Some(match class_of(entry) {
        "Add" => "__operators__.add",
        "Subtract" => "math.subtract",
        "Multiply" => "math.multiply",
        "Divide" | "TrueDivide" => "math.truediv",
        "Maximum" => "math.maximum",
        "Minimum" => "math.minimum",
        "Negative" => "math.negative",
        _ => return None,
    })
}

fn collect_keras_tensors(v: &Value, out: &mut Vec<InRef>, depth: usize) -> Option<()> {
    if depth > 32 {
        return None;
    }
    match v {
        Value::Array(a) => {
            for x in a {
                collect_keras_tensors(x, out, depth + 1)?;
            }
        }
        Value::Object(o)
            if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            let h = o.get("config")?.get("keras_history")?.as_array()?;
            out.push(InRef {
                layer: h.first()?.as_str()?.to_string(),
                node: h.get(1)?.as_u64()? as usize,
                tensor: h.get(2)?.as_u64()? as usize,
                numbering: Numbering::Calls,
            });
        }
        _ => {}
    }
    Some(())
}
