//! The compiler's diagnostics as LSP diagnostics (codes, related locations, help), and the
//! quick fixes they offer as code actions.

use crate::analysis::Analysis;
use crate::server::State;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    TextEdit, WorkspaceEdit,
};
use snn_syntax::{Severity, Span};

/// Where a compiler diagnostic is shown in the document: its primary span when in the
/// document, else the `use` item that (directly) loads the file it is in.
fn place(a: &Analysis, d: &snn_syntax::Diagnostic) -> Option<Span> {
    let span = d.primary.span;
    if span.file == a.root {
        return Some(span);
    }
    let root = a.root_file();
    let k = root.uses.iter().position(|u| *u == Some(span.file))?;
    Some(root.index.uses.get(k)?.span)
}

/// The document's diagnostics in LSP form (linear in their number).
pub(crate) fn lsp_diagnostics(a: &Analysis) -> Vec<Diagnostic> {
    let root = a.root_file();
    let mut out = Vec::with_capacity(a.checked.diagnostics.len());
    let mut other_file_errors = 0usize;
    for d in &a.checked.diagnostics {
        let Some(span) = place(a, d) else {
            other_file_errors += 1;
            continue;
        };
        let mut message = d.message.clone();
        if span.file != d.primary.span.file || span != d.primary.span {
            let name = a.file(d.primary.span.file).map(|f| f.uri.path().to_string());
            message = format!("in {}: {message}", name.unwrap_or_default());
        }
        let label = d.primary.message.trim();
        if !label.is_empty() && label != "here" {
            message.push_str(&format!("\n{label}"));
        }
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        let mut related = Vec::new();
        if span != d.primary.span {
            if let Some(f) = a.file(d.primary.span.file) {
                related.push(DiagnosticRelatedInformation {
                    location: Location::new(f.uri.clone(), f.range(d.primary.span)),
                    message: if label.is_empty() { d.message.clone() } else { label.to_string() },
                });
            }
        }
        for l in &d.secondary {
            if let Some(f) = a.file(l.span.file) {
                related.push(DiagnosticRelatedInformation {
                    location: Location::new(f.uri.clone(), f.range(l.span)),
                    message: if l.message.is_empty() { "here".into() } else { l.message.clone() },
                });
            }
        }
        out.push(Diagnostic {
            range: root.range(span),
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("snnc".into()),
            message,
            related_information: if related.is_empty() { None } else { Some(related) },
            ..Default::default()
        });
    }
    if other_file_errors > 0 && out.is_empty() {
        // Errors in a file reached only indirectly: say so at the start of the document.
        out.push(Diagnostic {
            range: root.range(Span::new(a.root, 0, 0)),
            severity: Some(DiagnosticSeverity::ERROR),
            source: Some("snnc".into()),
            message: format!("{other_file_errors} error(s) in files this one uses indirectly"),
            ..Default::default()
        });
    }
    out
}

/// The edit a "did you mean" help proposes: the span to replace and its new text.
pub(crate) fn fix_of(a: &Analysis, d: &snn_syntax::Diagnostic) -> Option<(Span, String)> {
    let s = d.suggestion()?;
    let span = d.primary.span;
    let file = a.file(span.file)?;
    let text = file.slice(span);
    let is_ident = |t: &str| {
        !t.is_empty()
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !t.starts_with(|c: char| c.is_ascii_digit())
    };
    if is_ident(text) && is_ident(s) {
        return Some((span, s.to_string()));
    }
    // `std.name` in a `use` item: replace the path after `std.`.
    if let Some(rest) = s.strip_prefix("std.") {
        let at = text.find("std.")? + 4;
        let len = text[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(text.len() - at);
        let start = span.start as usize + at;
        return Some((Span::new(span.file, start, start + len), rest.to_string()));
    }
    // A tensor name in `w["…"]`: replace the string's contents.
    let open = text.find('"')?;
    let close = open + 1 + text[open + 1..].find('"')?;
    let start = span.start as usize + open + 1;
    Some((Span::new(span.file, start, span.start as usize + close), s.to_string()))
}

/// Code actions: the quick fixes of the diagnostics in the requested range.
pub(crate) fn code_actions(
    st: &mut State,
    p: CodeActionParams,
) -> Result<Option<CodeActionResponse>, (i32, String)> {
    let Some(a) = st.analysis(&p.text_document.uri) else { return Ok(None) };
    let root = a.root_file();
    let lo = root.offset(p.range.start);
    let hi = root.offset(p.range.end);
    let lsp = lsp_diagnostics(&a);
    let mut out = Vec::new();
    for d in &a.checked.diagnostics {
        let span = d.primary.span;
        if span.file != a.root || (span.end as usize) < lo || (span.start as usize) > hi {
            continue;
        }
        let Some((fix_span, new_text)) = fix_of(&a, d) else { continue };
        let Some(file) = a.file(fix_span.file) else { continue };
        let old = file.slice(fix_span).to_string();
        #[allow(clippy::disallowed_types)] // the LSP type's map; one entry
        let changes = std::collections::HashMap::from([(
            file.uri.clone(),
            vec![TextEdit::new(file.range(fix_span), new_text.clone())],
        )]);
        let diag = lsp.iter().find(|l| l.range == root.range(span)).cloned();
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: format!("Replace `{old}` with `{new_text}`"),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: diag.map(|d| vec![d]),
            edit: Some(WorkspaceEdit { changes: Some(changes), ..Default::default() }),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    Ok(Some(out))
}
