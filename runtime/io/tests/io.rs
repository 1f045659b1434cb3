//! Array I/O: files written by NumPy and by the `safetensors` package (fixtures/io_*), round
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! trips through our writers, atomic writes, and errors (never panics) on bad files.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use ndarray::{ArrayD, IxDyn};
use snn_io::*;

/// The folder holding the fixtures written by `tools/gen_runtime_fixtures.py`.
fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

fn expected() -> IndexMap<String, ArrayD<f64>> {
    read_npz(&fixture_dir().join("io_expected.npz")).unwrap()
}

fn assert_same(what: &str, got: &ArrayD<f64>, want: &ArrayD<f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(got, want, "{what}: values");
}

#[test]
fn numpy_npz_of_every_dtype_reads_as_f64() {
    let want = expected();
    for file in ["io_dtypes.npz", "io_compressed.npz"] {
        let got = read_npz(&fixture_dir().join(file)).unwrap();
        let names: Vec<&str> = got.keys().map(String::as_str).collect();
        assert_eq!(names[0], "f64", "{file}: file order kept");
        assert_eq!(got.len(), 13, "{file}: {names:?}");
        for (name, array) in &got {
            assert_same(&format!("{file}:{name}"), array, &want[name]);
        }
    }
    // Layout details NumPy allows: Fortran order, big-endian, 0-d, names with '/' and ':'.
    let got = read_npz(&fixture_dir().join("io_dtypes.npz")).unwrap();
    assert_eq!(got["fortran"][[2, 1]], 5.0);
    assert_eq!(got["big_endian"].as_slice().unwrap(), &[0.0, 1.0, 2.0, 3.0]);
    assert_eq!(got["scalar"].ndim(), 0);
    assert_eq!(got["i64"][[2]], 2f64.powi(40));
    assert_eq!(got["dense/kernel:0"].shape(), &[3, 2, 2]);
}

#[test]
fn numpy_npy_reads_as_f64() {
    let got = read_npy(&fixture_dir().join("io_single.npy")).unwrap();
    assert_same("io_single.npy", &got, &expected()["f32"]);
}

#[test]
fn safetensors_of_every_dtype_reads_as_f64() {
    let want = expected();
    let got = read_safetensors(&fixture_dir().join("io_tensors.safetensors")).unwrap();
    assert_eq!(got.len(), 12);
    for (name, array) in &got {
        assert_same(&format!("safetensors:{name}"), array, &want[name]);
    }
    let bf16 = read_safetensors(&fixture_dir().join("io_bf16.safetensors")).unwrap();
    assert_same("bf16", &bf16["w"], &want["bf16"]);
}

#[test]
fn half_floats_read_exactly() {
    let got = read_npz(&fixture_dir().join("io_f16.npz")).unwrap();
    assert_eq!(got["half"].iter().copied().collect::<Vec<f64>>(), vec![1.0; 3]);
}

#[test]
fn unsupported_dtype_is_an_error_naming_file_and_array() {
    let err = read_npz(&fixture_dir().join("io_c8.npz")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IoError::UnknownDtype { .. }), "{msg}");
    assert!(msg.contains("io_c8.npz") && msg.contains("`cplx`") && msg.contains("<c8"), "{msg}");
}

#[test]
fn weights_file_opens_by_extension() {
    let npz = WeightsFile::open(fixture_dir().join("io_dtypes.npz")).unwrap();
    assert_eq!(npz.format(), WeightsFormat::Npz);
    assert_eq!(npz.shape("i32"), Some(&[2usize, 2][..]));
    assert!(npz.contains("dense/kernel:0"));
    assert_eq!(npz.get("u8").unwrap().as_slice().unwrap(), &[0.0, 1.0, 2.0, 3.0, 4.0]);

    let st = WeightsFile::open(fixture_dir().join("io_tensors.safetensors")).unwrap();
    assert_eq!(st.format(), WeightsFormat::Safetensors);
    assert_eq!(st.shape("dense/kernel:0"), Some(&[3usize, 2, 2][..]));
    let mut names = st.names();
    names.sort_unstable();
    let mut want: Vec<&str> =
        npz.names().into_iter().filter(|n| *n != "scalar" && *n != "big_endian").collect();
    want.push("f16");
    want.sort_unstable();
    assert_eq!(names, want);

    let npy = WeightsFile::open(fixture_dir().join("io_single.npy")).unwrap();
    assert_eq!(npy.names(), ["io_single"]);

    let err = npz.get("dense/bias").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IoError::MissingArray { .. }));
    assert!(
        msg.contains("io_dtypes.npz") && msg.contains("`dense/bias`") && msg.contains("`f64`"),
        "{msg}"
    );
}

/// A scratch directory removed at the end of the test.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn write_npz_round_trips_in_f64_and_f32() {
    let dir = scratch();
    let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![0.1, -2.5, 3.0, 1e-300, f64::MAX, -0.0])
        .unwrap();
    let b = ArrayD::from_shape_vec(IxDyn(&[2, 1, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let path = dir.path().join("probes.npz");
    write_npz(&path, &[("a", a.view()), ("b/c", b.view())], Precision::F64).unwrap();
    let back = read_npz(&path).unwrap();
    assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "b/c"]);
    assert_eq!(back["a"], a);
    assert_eq!(back["b/c"], b);

    let path32 = dir.path().join("probes32.npz");
    write_npz(&path32, &[("a", a.view())], Precision::F32).unwrap();
    let back = read_npz(&path32).unwrap();
    let rounded = a.mapv(|x| f64::from(x as f32));
    assert_eq!(back["a"], rounded);
    assert_eq!(files_in(dir.path()), [path, path32], "no temporary files left behind");
}

#[test]
fn write_npy_and_safetensors_round_trip() {
    let dir = scratch();
    let a = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.5, -2.0, 1e10]).unwrap();
    let npy = dir.path().join("x.npy");
    write_npy(&npy, a.view(), Precision::F64).unwrap();
    assert_eq!(read_npy(&npy).unwrap(), a);
    let st = dir.path().join("w.safetensors");
    let m = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    write_safetensors(&st, &[("m", m.view()), ("a", a.view())], Precision::F32).unwrap();
    let back = read_safetensors(&st).unwrap();
    assert_eq!(back["m"], m);
    assert_eq!(back["a"], a.mapv(|x| f64::from(x as f32)));
}

#[test]
fn failed_writes_leave_no_file_and_keep_the_old_one() {
    let dir = scratch();
    let a = ArrayD::<f64>::zeros(IxDyn(&[2]));
    let path = dir.path().join("out.npz");
    write_npz(&path, &[("old", a.view())], Precision::F64).unwrap();
    let before = std::fs::read(&path).unwrap();

    let err = write_npz(&path, &[("x", a.view()), ("x", a.view())], Precision::F64).unwrap_err();
    assert!(matches!(err, IoError::BadName { .. }), "{err}");
    let err = write_npz(&path, &[("", a.view())], Precision::F64).unwrap_err();
    assert!(matches!(err, IoError::BadName { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "old file untouched");

    let missing_dir = dir.path().join("no/such/dir/out.npz");
    let err = write_npz(&missing_dir, &[("x", a.view())], Precision::F64).unwrap_err();
    assert!(
        matches!(err, IoError::Write { .. }) && err.to_string().contains("no/such/dir"),
        "{err}"
    );
    assert_eq!(files_in(dir.path()), [path]);
}

#[test]
fn bad_files_are_errors_not_panics() {
    let dir = scratch();
    let missing = dir.path().join("missing.npz");
    let err = read_npz(&missing).unwrap_err();
    assert!(
        matches!(err, IoError::Read { .. }) && err.to_string().contains("missing.npz"),
        "{err}"
    );
    assert!(matches!(WeightsFile::open(&missing), Err(IoError::Read { .. })));
    assert!(matches!(
        WeightsFile::open(dir.path().join("w.h5")),
        Err(IoError::UnknownExtension { .. })
    ));

    // Garbage and truncations of every real fixture.
    let garbage = b"this is not an array file at all".to_vec();
    for (name, format) in [
        ("io_dtypes.npz", WeightsFormat::Npz),
        ("io_compressed.npz", WeightsFormat::Npz),
        ("io_tensors.safetensors", WeightsFormat::Safetensors),
        ("io_single.npy", WeightsFormat::Npy),
    ] {
        let bytes = std::fs::read(fixture_dir().join(name)).unwrap();
        let path = Path::new(name);
        assert!(WeightsFile::from_bytes(path, format, &bytes).is_ok());
        let err = WeightsFile::from_bytes(path, format, &garbage).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
        for cut in [0, 1, 8, 20, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
            let result = WeightsFile::from_bytes(path, format, &bytes[..cut]);
            assert!(result.is_err(), "{name} cut at {cut} bytes was accepted");
        }
        // Flipped bytes must never panic (they may or may not be detected).
        for pos in (0..bytes.len()).step_by(7) {
            let mut bad = bytes.clone();
            bad[pos] ^= 0x5a;
            let _ = WeightsFile::from_bytes(path, format, &bad);
        }
    }
}

/// A `.npy` image with a hand-written header followed by `data`.
fn npy_image(header: &str, data: &[u8]) -> Vec<u8> {
    let mut text = header.to_string();
    while !(10 + text.len() + 1).is_multiple_of(64) {
        text.push(' ');
    }
    text.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn corrupt_headers_are_errors_before_any_allocation() {
    let path = Path::new("evil.npy");
    let ok = npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", &[0u8; 16]);
    assert_eq!(read_npy_bytes(path, &ok).unwrap().as_slice().unwrap(), &[0.0, 0.0]);
    // A shape of 2^40 elements with 16 bytes of data must not try to allocate 8 TiB.
    let huge = npy_image(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
        &[0u8; 16],
    );
    let err = read_npy_bytes(path, &huge).unwrap_err();
    assert!(err.to_string().contains("only 16 bytes of data follow"), "{err}");
    let overflow = npy_image(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }",
        &[],
    );
    assert!(read_npy_bytes(path, &overflow).is_err());
    let structured =
        npy_image("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", &[0u8; 8]);
    assert!(matches!(read_npy_bytes(path, &structured), Err(IoError::UnknownDtype { .. })));
    let complex =
        npy_image("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", &[0u8; 16]);
    let err = read_npy_bytes(path, &complex).unwrap_err();
    assert!(
        matches!(err, IoError::UnknownDtype { .. }) && err.to_string().contains("<c16"),
        "{err}"
    );
    let not_dict = npy_image("[1, 2]", &[]);
    assert!(matches!(read_npy_bytes(path, &not_dict), Err(IoError::BadArray { .. })));
    let extra = npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", &[0u8; 16]);
    assert!(read_npy_bytes(path, &extra).is_err(), "trailing bytes accepted");
}

/// Found by the `arrays` fuzz target: a 295-byte header of nested `{` made the Python-literal
/// parser backtrack for minutes; it is now refused at once.
#[test]
fn deeply_nested_header_is_refused_quickly() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz_nested_header.npy");
    let bytes = std::fs::read(&path).expect("fixture");
    let start = std::time::Instant::now();
    for format in [snn_io::WeightsFormat::Npy, snn_io::WeightsFormat::Npz] {
        assert!(snn_io::WeightsFile::from_bytes(&path, format, &bytes).is_err());
    }
    let e = snn_io::read_npy(&path).expect_err("refused").to_string();
    assert!(e.contains("nested"), "{e}");
    assert!(start.elapsed().as_secs() < 5);
}

/// An `.npz` where an `.npy` goes, the other way round, empty and truncated files: each says
/// what it is; a write into a missing directory says so and names no temporary file.
#[test]
fn mixed_up_formats_say_what_they_are() {
    let dir = scratch();
    let a = ArrayD::<f64>::zeros(IxDyn(&[2]));
    let npz = dir.path().join("a.npz");
    let npy = dir.path().join("a.npy");
    write_npz(&npz, &[("a", a.view())], Precision::F64).unwrap();
    snn_io::write_npy(&npy, a.view(), Precision::F64).unwrap();
    let err = snn_io::read_npy(&npz).unwrap_err().to_string();
    assert!(err.contains("it is an .npz (zip) archive"), "{err}");
    let err = read_npz(&npy).unwrap_err().to_string();
    assert!(err.contains("it is a single .npy array"), "{err}");
    let bytes = std::fs::read(&npz).unwrap();
    let cut = dir.path().join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let err = read_npz(&cut).unwrap_err().to_string();
    assert!(err.contains("truncated or damaged"), "{err}");
    let empty = dir.path().join("empty.npz");
    std::fs::write(&empty, b"").unwrap();
    assert!(read_npz(&empty).unwrap_err().to_string().contains("the file is empty"));
    assert!(snn_io::read_npy(&empty).unwrap_err().to_string().contains("the file is empty"));
    let err = write_npz(&dir.path().join("no/dir/o.npz"), &[("a", a.view())], Precision::F64)
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not exist") && !err.contains(".snn-tmp"), "{err}");
}

/// Every reader is bounded: a device (or a link to one) and a directory are refused before
/// being opened, naming the path as given; a FIFO is read (as the shell's `<(...)` is one).
#[cfg(unix)]
#[test]
fn devices_are_refused_and_pipes_are_read() {
    let dir = scratch();
    let link = dir.path().join("z.npz");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (PathBuf::from("/dev/zero"), "not a regular file (a character device)"),
        (link.clone(), "not a regular file (a character device)"),
        (dir.path().to_path_buf(), "not a regular file (a directory)"),
    ];
    for (path, why) in &cases {
        let shown = path.display().to_string();
        for err in [
            snn_io::read_npy(path).unwrap_err().to_string(),
            read_npz(path).unwrap_err().to_string(),
            read_safetensors(path).unwrap_err().to_string(),
            read_file(path).unwrap_err().to_string(),
        ] {
            assert!(err.starts_with(&shown) && err.contains(why), "{err}");
        }
    }
    let err = WeightsFile::open(&link).unwrap_err().to_string();
    assert!(err.contains("z.npz: cannot read file: not a regular file"), "{err}");

    let fifo = dir.path().join("p.npy");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let a = ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, 2.0, 3.0]).unwrap();
    let file = dir.path().join("a.npy");
    snn_io::write_npy(&file, a.view(), Precision::F64).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes).unwrap())
    };
    assert_eq!(snn_io::read_npy(&fifo).unwrap(), a);
    writer.join().unwrap();
}

/// A zip bomb: an `.npz` entry is inflated no further than its `.npy` header declares, and a
/// header that declares more than the archive holds is an error before any data is read.
#[test]
fn npz_entries_inflate_no_further_than_their_header() {
    use std::io::Write;
    let header = |shape: &str| {
        npy_image(&format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"), &[])
    };
    let zip_of = |entry: &[u8], zeros: usize| {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("y.npy", opts).unwrap();
        zip.write_all(entry).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..zeros / chunk.len() {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    };
    let path = Path::new("bomb.npz");
    // 2 values declared, 64 MiB of zeros stored (deflated to a few KiB)
    let bomb = zip_of(&header("(2,)"), 64 << 20);
    assert!(bomb.len() < 1 << 20);
    let err = read_npz_bytes(path, &bomb).unwrap_err();
    assert!(matches!(err, IoError::BadArray { ref name, .. } if name == "y"), "{err}");
    assert!(err.to_string().contains("holds more than the 16 bytes its header declares"), "{err}");
    // 2^37 values declared (1 TiB), 16 bytes stored
    let mut liar = header("(137438953472,)");
    liar.extend([0u8; 16]);
    let err = read_npz_bytes(path, &zip_of(&liar, 0)).unwrap_err().to_string();
    assert!(
        err.contains(
            "array `y`: header declares 137438953472 elements (1099511627776 bytes) \
             but the archive holds only 16 bytes"
        ),
        "{err}"
    );
    // the same archives, honest, read
    let mut ok = header("(2,)");
    ok.extend([0u8; 16]);
    assert_eq!(read_npz_bytes(path, &zip_of(&ok, 0)).unwrap()["y"].len(), 2);
}
