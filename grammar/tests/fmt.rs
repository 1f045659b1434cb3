//! Formatter tests: snapshots of messy inputs, and over every `.snn` file of the repository
//! idempotence, an unchanged syntax tree and every comment kept (also after breaking each file's
//! lines apart).

#![allow(clippy::unwrap_used)] // helpers outside #[test]: a failed unwrap is a failed test

use snn_syntax::{format, parse, FileId};
use std::path::{Path, PathBuf};

/// The syntax tree's Debug text with every `Span { … }` removed, so trees compare by content.
fn tree_without_spans(text: &str) -> Result<String, String> {
    let res = parse(FileId(0), text);
    if let Some(e) = res.errors.first() {
        return Err(format!("{}: {}", e.code, e.message));
    }
    let debug = format!("{:#?}", res.file);
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Span {") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let close = after.find('}').unwrap_or(after.len() - 1);
        out.push_str("Span");
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The `//` comments of `text` (outside strings), trimmed; written independently of the
/// formatter's own scanner.
fn comments(text: &str) -> Vec<String> {
    let mut res = Vec::new();
    for line in text.lines() {
        let mut in_str = false;
        let mut escaped = false;
        let mut prev_slash = false;
        for (i, c) in line.char_indices() {
            if in_str {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            if c == '"' {
                in_str = true;
                prev_slash = false;
            } else if c == '/' && prev_slash {
                res.push(line[i - 1..].trim().to_string());
                break;
            } else {
                prev_slash = c == '/';
            }
        }
    }
    res
}

/// `text` with every run of spaces outside strings and comments replaced by a newline and an
/// indentation: the same program laid out badly.
fn break_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        let body = line.trim();
        out.push_str(&line[..line.len() - line.trim_start().len()]);
        let line = body;
        let mut in_str = false;
        let mut escaped = false;
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if in_str {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_str = false;
                }
                continue;
            }
            match c {
                '"' => {
                    in_str = true;
                    out.push(c);
                }
                '/' if line[i..].starts_with("//") => {
                    out.push_str(&line[i..]);
                    break;
                }
                ' ' => {
                    while chars.next_if(|&(_, c)| c == ' ').is_some() {}
                    out.push_str("\n  ");
                }
                c => out.push(c),
            }
        }
        out.push('\n');
    }
    out
}

/// `text` with a comment `// cN` at the end of every line (appended to comments already there).
fn comment_every_line(text: &str) -> String {
    text.lines().enumerate().map(|(i, l)| format!("{l} // c{i}\n")).collect()
}

/// Every `.snn` file the formatter is checked on: stdlib, conformance models, parser and
/// formatter test data.
fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut snn_in = |dir: PathBuf| {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "snn"))
            .collect();
        found.sort();
        assert!(!found.is_empty(), "no .snn files in {}", dir.display());
        files.extend(found);
    };
    snn_in(root.join("stdlib"));
    snn_in(root.join("grammar/test_data/ok"));
    snn_in(root.join("grammar/test_data/fmt"));
    let mut models: Vec<PathBuf> = std::fs::read_dir(root.join("tests/conformance"))
        .unwrap()
        .map(|e| e.unwrap().path().join("model.snn"))
        .filter(|p| p.is_file())
        .collect();
    models.sort();
    assert!(models.len() >= 10, "conformance models not found");
    files.extend(models);
    files
}

/// Format `text` and check the result: idempotent, same tree, same comments.
fn check(name: &str, text: &str) -> String {
    let once = format(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let twice = format(&once)
        .unwrap_or_else(|e| panic!("{name}: formatted text does not parse: {e:?}\n{once}"));
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
    let before = tree_without_spans(text).unwrap();
    let after = tree_without_spans(&once).unwrap();
    assert_eq!(before, after, "{name}: the syntax tree changed\n{once}");
    let mut c_before = comments(text);
    let mut c_after = comments(&once);
    assert_eq!(c_before.len(), c_after.len(), "{name}: comment count changed\n{once}");
    c_before.sort();
    c_after.sort();
    assert_eq!(c_before, c_after, "{name}: comments changed");
    assert!(
        once.is_empty() || once.ends_with('\n') && !once.ends_with("\n\n"),
        "{name}: bad file end"
    );
    assert!(!once.starts_with('\n'), "{name}: leading blank line");
    assert!(!once.contains("\n\n\n"), "{name}: blank lines not collapsed");
    assert!(once.lines().all(|l| l == l.trim_end()), "{name}: trailing whitespace");
    once
}

#[test]
fn snapshots() {
    insta::glob!("../test_data/fmt", "*.snn", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let out = format(&text).unwrap();
        insta::assert_snapshot!(out);
    });
}

#[test]
fn corpus_is_idempotent_keeps_tree_and_comments() {
    let files = corpus();
    let mut n_comments = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        check(&path.display().to_string(), &text);
        n_comments += comments(&text).len();
    }
    assert!(files.len() >= 50, "only {} files", files.len());
    assert!(n_comments >= 50, "only {n_comments} comments checked");
}

#[test]
fn corpus_with_lines_broken_apart_and_commented() {
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let broken = break_lines(&text);
        let name = format!("{} (lines broken)", path.display());
        let out = check(&name, &broken);
        if comments(&text).is_empty() {
            // Without comments the layout of the source does not matter beyond blank lines,
            // which breaking lines apart does not add.
            assert_eq!(out, format(&text).unwrap(), "{name}: layout leaked into the output");
        }
        // A comment on every line: inside expressions, parameter lists, between clauses.
        let commented = comment_every_line(&broken);
        check(&format!("{} (lines broken, commented)", path.display()), &commented);
        check(&format!("{} (commented)", path.display()), &comment_every_line(&text));
    }
}

#[test]
fn spacing_and_literals() {
    let out = format("node k=2*pi*t+-x\nlet a=0.50ms\nconnect x[0:2]->y fn v->-v synapse none\n")
        .unwrap();
    assert_eq!(
        out,
        "node k = 2 * pi * t + -x\nlet a = 0.50ms\nconnect x[0:2] -> y fn v -> -v synapse none\n"
    );
    let out = format("node s = f(\"a\\\"b\\\\c\\nd\",k=[1,2])\n").unwrap();
    assert_eq!(out, "node s = f(\"a\\\"b\\\\c\\nd\", k = [1, 2])\n");
}

#[test]
fn parentheses_are_kept_and_never_added() {
    let out = format("let a = ((b+c))*d\nlet e = b+c*d\n").unwrap();
    assert_eq!(out, "let a = ((b + c)) * d\nlet e = b + c * d\n");
}

#[test]
fn blocks_indent_and_blank_lines_collapse() {
    let src = "network n{\n\n node a:[1]\n\n\n\n node b:[1]\n\n}\nnetwork m{}\nnode c = 1\n";
    let out = format(src).unwrap();
    assert_eq!(
        out,
        "network n {\n    node a: [1]\n\n    node b: [1]\n}\n\nnetwork m {}\n\nnode c = 1\n"
    );
}

#[test]
fn long_connect_breaks_clauses() {
    let long = "connect aaaaaaaaaaaaaaaa -> bbbbbbbbbbbbbbbbbbbb transform [[1, 0], [0, 1], [1, 1], [0, 0]] synapse lowpass(5ms) solver lstsq_l2(reg = 0.1)\n";
    let out = format(long).unwrap();
    assert_eq!(
        out,
        "connect aaaaaaaaaaaaaaaa -> bbbbbbbbbbbbbbbbbbbb\n    transform [[1, 0], [0, 1], [1, 1], [0, 0]]\n    synapse lowpass(5ms)\n    solver lstsq_l2(reg = 0.1)\n"
    );
    assert!(out.lines().all(|l| l.len() <= 100));
}

#[test]
fn comments_trail_lead_and_move() {
    let src = "node a = 1 // t\n// lead\nnode b = f(1, // inside\n  2)\n// end\n";
    let out = format(src).unwrap();
    assert_eq!(out, "node a = 1  // t\n// lead\nnode b = f(1, 2)  // inside\n// end\n");
}

#[test]
fn syntax_error_is_returned() {
    let err = format("node = 1\n").unwrap_err();
    assert!(err.is_error());
    assert_eq!(err.code, snn_syntax::codes::SYNTAX);
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(format("").unwrap(), "");
    assert_eq!(format("\n\n  \n").unwrap(), "");
    assert_eq!(format("\n// only\n\n\n// comments   \n").unwrap(), "// only\n\n// comments\n");
}

#[test]
fn header_comments_trail_the_brace_line() {
    let src = "network n(a: int = 1, // p\n  b: int = 2) { // brace\n node x: [a]\n} // end\n";
    let out = format(src).unwrap();
    assert_eq!(
        out,
        "// p\nnetwork n(a: int = 1, b: int = 2) {  // brace\n    node x: [a]\n}  // end\n"
    );
    let out = format("for i in 0..2 { // c\n}\n").unwrap();
    assert_eq!(out, "for i in 0..2 {  // c\n}\n");
}

#[test]
fn wide_network_header_puts_one_parameter_per_line() {
    let params: Vec<String> = (0..8).map(|i| format!("parameter_{i}: int = {i}")).collect();
    let src = format!("network wide({}) {{ node a: [1] }}\n", params.join(", "));
    let out = format(&src).unwrap();
    let expected: String = params.iter().map(|p| format!("    {p},\n")).collect();
    assert_eq!(out, format!("network wide(\n{expected}) {{\n    node a: [1]\n}}\n"));
}

#[test]
fn clauses_break_only_past_100_columns() {
    // Exactly 100 columns stays on one line; 101 breaks.
    let head = "connect a -> b synapse ";
    let fits = format!("{head}{}\n", "x".repeat(100 - head.len()));
    assert_eq!(format(&fits).unwrap(), fits);
    let wide = format!("{head}{}\n", "x".repeat(101 - head.len()));
    assert_eq!(
        format(&wide).unwrap(),
        format!("connect a -> b\n    synapse {}\n", "x".repeat(101 - head.len()))
    );
}
