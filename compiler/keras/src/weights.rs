//! Load layer weights from Keras 2 `model_weights` groups and Keras 3 `model.weights.h5` files,
//! keyed by flattened layer name, with canonical weight names.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{ErrorKind, KerasError};
use crate::graph::{class_of, is_model_class, model_layers, name_of};
use crate::h5::H5;
use crate::model::Weight;
pub(crate) use snn_runtime::keras::weights::{check_names, expected_names};
use snn_runtime::keras::LayerConfig;

/// Weights per flattened layer name.
pub(crate) type WeightMap = BTreeMap<String, Vec<Weight>>;

/// A leaf (non-model) layer of the config tree.
struct Leaf<'a> {
    flat: String,
    local: String,
    entry: &'a Value,
}

/// All leaf layers under a model entry, depth first in config order.
fn leaves<'a>(entry: &'a Value, prefix: &str, out: &mut Vec<Leaf<'a>>, depth: usize) {
    if depth > 64 {
        return;
    }
    for l in model_layers(entry) {
        let Some(n) = name_of(l) else { continue };
        if class_of(l) == "InputLayer" {
            continue;
        }
        if is_model_class(class_of(l)) {
            leaves(l, &format!("{prefix}{n}/"), out, depth + 1);
        } else {
            out.push(Leaf { flat: format!("{prefix}{n}"), local: n.to_string(), entry: l });
        }
    }
}

/// Variable name from a Keras 2 weight name: `dense/kernel:0` -> `kernel`.
fn var_name(weight_name: &str) -> String {
    let last = weight_name.rsplit('/').next().unwrap_or(weight_name);
    last.split(':').next().unwrap_or(last).to_string()
}

/// Load Keras 2 legacy-h5 weights (`model_weights/<layer>/<weight_name>`).
pub(crate) fn load_k2(file: &str, h5: &H5, root: &Value) -> Result<WeightMap, KerasError> {
    let fe = |r: String| KerasError::new(ErrorKind::Format, file, r);
    let base = if h5.has_group("model_weights") { "model_weights" } else { "" };
    let mut map = WeightMap::new();
    let top: Vec<&Value> = if class_of(root) == "Sequential" || is_model_class(class_of(root)) {
        model_layers(root).iter().collect()
    } else {
        Vec::new()
    };
    for entry in top {
        let Some(name) = name_of(entry) else { continue };
        if class_of(entry) == "InputLayer" {
            continue;
        }
        let gpath = if base.is_empty() { name.to_string() } else { format!("{base}/{name}") };
        if !h5.has_group(&gpath) {
            continue; // checked per layer later (missing weights)
        }
        let wnames = h5
            .attr_strings(&gpath, "weight_names")
            .map_err(|e| fe(e).in_layer(name))?
            .unwrap_or_default();
        let mut read = Vec::with_capacity(wnames.len());
        for wn in &wnames {
            let (array, stored_f64) = h5
                .dataset_f64(&format!("{gpath}/{wn}"))
                .map_err(|e| KerasError::layer(ErrorKind::Weights, file, name, e))?;
            let wname = var_name(wn);
            // Keras 2 stores Normalization's sample count with shape (1,), Keras 3 as a scalar
            let array = match array.len() {
                1 if wname == "count" => {
                    array.into_shape_with_order(ndarray::IxDyn(&[])).map_err(|e| {
                        KerasError::layer(ErrorKind::Weights, file, name, e.to_string())
                    })?
                }
                _ => array,
            };
            read.push((wn.clone(), Weight { name: wname, array, stored_f64 }));
        }
        if !is_model_class(class_of(entry)) {
            let mut ws: Vec<Weight> = read.into_iter().map(|(_, w)| w).collect();
            // a wrapper's weights repeat the wrapped layer's names (`forward_lstm/…/kernel`,
            // `backward_lstm/…/kernel`): named by position, in Keras order
            // and ConvNeXt's LayerScale (Keras 2) stores its `gamma` as an unnamed `Variable`
            if matches!(class_of(entry), "Bidirectional" | "LayerScale") {
                let cfg = LayerConfig(entry.get("config").cloned().unwrap_or(Value::Null));
                if let Some(names) = expected_names(class_of(entry), &cfg) {
                    if names.len() == ws.len() {
                        for (w, n) in ws.iter_mut().zip(names) {
                            w.name = n.to_string();
                        }
                    }
                }
            }
            map.insert(name.to_string(), ws);
            continue;
        }
        // A nested model: distribute its weights to its leaf layers by name.
        let mut ls = Vec::new();
        leaves(entry, &format!("{name}/"), &mut ls, 0);
        for (wn, w) in read {
            let parts: Vec<&str> = wn.split('/').collect();
            let owner = if parts.len() >= 2 { parts[parts.len() - 2] } else { "" };
            let scope = parts[..parts.len().saturating_sub(1)].join("/");
            let candidates: Vec<&Leaf> = ls.iter().filter(|l| l.local == owner).collect();
            let pick = candidates
                .iter()
                .filter(|l| l.flat.ends_with(&scope))
                .chain(candidates.iter())
                .find(|l| {
                    map.get(&l.flat)
                        .is_none_or(|v: &Vec<Weight>| v.iter().all(|x| x.name != w.name))
                });
            let Some(leaf) = pick else {
                return Err(KerasError::layer(
                    ErrorKind::Weights,
                    file,
                    name,
                    format!("weight `{wn}` matches no layer inside the nested model"),
                ));
            };
            map.entry(leaf.flat.clone()).or_default().push(w);
        }
        // Keep each leaf's weights in its class's canonical order.
        for l in &ls {
            let cfg = LayerConfig(l.entry.get("config").cloned().unwrap_or(Value::Null));
            if let (Some(names), Some(ws)) =
                (expected_names(class_of(l.entry), &cfg), map.get_mut(&l.flat))
            {
                ws.sort_by_key(|w| names.iter().position(|n| *n == w.name).unwrap_or(usize::MAX));
            }
        }
    }
    Ok(map)
}

/// Keras 3's `naming.to_snake_case`, used for the weights-file group names.
pub(crate) fn to_snake_case(name: &str) -> String {
    let s: Vec<char> = name.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
    // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    let mut a: Vec<char> = Vec::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < s.len() {
        if i + 2 < s.len() && s[i + 1].is_ascii_uppercase() && s[i + 2].is_ascii_lowercase() {
            let mut j = i + 2;
            while j < s.len() && s[j].is_ascii_lowercase() {
                j += 1;
            }
            a.push(s[i]);
            a.push('_');
            a.extend_from_slice(&s[i + 1..j]);
            i = j;
        } else {
            a.push(s[i]);
            i += 1;
        }
    }
    // re.sub("([a-z])([A-Z])", r"\1_\2", name)
    let mut b = String::with_capacity(a.len() + 8);
    let mut i = 0;
    while i < a.len() {
        if a[i].is_ascii_lowercase() && i + 1 < a.len() && a[i + 1].is_ascii_uppercase() {
            b.push(a[i]);
            b.push('_');
            b.push(a[i + 1]);
            i += 2;
        } else {
            b.push(a[i]);
            i += 1;
        }
    }
    b.to_lowercase()
}

/// Load Keras 3 weights (`layers/<group>/vars/<i>`, nested models under `layers/<group>/layers/`).
pub(crate) fn load_k3(file: &str, h5: &H5, root: &Value) -> Result<WeightMap, KerasError> {
    let mut map = WeightMap::new();
    load_k3_container(file, h5, root, "", "", &mut map, 0)?;
    Ok(map)
}

fn load_k3_container(
    file: &str,
    h5: &H5,
    entry: &Value,
    group: &str,
    prefix: &str,
    map: &mut WeightMap,
    depth: usize,
) -> Result<(), KerasError> {
    if depth > 64 {
        return Err(KerasError::new(ErrorKind::Config, file, "models nested more than 64 deep"));
    }
    let fe = |r: String| KerasError::new(ErrorKind::Format, file, r);
    let layers_group =
        if group.is_empty() { "layers".to_string() } else { format!("{group}/layers") };
    // Group names by the layer name recorded in `vars` (recent Keras 3).
    let mut by_attr: BTreeMap<String, String> = BTreeMap::new();
    if h5.has_group(&layers_group) {
        for child in h5.child_groups(&layers_group).map_err(fe)? {
            let vars = format!("{layers_group}/{child}/vars");
            if h5.has_group(&vars) {
                if let Ok(Some(n)) = h5.attr_string(&vars, "name") {
                    by_attr.insert(n, child);
                }
            }
        }
    }
    let is_seq = class_of(entry) == "Sequential";
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for l in model_layers(entry) {
        let class = class_of(l);
        if is_seq && class == "InputLayer" {
            continue;
        }
        // Keras's own path naming (older files have no `name` attribute).
        let mut g = to_snake_case(class);
        match used.get_mut(&g) {
            Some(c) => {
                *c += 1;
                g = format!("{g}_{c}");
            }
            None => {
                used.insert(g.clone(), 0);
            }
        }
        let Some(name) = name_of(l) else { continue };
        if class == "InputLayer" {
            continue;
        }
        // When the file records layer names, a layer it does not name has no weights there
        // (falling back to the class-name path could pick another layer's weights).
        let child = match by_attr.get(name) {
            Some(c) => c.clone(),
            None if !by_attr.is_empty() => continue,
            None => g,
        };
        let gpath = format!("{layers_group}/{child}");
        let flat = format!("{prefix}{name}");
        if is_model_class(class) {
            load_k3_container(file, h5, l, &gpath, &format!("{flat}/"), map, depth + 1)?;
            continue;
        }
        // a layer's own variables, then those of the objects it holds (a recurrent layer's
        // `cell`, a wrapper's `layer` or `forward_layer` and `backward_layer`)
        let mut sources: Vec<String> = Vec::new();
        collect_vars(h5, &gpath, &mut sources, 0);
        if sources.is_empty() {
            continue; // reported as missing weights if the class needs some
        }
        let mut datasets: Vec<String> = Vec::new();
        for vars in &sources {
            let mut idx: Vec<(usize, String)> = h5
                .child_datasets(vars)
                .map_err(|e| fe(e).in_layer(&flat))?
                .into_iter()
                .filter_map(|d| d.parse::<usize>().ok().map(|i| (i, d)))
                .collect();
            idx.sort();
            for (k, (i, d)) in idx.iter().enumerate() {
                if *i != k {
                    return Err(KerasError::layer(
                        ErrorKind::Weights,
                        file,
                        &flat,
                        format!(
                            "weight variables are not numbered 0..n (found `{d}` at position {k})"
                        ),
                    ));
                }
                datasets.push(format!("{vars}/{d}"));
            }
        }
        let cfg = LayerConfig(l.get("config").cloned().unwrap_or(Value::Null));
        let names = expected_names(class, &cfg);
        let mut ws = Vec::with_capacity(datasets.len());
        for (k, path) in datasets.iter().enumerate() {
            let d = path.rsplit('/').next().unwrap_or(path).to_string();
            let (array, stored_f64) = h5
                .dataset_f64(path)
                .map_err(|e| KerasError::layer(ErrorKind::Weights, file, &flat, e))?;
            let wname = match &names {
                Some(n) => n.get(k).map_or_else(|| d.clone(), |s| (*s).to_string()),
                None => d.clone(),
            };
            ws.push(Weight { name: wname, array, stored_f64 });
        }
        map.insert(flat, ws);
    }
    Ok(())
}

/// The `vars` groups holding a Keras 3 layer's variables, in Keras's weight order: its own, then
/// those of the sub-objects it tracks (`cell`, `layer`, `forward_layer`, `backward_layer`).
fn collect_vars(h5: &H5, group: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    let vars = format!("{group}/vars");
    if h5.has_group(&vars) && h5.child_datasets(&vars).is_ok_and(|d| !d.is_empty()) {
        out.push(vars);
    }
    for sub in ["cell", "layer", "forward_layer", "backward_layer"] {
        let g = format!("{group}/{sub}");
        if h5.has_group(&g) {
            collect_vars(h5, &g, out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_snake_case;

    #[test]
    fn snake_case_matches_keras() {
        // Expected values from keras.src.utils.naming.to_snake_case.
        for (class, want) in [
            ("Conv2D", "conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("ReLU", "re_lu"),
            ("LeakyReLU", "leaky_re_lu"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
            ("InputLayer", "input_layer"),
            ("ZeroPadding1D", "zero_padding1d"),
            ("UpSampling2D", "up_sampling2d"),
            ("Functional", "functional"),
            ("ScaleShift", "scale_shift"),
            ("PReLU", "p_re_lu"),
            ("HTTPServer", "http_server"),
        ] {
            assert_eq!(to_snake_case(class), want, "{class}");
        }
    }
}
