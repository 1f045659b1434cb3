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
pub use span::{FileId, LineIndex, Span};

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
    match SnnParser::parse(Rule::file, text) {
        Ok(pairs) => {
            let builder = build_ast::Builder { file, offset: 0 };
            let tree = build_ast::first(pairs).map(|p| builder.file(p)).unwrap_or_default();
            Parse { file: tree, errors: Vec::new(), broken: Vec::new() }
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
    match SnnParser::parse(Rule::expr, text) {
        Ok(pairs) => {
            let builder = build_ast::Builder { file, offset: 0 };
            build_ast::first(pairs).map(|p| builder.expr(p)).ok_or_else(|| {
                Diagnostic::error(codes::SYNTAX, "empty expression", Span::new(file, 0, 0), "")
            })
        }
        Err(err) => Err(parse_error::convert(file, text, err)),
    }
}
