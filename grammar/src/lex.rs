//! A lexer for editors: the tokens of a `.snn` text (comments included), whatever its syntax
//! errors. The parser does not use it; the language server colours, completes and recovers with it.

/// The kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A reserved word (`connect`, `ensemble`, `true`, …): [`KEYWORDS`].
    Keyword,
    /// A name.
    Ident,
    /// A number literal, without its unit.
    Number,
    /// The unit right after a number (`ms` in `5ms`).
    Unit,
    /// A string literal, quotes included (an unterminated one runs to the end of its line).
    String,
    /// A `//` comment, up to the end of its line.
    Comment,
    /// Punctuation or an operator (`->`, `..`, `==`, `(`, …).
    Punct,
    /// A character the language does not use.
    Unknown,
}

/// One token: its kind and byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Token {
    /// The token's text in `src`.
    pub fn text(self, src: &str) -> &str {
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// The language's reserved words (the grammar's `keyword` rule).
pub const KEYWORDS: &[&str] = &[
    "use",
    "as",
    "std",
    "network",
    "input",
    "node",
    "ensemble",
    "layer",
    "connect",
    "probe",
    "config",
    "weights",
    "seed",
    "for",
    "in",
    "let",
    "alias",
    "fn",
    "transform",
    "synapse",
    "solver",
    "eval_points",
    "sample_every",
    "trainable",
    "true",
    "false",
    "none",
];

const TWO_CHAR: &[&str] = &["->", "..", "==", "!=", "<=", ">=", "&&", "||"];

/// Split `text` into tokens (whitespace dropped). Never fails.
pub fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let tok = |kind, start, end| Token { kind, start, end };
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                i += 1;
            }
            out.push(tok(TokenKind::Comment, start, i));
        } else if c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' && bytes.get(i + 1).is_some_and(|b| *b != b'\n') {
                    2
                } else {
                    1
                };
            }
            if bytes.get(i) == Some(&b'"') {
                i += 1;
            }
            out.push(tok(TokenKind::String, start, i.min(bytes.len())));
        } else if c.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if matches!(bytes.get(i), Some(b'e' | b'E')) {
                let mut j = i + 1;
                if matches!(bytes.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                if bytes.get(j).is_some_and(u8::is_ascii_digit) {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            out.push(tok(TokenKind::Number, start, i));
            if bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
                let u = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push(tok(TokenKind::Unit, u, i));
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            let kind = if KEYWORDS.contains(&word) { TokenKind::Keyword } else { TokenKind::Ident };
            out.push(tok(kind, start, i));
        } else if TWO_CHAR.iter().any(|p| bytes[i..].starts_with(p.as_bytes())) {
            i += 2;
            out.push(tok(TokenKind::Punct, start, i));
        } else if c.is_ascii() {
            i += 1;
            let kind = if b"()[]{},.:=+-*/^<>!&|".contains(&c) {
                TokenKind::Punct
            } else {
                TokenKind::Unknown
            };
            out.push(tok(kind, start, i));
        } else {
            // a non-ASCII character: one token up to the next char boundary
            i += 1;
            while i < bytes.len() && !text.is_char_boundary(i) {
                i += 1;
            }
            out.push(tok(TokenKind::Unknown, start, i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_a_statement() {
        let src = "connect a -> b synapse 5ms // x\nfor i in 0..n { \"s\\\"t\" é";
        let kinds: Vec<(TokenKind, &str)> =
            tokenize(src).into_iter().map(|t| (t.kind, t.text(src))).collect();
        use TokenKind::*;
        assert_eq!(
            kinds,
            [
                (Keyword, "connect"),
                (Ident, "a"),
                (Punct, "->"),
                (Ident, "b"),
                (Keyword, "synapse"),
                (Number, "5"),
                (Unit, "ms"),
                (Comment, "// x"),
                (Keyword, "for"),
                (Ident, "i"),
                (Keyword, "in"),
                (Number, "0"),
                (Punct, ".."),
                (Ident, "n"),
                (Punct, "{"),
                (String, "\"s\\\"t\""),
                (Unknown, "é"),
            ]
        );
    }
}
