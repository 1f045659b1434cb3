//! pest pairs → owned syntax tree; the only module that walks pest's output.

use crate::ast::*;
use crate::span::{FileId, Span};
use crate::Rule;
use pest::iterators::{Pair, Pairs};

/// Walks pest pairs of one file.
pub(crate) struct Builder {
    pub(crate) file: FileId,
    /// Where the parsed text starts in the file (a piece parsed alone during recovery).
    pub(crate) offset: usize,
    /// Depth of the expression tree being built (bounded by `MAX_EXPR_DEPTH`).
    depth: std::cell::Cell<usize>,
    /// Expressions too deep to build.
    errors: std::cell::RefCell<Vec<crate::Diagnostic>>,
}

type P<'i> = Pair<'i, Rule>;

impl Builder {
    pub(crate) fn new(file: FileId, offset: usize) -> Builder {
        Builder { file, offset, depth: Default::default(), errors: Default::default() }
    }

    /// The expressions that were too deep to build (each left as `ExprKind::None`).
    pub(crate) fn take_errors(&self) -> Vec<crate::Diagnostic> {
        self.errors.take()
    }

    /// The pair's span without the whitespace pest's implicit `WHITESPACE` leaves at its end
    /// (`x ` in `x -> y`), so labels underline just the text.
    fn span(&self, pair: &P<'_>) -> Span {
        let s = pair.as_span();
        let end = s.start() + pair.as_str().trim_end().len();
        Span::new(self.file, self.offset + s.start(), self.offset + end)
    }

    fn ident(&self, pair: P<'_>) -> Ident {
        Ident { name: pair.as_str().to_string(), span: self.span(&pair) }
    }

    pub(crate) fn file(&self, pair: P<'_>) -> File {
        let mut items = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::use_item => items.push(Item::Use(self.use_item(p))),
                Rule::network_def => items.push(Item::Network(self.network_def(p))),
                Rule::EOI => {}
                _ => items.push(Item::Stmt(self.stmt(p))),
            }
        }
        File { items }
    }

    fn use_item(&self, pair: P<'_>) -> Use {
        let span = self.span(&pair);
        let mut target = None;
        let mut alias = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::string => target = Some(UseTarget::File(self.string(p))),
                Rule::std_path => {
                    let parts = p.into_inner().filter(|q| q.as_rule() == Rule::name);
                    target = Some(UseTarget::Std(parts.map(|q| self.ident(q)).collect()));
                }
                Rule::ident => alias = Some(self.ident(p)),
                _ => {}
            }
        }
        let target = target.unwrap_or(UseTarget::Std(Vec::new()));
        Use { target, alias, span }
    }

    /// A string literal's value; an unknown escape (`\q`) is a syntax error at it, listing the
    /// escapes there are (it was dropped silently: `"a\qb"` read as `aqb`).
    fn string(&self, pair: P<'_>) -> StrLit {
        let span = self.span(&pair);
        let inner = pair.into_inner().next();
        let raw = inner.as_ref().map(|p| p.as_str()).unwrap_or("");
        let start = self.offset + inner.as_ref().map_or(0, |p| p.as_span().start());
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, other)) => {
                    let at = Span::new(self.file, start + i, start + i + 1 + other.len_utf8());
                    self.errors.borrow_mut().push(
                        crate::Diagnostic::error(
                            crate::codes::SYNTAX,
                            format!("unknown escape `\\{}` in a string", other.escape_debug()),
                            at,
                            "unknown escape",
                        )
                        .with_help(
                            "the escapes are `\\n` (a line break), `\\t` (a tab), `\\\\` (a \
                             backslash) and `\\\"` (a quote); paths can use `/` on every system",
                        ),
                    );
                }
                None => {}
            }
        }
        StrLit { value, span }
    }

    fn network_def(&self, pair: P<'_>) -> NetworkDef {
        let span = self.span(&pair);
        let mut name = None;
        let mut params = Vec::new();
        let mut body = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::param_list => params = p.into_inner().map(|q| self.param(q)).collect(),
                Rule::block => body = self.block(p),
                _ => {}
            }
        }
        let name = name.unwrap_or_else(|| Ident { name: String::new(), span });
        NetworkDef { name, params, body, span }
    }

    fn param(&self, pair: P<'_>) -> Param {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident_or(inner.next(), span);
        let mut ty = None;
        let mut default = None;
        for p in inner {
            match p.as_rule() {
                Rule::name => ty = Some(self.ident(p)),
                Rule::expr => default = Some(self.expr(p)),
                _ => {}
            }
        }
        Param { name, ty, default, span }
    }

    fn ident_or(&self, pair: Option<P<'_>>, span: Span) -> Ident {
        match pair {
            Some(p) => self.ident(p),
            None => Ident { name: String::new(), span },
        }
    }

    fn block(&self, pair: P<'_>) -> Vec<Stmt> {
        pair.into_inner().map(|p| self.stmt(p)).collect()
    }

    fn decl_name(&self, pair: P<'_>) -> DeclName {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.ident_or(inner.next(), span);
        let index = inner.next().map(|p| self.expr(p));
        DeclName { name, index, span }
    }

    fn shape(&self, pair: P<'_>) -> Shape {
        let span = self.span(&pair);
        Shape { dims: pair.into_inner().map(|p| self.expr(p)).collect(), span }
    }

    fn stmt(&self, pair: P<'_>) -> Stmt {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        // Skip the leading keyword token.
        let mut inner: Vec<P<'_>> =
            pair.into_inner().filter(|p| !is_keyword(p.as_rule())).collect();
        let mut take = |rule: Rule| -> Option<P<'_>> {
            let idx = inner.iter().position(|p| p.as_rule() == rule)?;
            Some(inner.remove(idx))
        };
        let kind = match rule {
            Rule::input_stmt => StmtKind::Input {
                name: self.decl_name_or(take(Rule::decl_name), span),
                shape: self.shape_or(take(Rule::shape), span),
            },
            Rule::node_stmt => StmtKind::Node {
                name: self.decl_name_or(take(Rule::decl_name), span),
                shape: take(Rule::shape).map(|p| self.shape(p)),
                value: take(Rule::expr).map(|p| self.expr(p)),
            },
            Rule::ensemble_stmt => StmtKind::Ensemble {
                name: self.decl_name_or(take(Rule::decl_name), span),
                value: self.expr_or(take(Rule::expr), span),
            },
            Rule::layer_stmt => StmtKind::Layer {
                name: self.decl_name_or(take(Rule::decl_name), span),
                shape: self.shape_or(take(Rule::shape), span),
                value: self.expr_or(take(Rule::expr), span),
            },
            Rule::connect_stmt => {
                let pre = self.path_or(take(Rule::path), span);
                let arrow = take(Rule::arrow).map_or(span, |p| self.span(&p));
                let post = self.path_or(take(Rule::path), span);
                let clauses = inner
                    .into_iter()
                    .filter(|p| p.as_rule() == Rule::clause)
                    .map(|p| self.clause(p))
                    .collect();
                StmtKind::Connect { pre, arrow, post, clauses }
            }
            Rule::probe_stmt => {
                let name = take(Rule::name).map(|p| self.ident(p));
                let target = self.path_or(take(Rule::path), span);
                let clauses = inner
                    .into_iter()
                    .filter(|p| p.as_rule() == Rule::clause)
                    .map(|p| self.clause(p))
                    .collect();
                StmtKind::Probe { name, target, clauses }
            }
            Rule::instance_stmt => StmtKind::Instance {
                name: self.decl_name_or(take(Rule::decl_name), span),
                value: self.expr_or(take(Rule::expr), span),
            },
            Rule::alias_stmt => StmtKind::Alias {
                name: self.ident_or(take(Rule::name), span),
                target: self.path_or(take(Rule::path), span),
            },
            Rule::weights_stmt => StmtKind::Weights {
                name: self.ident_or(take(Rule::ident), span),
                path: take(Rule::string)
                    .map(|p| self.string(p))
                    .unwrap_or(StrLit { value: String::new(), span }),
            },
            Rule::config_stmt => StmtKind::Config {
                entries: inner.into_iter().map(|p| self.config_entry(p)).collect(),
            },
            Rule::for_stmt => {
                let var = self.ident_or(take(Rule::ident), span);
                let start = self.expr_or(take(Rule::expr), span);
                let end = self.expr_or(take(Rule::expr), span);
                let body = take(Rule::block).map(|p| self.block(p)).unwrap_or_default();
                StmtKind::For { var, start, end, body }
            }
            Rule::seed_stmt => StmtKind::Seed { value: self.expr_or(take(Rule::expr), span) },
            Rule::let_stmt => StmtKind::Let {
                name: self.ident_or(take(Rule::ident), span),
                value: self.expr_or(take(Rule::expr), span),
            },
            _ => StmtKind::Config { entries: Vec::new() },
        };
        Stmt { kind, span }
    }

    fn decl_name_or(&self, pair: Option<P<'_>>, span: Span) -> DeclName {
        match pair {
            Some(p) => self.decl_name(p),
            None => DeclName { name: Ident { name: String::new(), span }, index: None, span },
        }
    }

    fn shape_or(&self, pair: Option<P<'_>>, span: Span) -> Shape {
        pair.map(|p| self.shape(p)).unwrap_or(Shape { dims: Vec::new(), span })
    }

    fn expr_or(&self, pair: Option<P<'_>>, span: Span) -> Expr {
        pair.map(|p| self.expr(p)).unwrap_or(Expr { kind: ExprKind::None, span })
    }

    fn path_or(&self, pair: Option<P<'_>>, span: Span) -> Path {
        match pair {
            Some(p) => self.path(p),
            None => Path { root: Ident { name: String::new(), span }, segs: Vec::new(), span },
        }
    }

    fn config_entry(&self, pair: P<'_>) -> ConfigEntry {
        let span = self.span(&pair);
        let parts: Vec<P<'_>> = pair.into_inner().collect();
        let (kind, rest) = match parts.len() {
            3 => (Some(self.ident_or(parts.first().cloned(), span)), &parts[1..]),
            _ => (None, &parts[..]),
        };
        let param = self.ident_or(rest.first().cloned(), span);
        let value = self.expr_or(rest.get(1).cloned(), span);
        ConfigEntry { kind, param, value, span }
    }

    fn clause(&self, pair: P<'_>) -> Clause {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner.next();
        let kind = match first {
            Some(p) if p.as_rule() == Rule::lambda => ClauseKind::Function(self.lambda(p)),
            Some(p) => {
                let value = self.expr_or(inner.next(), span);
                match p.as_rule() {
                    Rule::kw_transform => ClauseKind::Transform(value),
                    Rule::kw_synapse => ClauseKind::Synapse(value),
                    Rule::kw_solver => ClauseKind::Solver(value),
                    Rule::kw_eval => ClauseKind::EvalPoints(value),
                    Rule::kw_seed => ClauseKind::Seed(value),
                    Rule::kw_trainable => ClauseKind::Trainable(value),
                    _ => ClauseKind::SampleEvery(value),
                }
            }
            None => ClauseKind::Transform(Expr { kind: ExprKind::None, span }),
        };
        Clause { kind, span }
    }

    fn path(&self, pair: P<'_>) -> Path {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let root = self.ident_or(inner.next(), span);
        let segs = inner
            .map(|p| match p.as_rule() {
                Rule::field_seg => PathSeg::Field(self.field_name(p, span)),
                _ => PathSeg::Index(self.index(p.into_inner().next(), span)),
            })
            .collect();
        Path { root, segs, span }
    }

    fn field_name(&self, pair: P<'_>, span: Span) -> Ident {
        self.ident_or(pair.into_inner().next(), span)
    }

    fn index(&self, pair: Option<P<'_>>, span: Span) -> Index {
        match pair {
            Some(p) if p.as_rule() == Rule::slice => {
                let sspan = self.span(&p);
                // Parts are positional around the colons: rebuild from the text positions.
                let text_start = p.as_span().start();
                let text = p.as_str();
                let colons: Vec<usize> =
                    colon_offsets(text).into_iter().map(|c| c + text_start).collect();
                let mut start = None;
                let mut stop = None;
                let mut step = None;
                for part in p.into_inner() {
                    let pos = part.as_span().start();
                    let e = part.into_inner().next().map(|q| self.expr(q));
                    let n_before = colons.iter().filter(|&&c| c < pos).count();
                    match n_before {
                        0 => start = e,
                        1 => stop = e,
                        _ => step = e,
                    }
                }
                Index::Slice { start, stop, step, span: sspan }
            }
            Some(p) => Index::Expr(self.expr(p)),
            None => Index::Expr(Expr { kind: ExprKind::None, span }),
        }
    }

    fn lambda(&self, pair: P<'_>) -> Lambda {
        let span = self.span(&pair);
        let mut params = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::lambda_params => {
                    for lp in p.into_inner() {
                        let lspan = self.span(&lp);
                        let mut it = lp.into_inner();
                        let name = self.ident_or(it.next(), lspan);
                        let shape = it.next().map(|s| self.shape(s));
                        params.push(LambdaParam { name, shape });
                    }
                }
                Rule::expr => body = Some(self.expr(p)),
                _ => {}
            }
        }
        Lambda { params, body: Box::new(self.expr_or_none(body, span)), span }
    }

    fn expr_or_none(&self, e: Option<Expr>, span: Span) -> Expr {
        e.unwrap_or(Expr { kind: ExprKind::None, span })
    }

    /// An `expr` pair: a flat sequence of prefix/primary/postfix/infix tokens, climbed here.
    pub(crate) fn expr(&self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        // every operator, prefix and postfix may add a level to the tree (operands recurse)
        let cost = 1 + pair
            .clone()
            .into_inner()
            .filter(|t| {
                let r = t.as_rule();
                binary_op(r).is_some()
                    || matches!(
                        r,
                        Rule::neg
                            | Rule::not
                            | Rule::call_args
                            | Rule::index_post
                            | Rule::field_seg
                    )
            })
            .count();
        let depth = self.depth.get() + cost;
        if depth > crate::MAX_EXPR_DEPTH {
            let limit = crate::MAX_EXPR_DEPTH;
            self.errors.borrow_mut().push(
                crate::Diagnostic::error(
                    crate::codes::LIMIT,
                    format!("expression nests more than {limit} levels deep"),
                    span,
                    "too deep",
                )
                .with_help(format!(
                    "operators, signs, calls, indices and brackets on one path count; the \
                     limit is {limit} levels: name parts with `let` (a long sum, in pieces)"
                )),
            );
            return Expr { kind: ExprKind::None, span };
        }
        self.depth.set(depth);
        let e = self.expr_inner(span, pair);
        self.depth.set(depth - cost);
        e
    }

    fn expr_inner(&self, span: Span, pair: P<'_>) -> Expr {
        let mut operands: Vec<Expr> = Vec::new();
        let mut ops: Vec<BinaryOp> = Vec::new();
        let mut prefixes: Vec<(UnaryOp, Span)> = Vec::new();
        let mut tokens = pair.into_inner().peekable();
        while let Some(tok) = tokens.next() {
            match tok.as_rule() {
                Rule::neg => prefixes.push((UnaryOp::Neg, self.span(&tok))),
                Rule::not => prefixes.push((UnaryOp::Not, self.span(&tok))),
                r if binary_op(r).is_some() => {
                    if let Some(op) = binary_op(r) {
                        ops.push(op);
                    }
                }
                _ => {
                    let mut e = self.primary(tok);
                    while let Some(next) = tokens.peek() {
                        match next.as_rule() {
                            Rule::call_args | Rule::index_post | Rule::field_seg => {
                                if let Some(post) = tokens.next() {
                                    e = self.postfix(e, post);
                                }
                            }
                            _ => break,
                        }
                    }
                    // Prefix operators bind looser than postfix, tighter than `^`'s left side.
                    while let Some((op, pspan)) = prefixes.pop() {
                        let s = pspan.to(e.span);
                        e = Expr { kind: ExprKind::Unary { op, expr: Box::new(e) }, span: s };
                    }
                    operands.push(e);
                }
            }
        }
        let res = climb(operands, ops);
        res.unwrap_or(Expr { kind: ExprKind::None, span })
    }

    fn postfix(&self, base: Expr, post: P<'_>) -> Expr {
        let pspan = self.span(&post);
        let span = base.span.to(pspan);
        match post.as_rule() {
            Rule::call_args => {
                let args = post.into_inner().map(|a| self.arg(a)).collect();
                Expr { kind: ExprKind::Call { callee: Box::new(base), args }, span }
            }
            Rule::index_post => {
                let indices = post.into_inner().map(|i| self.index(Some(i), pspan)).collect();
                Expr { kind: ExprKind::Index { base: Box::new(base), indices }, span }
            }
            _ => {
                let field = self.field_name(post, pspan);
                Expr { kind: ExprKind::Field { base: Box::new(base), field }, span }
            }
        }
    }

    fn arg(&self, pair: P<'_>) -> Arg {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner.next();
        match (first, inner.next()) {
            (Some(n), Some(v)) => Arg { name: Some(self.ident(n)), value: self.expr(v), span },
            (Some(v), None) => Arg { name: None, value: self.expr(v), span },
            _ => Arg { name: None, value: Expr { kind: ExprKind::None, span }, span },
        }
    }

    fn primary(&self, pair: P<'_>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::number => {
                let mut inner = pair.into_inner();
                let lit = inner.next();
                let text = lit.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default();
                let value = text.parse::<f64>().unwrap_or(f64::NAN);
                let unit = inner.next().map(|u| self.ident(u));
                ExprKind::Number { value, text, unit }
            }
            Rule::string => ExprKind::Str(self.string(pair).value),
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::kw_none => ExprKind::None,
            Rule::vector => ExprKind::Vector(pair.into_inner().map(|p| self.expr(p)).collect()),
            Rule::paren => {
                let inner = pair.into_inner().next().map(|p| self.expr(p));
                ExprKind::Paren(Box::new(self.expr_or_none(inner, span)))
            }
            Rule::lambda => ExprKind::Lambda(self.lambda(pair)),
            _ => ExprKind::Name(self.ident(pair)),
        };
        Expr { kind, span }
    }
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_use
            | Rule::kw_as
            | Rule::kw_std
            | Rule::kw_network
            | Rule::kw_input
            | Rule::kw_node
            | Rule::kw_ensemble
            | Rule::kw_layer
            | Rule::kw_connect
            | Rule::kw_probe
            | Rule::kw_config
            | Rule::kw_weights
            | Rule::kw_seed
            | Rule::kw_for
            | Rule::kw_in
            | Rule::kw_let
            | Rule::kw_alias
    )
}

fn binary_op(rule: Rule) -> Option<BinaryOp> {
    Some(match rule {
        Rule::add => BinaryOp::Add,
        Rule::sub => BinaryOp::Sub,
        Rule::mul => BinaryOp::Mul,
        Rule::div => BinaryOp::Div,
        Rule::pow => BinaryOp::Pow,
        Rule::eq => BinaryOp::Eq,
        Rule::ne => BinaryOp::Ne,
        Rule::le => BinaryOp::Le,
        Rule::ge => BinaryOp::Ge,
        Rule::lt => BinaryOp::Lt,
        Rule::gt => BinaryOp::Gt,
        Rule::and => BinaryOp::And,
        Rule::or => BinaryOp::Or,
        _ => return None,
    })
}

/// Precedence climbing over a flat operand/operator list; `^` is right-associative.
fn climb(operands: Vec<Expr>, ops: Vec<BinaryOp>) -> Option<Expr> {
    let mut operands = operands.into_iter();
    let first = operands.next()?;
    let mut rest: Vec<(BinaryOp, Expr)> = ops.into_iter().zip(operands).collect();
    rest.reverse();
    Some(climb_from(first, &mut rest, 0))
}

fn climb_from(mut lhs: Expr, rest: &mut Vec<(BinaryOp, Expr)>, min_prec: u8) -> Expr {
    while let Some(&(op, _)) = rest.last() {
        if op.precedence() < min_prec {
            break;
        }
        let Some((op, mut rhs)) = rest.pop() else { break };
        while let Some(&(next, _)) = rest.last() {
            let tighter = next.precedence() > op.precedence();
            let right_assoc = next == BinaryOp::Pow && op == BinaryOp::Pow;
            if !(tighter || right_assoc) {
                break;
            }
            let next_min = if right_assoc { op.precedence() } else { op.precedence() + 1 };
            rhs = climb_from(rhs, rest, next_min);
        }
        lhs = binary(op, lhs, rhs);
    }
    lhs
}

/// `lhs op rhs`; a prefix operator on the base of `^` moves outside it, so `-x^2` is `-(x^2)`.
fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    if op == BinaryOp::Pow {
        if let ExprKind::Unary { op: uop, expr } = lhs.kind {
            let inner = binary(op, *expr, rhs);
            return Expr { kind: ExprKind::Unary { op: uop, expr: Box::new(inner) }, span };
        }
    }
    Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span }
}

/// Byte offsets of the top-level colons of a slice's text (inside no brackets or parentheses).
fn colon_offsets(text: &str) -> Vec<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut res = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '[' | '(' if !in_str => depth += 1,
            ']' | ')' if !in_str => depth -= 1,
            ':' if !in_str && depth == 0 => res.push(i),
            _ => {}
        }
    }
    res
}

/// Walk helper for callers that only need the top pair of a successful parse.
pub(crate) fn first(mut pairs: Pairs<'_, Rule>) -> Option<Pair<'_, Rule>> {
    pairs.next()
}
