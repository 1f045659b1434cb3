//! A layer's Keras `config` JSON with typed accessors for the options the importer and evaluator use.
//!
//! Accessors accept both the Keras 2 and Keras 3 spellings (e.g. `alpha` / `negative_slope`,
//! `batch_input_shape` / `batch_shape`) and apply Keras's defaults when an option is absent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Padding mode of convolutions and pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// No padding.
    Valid,
    /// TensorFlow "same": output = ceil(input / stride), extra padding at the end.
    Same,
    /// Conv1D "causal": left padding of (kernel - 1) * dilation.
    Causal,
}

/// Position of the channel axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataFormat {
    /// `(batch, *spatial, channels)`.
    ChannelsLast,
    /// `(batch, channels, *spatial)`.
    ChannelsFirst,
}

/// A layer's config JSON object (serialised as its JSON text, so that formats which are not
/// self-describing can carry it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerConfig(pub Value);

impl Serialize for LayerConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for LayerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        serde_json::from_str(&text).map(LayerConfig).map_err(serde::de::Error::custom)
    }
}

/// Read an int or a list of ints as a vector of `n` entries (an int is repeated).
fn ints(v: &Value, n: usize) -> Option<Vec<usize>> {
    match v {
        Value::Number(x) => {
            let x = x.as_u64()? as usize;
            Some(vec![x; n])
        }
        Value::Array(a) => a.iter().map(|x| x.as_u64().map(|x| x as usize)).collect(),
        _ => None,
    }
}

impl LayerConfig {
    /// The raw JSON value of option `key`, if present and not null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// Option `key` as a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Option `key` as an unsigned integer.
    pub fn usize(&self, key: &str) -> Option<usize> {
        self.get(key).and_then(Value::as_u64).map(|x| x as usize)
    }

    /// Option `key` as a float.
    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// Option `key` as a bool.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).and_then(Value::as_bool)
    }

    /// Option `key` as an int-or-tuple expanded to `n` entries.
    pub fn ints(&self, key: &str, n: usize) -> Option<Vec<usize>> {
        self.get(key).and_then(|v| ints(v, n))
    }

    /// Why an option present in the config is not one Keras accepts (`strides`,
    /// `dilation_rate`, `kernel_size`, `pool_size` of zero or negative entries, `groups` below
    /// one, an unknown `padding`), so a hand-edited or corrupted file is refused rather than
    /// read with the defaults.
    pub fn invalid(&self) -> Option<String> {
        let positive = |v: &Value| v.as_u64().is_some_and(|x| x >= 1);
        for key in ["strides", "dilation_rate", "kernel_size", "pool_size"] {
            let Some(v) = self.get(key) else { continue };
            let ok = match v {
                Value::Array(a) => !a.is_empty() && a.iter().all(positive),
                other => positive(other),
            };
            if !ok {
                return Some(format!("`{key}` is {v}; Keras takes positive whole numbers"));
            }
        }
        if let Some(g) = self.get("groups").filter(|g| !positive(g)) {
            return Some(format!("`groups` is {g}; Keras takes a positive whole number"));
        }
        // (ZeroPadding's `padding` is a list of amounts, not a mode)
        if let Some(p) = self.str("padding").filter(|_| self.padding().is_none()) {
            return Some(format!("`padding` is \"{p}\"; Keras has valid, same and causal"));
        }
        None
    }

    /// The layer's name inside its model.
    pub fn name(&self) -> Option<&str> {
        self.str("name")
    }

    /// `units` of Dense.
    pub fn units(&self) -> Option<usize> {
        self.usize("units")
    }

    /// `filters` of convolutions.
    pub fn filters(&self) -> Option<usize> {
        self.usize("filters")
    }

    /// `kernel_size` expanded to `rank` spatial dims.
    pub fn kernel_size(&self, rank: usize) -> Option<Vec<usize>> {
        self.ints("kernel_size", rank)
    }

    /// `strides` expanded to `rank` dims; defaults to 1 (convolutions) — pooling uses [`Self::pool_strides`].
    pub fn strides(&self, rank: usize) -> Vec<usize> {
        self.ints("strides", rank).unwrap_or_else(|| vec![1; rank])
    }

    /// `dilation_rate` expanded to `rank` dims (default 1).
    pub fn dilation_rate(&self, rank: usize) -> Vec<usize> {
        self.ints("dilation_rate", rank).unwrap_or_else(|| vec![1; rank])
    }

    /// `groups` of convolutions (default 1).
    pub fn groups(&self) -> usize {
        self.usize("groups").unwrap_or(1)
    }

    /// `padding` of convolutions and pooling (default `valid`); `None` if unrecognised.
    pub fn padding(&self) -> Option<Padding> {
        match self.str("padding").unwrap_or("valid").to_ascii_lowercase().as_str() {
            "valid" => Some(Padding::Valid),
            "same" => Some(Padding::Same),
            "causal" => Some(Padding::Causal),
            _ => None,
        }
    }

    /// `data_format` (default channels_last); `None` if unrecognised.
    pub fn data_format(&self) -> Option<DataFormat> {
        match self.str("data_format").unwrap_or("channels_last") {
            "channels_last" => Some(DataFormat::ChannelsLast),
            "channels_first" => Some(DataFormat::ChannelsFirst),
            _ => None,
        }
    }

    /// The activation name (`linear` when absent). Serialized activation objects
    /// (`{"class_name": ..., "config": "relu"}`) are reduced to their name.
    pub fn activation(&self) -> Option<String> {
        match self.get("activation") {
            None => Some("linear".to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(o)) => match o.get("config") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(c)) => c.get("name").and_then(Value::as_str).map(str::to_string),
                _ => o.get("class_name").and_then(Value::as_str).map(str::to_string),
            },
            Some(_) => None,
        }
    }

    /// `use_bias` (default true).
    pub fn use_bias(&self) -> bool {
        self.bool("use_bias").unwrap_or(true)
    }

    /// `axis` as a list (BatchNormalization accepts an int or a list; default -1).
    pub fn axes(&self) -> Option<Vec<i64>> {
        match self.get("axis") {
            None => Some(vec![-1]),
            Some(Value::Number(n)) => n.as_i64().map(|a| vec![a]),
            Some(Value::Array(a)) => a.iter().map(Value::as_i64).collect(),
            Some(_) => None,
        }
    }

    /// A single `axis` (Concatenate, Softmax; default -1).
    pub fn axis(&self) -> Option<i64> {
        match self.get("axis") {
            None => Some(-1),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::Array(a)) if a.len() == 1 => a[0].as_i64(),
            Some(_) => None,
        }
    }

    /// BatchNormalization `epsilon` (default 1e-3).
    pub fn epsilon(&self) -> f64 {
        self.f64("epsilon").unwrap_or(1e-3)
    }

    /// BatchNormalization `center` (default true).
    pub fn center(&self) -> bool {
        self.bool("center").unwrap_or(true)
    }

    /// BatchNormalization `scale` (default true).
    pub fn scale(&self) -> bool {
        self.bool("scale").unwrap_or(true)
    }

    /// `pool_size` expanded to `rank` dims (default 2).
    pub fn pool_size(&self, rank: usize) -> Vec<usize> {
        self.ints("pool_size", rank).unwrap_or_else(|| vec![2; rank])
    }

    /// Pooling `strides` (default: the pool size).
    pub fn pool_strides(&self, rank: usize) -> Vec<usize> {
        self.ints("strides", rank).unwrap_or_else(|| self.pool_size(rank))
    }

    /// UpSampling `size` expanded to `rank` dims (default 2).
    pub fn up_size(&self, rank: usize) -> Vec<usize> {
        self.ints("size", rank).unwrap_or_else(|| vec![2; rank])
    }

    /// UpSampling2D `interpolation` (default nearest).
    pub fn interpolation(&self) -> String {
        self.str("interpolation").unwrap_or("nearest").to_string()
    }

    /// ZeroPadding / Cropping amounts as (before, after) per spatial dim; accepts an int,
    /// a list of ints (symmetric per dim, or (before, after) for 1-D) and a list of pairs.
    pub fn pad_pairs(&self, key: &str, rank: usize) -> Option<Vec<(usize, usize)>> {
        let v = self.get(key)?;
        let u = |x: &Value| x.as_u64().map(|x| x as usize);
        match v {
            Value::Number(_) => {
                let p = u(v)?;
                Some(vec![(p, p); rank])
            }
            Value::Array(a) => {
                if a.iter().all(Value::is_array) {
                    let pairs: Option<Vec<(usize, usize)>> = a
                        .iter()
                        .map(|p| {
                            let p = p.as_array()?;
                            if p.len() == 2 {
                                Some((u(&p[0])?, u(&p[1])?))
                            } else {
                                None
                            }
                        })
                        .collect();
                    pairs.filter(|p| p.len() == rank)
                } else if rank == 1 && a.len() == 2 {
                    Some(vec![(u(&a[0])?, u(&a[1])?)])
                } else if a.len() == rank {
                    a.iter().map(|x| u(x).map(|p| (p, p))).collect()
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Slope for negative inputs: LeakyReLU `alpha` (Keras 2) / `negative_slope` (Keras 3),
    /// ReLU `negative_slope`. Defaults: 0.3 for LeakyReLU, 0 otherwise (pass the default).
    pub fn negative_slope(&self, default: f64) -> f64 {
        self.f64("negative_slope").or_else(|| self.f64("alpha")).unwrap_or(default)
    }

    /// ReLU `max_value` (None = unbounded).
    pub fn max_value(&self) -> Option<f64> {
        self.f64("max_value")
    }

    /// ReLU `threshold` (default 0).
    pub fn threshold(&self) -> f64 {
        self.f64("threshold").unwrap_or(0.0)
    }

    /// Reshape `target_shape` (may contain one -1).
    pub fn target_shape(&self) -> Option<Vec<i64>> {
        self.get("target_shape")?.as_array()?.iter().map(Value::as_i64).collect()
    }

    /// Dropout `rate`.
    pub fn rate(&self) -> Option<f64> {
        self.f64("rate")
    }

    /// GlobalPooling `keepdims` (default false).
    pub fn keepdims(&self) -> bool {
        self.bool("keepdims").unwrap_or(false)
    }

    /// Permute `dims` (1-based, batch excluded).
    pub fn permute_dims(&self) -> Option<Vec<usize>> {
        self.ints("dims", 0)
    }

    /// InputLayer shape without the batch dimension (`batch_input_shape` in Keras 2,
    /// `batch_shape` in Keras 3, or `input_shape`); `None` entries are unknown dims.
    pub fn input_shape(&self) -> Option<Vec<Option<usize>>> {
        let (v, has_batch) = if let Some(v) = self.get("batch_shape") {
            (v, true)
        } else if let Some(v) = self.get("batch_input_shape") {
            (v, true)
        } else {
            (self.get("input_shape")?, false)
        };
        let a = v.as_array()?;
        let dims = if has_batch { a.get(1..)? } else { &a[..] };
        Some(dims.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
    }

    /// The dtype name of an InputLayer (`float32` if absent or a policy object).
    pub fn dtype(&self) -> String {
        match self.get("dtype") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("float32")
                .to_string(),
            _ => "float32".to_string(),
        }
    }
}
