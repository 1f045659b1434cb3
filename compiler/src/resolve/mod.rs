//! Name resolution and elaboration: files and imports → one flat, shape-checked [`Model`].
//! Networks are instantiated, `for` loops unrolled, config defaults applied, every shape checked.
//! Never fails: returns the model built so far and every diagnostic found.

mod connect;
pub(crate) mod decl;
mod host;
pub mod index;
mod loops;
pub(crate) mod scope;
mod trainable;

use crate::model::{Model, ObjectId};
use crate::source_db::{SourceDb, TensorSource};
use crate::value::{self, Env, Unit, Value, WeightsId};
use indexmap::IndexMap;
use ndarray::ArrayD;
use scope::{ConfigLayer, Member, NetCtx};
use snn_syntax::ast::{self, Item, StmtKind, UseTarget};
use snn_syntax::{codes, Diagnostic, FileId, Span};
use std::rc::Rc;

/// Result of checking a file: the model (possibly partial) and all diagnostics.
pub struct Checked {
    /// The elaborated root model.
    pub model: Model,
    /// Errors and warnings, in source order per stage.
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax tree of every file read (partial where a file has syntax errors), so that
    /// editor queries need not parse again.
    pub syntax: IndexMap<FileId, Rc<ast::File>>,
}

impl Checked {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parse, resolve and check `root` and everything it uses.
pub fn check(db: &mut dyn SourceDb, root: FileId) -> Checked {
    check_with_seed(db, root, None)
}

/// The code of an error caused by one already reported (a use of a weights file that could not be
/// opened, of a `let` whose value failed to evaluate): it stops the work that needs the value and is never shown.
pub(crate) const FOLLOW_ON: &str = "follow-on";

/// The deepest nesting of network instances (each level recurses in the elaborator).
pub const MAX_INSTANCE_DEPTH: usize = 64;

/// [`check`] with the model seed set from outside (`snnc run --seed`), overriding `seed N`.
pub fn check_with_seed(db: &mut dyn SourceDb, root: FileId, seed: Option<u64>) -> Checked {
    check_within(db, root, seed, None)
}

/// The memory the constant arrays of one check may make when no limit is given (8 GiB).
pub const DEFAULT_CONSTANT_BYTES: u64 = 8 << 30;

/// [`check_with_seed`] whose constant expressions may make arrays of at most `max_memory`
/// bytes in all (default [`DEFAULT_CONSTANT_BYTES`]); beyond it, a located E0801.
pub fn check_within(
    db: &mut dyn SourceDb,
    root: FileId,
    seed: Option<u64>,
    max_memory: Option<u64>,
) -> Checked {
    let mut el = Elab::new(db);
    if let Some(m) = max_memory {
        el.constant_limit = m / 8;
    }
    el.load_file(root);
    el.elaborate_root(root, seed);
    if el.diags.iter().all(|d| !d.is_error()) {
        let loop_diags = loops::algebraic_loops(&el.model);
        el.diags.extend(loop_diags);
    }
    el.check_standalone_networks(root);
    let mut diagnostics = el.diags;
    diagnostics.retain(|d| d.code != FOLLOW_ON);
    dedup(&mut diagnostics);
    let syntax = el.files.iter().map(|(f, info)| (*f, info.ast.clone())).collect();
    Checked { model: el.model, diagnostics, syntax }
}

/// Drop repeated diagnostics (same code, place and message); linear in their number.
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen: std::collections::BTreeSet<(&'static str, FileId, u32, u32, String)> =
        std::collections::BTreeSet::new();
    diags.retain(|d| {
        let s = d.primary.span;
        seen.insert((d.code, s.file, s.start, s.end, d.message.clone()))
    });
}

/// A parsed file and the networks visible in it.
struct FileInfo {
    ast: Rc<ast::File>,
    /// Networks visible unqualified: own definitions and `use`d ones, name → (file, index).
    networks: IndexMap<String, (FileId, usize)>,
    /// `use … as q`: q → file.
    qualified: IndexMap<String, FileId>,
    /// Names declared by statements that did not parse: uses of them report nothing more.
    broken: Vec<ast::Ident>,
    /// Networks defined in this file whose definitions did not parse (`network n(b = .5ms)`):
    /// instances of them report nothing more.
    broken_networks: Vec<String>,
    /// Files `use`d without `as`, whose networks are visible unqualified.
    imports: Vec<FileId>,
}

/// A weights file opened by a `weights` statement.
struct WeightsEntry {
    /// `None` when the file could not be opened (already reported).
    source: Option<Rc<dyn TensorSource>>,
    path: String,
}

/// Elaboration state shared by all network instances.
pub(crate) struct Elab<'db> {
    db: &'db mut dyn SourceDb,
    files: IndexMap<FileId, FileInfo>,
    pub(crate) model: Model,
    /// The index in `model.probes` of each probe name (duplicate names found in O(1)).
    pub(crate) probe_names: IndexMap<String, usize>,
    pub(crate) diags: Vec<Diagnostic>,
    weights: Vec<WeightsEntry>,
    /// Network instantiation stack (names), for recursion detection.
    stack: Vec<String>,
    /// The instance depth limit was reported (once per check: every deeper level, and every
    /// definition checked on its own, would report it again).
    depth_reported: bool,
    /// Statements elaborated so far (every loop iteration and network instance repeats its
    /// body's); past [`MAX_ELABORATED`] elaboration stops with one E0801.
    elaborated: u64,
    /// Numbers in the constant arrays evaluated so far, and how many the memory allows
    /// (past it, one E0801 and then follow-on errors).
    constant_values: u64,
    constant_limit: u64,
}

/// The most statements one model may elaborate (loops and instances multiply their bodies):
/// beyond it memory and time grow without bound, so the model is refused.
pub const MAX_ELABORATED: u64 = 1_000_000;

impl<'db> Elab<'db> {
    fn new(db: &'db mut dyn SourceDb) -> Elab<'db> {
        Elab {
            db,
            files: IndexMap::new(),
            model: Model::default(),
            probe_names: IndexMap::new(),
            diags: Vec::new(),
            weights: Vec::new(),
            stack: Vec::new(),
            depth_reported: false,
            elaborated: 0,
            constant_values: 0,
            constant_limit: DEFAULT_CONSTANT_BYTES / 8,
        }
    }

    /// Parse `file` and its imports (once each).
    fn load_file(&mut self, file: FileId) {
        if self.files.contains_key(&file) {
            return;
        }
        let parsed = self.db.parse(file);
        self.diags.extend(parsed.errors);
        let ast = Rc::new(parsed.file);
        let broken_networks = {
            let text = self.db.text(file);
            let in_network = |b: &ast::Ident| {
                ast.items.iter().any(|i| {
                    matches!(i, Item::Network(d) if d.span.start <= b.span.start && b.span.end <= d.span.end)
                })
            };
            parsed
                .broken
                .iter()
                .filter(|b| !in_network(b))
                .filter(|b| {
                    let before = text.get(..b.span.start as usize).unwrap_or("").trim_end();
                    let after = text.get(b.span.end as usize..).unwrap_or("").trim_start();
                    before.ends_with("network") && after.starts_with('(')
                })
                .map(|b| b.name.clone())
                .collect()
        };
        let mut info = FileInfo {
            ast: ast.clone(),
            networks: IndexMap::new(),
            qualified: IndexMap::new(),
            broken: parsed.broken,
            broken_networks,
            imports: Vec::new(),
        };
        for (i, item) in ast.items.iter().enumerate() {
            if let Item::Network(def) = item {
                if let Some((f, j)) = info.networks.get(&def.name.name) {
                    if *f == file {
                        let prev = match &ast.items[*j] {
                            Item::Network(d) => d.name.span,
                            _ => def.name.span,
                        };
                        self.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE_NAME,
                                format!("network `{}` is defined twice", def.name.name),
                                def.name.span,
                                "second definition",
                            )
                            .with_label(prev, "first defined here"),
                        );
                        continue;
                    }
                }
                info.networks.insert(def.name.name.clone(), (file, i));
            }
        }
        self.files.insert(file, info);
        for item in ast.items.iter() {
            let Item::Use(u) = item else { continue };
            let target = match &u.target {
                UseTarget::Std(parts) => {
                    let name: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                    let name = name.join(".");
                    match self.db.load_std(&name) {
                        Some(f) => f,
                        None => {
                            let names = self.db.std_names();
                            let mut d = Diagnostic::error(
                                codes::IMPORT,
                                format!("there is no `std.{name}`"),
                                u.span,
                                "unknown library file",
                            );
                            d = d.with_help(
                                match snn_syntax::diag::did_you_mean(&name, names.iter().copied()) {
                                    Some(g) => format!("did you mean `std.{g}`?"),
                                    None => {
                                        format!("the standard library has: {}", names.join(", "))
                                    }
                                },
                            );
                            self.diags.push(d);
                            continue;
                        }
                    }
                }
                UseTarget::File(s) => match self.db.load_relative(file, &s.value) {
                    Ok(f) => f,
                    Err(e) => {
                        self.diags.push(Diagnostic::error(
                            codes::IMPORT,
                            format!("cannot import \"{}\"", s.value),
                            s.span,
                            e,
                        ));
                        continue;
                    }
                },
            };
            self.load_file(target);
            let Some(imported) = self.files.get(&target).map(|i| i.networks.clone()) else {
                continue;
            };
            let Some(info) = self.files.get_mut(&file) else { continue };
            match &u.alias {
                Some(alias) => {
                    info.qualified.insert(alias.name.clone(), target);
                }
                None => {
                    info.imports.push(target);
                    let mut hidden = Vec::new();
                    for (name, loc) in imported.into_iter().filter(|(_, (f, _))| *f == target) {
                        match info.networks.get(&name) {
                            Some(&(f, i)) if f == file => hidden.push((name, i)),
                            Some(_) => {}
                            None => {
                                info.networks.insert(name, loc);
                            }
                        }
                    }
                    for (name, i) in hidden {
                        let Some(Item::Network(def)) = ast.items.get(i) else { continue };
                        let used = match &u.target {
                            UseTarget::Std(parts) => {
                                let p: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                                format!("use std.{}", p.join("."))
                            }
                            UseTarget::File(f) => format!("use \"{}\"", f.value),
                        };
                        self.diags.push(
                            Diagnostic::warning(
                                codes::HIDDEN_NETWORK,
                                format!(
                                    "network `{name}` is defined here and also provided by \
                                     `{used}`: this definition is the one used"
                                ),
                                def.name.span,
                                "this definition wins",
                            )
                            .with_label(u.span, format!("also provides `{name}`"))
                            .with_help(format!(
                                "rename one of them; or import the other under a name, \
                                 `{used} as lib`, and write `lib.{name}`"
                            )),
                        );
                    }
                }
            }
        }
    }

    fn network_def(&self, file: FileId, idx: usize) -> Option<(Rc<ast::File>, usize)> {
        let info = self.files.get(&file)?;
        match info.ast.items.get(idx) {
            Some(Item::Network(_)) => Some((info.ast.clone(), idx)),
            _ => None,
        }
    }

    /// Elaborate the root file's top-level statements as the model.
    fn elaborate_root(&mut self, root: FileId, seed_override: Option<u64>) {
        let Some(info) = self.files.get(&root) else { return };
        let ast = info.ast.clone();
        let stmts: Vec<&ast::Stmt> = ast
            .items
            .iter()
            .filter_map(|i| if let Item::Stmt(s) = i { Some(s) } else { None })
            .collect();
        let mut ctx = NetCtx::new(root, String::new(), Rc::new(ConfigLayer::default()), 0);
        let in_network = |b: &ast::Ident| {
            ast.items.iter().any(|i| {
                matches!(i, Item::Network(d) if d.span.start <= b.span.start && b.span.end <= d.span.end)
            })
        };
        let broken = info.broken.iter().filter(|b| !in_network(b)).map(|b| b.name.clone());
        ctx.failed.extend(broken);
        // The root seed comes from a top-level `seed` statement.
        for s in &stmts {
            if let StmtKind::Seed { value } = &s.kind {
                if let Some(seed) = self.eval_seed(&mut ctx, value) {
                    self.model.seed = Some(seed);
                    ctx.seed = seed;
                }
            }
        }
        if let Some(seed) = seed_override {
            self.model.seed = Some(seed);
            ctx.seed = seed;
        }
        self.elaborate_body(&mut ctx, &stmts);
    }

    /// Check every network of `root` that can stand alone (all parameters defaulted) and that
    /// the root itself does not already instantiate.
    fn check_standalone_networks(&mut self, root: FileId) {
        let Some(info) = self.files.get(&root) else { return };
        let ast = info.ast.clone();
        for item in ast.items.iter() {
            let Item::Network(def) = item else { continue };
            if def.params.iter().any(|p| p.default.is_none()) {
                continue;
            }
            let saved = std::mem::take(&mut self.model);
            let mut ctx = NetCtx::new(
                root,
                format!("{}.", def.name.name),
                Rc::new(ConfigLayer::default()),
                0,
            );
            self.instantiate_body(&mut ctx, def, &[], def.name.span);
            let loop_diags = loops::algebraic_loops(&self.model);
            self.diags.extend(loop_diags);
            self.model = saved;
        }
    }

    fn eval_seed(&mut self, ctx: &mut NetCtx, e: &ast::Expr) -> Option<u64> {
        match self.eval(ctx, e) {
            // numbers are f64: beyond 2^53 a seed would silently become a neighbour
            Some(Value::Num(x, Unit::One))
                if x >= 0.0 && x.fract() == 0.0 && x <= 2f64.powi(53) =>
            {
                Some(x as u64)
            }
            Some(Value::Num(x, Unit::One)) if x.fract() == 0.0 && x > 0.0 => {
                self.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("a seed may be at most 2^53 = 9007199254740992, found {x}"),
                    e.span,
                    "too large",
                ).with_help("larger whole numbers are not exact in a .snn file; `snnc run --seed` takes any 64-bit seed"));
                None
            }
            Some(other) => {
                self.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    match other {
                        Value::Num(x, Unit::One) => {
                            format!("a seed is a non-negative whole number, found {x}")
                        }
                        _ => format!(
                            "a seed is a non-negative whole number, found {}",
                            other.describe()
                        ),
                    },
                    e.span,
                    "here",
                ));
                None
            }
            None => None,
        }
    }

    /// Evaluate a constant expression in `ctx`, recording any error.
    pub(crate) fn eval(&mut self, ctx: &mut NetCtx, e: &ast::Expr) -> Option<Value> {
        let mut env = EnvRef { el: self, ctx };
        match value::eval(e, &mut env) {
            Ok(v) => Some(v),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    /// Run `f` with an [`Env`] over `ctx`, recording its error.
    pub(crate) fn with_env<T>(
        &mut self,
        ctx: &mut NetCtx,
        f: impl FnOnce(&mut dyn Env) -> Result<T, Diagnostic>,
    ) -> Option<T> {
        let mut env = EnvRef { el: self, ctx };
        match f(&mut env) {
            Ok(v) => Some(v),
            Err(d) => {
                self.diags.push(d);
                None
            }
        }
    }

    /// Elaborate a network body: declarations first (in order), then aliases, then connections and
    /// probes, so a connection may name an object declared after it.
    pub(crate) fn elaborate_body(&mut self, ctx: &mut NetCtx, stmts: &[&ast::Stmt]) {
        // Config blocks apply to the whole body.
        let mut layer = ConfigLayer { parent: Some(ctx.config.clone()), entries: IndexMap::new() };
        for s in stmts {
            if let StmtKind::Config { entries } = &s.kind {
                for entry in entries {
                    if let Some(v) = self.eval(ctx, &entry.value) {
                        if let Some(d) = scope::validate_config_key(entry) {
                            self.diags.push(d);
                            continue;
                        }
                        if entry.param.name == "trainable"
                            && self.trainable_value(v.clone(), entry.value.span).is_none()
                        {
                            continue;
                        }
                        layer.entries.insert(
                            (
                                entry.kind.as_ref().map(|k| k.name.clone()).unwrap_or_default(),
                                entry.param.name.clone(),
                            ),
                            (v, entry.span),
                        );
                    }
                }
            }
        }
        ctx.config = Rc::new(layer);
        self.pass_declare(ctx, stmts);
        self.pass_alias(ctx, stmts);
        self.pass_connect(ctx, stmts);
    }

    /// Counts statement `s` as elaborated; false once the model has elaborated more than
    /// [`MAX_ELABORATED`] (reported once, at `s`).
    fn within_budget(&mut self, s: &ast::Stmt) -> bool {
        self.elaborated += 1;
        if self.elaborated == MAX_ELABORATED + 1 {
            self.diags.push(
                Diagnostic::error(
                    codes::LIMIT,
                    format!("the model elaborates more than {MAX_ELABORATED} statements"),
                    s.span,
                    "the limit is reached here",
                )
                .with_help(
                    "loops and network instances repeat their bodies: loops inside loops, or \
                     networks instantiating others more than once per level, multiply them; \
                     use populations with more neurons or dimensions instead of many small ones",
                ),
            );
        }
        self.elaborated <= MAX_ELABORATED
    }

    fn pass_declare(&mut self, ctx: &mut NetCtx, stmts: &[&ast::Stmt]) {
        for s in stmts {
            if !self.within_budget(s) {
                return;
            }
            match &s.kind {
                StmtKind::Let { name, value } => match self.eval(ctx, value) {
                    Some(v) => self.bind_value(ctx, name, v),
                    None => {
                        ctx.failed.insert(name.name.clone());
                    }
                },
                StmtKind::Weights { name, path } => self.open_weights(ctx, name, path),
                StmtKind::Seed { .. } | StmtKind::Config { .. } | StmtKind::Alias { .. } => {}
                StmtKind::Connect { .. } | StmtKind::Probe { .. } => {}
                StmtKind::For { var, start, end, body } => {
                    self.warn_shadowed_constant(var);
                    let Some(range) = self.for_range(ctx, start, end) else { continue };
                    let body: Vec<&ast::Stmt> = body.iter().collect();
                    for i in range {
                        ctx.push_values();
                        ctx.bind(&var.name, Value::Num(i as f64, Unit::One), var.span);
                        self.pass_declare(ctx, &body);
                        ctx.pop_values();
                    }
                }
                _ => {
                    let before = self.diags.len();
                    self.declare(ctx, s);
                    let name = match &s.kind {
                        StmtKind::Input { name, .. }
                        | StmtKind::Node { name, .. }
                        | StmtKind::Ensemble { name, .. }
                        | StmtKind::Layer { name, .. }
                        | StmtKind::Instance { name, .. } => Some(&name.name.name),
                        _ => None,
                    };
                    if let Some(n) = name {
                        // an instance with errors (arguments, body) is declared but may lack
                        // members: its uses' missing fields are follow-on errors
                        let instance = matches!(s.kind, StmtKind::Instance { .. });
                        if self.diags.len() > before && (instance || !ctx.members.contains_key(n)) {
                            ctx.failed.insert(n.clone());
                        }
                    }
                }
            }
        }
    }

    /// Binds the body's aliases in any order (`alias a = b` may come before `alias b = c`):
    /// each round binds those whose target's first name is known; what is left names nothing
    /// (reported as unknown) or aliases in a cycle (reported as such).
    fn pass_alias(&mut self, ctx: &mut NetCtx, stmts: &[&ast::Stmt]) {
        let mut pending: Vec<(&ast::Ident, &ast::Path)> = stmts
            .iter()
            .filter_map(|s| match &s.kind {
                StmtKind::Alias { name, target } => Some((name, target)),
                _ => None,
            })
            .collect();
        loop {
            let before = pending.len();
            let mut rest = Vec::with_capacity(pending.len());
            for (name, target) in pending {
                let later = ctx.members.get(&target.root.name).is_none()
                    && !ctx.failed.contains(&target.root.name);
                if later {
                    rest.push((name, target));
                } else if let Some(m) = self.resolve_member(ctx, target) {
                    self.insert_member(ctx, name, None, m);
                } else {
                    ctx.failed.insert(name.name.clone());
                }
            }
            pending = rest;
            if pending.len() == before {
                break;
            }
        }
        let waiting: Vec<String> = pending.iter().map(|(n, _)| n.name.clone()).collect();
        for (name, target) in pending {
            if waiting.contains(&target.root.name) {
                self.diags.push(
                    Diagnostic::error(
                        codes::UNKNOWN_NAME,
                        format!("alias `{}` refers to itself through aliases", name.name),
                        target.span,
                        "a cycle of aliases",
                    )
                    .with_help("an alias must lead to an object or a network instance"),
                );
            } else {
                self.resolve_member(ctx, target);
            }
            ctx.failed.insert(name.name.clone());
        }
    }

    fn pass_connect(&mut self, ctx: &mut NetCtx, stmts: &[&ast::Stmt]) {
        for s in stmts {
            if self.elaborated > MAX_ELABORATED {
                return;
            }
            match &s.kind {
                StmtKind::Connect { pre, arrow, post, clauses } => {
                    self.connect(ctx, pre, post, clauses, s.span, *arrow)
                }
                StmtKind::Probe { name, target, clauses } => {
                    self.probe(ctx, name.as_ref(), target, clauses, s.span)
                }
                StmtKind::Let { name, value } => {
                    // Re-bind so later connections see the same constants as declarations did.
                    if let Some(v) = self.eval_quiet(ctx, value) {
                        ctx.bind(&name.name, v, name.span);
                    }
                }
                StmtKind::For { var, start, end, body } => {
                    let Some(range) = self.for_range_quiet(ctx, start, end) else { continue };
                    let body: Vec<&ast::Stmt> = body.iter().collect();
                    for i in range {
                        ctx.push_values();
                        ctx.bind(&var.name, Value::Num(i as f64, Unit::One), var.span);
                        self.pass_connect(ctx, &body);
                        ctx.pop_values();
                    }
                }
                _ => {}
            }
        }
    }

    /// Warns (W0101) when `name` hides one of the built-in constants `pi`, `e` and `inf`.
    fn warn_shadowed_constant(&mut self, name: &ast::Ident) {
        if let Some(what) = value::builtin_constant(&name.name) {
            self.diags.push(
                Diagnostic::warning(
                    codes::SHADOWED_CONSTANT,
                    format!("`{}` hides the built-in constant {what}", name.name),
                    name.span,
                    "hides the constant from here on",
                )
                .with_help(format!(
                    "rename it, unless every later `{}` means this value",
                    name.name
                )),
            );
        }
    }

    fn eval_quiet(&mut self, ctx: &mut NetCtx, e: &ast::Expr) -> Option<Value> {
        let mut env = EnvRef { el: self, ctx };
        value::eval(e, &mut env).ok()
    }

    fn for_range(
        &mut self,
        ctx: &mut NetCtx,
        start: &ast::Expr,
        end: &ast::Expr,
    ) -> Option<std::ops::Range<i64>> {
        let a = self.eval_int(ctx, start)?;
        let b = self.eval_int(ctx, end)?;
        if b - a > 100_000 {
            self.diags.push(Diagnostic::error(
                codes::OUT_OF_RANGE,
                "a `for` loop may repeat at most 100000 times",
                start.span.to(end.span),
                "too many iterations",
            ));
            return None;
        }
        Some(a..b)
    }

    fn for_range_quiet(
        &mut self,
        ctx: &mut NetCtx,
        start: &ast::Expr,
        end: &ast::Expr,
    ) -> Option<std::ops::Range<i64>> {
        let a = self.eval_quiet(ctx, start)?;
        let b = self.eval_quiet(ctx, end)?;
        match (a, b) {
            (Value::Num(a, _), Value::Num(b, _)) if b - a <= 100_000.0 => Some(a as i64..b as i64),
            _ => None,
        }
    }

    pub(crate) fn eval_int(&mut self, ctx: &mut NetCtx, e: &ast::Expr) -> Option<i64> {
        match self.eval(ctx, e)? {
            Value::Num(x, Unit::One) if x.fract() == 0.0 && x.abs() < 1e15 => Some(x as i64),
            Value::Num(x, Unit::One) if x.fract() == 0.0 || !x.is_finite() => {
                self.diags.push(Diagnostic::error(
                    codes::OUT_OF_RANGE,
                    format!("expected a whole number below 10^15 in size, found {x}"),
                    e.span,
                    "too large",
                ));
                None
            }
            other => {
                self.diags.push(Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("expected a whole number, found {}", other.describe()),
                    e.span,
                    "not a whole number",
                ));
                None
            }
        }
    }

    fn bind_value(&mut self, ctx: &mut NetCtx, name: &ast::Ident, v: Value) {
        self.warn_shadowed_constant(name);
        if let Some((_, prev)) = ctx.lookup_local(&name.name) {
            self.diags.push(
                Diagnostic::error(
                    codes::DUPLICATE_NAME,
                    format!("`{}` is already defined", name.name),
                    name.span,
                    "defined again",
                )
                .with_label(prev, "first defined here"),
            );
            return;
        }
        ctx.bind(&name.name, v, name.span);
    }

    fn open_weights(&mut self, ctx: &mut NetCtx, name: &ast::Ident, path: &ast::StrLit) {
        match self.db.weights(ctx.file, &path.value) {
            Ok(source) => {
                let id = WeightsId(self.weights.len());
                self.weights.push(WeightsEntry { source: Some(source), path: path.value.clone() });
                self.bind_value(ctx, name, Value::Weights(id));
            }
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::WEIGHTS_FILE,
                        format!("cannot open weights file \"{}\"", path.value),
                        path.span,
                        e,
                    )
                    .with_help("weights files are .npz or .safetensors, relative to this file"),
                );
                // Bind a file with no tensors so uses report neither unknown names nor
                // missing tensors: the one error is that the file cannot be opened.
                let id = WeightsId(self.weights.len());
                self.weights.push(WeightsEntry { source: None, path: path.value.clone() });
                ctx.bind(&name.name, Value::Weights(id), name.span);
            }
        }
    }

    /// Record a member (object, instance, array element or alias) under its declared name.
    pub(crate) fn insert_member(
        &mut self,
        ctx: &mut NetCtx,
        name: &ast::Ident,
        index: Option<i64>,
        member: Member,
    ) {
        match index {
            None => {
                if let Some(prev) = ctx.members.get(&name.name) {
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            format!("`{}` is declared twice", name.name),
                            name.span,
                            "declared again",
                        )
                        .with_label(prev.span(), "first declared here"),
                    );
                    return;
                }
                ctx.members.insert(name.name.clone(), member);
            }
            Some(i) => {
                let entry = ctx
                    .members
                    .entry(name.name.clone())
                    .or_insert_with(|| Member::Array(Default::default(), name.span));
                match entry {
                    Member::Array(items, _) => {
                        if let Some(prev) = items.get(&i) {
                            let prev = prev.span();
                            self.diags.push(
                                Diagnostic::error(
                                    codes::DUPLICATE_NAME,
                                    format!("`{}[{i}]` is declared twice", name.name),
                                    name.span,
                                    "declared again",
                                )
                                .with_label(prev, "first declared here"),
                            );
                            return;
                        }
                        items.insert(i, member);
                    }
                    other => {
                        let prev = other.span();
                        self.diags.push(
                            Diagnostic::error(
                                codes::DUPLICATE_NAME,
                                format!("`{}` is declared twice", name.name),
                                name.span,
                                "declared again as an array",
                            )
                            .with_label(prev, "first declared here"),
                        );
                    }
                }
            }
        }
    }

    /// Instantiate a network definition into `ctx` (whose prefix names the instance).
    pub(crate) fn instantiate_body(
        &mut self,
        ctx: &mut NetCtx,
        def: &ast::NetworkDef,
        args: &[value::CtorArg],
        call_span: Span,
    ) {
        if self.stack.len() >= MAX_INSTANCE_DEPTH && !self.stack.contains(&def.name.name) {
            if std::mem::replace(&mut self.depth_reported, true) {
                return;
            }
            let n = self.stack.len();
            let chain = if n > 6 {
                format!(
                    "{} → … ({} more) … → {}",
                    self.stack[..3].join(" → "),
                    n - 6,
                    self.stack[n - 3..].join(" → ")
                )
            } else {
                self.stack.join(" → ")
            };
            self.diags.push(
                Diagnostic::error(
                    codes::LIMIT,
                    format!("network instances nest more than {MAX_INSTANCE_DEPTH} levels deep"),
                    call_span,
                    format!("level {}", self.stack.len() + 1),
                )
                .with_label(def.name.span, "defined here")
                .with_help(format!(
                    "the limit is {MAX_INSTANCE_DEPTH} levels of networks inside networks; \
                     instantiation chain: {chain} → {}",
                    def.name.name
                )),
            );
            return;
        }
        if self.stack.contains(&def.name.name) {
            let chain = self.stack.join(" → ");
            self.diags.push(
                Diagnostic::error(
                    codes::RECURSIVE_NETWORK,
                    format!("network `{}` instantiates itself", def.name.name),
                    call_span,
                    "recursive instance",
                )
                .with_label(def.name.span, "defined here")
                .with_help(format!("instantiation chain: {chain} → {}", def.name.name)),
            );
            return;
        }
        // Names of body statements that did not parse.
        if let Some(info) = self.files.get(&ctx.file) {
            let inside =
                |b: &&ast::Ident| def.span.start <= b.span.start && b.span.end <= def.span.end;
            let broken: Vec<String> =
                info.broken.iter().filter(inside).map(|b| b.name.clone()).collect();
            ctx.failed.extend(broken);
        }
        // Bind parameters: named or positional arguments, then defaults.
        ctx.push_values();
        let mut given: IndexMap<String, (Value, Span)> = IndexMap::new();
        let mut positional = 0;
        for a in args {
            let pname = match &a.name {
                Some(n) => n.clone(),
                None => match def.params.get(positional) {
                    Some(p) => {
                        positional += 1;
                        p.name.name.clone()
                    }
                    None => {
                        self.diags.push(Diagnostic::error(
                            codes::ARITY,
                            format!(
                                "network `{}` takes {} parameter(s)",
                                def.name.name,
                                def.params.len()
                            ),
                            a.span,
                            "extra argument",
                        ));
                        continue;
                    }
                },
            };
            if !def.params.iter().any(|p| p.name.name == pname) {
                let names: Vec<&str> = def.params.iter().map(|p| p.name.name.as_str()).collect();
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_ARGUMENT,
                    format!("network `{}` has no parameter `{pname}`", def.name.name),
                    a.span,
                    "unknown parameter",
                )
                .with_label(def.name.span, "network defined here");
                d = d.with_help(
                    match snn_syntax::diag::did_you_mean(&pname, names.iter().copied()) {
                        Some(g) => format!("did you mean `{g}`?"),
                        None => format!("its parameters are: {}", names.join(", ")),
                    },
                );
                self.diags.push(d);
                continue;
            }
            if given.contains_key(&pname) {
                self.diags.push(Diagnostic::error(
                    codes::DUPLICATE_ARGUMENT,
                    format!("parameter `{pname}` is given twice"),
                    a.span,
                    "given again",
                ));
                continue;
            }
            given.insert(pname, (a.value.clone(), a.value_span));
        }
        let mut ok = true;
        for p in &def.params {
            let v = match given.shift_remove(&p.name.name) {
                Some((v, span)) => {
                    if let Some(ty) = &p.ty {
                        if let Some(d) = scope::check_param_type(&v, ty, span, &p.name.name) {
                            self.diags.push(d);
                            ok = false;
                            continue;
                        }
                        // a bare number given for a `time` or `freq` is in SI units
                        match (v, ty.name.as_str()) {
                            (Value::Num(x, Unit::One), "time") => Value::Num(x, Unit::Time),
                            (Value::Num(x, Unit::One), "freq") => Value::Num(x, Unit::Freq),
                            (v, _) => v,
                        }
                    } else {
                        v
                    }
                }
                None => match &p.default {
                    Some(e) => match self.eval(ctx, e) {
                        Some(v) => v,
                        None => {
                            ok = false;
                            continue;
                        }
                    },
                    None => {
                        self.diags.push(
                            Diagnostic::error(
                                codes::MISSING_ARGUMENT,
                                format!(
                                    "network `{}` needs parameter `{}`",
                                    def.name.name, p.name.name
                                ),
                                call_span,
                                format!("`{}` not given", p.name.name),
                            )
                            .with_label(p.span, "declared here without a default"),
                        );
                        ok = false;
                        continue;
                    }
                },
            };
            ctx.bind(&p.name.name, v, p.name.span);
        }
        if ok {
            self.stack.push(def.name.name.clone());
            let stmts: Vec<&ast::Stmt> = def.body.iter().collect();
            for s in &stmts {
                if let StmtKind::Seed { value } = &s.kind {
                    if let Some(seed) = self.eval_seed(ctx, value) {
                        ctx.seed = seed;
                    }
                }
            }
            self.elaborate_body(ctx, &stmts);
            self.stack.pop();
        }
        ctx.pop_values();
    }

    /// Find the network definition called `name` visible from `file` (`q.name` for qualified).
    pub(crate) fn find_network(
        &self,
        file: FileId,
        name: &str,
    ) -> Option<(Rc<ast::File>, usize, FileId)> {
        let info = self.files.get(&file)?;
        if let Some((q, rest)) = name.split_once('.') {
            let target = *info.qualified.get(q)?;
            let (f, i) = *self.files.get(&target)?.networks.get(rest)?;
            return self.network_def(f, i).map(|(a, i)| (a, i, f));
        }
        let (f, i) = *info.networks.get(name)?;
        self.network_def(f, i).map(|(a, i)| (a, i, f))
    }

    /// Whether the network `name` seen from `file` (`q.name` for qualified) is one whose
    /// definition did not parse: its instances are follow-on errors.
    pub(crate) fn network_broken(&self, file: FileId, name: &str) -> bool {
        let Some(info) = self.files.get(&file) else { return false };
        let own = |f: &FileId, n: &str| {
            self.files.get(f).is_some_and(|i| i.broken_networks.iter().any(|b| b == n))
        };
        match name.split_once('.') {
            Some((q, rest)) => info.qualified.get(q).is_some_and(|f| own(f, rest)),
            None => own(&file, name) || info.imports.iter().any(|f| own(f, name)),
        }
    }

    /// All network names visible from `file` (for suggestions).
    pub(crate) fn visible_networks(&self, file: FileId) -> Vec<String> {
        self.files.get(&file).map(|i| i.networks.keys().cloned().collect()).unwrap_or_default()
    }

    /// Register a new object and return its id.
    pub(crate) fn add_object(&mut self, obj: crate::model::Object) -> ObjectId {
        let id = ObjectId(self.model.objects.len() as u32);
        self.model.objects.push(obj);
        id
    }
}

/// [`Env`] over one network context.
pub(crate) struct EnvRef<'a, 'db> {
    el: &'a mut Elab<'db>,
    ctx: &'a NetCtx,
}

impl Env for EnvRef<'_, '_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        self.ctx.lookup(name).map(|(v, _)| v)
    }

    fn is_network(&self, name: &str) -> bool {
        self.el.find_network(self.ctx.file, name).is_some()
    }

    fn is_failed(&self, name: &str) -> bool {
        self.ctx.failed.contains(name)
    }

    fn charge(&mut self, values: usize, span: Span) -> Result<(), Diagnostic> {
        let el = &mut *self.el;
        let before = el.constant_values;
        el.constant_values = before.saturating_add(values as u64);
        if el.constant_values <= el.constant_limit {
            return Ok(());
        }
        if before > el.constant_limit {
            return Err(Diagnostic::error(FOLLOW_ON, "follow-on", span, ""));
        }
        Err(Diagnostic::error(
            codes::LIMIT,
            format!(
                "the constant expressions have made {} of arrays, more than the {} allowed",
                crate::budget::human_bytes(u128::from(el.constant_values) * 8),
                crate::budget::human_bytes(u128::from(el.constant_limit) * 8)
            ),
            span,
            "this array passes the limit",
        )
        .with_help("every array an expression makes counts (`a + a` makes one); raise the limit with --max-memory"))
    }

    fn tensor(&mut self, id: WeightsId, name: &str, span: Span) -> Result<ArrayD<f64>, Diagnostic> {
        let Some(entry) = self.el.weights.get(id.0) else {
            return Err(Diagnostic::error(
                codes::WEIGHTS_FILE,
                "weights file not open",
                span,
                "here",
            ));
        };
        let Some(source) = &entry.source else {
            return Err(Diagnostic::error(FOLLOW_ON, "follow-on", span, ""));
        };
        match source.tensor(name) {
            // the index is worked out only when there is a bad value (indexed_iter is slow)
            Some(t) if t.iter().all(|v| v.is_finite()) => Ok(t),
            Some(t) => match t.indexed_iter().find(|(_, v)| !v.is_finite()) {
                None => Ok(t),
                Some((at, v)) => Err(Diagnostic::error(
                    codes::WEIGHTS_FILE,
                    format!(
                        "tensor \"{name}\" in \"{}\" holds {v} at index {:?}",
                        entry.path,
                        ndarray::Dimension::slice(&at)
                    ),
                    span,
                    "not a finite number",
                )
                .with_help("weights must be finite: retrain or re-export the model")),
            },
            None => {
                let names = source.names();
                let mut d = Diagnostic::error(
                    codes::MISSING_TENSOR,
                    format!("no tensor \"{name}\" in \"{}\"", entry.path),
                    span,
                    "not in the weights file",
                );
                d = d.with_help(
                    match snn_syntax::diag::did_you_mean(name, names.iter().map(String::as_str)) {
                        Some(g) => format!("did you mean \"{g}\"?"),
                        None if names.len() <= 8 => format!("the file has: {}", names.join(", ")),
                        None => format!(
                            "the file has {} tensors, e.g. {}",
                            names.len(),
                            names[..4].join(", ")
                        ),
                    },
                );
                Err(d)
            }
        }
    }
}
