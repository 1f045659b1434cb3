//! Builds snn-capi (the executor behind a C ABI) as a static library and leaves it in OUT_DIR,
//! where `src/runtime.rs` embeds it: `snnc build` links it into every native library, so snnc
//! needs no Rust toolchain at run time. It is a separate cargo invocation (its own target
//! directory, release profile without debug info) because cargo cannot depend on a crate's
//! static library.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../..");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    for dir in ["runtime/src", "runtime/exec/src", "runtime/capi/src"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    for file in
        ["Cargo.lock", "runtime/Cargo.toml", "runtime/exec/Cargo.toml", "runtime/capi/Cargo.toml"]
    {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = out.join("capi-target");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--locked", "-p", "snn-capi", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS");
    let status = cmd.status().expect("runs cargo for snn-capi");
    assert!(status.success(), "building snn-capi failed");
    let lib = target_dir.join("release/libsnn_capi.a");
    let dst = out.join("libsnn_capi.a");
    std::fs::copy(&lib, &dst).expect("copies libsnn_capi.a");
    strip_debug(&dst);
}

/// Drops the debug sections (std's) from the archive when `strip` is there: a third the size.
fn strip_debug(lib: &Path) {
    let _ = Command::new("strip").arg("--strip-debug").arg(lib).status();
}
