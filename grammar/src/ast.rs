//! The owned syntax tree: what a `.snn` file says, with a span on every node; no semantics.

use crate::span::Span;

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The text of the name.
    pub name: String,
    /// Where it is written.
    pub span: Span,
}

/// One parsed file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// Items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `use std.x` / `use "file.snn" as y`.
    Use(Use),
    /// `network name(params) { … }`.
    Network(NetworkDef),
    /// A statement of the file's root network.
    Stmt(Stmt),
}

/// What a `use` brings in.
#[derive(Clone, Debug, PartialEq)]
pub enum UseTarget {
    /// `use std.a.b`: a file of the standard library.
    Std(Vec<Ident>),
    /// `use "path.snn"`: a file relative to the using file.
    File(StrLit),
}

/// `use TARGET [as NAME]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    /// The file to import.
    pub target: UseTarget,
    /// `as` name: the imported networks are reached as `name.network`.
    pub alias: Option<Ident>,
    /// The whole item.
    pub span: Span,
}

/// A string literal with escapes processed.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    /// The value.
    pub value: String,
    /// Where it is written (quotes included).
    pub span: Span,
}

/// `network NAME(params) { body }`.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkDef {
    /// The network's name.
    pub name: Ident,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// The statements of its body.
    pub body: Vec<Stmt>,
    /// The whole definition.
    pub span: Span,
}

/// `name[: type][= default]` in a network's parameter list.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter's name.
    pub name: Ident,
    /// Its declared type (`int`, `time`, …), if written.
    pub ty: Option<Ident>,
    /// Its default value, if any.
    pub default: Option<Expr>,
    /// The whole parameter.
    pub span: Span,
}

/// The name of a declaration, indexed inside `for` loops: `ea[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclName {
    /// The base name.
    pub name: Ident,
    /// The element index of an array declaration.
    pub index: Option<Expr>,
    /// The whole name.
    pub span: Span,
}

/// A shape `[d0, d1, …]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    /// One expression per dimension.
    pub dims: Vec<Expr>,
    /// Brackets included.
    pub span: Span,
}

/// A statement with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What the statement says.
    pub kind: StmtKind,
    /// The whole statement.
    pub span: Span,
}

/// The statements of a network body.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `input NAME: SHAPE`.
    Input { name: DeclName, shape: Shape },
    /// `node NAME [: SHAPE] [= VALUE]`.
    Node { name: DeclName, shape: Option<Shape>, value: Option<Expr> },
    /// `ensemble NAME = TYPE(args)`.
    Ensemble { name: DeclName, value: Expr },
    /// `layer NAME: SHAPE = TYPE(args)`.
    Layer { name: DeclName, shape: Shape, value: Expr },
    /// `connect PRE -> POST clauses` (`arrow` is the span of `->`).
    Connect { pre: Path, arrow: Span, post: Path, clauses: Vec<Clause> },
    /// `probe [NAME =] TARGET clauses`.
    Probe { name: Option<Ident>, target: Path, clauses: Vec<Clause> },
    /// `network NAME = DEF(args)`.
    Instance { name: DeclName, value: Expr },
    /// `alias NAME = PATH`.
    Alias { name: Ident, target: Path },
    /// `weights NAME = "file"`.
    Weights { name: Ident, path: StrLit },
    /// `config { kind.param = value … }`.
    Config { entries: Vec<ConfigEntry> },
    /// `for VAR in START..END { body }`.
    For { var: Ident, start: Expr, end: Expr, body: Vec<Stmt> },
    /// `seed N`.
    Seed { value: Expr },
    /// `let NAME = VALUE`.
    Let { name: Ident, value: Expr },
}

/// `kind.param = value` (or `param = value`, for every kind) inside `config`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigEntry {
    /// The object kind: `ensemble`, `connect`, `probe`, `layer`, `neurons` or a neuron type;
    /// `None` for an entry that applies to every kind (`trainable = false`).
    pub kind: Option<Ident>,
    /// The parameter.
    pub param: Ident,
    /// The default value.
    pub value: Expr,
    /// The whole entry.
    pub span: Span,
}

/// A clause after a connection or probe.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    /// Which clause.
    pub kind: ClauseKind,
    /// The whole clause.
    pub span: Span,
}

/// The clauses of `connect` and `probe`.
#[derive(Clone, Debug, PartialEq)]
pub enum ClauseKind {
    /// `transform EXPR`.
    Transform(Expr),
    /// `fn v -> EXPR`.
    Function(Lambda),
    /// `synapse EXPR`.
    Synapse(Expr),
    /// `solver EXPR`.
    Solver(Expr),
    /// `eval_points EXPR`.
    EvalPoints(Expr),
    /// `seed EXPR`.
    Seed(Expr),
    /// `sample_every EXPR`.
    SampleEvery(Expr),
    /// `trainable EXPR` (a connection's weights are trained by `snnc train`).
    Trainable(Expr),
}

impl ClauseKind {
    /// The keyword that introduces the clause.
    pub fn keyword(&self) -> &'static str {
        match self {
            ClauseKind::Transform(_) => "transform",
            ClauseKind::Function(_) => "fn",
            ClauseKind::Synapse(_) => "synapse",
            ClauseKind::Solver(_) => "solver",
            ClauseKind::EvalPoints(_) => "eval_points",
            ClauseKind::Seed(_) => "seed",
            ClauseKind::SampleEvery(_) => "sample_every",
            ClauseKind::Trainable(_) => "trainable",
        }
    }
}

/// A reference to an object: `a`, `sub.ens`, `a.neurons[0:10]`, `ea[2]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    /// The first name.
    pub root: Ident,
    /// Fields and indices after it.
    pub segs: Vec<PathSeg>,
    /// The whole path.
    pub span: Span,
}

/// One step of a [`Path`].
#[allow(clippy::large_enum_variant)] // paths are short; boxing would only add noise
#[derive(Clone, Debug, PartialEq)]
pub enum PathSeg {
    /// `.name`.
    Field(Ident),
    /// `[index]`.
    Index(Index),
}

/// An index or a slice inside brackets.
#[derive(Clone, Debug, PartialEq)]
pub enum Index {
    /// `[e]`: a single index, or a list of indices when `e` is a vector.
    Expr(Expr),
    /// `[start:stop:step]`, each part optional.
    Slice { start: Option<Expr>, stop: Option<Expr>, step: Option<Expr>, span: Span },
}

impl Index {
    /// Where the index is written.
    pub fn span(&self) -> Span {
        match self {
            Index::Expr(e) => e.span,
            Index::Slice { span, .. } => *span,
        }
    }
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `!x`.
    Not,
}

/// Binary operators, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Ne => 3,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
            BinaryOp::Pow => 8,
        }
    }
}

/// A call argument, positional or named.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// `name =`, for named arguments.
    pub name: Option<Ident>,
    /// The value.
    pub value: Expr,
    /// The whole argument.
    pub span: Span,
}

/// `fn x -> body` / `fn (t, x: [2]) -> body`.
#[derive(Clone, Debug, PartialEq)]
pub struct Lambda {
    /// Parameters in order.
    pub params: Vec<LambdaParam>,
    /// The body.
    pub body: Box<Expr>,
    /// The whole lambda.
    pub span: Span,
}

/// A lambda parameter with an optional declared shape.
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaParam {
    /// Its name.
    pub name: Ident,
    /// `: [n]`, if written.
    pub shape: Option<Shape>,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A number, possibly with a unit suffix (`5ms`); `text` is the literal as written.
    Number { value: f64, text: String, unit: Option<Ident> },
    /// A string.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// `none`.
    None,
    /// A name.
    Name(Ident),
    /// `[a, b, …]`.
    Vector(Vec<Expr>),
    /// `(e)`, kept so the formatter can keep the parentheses.
    Paren(Box<Expr>),
    /// `-e`, `!e`.
    Unary { op: UnaryOp, expr: Box<Expr> },
    /// `a op b`.
    Binary { op: BinaryOp, lhs: Box<Expr>, rhs: Box<Expr> },
    /// `f(args)`.
    Call { callee: Box<Expr>, args: Vec<Arg> },
    /// `e[i, …]`.
    Index { base: Box<Expr>, indices: Vec<Index> },
    /// `e.name`.
    Field { base: Box<Expr>, field: Ident },
    /// `fn … -> …`.
    Lambda(Lambda),
}
