//! Hostile command lines (issue 17): no output destroys data, no option value or input crashes
//! snnc, every refusal is a message. Each case runs the real binary; messages are snapshots
//! (with the scratch directory shown as `<dir>`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const MODEL: &str = "node x = fn t -> sin(2 * pi * t)\nensemble a = lif(n = 20, dims = 1)\nconnect x -> a\nprobe a synapse 10ms\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn snnc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("snnc runs")
}

/// Exit code and stderr, the scratch directory replaced by `<dir>`.
fn shown(dir: &Path, out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let canon = dir.canonicalize().expect("canonical").display().to_string();
    let err = err.replace(&canon, "<dir>").replace(&dir.display().to_string(), "<dir>");
    format!("exit {:?}\n{err}", out.status.code())
}

fn model(dir: &Path) -> PathBuf {
    let p = dir.join("m.snn");
    std::fs::write(&p, MODEL).expect("write model");
    p
}

#[test]
fn run_refuses_to_overwrite_its_model() {
    let dir = scratch("self");
    model(&dir);
    let out = snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "m.snn"]);
    assert_eq!(std::fs::read_to_string(dir.join("m.snn")).unwrap(), MODEL, "model untouched");
    insta::assert_snapshot!("run_output_is_model", shown(&dir, &out));
    // the same through a link
    std::os::unix::fs::symlink("m.snn", dir.join("link.npz")).unwrap();
    let out = snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "link.npz"]);
    assert_eq!(std::fs::read_to_string(dir.join("m.snn")).unwrap(), MODEL, "model untouched");
    insta::assert_snapshot!("run_output_links_to_model", shown(&dir, &out));
}

#[test]
fn run_refuses_to_overwrite_weights_inputs_and_labels() {
    let dir = scratch("inputs");
    let w = ndarray::arr2(&[[0.5]]).into_dyn();
    snn_io::write_npz(&dir.join("w.npz"), &[("w", w.view())], snn_io::Precision::F64).unwrap();
    let before = std::fs::read(dir.join("w.npz")).unwrap();
    std::fs::write(
        dir.join("m.snn"),
        "weights w = \"w.npz\"\ninput u: [1]\nnode y: [1]\nconnect u -> y transform w[\"w\"]\nprobe y\n",
    )
    .unwrap();
    let x = ndarray::arr2(&[[1.0]]).into_dyn();
    snn_io::write_npy(&dir.join("x.npy"), x.view(), snn_io::Precision::F64).unwrap();
    let x_before = std::fs::read(dir.join("x.npy")).unwrap();
    for (out, what) in [("w.npz", "weights"), ("x.npy", "input")] {
        let o = snnc(&dir, &["run", "m.snn", "--steps", "2", "--input", "x.npy", "-o", out]);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", shown(&dir, &o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to write"), "{what}");
    }
    assert_eq!(std::fs::read(dir.join("w.npz")).unwrap(), before, "weights untouched");
    assert_eq!(std::fs::read(dir.join("x.npy")).unwrap(), x_before, "input untouched");
    let o = snnc(&dir, &["run", "m.snn", "--input", "x.npy", "--labels", "x.npy", "-o", "x.npy"]);
    insta::assert_snapshot!("run_output_is_labels", shown(&dir, &o));
    assert_eq!(std::fs::read(dir.join("x.npy")).unwrap(), x_before, "labels untouched");
}

#[test]
fn outputs_write_through_links_and_into_devices_and_fifos() {
    let dir = scratch("links");
    model(&dir);
    std::os::unix::fs::symlink("target.npz", dir.join("link.npz")).unwrap();
    let out = snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "link.npz"]);
    assert!(out.status.success(), "{}", shown(&dir, &out));
    assert!(std::fs::symlink_metadata(dir.join("link.npz")).unwrap().is_symlink(), "link kept");
    assert!(snn_io::read_npz(&dir.join("target.npz")).unwrap().contains_key("a"));
    // a device: written, never replaced
    let out = snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "/dev/null"]);
    assert!(out.status.success(), "{}", shown(&dir, &out));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // a FIFO: its reader gets the whole file; the FIFO stays a FIFO
    let fifo = dir.join("fifo.npz");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "fifo.npz"]);
    assert!(out.status.success(), "{}", shown(&dir, &out));
    let bytes = reader.join().unwrap();
    assert!(
        snn_io::read_npz_bytes(Path::new("fifo"), &bytes).unwrap().contains_key("a"),
        "npz through the FIFO"
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // fmt rewrites a linked file's target and keeps the link
    std::fs::write(dir.join("ugly.snn"), "node   x:[1]\n").unwrap();
    std::os::unix::fs::symlink("ugly.snn", dir.join("pretty.snn")).unwrap();
    let out = snnc(&dir, &["fmt", "pretty.snn"]);
    assert!(out.status.success(), "{}", shown(&dir, &out));
    assert!(std::fs::symlink_metadata(dir.join("pretty.snn")).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(dir.join("ugly.snn")).unwrap(), "node x: [1]\n");
}

#[test]
fn a_directory_output_is_refused() {
    let dir = scratch("dir");
    model(&dir);
    std::fs::create_dir(dir.join("out.npz")).unwrap();
    let out = snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "out.npz"]);
    insta::assert_snapshot!("run_output_is_directory", shown(&dir, &out));
}

#[test]
fn plot_refuses_to_overwrite_its_data() {
    let dir = scratch("plot");
    model(&dir);
    assert!(snnc(&dir, &["run", "m.snn", "--steps", "5", "-o", "r.npz"]).status.success());
    std::os::unix::fs::symlink("r.npz", dir.join("r.png")).unwrap();
    let before = std::fs::read(dir.join("r.npz")).unwrap();
    let out = snnc(&dir, &["plot", "r.npz", "-o", "r.png"]);
    insta::assert_snapshot!("plot_output_links_to_data", shown(&dir, &out));
    assert_eq!(std::fs::read(dir.join("r.npz")).unwrap(), before);
}

#[test]
fn import_refuses_its_own_model_and_writes_both_or_neither() {
    let dir = scratch("import");
    let keras = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mnist/model.keras");
    std::fs::copy(&keras, dir.join("model.keras")).unwrap();
    let before = std::fs::read(dir.join("model.keras")).unwrap();
    let out = snnc(&dir, &["import", "model.keras", "-o", "model.keras"]);
    insta::assert_snapshot!("import_output_is_model", shown(&dir, &out));
    assert_eq!(std::fs::read(dir.join("model.keras")).unwrap(), before, "model untouched");
    // weights beside the output that are the model (`-o model.snn` writes model.safetensors)
    std::os::unix::fs::symlink("model.keras", dir.join("m.safetensors")).unwrap();
    let out = snnc(&dir, &["import", "model.keras", "-o", "m.snn"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&dir, &out));
    assert!(!dir.join("m.snn").exists(), "no .snn without its weights");
    assert_eq!(std::fs::read(dir.join("model.keras")).unwrap(), before, "model untouched");
    // the .snn cannot be written (its name is a directory): no orphaned weights either
    std::fs::create_dir(dir.join("d.snn")).unwrap();
    let out = snnc(&dir, &["import", "model.keras", "-o", "d.snn"]);
    assert_eq!(out.status.code(), Some(1), "{}", shown(&dir, &out));
    assert!(!dir.join("d.safetensors").exists(), "no orphaned weights");
    // and a normal import writes both
    let out = snnc(&dir, &["import", "model.keras", "-o", "ok.snn"]);
    assert!(out.status.success(), "{}", shown(&dir, &out));
    assert!(dir.join("ok.snn").exists() && dir.join("ok.safetensors").exists());
}

#[test]
fn commit_all_is_all_or_nothing() {
    use snn_io::output::{commit_all, Staged};
    use std::io::Write;
    let dir = scratch("pair");
    std::fs::write(dir.join("a.txt"), "old a").unwrap();
    std::fs::create_dir(dir.join("b.txt")).unwrap();
    // b cannot be staged (a directory): nothing happens
    assert!(Staged::new(&dir.join("a.txt")).is_ok());
    assert!(Staged::new(&dir.join("b.txt")).is_err());
    // b is staged, then replaced by a directory before the commit: a is put back
    std::fs::remove_dir(dir.join("b.txt")).unwrap();
    let mut a = Staged::new(&dir.join("a.txt")).unwrap();
    a.file().write_all(b"new a").unwrap();
    let mut b = Staged::new(&dir.join("b.txt")).unwrap();
    b.file().write_all(b"new b").unwrap();
    std::fs::create_dir(dir.join("b.txt")).unwrap();
    std::fs::write(dir.join("b.txt").join("keep"), "x").unwrap();
    assert!(commit_all(vec![a, b]).is_err());
    assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "old a", "a restored");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "no temporary files left: {left:?}");
}

#[test]
fn numeric_options_are_validated() {
    let dir = scratch("numbers");
    model(&dir);
    let mut all = String::new();
    for args in [
        &["--time=inf"][..],
        &["--time=-1"],
        &["--time=nan"],
        &["--time=1e300"],
        &["--steps=100000000000000"],
        &["--steps=1000000000000", "--max-memory=16G"],
        &["--threads=100000"],
        &["--dt=0"],
        &["--dt=-inf"],
        &["--steps=5", "--max-memory=12"],
        &["--steps=5", "--max-memory=1X"],
    ] {
        let mut a = vec!["run", "m.snn", "-o", "o.npz"];
        a.extend_from_slice(args);
        let out = snnc(&dir, &a);
        assert!(!dir.join("o.npz").exists(), "{args:?} wrote an output");
        all.push_str(&format!("$ snnc run m.snn {}\n{}\n", args.join(" "), shown(&dir, &out)));
    }
    insta::assert_snapshot!("numeric_options", all);
    // --time rounds half to even, as Nengo's np.round: 2.5 steps -> 2
    let out = snnc(&dir, &["run", "m.snn", "--time", "0.0025", "-o", "o.npz"]);
    assert!(out.status.success(), "{}", shown(&dir, &out));
    let a = &snn_io::read_npz(&dir.join("o.npz")).unwrap()["a"];
    assert_eq!(a.shape()[1], 2);
}

#[test]
fn a_closed_stdout_or_stderr_ends_quietly() {
    let dir = scratch("pipe");
    // a model whose IR is long enough to fill a pipe
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&format!("ensemble e{i} = lif(n = 5, dims = 1)\nprobe e{i}\n"));
    }
    std::fs::write(dir.join("big.snn"), text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["ir", "big.snn"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as `| head` does
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // stderr closed: the error still gives exit 1 and no panic
    let cmd = format!("exec '{}' check absent.snn 2>&-", env!("CARGO_BIN_EXE_snnc"));
    let out = Command::new("sh").args(["-c", &cmd]).current_dir(&dir).status().unwrap();
    assert_eq!(out.code(), Some(1));
}
