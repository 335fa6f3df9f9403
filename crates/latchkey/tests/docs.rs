#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Docs that cannot rot: every name the maps in `ARCHITECTURE.md` and
//! `docs/SECURITY.md` give in backticks must exist in the tree. A renamed
//! module, a deleted function or a test that no longer exists fails here.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir` (skipping build output and dependencies).
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == ".git" || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            out.push(path.clone());
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

struct Tree {
    /// Paths relative to the root, with `/` separators; directories end in `/`.
    paths: Vec<String>,
    /// The text of every Rust source file, concatenated.
    rust: String,
    /// The text of every browser test.
    e2e: String,
    /// The packages in `Cargo.lock`, as Rust names (`tower_http`).
    packages: BTreeSet<String>,
}

fn tree() -> Tree {
    let root = root();
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut paths = Vec::new();
    let (mut rust, mut e2e) = (String::new(), String::new());
    for p in &all {
        let rel = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if p.is_dir() {
            paths.push(format!("{rel}/"));
            continue;
        }
        match p.extension().and_then(|e| e.to_str()) {
            Some("rs") => rust.push_str(&fs::read_to_string(p).unwrap_or_default()),
            Some("mjs") => e2e.push_str(&fs::read_to_string(p).unwrap_or_default()),
            _ => {}
        }
        paths.push(rel);
    }
    let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap();
    let packages = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|n| n.trim_end_matches('"').replace('-', "_"))
        .collect();
    Tree {
        paths,
        rust,
        e2e,
        packages,
    }
}

/// The spans between backticks, outside fenced code blocks.
fn backticked(doc: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 && !part.is_empty() {
                out.insert(part.to_owned());
            }
        }
    }
    out
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A file or folder path such as `routes/cookie.rs`, `sqlite/` or
/// `crates/latchkey` (not a media type such as `text/html`).
fn is_path(tree: &Tree, s: &str) -> bool {
    const EXTENSIONS: [&str; 7] = [".rs", ".md", ".sql", ".toml", ".mjs", ".sh", ".py"];
    let segments_ok = s.split('/').all(|seg| {
        seg.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    });
    let top = s.split('/').next().unwrap_or_default();
    segments_ok
        && !s.starts_with('/')
        && (EXTENSIONS.iter().any(|e| s.ends_with(e))
            || s.ends_with('/')
            || (s.contains('/') && tree.paths.iter().any(|p| p == &format!("{top}/"))))
}

fn path_exists(tree: &Tree, s: &str) -> bool {
    let s = s.trim_start_matches("./");
    let dir = format!("{}/", s.trim_end_matches('/'));
    tree.paths.iter().any(|p| {
        p == s || p == &dir || p.ends_with(&format!("/{s}")) || p.ends_with(&format!("/{dir}"))
    })
}

fn defined(tree: &Tree, name: &str) -> bool {
    defined_in(&tree.rust, name) || enum_variant(&tree.rust, name)
}

/// `name` is declared as an item in `text`.
fn defined_in(text: &str, name: &str) -> bool {
    const ITEMS: [&str; 9] = [
        "fn ",
        "struct ",
        "enum ",
        "trait ",
        "type ",
        "const ",
        "mod ",
        "static ",
        "macro_rules! ",
    ];
    ITEMS.iter().any(|kind| {
        let needle = format!("{kind}{name}");
        text.match_indices(&needle).any(|(i, _)| {
            let after = text[i + needle.len()..].chars().next();
            !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

/// `Name` as an enum variant or a field-less item: `Name,` `Name(` `Name {`
/// at the start of a line.
fn enum_variant(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start();
        l.strip_prefix(name).is_some_and(|rest| {
            rest.starts_with(',') || rest.starts_with('(') || rest.starts_with(" {")
        })
    })
}

/// `a::b::c`: the last segment is defined and every lower-case segment
/// before it is a crate or a module.
fn rust_path_exists(tree: &Tree, s: &str) -> bool {
    let segs: Vec<&str> = s.split("::").collect();
    let (last, mods) = segs.split_last().unwrap();
    let first = segs[0];
    if !first.starts_with("latchkey") && tree.packages.contains(first) {
        return true; // another crate's item, such as `axum::serve`
    }
    let workspace_crate = |m: &str| m.starts_with("latchkey") && tree.packages.contains(m);
    let in_module = match mods.last() {
        Some(m) if !m.starts_with(char::is_uppercase) && !workspace_crate(m) => {
            module_text(tree, m).is_some_and(|text| defined_in(&text, last))
        }
        _ => true,
    };
    in_module
        && mods.iter().all(|m| {
            workspace_crate(m) || {
                m.starts_with(char::is_uppercase)
                    || path_exists(tree, &format!("{}/", m.replace('_', "-")))
                    || path_exists(tree, &format!("{m}.rs"))
                    || path_exists(tree, &format!("{m}/"))
                    || defined(tree, m)
            }
        })
        && defined(tree, last)
}

/// The source of module `m`: `m.rs`, or every file under a `m/` folder.
fn module_text(tree: &Tree, m: &str) -> Option<String> {
    let root = root();
    let file = format!("/{m}.rs");
    let dir = format!("/{m}/");
    let texts: Vec<String> = tree
        .paths
        .iter()
        .filter(|p| p.ends_with(&file) || (p.contains(&dir) && p.ends_with(".rs")))
        .filter_map(|p| fs::read_to_string(root.join(p)).ok())
        .collect();
    (!texts.is_empty()).then(|| texts.concat())
}

/// Words of HTTP and the standard library that docs put in backticks.
const NOT_RUST: [&str; 14] = [
    "Authorization",
    "Origin",
    "HttpOnly",
    "Forwarded",
    "Debug",
    "Copy",
    "Clone",
    "Secure",
    "Strict",
    "Lax",
    "Domain",
    "Upgrade",
    "Host",
    "Referer",
];

fn missing_names(doc: &str, tree: &Tree) -> Vec<String> {
    let mut missing = Vec::new();
    for span in backticked(doc) {
        let name = span.trim_end_matches("()").trim_end_matches('!');
        let ok = if NOT_RUST.contains(&name) {
            true
        } else if is_path(tree, name) {
            path_exists(tree, name)
        } else if name.contains("::") && name.split("::").all(is_ident) {
            rust_path_exists(tree, name)
        } else if is_ident(name)
            && name.starts_with(char::is_uppercase)
            && name.len() > 3
            && name.chars().any(|c| c.is_ascii_lowercase())
        {
            defined(tree, name)
        } else if is_ident(name)
            && name.matches('_').count() >= 3
            && !name.chars().any(|c| c.is_ascii_uppercase())
        {
            // A test (or function) named in a "pinned by" column.
            defined(tree, name)
        } else {
            true
        };
        if !ok {
            missing.push(span);
        }
    }
    missing
}

fn check(doc_path: &str) {
    let tree = tree();
    let doc = fs::read_to_string(root().join(doc_path)).unwrap();
    let missing = missing_names(&doc, &tree);
    assert!(
        missing.is_empty(),
        "{doc_path} names what does not exist: {missing:?}"
    );
}

#[test]
fn architecture_md_names_only_what_exists() {
    check("ARCHITECTURE.md");
}

#[test]
fn security_md_names_only_tests_that_exist() {
    check("docs/SECURITY.md");
}

#[test]
fn security_md_browser_tests_exist() {
    let tree = tree();
    let doc = fs::read_to_string(root().join("docs/SECURITY.md")).unwrap();
    for line in doc.lines().filter(|l| l.contains("browser test `")) {
        let name = line
            .split("browser test `")
            .nth(1)
            .unwrap()
            .split('`')
            .next()
            .unwrap();
        assert!(tree.e2e.contains(name), "no browser test named {name:?}");
    }
}

#[test]
fn the_check_notices_a_name_that_does_not_exist() {
    let tree = tree();
    let doc = "`throttle::decide` and `no/such/file.rs` and \
               `a_test_that_was_never_written` and `NoSuchType`";
    assert_eq!(missing_names(doc, &tree).len(), 4);
    let doc = "`latchkey_core::refresh::decide` and `latchkey_example_api::spawn` and `routes/cookie.rs` and `StoreError`";
    assert_eq!(missing_names(doc, &tree), Vec::<String>::new());
}
