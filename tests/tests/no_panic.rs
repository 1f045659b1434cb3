//! No input makes the front end panic: the empty file, every shipped `.snn` cut at many points,
//! random bytes, and random mutations of valid programs all go through parse → check → (small
//! models) build → lower, and through the formatter, without a panic.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use snn_compiler::{build, lower, FsDb};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Everything `snnc check` and `snnc run` do before simulating, on `text` placed at `path`.
fn front_end(path: &Path, text: &str) {
    let _ = snn_syntax::format(text);
    let mut db = FsDb::new();
    let root = db.add(&path.display().to_string(), Some(path.to_path_buf()), text.to_string());
    let checked = snn_compiler::check(&mut db, root);
    let objects = &checked.model.objects;
    let neurons: usize = objects.iter().filter_map(|o| o.n_neurons()).sum();
    if checked.has_errors() || neurons > 2_000 {
        return;
    }
    if let Ok(built) = build::build(&checked.model) {
        let _ = lower::lower(&checked.model, &built, 0.001);
    }
}

fn survives(path: &Path, text: &str) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| front_end(path, text))).map_err(|_| {
        let shown: String = text.chars().take(400).collect();
        format!("panic on input placed at {}:\n{shown}", path.display())
    })
}

fn shipped() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in ["../examples", "../stdlib", "diagnostics", "conformance"] {
        let mut stack = vec![PathBuf::from(dir)];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "snn") {
                    let text = std::fs::read_to_string(&p).expect("readable");
                    out.push((p, text));
                }
            }
        }
    }
    out.sort();
    assert!(out.len() > 40, "found only {} .snn files", out.len());
    out
}

#[test]
fn empty_and_blank_files() {
    for text in ["", " ", "\n", "//", "// only a comment\n", "\u{feff}", "\0"] {
        survives(Path::new("empty.snn"), text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn truncated_files() {
    let mut failures = Vec::new();
    for (path, text) in shipped() {
        let cuts: Vec<usize> = (0..=text.len()).step_by((text.len() / 40).max(1)).collect();
        for cut in cuts {
            let Some(prefix) = text.get(..cut) else { continue }; // not a char boundary
            if let Err(e) = survives(&path, prefix) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn random_bytes() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz_0123456789 \n\t[](){}<>=-+*/^,.:;\"'!&|#%~`";
    let mut failures = Vec::new();
    for i in 0..3000 {
        let len = rng.gen_range(0..200);
        let bytes: Vec<u8> = if i % 2 == 0 {
            (0..len).map(|_| rng.gen()).collect()
        } else {
            (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect()
        };
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = survives(Path::new("random.snn"), &text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn mutated_programs() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let tokens = [
        "0",
        "-1",
        "1e308",
        "-1e308",
        "nan",
        "inf",
        "0ms",
        "-5ms",
        "1e9Hz",
        "[]",
        "[0]",
        "[1, 0]",
        "[[1]]",
        "none",
        "a",
        "a.neurons",
        "x[0:0]",
        "x[5:2]",
        "->",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "=",
        ",",
        "\"",
        "fn v -> v",
        "synapse none",
        "transform 0",
        "conv2d()",
        "network",
        "connect",
        "layer",
        "ensemble",
        "for i in 0..3 {",
        "99999999999999999999",
    ];
    let mut failures = Vec::new();
    for (path, text) in shipped() {
        for _ in 0..25 {
            let mut t = text.clone();
            for _ in 0..rng.gen_range(1..4) {
                let mut at = rng.gen_range(0..=t.len());
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + rng.gen_range(0..8)).min(t.len());
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                t.replace_range(at..end, tokens[rng.gen_range(0..tokens.len())]);
            }
            if let Err(e) = survives(&path, &t) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
