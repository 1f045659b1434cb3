//! Latency benchmark of the language server (not a timed test): diagnostics after an edit
//! (didChange → publishDiagnostics) and completion, on the examples and on a generated
//! 5,000-line file; prints the median and the 95th percentile of the wall-clock time and, on
//! Linux, of the server thread's CPU time (`/proc/self/task/TID/schedstat`), which a loaded
//! machine inflates far less than the wall clock.
//!
//! `cargo run --release -p snn-lsp --example bench [-- ROUNDS]`

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Client {
    conn: Connection,
    id: i32,
}

impl Client {
    fn send(&mut self, method: &str, params: Value) -> Option<Value> {
        self.id += 1;
        let id = RequestId::from(self.id);
        let r = Request::new(id.clone(), method.to_string(), params);
        self.conn.sender.send(Message::Request(r)).ok()?;
        loop {
            match self.conn.receiver.recv_timeout(Duration::from_secs(60)).ok()? {
                Message::Response(r) if r.id == id => return r.result,
                _ => {}
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        let n = Notification::new(method.to_string(), params);
        let _ = self.conn.sender.send(Message::Notification(n));
    }

    fn diagnostics(&self, version: i32) {
        while let Ok(m) = self.conn.receiver.recv_timeout(Duration::from_secs(60)) {
            if let Message::Notification(n) = m {
                if n.method == "textDocument/publishDiagnostics" && n.params["version"] == version {
                    return;
                }
            }
        }
    }
}

fn stats(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    let at = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
    format!("median {:7.2} ms  p95 {:7.2} ms", at(0.5), at(0.95))
}

/// The CPU time (ms) the server thread has used, when the system says (Linux).
fn server_cpu_ms() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    for t in tasks.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == "lsp-bench-srv" {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            let ns: f64 =
                stat.split_whitespace().next().and_then(|x| x.parse().ok()).unwrap_or(0.0);
            return ns / 1e6;
        }
    }
    0.0
}

fn generated() -> String {
    let mut s = String::from("input x: [4]\n");
    let mut prev = "x".to_string();
    for i in 0..1666 {
        s.push_str(&format!("ensemble e{i} = lif(n = 20, dims = 4)\n"));
        s.push_str(&format!("connect {prev} -> e{i} synapse 5ms\n"));
        s.push_str(&format!("probe p{i} = e{i} synapse 10ms\n"));
        prev = format!("e{i}");
    }
    s
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let repo: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().unwrap_or(repo);
    let (server, conn) = Connection::memory();
    let handle = std::thread::Builder::new()
        .name("lsp-bench-srv".into())
        .spawn(move || snn_lsp::serve(server, snn_lsp::Targets::default()))
        .expect("server thread");
    let mut c = Client { conn, id: 0 };
    let root = lsp_types::Url::from_file_path(&repo).map(|u| u.to_string()).unwrap_or_default();
    c.send("initialize", json!({ "processId": null, "rootUri": root, "capabilities": {} }));
    c.notify("initialized", json!({}));
    let mut files: Vec<(String, String)> = Vec::new();
    for name in ["square", "integrator", "tour", "conv_layers", "communication_channel"] {
        let p = repo.join("examples").join(format!("{name}.snn"));
        if let Ok(t) = std::fs::read_to_string(&p) {
            files.push((p.display().to_string(), t));
        }
    }
    files.push((repo.join("examples/__bench_5000_lines.snn").display().to_string(), generated()));
    println!("{:<40} {:<34} {:<34}", "file (lines)", "diagnostics after an edit", "completion");
    println!("{:<40} {:<34} {:<34}", "", "(wall clock; server CPU below)", "");
    for (path, text) in files {
        let uri = lsp_types::Url::from_file_path(&path).map(|u| u.to_string()).unwrap_or_default();
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "snn", "version": 1, "text": text } }),
        );
        c.diagnostics(1);
        let line = text.lines().count() as u32;
        let (mut diag, mut comp, mut again) = (Vec::new(), Vec::new(), Vec::new());
        let (mut diag_cpu, mut comp_cpu) = (Vec::new(), Vec::new());
        for r in 0..rounds {
            let version = r as i32 + 2;
            let edit = if r % 2 == 0 { "// edit\n" } else { "" };
            let t = Instant::now();
            let cpu = server_cpu_ms();
            c.notify(
                "textDocument/didChange",
                json!({ "textDocument": { "uri": uri, "version": version },
                        "contentChanges": [{ "text": format!("{text}{edit}") }] }),
            );
            c.diagnostics(version);
            diag.push(t.elapsed().as_secs_f64() * 1e3);
            diag_cpu.push(server_cpu_ms() - cpu);
            let t = Instant::now();
            let cpu = server_cpu_ms();
            c.send(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": { "line": line / 2, "character": 8 } }),
            );
            comp.push(t.elapsed().as_secs_f64() * 1e3);
            comp_cpu.push(server_cpu_ms() - cpu);
            let t = Instant::now();
            c.send(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": { "line": line / 2, "character": 8 } }),
            );
            again.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let name = Path::new(&path).file_name().map(|n| n.to_string_lossy().to_string());
        println!(
            "{:<40} {:<34} {:<34}",
            format!("{} ({line})", name.unwrap_or_default()),
            stats(diag),
            stats(comp)
        );
        println!("{:<40} {:<34} {:<34}", "  (server CPU)", stats(diag_cpu), stats(comp_cpu));
        println!("{:<40} {:<34} {:<34}", "  (completion again, cached)", "", stats(again));
    }
    c.send("shutdown", Value::Null);
    c.notify("exit", Value::Null);
    let _ = handle.join();
}
