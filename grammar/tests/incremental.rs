//! The incremental parser (`Reparser`) gives exactly what `parse` gives: on every example, test
//! file and standard-library file, and on thousands of random edits of them made in turn (so
//! most statements come from its cache, moved to new offsets).

use snn_syntax::{parse, FileId, Reparser};
use std::path::Path;

fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "snn") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    for dir in
        ["../examples", "../stdlib", "test_data", "../tests/conformance", "../tests/diagnostics"]
    {
        walk(&root.join(dir), &mut paths);
    }
    paths.sort();
    paths
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).expect("a source file")))
        .collect()
}

/// Whether `text` parses; asserts the two parsers agree.
fn assert_same(r: &mut Reparser, name: &str, text: &str) -> bool {
    let a = r.parse(FileId(2), text);
    let b = parse(FileId(2), text);
    assert_eq!(a.file, b.file, "{name}:\n{text}");
    assert_eq!(format!("{:?}", a.errors), format!("{:?}", b.errors), "{name}:\n{text}");
    assert_eq!(format!("{:?}", a.broken), format!("{:?}", b.broken), "{name}:\n{text}");
    b.errors.is_empty()
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\n",
    " ",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "->",
    ".",
    ":",
    "\"",
    "//",
    "seed",
    "seed 3",
    "\nseed 2\n",
    "connect",
    "\nconnect a -> b\n",
    "ensemble",
    "\nnode q: [1]\n",
    "network",
    "input",
    "transform",
    "5ms",
    "x",
    "lif(n = 3, dims = 1)",
    "\n}\n",
    "{\n",
    "for",
    "in",
    "..",
    "probe",
    "use",
    "as",
    "let",
    "\nlet k = 2\n",
    "+",
    "*",
    "-",
    "fn v -> v",
    "\"a.npz\"",
    "config {",
    "alias",
    "weights",
    "\n// c\n",
    "\nnode\ninput: [1]\n",
];

#[test]
fn equals_parse_on_files_and_random_edits() {
    let mut r = Reparser::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let files = sources();
    assert!(files.len() >= 10, "found {} files", files.len());
    let (mut edits, mut parsed) = (0, 0);
    for (name, text) in &files {
        assert_same(&mut r, name, text);
        let mut cur = text.clone();
        for _ in 0..60 {
            let mut at = rng.below(cur.len() + 1);
            while !cur.is_char_boundary(at) {
                at -= 1;
            }
            if rng.below(3) == 0 {
                let mut end = (at + rng.below(12)).min(cur.len());
                while !cur.is_char_boundary(end) {
                    end -= 1;
                }
                cur.replace_range(at..end, "");
            } else {
                cur.insert_str(at, TOKENS[rng.below(TOKENS.len())]);
            }
            parsed += usize::from(assert_same(&mut r, name, &cur));
            edits += 1;
            if rng.below(4) == 0 {
                cur = text.clone();
            }
        }
    }
    assert!(edits > 1000, "{edits} edits");
    // both paths are exercised: texts that parse (from the cache) and texts that do not
    assert!(parsed > edits / 5 && parsed < edits * 4 / 5, "{parsed} of {edits} edits parse");
}
