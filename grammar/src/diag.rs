//! Diagnostics: every user-facing error or warning, with a code, spans, labels and help.

use crate::span::Span;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Compilation cannot continue past the current stage.
    Error,
    /// Worth telling, but the model still builds.
    Warning,
}

/// A span with a message, shown under the source line.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
}

/// One error or warning, rendered by the CLI and the LSP.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code such as `E0101`; see [`crate::codes`].
    pub code: &'static str,
    /// One-line summary.
    pub message: String,
    /// The main place the problem is.
    pub primary: Label,
    /// Other places that explain it (where a shape came from, the rest of a cycle).
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with `code`, `message` and a primary label.
    pub fn error(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: Label { span, message: label.into() },
            secondary: Vec::new(),
            help: None,
        }
    }

    /// A warning with `code`, `message` and a primary label.
    pub fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message, span, label) }
    }

    /// Add a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: message.into() });
        self
    }

    /// Add (or replace) the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The name a "did you mean `x`?" (or `"x"`) help proposes, if the help is one. Editors
    /// offer it as a quick fix replacing the name at the primary span.
    pub fn suggestion(&self) -> Option<&str> {
        let help = self.help.as_deref()?;
        let rest = &help[help.find("did you mean ")? + "did you mean ".len()..];
        let quote = rest.chars().next().filter(|c| *c == '`' || *c == '"')?;
        let inner = &rest[1..];
        let end = inner.find(quote)?;
        Some(&inner[..end])
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The closest of `candidates` to `name` by edit distance, if close enough to suggest.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        let d = edit_distance(name, cand);
        let limit = (name.len().max(cand.len()) / 3).max(1);
        // a suggestion must keep most of the name: never replace all of it (`c` → `x`)
        if d <= limit && d < name.chars().count() && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// A number for a message: as Rust prints it (`0.25`, `400`), or in scientific notation where
/// that would run to many digits (`1e308`, not 309 of them; `1e-9`).
pub fn number(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-5..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// `word` with its indefinite article, by its first letter: `an ensemble`, `a node`.
pub fn with_article(word: &str) -> String {
    let vowel = word.chars().next().is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_articles_read() {
        assert_eq!(number(400.0), "400");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1e308), "1e308");
        assert_eq!(number(-2.5e-9), "-2.5e-9");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::INFINITY), "inf");
        assert_eq!(with_article("ensemble"), "an ensemble");
        assert_eq!(with_article("node"), "a node");
    }
}
