//! The text form of a program, printed by `snnc ir` and snapshot-tested.

use super::{OpKind, Program, Sel, SignalId};
use std::fmt::Write;

/// Print signals, then ops in execution order, then probes.
pub fn print(p: &Program) -> String {
    print_marked(p, &[])
}

/// [`print()`], with `+ ` before each step op `i` where `joined[i]` (a backend's plan: the op
/// runs in one loop with the op before it; the JIT's fusion).
pub fn print_marked(p: &Program, joined: &[bool]) -> String {
    let mut out = String::new();
    let name = |s: &SignalId| p.signals.get(s.0 as usize).map(|x| x.name.as_str()).unwrap_or("?");
    let sel = |s: &Sel| match s {
        None => String::new(),
        Some(ix) => format!("[{}]", compact(ix)),
    };
    let _ = writeln!(out, "dt {}", p.dt);
    for (i, inp) in p.inputs.iter().enumerate() {
        let _ = writeln!(out, "input #{i} {} {:?}", inp.name, inp.shape);
    }
    for (i, s) in p.signals.iter().enumerate() {
        let init = if s.init.is_empty() || s.init.iter().all(|v| *v == 0.0) {
            String::new()
        } else {
            format!(" init={}", preview(&s.init))
        };
        let _ = writeln!(out, "signal %{i} {} [{}]{init}", s.name, s.size);
    }
    let once = p.once.iter().map(|op| ("once ", op, false));
    let step =
        p.ops.iter().enumerate().map(|(i, op)| ("", op, joined.get(i).copied().unwrap_or(false)));
    for (prefix, op, joins) in once.chain(step) {
        let line = match &op.kind {
            OpKind::Input { input, dst } => format!("{} = input #{input}", name(dst)),
            OpKind::Reset { dst, value } => format!("{} = {}", name(dst), preview(value)),
            OpKind::Copy { src, dst, src_sel, dst_sel, inc } => {
                format!(
                    "{}{} {} {}{}",
                    name(dst),
                    sel(dst_sel),
                    if *inc { "+=" } else { "=" },
                    name(src),
                    sel(src_sel)
                )
            }
            OpKind::ElementwiseInc { scale, src, dst, src_sel, dst_sel } => {
                format!(
                    "{}{} += {} * {}{}",
                    name(dst),
                    sel(dst_sel),
                    preview(scale),
                    name(src),
                    sel(src_sel)
                )
            }
            OpKind::DotInc { mat, src, dst, src_sel, dst_sel } => {
                format!(
                    "{}{} += M{:?} @ {}{}",
                    name(dst),
                    sel(dst_sel),
                    mat.shape(),
                    name(src),
                    sel(src_sel)
                )
            }
            OpKind::SparseDotInc { vals, src, dst, src_sel, dst_sel, .. } => {
                format!(
                    "{}{} += S(nnz={}) @ {}{}",
                    name(dst),
                    sel(dst_sel),
                    vals.len(),
                    name(src),
                    sel(src_sel)
                )
            }
            OpKind::ConvInc { spec, src, dst } => format!(
                "{} += {}({:?} -> {:?}, kernel {:?}, strides {:?}) @ {}",
                name(dst),
                if spec.transpose { "conv_transpose" } else { "conv" },
                spec.input_shape,
                spec.output_shape,
                spec.kernel.shape(),
                spec.strides,
                name(src)
            ),
            OpKind::SimNeurons { neuron, j, out, states, .. } => {
                let st: Vec<&str> = states.iter().map(|(_, s)| name(s)).collect();
                format!(
                    "{}{} = {}({})",
                    name(out),
                    if st.is_empty() { String::new() } else { format!(", {}", st.join(", ")) },
                    neuron.name(),
                    name(j)
                )
            }
            OpKind::Scale { dst, factor } => format!("{} *= {factor}", name(dst)),
            OpKind::Filter { filter, src, dst } => {
                format!("{} <- filter(order {}) {}", name(dst), filter.order(), name(src))
            }
            OpKind::NodeFn { f, input, dst } => match input {
                Some(i) => {
                    format!("{} = fn(t, {}) [{} -> {}]", name(dst), name(i), f.size_in, f.size_out)
                }
                None => format!("{} = fn(t) [-> {}]", name(dst), f.size_out),
            },
            OpKind::HostFn { op, input, dst } => {
                let what = match op {
                    snn_runtime::kernels::host::HostOp::Keras(k) => {
                        format!("keras_layer {}", k.layer.class_name)
                    }
                    other => other.name().to_string(),
                };
                format!("{} = host {what}({})", name(dst), name(input))
            }
            OpKind::Process { spec, dst, .. } => {
                format!("{} = process {}", name(dst), process_name(spec))
            }
        };
        let events = if op.events { "  (events)" } else { "" };
        let fused = if joins { "+ " } else { "" };
        let _ = writeln!(out, "{prefix}{fused}{:<15} {line}{events}", op.kind.name());
    }
    for pr in &p.probes {
        let every = if pr.every > 1 { format!(" every {}", pr.every) } else { String::new() };
        let _ = writeln!(out, "probe {} = {} {:?}{every}", pr.name, name(&pr.signal), pr.shape);
    }
    out
}

fn process_name(spec: &snn_runtime::process::ProcessSpec) -> &'static str {
    match spec {
        snn_runtime::process::ProcessSpec::WhiteNoise { .. } => "white_noise",
        snn_runtime::process::ProcessSpec::WhiteSignal { .. } => "white_signal",
        snn_runtime::process::ProcessSpec::PresentInput { .. } => "present_input",
    }
}

fn preview(v: &[f64]) -> String {
    if v.len() <= 4 {
        let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
        format!("[{}]", parts.join(", "))
    } else {
        format!("[{}, {}, … {} values]", v[0], v[1], v.len())
    }
}

fn compact(ix: &[usize]) -> String {
    if ix.len() > 1 && ix.windows(2).all(|w| w[1] == w[0] + 1) {
        return format!("{}:{}", ix[0], ix[ix.len() - 1] + 1);
    }
    if ix.len() <= 6 {
        let parts: Vec<String> = ix.iter().map(|x| x.to_string()).collect();
        return parts.join(", ");
    }
    format!("{}, {}, … {} indices", ix[0], ix[1], ix.len())
}
