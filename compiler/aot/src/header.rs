//! The C header of a native library: the ABI's functions, the time step, the inputs and probes
//! with their shapes, and the ABI version.

use snn_exec::Plan;
use std::fmt::Write;

/// Version of the C ABI (the functions and their meaning); bumped on any incompatible change.
pub const ABI_VERSION: u32 = 1;

/// `s` made a C identifier (other characters become `_`; a leading digit gets a `_`).
pub fn c_ident(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn shape_list(shape: &[usize]) -> String {
    if shape.is_empty() {
        "1".to_string()
    } else {
        shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
    }
}

fn c_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:03o}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// The header of library `name` built from `plan` (`source`: the model file, for the comment).
pub fn header(name: &str, plan: &Plan, source: &str) -> String {
    let up = name.to_ascii_uppercase();
    let real = if plan.dtype == "float32" { "float" } else { "double" };
    let mut h = String::new();
    let w = &mut h;
    let _ = writeln!(
        w,
        "/* {name}.h: the C interface of lib{name}, built by `snnc build` from {source}."
    );
    let _ = writeln!(w, " * Link: cc main.c -I<dir> -L<dir> -l{name}   (shared), or");
    let _ = writeln!(
        w,
        " *       cc main.c -I<dir> <dir>/lib{name}.a -lm -lpthread -ldl   (static). */"
    );
    let _ = writeln!(w, "#ifndef {up}_SNN_H\n#define {up}_SNN_H\n");
    let _ = writeln!(w, "#include <stddef.h>\n#include <stdint.h>\n");
    let _ = writeln!(w, "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n");
    let _ = writeln!(w, "/* Version of this ABI (the functions below and their meaning). */");
    let _ = writeln!(w, "#define {name}_ABI_VERSION {ABI_VERSION}");
    let _ = writeln!(w, "/* Simulation time step, seconds. */");
    let _ = writeln!(w, "#define {name}_DT {:?}", plan.dt);
    let _ = writeln!(w, "/* The float type of inputs and probes ({}). */", plan.dtype);
    let _ = writeln!(w, "typedef {real} {name}_real;\n");

    let _ = writeln!(w, "/* Inputs: name, shape of one sample, values per sample. */");
    let _ = writeln!(w, "#define {name}_N_INPUTS {}", plan.inputs.len());
    for i in &plan.inputs {
        let id = c_ident(&i.name);
        let _ = writeln!(w, "#define {name}_INPUT_{id} {}", c_string(&i.name));
        let _ = writeln!(w, "#define {name}_INPUT_{id}_RANK {}", i.shape.len());
        let _ = writeln!(w, "#define {name}_INPUT_{id}_SIZE {}", i.size());
        let _ = writeln!(
            w,
            "static const size_t {name}_INPUT_{id}_SHAPE[] = {{{}}};",
            shape_list(&i.shape)
        );
    }
    let _ = writeln!(
        w,
        "\n/* Probes: name, shape of one sample, values per sample, sampling period in steps. */"
    );
    let _ = writeln!(w, "#define {name}_N_PROBES {}", plan.probes.len());
    for p in &plan.probes {
        let id = c_ident(&p.name);
        let _ = writeln!(w, "#define {name}_PROBE_{id} {}", c_string(&p.name));
        let _ = writeln!(w, "#define {name}_PROBE_{id}_RANK {}", p.shape.len());
        let _ = writeln!(w, "#define {name}_PROBE_{id}_SIZE {}", p.size);
        let _ = writeln!(w, "#define {name}_PROBE_{id}_EVERY {}", p.every);
        let _ = writeln!(
            w,
            "static const size_t {name}_PROBE_{id}_SHAPE[] = {{{}}};",
            shape_list(&p.shape)
        );
    }
    let names = |v: Vec<&str>| {
        if v.is_empty() {
            "NULL".to_string()
        } else {
            v.iter().map(|n| c_string(n)).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(
        w,
        "static const char *const {name}_INPUT_NAMES[] = {{{}}};",
        names(plan.inputs.iter().map(|i| i.name.as_str()).collect())
    );
    let _ = writeln!(
        w,
        "static const char *const {name}_PROBE_NAMES[] = {{{}}};\n",
        names(plan.probes.iter().map(|p| p.name.as_str()).collect())
    );

    let _ = write!(
        w,
        "typedef struct {name}_model {name}_model;

/* A model of `batch` elements at t = 0 (the model's seed); NULL on failure. */
{name}_model *{name}_new(uint32_t batch);
/* Frees the model (NULL is ignored). */
void {name}_free({name}_model *m);
/* Holds input `input` at `values` (len = batch * size, (batch, *shape) row-major) until set
   again. Returns 0 on success. */
int {name}_set_input({name}_model *m, const char *input, const {name}_real *values, size_t len);
/* Advances `steps` steps; probes record; state carries over between calls. 0 on success. */
int {name}_run({name}_model *m, uint64_t steps);
/* Values per sample of `probe`; 0 when there is no such probe. */
size_t {name}_probe_size(const {name}_model *m, const char *probe);
/* Samples of `probe` recorded since new/reset. */
size_t {name}_probe_samples(const {name}_model *m, const char *probe);
/* Copies `probe`'s samples, (batch, samples, size) row-major (the layout of `snnc run`'s
   .npz), into `out`; len must be batch * samples * size. 0 on success. */
int {name}_read_probe(const {name}_model *m, const char *probe, {name}_real *out, size_t len);
/* Back to t = 0, probes cleared (inputs stay as set). */
void {name}_reset({name}_model *m);
/* What the last failing call on `m` said (\"\" if none); valid until the next call on `m`. */
const char *{name}_last_error(const {name}_model *m);

#ifdef __cplusplus
}}
#endif

#endif /* {up}_SNN_H */
"
    );
    h
}
