//! snn-syntax: the `.snn` grammar (pest), the owned syntax tree with spans, diagnostics and the
//! formatter. Knows nothing about shapes, the IR or the LSP; pest types never leave this crate.

pub mod ast;
mod build_ast;
pub mod codes;
pub mod diag;
pub mod fmt;
pub mod incremental;
pub mod lex;
mod parse_error;
mod recover;
pub mod span;

pub use diag::{Diagnostic, Label, Severity};
pub use fmt::format;
pub use incremental::Reparser;
pub use span::{normalize_line_breaks, FileId, LineIndex, Span};

use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "snn.pest"]
pub(crate) struct SnnParser;

/// The result of parsing one file: a tree (partial on syntax errors) and the errors found.
#[derive(Clone, Debug)]
pub struct Parse {
    /// The syntax tree; on syntax errors, the statements that parse on their own.
    pub file: ast::File,
    /// Syntax errors, in source order: one per statement that does not parse, and each
    /// unclosed bracket or string at its opener (see `recover.rs`).
    pub errors: Vec<Diagnostic>,
    /// Names declared by statements that do not parse (`ensemble a = lif(` declares `a`):
    /// the checker reports no unknown name for their uses.
    pub broken: Vec<ast::Ident>,
}

/// Parse `text` as the contents of `file`. Never fails: errors come back as diagnostics, with
/// the statements that parse kept.
pub fn parse(file: FileId, text: &str) -> Parse {
    if let Some(d) = too_deep(file, text) {
        return Parse { file: ast::File::default(), errors: vec![d], broken: Vec::new() };
    }
    match SnnParser::parse(Rule::file, text) {
        Ok(pairs) => {
            let builder = build_ast::Builder::new(file, 0);
            let tree = build_ast::first(pairs).map(|p| builder.file(p)).unwrap_or_default();
            let errors = builder.take_errors();
            match errors.into_iter().next() {
                None => Parse { file: tree, errors: Vec::new(), broken: Vec::new() },
                // the statements with an error the tree builder found (an expression too deep,
                // an unknown string escape) are left out, as those pest rejects: their values
                // are not what the text says, so their uses report nothing more
                Some(first) => {
                    let (tree, errors, mut broken) = recover::recover(file, text, first);
                    for b in &mut broken {
                        b.span.file = file;
                    }
                    Parse { file: tree, errors, broken }
                }
            }
        }
        Err(err) => {
            let first = parse_error::convert(file, text, err);
            let (tree, errors, mut broken) = recover::recover(file, text, first);
            for b in &mut broken {
                b.span.file = file;
            }
            Parse { file: tree, errors, broken }
        }
    }
}

#[allow(clippy::result_large_err)] // diagnostics are the error type everywhere
/// Parse a single expression (used by tests and by tools that evaluate snippets).
pub fn parse_expr(file: FileId, text: &str) -> Result<ast::Expr, Diagnostic> {
    if let Some(d) = too_deep(file, text) {
        return Err(d);
    }
    match SnnParser::parse(Rule::expr, text) {
        Ok(pairs) => {
            let builder = build_ast::Builder::new(file, 0);
            let e = build_ast::first(pairs).map(|p| builder.expr(p)).ok_or_else(|| {
                Diagnostic::error(codes::SYNTAX, "empty expression", Span::new(file, 0, 0), "")
            })?;
            match builder.take_errors().into_iter().next() {
                Some(d) => Err(d),
                None => Ok(e),
            }
        }
        Err(err) => Err(parse_error::convert(file, text, err)),
    }
}

/// The deepest bracket nesting (`(`, `[`, `{`) a file may have; the parser recurses per level.
pub const MAX_NESTING: usize = 256;

/// The deepest expression tree (operators, prefixes, postfixes and brackets on one path) a
/// file may hold; the evaluator, the function compiler and the formatter recurse per level.
pub const MAX_EXPR_DEPTH: usize = 1000;

/// A located error at the first bracket nested deeper than [`MAX_NESTING`] (comments and
/// strings skipped); one pass over the bytes, before pest, whose recursion it bounds.
fn too_deep(file: FileId, text: &str) -> Option<Diagnostic> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::error(
                            codes::LIMIT,
                            format!("brackets nest more than {MAX_NESTING} levels deep"),
                            Span::new(file, i, i + 1),
                            format!("level {depth}"),
                        )
                        .with_help(format!(
                            "the limit is {MAX_NESTING} levels; name inner parts with `let`"
                        )),
                    );
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}
