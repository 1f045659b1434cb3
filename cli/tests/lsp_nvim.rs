//! End to end with a real editor: headless Neovim (its built-in LSP client, 0.7) drives
//! `snnc lsp` through `lsp_nvim.lua` on a copy of examples/integrator.snn; the results it
//! writes are checked here. Skipped, saying so, when `nvim` is not installed
//! (`apt-get install neovim`; `.ci/run` installs it).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether `nvim` runs here (else the test says it is skipped).
fn have_nvim() -> bool {
    let ok = Command::new("nvim").arg("--version").stdout(Stdio::null()).status().is_ok();
    if !ok {
        eprintln!(
            "SKIPPED: `nvim` is not installed (apt-get install neovim); no end-to-end LSP test"
        );
    }
    ok
}

/// Runs headless Neovim on `script` (a Lua file driving `snnc lsp`) with `$SNN_FILE` a copy
/// of `model` in a fresh directory; returns the JSON the script wrote to `$SNN_OUT`.
fn neovim(name: &str, model: &Path, script: &str) -> (Value, String) {
    let dir = std::env::temp_dir().join(format!("snnc-nvim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(model.file_name().expect("a file name"));
    std::fs::copy(model, &file).expect("copy the model");
    let script_path = dir.join("script.lua");
    std::fs::write(&script_path, script).expect("script");
    let out = dir.join("out.json");
    let mut child = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script_path.display()))
        .env("SNNC", env!("CARGO_BIN_EXE_snnc"))
        .env("SNN_FILE", &file)
        .env("SNN_OUT", &out)
        .env("XDG_STATE_HOME", &dir)
        .env("XDG_CACHE_HOME", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("nvim starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for nvim").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("nvim did not finish in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&out).expect("nvim wrote its results");
    let r: Value = serde_json::from_str(&text).expect("JSON results");
    let _ = std::fs::remove_dir_all(&dir);
    (r, text)
}

#[test]
fn neovim_drives_the_language_server() {
    if !have_nvim() {
        return;
    }
    let model = repo().join("examples/integrator.snn");
    let (r, text) = neovim("main", &model, include_str!("lsp_nvim.lua"));
    assert_eq!(r["ok"], true, "the script failed: {}", r["err"]);
    assert_eq!(r["started"], true);
    assert_eq!(r["got_diagnostics"], true, "no diagnostics: {text}");
    assert_eq!(r["initial_diagnostics"].as_array().map(Vec::len), Some(0), "{text}");

    let hover = r["hover"]["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(hover.contains("network integrator(n: int = 100"), "hover: {hover}");
    assert!(hover.contains("Nengo's networks.Integrator"), "hover has the doc comment: {hover}");

    let def = &r["definition"]["result"];
    let def = if def.is_array() { &def[0] } else { def };
    assert!(def["uri"].as_str().unwrap_or("").ends_with("/integrator.snn"), "definition: {def}");
    assert!(def["uri"].as_str().unwrap_or("").contains("snnc-std-"), "into the stdlib: {def}");
    assert_eq!(def["range"]["start"]["line"], 2, "`node input` of std.integrator: {def}");

    let items = &r["completion"]["result"];
    let items = items.get("items").unwrap_or(items);
    let labels: Vec<&str> =
        items.as_array().into_iter().flatten().filter_map(|i| i["label"].as_str()).collect();
    assert_eq!(labels, ["input", "ens", "output"], "members of the instance");

    let refs = r["references"]["result"].as_array().map(Vec::len);
    assert_eq!(refs, Some(2), "`step`, declared and used once: {}", r["references"]);

    let symbols: Vec<&str> = r["symbols"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(symbols, ["step", "integ", "value"]);

    assert_eq!(r["got_error"], true, "no diagnostic for the misspelt member: {text}");
    let d = &r["error_diagnostics"][0];
    assert_eq!(d["code"], "E0107", "{d}");
    assert!(d["message"].as_str().unwrap_or("").contains("did you mean `output`?"), "{d}");
    let title = r["code_actions"]["result"][0]["title"].as_str().unwrap_or("");
    assert_eq!(title, "Replace `outptu` with `output`");
    assert_eq!(r["fixed"], true, "the quick fix cleared the diagnostic: {text}");

    assert_eq!(r["got_two"], true, "a size and a unit diagnostic: {}", r["two_diagnostics"]);
    let titles: Vec<&str> =
        r["fix_titles"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(
        titles,
        [
            "Add `transform` with a 2×1 matrix (ones on the diagonal)",
            "Change the unit to `ms`: `2ms`"
        ]
    );
    assert_eq!(r["all_fixed"], true, "the fixes cleared the diagnostics: {text}");

    let buffer: Vec<&str> =
        r["buffer"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(
        buffer[buffer.len().saturating_sub(4)..],
        [
            "probe extra = integ.output synapse 5ms",
            "node wide: [2]",
            "connect step -> wide transform [[1], [0]]",
            "probe w = wide sample_every 2ms"
        ],
        "{buffer:?}"
    );
}

/// With `init_options = { target = "loihi" }` the server adds what does not map onto Loihi
/// (a sigmoid population, an alpha synapse), located, to a file the compiler accepts.
#[test]
fn neovim_gets_target_diagnostics() {
    if !have_nvim() {
        return;
    }
    let model = repo().join("tests/loihi/diagnostics/unsupported.snn");
    let (r, text) = neovim("target", &model, include_str!("lsp_nvim_target.lua"));
    assert_eq!(r["ok"], true, "the script failed: {}", r["err"]);
    assert_eq!(r["plain"].as_array().map(Vec::len), Some(0), "no target, no errors: {text}");
    let loihi = r["loihi"].as_array().expect("diagnostics with the loihi target");
    let found: Vec<(&str, u64)> = loihi
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap_or(""), d["range"]["start"]["line"].as_u64().unwrap_or(0))
        })
        .collect();
    assert!(found.contains(&("E0901", 2)), "the sigmoid layer (line 3): {text}");
    assert!(found.contains(&("E0902", 4)), "the alpha synapse (line 5): {text}");
}
