//! An in-process LSP client driving the server over `lsp_server::Connection::memory()`.

#![allow(dead_code, unreachable_pub)] // each test binary uses part of it; a test module

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Duration;

/// A client talking to a server thread.
pub struct Client {
    conn: Connection,
    server: Option<JoinHandle<Result<(), String>>>,
    next_id: i32,
    /// Responses that arrived before they were waited for (cancelled requests).
    early: Vec<Response>,
    /// Notifications received so far.
    pub notifications: Vec<Notification>,
}

/// The repository's root directory.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The `file://` URI of a path.
pub fn uri(path: &Path) -> String {
    lsp_types::Url::from_file_path(path).expect("absolute path").to_string()
}

impl Client {
    /// Start a server and initialize it with `root` as the workspace.
    pub fn start(root: &Path) -> Client {
        let (server, conn) = Connection::memory();
        let handle =
            std::thread::spawn(move || snn_lsp::serve(server, snn_lsp::Targets::default()));
        let mut c = Client {
            conn,
            server: Some(handle),
            next_id: 0,
            early: Vec::new(),
            notifications: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({ "processId": null, "rootUri": uri(root), "capabilities": {} }),
        );
        assert!(init.get("capabilities").is_some(), "{init}");
        c.notify("initialized", json!({}));
        c
    }

    /// Send a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        let n = Notification::new(method.to_string(), params);
        self.conn.sender.send(Message::Notification(n)).expect("server alive");
    }

    /// Send a request without waiting; returns its id.
    pub fn send(&mut self, method: &str, params: Value) -> RequestId {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let r = Request::new(id.clone(), method.to_string(), params);
        self.conn.sender.send(Message::Request(r)).expect("server alive");
        id
    }

    /// Wait for the response to `id` (notifications arriving meanwhile are kept).
    pub fn wait(&mut self, id: RequestId) -> Response {
        if let Some(i) = self.early.iter().position(|r| r.id == id) {
            return self.early.remove(i);
        }
        loop {
            match self.conn.receiver.recv_timeout(Duration::from_secs(60)) {
                Ok(Message::Response(r)) if r.id == id => return r,
                Ok(Message::Response(r)) => self.early.push(r),
                Ok(Message::Notification(n)) => self.notifications.push(n),
                Ok(Message::Request(_)) => {}
                Err(e) => panic!("no response to {id:?}: {e}"),
            }
        }
    }

    /// Send a request and return its result (panics on an error response).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        let r = self.wait(id);
        if let Some(e) = r.error {
            panic!("{method} failed: {} {}", e.code, e.message);
        }
        r.result.unwrap_or(Value::Null)
    }

    /// Open a document.
    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "snn", "version": 1, "text": text } }),
        );
    }

    /// Replace a document's whole text.
    pub fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    /// The diagnostics last published for `uri` at `version` (waits for them).
    pub fn diagnostics(&mut self, uri: &str, version: i32) -> Value {
        loop {
            let found = self.notifications.iter().rev().find(|n| {
                n.method == "textDocument/publishDiagnostics"
                    && n.params["uri"] == uri
                    && n.params["version"] == version
            });
            if let Some(n) = found {
                return n.params["diagnostics"].clone();
            }
            match self.conn.receiver.recv_timeout(Duration::from_secs(60)) {
                Ok(Message::Notification(n)) => self.notifications.push(n),
                Ok(_) => {}
                Err(e) => panic!("no diagnostics for {uri}: {e}"),
            }
        }
    }

    /// The next diagnostics published for `uri` (whatever their version).
    pub fn fresh_diagnostics(&mut self, uri: &str) -> Value {
        let is_for = |n: &Notification| {
            n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri
        };
        self.notifications.retain(|n| !is_for(n));
        loop {
            match self.conn.receiver.recv_timeout(Duration::from_secs(60)) {
                Ok(Message::Notification(n)) if is_for(&n) => {
                    return n.params["diagnostics"].clone()
                }
                Ok(Message::Notification(n)) => self.notifications.push(n),
                Ok(_) => {}
                Err(e) => panic!("no diagnostics for {uri}: {e}"),
            }
        }
    }

    /// Shut the server down and wait for its thread.
    pub fn shutdown(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        if let Some(h) = self.server.take() {
            h.join().expect("server thread").expect("server loop ends cleanly");
        }
    }
}

/// `{ textDocument, position }` params.
pub fn at(uri: &str, line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": character } })
}

/// The (line, character) of the `nth` occurrence of `needle` in `text`, plus `shift` columns.
pub fn pos_of(text: &str, needle: &str, nth: usize, shift: u32) -> (u32, u32) {
    let off = text.match_indices(needle).nth(nth).map(|(i, _)| i).expect("needle in text");
    let line = text[..off].matches('\n').count() as u32;
    let col = (off - text[..off].rfind('\n').map(|i| i + 1).unwrap_or(0)) as u32;
    (line, col + shift)
}
