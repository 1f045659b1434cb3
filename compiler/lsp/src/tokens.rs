//! Semantic tokens: the lexer's tokens, names classified by the scope index.

use crate::analysis::Analysis;
use crate::features::Reply;
use crate::server::State;
use lsp_types::*;
use snn_compiler::resolve::index::{DefKind, RefTarget};
use snn_compiler::spec::NeuronKind;
use snn_syntax::lex::{tokenize, TokenKind};

const TYPES: &[SemanticTokenType] = &[
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::CLASS,
    SemanticTokenType::PARAMETER,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::TYPE,
    SemanticTokenType::KEYWORD,
    SemanticTokenType::NUMBER,
    SemanticTokenType::STRING,
    SemanticTokenType::COMMENT,
    SemanticTokenType::OPERATOR,
    SemanticTokenType::ENUM_MEMBER,
];

const MODIFIERS: &[SemanticTokenModifier] = &[
    SemanticTokenModifier::DECLARATION,
    SemanticTokenModifier::READONLY,
    SemanticTokenModifier::DEFAULT_LIBRARY,
];

const NAMESPACE: u32 = 0;
const CLASS: u32 = 1;
const PARAMETER: u32 = 2;
const VARIABLE: u32 = 3;
const PROPERTY: u32 = 4;
const FUNCTION: u32 = 5;
const TYPE: u32 = 6;
const KEYWORD: u32 = 7;
const NUMBER: u32 = 8;
const STRING: u32 = 9;
const COMMENT: u32 = 10;
const OPERATOR: u32 = 11;
const ENUM_MEMBER: u32 = 12;
const DECLARATION: u32 = 1;
const READONLY: u32 = 2;
const DEFAULT_LIBRARY: u32 = 4;

/// The token types and modifiers the server uses.
pub(crate) fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend { token_types: TYPES.to_vec(), token_modifiers: MODIFIERS.to_vec() }
}

fn of_def(k: DefKind) -> (u32, u32) {
    match k {
        DefKind::Network => (CLASS, 0),
        DefKind::Instance | DefKind::UseAlias => (NAMESPACE, 0),
        DefKind::Param | DefKind::LambdaParam => (PARAMETER, 0),
        DefKind::Let | DefKind::Weights => (VARIABLE, READONLY),
        _ => (VARIABLE, 0),
    }
}

const PARAM_TYPES: &[&str] =
    &["int", "float", "time", "freq", "bool", "neuron", "synapse", "tensor", "string"];

fn of_free(a: &Analysis, name: &str) -> Option<(u32, u32)> {
    if NeuronKind::from_name(name).is_some() {
        return Some((TYPE, DEFAULT_LIBRARY));
    }
    if snn_compiler::value::CONSTRUCTORS.contains(&name)
        || snn_compiler::value::CONST_FUNCTIONS.contains(&name)
        || crate::complete::FUNCTIONS.contains(&name)
    {
        return Some((FUNCTION, DEFAULT_LIBRARY));
    }
    if matches!(name, "pi" | "e" | "t") {
        return Some((VARIABLE, READONLY | DEFAULT_LIBRARY));
    }
    a.network(a.root, name).map(|_| (CLASS, 0))
}

/// `textDocument/semanticTokens/full`.
pub(crate) fn semantic_tokens(
    st: &mut State,
    p: SemanticTokensParams,
) -> Reply<Option<SemanticTokensResult>> {
    let Some(a) = st.analysis(&p.text_document.uri) else { return Ok(None) };
    let f = a.root_file();
    let src = f.text.as_str();
    let toks = tokenize(src);
    let mut data = Vec::with_capacity(toks.len());
    let (mut line, mut col) = (0u32, 0u32);
    let mut refs = f.index().refs.iter().peekable();
    let mut prev_text = "";
    for t in toks {
        let text = t.text(src);
        let class = match t.kind {
            TokenKind::Comment => Some((COMMENT, 0)),
            TokenKind::String => Some((STRING, 0)),
            TokenKind::Number => Some((NUMBER, 0)),
            TokenKind::Unit => Some((ENUM_MEMBER, 0)),
            TokenKind::Keyword => Some((KEYWORD, 0)),
            TokenKind::Punct if text == "->" => Some((OPERATOR, 0)),
            TokenKind::Punct | TokenKind::Unknown => None,
            TokenKind::Ident => {
                while refs.peek().is_some_and(|r| (r.span.end as usize) < t.start) {
                    refs.next();
                }
                let r = refs.peek().filter(|r| r.span.start as usize == t.start);
                if let Some(d) = f
                    .index()
                    .def_at(t.start)
                    .filter(|d| f.index().def(*d).span.start as usize == t.start)
                {
                    let (ty, m) = of_def(f.index().def(d).kind);
                    Some((ty, m | DECLARATION))
                } else if let Some(r) = r {
                    match &r.target {
                        RefTarget::Def(d) => Some(of_def(f.index().def(*d).kind)),
                        RefTarget::Member { .. } => Some((PROPERTY, 0)),
                        RefTarget::Arg { .. } => Some((PARAMETER, 0)),
                        RefTarget::Network(_) => Some((CLASS, 0)),
                        RefTarget::Free(n) => of_free(&a, n),
                    }
                } else if (prev_text == ":" && PARAM_TYPES.contains(&text))
                    || NeuronKind::from_name(text).is_some()
                {
                    Some((TYPE, DEFAULT_LIBRARY))
                } else if prev_text == "." {
                    Some((PROPERTY, 0))
                } else {
                    None
                }
            }
        };
        prev_text = text;
        let Some((ty, mods)) = class else { continue };
        let start = f.lines.position(src, t.start);
        let end = f.lines.position(src, t.end);
        if end.line != start.line {
            continue; // tokens are single-line in this language
        }
        let delta_line = start.line - line;
        let delta_start = if delta_line == 0 { start.character - col } else { start.character };
        data.push(SemanticToken {
            delta_line,
            delta_start,
            length: end.character - start.character,
            token_type: ty,
            token_modifiers_bitset: mods,
        });
        line = start.line;
        col = start.character;
    }
    Ok(Some(SemanticTokensResult::Tokens(SemanticTokens { result_id: None, data })))
}
