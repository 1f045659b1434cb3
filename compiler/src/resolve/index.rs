//! A per-file scope index: every definition and every reference of one parsed file, with spans,
//! found from the syntax tree alone (no elaboration, no other file). Editor queries (go to
//! definition, references, rename, outline, completion) read it; references that leave the file
//! (an imported network, a member of an instance, a named argument) are recorded by name for the
//! caller to follow with the other file's index.

use snn_syntax::ast::{self, ClauseKind, ExprKind, Item, PathSeg, StmtKind, UseTarget};
use snn_syntax::Span;

/// Arguments an ensemble declaration takes besides its neuron type's parameters.
pub const ENSEMBLE_ARGS: &[&str] = super::decl::ensembles::ENSEMBLE_ARGS;

/// Arguments a layer declaration takes besides its neuron type's parameters.
pub const LAYER_ARGS: &[&str] = super::decl::layers::LAYER_ARGS;

/// What a `config` block may set: per object kind, its parameters (neuron types also accept
/// their own parameters).
pub const CONFIG_KEYS: &[(&str, &[&str])] = super::scope::CONFIG_KEYS;

/// Index of a definition in [`FileIndex::defs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DefId(pub usize);

/// Index of a scope in [`FileIndex::scopes`]; scope 0 is the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeId(pub usize);

/// What a definition declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    /// `network NAME(…) { … }`.
    Network,
    /// A network's parameter.
    Param,
    /// `input NAME: SHAPE`.
    Input,
    /// `node NAME …`.
    Node,
    /// `ensemble NAME = …`.
    Ensemble,
    /// `layer NAME: SHAPE = …`.
    Layer,
    /// `network NAME = DEF(…)` (an instance).
    Instance,
    /// `alias NAME = PATH`.
    Alias,
    /// `let NAME = …`.
    Let,
    /// `weights NAME = "file"`.
    Weights,
    /// `probe NAME = …`.
    Probe,
    /// The variable of a `for` loop.
    ForVar,
    /// A parameter of an `fn` lambda.
    LambdaParam,
    /// `use "file" as NAME`.
    UseAlias,
}

impl DefKind {
    /// The keyword (or word) describing it, as hover shows it.
    pub fn describe(self) -> &'static str {
        match self {
            DefKind::Network => "network",
            DefKind::Param => "parameter",
            DefKind::Input => "input",
            DefKind::Node => "node",
            DefKind::Ensemble => "ensemble",
            DefKind::Layer => "layer",
            DefKind::Instance => "network instance",
            DefKind::Alias => "alias",
            DefKind::Let => "let",
            DefKind::Weights => "weights",
            DefKind::Probe => "probe",
            DefKind::ForVar => "loop variable",
            DefKind::LambdaParam => "function parameter",
            DefKind::UseAlias => "imported file",
        }
    }

    /// Whether it is a member of its network: something a path (`a`, `sub.a`) can name.
    pub fn is_member(self) -> bool {
        matches!(
            self,
            DefKind::Input
                | DefKind::Node
                | DefKind::Ensemble
                | DefKind::Layer
                | DefKind::Instance
                | DefKind::Alias
        )
    }
}

/// One definition.
#[derive(Clone, Debug)]
pub struct Def {
    /// The name as written.
    pub name: String,
    /// What it is.
    pub kind: DefKind,
    /// The name's span.
    pub span: Span,
    /// The whole statement, parameter or definition.
    pub full: Span,
    /// The scope it is visible in.
    pub scope: ScopeId,
    /// For an instance, the network it instantiates (`integrator`, `q.integrator`); for a
    /// declaration whose value is a call, the callee's name (`lif`).
    pub callee: Option<String>,
    /// For an alias, the path it names, as its root definition and field names.
    pub target: Option<(Option<DefId>, Vec<String>)>,
}

/// A lexical scope: the file, a network body, a `for` body or a lambda.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The enclosing scope (`None` for the file).
    pub parent: Option<ScopeId>,
    /// The text it covers.
    pub span: Span,
    /// For a network body, the network's definition.
    pub network: Option<DefId>,
    /// True for a network body or the file's root network: members declared in nested `for`
    /// bodies belong to it.
    pub is_network: bool,
}

/// What a reference points at.
#[derive(Clone, Debug, PartialEq)]
pub enum RefTarget {
    /// A definition of this file.
    Def(DefId),
    /// A network by name, not defined in this file (imported, from the stdlib, or unknown);
    /// `q.name` when qualified by a `use … as q`.
    Network(String),
    /// A member of an instance: `fields` are the names after the root, up to this one
    /// (`sub.inner.ens` at `ens`: root `sub`, fields `["inner", "ens"]`).
    Member {
        /// The definition the path starts from (an instance or an alias).
        root: DefId,
        /// Field names from the root up to the one referenced.
        fields: Vec<String>,
    },
    /// A named argument of a call to `callee` (a network, a neuron type or a constructor).
    Arg {
        /// The callee's name as written.
        callee: String,
        /// The argument's name.
        name: String,
    },
    /// A name that is no definition of this file: a function, a neuron type, a constant, or
    /// an unknown name (the checker reports those).
    Free(String),
}

/// One use of a name.
#[derive(Clone, Debug)]
pub struct Ref {
    /// Where the name is written.
    pub span: Span,
    /// What it names.
    pub target: RefTarget,
}

/// A `use` item.
#[derive(Clone, Debug)]
pub struct UseEntry {
    /// `Ok(std name)` for `use std.x`, `Err(relative path)` for `use "file.snn"`.
    pub target: Result<String, String>,
    /// `as` name, if any.
    pub alias: Option<String>,
    /// The path or string's span.
    pub target_span: Span,
    /// The whole item.
    pub span: Span,
}

/// Definitions, references, scopes and imports of one file.
#[derive(Clone, Debug, Default)]
pub struct FileIndex {
    /// Every definition, in source order.
    pub defs: Vec<Def>,
    /// Every reference, in source order.
    pub refs: Vec<Ref>,
    /// Scopes; `scopes[0]` is the file (its statements form the root network).
    pub scopes: Vec<Scope>,
    /// `use` items in order.
    pub uses: Vec<UseEntry>,
    /// Definitions by the start of their name, for position lookups.
    by_start: Vec<(u32, DefId)>,
}

impl FileIndex {
    /// Index a parsed file.
    pub fn build(file: &ast::File) -> FileIndex {
        let fid = file.items.first().map(|i| item_span(i).file).unwrap_or_default();
        let mut b = Builder { ix: FileIndex::default(), by_name: Default::default() };
        b.ix.scopes.push(Scope {
            parent: None,
            span: Span { file: fid, start: 0, end: u32::MAX },
            network: None,
            is_network: true,
        });
        let root = ScopeId(0);
        // Networks and use aliases first: visible from everywhere in the file.
        for item in &file.items {
            match item {
                Item::Network(def) => {
                    b.def(&def.name, DefKind::Network, def.span, root);
                }
                Item::Use(u) => {
                    if let Some(a) = &u.alias {
                        b.def(a, DefKind::UseAlias, u.span, root);
                    }
                    let (target, target_span) = match &u.target {
                        UseTarget::Std(parts) => {
                            let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                            let span = match (parts.first(), parts.last()) {
                                (Some(a), Some(z)) => a.span.to(z.span),
                                _ => u.span,
                            };
                            (Ok(names.join(".")), span)
                        }
                        UseTarget::File(s) => (Err(s.value.clone()), s.span),
                    };
                    b.ix.uses.push(UseEntry {
                        target,
                        alias: u.alias.as_ref().map(|a| a.name.clone()),
                        target_span,
                        span: u.span,
                    });
                }
                Item::Stmt(_) => {}
            }
        }
        // The root network's declarations.
        let root_stmts: Vec<&ast::Stmt> = file
            .items
            .iter()
            .filter_map(|i| if let Item::Stmt(s) = i { Some(s) } else { None })
            .collect();
        b.declare(&root_stmts, root);
        // Network bodies.
        let mut net_scopes = Vec::new();
        for item in &file.items {
            if let Item::Network(def) = item {
                let id = b.ix.defs.iter().position(|d| d.span == def.name.span).map(DefId);
                let scope = b.scope(root, def.span, id, true);
                for p in &def.params {
                    b.def(&p.name, DefKind::Param, p.span, scope);
                }
                let body: Vec<&ast::Stmt> = def.body.iter().collect();
                b.declare(&body, scope);
                net_scopes.push((def, scope));
            }
        }
        // References, once every definition is known.
        b.stmts(&root_stmts, root);
        for (def, scope) in net_scopes {
            for p in &def.params {
                if let Some(d) = &p.default {
                    b.expr(d, root);
                }
            }
            let body: Vec<&ast::Stmt> = def.body.iter().collect();
            b.stmts(&body, scope);
        }
        b.resolve_alias_targets();
        b.ix.refs.sort_by_key(|r| r.span.start);
        let mut by_start: Vec<(u32, DefId)> =
            b.ix.defs.iter().enumerate().map(|(i, d)| (d.span.start, DefId(i))).collect();
        by_start.sort();
        b.ix.by_start = by_start;
        b.ix
    }

    /// The definition whose name is at byte `offset`.
    pub fn def_at(&self, offset: usize) -> Option<DefId> {
        let k = self.by_start.partition_point(|(s, _)| (*s as usize) <= offset);
        self.by_start[..k]
            .iter()
            .rev()
            .take(2)
            .map(|(_, d)| *d)
            .find(|d| contains(self.defs[d.0].span, offset))
    }

    /// The reference at byte `offset`.
    pub fn ref_at(&self, offset: usize) -> Option<&Ref> {
        let k = self.refs.partition_point(|r| (r.span.start as usize) <= offset);
        self.refs[..k].iter().rev().take(2).find(|r| contains(r.span, offset))
    }

    /// The definition `id`.
    pub fn def(&self, id: DefId) -> &Def {
        &self.defs[id.0]
    }

    /// Every reference to the definition `id` in this file.
    pub fn references(&self, id: DefId) -> impl Iterator<Item = &Ref> + '_ {
        self.refs.iter().filter(move |r| r.target == RefTarget::Def(id))
    }

    /// The innermost scope containing byte `offset`.
    pub fn scope_at(&self, offset: usize) -> ScopeId {
        let mut best = ScopeId(0);
        for (i, s) in self.scopes.iter().enumerate() {
            let inside = (s.span.start as usize) <= offset && offset <= s.span.end as usize;
            let b = &self.scopes[best.0].span;
            if inside && s.span.end - s.span.start <= b.end - b.start {
                best = ScopeId(i);
            }
        }
        best
    }

    /// The network scope a scope belongs to (itself, or the nearest enclosing network body).
    pub fn network_scope(&self, mut scope: ScopeId) -> ScopeId {
        while !self.scopes[scope.0].is_network {
            match self.scopes[scope.0].parent {
                Some(p) => scope = p,
                None => break,
            }
        }
        scope
    }

    /// Definitions visible from `scope`, innermost first (a name shadowed by an inner one is
    /// listed once): its own and enclosing scopes' definitions up to its network body, the
    /// network's members (also those declared in loops), and the file's networks and imports.
    pub fn visible(&self, scope: ScopeId) -> Vec<DefId> {
        let mut out: Vec<DefId> = Vec::new();
        let mut seen: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        let mut push = |out: &mut Vec<DefId>, id: DefId| {
            if seen.insert(self.defs[id.0].name.as_str()) {
                out.push(id);
            }
        };
        let mut cur = Some(scope);
        let mut crossed = false;
        while let Some(s) = cur {
            for (i, d) in self.defs.iter().enumerate() {
                let file_level = matches!(d.kind, DefKind::Network | DefKind::UseAlias);
                if d.scope == s && (!crossed || file_level) {
                    push(&mut out, DefId(i));
                }
            }
            if self.scopes[s.0].network.is_some() {
                crossed = true;
            }
            cur = self.scopes[s.0].parent;
        }
        for m in self.members(self.network_scope(scope)) {
            push(&mut out, m);
        }
        out
    }

    /// The members of the network whose body is `scope` (declarations, instances, aliases),
    /// by name, in source order.
    pub fn members(&self, scope: ScopeId) -> Vec<DefId> {
        let mut out = Vec::new();
        for (i, d) in self.defs.iter().enumerate() {
            if d.kind.is_member() && self.network_scope(d.scope) == scope {
                out.push(DefId(i));
            }
        }
        out
    }

    /// The body scope of the network defined by `id`.
    pub fn body_of(&self, id: DefId) -> Option<ScopeId> {
        self.scopes.iter().position(|s| s.network == Some(id)).map(ScopeId)
    }

    /// The network definition called `name` in this file.
    pub fn network(&self, name: &str) -> Option<DefId> {
        self.defs.iter().position(|d| d.kind == DefKind::Network && d.name == name).map(DefId)
    }
}

fn contains(span: Span, offset: usize) -> bool {
    (span.start as usize) <= offset && offset <= span.end as usize
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Use(u) => u.span,
        Item::Network(n) => n.span,
        Item::Stmt(s) => s.span,
    }
}

/// The name a call's callee is written as (`lif`, `q.integrator`), if it is a plain name.
fn callee_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Name(n) => Some(n.name.clone()),
        ExprKind::Field { base, field } => Some(format!("{}.{}", callee_name(base)?, field.name)),
        _ => None,
    }
}

struct Builder {
    ix: FileIndex,
    /// Definitions by name, for lookups.
    by_name: std::collections::BTreeMap<String, Vec<usize>>,
}

impl Builder {
    fn scope(&mut self, parent: ScopeId, span: Span, network: Option<DefId>, net: bool) -> ScopeId {
        self.ix.scopes.push(Scope { parent: Some(parent), span, network, is_network: net });
        ScopeId(self.ix.scopes.len() - 1)
    }

    fn def(&mut self, name: &ast::Ident, kind: DefKind, full: Span, scope: ScopeId) -> DefId {
        self.ix.defs.push(Def {
            name: name.name.clone(),
            kind,
            span: name.span,
            full,
            scope,
            callee: None,
            target: None,
        });
        let id = self.ix.defs.len() - 1;
        self.by_name.entry(name.name.clone()).or_default().push(id);
        DefId(id)
    }

    /// Declare the names a body defines (loop bodies get their own scope for the variable;
    /// their declarations belong to the enclosing network, their `let`s to the loop).
    fn declare(&mut self, stmts: &[&ast::Stmt], scope: ScopeId) {
        for s in stmts {
            let (name, kind, value) = match &s.kind {
                StmtKind::Input { name, .. } => (&name.name, DefKind::Input, None),
                StmtKind::Node { name, value, .. } => (&name.name, DefKind::Node, value.as_ref()),
                StmtKind::Ensemble { name, value } => (&name.name, DefKind::Ensemble, Some(value)),
                StmtKind::Layer { name, value, .. } => (&name.name, DefKind::Layer, Some(value)),
                StmtKind::Instance { name, value } => (&name.name, DefKind::Instance, Some(value)),
                StmtKind::Alias { name, .. } => (name, DefKind::Alias, None),
                StmtKind::Let { name, .. } => (name, DefKind::Let, None),
                StmtKind::Weights { name, .. } => (name, DefKind::Weights, None),
                StmtKind::Probe { name: Some(name), .. } => (name, DefKind::Probe, None),
                StmtKind::For { var, body, .. } => {
                    let inner = self.scope(scope, s.span, None, false);
                    self.def(var, DefKind::ForVar, s.span, inner);
                    let body: Vec<&ast::Stmt> = body.iter().collect();
                    self.declare(&body, inner);
                    continue;
                }
                _ => continue,
            };
            let id = self.def(name, kind, s.span, scope);
            if let Some(ExprKind::Call { callee, .. }) = value.map(|v| &v.kind) {
                self.ix.defs[id.0].callee = callee_name(callee);
            }
        }
    }

    /// Find the definition `name` visible from `scope`.
    fn lookup(&self, name: &str, scope: ScopeId) -> Option<DefId> {
        let mut cur = Some(scope);
        let mut crossed_network = false;
        let candidates = self.by_name.get(name)?;
        while let Some(s) = cur {
            let found = candidates.iter().copied().find(|&i| {
                let d = &self.ix.defs[i];
                d.scope == s
                    && (!crossed_network || matches!(d.kind, DefKind::Network | DefKind::UseAlias))
            });
            if let Some(i) = found {
                return Some(DefId(i));
            }
            let sc = &self.ix.scopes[s.0];
            if sc.network.is_some() {
                crossed_network = true;
            }
            cur = sc.parent;
        }
        None
    }

    /// Members live in the network scope, but loop bodies see them too: look in the scope
    /// chain, and in the network's loop bodies for array declarations made there.
    fn lookup_member(&self, name: &str, scope: ScopeId) -> Option<DefId> {
        if let Some(d) = self.lookup(name, scope) {
            return Some(d);
        }
        let net = self.ix.network_scope(scope);
        self.by_name.get(name)?.iter().copied().map(DefId).find(|d| {
            let d = &self.ix.defs[d.0];
            d.kind.is_member() && self.ix.network_scope(d.scope) == net
        })
    }

    fn push_ref(&mut self, span: Span, target: RefTarget) {
        self.ix.refs.push(Ref { span, target });
    }

    fn stmts(&mut self, stmts: &[&ast::Stmt], scope: ScopeId) {
        for s in stmts {
            self.stmt(s, scope);
        }
    }

    fn stmt(&mut self, s: &ast::Stmt, scope: ScopeId) {
        match &s.kind {
            StmtKind::Input { name, shape } => {
                self.decl_name(name, scope);
                self.shape(shape, scope);
            }
            StmtKind::Node { name, shape, value } => {
                self.decl_name(name, scope);
                if let Some(sh) = shape {
                    self.shape(sh, scope);
                }
                if let Some(v) = value {
                    self.value(v, scope);
                }
            }
            StmtKind::Ensemble { name, value } | StmtKind::Instance { name, value } => {
                self.decl_name(name, scope);
                self.value(value, scope);
            }
            StmtKind::Layer { name, shape, value } => {
                self.decl_name(name, scope);
                self.shape(shape, scope);
                self.value(value, scope);
            }
            StmtKind::Connect { pre, post, clauses, .. } => {
                self.path(pre, scope);
                self.path(post, scope);
                self.clauses(clauses, scope);
            }
            StmtKind::Probe { target, clauses, .. } => {
                self.path(target, scope);
                self.clauses(clauses, scope);
            }
            StmtKind::Alias { target, .. } => self.path(target, scope),
            StmtKind::Weights { .. } => {}
            StmtKind::Config { entries } => {
                for e in entries {
                    self.expr(&e.value, scope);
                }
            }
            StmtKind::For { start, end, body, .. } => {
                self.expr(start, scope);
                self.expr(end, scope);
                let inner = self
                    .ix
                    .scopes
                    .iter()
                    .position(|sc| sc.span == s.span && sc.parent == Some(scope))
                    .map(ScopeId)
                    .unwrap_or(scope);
                let body: Vec<&ast::Stmt> = body.iter().collect();
                self.stmts(&body, inner);
            }
            StmtKind::Seed { value } | StmtKind::Let { value, .. } => self.expr(value, scope),
        }
    }

    fn decl_name(&mut self, name: &ast::DeclName, scope: ScopeId) {
        if let Some(i) = &name.index {
            self.expr(i, scope);
        }
    }

    fn shape(&mut self, shape: &ast::Shape, scope: ScopeId) {
        for d in &shape.dims {
            self.expr(d, scope);
        }
    }

    /// A declaration's value: a call's callee names a network or neuron type.
    fn value(&mut self, e: &ast::Expr, scope: ScopeId) {
        self.expr(e, scope);
    }

    fn clauses(&mut self, clauses: &[ast::Clause], scope: ScopeId) {
        for c in clauses {
            match &c.kind {
                ClauseKind::Function(l) => self.lambda(l, scope),
                ClauseKind::Transform(e)
                | ClauseKind::Synapse(e)
                | ClauseKind::Solver(e)
                | ClauseKind::EvalPoints(e)
                | ClauseKind::Seed(e)
                | ClauseKind::SampleEvery(e)
                | ClauseKind::Trainable(e) => self.expr(e, scope),
            }
        }
    }

    fn lambda(&mut self, l: &ast::Lambda, scope: ScopeId) {
        let inner = self.scope(scope, l.span, None, false);
        for p in &l.params {
            self.def(&p.name, DefKind::LambdaParam, p.name.span, inner);
            if let Some(sh) = &p.shape {
                self.shape(sh, scope);
            }
        }
        self.expr(&l.body, inner);
    }

    fn path(&mut self, p: &ast::Path, scope: ScopeId) {
        let root = self.lookup_member(&p.root.name, scope);
        match root {
            Some(r) => self.push_ref(p.root.span, RefTarget::Def(r)),
            None => self.push_ref(p.root.span, RefTarget::Free(p.root.name.clone())),
        }
        let mut fields = Vec::new();
        let mut member_chain = root
            .is_some_and(|r| matches!(self.ix.defs[r.0].kind, DefKind::Instance | DefKind::Alias));
        for seg in &p.segs {
            match seg {
                PathSeg::Field(f) => {
                    fields.push(f.name.clone());
                    if let (true, Some(r)) = (member_chain, root) {
                        self.push_ref(
                            f.span,
                            RefTarget::Member { root: r, fields: fields.clone() },
                        );
                    } else {
                        member_chain = false;
                    }
                }
                PathSeg::Index(ix) => self.index(ix, scope),
            }
        }
    }

    fn index(&mut self, ix: &ast::Index, scope: ScopeId) {
        match ix {
            ast::Index::Expr(e) => self.expr(e, scope),
            ast::Index::Slice { start, stop, step, .. } => {
                for e in [start, stop, step].into_iter().flatten() {
                    self.expr(e, scope);
                }
            }
        }
    }

    fn expr(&mut self, e: &ast::Expr, scope: ScopeId) {
        match &e.kind {
            ExprKind::Number { .. } | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::None => {}
            ExprKind::Name(n) => {
                let target = match self.lookup(&n.name, scope) {
                    Some(d) => RefTarget::Def(d),
                    None => RefTarget::Free(n.name.clone()),
                };
                self.push_ref(n.span, target);
            }
            ExprKind::Vector(items) => {
                for i in items {
                    self.expr(i, scope);
                }
            }
            ExprKind::Paren(inner) | ExprKind::Unary { expr: inner, .. } => self.expr(inner, scope),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs, scope);
                self.expr(rhs, scope);
            }
            ExprKind::Call { callee, args } => {
                let name = callee_name(callee);
                match (&callee.kind, &name) {
                    (ExprKind::Name(n), Some(name)) => {
                        // A call of a name that is no definition here may be an imported
                        // network, a neuron type or a constructor: `Free`.
                        let target = match self.lookup(name, scope) {
                            Some(d) => RefTarget::Def(d),
                            None => RefTarget::Free(name.clone()),
                        };
                        self.push_ref(n.span, target);
                    }
                    (ExprKind::Field { base, field }, Some(name)) => {
                        self.expr(base, scope);
                        self.push_ref(field.span, RefTarget::Network(name.clone()));
                    }
                    _ => self.expr(callee, scope),
                }
                for a in args {
                    if let (Some(an), Some(callee)) = (&a.name, &name) {
                        self.push_ref(
                            an.span,
                            RefTarget::Arg { callee: callee.clone(), name: an.name.clone() },
                        );
                    }
                    self.expr(&a.value, scope);
                }
            }
            ExprKind::Index { base, indices } => {
                self.expr(base, scope);
                for i in indices {
                    self.index(i, scope);
                }
            }
            ExprKind::Field { base, .. } => self.expr(base, scope),
            ExprKind::Lambda(l) => self.lambda(l, scope),
        }
    }

    /// Record each alias's target path (root definition and fields) for member resolution.
    fn resolve_alias_targets(&mut self) {
        let mut updates = Vec::new();
        for (i, d) in self.ix.defs.iter().enumerate() {
            if d.kind != DefKind::Alias {
                continue;
            }
            // The alias statement's target path starts at the first reference after the name.
            let first = self.ix.refs.iter().find(|r| {
                r.span.start >= d.span.end && r.span.end <= d.full.end && r.span.file == d.span.file
            });
            let Some(first) = first else { continue };
            let root = match &first.target {
                RefTarget::Def(r) => Some(*r),
                _ => None,
            };
            let fields: Vec<String> = self
                .ix
                .refs
                .iter()
                .filter(|r| r.span.start > first.span.start && r.span.end <= d.full.end)
                .filter_map(|r| match &r.target {
                    RefTarget::Member { fields, .. } => fields.last().cloned(),
                    _ => None,
                })
                .collect();
            updates.push((i, (root, fields)));
        }
        for (i, t) in updates {
            self.ix.defs[i].target = Some(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snn_syntax::FileId;

    fn index(src: &str) -> FileIndex {
        let p = snn_syntax::parse(FileId(0), src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        FileIndex::build(&p.file)
    }

    fn at(src: &str, needle: &str, nth: usize) -> usize {
        src.match_indices(needle).nth(nth).map(|(i, _)| i).expect("needle")
    }

    #[test]
    fn names_resolve_to_their_declarations() {
        let src = "let k = 2\ninput x: [k]\nensemble a = lif(n = 10 * k, dims = 1)\n\
                   connect x -> a fn v -> v * k\nnetwork net(n: int = 3) {\n    node input: [n]\n\
                   alias out = input\n}\nnetwork s = net(n = 2)\nconnect s.out -> a\n";
        let ix = index(src);
        let k_use = ix.ref_at(at(src, "k", 2)).expect("k ref");
        assert_eq!(
            ix.def(DefId(match k_use.target {
                RefTarget::Def(d) => d.0,
                _ => panic!("{k_use:?}"),
            }))
            .name,
            "k"
        );
        // `v` inside the lambda is the lambda's parameter.
        let v = ix.ref_at(at(src, "v * k", 0)).expect("v");
        assert!(matches!(v.target, RefTarget::Def(d) if ix.def(d).kind == DefKind::LambdaParam));
        // `n` inside the network body is its parameter, not anything of the root.
        let n = ix.ref_at(at(src, "[n]", 0) + 1).expect("n");
        assert!(matches!(n.target, RefTarget::Def(d) if ix.def(d).kind == DefKind::Param));
        // `s.out`: `out` is a member of the instance `s`.
        let out = ix.ref_at(at(src, "s.out", 0) + 2).expect("out");
        assert!(matches!(&out.target, RefTarget::Member { fields, .. } if fields == &["out"]));
        // `net(n = 2)`: the argument names the network's parameter.
        let arg = ix.ref_at(at(src, "n = 2", 0)).expect("arg");
        assert_eq!(arg.target, RefTarget::Arg { callee: "net".into(), name: "n".into() });
        let net = ix.network("net").expect("net");
        let body = ix.body_of(net).expect("body");
        let members: Vec<&str> =
            ix.members(body).iter().map(|d| ix.def(*d).name.as_str()).collect();
        assert_eq!(members, ["input", "out"]);
        assert_eq!(
            ix.def(ix.defs.iter().position(|d| d.name == "s").map(DefId).expect("s"))
                .callee
                .as_deref(),
            Some("net")
        );
    }

    #[test]
    fn loop_arrays_are_members_of_the_network() {
        let src = "for i in 0..2 {\n    ensemble ea[i] = lif(n = 10, dims = 1)\n}\nprobe ea[0]\n";
        let ix = index(src);
        let r = ix.ref_at(at(src, "ea[0]", 0)).expect("ea");
        assert!(matches!(r.target, RefTarget::Def(d) if ix.def(d).kind == DefKind::Ensemble));
        let i = ix.ref_at(at(src, "ea[i]", 0) + 3).expect("i");
        assert!(matches!(i.target, RefTarget::Def(d) if ix.def(d).kind == DefKind::ForVar));
    }
}
