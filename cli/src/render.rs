//! Render diagnostics as text with miette: source line, carets, labels, help.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity as MSeverity,
};
use snn_compiler::SourceDb;
use snn_syntax::{Diagnostic, Severity};
use std::fmt;

/// One diagnostic with its source, in the shape miette wants.
struct Report {
    diag: Diagnostic,
    source: NamedSource<String>,
    line_col: String,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("{} {}", self.diag.code, self.line_col)))
    }
    fn severity(&self) -> Option<MSeverity> {
        Some(match self.diag.severity {
            Severity::Error => MSeverity::Error,
            Severity::Warning => MSeverity::Warning,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag.help.as_ref().map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = &self.diag.primary;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(primary.message.clone()),
            primary.span.range(),
        )];
        for l in self.diag.secondary.iter().filter(|l| l.span.file == primary.span.file) {
            labels.push(LabeledSpan::new_with_span(Some(l.message.clone()), l.span.range()));
        }
        Some(Box::new(labels.into_iter()))
    }
}

/// Render `diag` against the files of `db`, without colour when `color` is false.
pub fn render(db: &dyn SourceDb, diag: &Diagnostic, color: bool) -> String {
    let file = diag.primary.span.file;
    let text = db.text(file).to_string();
    let name = db.name(file);
    let (line, col) = snn_syntax::LineIndex::new(&text).line_col(diag.primary.span.start as usize);
    let report = Report {
        diag: diag.clone(),
        source: NamedSource::new(name.clone(), text),
        line_col: format!("{name}:{line}:{col}"),
    };
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {} [{}]\n", report.line_col, diag.message, diag.code);
    }
    // Labels in other files are listed below the snippet.
    for l in diag.secondary.iter().filter(|l| l.span.file != file) {
        let other = db.text(l.span.file);
        let (ln, cl) = snn_syntax::LineIndex::new(other).line_col(l.span.start as usize);
        out.push_str(&format!("  note: {}:{ln}:{cl}: {}\n", db.name(l.span.file), l.message));
    }
    out
}
