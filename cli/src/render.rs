//! Render diagnostics as text with miette: source line, carets, labels, help.
//!
//! Rendering is linear in the number of diagnostics: a [`Renderer`] indexes each file's lines
//! once, and miette reads only the lines around each label (through [`Window`]), never the whole
//! file. Lines longer than [`MAX_LINE`] bytes are shown as an excerpt around the label instead.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    Severity as MSeverity, SourceCode, SourceSpan, SpanContents,
};
use snn_compiler::SourceDb;
use snn_syntax::{Diagnostic, FileId, LineIndex, Severity};
use std::collections::BTreeMap;
use std::fmt;

/// Lines longer than this are excerpted rather than drawn whole.
pub const MAX_LINE: usize = 240;

/// One file's text with its line index, read by miette a few lines at a time.
struct Window<'a> {
    name: &'a str,
    text: &'a str,
    lines: &'a LineIndex,
}

impl SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let len = self.text.len();
        let (start, end) = (span.offset(), span.offset() + span.len());
        if start > len || end > len {
            return Err(MietteError::OutOfBounds);
        }
        let (l0, c0) = self.lines.line_col(start);
        let (l1, _) = self.lines.line_col(end.saturating_sub(1).max(start));
        let first = (l0 - 1).saturating_sub(before);
        let last = l1 - 1 + after; // 0-based, inclusive
        let from = self.lines.line_start(first).unwrap_or(0);
        let mut to = self.lines.line_start(last + 1).unwrap_or(len);
        // without the last line's newline, as miette's own reader
        if to > from && self.text.as_bytes()[to - 1] == b'\n' && to != len {
            to -= 1;
        }
        let count = self.text[from..to].lines().count().max(1);
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            &self.text.as_bytes()[from..to],
            SourceSpan::from((from, to - from)),
            first,
            c0 - 1,
            count,
        )))
    }
}

/// One diagnostic with its source, in the shape miette wants.
struct Report<'a> {
    diag: &'a Diagnostic,
    source: Window<'a>,
    line_col: String,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
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
    fn source_code(&self) -> Option<&dyn SourceCode> {
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

/// Renders diagnostics against the files of a [`SourceDb`], indexing each file once.
pub struct Renderer<'db> {
    db: &'db dyn SourceDb,
    color: bool,
    lines: BTreeMap<FileId, LineIndex>,
    names: BTreeMap<FileId, String>,
}

impl<'db> Renderer<'db> {
    /// A renderer over `db`, without colour when `color` is false.
    pub fn new(db: &'db dyn SourceDb, color: bool) -> Renderer<'db> {
        Renderer { db, color, lines: BTreeMap::new(), names: BTreeMap::new() }
    }

    fn index(&mut self, file: FileId) {
        if !self.lines.contains_key(&file) {
            self.lines.insert(file, LineIndex::new(self.db.text(file)));
            self.names.insert(file, self.db.name(file));
        }
    }

    /// `diag` as text.
    pub fn render(&mut self, diag: &Diagnostic) -> String {
        let file = diag.primary.span.file;
        self.index(file);
        for l in &diag.secondary {
            self.index(l.span.file);
        }
        let text = self.db.text(file);
        let (lines, name) = (&self.lines[&file], &self.names[&file]);
        let start = diag.primary.span.start as usize;
        let (line, col) = lines.line_col(start);
        let line_col = format!("{name}:{line}:{col}");
        let line_len = {
            let from = lines.line_start(line - 1).unwrap_or(0);
            let to = lines.line_start(line).unwrap_or(text.len());
            to - from
        };
        let spans_long_lines = line_len > MAX_LINE
            || diag.secondary.iter().filter(|l| l.span.file == file).any(|l| {
                let (ln, _) = lines.line_col(l.span.start as usize);
                let from = lines.line_start(ln - 1).unwrap_or(0);
                lines.line_start(ln).unwrap_or(text.len()) - from > MAX_LINE
            });
        let mut out = String::new();
        if spans_long_lines {
            out = excerpt(diag, &line_col, text, lines.line_start(line - 1).unwrap_or(0));
        } else {
            let report = Report { diag, source: Window { name, text, lines }, line_col };
            let theme = if self.color {
                GraphicalTheme::unicode()
            } else {
                GraphicalTheme::unicode_nocolor()
            };
            let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
            if handler.render_report(&mut out, &report).is_err() {
                out = format!("{}: {} [{}]\n", report.line_col, diag.message, diag.code);
            }
        }
        // Labels in other files are listed below the snippet.
        for l in diag.secondary.iter().filter(|l| l.span.file != file) {
            let (ln, cl) = self.lines[&l.span.file].line_col(l.span.start as usize);
            out.push_str(&format!(
                "  note: {}:{ln}:{cl}: {}\n",
                self.names[&l.span.file], l.message
            ));
        }
        out
    }
}

/// A diagnostic on a very long line: the message, and 60 characters either side of the label.
fn excerpt(diag: &Diagnostic, line_col: &str, text: &str, line_start: usize) -> String {
    let start = diag.primary.span.start as usize;
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let mut from = start.saturating_sub(60).max(line_start);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let mut to = (start + 60).min(line_end);
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let lead = if from > line_start { "…" } else { "" };
    let tail = if to < line_end { "…" } else { "" };
    let caret = text[from..start.min(to)].chars().count() + lead.chars().count();
    let mut s = format!(
        "{} {line_col}\n\n  × {}\n   │ {lead}{}{tail}\n   │ {}^ {}\n",
        diag.code,
        diag.message,
        &text[from..to],
        " ".repeat(caret),
        diag.primary.message
    );
    s.push_str(&format!("   (line excerpted: it is longer than {MAX_LINE} bytes)\n"));
    if let Some(h) = &diag.help {
        s.push_str(&format!("  help: {h}\n"));
    }
    s
}

/// Render `diag` against the files of `db`, without colour when `color` is false (one
/// diagnostic; many go through one [`Renderer`]).
pub fn render(db: &dyn SourceDb, diag: &Diagnostic, color: bool) -> String {
    Renderer::new(db, color).render(diag)
}
