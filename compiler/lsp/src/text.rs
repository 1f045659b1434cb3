//! Positions: byte offsets of the compiler's spans ↔ LSP line/UTF-16-column positions, and
//! applying editor changes to a text.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// Line starts of one text, for converting between byte offsets and LSP positions.
#[derive(Clone, Debug)]
pub(crate) struct LineMap {
    starts: Vec<usize>,
}

impl LineMap {
    /// Index the lines of `text`.
    pub(crate) fn new(text: &str) -> LineMap {
        // LSP's line breaks: `\n`, `\r\n` and a lone `\r`
        let b = text.as_bytes();
        let mut starts = vec![0];
        starts.extend(
            (0..b.len())
                .filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')))
                .map(|i| i + 1),
        );
        LineMap { starts }
    }

    /// The LSP position (UTF-16 column) of byte `offset` in `text`.
    pub(crate) fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0).min(offset);
        let col: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, col as u32)
    }

    /// The byte offset of an LSP position in `text` (clamped to the line and the text).
    pub(crate) fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else { return text.len() };
        let mut col = 0u32;
        for (i, c) in text[start.min(text.len())..].char_indices() {
            if col >= pos.character || c == '\n' || c == '\r' {
                return start + i;
            }
            col += c.len_utf16() as u32;
        }
        text.len()
    }

    /// The LSP range of bytes `start..end` of `text`.
    pub(crate) fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end.max(start)))
    }
}

/// Apply one editor change (a range replacement, or the whole text) to `text`.
pub(crate) fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(r) => {
            let lines = LineMap::new(text);
            let a = lines.offset(text, r.start);
            let b = lines.offset(text, r.end).max(a);
            text.replace_range(a..b, &change.text);
        }
    }
}

/// The text of the file `path` on disk, if it is a regular file (links followed) of UTF-8 of
/// at most `snn_fs::MAX_SOURCE_BYTES`: a FIFO, a device (`/dev/zero`) or a link to one in the
/// workspace is skipped, never read (it may block the server or never end).
pub(crate) fn read_regular_file(path: &std::path::Path) -> Option<String> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    String::from_utf8(snn_fs::read_source(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_round_trip() {
        let text = "a é 𝄞 b\nx";
        let lines = LineMap::new(text);
        let b = text.find('b').unwrap_or(0);
        let p = lines.position(text, b);
        assert_eq!(p, Position::new(0, 7));
        assert_eq!(lines.offset(text, p), b);
        assert_eq!(lines.offset(text, Position::new(0, 99)), text.find('\n').unwrap_or(0));
        assert_eq!(lines.offset(text, Position::new(9, 0)), text.len());
        let mut t = text.to_string();
        apply_change(
            &mut t,
            TextDocumentContentChangeEvent {
                range: Some(Range::new(Position::new(1, 0), Position::new(1, 1))),
                range_length: None,
                text: "yz".into(),
            },
        );
        assert!(t.ends_with("\nyz"));
    }
}
