//! The main loop: reads messages, keeps the open documents, answers requests (each in a
//! panic guard, so the server never dies), honours cancellation of queued requests, and
//! publishes diagnostics once the queue is drained.

use crate::analysis::Analysis;
use crate::{diagnostics, features};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{InitializeParams, PublishDiagnosticsParams, ServerCapabilities, Url};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::rc::Rc;

/// Watches the connection while a long request or a check runs: the messages that arrive
/// meanwhile are kept for the main loop, and a `$/cancelRequest` of the running request or an
/// edit of a document interrupts it (`check`, called between files and stages).
#[derive(Clone)]
pub(crate) struct Watch(Rc<WatchInner>);

struct WatchInner {
    /// Takes the next message that has arrived, if any.
    poll: Box<dyn Fn() -> Option<Message>>,
    /// Messages taken while a request ran, for the main loop.
    inbox: RefCell<VecDeque<Message>>,
    /// The request running now (`None` while diagnostics are made).
    current: RefCell<Option<RequestId>>,
}

/// Why a request or a check stopped early: the LSP error code to answer with. It unwinds (with
/// `resume_unwind`, no panic message) to the request's guard.
pub(crate) struct Interrupted(pub(crate) i32);

impl Watch {
    fn new(poll: Box<dyn Fn() -> Option<Message>>) -> Watch {
        Watch(Rc::new(WatchInner {
            poll,
            inbox: RefCell::new(VecDeque::new()),
            current: RefCell::new(None),
        }))
    }

    /// Stop the running request (or check) when it was cancelled or a document changed since
    /// it started: `RequestCanceled` or `ContentModified` (LSP 3.17).
    pub(crate) fn check(&self) {
        if let Some(code) = self.interrupted() {
            std::panic::resume_unwind(Box::new(Interrupted(code)));
        }
    }

    fn interrupted(&self) -> Option<i32> {
        let mut inbox = self.0.inbox.borrow_mut();
        while let Some(m) = (self.0.poll)() {
            inbox.push_back(m);
        }
        let current = self.0.current.borrow();
        for m in inbox.iter() {
            let Message::Notification(n) = m else { continue };
            if n.method == notif::Cancel::METHOD && current.is_some() && cancel_id(n) == *current {
                return Some(ErrorCode::RequestCanceled as i32);
            }
            if [
                notif::DidChangeTextDocument::METHOD,
                notif::DidOpenTextDocument::METHOD,
                notif::DidCloseTextDocument::METHOD,
                notif::DidSaveTextDocument::METHOD,
            ]
            .contains(&n.method.as_str())
            {
                return Some(ErrorCode::ContentModified as i32);
            }
        }
        None
    }

    fn drain(&self) -> Vec<Message> {
        self.0.inbox.borrow_mut().drain(..).collect()
    }

    fn set_current(&self, id: Option<RequestId>) {
        *self.0.current.borrow_mut() = id;
    }
}

/// A target's own checks of a model that passed the compiler's (`snnc check --target NAME`):
/// what does not map onto it, as located diagnostics. The CLI supplies them (the server
/// depends on no target).
pub type TargetCheck = dyn Fn(&snn_compiler::model::Model) -> Vec<snn_syntax::Diagnostic>;

/// The targets a server can check for, and the one it checks for unless the client's
/// `initializationOptions` say `{"target": NAME}` (or `null`: none).
#[derive(Default)]
pub struct Targets {
    /// Each target's name and check.
    pub checks: Vec<(&'static str, Box<TargetCheck>)>,
    /// The default (`snnc lsp --target NAME`).
    pub selected: Option<String>,
}

/// The largest message body the server reads (its `Content-Length`): a longer one is read and
/// thrown away in chunks, never held, and said in a `window/logMessage`.
pub const MAX_MESSAGE_BYTES: u64 = 256 << 20;

/// The longest header line read; the rest of a longer one is thrown away.
const MAX_HEADER_LINE: u64 = 64 << 10;

/// One frame of the base protocol (headers, an empty line, `Content-Length` bytes of JSON), as
/// the reader thread sees it.
#[derive(Debug)]
enum Frame {
    /// A message.
    Message(Message),
    /// A malformed frame, skipped: why.
    Malformed(String),
    /// A frame whose body is longer than [`MAX_MESSAGE_BYTES`]: its length. The body is still
    /// to be skipped ([`discard`]).
    TooLarge(u64),
    /// The end of the input.
    End,
}

/// Reads one frame from `r`, allocating no more than [`MAX_MESSAGE_BYTES`] for the body
/// whatever its `Content-Length` says. `Err`: the input failed.
fn read_frame(r: &mut impl std::io::BufRead) -> std::io::Result<Frame> {
    use std::io::{BufRead, Read};
    let mut size = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if (&mut *r).take(MAX_HEADER_LINE).read_until(b'\n', &mut line)? == 0 {
            return Ok(Frame::End);
        }
        if !line.ends_with(b"\n") && line.len() as u64 == MAX_HEADER_LINE {
            // the rest of the line, in bounded pieces
            loop {
                line.clear();
                let n = (&mut *r).take(MAX_HEADER_LINE).read_until(b'\n', &mut line)?;
                if n == 0 || line.ends_with(b"\n") {
                    break;
                }
            }
            return Ok(Frame::Malformed(format!(
                "a header line longer than {} KiB",
                MAX_HEADER_LINE >> 10
            )));
        }
        let Some(text) = line.strip_suffix(b"\r\n") else {
            return Ok(Frame::Malformed(format!(
                "malformed header: {:?}",
                String::from_utf8_lossy(&line)
            )));
        };
        if text.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(text);
        let Some((name, value)) = text.split_once(": ") else {
            return Ok(Frame::Malformed(format!("malformed header: {text:?}")));
        };
        if name.eq_ignore_ascii_case("Content-Length") {
            match value.trim().parse::<u64>() {
                Ok(n) => size = Some(n),
                Err(e) => {
                    return Ok(Frame::Malformed(format!("malformed Content-Length {value:?}: {e}")))
                }
            }
        }
    }
    let Some(size) = size else { return Ok(Frame::Malformed("no Content-Length".to_string())) };
    if size > MAX_MESSAGE_BYTES {
        return Ok(Frame::TooLarge(size));
    }
    let mut body = Vec::new();
    if ((&mut *r).take(size).read_to_end(&mut body)? as u64) < size {
        return Ok(Frame::End);
    }
    Ok(match serde_json::from_slice::<Message>(&body) {
        Ok(m) => Frame::Message(m),
        Err(e) => Frame::Malformed(format!("malformed LSP payload: {e}")),
    })
}

/// Reads and throws away `size` bytes of `r` (a body too large to hold), in chunks; `false`
/// when the input ended first.
fn discard(r: &mut impl std::io::Read, size: u64) -> std::io::Result<bool> {
    use std::io::Read;
    let skipped = std::io::copy(&mut (&mut *r).take(size), &mut std::io::sink())?;
    Ok(skipped == size)
}

/// Run the server over stdin/stdout until the client exits. A message whose body is not
/// JSON-RPC, or is longer than [`MAX_MESSAGE_BYTES`], is skipped (and said in a
/// `window/logMessage`), not the end of the server.
pub fn run_stdio(targets: Targets) -> Result<(), String> {
    use std::io::Write;
    let (conn, client) = Connection::memory();
    let to_server = client.sender;
    let to_client = conn.sender.clone();
    let spawn = |name: &str| std::thread::Builder::new().name(name.to_string());
    spawn("snn-lsp-reader")
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let log = |message: String| {
                let log = lsp_types::LogMessageParams { typ: lsp_types::MessageType::ERROR, message };
                let n = Notification::new(notif::LogMessage::METHOD.to_string(), log);
                let _ = to_client.send(n.into());
            };
            loop {
                match read_frame(&mut stdin) {
                    Ok(Frame::Message(m)) => {
                        let exit = matches!(&m, Message::Notification(n) if n.method == notif::Exit::METHOD);
                        if to_server.send(m).is_err() || exit {
                            break;
                        }
                    }
                    Ok(Frame::Malformed(why)) => {
                        log(format!("snnc: skipped a malformed message: {why}"));
                    }
                    Ok(Frame::TooLarge(size)) => {
                        log(format!(
                            "snnc: skipped a message of {size} bytes (its Content-Length), more \
                             than the {} MiB a message may have",
                            MAX_MESSAGE_BYTES >> 20
                        ));
                        if !matches!(discard(&mut stdin, size), Ok(true)) {
                            break;
                        }
                    }
                    Ok(Frame::End) | Err(_) => break,
                }
            }
        })
        .map_err(|e| e.to_string())?;
    let from_server = client.receiver;
    let writer = spawn("snn-lsp-writer")
        .spawn(move || -> std::io::Result<()> {
            let mut stdout = std::io::stdout().lock();
            for m in from_server {
                m.write(&mut stdout)?;
                stdout.flush()?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    let served = serve(conn, targets);
    // one server per process here: its standard-library copies go with it
    crate::analysis::remove_stdlib_dir();
    // the writer ends once the server's sender is gone (the reader's clone with it, at exit
    // or end of input)
    let written = writer.join().map_err(|_| "the writer thread panicked".to_string())?;
    served?;
    written.map_err(|e| e.to_string())
}

/// Run the server over `conn` (the initialize handshake, then the main loop) until `exit`.
pub fn serve(conn: Connection, targets: Targets) -> Result<(), String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let init = conn.initialize(caps).map_err(|e| e.to_string())?;
    let params: InitializeParams = serde_json::from_value(init).unwrap_or_default();
    let receiver = conn.receiver.clone();
    let watch = Watch::new(Box::new(move || receiver.try_recv().ok()));
    let mut state = State::new(&params, watch);
    let mut selected = targets.selected;
    if let Some(opt) = params.initialization_options.as_ref().and_then(|o| o.get("target")) {
        selected = opt.as_str().map(str::to_string);
    }
    if let Some(name) = selected {
        let Targets { checks, .. } = targets;
        let known: Vec<&str> = checks.iter().map(|(n, _)| *n).collect();
        let known = known.join(", ");
        match checks.into_iter().find(|(n, _)| *n == name) {
            Some((_, check)) => state.target = Some(check),
            None => send_notification::<lsp_types::notification::ShowMessage>(
                &conn,
                lsp_types::ShowMessageParams {
                    typ: lsp_types::MessageType::WARNING,
                    message: format!(
                        "snnc: unknown target `{name}` (available: {known}); checking without one"
                    ),
                },
            ),
        }
    }
    main_loop(&conn, &mut state)
}

/// What the server can do (LSP 3.17).
pub fn capabilities() -> ServerCapabilities {
    use lsp_types::*;
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::Supported(true)),
            ..Default::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "\"".into(), "(".into(), ",".into()]),
            ..Default::default()
        }),
        signature_help_provider: Some(SignatureHelpOptions {
            trigger_characters: Some(vec!["(".into(), ",".into()]),
            retrigger_characters: None,
            work_done_progress_options: Default::default(),
        }),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: crate::tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: Default::default(),
            },
        )),
        inlay_hint_provider: Some(OneOf::Left(true)),
        ..Default::default()
    }
}

/// An open document.
pub(crate) struct Doc {
    /// Its current text.
    pub(crate) text: String,
    /// The editor's version of it.
    pub(crate) version: i32,
}

/// The server's state: open documents, their analyses, pending diagnostics.
pub(crate) struct State {
    /// Open documents.
    pub(crate) docs: BTreeMap<Url, Doc>,
    /// The latest analysis of each document (valid while its generation is current).
    cache: BTreeMap<Url, Rc<Analysis>>,
    /// The latest analysis of each document whose text had no syntax error: names for
    /// completion while the text being typed does not parse.
    last_good: BTreeMap<Url, Rc<Analysis>>,
    /// Documents whose diagnostics must be published.
    dirty: BTreeSet<Url>,
    /// Bumped on every change to any document: analyses of older generations are stale.
    generation: u64,
    /// Workspace folders (for workspace symbols).
    pub(crate) roots: Vec<PathBuf>,
    /// The target whose checks follow the compiler's ([`Targets`]).
    target: Option<Box<TargetCheck>>,
    /// The incremental parser: the trees of unchanged statements are reused between checks.
    parser: snn_syntax::Reparser,
    /// Analyses replaced since the last diagnostics were published: dropped after publishing,
    /// so freeing a large one does not delay its successor's diagnostics.
    replaced: Vec<Rc<Analysis>>,
    /// Interrupts long requests and checks (see [`Watch`]).
    pub(crate) watch: Watch,
    /// To the thread that frees replaced analyses.
    freeing: std::sync::mpsc::Sender<Box<dyn std::any::Any + Send>>,
}

impl State {
    fn new(params: &InitializeParams, watch: Watch) -> State {
        let mut roots: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().ok())
            .collect();
        #[allow(deprecated)] // older clients send only rootUri
        if let Some(p) = params.root_uri.as_ref().and_then(|u| u.to_file_path().ok()) {
            if roots.is_empty() {
                roots.push(p);
            }
        }
        State {
            docs: BTreeMap::new(),
            cache: BTreeMap::new(),
            last_good: BTreeMap::new(),
            dirty: BTreeSet::new(),
            generation: 0,
            roots,
            target: None,
            parser: snn_syntax::Reparser::new(),
            replaced: Vec::new(),
            watch,
            freeing: freeing_thread(),
        }
    }

    /// The text of `uri`: the open buffer, else the file on disk.
    pub(crate) fn text(&self, uri: &Url) -> Option<String> {
        if let Some(d) = self.docs.get(uri) {
            return Some(d.text.clone());
        }
        crate::text::read_regular_file(&uri.to_file_path().ok()?)
    }

    /// The current analysis of `uri`, made now if stale.
    pub(crate) fn analysis(&mut self, uri: &Url) -> Option<Rc<Analysis>> {
        if let Some(a) = self.cache.get(uri) {
            if a.generation == self.generation {
                return Some(a.clone());
            }
        }
        let text = self.text(uri)?;
        let open = self.docs.iter().map(|(u, d)| (u, d.text.as_str()));
        let a = Rc::new(Analysis::new(
            uri,
            &text,
            open,
            self.generation,
            &mut self.parser,
            &self.watch,
            self.target.as_deref(),
        ));
        self.replaced.extend(self.cache.insert(uri.clone(), a.clone()));
        if !a.has_syntax_error() {
            self.replaced.extend(self.last_good.insert(uri.clone(), a.clone()));
        }
        Some(a)
    }

    /// The analysis whose scope index answers name queries at the cursor: the current one,
    /// or the last without a syntax error when the current text does not parse.
    pub(crate) fn names_analysis(&mut self, uri: &Url) -> Option<Rc<Analysis>> {
        let a = self.analysis(uri)?;
        if a.has_syntax_error() {
            if let Some(good) = self.last_good.get(uri) {
                return Some(good.clone());
            }
        }
        Some(a)
    }

    fn changed(&mut self, uri: &Url) {
        self.generation += 1;
        // Recheck, when idle, the document and the open documents whose last check used it.
        self.dirty.insert(uri.clone());
        for (other, a) in &self.cache {
            if other != uri && self.docs.contains_key(other) && a.uses_file(uri) {
                self.dirty.insert(other.clone());
            }
        }
    }

    /// Free the replaced analyses: their large parts on the freeing thread, so that freeing
    /// delays no answer.
    fn free_replaced(&mut self) {
        for a in self.replaced.drain(..) {
            if let Ok(a) = Rc::try_unwrap(a) {
                for part in a.into_parts() {
                    if let Err(e) = self.freeing.send(part) {
                        drop(e.0); // the thread is gone: free it here
                    }
                }
            }
        }
    }

    fn publish_pending(&mut self, conn: &Connection) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut dirty = dirty.into_iter();
        while let Some(uri) = dirty.next() {
            let Some(version) = self.docs.get(&uri).map(|d| d.version) else {
                // closed: clear its diagnostics
                send_notification::<notif::PublishDiagnostics>(
                    conn,
                    PublishDiagnosticsParams { uri, diagnostics: Vec::new(), version: None },
                );
                continue;
            };
            let diags = match catch_unwind(AssertUnwindSafe(|| {
                self.analysis(&uri).map(|a| diagnostics::lsp_diagnostics(&a)).unwrap_or_default()
            })) {
                Ok(d) => d,
                // a newer edit arrived: publish after it, for its text
                Err(e) if e.is::<Interrupted>() => {
                    self.dirty.insert(uri);
                    self.dirty.extend(dirty);
                    return;
                }
                Err(_) => Vec::new(),
            };
            send_notification::<notif::PublishDiagnostics>(
                conn,
                PublishDiagnosticsParams { uri, diagnostics: diags, version: Some(version) },
            );
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            notif::DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                {
                    let d = p.text_document;
                    self.docs.insert(d.uri.clone(), Doc { text: d.text, version: d.version });
                    self.changed(&d.uri);
                }
            }
            notif::DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                {
                    let uri = p.text_document.uri;
                    if let Some(doc) = self.docs.get_mut(&uri) {
                        for c in p.content_changes {
                            crate::text::apply_change(&mut doc.text, c);
                        }
                        doc.version = p.text_document.version;
                        self.changed(&uri);
                    }
                }
            }
            notif::DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                {
                    let uri = p.text_document.uri;
                    self.docs.remove(&uri);
                    self.cache.remove(&uri);
                    self.last_good.remove(&uri);
                    self.changed(&uri);
                }
            }
            notif::DidSaveTextDocument::METHOD => {
                // Other documents may import the saved file from disk.
                self.generation += 1;
                self.dirty.extend(self.docs.keys().cloned());
            }
            _ => {}
        }
    }

    /// Answer one request; `Err` is an error response's code and message.
    pub(crate) fn request(&mut self, r: &Request) -> Result<serde_json::Value, (i32, String)> {
        let p = r.params.clone();
        macro_rules! route {
            ($($req:ty => $f:path,)*) => {
                match r.method.as_str() {
                    $(<$req>::METHOD => {
                        let params: <$req as req::Request>::Params = serde_json::from_value(p)
                            .map_err(|e| (ErrorCode::InvalidParams as i32, e.to_string()))?;
                        let out: <$req as req::Request>::Result = $f(self, params)?;
                        serde_json::to_value(out)
                            .map_err(|e| (ErrorCode::InternalError as i32, e.to_string()))
                    })*
                    other => Err((ErrorCode::MethodNotFound as i32, format!("unknown request {other}"))),
                }
            };
        }
        route! {
            req::HoverRequest => features::hover,
            req::GotoDefinition => features::definition,
            req::References => features::references,
            req::PrepareRenameRequest => features::prepare_rename,
            req::Rename => features::rename,
            req::DocumentSymbolRequest => features::document_symbols,
            req::WorkspaceSymbolRequest => features::workspace_symbols,
            req::Completion => crate::complete::completion,
            req::SignatureHelpRequest => crate::complete::signature_help,
            req::Formatting => features::formatting,
            req::CodeActionRequest => diagnostics::code_actions,
            req::SemanticTokensFullRequest => crate::tokens::semantic_tokens,
            req::InlayHintRequest => features::inlay_hints,
        }
    }
}

/// A thread that drops what it is sent (ends when the sender does).
fn freeing_thread() -> std::sync::mpsc::Sender<Box<dyn std::any::Any + Send>> {
    let (tx, rx) = std::sync::mpsc::channel::<Box<dyn std::any::Any + Send>>();
    // without a thread the receiver is gone: sends fail and parts are freed where they are
    let _ = std::thread::Builder::new().name("snn-lsp-free".into()).spawn(move || {
        for part in rx {
            drop(part);
        }
    });
    tx
}

fn send_notification<N: lsp_types::notification::Notification>(conn: &Connection, p: N::Params) {
    let _ = conn.sender.send(Message::Notification(Notification::new(N::METHOD.to_string(), p)));
}

fn cancel_id(n: &Notification) -> Option<RequestId> {
    let p: lsp_types::CancelParams = serde_json::from_value(n.params.clone()).ok()?;
    Some(match p.id {
        lsp_types::NumberOrString::Number(i) => RequestId::from(i),
        lsp_types::NumberOrString::String(s) => RequestId::from(s),
    })
}

fn main_loop(conn: &Connection, state: &mut State) -> Result<(), String> {
    let mut queue: VecDeque<Message> = VecDeque::new();
    let mut shut_down = false;
    loop {
        // messages that arrived while a request ran come first
        queue.extend(state.watch.drain());
        if queue.is_empty() {
            state.watch.set_current(None);
            state.publish_pending(conn);
            queue.extend(state.watch.drain());
            if queue.is_empty() {
                state.free_replaced();
                match conn.receiver.recv() {
                    Ok(m) => queue.push_back(m),
                    Err(_) => return Ok(()),
                }
            }
        }
        while let Ok(m) = conn.receiver.try_recv() {
            queue.push_back(m);
        }
        // Cancelled requests still queued are answered at once.
        let cancelled: Vec<RequestId> = queue
            .iter()
            .filter_map(|m| match m {
                Message::Notification(n) if n.method == notif::Cancel::METHOD => cancel_id(n),
                _ => None,
            })
            .collect();
        if !cancelled.is_empty() {
            queue.retain(|m| match m {
                Message::Request(r) if cancelled.contains(&r.id) => {
                    let resp = Response::new_err(
                        r.id.clone(),
                        ErrorCode::RequestCanceled as i32,
                        "cancelled".to_string(),
                    );
                    let _ = conn.sender.send(resp.into());
                    false
                }
                Message::Notification(n) => n.method != notif::Cancel::METHOD,
                _ => true,
            });
        }
        let Some(msg) = queue.pop_front() else { continue };
        match msg {
            Message::Request(r) => {
                if r.method == req::Shutdown::METHOD {
                    shut_down = true;
                    let _ = conn.sender.send(Response::new_ok(r.id, ()).into());
                    continue;
                }
                // the protocol's rules: one initialize; nothing but exit after shutdown
                let refused = if r.method == req::Initialize::METHOD {
                    Some("the server is already initialized")
                } else if shut_down {
                    Some("the server is shut down: only `exit` is expected")
                } else {
                    None
                };
                if let Some(why) = refused {
                    let code = ErrorCode::InvalidRequest as i32;
                    let _ = conn.sender.send(Response::new_err(r.id, code, why.into()).into());
                    continue;
                }
                let id = r.id.clone();
                state.watch.set_current(Some(id.clone()));
                let answer = catch_unwind(AssertUnwindSafe(|| state.request(&r)));
                state.watch.set_current(None);
                let resp = match answer {
                    Ok(Ok(v)) => Response { id, result: Some(v), error: None },
                    Ok(Err((code, msg))) => Response::new_err(id, code, msg),
                    Err(e) if e.is::<Interrupted>() => {
                        let code = e.downcast_ref::<Interrupted>().map_or(0, |i| i.0);
                        let why = if code == ErrorCode::RequestCanceled as i32 {
                            "cancelled"
                        } else {
                            "a document changed while the request ran"
                        };
                        Response::new_err(id, code, why.to_string())
                    }
                    Err(_) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        format!("internal error while answering {}", r.method),
                    ),
                };
                let _ = conn.sender.send(resp.into());
            }
            Message::Notification(n) => {
                if n.method == notif::Exit::METHOD {
                    // the protocol: exit without shutdown ends with status 1
                    return if shut_down {
                        Ok(())
                    } else {
                        Err("the client sent `exit` without `shutdown`".to_string())
                    };
                }
                let _ = catch_unwind(AssertUnwindSafe(|| state.notification(n)));
            }
            Message::Response(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;
    use std::io::Cursor;

    #[test]
    fn frames_are_read_without_trusting_content_length() {
        let ok = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input =
            "Content-Length: 18446744073709551615\r\n\r\n{}Content-Length: 99999999999999\r\n\r\n";
        let mut r = Cursor::new(input.as_bytes().to_vec());
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::TooLarge(u64::MAX)));
        assert!(!discard(&mut r, u64::MAX).unwrap(), "the input ends first");
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::End));

        // a body just over the cap is skipped and the next message read
        let big = MAX_MESSAGE_BYTES + 1;
        let mut input = format!("Content-Length: {big}\r\n\r\n").into_bytes();
        input.resize(input.len() + big as usize, b' ');
        input.extend(format!("Content-Length: {}\r\n\r\n{ok}", ok.len()).bytes());
        let mut r = Cursor::new(input);
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::TooLarge(n) if n == big));
        assert!(discard(&mut r, big).unwrap());
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::Message(_)));
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::End));
    }

    #[test]
    fn malformed_frames_are_skipped() {
        let cases: [&[u8]; 4] = [
            b"Content-Length: -1\r\n\r\n",
            b"Content-Length: 2\r\n\r\n{]",
            b"Content-Type: x\r\n\r\n",
            b"Content-Length 2\r\n\r\n{}",
        ];
        for input in cases {
            let f = read_frame(&mut Cursor::new(input.to_vec())).unwrap();
            assert!(
                matches!(f, Frame::Malformed(_)),
                "{:?}: {f:?}",
                String::from_utf8_lossy(input)
            );
        }
        let mut long = vec![b'x'; 3 * MAX_HEADER_LINE as usize];
        long.extend(b"\r\n");
        let mut r = Cursor::new(long);
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::Malformed(m) if m.contains("longer")));
        assert!(matches!(read_frame(&mut r).unwrap(), Frame::End), "the whole line was skipped");
    }
}
