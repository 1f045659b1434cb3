//! The parameters training changes, found in a lowered (unoptimised) program: each is the
//! payload of one op (a transform's matrix, sparse values or kernel, a decoded connection's
//! weights, an ensemble's scaled encoders, a layer's or an ensemble's biases), traced back to
//! the statement it came from so that the trained values can be written back. What NengoDL
//! trains is trained unless the model says `trainable false` (an object's argument, a
//! connection's clause or a `config` block).

use ndarray::ArrayD;
use snn_compiler::ir::{OpKind, Program};
use snn_compiler::lower;
use snn_compiler::model::{Model, ObjectKind, Transform};
use snn_syntax::Span;

/// Where a parameter comes from in the model.
#[derive(Clone, Debug, PartialEq)]
pub enum Site {
    /// The transform of connection `index` of [`Model::connections`].
    Transform {
        /// Index of the connection.
        index: usize,
    },
    /// The bias of a layer (object `index` of [`Model::objects`]).
    Bias {
        /// Index of the object.
        index: usize,
    },
    /// The weights of decoded connection `index` (`transform @ decoders^T`, as NengoDL trains
    /// them), written back as Nengo's `NoSolver` decoders.
    Decoders {
        /// Index of the connection.
        index: usize,
    },
    /// The scaled encoders (`encoders * gain / radius`) of ensemble `index`.
    Encoders {
        /// Index of the object.
        index: usize,
    },
    /// The biases of ensemble `index`.
    EnsembleBias {
        /// Index of the object.
        index: usize,
    },
}

/// Which payload of its op a parameter is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A `DotInc` matrix `(size_out, size_in)`.
    Matrix,
    /// A `SparseDotInc`'s values.
    Sparse,
    /// A `ConvInc` kernel.
    Kernel,
    /// An `ElementwiseInc` scale (scalar or per element).
    Scale,
    /// A `Reset` value: a layer's biases, one per neuron.
    Bias,
}

/// One trainable tensor.
#[derive(Clone, Debug)]
pub struct Param {
    /// Its name in the written weights file (`"conv0.bias"`, `"x->h.transform"`).
    pub name: String,
    /// The op (index into [`Program::ops`]) whose payload it is.
    pub op: usize,
    /// Which payload.
    pub kind: ParamKind,
    /// Where it comes from in the model.
    pub site: Site,
    /// The statement that declares it.
    pub span: Span,
    /// Its current value.
    pub value: ArrayD<f64>,
}

/// What is not trained and why (reported to the user, never silently dropped).
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The statement.
    pub span: Span,
    /// Why it is left as it is.
    pub reason: String,
}

/// The trainable parameters of `program` (lowered from `model` without optimisation), and the
/// parameters NengoDL would train that snnc leaves unchanged, with the reason.
pub fn find(model: &Model, program: &Program) -> (Vec<Param>, Vec<Skipped>) {
    let mut params = Vec::new();
    let mut skipped = Vec::new();
    let by_name =
        |name: &str| program.signals.iter().position(|s| s.name == name).map(|i| i as u32);
    let writer = |sig: u32, want: fn(&OpKind) -> bool| {
        program.ops.iter().position(|op| {
            want(&op.kind) && {
                let a = op.kind.access();
                a.sets.iter().chain(&a.incs).any(|s| s.0 == sig)
            }
        })
    };
    let matrix_into = |dst: u32, src: Option<u32>| {
        program.ops.iter().position(|op| match &op.kind {
            OpKind::DotInc { dst: d, src: s, .. } => d.0 == dst && src.is_none_or(|x| s.0 == x),
            _ => false,
        })
    };
    for (ci, c) in model.connections.iter().enumerate() {
        if !c.trainable {
            continue;
        }
        let pre = model.object(c.pre.obj);
        let post = model.object(c.post.obj);
        let decoded = c.is_decoded(model);
        if decoded && c.solver.weights {
            skipped.push(Skipped {
                span: c.span,
                reason: "the weights of a `weights = true` solver are not trained yet".into(),
            });
            continue;
        }
        if matches!(c.transform, Transform::Identity) && !decoded {
            continue;
        }
        if let Transform::Conv(spec) = &c.transform {
            if spec.kernel.is_empty() {
                continue;
            }
        }
        let Some(sig) = by_name(&lower::weighted_signal_name(ci)) else { continue };
        let Some(op) = writer(sig, |k| {
            matches!(
                k,
                OpKind::DotInc { .. }
                    | OpKind::SparseDotInc { .. }
                    | OpKind::ConvInc { .. }
                    | OpKind::ElementwiseInc { .. }
            )
        }) else {
            continue;
        };
        let (kind, value) = match &program.ops[op].kind {
            OpKind::DotInc { mat, .. } => (ParamKind::Matrix, mat.clone().into_dyn()),
            OpKind::SparseDotInc { vals, .. } => (
                ParamKind::Sparse,
                ArrayD::from_shape_vec(vec![vals.len()], vals.clone()).unwrap_or_default(),
            ),
            OpKind::ConvInc { spec, .. } => (ParamKind::Kernel, spec.kernel.clone()),
            OpKind::ElementwiseInc { scale, .. } => (
                ParamKind::Scale,
                ArrayD::from_shape_vec(vec![scale.len()], scale.clone()).unwrap_or_default(),
            ),
            _ => continue,
        };
        let (name, site) = if decoded {
            (format!("{}->{}.decoders", pre.name, post.name), Site::Decoders { index: ci })
        } else {
            (format!("{}->{}.transform", pre.name, post.name), Site::Transform { index: ci })
        };
        params.push(Param { name, op, kind, site, span: c.span, value });
    }
    for (oi, o) in model.objects.iter().enumerate() {
        let bias_of = |j: &str| {
            let sig = by_name(j)?;
            let op = writer(sig, |k| matches!(k, OpKind::Reset { .. }))?;
            let OpKind::Reset { value, .. } = &program.ops[op].kind else { return None };
            let n = o.n_neurons().unwrap_or(1);
            let v: Vec<f64> = if value.len() == 1 { vec![value[0]; n] } else { value.clone() };
            Some((op, ArrayD::from_shape_vec(vec![v.len()], v).unwrap_or_default()))
        };
        match &o.kind {
            ObjectKind::Layer(l) if l.train_bias => {
                let Some((op, value)) = bias_of(&format!("{}.in", o.name)) else { continue };
                params.push(Param {
                    name: format!("{}.bias", o.name),
                    op,
                    kind: ParamKind::Bias,
                    site: Site::Bias { index: oi },
                    span: o.span,
                    value,
                });
            }
            ObjectKind::Ensemble(e) => {
                let j = format!("{}.neurons.in", o.name);
                if e.train_encoders {
                    let input = by_name(&format!("{}.in", o.name));
                    if let (Some(jsig), Some(input)) = (by_name(&j), input) {
                        if let Some(op) = matrix_into(jsig, Some(input)) {
                            if let OpKind::DotInc { mat, .. } = &program.ops[op].kind {
                                params.push(Param {
                                    name: format!("{}.encoders", o.name),
                                    op,
                                    kind: ParamKind::Matrix,
                                    site: Site::Encoders { index: oi },
                                    span: o.span,
                                    value: mat.clone().into_dyn(),
                                });
                            }
                        }
                    }
                }
                if e.train_bias {
                    if let Some((op, value)) = bias_of(&j) {
                        params.push(Param {
                            name: format!("{}.bias", o.name),
                            op,
                            kind: ParamKind::Bias,
                            site: Site::EnsembleBias { index: oi },
                            span: o.span,
                            value,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    (params, skipped)
}

/// Writes `values` (one per parameter of `params`, shaped as [`Param::value`]) into the ops of
/// `program` they came from, so that it runs with them (validation and scoring as the model
/// runs, spiking neurons spiking). A value whose size does not fit its op is an error.
pub fn apply(
    program: &mut Program,
    params: &[Param],
    values: &[ArrayD<f64>],
) -> Result<(), crate::TrainError> {
    let misfit =
        |p: &Param| crate::TrainError::at(format!("`{}` does not fit its op", p.name), p.span);
    for (p, v) in params.iter().zip(values) {
        let op = program.ops.get_mut(p.op).ok_or_else(|| misfit(p))?;
        let flat: Vec<f64> = v.iter().copied().collect();
        match (&mut op.kind, p.kind) {
            (OpKind::DotInc { mat, .. }, ParamKind::Matrix) if mat.len() == flat.len() => {
                *mat =
                    ndarray::Array2::from_shape_vec(mat.raw_dim(), flat).map_err(|_| misfit(p))?;
            }
            (OpKind::SparseDotInc { vals, .. }, ParamKind::Sparse) if vals.len() == flat.len() => {
                *vals = flat
            }
            (OpKind::ConvInc { spec, .. }, ParamKind::Kernel)
                if spec.kernel.len() == flat.len() =>
            {
                spec.kernel =
                    ArrayD::from_shape_vec(spec.kernel.raw_dim(), flat).map_err(|_| misfit(p))?;
            }
            (OpKind::ElementwiseInc { scale, .. }, ParamKind::Scale)
                if scale.len() == flat.len() =>
            {
                *scale = flat
            }
            (OpKind::Reset { value, .. }, ParamKind::Bias)
                if value.len() == flat.len() || value.len() == 1 =>
            {
                *value = flat
            }
            _ => return Err(misfit(p)),
        }
    }
    Ok(())
}
