//! One analysis of a document: the compiler's check over an in-memory overlay of the open
//! editor buffers, plus every loaded file's syntax tree and scope index, and the resolution of
//! references across files. This is the one module that knows the compiler's file-system
//! source database (`snn_fs::FsDb`).

use crate::server::Watch;
use crate::text::LineMap;
use lsp_types::Url;
use snn_compiler::resolve::index::{Def, DefId, DefKind, FileIndex, Ref, RefTarget, ScopeId};
use snn_compiler::{Checked, SourceDb, TensorSource};
use snn_fs::FsDb;
use snn_syntax::ast;
use snn_syntax::{FileId, Reparser};
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A loaded file of an analysis.
pub(crate) struct FileData {
    /// Where the editor finds it.
    pub(crate) uri: Url,
    /// Its text.
    pub(crate) text: String,
    /// Its lines.
    pub(crate) lines: LineMap,
    /// Its syntax tree.
    tree: Rc<ast::File>,
    /// Its definitions and references, built from `tree` when first asked for (the
    /// document's when it is checked).
    index: OnceCell<FileIndex>,
    /// For each of its `use` items (`index().uses`, in order), the file it loads.
    pub(crate) uses: Vec<Option<FileId>>,
    /// The span of each of its `use` items.
    pub(crate) use_spans: Vec<snn_syntax::Span>,
    /// A standard-library file: never edited.
    pub(crate) read_only: bool,
}

impl FileData {
    /// Its definitions, references, scopes and imports.
    pub(crate) fn index(&self) -> &FileIndex {
        self.index.get_or_init(|| FileIndex::build(&self.tree))
    }

    /// The LSP range of a span of this file.
    pub(crate) fn range(&self, span: snn_syntax::Span) -> lsp_types::Range {
        self.lines.range(&self.text, span.start as usize, span.end as usize)
    }

    /// The byte offset of an LSP position.
    pub(crate) fn offset(&self, pos: lsp_types::Position) -> usize {
        self.lines.offset(&self.text, pos)
    }

    /// The text of a span.
    pub(crate) fn slice(&self, span: snn_syntax::Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// A definition somewhere in an analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Loc {
    /// The file.
    pub(crate) file: FileId,
    /// The definition in that file's index.
    pub(crate) def: DefId,
}

/// The checked document and every file it loaded.
pub(crate) struct Analysis {
    /// The compiler's source database (weights files are opened through it).
    db: RefCell<FsDb>,
    /// The document's file.
    pub(crate) root: FileId,
    /// Every loaded file, by `FileId`.
    pub(crate) files: Vec<FileData>,
    /// The compiler's result for the document.
    pub(crate) checked: Checked,
    /// The state generation it was made at (see `server::State`).
    pub(crate) generation: u64,
    /// The model's objects by the file and start of their declared name.
    objects_at: BTreeMap<(FileId, u32), Vec<usize>>,
}

impl Analysis {
    /// Take apart an analysis no one else holds, for freeing elsewhere: its model, diagnostics,
    /// syntax trees, texts and indexes (what takes time to free), as values another thread can
    /// drop. The rest (the source database) is dropped here.
    pub(crate) fn into_parts(self) -> Vec<Box<dyn std::any::Any + Send>> {
        let mut out: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
        let Analysis { checked, files, objects_at, .. } = self;
        let snn_compiler::Checked { model, diagnostics, syntax } = checked;
        out.push(Box::new(model));
        out.push(Box::new(diagnostics));
        out.push(Box::new(objects_at));
        let mut trees: Vec<Rc<ast::File>> = syntax.into_values().collect();
        for f in files {
            let FileData { text, lines, tree, index, .. } = f;
            out.push(Box::new((text, lines, index.into_inner())));
            trees.push(tree);
        }
        // each tree is shared by the check's map and its file: the last holder frees it
        for t in trees {
            if let Ok(t) = Rc::try_unwrap(t) {
                out.push(Box::new(t));
            }
        }
        out
    }
}

/// The directory the standard library is written to, so editors can open it (read-only).
pub(crate) fn stdlib_dir() -> Option<&'static Path> {
    STDLIB_DIR
        .get_or_init(|| tempfile::Builder::new().prefix("snnc-std-").tempdir().ok())
        .as_ref()
        .map(|d| d.path())
}

/// This server's private directory of standard-library copies (mode 0700, made afresh by
/// each server, so no other user can place a link or a pipe in it); removed by
/// [`remove_stdlib_dir`] when the server ends.
static STDLIB_DIR: std::sync::OnceLock<Option<tempfile::TempDir>> = std::sync::OnceLock::new();

/// Remove the standard-library copies (the server is ending; a static is never dropped).
pub(crate) fn remove_stdlib_dir() {
    if let Some(dir) = stdlib_dir() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The URI of the standard-library file `name`, written (read-only) into this server's
/// private directory the first time.
pub(crate) fn stdlib_uri(name: &str) -> Url {
    let untitled = || Url::parse("untitled:std.snn").expect("a constant URL parses");
    let Some(dir) = stdlib_dir() else { return untitled() };
    let path = dir.join(format!("{name}.snn"));
    let text = snn_compiler::source_db::STDLIB.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    if let (Some(text), false) = (text, path.exists()) {
        use std::io::Write;
        // a new file in a directory only this server writes
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if written.is_ok() {
            if let Ok(meta) = std::fs::metadata(&path) {
                let mut perms = meta.permissions();
                perms.set_readonly(true);
                let _ = std::fs::set_permissions(&path, perms);
            }
        }
    }
    Url::from_file_path(&path).unwrap_or_else(|_| untitled())
}

/// Whether `uri` is a standard-library file written by [`stdlib_uri`].
pub(crate) fn is_stdlib(uri: &Url) -> bool {
    let dir = stdlib_dir();
    uri.to_file_path().is_ok_and(|p| dir.is_some_and(|d| p.starts_with(d)))
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

impl Analysis {
    /// Check the document `uri` with text `text`; `open` are the other open documents, whose
    /// unsaved text is used when the document imports them.
    pub(crate) fn new<'a>(
        uri: &Url,
        text: &str,
        open: impl Iterator<Item = (&'a Url, &'a str)>,
        generation: u64,
        parser: &mut Reparser,
        watch: &Watch,
        target: Option<&crate::server::TargetCheck>,
    ) -> Analysis {
        let mut db = FsDb::files_only();
        let mut uris: Vec<(FileId, Url)> = Vec::new();
        let root_path = uri.to_file_path().ok().map(|p| canonical(&p));
        let root_name = root_path.as_ref().map(|p| p.display().to_string());
        let root =
            db.add(&root_name.unwrap_or_else(|| uri.to_string()), root_path, text.to_string());
        uris.push((root, uri.clone()));
        for (u, t) in open {
            if u == uri {
                continue;
            }
            if let Ok(p) = u.to_file_path() {
                let p = canonical(&p);
                let id = db.add(&p.display().to_string(), Some(p), t.to_string());
                uris.push((id, u.clone()));
            }
        }
        watch.check();
        let mut checked =
            snn_compiler::check(&mut Incremental { db: &mut db, parser, watch }, root);
        watch.check();
        if let Some(target) = target.filter(|_| !checked.has_errors()) {
            let found = target(&checked.model);
            checked.diagnostics.extend(found);
            watch.check();
        }
        // Index the document and the files it reaches through `use`s (the other open
        // documents are in the database, for the overlay, but not indexed unless used).
        let mut indexed: BTreeMap<FileId, FileData> = BTreeMap::new();
        let mut todo = vec![root];
        while let Some(id) = todo.pop() {
            if indexed.contains_key(&id) || indexed.len() > 10_000 {
                continue;
            }
            let text = db.text(id).to_string();
            // the check's tree when it read the file, else a parse of it
            let tree = match checked.syntax.get(&id) {
                Some(tree) => tree.clone(),
                None => Rc::new(parser.parse(id, &text).file),
            };
            let (uri, read_only) = match uris.iter().find(|(f, _)| *f == id) {
                Some((_, u)) => (u.clone(), is_stdlib(u)),
                None => file_uri(&db.name(id)),
            };
            // the `use` items in order, as `FileIndex::build` lists them
            let (mut uses, mut use_spans) = (Vec::new(), Vec::new());
            for item in &tree.items {
                let ast::Item::Use(u) = item else { continue };
                uses.push(match &u.target {
                    ast::UseTarget::Std(parts) => {
                        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                        db.load_std(&names.join("."))
                    }
                    ast::UseTarget::File(s) => db.load_relative(id, &s.value).ok(),
                });
                use_spans.push(u.span);
            }
            todo.extend(uses.iter().flatten().copied());
            let lines = LineMap::new(&text);
            let index = OnceCell::new();
            indexed
                .insert(id, FileData { uri, lines, text, tree, index, uses, use_spans, read_only });
        }
        let mut files: Vec<FileData> = Vec::new();
        let mut i = 0u32;
        while !db.name(FileId(i)).is_empty() && i <= 100_000 {
            let id = FileId(i);
            files.push(match indexed.remove(&id) {
                Some(f) => f,
                None => {
                    let uri = match uris.iter().find(|(f, _)| *f == id) {
                        Some((_, u)) => u.clone(),
                        None => file_uri(&db.name(id)).0,
                    };
                    FileData {
                        uri,
                        text: String::new(),
                        lines: LineMap::new(""),
                        tree: Rc::default(),
                        index: OnceCell::new(),
                        uses: Vec::new(),
                        use_spans: Vec::new(),
                        read_only: true,
                    }
                }
            });
            i += 1;
        }
        let mut objects_at: BTreeMap<(FileId, u32), Vec<usize>> = BTreeMap::new();
        for (i, o) in checked.model.objects.iter().enumerate() {
            objects_at.entry((o.span.file, o.span.start)).or_default().push(i);
        }
        // the document's index now (completion and hover follow edits closely); the other
        // files' when first asked for
        if let Some(f) = files.get(root.0 as usize) {
            f.index();
        }
        Analysis { db: RefCell::new(db), root, files, checked, generation, objects_at }
    }

    /// Whether the check read the file `uri` (the document, or one it uses).
    pub(crate) fn uses_file(&self, uri: &Url) -> bool {
        self.files.iter().any(|f| &f.uri == uri && !f.read_only)
    }

    /// Names of the standard-library files.
    pub(crate) fn std_names(&self) -> Vec<&'static str> {
        self.db.borrow().std_names()
    }

    /// The weights file `rel` as seen from `file`.
    pub(crate) fn weights(
        &self,
        file: FileId,
        rel: &str,
    ) -> Result<std::rc::Rc<dyn snn_compiler::TensorSource>, String> {
        self.db.borrow_mut().weights(file, rel)
    }

    /// The data of `file`.
    pub(crate) fn file(&self, file: FileId) -> Option<&FileData> {
        self.files.get(file.0 as usize)
    }

    /// Whether the document itself has a syntax error (its tree is then partial).
    pub(crate) fn has_syntax_error(&self) -> bool {
        self.checked
            .diagnostics
            .iter()
            .any(|d| d.code == snn_syntax::codes::SYNTAX && d.primary.span.file == self.root)
    }

    /// The document's own file.
    pub(crate) fn root_file(&self) -> &FileData {
        &self.files[self.root.0 as usize]
    }

    /// The definition at `loc`.
    pub(crate) fn def(&self, loc: Loc) -> Option<&Def> {
        self.file(loc.file)?.index().defs.get(loc.def.0)
    }

    /// The network called `name` (`q.name` when qualified) as seen from `file`: its own, or one
    /// of a file it uses.
    pub(crate) fn network(&self, file: FileId, name: &str) -> Option<Loc> {
        let data = self.file(file)?;
        if let Some((q, rest)) = name.split_once('.') {
            let k = data.index().uses.iter().position(|u| u.alias.as_deref() == Some(q))?;
            let target = (*data.uses.get(k)?)?;
            let def = self.file(target)?.index().network(rest)?;
            return Some(Loc { file: target, def });
        }
        if let Some(def) = data.index().network(name) {
            return Some(Loc { file, def });
        }
        for (k, u) in data.index().uses.iter().enumerate() {
            if u.alias.is_some() {
                continue;
            }
            let Some(Some(target)) = data.uses.get(k) else { continue };
            if let Some(def) = self.file(*target).and_then(|f| f.index().network(name)) {
                return Some(Loc { file: *target, def });
            }
        }
        None
    }

    /// The definition a reference of `file` points at, wherever it is.
    pub(crate) fn resolve(&self, file: FileId, r: &Ref) -> Option<Loc> {
        match &r.target {
            RefTarget::Def(d) => Some(Loc { file, def: *d }),
            RefTarget::Network(name) | RefTarget::Free(name) => self.network(file, name),
            RefTarget::Member { root, fields } => self.member(Loc { file, def: *root }, fields, 0),
            RefTarget::Arg { callee, name } => self.param(self.network(file, callee)?, name),
        }
    }

    /// The parameter `name` of the network at `net`.
    pub(crate) fn param(&self, net: Loc, name: &str) -> Option<Loc> {
        let ix = &self.file(net.file)?.index();
        let body = ix.body_of(net.def)?;
        let def = ix
            .defs
            .iter()
            .position(|d| d.scope == body && d.kind == DefKind::Param && d.name == name)?;
        Some(Loc { file: net.file, def: DefId(def) })
    }

    /// The body scope and file of the network an instance (or an alias of one) instantiates.
    pub(crate) fn instance_body(&self, loc: Loc, depth: usize) -> Option<(FileId, ScopeId)> {
        if depth > 32 {
            return None;
        }
        let def = self.def(loc)?;
        match def.kind {
            DefKind::Instance => {
                let net = self.network(loc.file, def.callee.as_deref()?)?;
                let body = self.file(net.file)?.index().body_of(net.def)?;
                Some((net.file, body))
            }
            DefKind::Alias => {
                let target = self.alias_target(loc, depth + 1)?;
                self.instance_body(target, depth + 1)
            }
            _ => None,
        }
    }

    /// The definition an alias names.
    pub(crate) fn alias_target(&self, loc: Loc, depth: usize) -> Option<Loc> {
        let (root, fields) = self.def(loc)?.target.clone()?;
        let root = Loc { file: loc.file, def: root? };
        if fields.is_empty() {
            return Some(root);
        }
        self.member(root, &fields, depth + 1)
    }

    /// Follow `fields` from the definition `root` through instances and aliases.
    pub(crate) fn member(&self, root: Loc, fields: &[String], depth: usize) -> Option<Loc> {
        let mut cur = root;
        for f in fields {
            let (file, body) = self.instance_body(cur, depth + 1)?;
            let ix = &self.file(file)?.index();
            let def = ix.members(body).into_iter().find(|d| &ix.def(*d).name == f)?;
            cur = Loc { file, def };
        }
        Some(cur)
    }

    /// Every place that names the definition `target` (its own name included when `decl`),
    /// over all files of the analysis.
    pub(crate) fn references(
        &self,
        target: Loc,
        decl: bool,
        watch: &Watch,
    ) -> Vec<(FileId, snn_syntax::Span)> {
        let mut out = Vec::new();
        if decl {
            if let Some(d) = self.def(target) {
                out.push((target.file, d.span));
            }
        }
        for (i, f) in self.files.iter().enumerate() {
            watch.check();
            let file = FileId(i as u32);
            for r in &f.index().refs {
                if self.resolve(file, r) == Some(target) {
                    out.push((file, r.span));
                }
            }
        }
        out.sort_by_key(|(f, s)| (*f, s.start));
        out.dedup();
        out
    }

    /// The checked model's objects declared at the name span of `def` (one per instance or
    /// array element).
    pub(crate) fn objects_of(&self, loc: Loc) -> Vec<&snn_compiler::model::Object> {
        let Some(def) = self.def(loc) else { return Vec::new() };
        let ids = self.objects_at.get(&(def.span.file, def.span.start));
        let objects = &self.checked.model.objects;
        ids.into_iter().flatten().filter_map(|i| objects.get(*i)).collect()
    }
}

/// The file-system database, parsing with the server's incremental parser (only the statements
/// that changed since the last check are parsed again).
/// Between files it checks whether the request was cancelled or a document changed.
struct Incremental<'a> {
    db: &'a mut FsDb,
    parser: &'a mut Reparser,
    watch: &'a Watch,
}

impl SourceDb for Incremental<'_> {
    fn text(&self, file: FileId) -> &str {
        self.db.text(file)
    }
    fn name(&self, file: FileId) -> String {
        self.db.name(file)
    }
    fn load_relative(&mut self, from: FileId, rel: &str) -> Result<FileId, String> {
        self.db.load_relative(from, rel)
    }
    fn load_std(&mut self, name: &str) -> Option<FileId> {
        self.db.load_std(name)
    }
    fn std_names(&self) -> Vec<&'static str> {
        self.db.std_names()
    }
    fn weights(
        &mut self,
        from: FileId,
        rel: &str,
    ) -> Result<std::rc::Rc<dyn TensorSource>, String> {
        self.db.weights(from, rel)
    }
    fn parse(&mut self, file: FileId) -> snn_syntax::Parse {
        self.watch.check();
        self.parser.parse(file, self.db.text(file))
    }
}

/// The URI of a file the compiler loaded, from its display name.
fn file_uri(name: &str) -> (Url, bool) {
    if let Some(std) = name.strip_prefix("std/").and_then(|n| n.strip_suffix(".snn")) {
        if !Path::new(name).exists() {
            return (stdlib_uri(std), true);
        }
    }
    let path = PathBuf::from(name);
    let path = if path.is_absolute() {
        path
    } else {
        std::env::current_dir().map(|d| d.join(&path)).unwrap_or(path)
    };
    let path = canonical(&path);
    match Url::from_file_path(&path) {
        Ok(u) => (u, false),
        Err(()) => (Url::parse("untitled:unknown.snn").expect("a constant URL parses"), true),
    }
}
