//! In-process protocol tests: a client drives the server over an in-memory connection and the
//! responses, rendered compactly, are insta snapshots.

mod support;

use serde_json::{json, Value};
use support::{at, pos_of, repo, uri, Client};

/// Paths made stable: the repository and the written-out stdlib.
fn clean(s: &str) -> String {
    let repo = uri(&repo());
    let std = uri(&std::env::temp_dir());
    let s = s.replace(&repo, "$REPO").replace(&std, "$TMP");
    // each server's private copy of the standard library: $TMP/snnc-std-RANDOM/
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find("snnc-std-") {
        let tail = &rest[i + 9..];
        let end = tail.find('/').unwrap_or(tail.len());
        out += &rest[..i];
        out += "snnc-std-*";
        rest = &tail[end..];
    }
    out + rest
}

fn range(r: &Value) -> String {
    format!(
        "{}:{}-{}:{}",
        r["start"]["line"], r["start"]["character"], r["end"]["line"], r["end"]["character"]
    )
}

fn loc(l: &Value) -> String {
    clean(&format!("{} {}", l["uri"].as_str().unwrap_or(""), range(&l["range"])))
}

fn diags(d: &Value) -> String {
    let mut out = String::new();
    for d in d.as_array().into_iter().flatten() {
        out += &format!(
            "{} {} {}: {}\n",
            range(&d["range"]),
            d["severity"],
            d["code"].as_str().unwrap_or("-"),
            d["message"].as_str().unwrap_or("").replace('\n', " | ")
        );
        for r in d["relatedInformation"].as_array().into_iter().flatten() {
            out += &format!(
                "    related {}: {}\n",
                loc(&r["location"]),
                r["message"].as_str().unwrap_or("")
            );
        }
    }
    out
}

fn example(name: &str) -> (String, String) {
    let path = repo().join("examples").join(name);
    let text = std::fs::read_to_string(&path).expect("example");
    (uri(&path), text)
}

fn hover_text(c: &mut Client, u: &str, text: &str, needle: &str, nth: usize, shift: u32) -> String {
    let (l, ch) = pos_of(text, needle, nth, shift);
    let h = c.request("textDocument/hover", at(u, l, ch));
    format!(
        "--- hover `{needle}`#{nth}+{shift}\n{}\n",
        h["contents"]["value"].as_str().unwrap_or("(none)")
    )
}

#[test]
fn diagnostics_and_quick_fixes() {
    let mut c = Client::start(&repo());
    let path = repo().join("examples/__lsp_protocol_test.snn");
    let u = uri(&path);
    let text =
        "input x: [2]\nensemble a = lif(n = 50, dims = 2)\nensemble a = lif(n = 50, dims = 1)\n\
                connect x -> ab\nconnect x -> a transform [[1, 2, 3]]\nprobe a synapse 10ms\n";
    c.open(&u, text);
    let d = c.diagnostics(&u, 1);
    let mut out = diags(&d);
    let (l, ch) = pos_of(text, "ab", 0, 1);
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": u }, "range": { "start": { "line": l, "character": ch }, "end": { "line": l, "character": ch } }, "context": { "diagnostics": [] } }),
    );
    for a in actions.as_array().into_iter().flatten() {
        out += &format!("action: {} ({})\n", a["title"].as_str().unwrap_or(""), a["kind"]);
        for (file, edits) in a["edit"]["changes"].as_object().into_iter().flatten() {
            for e in edits.as_array().into_iter().flatten() {
                out += &format!(
                    "    edit {} {} -> {}\n",
                    clean(file),
                    range(&e["range"]),
                    e["newText"]
                );
            }
        }
    }
    // An edit that fixes everything clears the diagnostics.
    c.change(&u, 2, "input x: [2]\nensemble a = lif(n = 50, dims = 2)\nconnect x -> a\n");
    out += &format!("after the fix: {}\n", c.diagnostics(&u, 2));
    // A syntax error is reported at its place.
    c.change(&u, 3, "input x: [2]\nensemble a = lif(n = 50, dims = 2\nconnect x -> a\n");
    out += &diags(&c.diagnostics(&u, 3));
    // Several syntax errors at once, an unterminated string at its quote; the statements that
    // parse are still checked (`y` is unknown), uses of broken declarations are not reported.
    c.change(
        &u,
        4,
        "input x: [2]\nensemble a = lif(n = 50 dims = 2)\nnode b: [1\nweights w = \"f.npz\n\
         connect x -> \nconnect x -> y\nprobe a\nprobe b\n",
    );
    out += "--- several syntax errors\n";
    out += &diags(&c.diagnostics(&u, 4));
    insta::assert_snapshot!(out);
    c.shutdown();
}

/// Apply one LSP text edit (single-line or multi-line range) to `text`.
fn apply_edit(text: &str, e: &Value) -> String {
    let off = |p: &Value| {
        let (l, c) = (p["line"].as_u64().unwrap_or(0), p["character"].as_u64().unwrap_or(0));
        let start: usize = text.split_inclusive('\n').take(l as usize).map(str::len).sum();
        start + c as usize
    };
    let (a, b) = (off(&e["range"]["start"]), off(&e["range"]["end"]));
    format!("{}{}{}", &text[..a], e["newText"].as_str().unwrap_or(""), &text[b..])
}

#[test]
fn transform_slice_and_unit_fixes() {
    let mut c = Client::start(&repo());
    let u = uri(&repo().join("examples/__lsp_fixes_test.snn"));
    let text = "input x: [3]\nensemble a = lif(n = 50, dims = 2)\nnode o: [4]\n\
                connect x -> a\nconnect a -> o\nconnect a -> o fn v -> v\n\
                network n(t: time = 5ms) {\n    node q: [1]\n}\nnetwork m = n(t = 4)\n\
                probe a sample_every 2\nensemble b = lif(n = 10, dims = 1, tau_rc = 20Hz)\n\
                connect x[0] -> b synapse 200Hz\nconnect a.neurons -> o\n";
    c.open(&u, text);
    let before = c.diagnostics(&u, 1);
    let mut out = diags(&before);
    let n_before = before.as_array().map_or(0, Vec::len);
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": u }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 14, "character": 0 } }, "context": { "diagnostics": [] } }),
    );
    let mut version = 1;
    for a in actions.as_array().into_iter().flatten() {
        let fixed = a["diagnostics"][0]["code"].as_str().unwrap_or("-").to_string();
        out += &format!(
            "action: {} (preferred {}) for {fixed}\n",
            a["title"].as_str().unwrap_or(""),
            a["isPreferred"]
        );
        let edits = &a["edit"]["changes"][&u];
        for e in edits.as_array().into_iter().flatten() {
            out += &format!("    edit {} -> {}\n", range(&e["range"]), e["newText"]);
            // applied alone, the fix removes its diagnostic (a statement that now checks may
            // show the next problem in it)
            version += 1;
            c.change(&u, version, &apply_edit(text, e));
            let after = c.diagnostics(&u, version);
            let n_after = after.as_array().map_or(0, Vec::len);
            out += &format!("    diagnostics {n_before} -> {n_after}\n");
            let gone = after.as_array().into_iter().flatten().all(|d| {
                d["code"] != a["diagnostics"][0]["code"]
                    || d["range"] != a["diagnostics"][0]["range"]
            });
            assert!(gone && n_after <= n_before, "{a}\n{after}");
        }
    }
    insta::assert_snapshot!(out);
    c.shutdown();
}

#[test]
fn hover_definition_references() {
    let mut c = Client::start(&repo());
    let (u, text) = example("tour.snn");
    c.open(&u, &text);
    let mut out = String::new();
    for (needle, nth, shift) in [
        ("b = bank", 0, 0),
        ("bank(n = 40", 0, 1),
        ("hidden: [20]", 0, 1),
        ("adapt =", 0, 0),
        ("lif_rate", 0, 2),
        ("tau_rc = 20ms", 0, 2),
        ("n = 40", 0, 0),
        ("b.output", 0, 3),
        ("drive: [dims]", 0, 0),
        ("connect hidden -> readout", 0, 2),
        ("e[i] = neuron", 0, 0),
        ("noise = white", 0, 0),
    ] {
        out += &hover_text(&mut c, &u, &text, needle, nth, shift);
    }
    out += "--- definitions\n";
    for (needle, nth, shift) in [
        ("b.output", 0, 3),
        ("bank(n = 40", 0, 1),
        ("dims = dims", 0, 8),
        ("neuron = lif_rate", 0, 1),
        ("bank_out", 1, 1),
    ] {
        let (l, ch) = pos_of(&text, needle, nth, shift);
        let d = c.request("textDocument/definition", at(&u, l, ch));
        out += &format!(
            "{needle}#{nth}+{shift} -> {}\n",
            if d.is_null() { "null".into() } else { loc(&d) }
        );
    }
    out += "--- references of `drive`\n";
    let (l, ch) = pos_of(&text, "drive", 0, 1);
    let mut p = at(&u, l, ch);
    p["context"] = json!({ "includeDeclaration": true });
    let refs = c.request("textDocument/references", p);
    for r in refs.as_array().into_iter().flatten() {
        out += &format!("{}\n", loc(r));
    }
    out += "--- references of the network `bank`'s member `output`\n";
    let (l, ch) = pos_of(&text, "node output", 0, 6);
    let mut p = at(&u, l, ch);
    p["context"] = json!({ "includeDeclaration": false });
    for r in c.request("textDocument/references", p).as_array().into_iter().flatten() {
        out += &format!("{}\n", loc(r));
    }
    out += "--- rename `drive` to `stim`\n";
    let (l, ch) = pos_of(&text, "drive", 2, 0);
    let mut p = at(&u, l, ch);
    p["newName"] = json!("stim");
    let edit = c.request("textDocument/rename", p);
    for (file, edits) in edit["changes"].as_object().into_iter().flatten() {
        for e in edits.as_array().into_iter().flatten() {
            out += &format!("{} {} -> {}\n", clean(file), range(&e["range"]), e["newText"]);
        }
    }
    let mut p = at(&u, l, ch);
    p["newName"] = json!("connect");
    let id = c.send("textDocument/rename", p);
    let r = c.wait(id);
    out += &format!(
        "rename the node to a keyword (objects may have keyword names): {:?}\n",
        r.error.map(|e| e.message)
    );
    let mut p = at(&u, l, ch);
    p["newName"] = json!("noise");
    let id = c.send("textDocument/rename", p);
    let r = c.wait(id);
    out += &format!("rename onto a declared name: {:?}\n", r.error.map(|e| e.message));
    insta::assert_snapshot!(out);
    c.shutdown();
}

#[test]
fn into_the_standard_library() {
    let mut c = Client::start(&repo());
    let (u, text) = example("integrator.snn");
    c.open(&u, &text);
    let mut out = String::new();
    out += &diags(&c.diagnostics(&u, 1));
    for (needle, shift) in [("integrator(n", 1), ("integ.input", 7), ("std.integrator", 6)] {
        let (l, ch) = pos_of(&text, needle, 0, shift);
        let d = c.request("textDocument/definition", at(&u, l, ch));
        out += &format!("definition {needle}+{shift} -> {}\n", loc(&d));
    }
    out += &hover_text(&mut c, &u, &text, "integrator(n", 0, 1);
    out += &hover_text(&mut c, &u, &text, "integ =", 0, 1);
    // the stdlib file is on disk, read-only
    let (l, ch) = pos_of(&text, "integrator(n", 0, 1);
    let d = c.request("textDocument/definition", at(&u, l, ch));
    let path = lsp_types::Url::parse(d["uri"].as_str().unwrap_or(""))
        .expect("uri")
        .to_file_path()
        .expect("path");
    let meta = std::fs::metadata(&path).expect("stdlib file written");
    out += &format!("stdlib file read-only: {}\n", meta.permissions().readonly());
    let mut p = at(&u, l, ch);
    p["newName"] = json!("integ2");
    let id = c.send("textDocument/rename", p);
    out += &format!("rename a stdlib network: {:?}\n", c.wait(id).error.map(|e| e.message));
    insta::assert_snapshot!(out);
    c.shutdown();
}

#[test]
fn symbols_completion_signatures() {
    let mut c = Client::start(&repo());
    let (u, text) = example("tour.snn");
    c.open(&u, &text);
    let mut out = String::from("--- document symbols\n");
    let syms = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": u } }));
    fn walk(s: &Value, depth: usize, out: &mut String) {
        for s in s.as_array().into_iter().flatten() {
            *out += &format!(
                "{}{} kind={} {} {}\n",
                "  ".repeat(depth),
                s["name"].as_str().unwrap_or(""),
                s["kind"],
                s["detail"].as_str().unwrap_or("-"),
                range(&s["selectionRange"])
            );
            walk(&s["children"], depth + 1, out);
        }
    }
    walk(&syms, 0, &mut out);
    out += "--- workspace symbols `integ`\n";
    let ws = c.request("workspace/symbol", json!({ "query": "integ" }));
    let mut names: Vec<String> = ws
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{} {}", s["name"].as_str().unwrap_or(""), loc(&s["location"])))
        .collect();
    names.sort();
    out += &names.join("\n");
    out += "\n";
    // completions at places edited into the text
    let cases: &[(&str, &str)] = &[
        ("after an instance and a dot", "connect drive -> b."),
        ("after a population and a dot", "probe adapt."),
        ("state variables", "probe adapt.neurons."),
        ("use std.", "use std."),
        ("units", "node k = 5"),
        ("neuron arguments", "ensemble z = lif(n = 3, "),
        ("network arguments", "network b2 = bank("),
        ("tensor names", "node q = w[\""),
        ("config keys", "config {\n    lif."),
    ];
    let mut version = 1;
    for (what, line) in cases {
        version += 1;
        let edited = format!("{text}{line}");
        c.change(&u, version, &edited);
        let (l, ch) = pos_of(&edited, line, 0, line.len() as u32);
        let (l, ch) = if line.contains('\n') {
            (l + 1, line.rsplit('\n').next().map(|s| s.len() as u32).unwrap_or(0))
        } else {
            (l, ch)
        };
        let items = c.request("textDocument/completion", at(&u, l, ch));
        let labels: Vec<String> = items
            .as_array()
            .into_iter()
            .flatten()
            .take(40)
            .map(|i| i["label"].as_str().unwrap_or("").to_string())
            .collect();
        out += &format!("--- completion: {what}\n{}\n", labels.join(" "));
    }
    // general completion offers names in scope, networks, neuron types and keywords
    version += 1;
    let edited = format!("{text}connect ");
    c.change(&u, version, &edited);
    let (l, _) = pos_of(&edited, "connect ", 7, 0);
    let items = c.request("textDocument/completion", at(&u, l, 8));
    let labels: Vec<&str> =
        items.as_array().into_iter().flatten().filter_map(|i| i["label"].as_str()).collect();
    for want in ["drive", "bank_out", "bank", "lif", "adaptive_lif", "connect", "uniform", "sin"] {
        assert!(labels.contains(&want), "{want} not in {labels:?}");
    }
    for (what, line) in [
        ("neuron type", "ensemble z = lif(n = 3, tau_rc = 1ms, "),
        ("network", "network b2 = bank(n = 3, "),
    ] {
        version += 1;
        let edited = format!("{text}{line}");
        c.change(&u, version, &edited);
        let (l, ch) = pos_of(&edited, line, 0, line.len() as u32);
        let s = c.request("textDocument/signatureHelp", at(&u, l, ch));
        out += &format!(
            "--- signature help: {what}\n{} active={}\n",
            s["signatures"][0]["label"].as_str().unwrap_or("(none)"),
            s["activeParameter"]
        );
    }
    insta::assert_snapshot!(out);
    c.shutdown();
}

#[test]
fn formatting_tokens_inlay_hints() {
    let mut c = Client::start(&repo());
    let path = repo().join("examples/__lsp_format_test.snn");
    let u = uri(&path);
    let text = "input x:[2]\nensemble a=lif(n=50,dims=2)\nnode out:[1]\n\
                connect x->a\nconnect a->out transform [[1,1]] synapse 5ms // sum\n";
    c.open(&u, text);
    let mut out = String::from("--- formatting\n");
    let edits = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    for e in edits.as_array().into_iter().flatten() {
        out += &format!("{}\n{}", range(&e["range"]), e["newText"].as_str().unwrap_or(""));
    }
    out += "--- semantic tokens (line, col, len, type, modifiers)\n";
    let toks =
        c.request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": u } }));
    let data: Vec<u64> =
        toks["data"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect();
    let (mut line, mut col) = (0, 0);
    for t in data.chunks(5) {
        if t[0] > 0 {
            col = 0;
        }
        line += t[0];
        col += t[1];
        out += &format!("{line}:{col} len {} type {} mods {}\n", t[2], t[3], t[4]);
    }
    out += "--- inlay hints\n";
    let hints = c.request(
        "textDocument/inlayHint",
        json!({ "textDocument": { "uri": u }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 99, "character": 0 } } }),
    );
    for h in hints.as_array().into_iter().flatten() {
        out +=
            &format!("{}:{} {}\n", h["position"]["line"], h["position"]["character"], h["label"]);
    }
    // a syntax error: formatting replies with an error naming the place
    c.change(&u, 2, "input x: [2\n");
    let id = c.send(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": u }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    out += &format!("format with a syntax error: {:?}\n", c.wait(id).error.map(|e| e.message));
    insta::assert_snapshot!(out);
    c.shutdown();
}

#[test]
fn cancelled_and_unknown_requests_are_answered() {
    let mut c = Client::start(&repo());
    let (u, text) = example("tour.snn");
    c.open(&u, &text);
    // queue many requests, cancel one before the server gets to it
    let ids: Vec<_> = (0..20).map(|_| c.send("textDocument/hover", at(&u, 9, 10))).collect();
    c.notify("$/cancelRequest", json!({ "id": 20 }));
    for id in ids {
        let r = c.wait(id);
        assert!(r.result.is_some() || r.error.is_some());
    }
    let id = c.send("textDocument/noSuchThing", json!({}));
    assert_eq!(c.wait(id).error.map(|e| e.code), Some(-32601));
    let id = c.send("textDocument/hover", json!({ "bad": "params" }));
    assert_eq!(c.wait(id).error.map(|e| e.code), Some(-32602));
    // a document the server does not know is no error
    let none = c.request("textDocument/hover", at("file:///nonexistent/x.snn", 0, 0));
    assert!(none.is_null());
    c.shutdown();
}

#[test]
fn twenty_thousand_duplicates_report_quickly() {
    let mut c = Client::start(&repo());
    let u = uri(&repo().join("examples/__lsp_dup_test.snn"));
    let mut text = String::new();
    for _ in 0..20_000 {
        text.push_str("node a: [1]\n");
    }
    let t = std::time::Instant::now();
    c.open(&u, &text);
    let d = c.diagnostics(&u, 1);
    let elapsed = t.elapsed();
    assert_eq!(d.as_array().map(Vec::len), Some(19_999));
    assert!(elapsed.as_secs_f64() < 5.0, "took {elapsed:?}");
    c.shutdown();
}

#[test]
fn use_files_and_unsaved_buffers() {
    let dir = std::env::temp_dir().join(format!("snn-lsp-use-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dir = dir.canonicalize().expect("canonical temp dir");
    let lib = dir.join("blocks.snn");
    let main = dir.join("main.snn");
    std::fs::write(
        &lib,
        "network relay(n: int = 1) {\n    node input: [n]\n    alias output = input\n}\n",
    )
    .expect("write");
    let main_text = "use \"blocks.snn\"\ninput x: [2]\nnetwork r = relay(n = 2)\n\
                     connect x -> r.input\nprobe r.extra\n";
    std::fs::write(&main, main_text).expect("write");
    let mut c = Client::start(&dir);
    let (lu, mu) = (uri(&lib), uri(&main));
    let clean = |s: String| s.replace(&uri(&dir), "$DIR");
    c.open(&mu, main_text);
    let mut out = clean(diags(&c.diagnostics(&mu, 1)));
    // the imported file is edited, not saved: the document is rechecked with the buffer's text
    let edited = "network relay(n: int = 1) {\n    node input: [n]\n    node extra: [n]\n    \
                  connect input -> extra\n    alias output = input\n}\n";
    c.open(&lu, edited);
    out += &format!("after opening the edited import: {}\n", c.fresh_diagnostics(&mu));
    for (needle, shift) in [("relay(n", 1), ("r.input", 3), ("r.extra", 3), ("blocks.snn", 2)] {
        let (l, ch) = pos_of(main_text, needle, 0, shift);
        let d = c.request("textDocument/definition", at(&mu, l, ch));
        let at = format!("{} {}", d["uri"].as_str().unwrap_or(""), range(&d["range"]));
        out += &clean(format!("definition {needle}+{shift} -> {at}\n"));
    }
    // renaming the network renames it in both files
    let (l, ch) = pos_of(main_text, "relay(n", 0, 1);
    let mut p = at(&mu, l, ch);
    p["newName"] = json!("pass");
    let edit = c.request("textDocument/rename", p);
    let mut edits: Vec<String> = Vec::new();
    for (file, es) in edit["changes"].as_object().into_iter().flatten() {
        for e in es.as_array().into_iter().flatten() {
            edits.push(clean(format!("{} {} -> {}", file, range(&e["range"]), e["newText"])));
        }
    }
    edits.sort();
    out += &format!("rename:\n{}\n", edits.join("\n"));
    insta::assert_snapshot!(out);
    c.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A temporary workspace folder with `files`, removed on drop.
struct TempDir(std::path::PathBuf);
impl TempDir {
    fn new(tag: &str, files: &[(&str, String)]) -> TempDir {
        let dir = std::env::temp_dir().join(format!("snn-lsp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let dir = dir.canonicalize().expect("canonical temp dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write");
        }
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A long file: `n` ensembles in a chain.
fn chain(n: usize) -> String {
    let mut s = String::from("input x: [4]\n");
    let mut prev = "x".to_string();
    for i in 0..n {
        s.push_str(&format!("ensemble e{i} = lif(n = 20, dims = 4)\nconnect {prev} -> e{i}\n"));
        prev = format!("e{i}");
    }
    s
}

#[test]
fn a_running_request_observes_cancellation_and_edits() {
    // 24 files of 5,000 lines: a workspace symbol search reads and parses them one by one
    let files: Vec<(String, String)> =
        (0..24).map(|i| (format!("f{i}.snn"), chain(2500))).collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let dir = TempDir::new("cancel", &files);
    let mut c = Client::start(&dir.0);
    // the server is idle: the request starts at once; the cancellation arrives while it runs
    let t = std::time::Instant::now();
    let id = c.send("workspace/symbol", json!({ "query": "e1" }));
    std::thread::sleep(std::time::Duration::from_millis(40));
    c.notify("$/cancelRequest", json!({ "id": serde_json::to_value(&id).expect("an id") }));
    let r = c.wait(id);
    let cancelled = t.elapsed();
    assert_eq!(
        r.error.as_ref().map(|e| e.code),
        Some(-32800),
        "{:?}",
        r.result.map(|_| "a result")
    );
    // uninterrupted, the same search takes longer than the cancelled one did
    let t = std::time::Instant::now();
    let full = c.request("workspace/symbol", json!({ "query": "e1" }));
    let whole = t.elapsed();
    assert!(full.as_array().is_some_and(|a| a.len() > 1000));
    assert!(cancelled < whole, "cancelled after {cancelled:?}, a whole search takes {whole:?}");
    // an edit arriving while a request runs: ContentModified
    let id = c.send("workspace/symbol", json!({ "query": "e2" }));
    std::thread::sleep(std::time::Duration::from_millis(40));
    let u = uri(&dir.0.join("f0.snn"));
    c.open(&u, "node a: [1]\n");
    let r = c.wait(id);
    assert_eq!(r.error.as_ref().map(|e| e.code), Some(-32801));
    // the server goes on: the edit was applied and is checked
    assert_eq!(c.diagnostics(&u, 1).as_array().map(Vec::len), Some(0));
    let h = c.request("textDocument/hover", at(&u, 0, 5));
    assert!(h["contents"]["value"].as_str().is_some_and(|s| s.contains("node")), "{h}");
    c.shutdown();
}

#[test]
fn references_and_rename_reach_workspace_files_that_use_the_document() {
    let lib = "network relay(n: int = 1) {\n    node input: [n]\n    alias output = input\n}\n";
    let main = "use \"lib.snn\"\ninput x: [2]\nnetwork r = relay(n = 2)\nconnect x -> r.input\n";
    let deep = "use \"../lib.snn\" as l\nnetwork s = l.relay()\nnetwork t = l.relay(n = 3)\n";
    let other = "network relay(n: int = 1) {\n    node input: [n]\n}\nnetwork q = relay()\n";
    let dir = TempDir::new(
        "refs",
        &[("lib.snn", lib.into()), ("main.snn", main.into()), ("other.snn", other.into())],
    );
    std::fs::create_dir_all(dir.0.join("sub")).expect("sub dir");
    std::fs::write(dir.0.join("sub/deep.snn"), deep).expect("write");
    let mut c = Client::start(&dir.0);
    let lu = uri(&dir.0.join("lib.snn"));
    c.open(&lu, lib);
    let clean = |s: String| s.replace(&uri(&dir.0), "$DIR");
    let loc = |l: &Value| format!("{} {}", l["uri"].as_str().unwrap_or(""), range(&l["range"]));
    let (l, ch) = pos_of(lib, "relay", 0, 1);
    let mut p = at(&lu, l, ch);
    p["context"] = json!({ "includeDeclaration": true });
    let refs = c.request("textDocument/references", p);
    let mut out: Vec<String> =
        refs.as_array().into_iter().flatten().map(|l| clean(loc(l))).collect();
    out.sort();
    // the declaration, main.snn's and sub/deep.snn's uses (read from disk); not other.snn's own relay
    assert_eq!(
        out,
        [
            "$DIR/lib.snn 0:8-0:13",
            "$DIR/main.snn 2:12-2:17",
            "$DIR/sub/deep.snn 1:14-1:19",
            "$DIR/sub/deep.snn 2:14-2:19"
        ]
    );
    // members too: `input` of relay is used as `r.input` in main.snn
    let (l, ch) = pos_of(lib, "input", 0, 1);
    let mut p = at(&lu, l, ch);
    p["context"] = json!({ "includeDeclaration": false });
    let refs = c.request("textDocument/references", p);
    let mut out: Vec<String> =
        refs.as_array().into_iter().flatten().map(|l| clean(loc(l))).collect();
    out.sort();
    assert_eq!(out, ["$DIR/lib.snn 2:19-2:24", "$DIR/main.snn 3:15-3:20"]);
    // rename edits the unopened files as well
    let (l, ch) = pos_of(lib, "relay", 0, 1);
    let mut p = at(&lu, l, ch);
    p["newName"] = json!("pass");
    let edit = c.request("textDocument/rename", p);
    let mut edits: Vec<String> = Vec::new();
    for (file, es) in edit["changes"].as_object().into_iter().flatten() {
        for e in es.as_array().into_iter().flatten() {
            edits.push(clean(format!("{file} {} -> {}", range(&e["range"]), e["newText"])));
        }
    }
    edits.sort();
    assert_eq!(
        edits,
        [
            "$DIR/lib.snn 0:8-0:13 -> \"pass\"",
            "$DIR/main.snn 2:12-2:17 -> \"pass\"",
            "$DIR/sub/deep.snn 1:14-1:19 -> \"pass\"",
            "$DIR/sub/deep.snn 2:14-2:19 -> \"pass\""
        ]
    );
    c.shutdown();
}

/// FIFOs and devices in the workspace are never read: workspace symbols, references and
/// rename skip a FIFO `fifo.snn` and a link `zz.snn -> /dev/zero`; a document that `use`s the
/// FIFO or takes weights from a FIFO or from a link to `/dev/zero` gets diagnostics saying so,
/// and the server goes on answering.
#[cfg(unix)]
#[test]
fn fifos_and_devices_in_the_workspace_are_not_read() {
    let lib = "network relay(n: int = 1) {\n    node input: [n]\n}\n";
    let main = "use \"lib.snn\"\nnetwork r = relay(n = 2)\n";
    let dir = TempDir::new("fifo", &[("lib.snn", lib.into()), ("main.snn", main.into())]);
    for fifo in ["fifo.snn", "wf.npz"] {
        let made = std::process::Command::new("mkfifo").arg(dir.0.join(fifo)).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo {fifo}");
    }
    std::os::unix::fs::symlink("/dev/zero", dir.0.join("zz.snn")).expect("link");
    std::os::unix::fs::symlink("/dev/zero", dir.0.join("wz.npz")).expect("link");
    let mut c = Client::start(&dir.0);
    let ws = c.request("workspace/symbol", json!({ "query": "relay" }));
    let files: Vec<&str> =
        ws.as_array().into_iter().flatten().filter_map(|s| s["location"]["uri"].as_str()).collect();
    assert_eq!(files, [uri(&dir.0.join("lib.snn"))], "{ws}");
    let lu = uri(&dir.0.join("lib.snn"));
    c.open(&lu, lib);
    let (l, ch) = pos_of(lib, "relay", 0, 1);
    let mut p = at(&lu, l, ch);
    p["context"] = json!({ "includeDeclaration": false });
    let refs = c.request("textDocument/references", p);
    assert_eq!(refs.as_array().map(Vec::len), Some(1), "{refs}");
    let mut p = at(&lu, l, ch);
    p["newName"] = json!("pass");
    let edit = c.request("textDocument/rename", p);
    assert_eq!(edit["changes"].as_object().map(|m| m.len()), Some(2), "{edit}");
    let doc = "use \"fifo.snn\"\nweights w = \"wf.npz\"\nweights z = \"wz.npz\"\nnode c = w[\"a\"]\nnode d = z[\"a\"]\nprobe c\nprobe d\n";
    let du = uri(&dir.0.join("doc.snn"));
    c.open(&du, doc);
    let d = c.diagnostics(&du, 1).to_string();
    assert!(d.contains("fifo.snn: not a regular file"), "{d}");
    assert!(d.contains("wf.npz: not a regular file"), "{d}");
    assert!(d.contains("wz.npz: not a regular file"), "{d}");
    let hover = c.request("textDocument/hover", at(&du, 3, 5));
    assert!(!hover.is_null(), "the server still answers");
    c.shutdown();
}
