//! snn-syntax: the `.snn` grammar (pest), the owned syntax tree with spans, diagnostics and the
//! formatter. Knows nothing about shapes, the IR or the LSP; pest types never leave this crate.

pub mod ast;
mod build_ast;
pub mod codes;
pub mod diag;
pub mod fmt;
pub mod lex;
mod parse_error;
pub mod span;

pub use diag::{Diagnostic, Label, Severity};
pub use fmt::format;
pub use span::{FileId, LineIndex, Span};

use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "snn.pest"]
pub(crate) struct SnnParser;

/// The result of parsing one file: a tree (empty on a syntax error) and the errors found.
#[derive(Clone, Debug)]
pub struct Parse {
    /// The syntax tree; statements before a syntax error are not kept.
    pub file: ast::File,
    /// Syntax errors (at most one per file: pest stops at the first).
    pub errors: Vec<Diagnostic>,
}

/// Parse `text` as the contents of `file`. Never fails: errors come back as diagnostics.
pub fn parse(file: FileId, text: &str) -> Parse {
    match SnnParser::parse(Rule::file, text) {
        Ok(pairs) => {
            let builder = build_ast::Builder { file };
            let tree = build_ast::first(pairs).map(|p| builder.file(p)).unwrap_or_default();
            Parse { file: tree, errors: Vec::new() }
        }
        Err(err) => Parse {
            file: ast::File::default(),
            errors: vec![parse_error::convert(file, text, err)],
        },
    }
}

#[allow(clippy::result_large_err)] // diagnostics are the error type everywhere
/// Parse a single expression (used by tests and by tools that evaluate snippets).
pub fn parse_expr(file: FileId, text: &str) -> Result<ast::Expr, Diagnostic> {
    match SnnParser::parse(Rule::expr, text) {
        Ok(pairs) => {
            let builder = build_ast::Builder { file };
            build_ast::first(pairs).map(|p| builder.expr(p)).ok_or_else(|| {
                Diagnostic::error(codes::SYNTAX, "empty expression", Span::new(file, 0, 0), "")
            })
        }
        Err(err) => Err(parse_error::convert(file, text, err)),
    }
}
