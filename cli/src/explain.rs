//! `snnc explain CODE`: what each diagnostic code means, how to fix it, and a broken program
//! that produces it (the programs are the diagnostics corpus, `tests/diagnostics`, so each is
//! checked to produce its code).

/// One code's explanation.
pub struct Explanation {
    /// The code (`E0101`).
    pub code: &'static str,
    /// What it means and how to fix it.
    pub text: &'static str,
    /// The example's file name in `tests/diagnostics`.
    pub example_name: &'static str,
    /// A program that produces it.
    pub example: &'static str,
}

/// A model too large for any machine (E0801's example).
const HUGE: &str =
    "// expect: E0801 at 2:14\nensemble a = lif(n = 10000000000, dims = 1)\nprobe a\n";

/// Every code, in the order of `snn_syntax::codes::ALL`.
pub const EXPLANATIONS: &[Explanation] = &[
    Explanation {
        code: "E0001",
        text: "The text does not follow the grammar of `.snn`: a misspelt keyword, a missing `->`, `=` or bracket, or a statement cut short. snnc reports one error per statement that does not parse and keeps the others, so later errors are real. Fix the statement at the caret; `snnc fmt` only formats files that parse.",
        example_name: "syntax_bad_keyword.snn",
        example: include_str!("../../tests/diagnostics/syntax_bad_keyword.snn"),
    },
    Explanation {
        code: "E0002",
        text: "A number, unit or string literal is not valid: an unknown unit (`20parsecs`), a malformed number or an unterminated string. Units are `s`, `ms`, `us`, `min` (times) and `Hz`, `kHz` (frequencies); a bare number is in SI units.",
        example_name: "bad_literal_unit.snn",
        example: include_str!("../../tests/diagnostics/bad_literal_unit.snn"),
    },
    Explanation {
        code: "E0101",
        text: "A name is used that is not declared in scope (often a typo: the help suggests the closest declared name). Declare it, fix the spelling, or `use` the file that defines it. A name whose declaration failed to parse is not reported again.",
        example_name: "unknown_name.snn",
        example: include_str!("../../tests/diagnostics/unknown_name.snn"),
    },
    Explanation {
        code: "E0102",
        text: "Two declarations in one scope have the same name (here an ensemble and a node both called `a`). Rename one; names must be unique within a network body or the file.",
        example_name: "duplicate_name.snn",
        example: include_str!("../../tests/diagnostics/duplicate_name.snn"),
    },
    Explanation {
        code: "E0103",
        text: "A `network x = NAME(...)` instance names a network definition that is neither in the file nor imported. Check the spelling or add the `use` line that brings it in (`use std.integrator`).",
        example_name: "unknown_network.snn",
        example: include_str!("../../tests/diagnostics/unknown_network.snn"),
    },
    Explanation {
        code: "E0104",
        text: "A constructor or network is given an argument it does not take (`tau_rcc` for `tau_rc`). The help lists the parameters it does take.",
        example_name: "unknown_argument.snn",
        example: include_str!("../../tests/diagnostics/unknown_argument.snn"),
    },
    Explanation {
        code: "E0105",
        text: "A network parameter without a default was not given. Pass it (`pair(n = 10)`) or give the parameter a default (`n: int = 10`).",
        example_name: "missing_argument.snn",
        example: include_str!("../../tests/diagnostics/missing_argument.snn"),
    },
    Explanation {
        code: "E0106",
        text: "An object is used where another kind is needed: a decoded function `fn v -> ...` from a node (only ensembles decode), `.neurons` of a node, a network used as a value, and so on.",
        example_name: "wrong_kind.snn",
        example: include_str!("../../tests/diagnostics/wrong_kind.snn"),
    },
    Explanation {
        code: "E0107",
        text: "A member or field that does not exist: `integ.inptu` on a network instance with no member `inptu`, or a neuron state a type does not have. The help lists what exists.",
        example_name: "unknown_field.snn",
        example: include_str!("../../tests/diagnostics/unknown_field.snn"),
    },
    Explanation {
        code: "E0108",
        text: "A `use \"file.snn\"` names a file that cannot be found or read (paths are relative to the importing file) or is not UTF-8.",
        example_name: "import_missing.snn",
        example: include_str!("../../tests/diagnostics/import_missing.snn"),
    },
    Explanation {
        code: "E0109",
        text: "A network instantiates itself, directly or through others, which would never end. Break the cycle. (A long chain of distinct networks that is merely deep is E0801.)",
        example_name: "recursive_network.snn",
        example: include_str!("../../tests/diagnostics/recursive_network.snn"),
    },
    Explanation {
        code: "E0110",
        text: "A call names no known function, neuron type, synapse, distribution or constructor (`lifx`). The help suggests the closest known name.",
        example_name: "unknown_function.snn",
        example: include_str!("../../tests/diagnostics/unknown_function.snn"),
    },
    Explanation {
        code: "E0111",
        text: "The same argument or clause is given twice (`n = 50, n = 60`, or two `synapse` clauses on one connection). Keep one.",
        example_name: "duplicate_argument.snn",
        example: include_str!("../../tests/diagnostics/duplicate_argument.snn"),
    },
    Explanation {
        code: "E0201",
        text: "A value has the wrong type or unit for where it is used: a time where an integer is needed (`n = 5ms`), a frequency for a time, a string for a number.",
        example_name: "type_mismatch_param.snn",
        example: include_str!("../../tests/diagnostics/type_mismatch_param.snn"),
    },
    Explanation {
        code: "E0202",
        text: "The two ends of a connection have sizes that do not agree and no transform maps one to the other (a 3-vector into a 2-dimensional ensemble). Select a slice (`x[0:2]`) or add a `transform`.",
        example_name: "shape_mismatch.snn",
        example: include_str!("../../tests/diagnostics/shape_mismatch.snn"),
    },
    Explanation {
        code: "E0203",
        text: "A transform's shape does not fit its connection: a dense matrix must be (post size, pre size); sparse, convolution and tensor transforms likewise.",
        example_name: "transform_dense_shape.snn",
        example: include_str!("../../tests/diagnostics/transform_dense_shape.snn"),
    },
    Explanation {
        code: "E0204",
        text: "A convolution or pooling geometry does not fit its input: a kernel larger than the padded input, strides or padding that give no output, or channels that disagree.",
        example_name: "conv_geometry_kernel.snn",
        example: include_str!("../../tests/diagnostics/conv_geometry_kernel.snn"),
    },
    Explanation {
        code: "E0205",
        text: "An index or slice is out of range for the object it selects from (`x[1:4]` of a 3-vector).",
        example_name: "index_range_slice.snn",
        example: include_str!("../../tests/diagnostics/index_range_slice.snn"),
    },
    Explanation {
        code: "E0206",
        text: "A decoded or node function returns a value whose size differs from what the connection's target expects.",
        example_name: "function_size.snn",
        example: include_str!("../../tests/diagnostics/function_size.snn"),
    },
    Explanation {
        code: "E0208",
        text: "A declared shape has a dimension that is not a positive integer (`[0, 3]`), or a size snnc cannot represent.",
        example_name: "bad_shape.snn",
        example: include_str!("../../tests/diagnostics/bad_shape.snn"),
    },
    Explanation {
        code: "E0209",
        text: "A `keras_layer` host function whose class, configuration, weights or input shapes Keras semantics reject (the layer is run once on zeros when checked).",
        example_name: "keras_layer.snn",
        example: include_str!("../../tests/diagnostics/keras_layer.snn"),
    },
    Explanation {
        code: "E0301",
        text: "Connections with `synapse none` form a cycle, so no order of operations can compute a step. Give one connection of the cycle a synapse.",
        example_name: "algebraic_loop.snn",
        example: include_str!("../../tests/diagnostics/algebraic_loop.snn"),
    },
    Explanation {
        code: "E0401",
        text: "A parameter value is outside its valid range (a negative time constant, a probability above 1, a non-positive neuron count); the message gives the range.",
        example_name: "out_of_range_tau.snn",
        example: include_str!("../../tests/diagnostics/out_of_range_tau.snn"),
    },
    Explanation {
        code: "E0402",
        text: "A maximum firing rate the neuron type cannot reach (with `tau_ref = 2ms`, LIF neurons cannot fire at 600 Hz: at most 1/tau_ref).",
        example_name: "max_rate.snn",
        example: include_str!("../../tests/diagnostics/max_rate.snn"),
    },
    Explanation {
        code: "E0403",
        text: "An intercept outside [-1, 1): such a neuron would never (or always) be active over the represented range.",
        example_name: "intercept.snn",
        example: include_str!("../../tests/diagnostics/intercept.snn"),
    },
    Explanation {
        code: "E0501",
        text: "A `weights` file cannot be opened or read as `.npz`, `.safetensors` or `.npy` (paths are relative to the file that names it). Uses of its tensors are not reported again.",
        example_name: "weights_file_missing.snn",
        example: include_str!("../../tests/diagnostics/weights_file_missing.snn"),
    },
    Explanation {
        code: "E0502",
        text: "A tensor name that is not in the weights file; the help lists the closest names it has.",
        example_name: "missing_tensor.snn",
        example: include_str!("../../tests/diagnostics/missing_tensor.snn"),
    },
    Explanation {
        code: "E0503",
        text: "A tensor whose shape is not what its use needs (a bias of 3 values for a layer of 4 neurons).",
        example_name: "tensor_shape_bias.snn",
        example: include_str!("../../tests/diagnostics/tensor_shape_bias.snn"),
    },
    Explanation {
        code: "E0601",
        text: "A compile-time expression cannot be evaluated: division by zero, a result that is NaN (`inf - inf`, `sqrt(-1)`), a non-integer where an integer is needed, a value out of range of the operation.",
        example_name: "eval_error.snn",
        example: include_str!("../../tests/diagnostics/eval_error.snn"),
    },
    Explanation {
        code: "E0603",
        text: "A built-in function is called with the wrong number of arguments (`atan2` takes two).",
        example_name: "arity.snn",
        example: include_str!("../../tests/diagnostics/arity.snn"),
    },
    Explanation {
        code: "E0701",
        text: "The model checks but cannot be built: for example every neuron of an ensemble is silent at every eval point, so the decoder solve has no data. Change intercepts, eval points or rates.",
        example_name: "build_zero_activity.snn",
        example: include_str!("../../tests/diagnostics/build_zero_activity.snn"),
    },
    Explanation {
        code: "E0801",
        text: "The program is beyond one of snnc's limits, and snnc says which instead of crashing: brackets nested more than 256 levels, an expression tree deeper than 1000 levels (a flat sum counts each `+`), network instances nested more than 64 levels, more than 1,000,000 statements elaborated (loops and instances repeat their bodies), a constant array of more than 2^27 values, or a model whose build and run need more memory than allowed (by default the machine's memory; raise it with `--max-memory`, or make the model smaller). Split deep expressions with `let`.",
        example_name: "huge.snn",
        example: HUGE,
    },
    Explanation {
        code: "W0101",
        text: "A warning, not an error: a `let` or a `for` variable is named `pi`, `e` or `inf`, so every later use of that name in its scope means the new value, not the built-in constant (`sin(2 * pi * t)` would no longer be a sine of period 1 s). Rename it unless that is what you mean.",
        example_name: "shadowed_constant.snn",
        example: include_str!("../../tests/diagnostics/shadowed_constant.snn"),
    },
    Explanation {
        code: "W0102",
        text: "A warning, not an error: the file defines a network with the same name as one a `use` (without `as`) provides, such as a local `network integrator` next to `use std.integrator`. The local definition is the one every `NAME(…)` instance in the file uses; the imported one is unreachable by that name. Rename one of them, or import the library under a name (`use std.integrator as lib`) and write `lib.integrator(…)` for its network.",
        example_name: "hidden_network.snn",
        example: include_str!("../../tests/diagnostics/hidden_network.snn"),
    },
];

/// The loihi target's codes (`snnc check --target loihi`), in the order of
/// `snn_loihi::codes::ALL`; their examples are `tests/loihi/diagnostics`.
pub const LOIHI_EXPLANATIONS: &[Explanation] = &[
    Explanation {
        code: "E0901",
        text: "A neuron type Loihi compartments do not implement is mapped onto the chip. Loihi 1 cores run leaky integrate-and-fire dynamics (LIF, spiking ReLU, and their rate forms as nengo-loihi maps them); sigmoid, tanh, Izhikevich, adaptive or stochastic neurons have no compartment form. Use `lif` or `spiking_relu`, or run the model on the `jit` backend.",
        example_name: "unsupported.snn",
        example: include_str!("../../tests/loihi/diagnostics/unsupported.snn"),
    },
    Explanation {
        code: "E0902",
        text: "A synapse that is not a first-order lowpass reaches a chip population: a compartment filters its input with one exponential decay, so alpha synapses, general linear filters and two filters in series cannot map. Use `synapse TAU` (a lowpass) or `synapse none`.",
        example_name: "unsupported.snn",
        example: include_str!("../../tests/loihi/diagnostics/unsupported.snn"),
    },
    Explanation {
        code: "E0903",
        text: "A part of the model runs off-chip in a way the loihi target does not map: a value computed on the host from chip spikes that drives chip neurons again (a loop through the host), a probe of a neuron state the compartments do not report, or an input written other than by connections. Move the computation onto the chip (ensembles and decoded connections) or off it entirely.",
        example_name: "host.snn",
        example: include_str!("../../tests/loihi/diagnostics/host.snn"),
    },
    Explanation {
        code: "E0904",
        text: "A parameter does not fit the chip's integers after discretization (as nengo-loihi discretizes): a synapse or membrane time constant too long for the 12-bit decay at this dt, or weights, biases and thresholds too far apart in scale for their mantissa and exponent. Shorten the time constant, change dt, or bring the values closer together.",
        example_name: "range.snn",
        example: include_str!("../../tests/loihi/diagnostics/range.snn"),
    },
    Explanation {
        code: "E0905",
        text: "The model does not fit the hardware: a population no split fits onto cores (too many input axons or synapses per compartment), a connection with more synapses than every chip holds together, or more than 32 chips in all. Use sparse or elementwise transforms, fewer source neurons, or smaller populations.",
        example_name: "capacity.snn",
        example: include_str!("../../tests/loihi/diagnostics/capacity.snn"),
    },
    Explanation {
        code: "W0901",
        text: "A warning: connections into one population have different synapse time constants, but a Loihi compartment filters its whole input with one decay, so the largest is used for all of them (as nengo-loihi's `configure_filter` does). Give them one time constant, or feed them into different populations, if the difference matters.",
        example_name: "warnings.snn",
        example: include_str!("../../tests/loihi/diagnostics/warnings.snn"),
    },
    Explanation {
        code: "W0902",
        text: "A warning: a connection's weights lose much of their precision to the chip's 8-bit weights, typically because they are far smaller than the largest weight into the same population (which sets the shared exponent). Scale them up, or split the population's inputs so weights of one scale share it.",
        example_name: "warnings.snn",
        example: include_str!("../../tests/loihi/diagnostics/warnings.snn"),
    },
];

/// The explanation of `code` (case-insensitive; `E101` and `101` are read as `E0101`, `W101`
/// as `W0101`).
pub fn find(code: &str) -> Option<&'static Explanation> {
    let c = code.trim().to_ascii_uppercase();
    let (kind, digits) = match c.strip_prefix('W') {
        Some(d) => ('W', d),
        None => ('E', c.strip_prefix('E').unwrap_or(&c)),
    };
    let c = format!("{kind}{digits:0>4}");
    EXPLANATIONS.iter().chain(LOIHI_EXPLANATIONS).find(|e| e.code == c)
}

/// `snnc explain CODE` as text: the one-line meaning, the explanation, the example.
pub fn explain(code: &str) -> Result<String, String> {
    let e = find(code).ok_or_else(|| {
        format!("no error code `{code}`: codes look like E0101 (`snnc check` prints them)")
    })?;
    let meaning = snn_syntax::codes::ALL
        .iter()
        .chain(snn_loihi::codes::ALL)
        .find(|(c, _)| *c == e.code)
        .map_or("", |(_, m)| *m);
    let example: String = e
        .example
        .lines()
        .filter(|l| !l.starts_with("// expect:"))
        .map(|l| format!("    {l}\n"))
        .collect();
    Ok(format!(
        "{}: {meaning}\n\n{}\n\nFor example ({}):\n\n{example}",
        e.code,
        textwrap(e.text, 96),
        e.example_name
    ))
}

/// Wrap at `width` columns on spaces.
fn textwrap(s: &str, width: usize) -> String {
    let mut out = String::new();
    let mut col = 0;
    for w in s.split(' ') {
        if col > 0 && col + 1 + w.len() > width {
            out.push('\n');
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(w);
        col += w.len();
    }
    out
}
