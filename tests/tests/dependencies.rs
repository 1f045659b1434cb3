//! The crate graph's one-way rules (docs/ARCHITECTURE.md, "Crates"), read from `cargo metadata`
//! so they stay true:
//! - `snn-compiler` (resolve, check, lower, verify, optimise, the interpreter) reads no file: no
//!   workspace crate it reaches declares a Cranelift crate, a Keras reader, an HDF5 crate, `zip`
//!   or a file-format reader, and it does not reach `snn-io` (files are read by `snn-fs`'s
//!   `FsDb`, which sits above it);
//! - `snn-runtime` (the kernels every backend shares) depends on no other crate of the workspace
//!   and on no file-format reader (zip, HDF5, safetensors);
//! - the Cranelift backend is its own crate, `snn-jit`;
//! - `snn-keras` (readers, converter, evaluator) is used by the CLI and the tests only;
//! - the language server `snn-lsp` reaches no Cranelift crate, no `snn-jit` and no `snn-keras`;
//! - training (`snn-train`) works on the compiler's IR and the runtime's kernels: it reads no
//!   file (no `snn-io`, `snn-fs`) and generates no code (no Cranelift, no `snn-jit`).
//!
//! Dependencies are followed through the workspace's crates, and each crate's declared
//! dependencies are checked; crates from crates.io are not looked into.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Workspace crate -> the names of its normal (non-dev, non-build) dependencies, as declared,
/// and the workspace's crates. `--no-deps` reads the workspace's manifests only, so the test
/// needs no network and no download of other platforms' crates.
fn graph() -> (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in meta["packages"].as_array().expect("packages") {
        let name = p["name"].as_str().expect("name").to_string();
        let normal = p["dependencies"].as_array().expect("dependencies").iter();
        let normal = normal.filter(|d| d["kind"].is_null());
        let set = deps.entry(name).or_default();
        set.extend(normal.filter_map(|d| d["name"].as_str().map(str::to_string)));
    }
    let members = deps.keys().cloned().collect();
    (deps, members)
}

/// Every crate `name` depends on: the workspace crates it reaches, and every dependency any of
/// them declares (normal dependencies).
fn closure(deps: &BTreeMap<String, BTreeSet<String>>, name: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(n) = todo.pop() {
        for d in deps.get(&n).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

/// What `snn-compiler` must not reach (prefixes of crate names): code generation, Keras and
/// HDF5 readers, archives and array-file formats, and the crates above it.
const COMPILER_FORBIDDEN: &[&str] = &[
    "cranelift",
    "hdf5",
    "zip",
    "safetensors",
    "ndarray-npy",
    "snn-io",
    "snn-fs",
    "snn-jit",
    "snn-keras",
    "snnc",
];

/// The names in `set` that start with one of the `bad` prefixes.
fn forbidden<'a>(set: &'a BTreeSet<String>, bad: &[&str]) -> Vec<&'a String> {
    set.iter().filter(|d| bad.iter().any(|b| d.starts_with(b))).collect()
}

#[test]
fn dependencies_point_one_way() {
    let (deps, members) = graph();
    for crate_ in [
        "snn-syntax",
        "snn-runtime",
        "snn-io",
        "snn-compiler",
        "snn-fs",
        "snn-jit",
        "snn-keras",
        "snn-exec",
        "snn-capi",
        "snn-aot",
        "snn-lsp",
        "snn-train",
        "snn-loihi",
    ] {
        assert!(members.contains(crate_), "{crate_} is a workspace member: {members:?}");
    }
    // Every workspace crate snn-compiler reaches (itself included), and what each declares.
    let mut reached: BTreeSet<String> = closure(&deps, "snn-compiler");
    reached.retain(|d| members.contains(d));
    assert!(reached.contains("snn-runtime"), "snn-compiler reaches snn-runtime: {reached:?}");
    reached.insert("snn-compiler".to_string());
    for crate_ in &reached {
        let bad = forbidden(&deps[crate_], COMPILER_FORBIDDEN);
        assert!(bad.is_empty(), "{crate_} (reached from snn-compiler) depends on {bad:?}");
    }
    let fs = closure(&deps, "snn-fs");
    assert!(fs.contains("snn-compiler") && fs.contains("snn-io"), "snn-fs reads files: {fs:?}");

    let runtime = closure(&deps, "snn-runtime");
    let inside: Vec<&String> = runtime.iter().filter(|d| members.contains(*d)).collect();
    assert!(inside.is_empty(), "snn-runtime depends on workspace crates {inside:?}");
    let readers = forbidden(&runtime, &["zip", "hdf5", "safetensors", "ndarray-npy", "cranelift"]);
    assert!(readers.is_empty(), "snn-runtime depends on {readers:?}");

    let jit = closure(&deps, "snn-jit");
    assert!(jit.contains("cranelift-module"), "snn-jit is the Cranelift backend");
    assert!(forbidden(&jit, &["snn-keras", "hdf5"]).is_empty(), "snn-jit reads no Keras files");

    // What a native library links: the executor and the runtime, no compiler, no code generator,
    // no file reader.
    for linked in ["snn-exec", "snn-capi"] {
        let reach = closure(&deps, linked);
        let inside: Vec<&String> = reach
            .iter()
            .filter(|d| members.contains(*d) && !["snn-runtime", "snn-exec"].contains(&d.as_str()))
            .collect();
        assert!(inside.is_empty(), "{linked} depends on workspace crates {inside:?}");
        let bad = forbidden(&reach, &["zip", "hdf5", "safetensors", "ndarray-npy", "cranelift"]);
        assert!(bad.is_empty(), "{linked} depends on {bad:?}");
    }
    let aot = closure(&deps, "snn-aot");
    assert!(aot.contains("cranelift-object") && aot.contains("snn-jit"), "snn-aot writes objects");

    let train = closure(&deps, "snn-train");
    assert!(train.contains("snn-compiler"), "snn-train trains the compiler's IR");
    let bad = forbidden(
        &train,
        &["cranelift", "snn-jit", "snn-aot", "snn-keras", "snn-io", "snn-fs", "hdf5", "zip"],
    );
    assert!(bad.is_empty(), "snn-train depends on {bad:?}");
    let lsp = closure(&deps, "snn-lsp");
    assert!(lsp.contains("snn-compiler"), "snn-lsp checks with the compiler's front-end");
    let bad = forbidden(&lsp, &["cranelift", "snn-jit", "snn-aot", "snn-keras", "hdf5"]);
    assert!(bad.is_empty(), "snn-lsp depends on {bad:?}");

    // The loihi target: the compiler's IR and the runtime's types; no code generator, no file
    // reader, no Keras (it runs programs, it does not import them).
    let loihi = closure(&deps, "snn-loihi");
    assert!(loihi.contains("snn-compiler"), "snn-loihi maps the compiler's programs");
    let bad = forbidden(
        &loihi,
        &["cranelift", "snn-jit", "snn-aot", "snn-keras", "snn-fs", "snn-io", "hdf5", "zip"],
    );
    assert!(bad.is_empty(), "snn-loihi depends on {bad:?}");

    let users: Vec<&String> =
        deps.iter().filter(|(_, d)| d.contains("snn-keras")).map(|(n, _)| n).collect();
    let allowed = ["snnc", "snn-tests"];
    let others: Vec<&&String> = users.iter().filter(|n| !allowed.contains(&n.as_str())).collect();
    assert!(others.is_empty(), "snn-keras is used by {others:?} (only the CLI and the tests)");
}
