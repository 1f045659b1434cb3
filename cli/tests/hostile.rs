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

/// Each command line of `cases` fails (exit 1) with a message containing its text, and none
/// of `never` is written.
fn refused(dir: &Path, cases: &[(Vec<&str>, &str)], never: &[&str]) {
    for (args, says) in cases {
        let o = snnc(dir, args);
        let err = shown(dir, &o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        for f in never {
            assert!(!dir.join(f).exists(), "{args:?} wrote {f}");
        }
    }
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
fn dash_is_not_a_file_name() {
    let dir = scratch("dash");
    let m = model(&dir);
    let m = m.to_str().unwrap_or_default();
    for args in [
        vec!["run", m, "--steps", "2", "-o", "-"],
        vec!["train", m, "--data", "d.npz", "--loss", "a=mse", "-o", "-"],
    ] {
        let out = snnc(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", shown(&dir, &out));
        let said = shown(&dir, &out);
        assert!(said.contains("not standard output") || said.contains(".snn file"), "{said}");
        assert!(!dir.join("-").exists(), "{args:?} wrote a file named -");
    }
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
    // an output that is not a .snn file (nothing could load it as a model), or `-`
    for (bad, why) in [("x.txt", "must be a .snn file"), ("-", "not standard output")] {
        let out = snnc(&dir, &["import", "model.keras", "-o", bad]);
        assert_eq!(out.status.code(), Some(1), "{}", shown(&dir, &out));
        assert!(shown(&dir, &out).contains(why), "{}", shown(&dir, &out));
        assert!(!dir.join(bad).exists(), "nothing written as {bad}");
    }
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

/// `check`, `fmt --check` and `run` on `text`: (exit code, stderr) of each.
fn all_commands(dir: &Path, name: &str, text: &str) -> Vec<(Option<i32>, String)> {
    std::fs::write(dir.join(name), text).expect("write the model");
    [&["check", name][..], &["fmt", "--check", name], &["run", name, "--steps", "2", "-o", "o.npz"]]
        .iter()
        .map(|a| {
            let o = snnc(dir, a);
            (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
        })
        .collect()
}

#[test]
fn deep_and_long_expressions_are_located_errors_not_crashes() {
    let dir = scratch("deep");
    let n = 100_000;
    let cases = [
        ("parens", format!("let k = {}1{}\nnode x = [k]\n", "(".repeat(n), ")".repeat(n))),
        ("brackets", format!("node x = {}1{}\n", "[".repeat(n), "]".repeat(n))),
        ("sum", format!("node x = fn t -> {}\nprobe x\n", vec!["t"; n].join(" + "))),
        ("signs", format!("let k = {}1\nnode x = [k]\n", "-".repeat(n))),
        ("indices", format!("let k = [1]{}\nnode x = [k]\n", "[0]".repeat(n))),
    ];
    let mut shown = String::new();
    for (name, text) in &cases {
        let file = format!("{name}.snn");
        for (code, err) in all_commands(&dir, &file, text) {
            assert_eq!(code, Some(1), "{name}: {err}");
            assert!(err.contains("E0801"), "{name}: {err}");
            assert!(!err.contains("overflow") && !err.contains("panick"), "{name}: {err}");
        }
        let o = snnc(&dir, &["check", &file]);
        let err = String::from_utf8_lossy(&o.stderr);
        shown.push_str(&format!(
            "== {name}\n{}\n",
            err.lines().take(4).collect::<Vec<_>>().join("\n")
        ));
    }
    insta::assert_snapshot!("deep_expressions", shown);
    // below the limits, the same shapes are fine: 200 brackets, a 900-term sum
    let ok = format!(
        "let k = {}1{}\nnode x = fn t -> {}\nprobe x\n",
        "(".repeat(200),
        ")".repeat(200),
        vec!["t"; 900].join(" + ")
    );
    for (code, err) in all_commands(&dir, "ok.snn", &ok) {
        assert_eq!(code, Some(0), "{err}");
    }
}

#[test]
fn a_long_chain_of_networks_is_a_depth_limit_not_recursion() {
    let dir = scratch("chain");
    let mut text = String::new();
    for i in 0..200 {
        let inner = if i < 199 { format!("\n    network c = n{}()", i + 1) } else { String::new() };
        text.push_str(&format!("network n{i}() {{\n    node x: [1]{inner}\n}}\n"));
    }
    text.push_str("network top = n0()\n");
    std::fs::write(dir.join("chain.snn"), text).unwrap();
    let o = snnc(&dir, &["check", "chain.snn"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(!err.contains("instantiates itself"), "{err}");
    assert_eq!(err.matches("E0801").count(), 1, "one error, not one per level: {err}");
    // 60 levels are fine
    let mut text = String::new();
    for i in 0..60 {
        let inner = if i < 59 { format!("\n    network c = n{}()", i + 1) } else { String::new() };
        text.push_str(&format!("network n{i}() {{\n    node x: [1]{inner}\n}}\n"));
    }
    text.push_str("network top = n0()\n");
    std::fs::write(dir.join("ok.snn"), text).unwrap();
    let o = snnc(&dir, &["check", "ok.snn"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_model_too_large_for_memory_is_an_error_at_check_time() {
    let dir = scratch("budget");
    std::fs::write(dir.join("big.snn"), "ensemble a = lif(n = 10000000000, dims = 1)\nprobe a\n")
        .unwrap();
    let mut all = String::new();
    for args in [
        &["check", "big.snn", "--max-memory", "64G"][..],
        &["run", "big.snn", "--steps", "2", "-o", "o.npz", "--max-memory", "64G"],
        &["ir", "big.snn"],
        &["build", "big.snn", "-o", "lib"],
    ] {
        let o = snnc(&dir, args);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("E0801"), "{err}");
        if args.contains(&"64G") {
            all.push_str(&format!("$ snnc {}\n{err}\n", args.join(" ")));
        }
    }
    insta::assert_snapshot!("model_memory", all);
    assert!(!dir.join("o.npz").exists() && !dir.join("lib").exists());
    // a small limit refuses a small model too; the default lets it through
    model(&dir);
    let o = snnc(&dir, &["check", "m.snn", "--max-memory", "1K"]);
    assert_eq!(o.status.code(), Some(1), "{}", shown(&dir, &o));
    assert!(snnc(&dir, &["check", "m.snn"]).status.success());
}

#[test]
fn many_errors_are_capped_with_a_closing_count() {
    let dir = scratch("many");
    let text: String = (0..20_000).map(|_| "node a: [1]\n").collect();
    std::fs::write(dir.join("dups.snn"), text).unwrap();
    let o = snnc(&dir, &["check", "dups.snn"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err.matches("E0102").count(), 100, "capped at 100");
    let tail: Vec<&str> = err.lines().rev().take(2).collect();
    insta::assert_snapshot!("many_errors_tail", tail.join("\n"));
    let o = snnc(&dir, &["check", "dups.snn", "--error-limit", "3"]);
    assert_eq!(String::from_utf8_lossy(&o.stderr).matches("E0102").count(), 3);
}

#[test]
fn bom_invalid_utf8_and_nul_bytes() {
    let dir = scratch("bytes");
    std::fs::write(dir.join("bom.snn"), format!("\u{feff}{MODEL}")).unwrap();
    assert!(snnc(&dir, &["check", "bom.snn"]).status.success());
    let mut all = String::new();
    for (name, bytes) in [
        ("latin1.snn", b"node a: [1]\n// caf\xe9\n".to_vec()),
        ("nul.snn", b"node a: [1]\nnode b\x00: [1]\n".to_vec()),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
        let o = snnc(&dir, &["check", name]);
        all.push_str(&shown(&dir, &o));
    }
    insta::assert_snapshot!("bad_bytes", all);
}

#[test]
fn a_very_long_line_is_excerpted() {
    let dir = scratch("longline");
    let text = format!("let k = [{}, nope]\n", vec!["1"; 5000].join(", "));
    std::fs::write(dir.join("long.snn"), text).unwrap();
    let o = snnc(&dir, &["check", "long.snn"]);
    let out = shown(&dir, &o);
    assert!(out.len() < 2000, "{} bytes of diagnostics", out.len());
    insta::assert_snapshot!("long_line", out);
}

/// The loihi target's codes are explained too, each example producing its code under
/// `snnc check --target loihi`.
#[test]
fn every_loihi_code_has_an_explanation_whose_example_produces_it() {
    let codes: Vec<&str> = snn_loihi::codes::ALL.iter().map(|(c, _)| *c).collect();
    let explained: Vec<&str> = snnc::explain::LOIHI_EXPLANATIONS.iter().map(|e| e.code).collect();
    assert_eq!(explained, codes, "one explanation per loihi code, in order");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/loihi/diagnostics");
    for e in snnc::explain::LOIHI_EXPLANATIONS {
        assert!(e.text.len() > 60, "{}: explanation too short", e.code);
        let mut db = snn_fs::FsDb::new();
        let root = db.add(e.example_name, Some(corpus.join(e.example_name)), e.example.to_string());
        let checked = snn_compiler::check(&mut db, root);
        assert!(!checked.has_errors(), "{}: {:?}", e.code, checked.diagnostics);
        let program =
            snn_compiler::lower_model_with(&checked.model, 0.001, &snn_loihi::BUILD_OPTIONS)
                .expect("lowers");
        let diags = snn_loihi::check(&program);
        assert!(
            diags.iter().any(|d| d.code == e.code),
            "{}: its example gives {:?}",
            e.code,
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        );
        let text = snnc::explain::explain(e.code).unwrap();
        assert!(text.starts_with(&format!("{}: ", e.code)) && text.len() > 200, "{text}");
    }
}

#[test]
fn every_error_code_has_an_explanation_whose_example_produces_it() {
    use snn_compiler::SourceDb;
    let codes: Vec<&str> = snn_syntax::codes::ALL.iter().map(|(c, _)| *c).collect();
    let explained: Vec<&str> = snnc::explain::EXPLANATIONS.iter().map(|e| e.code).collect();
    assert_eq!(explained, codes, "one explanation per code, in order");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/diagnostics");
    for e in snnc::explain::EXPLANATIONS {
        assert!(e.text.len() > 60, "{}: explanation too short", e.code);
        let mut db = snn_fs::FsDb::new();
        let path = corpus.join(e.example_name);
        let root = db.add(e.example_name, Some(path), e.example.to_string());
        let checked = snn_compiler::check(&mut db, root);
        let mut diags = checked.diagnostics.clone();
        if !checked.has_errors() {
            diags.extend(snn_compiler::budget::check(&checked.model, 16 << 30));
            if diags.is_empty() {
                if let Err(d) = snn_compiler::lower_model(&checked.model, 0.001) {
                    diags.extend(d);
                }
            }
        }
        assert!(
            diags.iter().any(|d| d.code == e.code),
            "{}: its example gives {:?}",
            e.code,
            diags.iter().map(|d| d.code).collect::<Vec<_>>()
        );
        let _ = db.text(root);
    }
    let dir = scratch("explain");
    let o = snnc(&dir, &["explain", "E0102"]);
    assert!(o.status.success());
    insta::assert_snapshot!("explain_e0102", String::from_utf8_lossy(&o.stdout));
    let o = snnc(&dir, &["explain", "E9999"]);
    assert_eq!(o.status.code(), Some(1));
}

/// `snnc check` on `text` written to `name` in `dir`: exit code and stderr.
fn check_text(dir: &Path, name: &str, text: &str) -> Output {
    std::fs::write(dir.join(name), text).expect("write the model");
    snnc(dir, &["check", name])
}

#[test]
fn follow_on_errors_are_not_reported() {
    let dir = scratch("followon");
    // `k` fails to evaluate: only `foo` is reported, not every use of `k` (shapes, arguments,
    // functions, transforms, synapses, slices, sampling) nor of what `k` made fail
    let text = "let k = foo + 1\nlet m = [k, k]\nensemble a = lif(n = k, dims = 2)\n\
                ensemble b = lif(n = 10, dims = m[0])\nnode c: [k]\nnode d = fn t -> [k, t]\n\
                connect a -> b transform k\nconnect c -> b\nconnect d -> b synapse k\n\
                connect a[k] -> b[0]\nprobe a sample_every k\nprobe d\nprobe c\n";
    let o = check_text(&dir, "let.snn", text);
    let err = shown(&dir, &o);
    assert_eq!(err.matches("E0").count(), 1, "{err}");
    insta::assert_snapshot!("follow_on_let", err);
    // an instance whose arguments are wrong: its members are not reported missing
    let text = "network osc(tau: time = 100ms) {\n    ensemble a = lif(n = 10, dims = 1)\n    \
                connect a -> a synapse tau\n}\nnetwork o1 = osc(tau = \"slow\")\nprobe o1.a\n\
                connect o1.a -> o1.a\n";
    let o = check_text(&dir, "inst.snn", text);
    let err = shown(&dir, &o);
    assert_eq!(err.matches("E0").count(), 1, "{err}");
    assert!(err.contains("E0201"), "{err}");
    // a real typo beside a failed let is still reported
    let o = check_text(&dir, "both.snn", "let k = foo\nnode c: [1]\nprobe cc\n");
    let err = shown(&dir, &o);
    assert!(err.contains("`foo`") && err.contains("`cc`"), "{err}");
}

#[test]
fn wrong_diagnoses_are_fixed() {
    let dir = scratch("diagnoses");
    let mut all = String::new();
    for (name, text) in [
        // a dimension too large says the limit, not "not a positive whole number"
        ("dim.snn", "node b: [100000000000]\n"),
        ("count.snn", "ensemble a = lif(n = 10000000000000, dims = 1)\n"),
        // the help suggests a slice that exists: the source has 3 elements, the target 1
        ("slice_pre.snn", "node x: [3]\nnode y: [1]\nconnect x -> y\n"),
        ("slice_post.snn", "node x: [2]\nnetwork s = sub()\nconnect x -> s.out\nnetwork sub() {\n    node out: [5]\n}\n"),
        // keywords cannot name values (with the reason), but can name objects and aliases
        ("keyword.snn", "let node = 3\n"),
        // shadowing a constant warns (and the model still checks)
        ("shadow.snn", "let pi = 3\nnode y = fn t -> sin(2 * pi * t)\nprobe y\n"),
    ] {
        let o = check_text(&dir, name, text);
        all.push_str(&format!("== {name}\n{}\n", shown(&dir, &o)));
    }
    insta::assert_snapshot!("wrong_diagnoses", all);
    let o = check_text(
        &dir,
        "kwobj.snn",
        "node input: [1]\nensemble probe = lif(n = 5, dims = 1)\nalias for = probe\n\
         connect input -> for\nprobe node = probe\n",
    );
    assert!(o.status.success(), "{}", shown(&dir, &o));
    assert!(check_text(&dir, "shadow.snn", "let e = 2\nnode y: [1]\n").status.success());
}

/// A `.npy` with dtype `descr` and the given little-endian data bytes, shape (1, n).
fn npy_bytes(descr: &str, n: usize, data: &[u8]) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1, {n}), }}");
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header);
    out.extend(data);
    out
}

#[test]
fn dtype_messages_name_what_the_format_reads() {
    let dir = scratch("dtype");
    std::fs::write(
        dir.join("m.snn"),
        "input u: [2]\nnode y: [2]\nconnect u -> y synapse none\nprobe y\n",
    )
    .unwrap();
    // float16 .npy is read (1.5 and -2 as half floats)
    let half: Vec<u8> = [0x3e00u16, 0xc000].iter().flat_map(|h| h.to_le_bytes()).collect();
    std::fs::write(dir.join("h.npy"), npy_bytes("<f2", 2, &half)).unwrap();
    let o = snnc(&dir, &["run", "m.snn", "--steps", "1", "--input", "h.npy", "-o", "o.npz"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    let y = &snn_io::read_npz(&dir.join("o.npz")).unwrap()["y"];
    assert_eq!(y.iter().copied().collect::<Vec<_>>(), vec![1.5, -2.0]);
    // complex is not read, and the message lists what this format reads (no contradiction)
    std::fs::write(dir.join("c.npy"), npy_bytes("<c16", 2, &[0; 32])).unwrap();
    let o = snnc(&dir, &["run", "m.snn", "--steps", "1", "--input", "c.npy", "-o", "o2.npz"]);
    insta::assert_snapshot!("dtype_complex", shown(&dir, &o));
}

#[test]
fn a_channel_axis_of_one_may_be_added_or_left_out() {
    let dir = scratch("channel");
    let img = ndarray::Array::from_shape_fn((2, 3, 2), |(b, i, j)| (b * 6 + i * 2 + j) as f64);
    let with = img.clone().into_shape_with_order((2, 3, 2, 1)).unwrap();
    let bad = ndarray::Array::<f64, _>::zeros((2, 3, 3));
    for (name, a) in [("plain", img.view().into_dyn()), ("chan", with.view().into_dyn())]
        .into_iter()
        .chain([("bad", bad.view().into_dyn())])
    {
        let path = dir.join(format!("{name}.npy"));
        snn_io::write_npy(&path, a, snn_io::Precision::F64).unwrap();
    }
    for decl in ["[3, 2]", "[3, 2, 1]"] {
        let text =
            format!("input u: {decl}\nnode y: {decl}\nconnect u -> y synapse none\nprobe y\n");
        std::fs::write(dir.join("m.snn"), text).unwrap();
        for file in ["plain.npy", "chan.npy"] {
            let o = snnc(&dir, &["run", "m.snn", "--steps", "1", "--input", file, "-o", "o.npz"]);
            assert!(o.status.success(), "{decl} {file}: {}", shown(&dir, &o));
            let y = &snn_io::read_npz(&dir.join("o.npz")).unwrap()["y"];
            assert_eq!(
                y.iter().copied().collect::<Vec<_>>(),
                img.iter().copied().collect::<Vec<_>>()
            );
        }
    }
    // another shape is still refused
    let o = snnc(&dir, &["run", "m.snn", "--steps", "1", "--input", "bad.npy", "-o", "o.npz"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(shown(&dir, &o).contains("has shape [2, 3, 3]"), "{}", shown(&dir, &o));
}

fn keras_case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/keras").join(name).join("model.h5")
}

#[test]
fn import_swap_to_an_unknown_type_and_verify_of_a_spiking_model() {
    let dir = scratch("swap");
    let model = keras_case("activation_layers");
    let m = model.to_str().unwrap();
    let o = snnc(&dir, &["import", m, "--swap", "relu=lif_ratee", "-o", "s.snn"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("s.snn").exists() && !dir.join("s.safetensors").exists());
    insta::assert_snapshot!("swap_unknown", shown(&dir, &o).replace(m, "<model>"));
    // a spiking import verifies in rate mode, and says so
    let o = snnc(&dir, &["import", m, "--swap", "relu=spiking_relu", "-o", "s.snn"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    let o = snnc(&dir, &["verify", m, "--snn", "s.snn"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("rate mode") && err.contains("SpikingRectifiedLinear"), "{err}");
}

#[test]
fn options_take_units_and_time_rounds_as_nengo() {
    let dir = scratch("units");
    model(&dir);
    let run = |args: &[&str], out: &str| {
        let mut a = vec!["run", "m.snn", "-o", out];
        a.extend_from_slice(args);
        let o = snnc(&dir, &a);
        assert!(o.status.success(), "{args:?}: {}", shown(&dir, &o));
        std::fs::read(dir.join(out)).unwrap()
    };
    assert_eq!(run(&["--time", "50ms"], "a.npz"), run(&["--steps", "50"], "b.npz"));
    assert_eq!(run(&["--time", "0.05s"], "c.npz"), run(&["--steps", "50"], "d.npz"));
    assert_eq!(
        run(&["--time", "5ms", "--dt", "0.5ms"], "e.npz"),
        run(&["--steps", "10", "--dt", "0.0005"], "f.npz")
    );
    // Nengo: steps = int(np.round(t / dt)), halves to even (numpy 1.x, nengo 3.2)
    for (t, steps) in [("0.0025", 2), ("0.0035", 4), ("0.0105", 10), ("0.0015", 2), ("0.0005", 0)] {
        let bytes = run(&["--time", t], "t.npz");
        let a = &snn_io::read_npz_bytes(Path::new("t.npz"), &bytes).unwrap()["a"];
        assert_eq!(a.shape()[1], steps, "--time {t}");
    }
    let o = snnc(&dir, &["run", "m.snn", "--time", "5parsecs", "-o", "x.npz"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("units are s, ms, us and min"));
    // import's --synapse takes units too
    let m = keras_case("dense_seq");
    let m = m.to_str().unwrap();
    for (syn, out) in [("5ms", "u.snn"), ("0.005", "v.snn")] {
        let o = snnc(&dir, &["import", m, "--synapse", syn, "-o", out]);
        assert!(o.status.success(), "{}", shown(&dir, &o));
    }
    let u = std::fs::read_to_string(dir.join("u.snn")).unwrap();
    assert_eq!(
        u.replace("u.safetensors", "v.safetensors"),
        std::fs::read_to_string(dir.join("v.snn")).unwrap()
    );
}

#[test]
fn bare_numbers_are_si_for_network_parameters() {
    let dir = scratch("si");
    let net = "network osc(tau: time = 100ms, f: freq = 5Hz) {\n    ensemble a = lif(n = 10, dims = 1)\n    \
               connect a -> a synapse tau\n    node s = fn t -> sin(2 * pi * f * t)\n    connect s -> a\n    \
               probe a\n}\n";
    std::fs::write(dir.join("bare.snn"), format!("{net}network o = osc(tau = 0.05, f = 2)\n"))
        .unwrap();
    std::fs::write(dir.join("units.snn"), format!("{net}network o = osc(tau = 50ms, f = 2Hz)\n"))
        .unwrap();
    let mut outs = Vec::new();
    for f in ["bare.snn", "units.snn"] {
        let out = f.replace(".snn", ".npz");
        let o = snnc(&dir, &["run", f, "--steps", "50", "-o", &out]);
        assert!(o.status.success(), "{f}: {}", shown(&dir, &o));
        outs.push(std::fs::read(dir.join(out)).unwrap());
    }
    assert_eq!(outs[0], outs[1], "0.05 is 50 ms and 2 is 2 Hz");
    // a string is still not a time
    let o = check_text(&dir, "bad.snn", &format!("{net}network o = osc(tau = \"x\")\n"));
    assert_eq!(o.status.code(), Some(1));
}

/// `network NAME(…) { … }` blocks of docs/LANGUAGE.md that define a stdlib network are that
/// network, character for character (comments and blank lines aside).
#[test]
fn language_md_examples_match_the_stdlib() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/LANGUAGE.md")).unwrap();
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| l.split("//").next().unwrap_or("").trim_end().to_string())
            .filter(|l| !l.trim().is_empty())
            .collect()
    };
    let mut compared = 0;
    for block in doc.split("```snn\n").skip(1).filter_map(|b| b.split("```").next()) {
        let Some(rest) = block.strip_prefix("network ") else { continue };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Ok(lib) = std::fs::read_to_string(root.join(format!("stdlib/{name}.snn"))) else {
            continue;
        };
        let lib = &lib[lib.find("network ").unwrap()..];
        assert_eq!(strip(block), strip(lib), "LANGUAGE.md's `{name}` is not stdlib/{name}.snn");
        compared += 1;
    }
    assert!(compared >= 1, "no stdlib network in LANGUAGE.md");
    // and every snn block of the page parses
    for block in doc.split("```snn\n").skip(1).filter_map(|b| b.split("```").next()) {
        let p = snn_syntax::parse(snn_syntax::FileId(0), block);
        assert!(p.errors.is_empty(), "{block}\n{:?}", p.errors);
    }
}

#[test]
fn probes_beyond_the_memory_limit_stream_to_the_same_file() {
    let dir = scratch("stream");
    std::fs::write(
        dir.join("m.snn"),
        "input u: [2]\nnode x = fn t -> sin(2 * pi * t)\nensemble a = lif(n = 40, dims = 1)\n\
         connect x -> a\nnode y: [2]\nconnect u -> y\nprobe a.neurons\nprobe a synapse 10ms \
         sample_every 7ms\nprobe y\n",
    )
    .unwrap();
    let u =
        ndarray::Array3::from_shape_fn((3, 20_000, 2), |(b, k, i)| (b * 7 + k + i) as f64 * 0.25)
            .into_dyn();
    snn_io::write_npy(&dir.join("u.npy"), u.view(), snn_io::Precision::F64).unwrap();
    // 3 x 20,000 x (40 + 2) x 8 bytes = 20 MB of probes; 4 MiB allowed streams them
    for dtype in ["float64", "float32"] {
        let base = ["run", "m.snn", "--steps", "20000", "--input", "u.npy", "--dtype", dtype];
        let whole = snnc(&dir, &[&base[..], &["-o", "whole.npz"]].concat());
        assert!(whole.status.success(), "{}", shown(&dir, &whole));
        let streamed =
            snnc(&dir, &[&base[..], &["-o", "streamed.npz", "--max-memory", "4M", "-v"]].concat());
        let err = shown(&dir, &streamed);
        assert!(streamed.status.success(), "{err}");
        assert!(err.contains("probes stream to"), "{err}");
        let (a, b) = (
            std::fs::read(dir.join("whole.npz")).unwrap(),
            std::fs::read(dir.join("streamed.npz")).unwrap(),
        );
        assert!(a.len() > 4 << 20);
        assert!(a == b, "{dtype}: the streamed file differs");
        // the interpreter and the loihi target (its chip between two host parts) stream too,
        // through the same run loop: each streamed file is its whole run's, byte for byte
        for backend in ["interp", "loihi"] {
            let other = [&base[..], &["--backend", backend]].concat();
            let whole = snnc(&dir, &[&other[..], &["-o", "ow.npz"]].concat());
            assert!(whole.status.success(), "{}", shown(&dir, &whole));
            let streamed =
                snnc(&dir, &[&other[..], &["-o", "os.npz", "--max-memory", "4M", "-v"]].concat());
            let err = shown(&dir, &streamed);
            assert!(streamed.status.success(), "{err}");
            assert!(err.contains("probes stream to"), "{err}");
            let (a, b) = (
                std::fs::read(dir.join("ow.npz")).unwrap(),
                std::fs::read(dir.join("os.npz")).unwrap(),
            );
            assert!(a.len() > 4 << 20);
            assert!(a == b, "{dtype}: the {backend} backend's streamed file differs");
        }
    }
}

#[test]
fn plot_draws_sample_times_spike_rasters_and_legends() {
    let dir = scratch("plottruth");
    std::fs::write(
        dir.join("m.snn"),
        "node x = fn t -> sin(2 * pi * 5 * t)\nensemble a = lif(n = 8, dims = 1)\nconnect x -> a\n\
         probe a.neurons\nprobe slow = a synapse 10ms sample_every 10ms\nprobe x\n",
    )
    .unwrap();
    let o = snnc(&dir, &["run", "m.snn", "--steps", "200", "--dt", "0.5ms", "-o", "r.npz"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    let meta = snnc::plot::read_sampling(&snn_io::read_npz_comment(&dir.join("r.npz")).unwrap());
    let s = meta["slow"];
    assert_eq!((s.dt, s.every, s.spikes), (0.0005, 20, false));
    assert!(meta["a.neurons"].spikes && !meta["x"].spikes);
    // Nengo's trange(sample_every=0.01) at dt 0.5 ms: 0.01, 0.02, ... 0.1
    let data = snn_io::read_npz(&dir.join("r.npz")).unwrap();
    assert_eq!(data["slow"].shape()[1], 10);
    assert!((snnc::plot::sample_time(9, s) - 0.1).abs() < 1e-12);
    assert!((snnc::plot::sample_time(0, s) - 0.01).abs() < 1e-12);
    let o = snnc(&dir, &["plot", "r.npz", "-o", "r.svg"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    let svg = std::fs::read_to_string(dir.join("r.svg")).unwrap();
    assert!(svg.contains("a.neurons spikes (batch 0)"), "spike probes are rasters");
    assert!(svg.contains("[0]"), "lines have legends");
    // an --dt that contradicts the file is an error, not a wrong time axis
    let o = snnc(&dir, &["plot", "r.npz", "--dt", "1ms", "-o", "s.svg"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!dir.join("s.svg").exists());
}

/// A new user's mix-ups (issue 17's trial from a clean clone): an `.npz` given where an `.npy`
/// goes and the other way round, truncated and empty files, an output in a directory that does
/// not exist (refused before the run, naming no temporary file), a model without probes
/// (a warning), `snnc lsp` without an editor. Every failure exits 1 with a message naming the
/// file as given.
#[test]
fn mixed_up_truncated_and_missing_files() {
    let dir = scratch("mixups");
    std::fs::write(dir.join("m.snn"), "input u: [1]\nnode y: [1]\nconnect u -> y\nprobe y\n")
        .unwrap();
    std::fs::write(dir.join("none.snn"), "input u: [1]\n").unwrap();
    let x = ndarray::arr2(&[[1.0]]).into_dyn();
    snn_io::write_npy(&dir.join("x.npy"), x.view(), snn_io::Precision::F64).unwrap();
    snn_io::write_npz(&dir.join("x.npz"), &[("u", x.view())], snn_io::Precision::F64).unwrap();
    let npz = std::fs::read(dir.join("x.npz")).unwrap();
    std::fs::write(dir.join("cut.npz"), &npz[..npz.len() / 2]).unwrap();
    std::fs::write(dir.join("empty.npy"), b"").unwrap();
    let mut all = String::new();
    for args in [
        &["run", "m.snn", "--input", "x.npz", "-o", "o.npz"][..],
        &["run", "m.snn", "--input", "empty.npy", "-o", "o.npz"],
        &["run", "m.snn", "--input", "x.npy", "-o", "no/such/dir/o.npz"],
        &["run", "none.snn", "--input", "x.npy", "-o", "none.npz"],
        &["run", "m.snn", "--input", "x.npy", "-o", "o.npz"],
        &["plot", "x.npy", "-o", "p.svg"],
        &["plot", "cut.npz", "-o", "p.svg"],
        &["plot", "o.npz", "-o", "no/such/dir/p.svg"],
        // the language server with no client (standard input empty)
        &["lsp"],
    ] {
        let o = snnc(&dir, args);
        all.push_str(&format!("$ snnc {}\n{}\n", args.join(" "), shown(&dir, &o)));
    }
    assert!(!all.contains(".snn-tmp"), "{all}");
    assert!(!dir.join("no").exists());
    insta::assert_snapshot!("mixed_up_files", all);
}

/// `verify` keeps the memory budget `run` and `check` keep (`--max-memory`, default the
/// machine's memory), and its diagnostics name the model the user gave, never the scratch copy
/// of the conversion.
#[test]
fn verify_refuses_a_network_beyond_its_memory_budget() {
    let dir = scratch("verifybudget");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(root.join("examples/mnist/model.h5"), dir.join("model.h5")).unwrap();
    let o = snnc(&dir, &["verify", "model.h5", "--max-memory", "100K"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("E0801 model.h5 (converted):9:"), "{err}");
    assert!(err.contains("more than the 100.0 KiB allowed"), "{err}");
    assert!(!err.contains("snnc-verify"), "{err}");
    let o = snnc(&dir, &["verify", "model.h5", "--max-memory", "1G"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
}

/// `run --labels` reads and checks its labels (the file, the probe they score, one per batch
/// element) before the run: a mistake in them is an error with nothing written.
#[test]
fn run_checks_labels_before_writing_anything() {
    let dir = scratch("labels");
    std::fs::write(dir.join("m.snn"), "input x: [3]\nnode y: [3]\nconnect x -> y\nprobe y\n")
        .unwrap();
    let x = ndarray::Array2::from_shape_fn((4, 3), |(b, i)| (b + i) as f64).into_dyn();
    snn_io::write_npy(&dir.join("x.npy"), x.view(), snn_io::Precision::F64).unwrap();
    let labels = |name: &str, v: &[f64]| {
        let a = ndarray::Array1::from(v.to_vec()).into_dyn();
        snn_io::write_npy(&dir.join(name), a.view(), snn_io::Precision::F64).unwrap();
    };
    labels("three.npy", &[0.0, 1.0, 2.0]);
    labels("class9.npy", &[0.0, 1.0, 2.0, 9.0]);
    labels("good.npy", &[2.0, 2.0, 2.0, 2.0]);
    for (arg, says) in [
        ("missing.npy", "missing.npy: cannot read file"),
        ("three.npy", "the labels have 3 entries but the batch has 4 element(s)"),
        ("class9.npy", "label 3 is class 9 but probe `y` has only 3 output(s)"),
        ("nope=good.npy", "the model has no probe `nope`"),
    ] {
        let o = snnc(&dir, &["run", "m.snn", "--input", "x.npy", "--steps", "2", "--labels", arg]);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(1), "{arg}: {err}");
        assert!(err.contains(says), "{arg}: {err}");
        assert!(!dir.join("out.npz").exists(), "{arg}: out.npz written in spite of the error");
    }
    let o =
        snnc(&dir, &["run", "m.snn", "--input", "x.npy", "--steps", "2", "--labels", "good.npy"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("100.00% (4/4)"));
}

/// A closed stdout (a pipe its reader left, `>&-`) ends the command quietly with status 0; a
/// stdout that cannot be written (a full disk) is an error, status 1, since the output asked for
/// is lost.
#[test]
fn a_full_stdout_is_an_error() {
    let dir = scratch("devfull");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["explain", "E0101"])
        .current_dir(&dir)
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error: cannot write to standard output"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["explain", "E0101"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success());
}

/// `import` checks the `.snn` it converted before writing anything: options that break it
/// (`--swap` to a type that needs a base type, a keyword as `--network` name) are errors with
/// nothing written; `verify` refuses tolerances that would make it pass anything (NaN, inf,
/// negative).
#[test]
fn import_and_verify_refuse_options_that_break_them() {
    let dir = scratch("importopts");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(root.join("examples/mnist/model.h5"), dir.join("model.h5")).unwrap();
    let import = ["import", "model.h5", "-o", "m.snn"];
    let cases = vec![
        ([&import[..], &["--network", "for"]].concat(), "--network for: not a .snn name"),
        (
            [&import[..], &["--swap", "relu=poisson_spiking"]].concat(),
            "the converted network does not check",
        ),
    ];
    refused(&dir, &cases, &["m.snn", "m.safetensors"]);
    for tol in ["--atol=nan", "--rtol=1e400", "--atol=-1", "--rtol=inf"] {
        let o = snnc(&dir, &["verify", "model.h5", tol]);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(2), "{tol}: {err}");
        assert!(err.contains("a tolerance is a finite number, zero or more"), "{tol}: {err}");
    }
}

/// `fmt` rewrites a hard-linked file in place (every name sees the formatted text), keeps a
/// byte-order mark, locates bad bytes as `check` does, and refuses what is not a regular file
/// (a FIFO would make it wait for a writer).
#[test]
fn fmt_keeps_links_and_marks_and_refuses_special_files() {
    let dir = scratch("fmtlinks");
    std::fs::write(dir.join("a.snn"), "input x:[1]\nprobe x\n").unwrap();
    std::fs::hard_link(dir.join("a.snn"), dir.join("b.snn")).unwrap();
    let o = snnc(&dir, &["fmt", "a.snn"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    assert_eq!(std::fs::read_to_string(dir.join("b.snn")).unwrap(), "input x: [1]\nprobe x\n");
    assert!(same_file(&dir.join("a.snn"), &dir.join("b.snn")), "the link was broken");
    std::fs::write(dir.join("bom.snn"), "\u{feff}input x:[1]\nprobe x\n").unwrap();
    let o = snnc(&dir, &["fmt", "bom.snn"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    assert_eq!(std::fs::read(dir.join("bom.snn")).unwrap(), b"\xEF\xBB\xBFinput x: [1]\nprobe x\n");
    let o = snnc(&dir, &["fmt", "--check", "bom.snn"]);
    assert!(o.status.success(), "{}", shown(&dir, &o));
    std::fs::write(dir.join("nul.snn"), b"input x: [1]\x00\n").unwrap();
    let o = snnc(&dir, &["fmt", "nul.snn"]);
    let err = shown(&dir, &o);
    assert!(err.contains("a NUL byte at line 1, column 13"), "{err}");
    let fifo = dir.join("f.snn");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let o = snnc(&dir, &["fmt", "f.snn"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("f.snn: not a regular file"), "{err}");
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (x, y) = (std::fs::metadata(a).expect("a"), std::fs::metadata(b).expect("b"));
    (x.dev(), x.ino()) == (y.dev(), y.ino())
}

/// `snnc lsp` over its real stdio: a malformed message is skipped (and logged to the client),
/// not the end of the server; a second `initialize` is an InvalidRequest error; `exit` after
/// `shutdown` ends with status 0, without it with status 1 (the protocol's rule).
#[test]
fn the_language_server_survives_protocol_mistakes() {
    use std::io::Write;
    let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let init = |id: u32| {
        frame(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"capabilities":{{}}}}}}"#
        ))
    };
    for (shutdown, code) in [(true, 0), (false, 1)] {
        let mut input = init(1);
        input += &frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
        input += &frame(r#"{"jsonrpc": "2.0", "id": 7, "method": "#);
        input += &init(2);
        if shutdown {
            input += &frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#);
        }
        input += &frame(r#"{"jsonrpc":"2.0","method":"exit"}"#);
        let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
            .arg("lsp")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("snnc lsp starts");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("written");
        let o = child.wait_with_output().expect("snnc lsp ends");
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(code), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
        assert!(out.contains("skipped a malformed message"), "{out}");
        assert!(
            out.contains(
                r#""id":2,"error":{"code":-32600,"message":"the server is already initialized"}"#
            ),
            "{out}"
        );
        assert!(out.contains(r#""id":1,"result":{"capabilities""#), "{out}");
    }
}

/// Options that were silently accepted are errors: an input given twice, a loss given twice
/// (it counted double), `--array` for a name the model does not have, sgd's momentum outside
/// [0, 1] or given to adam, and `evaluate --batch-size 0`.
#[test]
fn repeated_or_meaningless_options_are_errors() {
    let dir = scratch("options");
    std::fs::write(
        dir.join("m.snn"),
        "input x: [2]\nlayer y: [2] = relu()\nconnect x -> y transform [[1, 0], [0, 1]]\nprobe y\n",
    )
    .unwrap();
    let x = ndarray::Array2::from_shape_fn((4, 2), |(b, i)| (b + i) as f64 * 0.1).into_dyn();
    snn_io::write_npy(&dir.join("x.npy"), x.view(), snn_io::Precision::F64).unwrap();
    let empty = ndarray::Array2::<f64>::zeros((0, 2)).into_dyn();
    snn_io::write_npy(&dir.join("empty.npy"), empty.view(), snn_io::Precision::F64).unwrap();
    snn_io::write_npz(
        &dir.join("d.npz"),
        &[("x", x.view()), ("y", x.view())],
        snn_io::Precision::F64,
    )
    .unwrap();
    let train = ["train", "m.snn", "--data", "d.npz", "-o", "t.snn", "--steps", "1"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "m.snn", "--steps", "2", "--input", "x=x.npy", "--input", "x=x.npy"],
            "input `x` is given twice",
        ),
        (
            vec!["run", "m.snn", "--steps", "2", "--input", "x=empty.npy"],
            "input `x` has shape [0, 2]: no batch elements",
        ),
        (
            [&train[..], &["--loss", "y=mse", "--loss", "y=mse"]].concat(),
            "--loss `y=mse` is given twice",
        ),
        (
            [&train[..], &["--loss", "y=mse", "--array", "q=x"]].concat(),
            "`q` is neither an input nor a probe with a loss",
        ),
        (
            [&train[..], &["--loss", "y=mse", "--optimizer", "sgd", "--momentum", "5"]].concat(),
            "--momentum must be from 0 to 1",
        ),
        ([&train[..], &["--loss", "y=mse", "--momentum", "0.9"]].concat(), "--momentum is sgd's"),
        (
            [&train[..], &["--loss", "y=mse", "--threads", "100000"]].concat(),
            "--threads 100000 is more than",
        ),
        (
            vec![
                "evaluate",
                "m.snn",
                "--data",
                "d.npz",
                "--loss",
                "y=mse",
                "--steps",
                "1",
                "--batch-size",
                "0",
            ],
            "--batch-size must be at least 1",
        ),
    ];
    refused(&dir, &cases, &["t.snn", "out.npz"]);
}

/// Messages that said the wrong thing: `import -o X.safetensors` (it named the file twice), a
/// second `--swap` of one activation (it said no layer had it), a dangling link into a missing
/// directory (it named `.`), and options `build` ignored (`--report` of a native library,
/// `--dtype` of a loihi configuration).
#[test]
fn messages_name_the_real_mistake() {
    let dir = scratch("messages");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(root.join("examples/mnist/model.h5"), dir.join("model.h5")).unwrap();
    model(&dir);
    std::os::unix::fs::symlink("nowhere/out.npz", dir.join("dangling.npz")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["import", "model.h5", "-o", "model.safetensors"], "must be a .snn file"),
        (
            vec!["import", "model.h5", "-o", "m2.snn", "--swap", "relu=lif", "--swap", "relu=tanh"],
            "`relu` is already swapped for `lif`",
        ),
        (
            vec!["run", "m.snn", "--steps", "2", "-o", "dangling.npz"],
            "nowhere (where the link points) does not exist",
        ),
        (vec!["build", "m.snn", "-o", "lib", "--report"], "--report is the loihi target's"),
        (
            vec!["build", "m.snn", "-o", "cfg", "--target", "loihi", "--dtype", "float32"],
            "--dtype float32 is for native libraries",
        ),
    ];
    refused(&dir, &cases, &[]);
    assert!(!dir.join("lib").exists() && !dir.join("cfg").exists() && !dir.join("m2.snn").exists());
}

/// What the last pass left: NaN from constants or weights is an error; a 0-d tensor is a
/// scalar transform; a build that fails leaves no directory behind; `fmt -` formats standard
/// input; old-Mac line breaks (lone `\r`) count as lines; plot says where values are NaN;
/// verify names an input with no batch elements.
#[test]
fn nan_zero_d_failed_builds_stdin_and_lone_carriage_returns() {
    let dir = scratch("leftovers");
    let nan = ndarray::arr1(&[1.0, f64::NAN]).into_dyn();
    let scale = ndarray::arr0(0.5).into_dyn();
    snn_io::write_safetensors(
        &dir.join("w.safetensors"),
        &[("nan", nan.view()), ("scale", scale.view())],
        snn_io::Precision::F64,
    )
    .unwrap();
    let errors = [
        ("inf.snn", "let k = inf - inf\nnode c = k\nprobe c\n", "`-` gives NaN"),
        ("sqrt.snn", "node c = sqrt([1, -1])\nprobe c\n", "`sqrt` gives NaN"),
        ("div.snn", "node c = [1, 2] / [1, 0]\nprobe c\n", "division by zero"),
        (
            "nanw.snn",
            "weights w = \"w.safetensors\"\nnode c = w[\"nan\"]\nprobe c\n",
            "holds NaN at index [1]",
        ),
        ("cr.snn", "input x: [1]\r// a comment\rprobe y\r", "cr.snn:3:7"),
    ];
    for (name, text, says) in errors {
        let o = check_text(&dir, name, text);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
    // a 0-d tensor is a scalar transform
    let o = check_text(
        &dir,
        "scalar.snn",
        "weights w = \"w.safetensors\"\ninput x: [2]\nnode y: [2]\nconnect x -> y transform w[\"scale\"]\nprobe y\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", shown(&dir, &o));

    // a build whose linker is missing leaves no new directory
    model(&dir);
    let o = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["build", "m.snn", "-o", "new/lib"])
        .current_dir(&dir)
        .env("CC", dir.join("no-such-cc"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&dir, &o));
    assert!(shown(&dir, &o).contains("was not found"), "{}", shown(&dir, &o));
    assert!(!dir.join("new").exists(), "a failed build left its directory");

    // fmt - : standard input to standard output; --check says whether it is formatted
    for (check, code, out) in [(false, 0, "node c = 1\nprobe c\n"), (true, 1, "")] {
        use std::io::Write;
        let mut args = vec!["fmt"];
        if check {
            args.push("--check");
        }
        args.push("-");
        let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"node   c = 1\nprobe   c\n").unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), out);
    }

    // plot: NaN samples are gaps, and it says so
    let p = ndarray::Array3::from_shape_fn(
        (1, 5, 1),
        |(_, s, _)| if s == 2 { f64::NAN } else { s as f64 },
    )
    .into_dyn();
    snn_io::write_npz(&dir.join("p.npz"), &[("p", p.view())], snn_io::Precision::F64).unwrap();
    let o = snnc(&dir, &["plot", "p.npz", "-o", "p.svg"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("probe `p` has 1 NaN or infinite value(s), drawn as gaps"), "{err}");

    // verify: an input with no batch elements
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(root.join("examples/mnist/model.h5"), dir.join("model.h5")).unwrap();
    let empty = ndarray::Array4::<f64>::zeros((0, 28, 28, 1)).into_dyn();
    snn_io::write_npy(&dir.join("empty.npy"), empty.view(), snn_io::Precision::F32).unwrap();
    let o = snnc(&dir, &["verify", "model.h5", "--input", "empty.npy"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("has no batch elements"), "{err}");
}

/// The language server reads only regular files for `use` (never its own protocol stream
/// through `/dev/stdin`), and renames objects to keywords (they may have keyword names) but
/// not values.
#[test]
fn the_language_server_reads_only_files_and_renames_objects_to_keywords() {
    use std::io::Write;
    let dir = scratch("lsp-files").canonicalize().unwrap();
    let path = dir.join("a.snn");
    let text = "use \"/dev/stdin\"\nlet k = 2\nnode c = k\nprobe c\n";
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());
    let frame = |body: String| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let rename = |id: u32, line: u32, col: u32, name: &str| {
        frame(format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"textDocument/rename","params":{{"textDocument":{{"uri":"{uri}"}},"position":{{"line":{line},"character":{col}}},"newName":"{name}"}}}}"#
        ))
    };
    let mut input = frame(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#.into(),
    );
    input += &frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#.into());
    input += &frame(format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"snn","version":1,"text":{}}}}}}}"#,
        serde_json::to_string(text).unwrap()
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .arg("lsp")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // diagnostics are published once the server is idle: wait for them
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut stdout, &mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut out = Vec::new();
    while !String::from_utf8_lossy(&out).contains("publishDiagnostics") {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(bytes) => out.extend(bytes),
            Err(_) => panic!("no diagnostics: {}", String::from_utf8_lossy(&out)),
        }
    }
    let mut rest = rename(2, 2, 5, "input"); // the node `c`: an object
    rest += &rename(3, 1, 4, "node"); // the constant `k`: a value
    rest += &frame(r#"{"jsonrpc":"2.0","id":4,"method":"shutdown"}"#.into());
    rest += &frame(r#"{"jsonrpc":"2.0","method":"exit"}"#.into());
    stdin.write_all(rest.as_bytes()).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    out.extend(rx.try_iter().flatten());
    let out = String::from_utf8_lossy(&out);
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("not a regular file"), "{out}");
    assert!(out.contains(r#""id":4,"result":null"#), "the shutdown reply: {out}");
    assert!(out.contains(r#""newText":"input""#), "{out}");
    assert!(out.contains("`node` is a keyword"), "{out}");
}

/// Data files are read bounded (hostile pass 2, items 3 and 12): `/dev/zero` as `--input`, a
/// link to it as a model's weights file and `/dev/urandom` as a Keras model are refused,
/// naming the path as given; an `.npz` entry inflates no further than its `.npy` header
/// declares (a zip bomb is an error naming the array); `verify` refuses a NaN input, naming
/// the input and the index of the first bad value.
#[test]
fn data_readers_refuse_devices_zip_bombs_and_nan_inputs() {
    use std::io::Write;
    let dir = scratch("bounded");
    std::fs::write(
        dir.join("i.snn"),
        "input x: [1]\nnode y: [1]\nconnect x -> y synapse none\nprobe y\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("z.npz")).unwrap();
    std::fs::write(dir.join("w.snn"), "weights w = \"z.npz\"\nnode c = w[\"a\"]\nprobe c\n")
        .unwrap();
    let refused = [
        (vec!["run", "i.snn", "--input", "/dev/zero", "-o", "o.npz"], "/dev/zero"),
        (vec!["check", "w.snn"], "z.npz"),
        (vec!["verify", "/dev/urandom"], "/dev/urandom"),
    ];
    for (args, path) in refused {
        let start = std::time::Instant::now();
        let o = snnc(&dir, &args);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(path) && err.contains("not a regular file"), "{args:?}: {err}");
        assert!(start.elapsed().as_secs() < 30, "{args:?} read the device");
    }
    assert!(!dir.join("o.npz").exists());

    // a zip bomb: 2 values declared, 64 MiB of zeros deflated to a few KiB
    let npy = |shape: &str| {
        let mut text = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + text.len() + 1) % 64 != 0 {
            text.push(' ');
        }
        text.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((text.len() as u16).to_le_bytes());
        bytes.extend(text.bytes());
        bytes
    };
    let write_npz = |name: &str, entry: &[u8], zeros: usize| {
        let file = std::fs::File::create(dir.join(name)).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("y.npy", opts).unwrap();
        zip.write_all(entry).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..zeros >> 20 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
    };
    write_npz("bomb.npz", &npy("(1, 2, 1)"), 64 << 20);
    assert!(std::fs::metadata(dir.join("bomb.npz")).unwrap().len() < 1 << 20);
    let o = snnc(&dir, &["plot", "bomb.npz", "-o", "p.png"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "bomb.npz: array `y`: the entry holds more than the 16 bytes its header declares"
        ),
        "{err}"
    );
    // a header declaring 6 GiB over 16 bytes of data
    let mut liar = npy("(805306368,)");
    liar.extend([0u8; 16]);
    write_npz("liar.npz", &liar, 0);
    let o = snnc(&dir, &["plot", "liar.npz", "-o", "p.png"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("liar.npz: array `y`: header declares 805306368 elements (6442450944 bytes)"),
        "{err}"
    );
    assert!(!dir.join("p.png").exists());

    // verify: a NaN input, and an inf at flat index 11
    let model = keras_case("dense_seq");
    let m = model.to_str().unwrap();
    let nan = ndarray::Array2::from_elem((2, 8), f64::NAN).into_dyn();
    snn_io::write_npy(&dir.join("nan.npy"), nan.view(), snn_io::Precision::F64).unwrap();
    let mut inf = ndarray::Array2::<f64>::zeros((2, 8));
    inf[[1, 3]] = f64::INFINITY;
    snn_io::write_npy(&dir.join("inf.npy"), inf.into_dyn().view(), snn_io::Precision::F64).unwrap();
    for (file, why) in [
        ("nan.npy", "input `x` holds a non-finite value (NaN) at flat index 0"),
        ("inf.npy", "input `x` holds a non-finite value (inf) at flat index 11"),
    ] {
        let o = snnc(&dir, &["verify", m, "--input", file]);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!err.contains("largest difference"), "{err}");
    }
}

/// The language server allocates no more than `snn_lsp::MAX_MESSAGE_BYTES` for a message
/// whatever its `Content-Length` says (hostile pass 2, item 4): a longer message is read and
/// thrown away, said in a `window/logMessage`, and the server goes on; a `Content-Length` of
/// 99999999999999 or u64::MAX (the input ending first) neither aborts nor panics.
#[test]
fn the_language_server_skips_a_message_beyond_its_size_limit() {
    use std::io::Write;
    let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let init =
        frame(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#)
            + &frame(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
    let lsp = || {
        Command::new(env!("CARGO_BIN_EXE_snnc"))
            .arg("lsp")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("snnc lsp starts")
    };
    // one byte over the limit, the bytes sent, then a shutdown the server answers
    let big = snn_lsp::MAX_MESSAGE_BYTES + 1;
    let mut child = lsp();
    let mut stdin = child.stdin.take().expect("stdin");
    let head = format!("{init}Content-Length: {big}\r\n\r\n");
    let tail = frame(r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#)
        + &frame(r#"{"jsonrpc":"2.0","method":"exit"}"#);
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        stdin.write_all(head.as_bytes())?;
        let chunk = vec![b' '; 1 << 20];
        let mut left = big as usize;
        while left > 0 {
            let n = left.min(chunk.len());
            stdin.write_all(&chunk[..n])?;
            left -= n;
        }
        stdin.write_all(tail.as_bytes())
    });
    let o = child.wait_with_output().expect("snnc lsp ends");
    writer.join().expect("writer").expect("all written");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains(&format!("skipped a message of {big} bytes")), "{out}");
    assert!(out.contains(r#""id":3,"result":null"#), "the shutdown reply: {out}");
    // lengths that cannot be allocated, the input ending first
    for size in ["99999999999999", "18446744073709551615"] {
        let mut child = lsp();
        let input = format!("{init}Content-Length: {size}\r\n\r\n{{}}");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("written");
        let o = child.wait_with_output().expect("snnc lsp ends");
        let out = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{size}: {out}\n{err}");
        assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
        assert!(out.contains(&format!("skipped a message of {size} bytes")), "{out}");
    }
}

/// `snnc` with `args` in `dir`, killed (and the test failed) after 60 s: a plot that loops.
fn snnc_within_a_minute(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("snnc runs");
    let start = std::time::Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("snnc {args:?} still runs after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("snnc ends")
}

/// `snnc plot` bounds its figure and its axes (hostile pass 2, items 6, 7 and 14): 20,000 probes
/// are refused (they allocated 7.5 GB or panicked in plotters), values of ±1e308 or a time step
/// of 1e308 s are refused rather than looping forever in plotters' ticks, repeated `--probe` and
/// `--index` are errors, and an empty file says it has no arrays. `[1e308, 0]` still draws.
#[test]
fn plot_bounds_its_figure_and_axes() {
    let dir = scratch("plotbounds");
    let write = |name: &str, arrays: &[(&str, ndarray::ArrayD<f64>)]| {
        let views: Vec<(&str, ndarray::ArrayViewD<'_, f64>)> =
            arrays.iter().map(|(n, a)| (*n, a.view())).collect();
        snn_io::write_npz(&dir.join(name), &views, snn_io::Precision::F64).expect("npz");
    };
    let col = |v: &[f64]| ndarray::Array::from_shape_vec((1, v.len(), 1), v.to_vec()).unwrap();
    let names: Vec<String> = (0..20_000).map(|i| format!("p{i}")).collect();
    let many: Vec<(&str, ndarray::ArrayD<f64>)> =
        names.iter().map(|n| (n.as_str(), ndarray::ArrayD::zeros(vec![1, 2, 1]))).collect();
    write("many.npz", &many);
    write("wide.npz", &[("a", col(&[1e308, -1e308]).into_dyn())]);
    write("ok.npz", &[("a", col(&[0.0, 1.0, 0.5]).into_dyn())]);
    write("big.npz", &[("a", col(&[1e308, 0.0]).into_dyn())]);
    write("empty.npz", &[]);
    let refused = [
        (vec!["plot", "many.npz", "-o", "m.png"], "1 row(s) × 20000 panel(s), more than the 400"),
        (vec!["plot", "wide.npz", "-o", "w.svg"], "holds values from -1e308 to 1e308"),
        (vec!["plot", "wide.npz", "-o", "w.png"], "a range too wide to draw"),
        (vec!["plot", "ok.npz", "-o", "t.png", "--dt", "1e308"], "a time axis too long"),
        (
            vec!["plot", "ok.npz", "-o", "t.svg", "--probe", "a", "--probe", "a"],
            "--probe `a` is given twice",
        ),
        (
            vec!["plot", "ok.npz", "-o", "t.svg", "--index", "0", "--index", "0"],
            "--index 0 is given twice",
        ),
        (
            vec!["plot", "empty.npz", "-o", "e.svg", "--probe", "a"],
            "has no probe `a` (it has no arrays)",
        ),
    ];
    for (args, why) in refused {
        let o = snnc_within_a_minute(&dir, &args);
        let err = shown(&dir, &o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(why) && !err.contains("panicked"), "{args:?}: {err}");
    }
    for f in ["m.png", "w.svg", "w.png", "t.png", "t.svg", "e.svg"] {
        assert!(!dir.join(f).exists(), "{f} written by a refused plot");
    }
    let o = snnc_within_a_minute(&dir, &["plot", "big.npz", "-o", "b.svg"]);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&dir, &o));
    assert!(dir.join("b.svg").exists());
}

/// The memory estimate counts the `dims × dims` random rotation of an ensemble's default
/// (scattered_hypersphere) encoders and eval points (hostile pass 2, item 8): `check` refuses
/// 20,000 dimensions within 1 GiB at the ensemble, where `run` aborted allocating 3.2 GB; with
/// `uniform_hypersphere` there is no rotation and 10 neurons fit.
#[test]
fn the_memory_estimate_counts_the_random_rotation() {
    let dir = scratch("rotation");
    std::fs::write(
        dir.join("r.snn"),
        "ensemble a = lif(n = 10, dims = 20000, n_eval_points = 10)\n",
    )
    .expect("write");
    let o = snnc(&dir, &["check", "r.snn", "--max-memory", "1G"]);
    let err = shown(&dir, &o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("E0801 r.snn:1:10") && err.contains("20000×20000 random rotation"),
        "{err}"
    );
    std::fs::write(
        dir.join("u.snn"),
        "ensemble a = lif(n = 10, dims = 20000, n_eval_points = 10, \
         encoders = uniform_hypersphere(surface = true), eval_points = uniform_hypersphere())\n",
    )
    .expect("write");
    let o = snnc(&dir, &["check", "u.snn", "--max-memory", "1G"]);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&dir, &o));
}

/// Runs too large for memory are refused before allocating, by every command that runs a
/// model (train and evaluate count each batch's probes, and training its tape; bench its
/// probes and its timed runs); constants count together, not one at a time; the loihi
/// backend refuses a float type; help and version report a full stdout; an l2 target of NaN
/// says what is wrong.
#[test]
fn every_command_that_runs_keeps_to_its_memory() {
    let dir = scratch("budgets");
    std::fs::write(
        dir.join("m.snn"),
        "input x: [3]\nlayer h: [4] = relu()\nnode y: [2]\nconnect x -> h transform glorot_uniform() synapse none\nconnect h -> y transform glorot_uniform() synapse none\nprobe y\n",
    )
    .unwrap();
    let x = ndarray::Array2::from_shape_fn((20, 3), |(b, i)| (b + i) as f64 * 0.1).into_dyn();
    let y = ndarray::Array2::from_shape_fn((20, 2), |(b, i)| (b * i) as f64 * 0.1).into_dyn();
    snn_io::write_npz(
        &dir.join("d.npz"),
        &[("x", x.view()), ("y", y.view())],
        snn_io::Precision::F64,
    )
    .unwrap();
    let x1 = ndarray::Array2::from_shape_fn((1, 3), |(_, i)| i as f64).into_dyn();
    snn_io::write_npy(&dir.join("x.npy"), x1.view(), snn_io::Precision::F64).unwrap();
    std::fs::write(
        dir.join("consts.snn"),
        "let a = ones(1000, 1000)\nlet b = a + a\nlet c = b + a\nnode z = c[0]\nprobe z\n",
    )
    .unwrap();
    let steps = "1000000000";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["evaluate", "m.snn", "--data", "d.npz", "--loss", "y=mse", "--steps", steps],
            "more than the",
        ),
        (
            vec![
                "train", "m.snn", "--data", "d.npz", "--loss", "y=mse", "--steps", steps, "-o",
                "t.snn",
            ],
            "use fewer --steps or a smaller --batch-size",
        ),
        (
            vec!["bench", "m.snn", "--input", "x.npy", "--steps", "100000000000", "--repeat", "1"],
            "bench fewer steps",
        ),
        (
            vec!["bench", "m.snn", "--input", "x.npy", "--repeat", "99999999999"],
            "--repeat 99999999999 is more than",
        ),
        (vec!["bench", "m.snn", "--input", "x.npy", "--steps", "10", "--max-memory", "1"], "E0801"),
        (vec!["check", "consts.snn", "--max-memory", "16M"], "the constant expressions have made"),
        (
            vec!["train", "m.snn", "--data", "d.npz", "--loss", "y=l2(nan)", "-o", "t.snn"],
            "the target must be a finite number",
        ),
        (
            vec![
                "train",
                "m.snn",
                "--data",
                "d.npz",
                "--loss",
                "y=mse",
                "-o",
                "t.snn",
                "--learning-rate",
                "1e300",
            ],
            "no longer a finite float32",
        ),
    ];
    refused(&dir, &cases, &["t.snn", "out.npz"]);
    // the same constants fit a larger budget
    let o = snnc(&dir, &["check", "consts.snn", "--max-memory", "1G"]);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&dir, &o));
    // help and version to a full stdout fail as every other output does
    for args in [&["--help"][..], &["-V"], &["help", "run"]] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_snnc")).args(args).stdout(full).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
    }
}

/// The third pass: a probe sampled at a period that is not a whole number of steps is refused
/// (Nengo samples it irregularly); a pipe among a set of outputs is refused before anything is
/// written (the set could not be all or none); infinite neuron parameters are refused.
#[test]
fn irregular_sampling_pipes_in_output_sets_and_infinite_parameters() {
    let dir = scratch("pass3");
    std::fs::write(
        dir.join("se.snn"),
        "node s = fn t -> t\nprobe p = s synapse none sample_every 1.5ms\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("amp.snn"),
        "node c = 1\nlayer r: [1] = relu(amplitude = inf)\nconnect c -> r\nprobe r\n",
    )
    .unwrap();
    model(&dir);
    std::fs::create_dir(dir.join("lib")).unwrap();
    assert!(Command::new("mkfifo").arg(dir.join("lib/m.h")).status().unwrap().success());
    let cases = vec![
        (
            vec!["run", "se.snn", "--steps", "10", "-o", "se.npz"],
            "is not a whole number of time steps",
        ),
        (vec!["check", "amp.snn"], "`amplitude` must be finite and positive"),
        (vec!["build", "m.snn", "-o", "lib"], "it is a device or pipe"),
    ];
    refused(&dir, &cases, &["se.npz", "lib/libm.so", "lib/libm.a"]);
    // a multiple of dt is sampled as Nengo samples it
    let o = snnc(&dir, &["run", "se.snn", "--steps", "10", "--dt", "0.5ms", "-o", "se.npz"]);
    assert_eq!(o.status.code(), Some(0), "{}", shown(&dir, &o));
}
