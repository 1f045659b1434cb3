//! The canonical formatter for `.snn` (`snnc fmt`): prints the syntax tree back as text and puts
//! every `//` comment of the source back next to the statement it belongs to.
//!
//! Layout rules:
//! - 4-space indentation inside `network { }`, `for { }` and `config { }`; one statement per line.
//! - A blank line is kept where the source had one or more between two statements (runs collapse
//!   to one); none at the start or end of a block; a blank line always separates a top-level
//!   `network` definition from what is around it. Items stay in source order (`use` items too).
//! - Spacing: `a -> b`, `x = 1`, `a * b`, `f(a, b = 2)`, `[1, 2]`, `name: [2, 3]`, `-x`, `a[0:2]`,
//!   `5ms`. Number literals keep their text (`0.50ms`); strings are re-escaped. Parentheses are
//!   the user's: kept where written, none added.
//! - Connection and probe clauses stay on the statement's line unless it would be wider than 100
//!   columns; then each clause goes on its own continuation line, indented 4 more. Likewise a
//!   too-wide network header puts one parameter per line, and a too-wide declaration whose value
//!   is a call (`ensemble b = lif_rate(…)`) puts one argument per line. Other expressions are
//!   never broken.
//!
//! Comments (not in the syntax tree; found by scanning the text outside strings):
//! - a comment on the line after a statement's end trails it (`stmt  // note`);
//! - other comments lead the next statement or item of their block, on their own lines, keeping
//!   blank-line separation; those after the last statement of a block go before its `}`, and those
//!   at the end of the file stay at the end;
//! - comments inside a statement that spans several lines (inside an expression, between clauses)
//!   are moved to trail the statement; when there are several (or the statement also has a
//!   trailing comment), the last trails it and the others go on their own lines right above it;
//! - likewise comments in a `network`/`for`/`config` header (before its `{` or on the `{` line):
//!   the last trails the `{` line, the others go right above the statement.

use crate::ast::*;
use crate::{parse, Diagnostic, FileId};

/// The widest line the formatter aims for, in characters.
const WIDTH: usize = 100;
/// One level of indentation.
const INDENT: &str = "    ";

/// Format `text` canonically; `Err` is the syntax error that stopped parsing.
#[allow(clippy::result_large_err)] // the crate's Diagnostic, as `parse` reports it
pub fn format(text: &str) -> Result<String, Diagnostic> {
    // lone carriage returns become newlines (same offsets): comments end at them
    let mut normalized = text.to_string();
    crate::span::normalize_line_breaks(&mut normalized);
    let text = normalized.as_str();
    let parsed = parse(FileId(0), text);
    if let Some(err) = parsed.errors.into_iter().next() {
        return Err(err);
    }
    let comments = scan_comments(text);
    let nodes: Vec<Node<'_>> = parsed.file.items.iter().map(Node::from_item).collect();
    let mut f = Formatter { src: text, comments: &comments, out: String::new() };
    f.block(&nodes, &comments, 0, true);
    Ok(f.out)
}

/// A `//` comment: byte range in the source, up to (not including) the end of its line.
#[derive(Clone, Copy, Debug)]
struct Comment {
    start: usize,
    end: usize,
}

/// All `//` comments of `text` outside string literals, in order.
fn scan_comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut res = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // A string runs to the next unescaped quote (or, if malformed, the end of the line).
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                res.push(Comment { start, end: i });
            }
            _ => i += 1,
        }
    }
    res
}

/// A comment with whether a blank line goes before it.
#[derive(Clone, Copy, Debug)]
struct Placed {
    comment: Comment,
    blank: bool,
}

/// The comments that belong to one child of a block.
#[derive(Debug, Default)]
struct Attached {
    /// Comments on their own lines above the child.
    leading: Vec<Placed>,
    /// Whether a blank line goes before the child itself (after its leading comments).
    blank: bool,
    /// Comments inside the child's span.
    inner: Vec<Comment>,
    /// A comment on the line of the child's end.
    trailing: Option<Comment>,
}

/// One thing of a block: a top-level item, a statement or a config entry.
#[derive(Clone, Copy)]
enum Node<'a> {
    Use(&'a Use),
    Network(&'a NetworkDef),
    Stmt(&'a Stmt),
    Entry(&'a ConfigEntry),
}

impl<'a> Node<'a> {
    fn from_item(item: &'a Item) -> Node<'a> {
        match item {
            Item::Use(u) => Node::Use(u),
            Item::Network(n) => Node::Network(n),
            Item::Stmt(s) => Node::Stmt(s),
        }
    }

    fn span(&self) -> std::ops::Range<usize> {
        match self {
            Node::Use(u) => u.span.range(),
            Node::Network(n) => n.span.range(),
            Node::Stmt(s) => s.span.range(),
            Node::Entry(e) => e.span.range(),
        }
    }

    fn is_network(&self) -> bool {
        matches!(self, Node::Network(_))
    }
}

struct Formatter<'s> {
    src: &'s str,
    /// Every comment of the source, in order.
    comments: &'s [Comment],
    out: String,
}

impl Formatter<'_> {
    /// The range of a node without what its span may include after its last token: a parser
    /// span ending in an optional part (`clause*`, `(= expr)?`) swallows the whitespace and
    /// comments that follow it.
    fn extent(&self, node: &Node<'_>) -> std::ops::Range<usize> {
        let span = node.span();
        let bytes = self.src.as_bytes();
        let mut end = span.end;
        loop {
            while end > span.start && matches!(bytes[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
                end -= 1;
            }
            // A comment that ends here (its text may end in spaces, trimmed above).
            let i = self.comments.partition_point(|c| c.start < end);
            match i.checked_sub(1).map(|i| self.comments[i]) {
                Some(c) if c.start >= span.start && end <= c.end => end = c.start,
                _ => break,
            }
        }
        span.start..end
    }

    fn comment_text(&self, c: Comment) -> &str {
        self.src[c.start..c.end].trim_end()
    }

    /// Whether the source has a blank line between byte `from` and byte `to`.
    fn blank_between(&self, from: Option<usize>, to: usize) -> bool {
        from.is_some_and(|p| self.src[p..to].bytes().filter(|&b| b == b'\n').count() >= 2)
    }

    /// Share out `comments` (all inside the block, in order) among the block's children; returns
    /// what each child gets and the comments after the last child.
    fn attach(&self, nodes: &[Node<'_>], comments: &[Comment]) -> (Vec<Attached>, Vec<Placed>) {
        let mut res: Vec<Attached> = Vec::with_capacity(nodes.len());
        let mut next = 0;
        let mut prev_end: Option<usize> = None;
        for node in nodes {
            let span = self.extent(node);
            let leading =
                self.take_before(comments, &mut next, span.start, &mut res, &mut prev_end);
            let blank = self.blank_between(prev_end, span.start);
            let mut att = Attached { leading, blank, ..Attached::default() };
            while next < comments.len() && comments[next].start < span.end {
                att.inner.push(comments[next]);
                next += 1;
            }
            res.push(att);
            prev_end = Some(span.end);
        }
        let dangling = self.take_before(comments, &mut next, usize::MAX, &mut res, &mut prev_end);
        (res, dangling)
    }

    /// The comments from `*next` that start before `limit`: the first trails the previous child if
    /// it is on that child's last line; the others are returned as leading comments.
    fn take_before(
        &self,
        comments: &[Comment],
        next: &mut usize,
        limit: usize,
        res: &mut [Attached],
        prev_end: &mut Option<usize>,
    ) -> Vec<Placed> {
        let mut leading = Vec::new();
        while *next < comments.len() && comments[*next].start < limit {
            let c = comments[*next];
            *next += 1;
            if let (true, Some(last), Some(p)) = (leading.is_empty(), res.last_mut(), *prev_end) {
                if last.trailing.is_none() && !self.src[p..c.start].contains('\n') {
                    last.trailing = Some(c);
                    *prev_end = Some(c.end);
                    continue;
                }
            }
            leading.push(Placed { comment: c, blank: self.blank_between(*prev_end, c.start) });
            *prev_end = Some(c.end);
        }
        leading
    }

    fn newline(&mut self) {
        self.out.push('\n');
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn comment_line(&mut self, c: Comment, depth: usize) {
        self.indent(depth);
        let text = self.comment_text(c).to_string();
        self.out.push_str(&text);
        self.newline();
    }

    /// Write the children of a block at `depth`, each line ending in a newline.
    fn block(&mut self, nodes: &[Node<'_>], comments: &[Comment], depth: usize, top: bool) {
        let (attached, dangling) = self.attach(nodes, comments);
        let mut first = true;
        for (k, (node, att)) in nodes.iter().zip(attached).enumerate() {
            let force = top && k > 0 && (node.is_network() || nodes[k - 1].is_network());
            for (j, p) in att.leading.iter().enumerate() {
                if !first && (p.blank || (j == 0 && force)) {
                    self.newline();
                }
                self.comment_line(p.comment, depth);
                first = false;
            }
            // Comments that cannot stay where they are (inside a simple statement, which then
            // spans several lines, or in a header) move out: the last trails the line, the
            // others go right above the statement.
            let (mut moved, head_trail, body) = match self.header_end(node) {
                Some(end) => {
                    let split =
                        att.inner.iter().position(|c| c.start > end).unwrap_or(att.inner.len());
                    let mut head = att.inner[..split].to_vec();
                    let trail = head.pop();
                    (head, trail, &att.inner[split..])
                }
                None => (att.inner.clone(), None, &[][..]),
            };
            if head_trail.is_none() {
                moved.extend(att.trailing);
            }
            let trailing = if head_trail.is_none() { moved.pop() } else { att.trailing };
            if !first && (att.blank || (att.leading.is_empty() && force)) {
                self.newline();
            }
            first = false;
            for &c in &moved {
                self.comment_line(c, depth);
            }
            self.node(*node, head_trail, body, depth);
            if let Some(c) = trailing {
                let text = self.comment_text(c).to_string();
                self.out.push_str("  ");
                self.out.push_str(&text);
            }
            self.newline();
        }
        let after_network = top && nodes.last().is_some_and(Node::is_network);
        for (j, p) in dangling.iter().enumerate() {
            if !first && (p.blank || (j == 0 && after_network)) {
                self.newline();
            }
            self.comment_line(p.comment, depth);
            first = false;
        }
    }

    /// Write one child without its final newline; a compound child gets the comment that trails
    /// its `{` and the comments of its body (a simple child's are placed by the caller).
    fn node(
        &mut self,
        node: Node<'_>,
        head_trail: Option<Comment>,
        inner: &[Comment],
        depth: usize,
    ) {
        match node {
            Node::Use(u) => {
                self.indent(depth);
                let text = use_item(u);
                self.out.push_str(&text);
            }
            Node::Entry(e) => {
                self.indent(depth);
                let text = match &e.kind {
                    Some(k) => format!("{}.{} = {}", k.name, e.param.name, expr(&e.value)),
                    None => format!("{} = {}", e.param.name, expr(&e.value)),
                };
                self.out.push_str(&text);
            }
            Node::Network(n) => {
                let one_line = network_header(n, None);
                let header = if depth * INDENT.len() + width(&one_line) + 2 > WIDTH
                    && !n.params.is_empty()
                {
                    network_header(n, Some(depth))
                } else {
                    one_line
                };
                let body: Vec<Node<'_>> = n.body.iter().map(Node::Stmt).collect();
                self.compound(&header, head_trail, &body, inner, depth);
            }
            Node::Stmt(s) => self.stmt(s, head_trail, inner, depth),
        }
    }

    /// Write `header {`, the comment that trails it, the body with its comments and `}`.
    fn compound(
        &mut self,
        header: &str,
        head_trail: Option<Comment>,
        body: &[Node<'_>],
        inner: &[Comment],
        depth: usize,
    ) {
        self.indent(depth);
        self.out.push_str(header);
        if head_trail.is_none() && inner.is_empty() && body.is_empty() {
            self.out.push_str(" {}");
            return;
        }
        self.out.push_str(" {");
        if let Some(c) = head_trail {
            let text = self.comment_text(c).to_string();
            self.out.push_str("  ");
            self.out.push_str(&text);
        }
        self.newline();
        self.block(body, inner, depth + 1, false);
        self.indent(depth);
        self.out.push('}');
    }

    /// For a node with a block: the end of the line of its `{`. Comments inside the node up to
    /// there belong to its header.
    fn header_end(&self, node: &Node<'_>) -> Option<usize> {
        let after = match node {
            Node::Network(n) => n.params.last().map_or(n.name.span.end, |p| p.span.end) as usize,
            Node::Stmt(s) => match &s.kind {
                StmtKind::For { end, .. } => end.span.end as usize,
                StmtKind::Config { .. } => s.span.start as usize + "config".len(),
                _ => return None,
            },
            Node::Use(_) | Node::Entry(_) => return None,
        };
        let brace = self.open_brace(after).unwrap_or(after);
        Some(self.src[brace..].find('\n').map_or(self.src.len(), |i| brace + i))
    }

    /// The offset of the first `{` at or after `from`, skipping comments.
    fn open_brace(&self, from: usize) -> Option<usize> {
        let bytes = self.src.as_bytes();
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => return Some(i),
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        None
    }

    fn stmt(&mut self, s: &Stmt, head_trail: Option<Comment>, inner: &[Comment], depth: usize) {
        let room = WIDTH.saturating_sub(depth * INDENT.len());
        let text = match &s.kind {
            StmtKind::Config { entries } => {
                let body: Vec<Node<'_>> = entries.iter().map(Node::Entry).collect();
                self.compound("config", head_trail, &body, inner, depth);
                return;
            }
            StmtKind::For { var, start, end, body } => {
                let header = format!("for {} in {}..{}", var.name, expr(start), expr(end));
                let body: Vec<Node<'_>> = body.iter().map(Node::Stmt).collect();
                self.compound(&header, head_trail, &body, inner, depth);
                return;
            }
            StmtKind::Connect { pre, post, clauses, .. } => {
                let head = format!("connect {} -> {}", path(pre), path(post));
                with_clauses(head, clauses, room)
            }
            StmtKind::Probe { name, target, clauses } => {
                let head = match name {
                    Some(n) => format!("probe {} = {}", n.name, path(target)),
                    None => format!("probe {}", path(target)),
                };
                with_clauses(head, clauses, room)
            }
            StmtKind::Input { name, shape: sh } => format!("input {}: {}", decl(name), shape(sh)),
            StmtKind::Node { name, shape: sh, value } => {
                let mut head = format!("node {}", decl(name));
                if let Some(sh) = sh {
                    head.push_str(": ");
                    head.push_str(&shape(sh));
                }
                match value {
                    Some(v) => with_value(head, v, room),
                    None => head,
                }
            }
            StmtKind::Ensemble { name, value } => {
                with_value(format!("ensemble {}", decl(name)), value, room)
            }
            StmtKind::Layer { name, shape: sh, value } => {
                with_value(format!("layer {}: {}", decl(name), shape(sh)), value, room)
            }
            StmtKind::Instance { name, value } => {
                with_value(format!("network {}", decl(name)), value, room)
            }
            StmtKind::Alias { name, target } => format!("alias {} = {}", name.name, path(target)),
            StmtKind::Weights { name, path } => {
                format!("weights {} = {}", name.name, string(&path.value))
            }
            StmtKind::Seed { value } => format!("seed {}", expr(value)),
            StmtKind::Let { name, value } => with_value(format!("let {}", name.name), value, room),
        };
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.newline();
            }
            self.indent(depth);
            self.out.push_str(line);
        }
    }
}

/// Width of a line in characters.
fn width(s: &str) -> usize {
    s.chars().count()
}

/// `head clause clause…`, or one clause per continuation line when wider than `room`.
fn with_clauses(head: String, clauses: &[Clause], room: usize) -> String {
    let parts: Vec<String> = clauses.iter().map(clause).collect();
    let one =
        std::iter::once(head.clone()).chain(parts.iter().cloned()).collect::<Vec<_>>().join(" ");
    if width(&one) <= room || parts.is_empty() {
        return one;
    }
    let mut res = head;
    for p in parts {
        res.push('\n');
        res.push_str(INDENT);
        res.push_str(&p);
    }
    res
}

/// `head = value`, with one call argument per line when wider than `room`.
fn with_value(head: String, value: &Expr, room: usize) -> String {
    let one = format!("{head} = {}", expr(value));
    match &value.kind {
        ExprKind::Call { callee, args } if width(&one) > room && !args.is_empty() => {
            let mut res = format!("{head} = {}(", expr(callee));
            for a in args {
                res.push('\n');
                res.push_str(INDENT);
                res.push_str(&arg(a));
                res.push(',');
            }
            res.push_str("\n)");
            res
        }
        _ => one,
    }
}

fn use_item(u: &Use) -> String {
    let mut res = String::from("use ");
    match &u.target {
        UseTarget::Std(parts) => {
            res.push_str("std");
            for p in parts {
                res.push('.');
                res.push_str(&p.name);
            }
        }
        UseTarget::File(s) => res.push_str(&string(&s.value)),
    }
    if let Some(a) = &u.alias {
        res.push_str(" as ");
        res.push_str(&a.name);
    }
    res
}

/// `network name(params)`: on one line, or with one parameter per line indented from `depth`.
fn network_header(n: &NetworkDef, broken: Option<usize>) -> String {
    let params: Vec<String> = n.params.iter().map(param).collect();
    let mut res = format!("network {}", n.name.name);
    if params.is_empty() {
        return res;
    }
    match broken {
        None => {
            res.push('(');
            res.push_str(&params.join(", "));
            res.push(')');
        }
        Some(depth) => {
            res.push('(');
            for p in params {
                res.push('\n');
                res.push_str(&INDENT.repeat(depth + 1));
                res.push_str(&p);
                res.push(',');
            }
            res.push('\n');
            res.push_str(&INDENT.repeat(depth));
            res.push(')');
        }
    }
    res
}

fn param(p: &Param) -> String {
    let mut res = p.name.name.clone();
    if let Some(ty) = &p.ty {
        res.push_str(": ");
        res.push_str(&ty.name);
    }
    if let Some(d) = &p.default {
        res.push_str(" = ");
        res.push_str(&expr(d));
    }
    res
}

fn decl(d: &DeclName) -> String {
    match &d.index {
        Some(i) => format!("{}[{}]", d.name.name, expr(i)),
        None => d.name.name.clone(),
    }
}

fn shape(s: &Shape) -> String {
    format!("[{}]", list(&s.dims))
}

fn list(items: &[Expr]) -> String {
    items.iter().map(expr).collect::<Vec<_>>().join(", ")
}

fn path(p: &Path) -> String {
    let mut res = p.root.name.clone();
    for seg in &p.segs {
        match seg {
            PathSeg::Field(f) => {
                res.push('.');
                res.push_str(&f.name);
            }
            PathSeg::Index(i) => {
                res.push('[');
                res.push_str(&index(i));
                res.push(']');
            }
        }
    }
    res
}

fn index(i: &Index) -> String {
    match i {
        Index::Expr(e) => expr(e),
        Index::Slice { start, stop, step, .. } => {
            let part = |e: &Option<Expr>| e.as_ref().map(expr).unwrap_or_default();
            let mut res = format!("{}:{}", part(start), part(stop));
            if step.is_some() {
                res.push(':');
                res.push_str(&part(step));
            }
            res
        }
    }
}

fn clause(c: &Clause) -> String {
    match &c.kind {
        ClauseKind::Function(l) => lambda(l),
        ClauseKind::Transform(e)
        | ClauseKind::Synapse(e)
        | ClauseKind::Solver(e)
        | ClauseKind::EvalPoints(e)
        | ClauseKind::Seed(e)
        | ClauseKind::SampleEvery(e)
        | ClauseKind::Trainable(e) => format!("{} {}", c.kind.keyword(), expr(e)),
    }
}

fn lambda(l: &Lambda) -> String {
    let params: Vec<String> = l
        .params
        .iter()
        .map(|p| match &p.shape {
            Some(s) => format!("{}: {}", p.name.name, shape(s)),
            None => p.name.name.clone(),
        })
        .collect();
    let params =
        if params.len() == 1 { params.join("") } else { format!("({})", params.join(", ")) };
    format!("fn {params} -> {}", expr(&l.body))
}

fn arg(a: &Arg) -> String {
    match &a.name {
        Some(n) => format!("{} = {}", n.name, expr(&a.value)),
        None => expr(&a.value),
    }
}

/// A string literal with `\`, `"`, newlines and tabs escaped.
fn string(value: &str) -> String {
    let mut res = String::with_capacity(value.len() + 2);
    res.push('"');
    for c in value.chars() {
        match c {
            '\\' => res.push_str("\\\\"),
            '"' => res.push_str("\\\""),
            '\n' => res.push_str("\\n"),
            '\t' => res.push_str("\\t"),
            c => res.push(c),
        }
    }
    res.push('"');
    res
}

/// An expression on one line. The tree comes from the parser, so printing its tokens in order
/// (parentheses included) gives back the same tree; no parentheses are added.
fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number { text, unit, .. } => match unit {
            Some(u) => format!("{text}{}", u.name),
            None => text.clone(),
        },
        ExprKind::Str(s) => string(s),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::None => "none".to_string(),
        ExprKind::Name(n) => n.name.clone(),
        ExprKind::Vector(items) => format!("[{}]", list(items)),
        ExprKind::Paren(inner) => format!("({})", expr(inner)),
        ExprKind::Unary { op, expr: inner } => {
            let sym = match op {
                UnaryOp::Neg => "-",
                UnaryOp::Not => "!",
            };
            format!("{sym}{}", expr(inner))
        }
        ExprKind::Binary { op, lhs, rhs } => format!("{} {} {}", expr(lhs), op.symbol(), expr(rhs)),
        ExprKind::Call { callee, args } => {
            format!("{}({})", expr(callee), args.iter().map(arg).collect::<Vec<_>>().join(", "))
        }
        ExprKind::Index { base, indices } => {
            format!("{}[{}]", expr(base), indices.iter().map(index).collect::<Vec<_>>().join(", "))
        }
        ExprKind::Field { base, field } => format!("{}.{}", expr(base), field.name),
        ExprKind::Lambda(l) => lambda(l),
    }
}
