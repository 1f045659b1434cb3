//! Layers: a neuron type with per-neuron gain and bias, no NEF parameters.

use super::args::Args;
use crate::model::Layer;
use crate::resolve::scope::NetCtx;
use crate::resolve::{trainable, Elab};
use crate::value::{fmt_shape, Unit, Value};
use snn_syntax::{codes, Diagnostic, Span};

/// Layer arguments besides the neuron type's own parameters.
pub(crate) const LAYER_ARGS: &[&str] = &["gain", "bias", "trainable"];

impl Elab<'_> {
    /// Interpret a neuron constructor as a layer of `n` neurons.
    pub(super) fn layer_from(
        &mut self,
        ctx: &mut NetCtx,
        v: Value,
        span: Span,
        n: usize,
    ) -> Option<Layer> {
        let c = self.neuron_ctor(v, span, "a layer")?;
        let (mut neuron, mut args) = self.neuron_from(ctx, &c, LAYER_ARGS)?;
        let gain = self.per_neuron(ctx, &mut args, "gain", n, 1.0)?;
        let bias = self.per_neuron(ctx, &mut args, "bias", n, 0.0)?;
        let train_bias = args
            .opt_bool(self, "trainable")
            .or_else(|| trainable::config_bias_trainable(ctx))
            .or_else(|| trainable::config_trainable(ctx, "layer"))
            .unwrap_or(true);
        self.initial_states(&mut args, &mut neuron, n)?;
        args.finish(self);
        Some(Layer { neuron, gain, bias, train_bias })
    }

    /// A layer's per-neuron `name` (one value per neuron, or one for all), config or `default`.
    fn per_neuron(
        &mut self,
        ctx: &mut NetCtx,
        args: &mut Args,
        name: &str,
        n: usize,
        default: f64,
    ) -> Option<Vec<f64>> {
        let (v, span) = match args.take(name) {
            Some(a) => (a.value, a.value_span),
            None => match ctx.config.get("layer", name) {
                Some(v) => v,
                None => return Some(vec![default]),
            },
        };
        match v {
            Value::Num(x, Unit::One) => Some(vec![x]),
            Value::Array(a) if a.len() == n || a.len() == 1 => Some(a.iter().copied().collect()),
            other => {
                let shape = match &other {
                    Value::Array(a) => fmt_shape(a.shape()),
                    o => o.describe(),
                };
                self.diags.push(
                    Diagnostic::error(codes::TENSOR_SHAPE, format!("`{name}` needs one value per neuron ({n}) or a single number, found {shape}"), span, "wrong size")
                        .with_help("a layer's size is the product of its shape"),
                );
                None
            }
        }
    }
}
