//! `l4 sim` end to end: the binary against the example scenarios and broken ones.
//!
//! Exit status contract: 0 success, 2 an error (a scenario mistake is printed as
//! `l4: error: file:line:column: key.path: message`, and nothing is run or written).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn l4(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_l4"))
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("l4 runs")
}

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

#[test]
fn every_example_scenario_checks_clean() {
    let mut count = 0;
    for entry in fs::read_dir(scenarios()).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let out = l4(&["sim", "--check", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains(": ok\n"));
        count += 1;
    }
    assert!(count >= 9, "only {count} scenarios");
}

#[test]
fn broken_scenario_exits_2_naming_line_and_key_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    fs::write(
        &file,
        "duration = \"10s\"\n[topology]\nkind = \"dumbbell\"\n[topology.bottleneck]\nrate = \"fast\"\n\n[[flows]]\nfrom = \"left0\"\nto = \"right0\"\nccc = \"cubic\"\n",
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = l4(&[
        "sim",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let shown = file.display().to_string();
    assert!(
        err.contains(&format!(
            "l4: error: {shown}:5:8: topology.bottleneck.rate: expected a rate like \"100Mbit\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "l4: error: {shown}:10:1: flows[0].ccc: unknown key \"ccc\" (did you mean \"cc\"?)"
        )),
        "{err}"
    );
    assert!(
        err.contains("2 mistakes in the scenario; nothing was run"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(out.stdout.is_empty());
    assert!(!out_dir.exists(), "no output folder for a broken scenario");
}

#[test]
fn toml_syntax_error_exits_2_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("syntax.toml");
    fs::write(&file, "seed = 1\n[topology\nkind = \"dumbbell\"\n").unwrap();
    let out = l4(&["sim", "--check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{}:2:", file.display())) && err.contains("TOML syntax"),
        "{err}"
    );
}

#[test]
fn missing_file_and_missing_trace_exit_2() {
    let out = l4(&["sim", "/nonexistent/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/scenario.toml"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    fs::write(
        &file,
        "[topology]\nkind = \"dumbbell\"\n[topology.bottleneck]\ntrace = \"missing.trace\"\n[[flows]]\nfrom = \"left0\"\nto = \"right0\"\n",
    )
    .unwrap();
    let out = l4(&["sim", "--check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(":4:9: topology.bottleneck.trace: cannot read ")
            && err.contains("missing.trace"),
        "{err}"
    );
}

#[test]
fn trace_paths_resolve_against_the_scenario_folder() {
    // Run from another directory: traces/cellular.trace is found beside the file.
    let file = scenarios().join("cellular.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_l4"))
        .args(["sim", "--check", file.to_str().unwrap()])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn seed_and_pcap_flags_apply_to_the_scenario() {
    let file = scenarios().join("dumbbell.toml");
    let out = l4(&[
        "sim",
        "--check",
        "--seed",
        "77",
        "--pcap",
        "left1",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("  seed: 77\n"), "{stdout}");
    assert!(
        stdout.contains("  captures: bottleneck, left1\n"),
        "{stdout}"
    );

    let out = l4(&["sim", "--check", "--pcap", "nope", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--pcap nope:"));
}
