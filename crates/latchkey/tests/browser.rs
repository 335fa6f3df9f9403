#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The end-to-end tests in a real browser (`e2e/`, Debian's Chromium driven
//! by playwright-core under Node's test runner), run against this build's
//! `latchkey` binary.
//!
//! Opt-in: they need Node 20+, npm (once, for `npm ci`) and
//! `/usr/bin/chromium`. Without `LATCHKEY_TEST_CHROMIUM` this test says so
//! and passes; with it, a missing browser or Node is a failure.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

const VAR: &str = "LATCHKEY_TEST_CHROMIUM";

#[test]
fn browser_end_to_end() {
    if std::env::var_os(VAR).is_none_or(|v| v.is_empty()) {
        // Straight to stderr, past the test harness's capture, so the skip
        // is visible in a normal `cargo test` run.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: set {VAR}=1 to run the browser tests"
        );
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root");
    let e2e = root.join("e2e");

    if !e2e.join("node_modules").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&e2e)
            .current_dir(&root)
            .status()
            .expect("run npm (is Node 20+ with npm installed?)");
        assert!(status.success(), "npm ci --prefix e2e failed: {status}");
    }

    // Output is inherited: it streams to the terminal as the tests run.
    let status = Command::new("node")
        .args(["--test", "e2e/"])
        .current_dir(&root)
        .env("LATCHKEY_BIN", env!("CARGO_BIN_EXE_latchkey"))
        .status()
        .expect("run node (is Node 20+ installed?)");
    assert!(status.success(), "the browser tests failed: {status}");
}
