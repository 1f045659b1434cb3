//! pest errors → diagnostics with "expected …" written in the language's own words.

use crate::codes;
use crate::diag::Diagnostic;
use crate::span::{FileId, Span};
use crate::Rule;
use pest::error::{ErrorVariant, InputLocation};

pub(crate) fn convert(file: FileId, text: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let (found, found_span) = token_at(text, pos);
    let span = Span::new(file, found_span.0, found_span.1);
    // A string that never closes: say so, rather than "expected a string, found `\"`".
    let rest = &text[pos.min(text.len())..];
    if rest.starts_with('"') && !rest[1..].lines().next().unwrap_or("").contains('"') {
        return Diagnostic::error(
            codes::SYNTAX,
            "unterminated string",
            span,
            "this string is not closed",
        )
        .with_help("add the closing `\"` on the same line");
    }
    let wants_ident = matches!(&err.variant, ErrorVariant::ParsingError { positives, .. } if positives.contains(&Rule::ident));
    let keyword = found.trim_matches('`');
    let keyword_help = (wants_ident && crate::lex::KEYWORDS.contains(&keyword)).then(|| {
        format!(
            "`{keyword}` is a keyword: it cannot name a value (`let`, `for`, a parameter, \
             `weights`, a network definition), which expressions use; objects and aliases may \
             have keyword names (`node input`), since only paths name them"
        )
    });
    let (expected, label) = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            names.sort_unstable();
            names.dedup();
            (join_or(&names), format!("unexpected {found}"))
        }
        ErrorVariant::CustomError { message } => (message.clone(), format!("unexpected {found}")),
    };
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {expected}, found {found}")
    };
    let mut diag = Diagnostic::error(codes::SYNTAX, message, span, label);
    if let Some(help) = keyword_help.or_else(|| hint(text, pos)) {
        diag = diag.with_help(help);
    }
    diag
}

/// A short description of the token at `pos` and its byte range.
fn token_at(text: &str, pos: usize) -> (String, (usize, usize)) {
    let rest = &text[pos.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), (text.len(), text.len()));
    };
    if c.is_alphanumeric() || c == '_' {
        let len = rest
            .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '.'))
            .unwrap_or(rest.len());
        let word = rest[..len].trim_end_matches('.');
        return (format!("`{word}`"), (pos, pos + word.len()));
    }
    if c == '\n' || c == '\r' {
        return ("end of line".to_string(), (pos, pos));
    }
    (format!("`{c}`"), (pos, pos + c.len_utf8()))
}

fn hint(text: &str, pos: usize) -> Option<String> {
    let before = text[..pos.min(text.len())].trim_end();
    if before.ends_with('=') && text[pos.min(text.len())..].trim_start().starts_with('=') {
        return Some("comparison is `==`".to_string());
    }
    let open = before.matches('{').count();
    let close = before.matches('}').count();
    if pos >= text.len() && open > close {
        return Some(format!("{} `{{` not closed", open - close));
    }
    None
}

fn join_or(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// What a rule is called in an error message; `None` hides it.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::ident | Rule::name | Rule::decl_name => "a name",
        Rule::expr => "an expression",
        Rule::number | Rule::num_lit => "a number",
        Rule::string | Rule::str_inner => "a string",
        Rule::shape => "a shape like `[2]`",
        Rule::path => "an object name",
        Rule::block => "`{`",
        Rule::param_list => "`(`",
        Rule::clause => "a clause (transform, fn, synapse, solver, …)",
        Rule::arrow => "`->`",
        Rule::use_item | Rule::kw_use => "`use`",
        Rule::network_def | Rule::kw_network => "`network`",
        Rule::input_stmt | Rule::kw_input => "`input`",
        Rule::node_stmt | Rule::kw_node => "`node`",
        Rule::ensemble_stmt | Rule::kw_ensemble => "`ensemble`",
        Rule::layer_stmt | Rule::kw_layer => "`layer`",
        Rule::connect_stmt | Rule::kw_connect => "`connect`",
        Rule::probe_stmt | Rule::kw_probe => "`probe`",
        Rule::instance_stmt => "`network`",
        Rule::alias_stmt | Rule::kw_alias => "`alias`",
        Rule::weights_stmt | Rule::kw_weights => "`weights`",
        Rule::config_stmt | Rule::kw_config => "`config`",
        Rule::config_entry => "a config entry like `ensemble.radius = 2`",
        Rule::for_stmt | Rule::kw_for => "`for`",
        Rule::seed_stmt | Rule::kw_seed => "`seed`",
        Rule::let_stmt | Rule::kw_let => "`let`",
        Rule::kw_in => "`in`",
        Rule::kw_as => "`as`",
        Rule::std_path | Rule::kw_std => "`std`",
        Rule::lambda | Rule::kw_fn => "`fn`",
        Rule::lambda_params | Rule::lambda_param => "a parameter name",
        Rule::vector => "`[`",
        Rule::paren => "`(`",
        Rule::call_args => "`(`",
        Rule::index_post | Rule::index_seg => "`[`",
        Rule::field_seg => "`.`",
        Rule::slice | Rule::slice_part => "a slice",
        Rule::arg => "an argument",
        Rule::param => "a parameter",
        Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::pow => "an operator",
        Rule::eq | Rule::ne | Rule::le | Rule::ge | Rule::lt | Rule::gt | Rule::and | Rule::or => {
            "an operator"
        }
        Rule::neg | Rule::not => "an expression",
        Rule::kw_true | Rule::kw_false | Rule::kw_none => "an expression",
        Rule::unit => "a unit",
        _ => return None,
    })
}
