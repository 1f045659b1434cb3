//! The compiler's diagnostics as LSP diagnostics (codes, related locations, help), and the
//! quick fixes they offer as code actions.

use crate::analysis::Analysis;
use crate::server::State;
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    TextEdit, WorkspaceEdit,
};
use snn_syntax::{ast, codes, Severity, Span};

/// Where a compiler diagnostic is shown in the document: its primary span when in the
/// document, else the `use` item that (directly) loads the file it is in.
fn place(a: &Analysis, d: &snn_syntax::Diagnostic) -> Option<Span> {
    let span = d.primary.span;
    if span.file == a.root {
        return Some(span);
    }
    let root = a.root_file();
    let k = root.uses.iter().position(|u| *u == Some(span.file))?;
    root.use_spans.get(k).copied()
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

/// A quick fix: a title and one edit of one file.
pub(crate) struct Fix {
    /// What the editor shows.
    pub(crate) title: String,
    /// The text to replace (empty to insert).
    pub(crate) span: Span,
    /// Its replacement.
    pub(crate) new_text: String,
    /// The fix to apply when there is one obvious choice.
    pub(crate) preferred: bool,
}

/// Every quick fix of a diagnostic: "did you mean", a `transform` or a slice for sizes that do
/// not match, a unit for a number where a time or a frequency is expected.
pub(crate) fn fixes(a: &Analysis, d: &snn_syntax::Diagnostic) -> Vec<Fix> {
    let mut out = Vec::new();
    if let Some((span, new_text)) = fix_of(a, d) {
        let old = a.file(span.file).map(|f| f.slice(span).to_string()).unwrap_or_default();
        let title = format!("Replace `{old}` with `{new_text}`");
        out.push(Fix { title, span, new_text, preferred: true });
    }
    match d.code {
        codes::SHAPE_MISMATCH | codes::FUNCTION_SIZE => out.extend(size_fixes(a, d)),
        codes::TYPE_MISMATCH => out.extend(unit_fixes(a, d)),
        _ => {}
    }
    out
}

/// The two numbers of a size message: "cannot connect size M to size N", "the function gives M
/// value(s), but `x` takes N"; `(M, N)`.
fn sizes(message: &str) -> Option<(usize, usize)> {
    let nums: Vec<usize> = message
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse().ok())
        .collect();
    match nums.as_slice() {
        [m, n] => Some((*m, *n)),
        _ => None,
    }
}

/// The `connect` statement of `file` whose arrow is `arrow` or whose function is at `function`.
fn connect_at(a: &Analysis, span: Span) -> Option<&ast::Stmt> {
    fn find<'t>(stmts: impl Iterator<Item = &'t ast::Stmt>, span: Span) -> Option<&'t ast::Stmt> {
        for st in stmts {
            match &st.kind {
                ast::StmtKind::Connect { arrow, clauses, .. } => {
                    let is_fn = clauses
                        .iter()
                        .any(|c| matches!(&c.kind, ast::ClauseKind::Function(l) if l.span == span));
                    if *arrow == span || is_fn {
                        return Some(st);
                    }
                }
                ast::StmtKind::For { body, .. } => {
                    if let Some(s) = find(body.iter(), span) {
                        return Some(s);
                    }
                }
                _ => {}
            }
        }
        None
    }
    let tree = a.checked.syntax.get(&span.file)?;
    tree.items.iter().find_map(|item| match item {
        ast::Item::Stmt(st) => find(std::iter::once(st), span),
        ast::Item::Network(n) => find(n.body.iter(), span),
        ast::Item::Use(_) => None,
    })
}

/// A `post`×`pre` matrix with ones on its diagonal, written out when small, else `zeros(…)`.
fn matrix(post: usize, pre: usize) -> (String, String) {
    if post * pre > 36 {
        return (format!("zeros({post}, {pre})"), format!("a {post}×{pre} matrix of zeros"));
    }
    let rows: Vec<String> = (0..post)
        .map(|i| {
            let row: Vec<&str> = (0..pre).map(|j| if i == j { "1" } else { "0" }).collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    (format!("[{}]", rows.join(", ")), format!("a {post}×{pre} matrix (ones on the diagonal)"))
}

/// For a connection whose sizes differ: add a `transform`, or slice the larger side.
fn size_fixes(a: &Analysis, d: &snn_syntax::Diagnostic) -> Vec<Fix> {
    let mut out = Vec::new();
    let Some((mid, post_n)) = sizes(&d.message) else { return out };
    let Some(st) = connect_at(a, d.primary.span) else { return out };
    let ast::StmtKind::Connect { pre, post, clauses, .. } = &st.kind else { return out };
    if clauses.iter().any(|c| matches!(c.kind, ast::ClauseKind::Transform(_))) {
        return out;
    }
    let Some(file) = a.file(st.span.file) else { return out };
    let (m, what) = matrix(post_n, mid);
    out.push(Fix {
        title: format!("Add `transform` with {what}"),
        span: Span::new(st.span.file, st.span.end as usize, st.span.end as usize),
        new_text: format!(" transform {m}"),
        preferred: false,
    });
    let has_function = clauses.iter().any(|c| matches!(c.kind, ast::ClauseKind::Function(_)));
    let unindexed = |p: &ast::Path| !p.segs.iter().any(|s| matches!(s, ast::PathSeg::Index(_)));
    let (side, n) = if mid > post_n { (pre, post_n) } else { (post, mid) };
    if unindexed(side) && !(has_function && mid > post_n) {
        let text = file.slice(side.span);
        let new_text = format!("{text}[0:{n}]");
        let prep = if mid > post_n { "from" } else { "into" };
        out.push(Fix {
            title: format!("Connect only {prep} the first {n} of `{text}`: `{new_text}`"),
            span: side.span,
            new_text,
            preferred: false,
        });
    }
    out
}

/// The unit kinds a message says are expected (before its "found …").
fn expected_units(message: &str) -> &'static [&'static str] {
    let expected = message.split(", found").next().unwrap_or(message);
    let has = |w: &str| expected.contains(w);
    if has(" time") || has("`time`") || has("synapse") {
        &["ms", "s"]
    } else if has("frequency") || has("`freq`") {
        &["Hz", "kHz"]
    } else {
        &[]
    }
}

/// For a number where a time or a frequency is expected: add the unit (or change a unit of the
/// wrong kind).
fn unit_fixes(a: &Analysis, d: &snn_syntax::Diagnostic) -> Vec<Fix> {
    let span = d.primary.span;
    let Some(file) = a.file(span.file) else { return Vec::new() };
    let text = file.slice(span);
    let digits = text
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == 'e' || c == 'E')
                    && text[i + 1..].starts_with(|n: char| n.is_ascii_digit() || n == '-')))
        })
        .map_or(text.len(), |(i, _)| i);
    let (num, unit) = text.split_at(digits);
    let is_unit = unit.chars().all(|c| c.is_ascii_alphabetic());
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) || !is_unit {
        return Vec::new();
    }
    expected_units(&d.message)
        .iter()
        .filter(|u| **u != unit)
        .enumerate()
        .map(|(i, u)| Fix {
            title: if unit.is_empty() {
                format!("Add the unit `{u}`: `{num}{u}`")
            } else {
                format!("Change the unit to `{u}`: `{num}{u}`")
            },
            span,
            new_text: format!("{num}{u}"),
            preferred: i == 0,
        })
        .collect()
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
        let diag = lsp.iter().find(|l| l.range == root.range(span)).cloned();
        for fix in fixes(&a, d) {
            let Some(file) = a.file(fix.span.file) else { continue };
            #[allow(clippy::disallowed_types)] // the LSP type's map; one entry
            let changes = std::collections::HashMap::from([(
                file.uri.clone(),
                vec![TextEdit::new(file.range(fix.span), fix.new_text)],
            )]);
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: fix.title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: diag.clone().map(|d| vec![d]),
                edit: Some(WorkspaceEdit { changes: Some(changes), ..Default::default() }),
                is_preferred: Some(fix.preferred),
                ..Default::default()
            }));
        }
    }
    Ok(Some(out))
}
