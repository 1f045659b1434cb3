//! The server never dies: thousands of random edits (deletions, insertions of random tokens,
//! sent as incremental changes) to the examples, with random requests at random positions in
//! between. Every request is answered, none by a panic, and no panic happens anywhere in the
//! server (a panic hook counts them).

mod support;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{repo, uri, Client};

static PANICS: AtomicUsize = AtomicUsize::new(0);

const TOKENS: &[&str] = &[
    "connect",
    "ensemble",
    "node",
    "layer",
    "network",
    "probe",
    "input",
    "use",
    "std",
    ".",
    "for",
    "in",
    "let",
    "alias",
    "config",
    "weights",
    "fn",
    "->",
    "..",
    "=",
    "==",
    ":",
    ",",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "\"x\"",
    "5ms",
    "1e9",
    "0",
    "-",
    "+",
    "*",
    "/",
    "^",
    "a",
    "b",
    "x",
    "lif",
    "lif(n = 3, dims = 1)",
    "integrator",
    "sub.input",
    ".neurons",
    ".voltage",
    "w[\"",
    "transform",
    "synapse",
    "none",
    "\n",
    " ",
    "//",
    "é",
    "𝄞",
    "tau_rc = ",
    "0..100001",
    "[1, 2]",
    "[[1, 2], [3]]",
    "seed 1",
    "use std.integrator\n",
    "use \"missing.snn\"\n",
];

const REQUESTS: &[&str] = &[
    "textDocument/hover",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/completion",
    "textDocument/signatureHelp",
    "textDocument/documentSymbol",
    "textDocument/semanticTokens/full",
    "textDocument/inlayHint",
    "textDocument/formatting",
    "textDocument/codeAction",
    "textDocument/prepareRename",
    "textDocument/rename",
];

/// The LSP position (UTF-16) of byte `off` of `text`.
fn position(text: &str, off: usize) -> Value {
    let before = &text[..off];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col: usize = before[start..].chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": col })
}

fn boundary(text: &str, mut off: usize) -> usize {
    off = off.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    off
}

fn params(method: &str, u: &str, pos: Value, rng: &mut ChaCha8Rng) -> Value {
    let doc = json!({ "uri": u });
    match method {
        "textDocument/documentSymbol" | "textDocument/semanticTokens/full" => {
            json!({ "textDocument": doc })
        }
        "textDocument/formatting" => {
            json!({ "textDocument": doc, "options": { "tabSize": 4, "insertSpaces": true } })
        }
        "textDocument/inlayHint" | "textDocument/codeAction" => json!({
            "textDocument": doc,
            "range": { "start": { "line": 0, "character": 0 }, "end": pos },
            "context": { "diagnostics": [] },
        }),
        "textDocument/references" => json!({
            "textDocument": doc, "position": pos, "context": { "includeDeclaration": true },
        }),
        "textDocument/rename" => json!({
            "textDocument": doc, "position": pos,
            "newName": if rng.gen_bool(0.5) { "renamed" } else { "no good" },
        }),
        _ => json!({ "textDocument": doc, "position": pos }),
    }
}

#[test]
fn random_edits_never_kill_the_server() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut c = Client::start(&repo());
    let mut examples: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "snn"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 4);
    let started = std::time::Instant::now();
    let (mut edits, mut requests, mut with_content) = (0, 0, 0);
    for path in &examples {
        let u = uri(path);
        let original = std::fs::read_to_string(path).expect("example");
        let mut text = original.clone();
        c.open(&u, &text);
        let mut version = 1;
        for step in 0..2000 {
            if step % 150 == 149 {
                // back to the example now and then, so edits keep hitting a mostly valid file
                version += 1;
                text = original.clone();
                c.change(&u, version, &text);
            }
            let a = boundary(&text, rng.gen_range(0..=text.len()));
            let (start, end, new) = if rng.gen_bool(0.45) {
                let b = boundary(&text, a + rng.gen_range(0..24));
                (a, b.max(a), String::new())
            } else {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                (a, a, if rng.gen_bool(0.5) { format!(" {t}") } else { t.to_string() })
            };
            let range = json!({ "start": position(&text, start), "end": position(&text, end) });
            text.replace_range(start..end, &new);
            version += 1;
            c.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": u, "version": version },
                        "contentChanges": [{ "range": range, "text": new }] }),
            );
            edits += 1;
            if step % 2 == 0 {
                let method = REQUESTS[rng.gen_range(0..REQUESTS.len())];
                let off = boundary(&text, rng.gen_range(0..=text.len()));
                let pos = if rng.gen_bool(0.05) {
                    json!({ "line": 100000, "character": 5 })
                } else {
                    position(&text, off)
                };
                let p = params(method, &u, pos, &mut rng);
                let id = c.send(method, p);
                let r = c.wait(id);
                assert!(r.result.is_some() || r.error.is_some(), "{method}: no answer");
                let empty = |v: &Value| v.is_null() || v.as_array().is_some_and(Vec::is_empty);
                if r.result.as_ref().is_some_and(|v| !empty(v)) {
                    with_content += 1;
                }
                if let Some(e) = r.error {
                    assert_ne!(e.code, -32603, "{method} failed internally: {}", e.message);
                }
                requests += 1;
            }
        }
        // the server's text is the client's: formatting a parsable text gives the same result
        let mine = snn_syntax::format(&text).ok();
        let id = c.send(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": u }, "options": { "tabSize": 4, "insertSpaces": true } }),
        );
        let r = c.wait(id);
        if let (Some(mine), Some(res)) = (mine, r.result) {
            let theirs = res[0]["newText"].as_str().map(str::to_string).unwrap_or(text.clone());
            assert_eq!(mine, theirs, "server and client texts differ for {}", path.display());
        }
        c.notify("textDocument/didClose", json!({ "textDocument": { "uri": u } }));
    }
    let published =
        c.notifications.iter().filter(|n| n.method == "textDocument/publishDiagnostics").count();
    c.shutdown();
    eprintln!(
        "{edits} edits, {requests} requests ({with_content} with content), {published} \
         diagnostics notifications in {:?}",
        started.elapsed()
    );
    // the edits leave enough of each file for the server to answer with something
    assert!(with_content * 10 > requests, "{with_content} of {requests} answers had content");
    assert!(published * 2 > requests, "{published} diagnostics notifications");
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "the server panicked");
}
