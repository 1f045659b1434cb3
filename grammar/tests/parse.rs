//! Parser tests: every file under test_data/ok parses without errors.

use snn_syntax::{parse, FileId};

#[test]
fn ok_files_parse() {
    insta::glob!("../test_data/ok", "*.snn", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let res = parse(FileId(0), &text);
        assert!(res.errors.is_empty(), "{}: {:?}", path.display(), res.errors);
    });
}
