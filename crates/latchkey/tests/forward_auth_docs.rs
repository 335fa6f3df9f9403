//! docs/FORWARD_AUTH.md shows the snippets the proxy tests run, unchanged.

use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_doc_shows_the_tested_snippets_verbatim() {
    let doc = read("docs/FORWARD_AUTH.md");
    for (file, lang) in [
        ("docs/forward-auth/nginx.conf", "nginx"),
        ("docs/forward-auth/Caddyfile", "caddyfile"),
    ] {
        let block = format!("```{lang}\n{}```\n", read(file));
        assert!(
            doc.contains(&block),
            "FORWARD_AUTH.md must show {file} as it is"
        );
    }
}
