//! The library's layers import one way: each module of `src/` may use only the modules below
//! it in [`LAYERS`] (docs/INTERNALS.md draws the same picture). A new upward import, or two
//! modules of one layer importing each other, fails here with the file and line.

use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest first. Modules on one line form one layer: they
/// may use the layers before theirs, not each other.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["limits"],
    &["normalize"],
    &["privacy"],
    &["event"],
    &["verdict"],
    &["rules"],
    &["compile"],
    &["score"],
    &["scan"],
    &["live", "partition"],
    &["monitor"],
    &["pipeline"],
    &["selftest"],
    &["evasion"],
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `src/` belongs to: `src/scan/eval.rs` → `scan`.
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.strip_suffix(".rs").unwrap_or(first).to_string())
}

/// Every `crate::<module>` a file's code names (comments are not code), with its line.
fn references(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // `crate::{a, b}` names several modules.
            if name.is_empty() && after.starts_with('{') {
                let group = &after[1..after.find('}').unwrap_or(after.len())];
                for part in group.split(',') {
                    let n: String =
                        part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !n.is_empty() {
                        out.push((i + 1, n));
                    }
                }
            } else if !name.is_empty() {
                out.push((i + 1, name));
            }
            rest = after;
        }
    }
    out
}

/// The imports of `files` (path relative to `src/`, source) that break the layer order.
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, source) in files {
        let Some(own) = module_of(path) else { continue };
        let Some(own_rank) = rank(&own) else {
            out.push(format!("src/{}: module `{own}` is in no layer of tests/it/layers.rs", path.display()));
            continue;
        };
        for (line, used) in references(source) {
            if used == own {
                continue;
            }
            match rank(&used) {
                // Re-exports at the crate root (`crate::Engine`) hide where a thing lives.
                None => out.push(format!(
                    "src/{}:{line}: `crate::{used}` is not a module: import from the module that defines it",
                    path.display()
                )),
                Some(r) if r >= own_rank => out.push(format!(
                    "src/{}:{line}: `{own}` imports `{used}`, which is {} it",
                    path.display(),
                    if r == own_rank { "in the same layer as" } else { "above" }
                )),
                Some(_) => {}
            }
        }
    }
    out
}

fn library_files() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(&src).unwrap().to_path_buf();
                // The crate root re-exports every layer and is not one.
                if relative == Path::new("lib.rs") {
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap();
                files.push((relative, source));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_library_imports_only_downward() {
    let files = library_files();
    assert!(files.len() > 20, "found only {} files under src/", files.len());
    let found = violations(&files);
    assert!(found.is_empty(), "imports against the layer order:\n{}", found.join("\n"));
}

#[test]
fn an_upward_import_a_loop_and_a_root_shortcut_are_each_caught() {
    let file = |path: &str, source: &str| (PathBuf::from(path), source.to_string());
    let files = [
        // compile is below scan: naming the scanner from the compiler goes up.
        file("compile/mod.rs", "use crate::error::Error;\nuse crate::scan::Scanner;\n"),
        // live and partition share a layer, so neither may use the other.
        file("live.rs", "fn f(p: &crate::partition::Partitioning) {}\n"),
        // Reaching a type through the crate root instead of its module.
        file("monitor/mod.rs", "use crate::{compile, Limits};\n// crate::pipeline in a comment is fine\n"),
        // Downward imports are fine.
        file("pipeline.rs", "use crate::monitor::Monitor;\nuse crate::scan::{Engine, Scanner};\n"),
    ];
    let found = violations(&files);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("src/compile/mod.rs:2: `compile` imports `scan`, which is above it"),
        "{}",
        found[0]
    );
    assert!(
        found[1].contains("`live` imports `partition`, which is in the same layer as it"),
        "{}",
        found[1]
    );
    assert!(found[2].contains("`crate::Limits` is not a module"), "{}", found[2]);
}
