//! Reading: files and directories into sources, sources into the [`format`](super::format)
//! types, and byte offsets into lines and columns.
//!
//! Nothing here knows what a rule means; a source that does not parse is one located `E001`
//! with the reader's message, and the rest of the loader never sees it.

use std::path::{Path, PathBuf};

use super::codes::Problem;
use super::format::PackFile;
use super::{file_diagnostic, limits, Context};
use crate::error::Diagnostic;

/// The `*.toml` files of a directory in name order, or why there are none.
pub(super) fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => return Err(unreadable(dir, &e.to_string())),
    };
    files.sort();
    if files.is_empty() {
        return Err(unreadable(dir, "no .toml rule files in this directory"));
    }
    Ok(files)
}

/// A file's text, read at most one byte past `limit` so a huge file costs no more than that.
pub(super) fn read_file(path: &Path, limit: usize) -> Result<String, Box<Diagnostic>> {
    let read = std::fs::File::open(path).and_then(|f| {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(f, limit as u64 + 1), &mut bytes)?;
        Ok(bytes)
    });
    match read {
        Ok(bytes) if bytes.len() > limit => Err(Box::new(limits::file_too_large(path, limit))),
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
            Box::new(file_diagnostic(path, Some(at..at + 1), line_col(&text, at), Problem::NotUtf8))
        }),
        Err(e) => Err(unreadable(path, &e.to_string())),
    }
}

fn unreadable(path: &Path, why: &str) -> Box<Diagnostic> {
    Box::new(file_diagnostic(path, None, (1, 1), Problem::Unreadable(why.to_string())))
}

/// Every source that is within its size limit and parses, with its index in `sources`.
pub(super) fn parse_all(sources: &[(String, String)], cx: &mut Context) -> Vec<(usize, PackFile)> {
    let mut parsed = Vec::new();
    for (i, (name, source)) in sources.iter().enumerate() {
        if let Some(d) = limits::source_too_large(name, source, &cx.limits) {
            cx.diags.push(d);
            continue;
        }
        match toml::from_str::<PackFile>(source) {
            Ok(pack) => parsed.push((i, pack)),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let (line, column) = line_col(source, span.start);
                let problem = Problem::Toml(e.message().trim().to_string());
                cx.diags.push(Diagnostic {
                    code: problem.code(),
                    file: name.clone(),
                    line,
                    column,
                    rule: enclosing_rule_id(source, span.start),
                    message: problem.message(),
                    span: Some(span),
                });
            }
        }
    }
    parsed
}

/// The id of the `[[rule]]` table around byte `at`, read from the text: a file that failed to
/// parse has no tree to ask, but its author still wants to know which rule is wrong.
fn enclosing_rule_id(source: &str, at: usize) -> Option<String> {
    let at = (0..=at.min(source.len())).rev().find(|&i| source.is_char_boundary(i))?;
    let start = source[..at].rfind("[[rule]]")?;
    let end = source[start + 8..].find("[[").map_or(source.len(), |e| start + 8 + e);
    source[start..end].lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix("id")?.trim_start().strip_prefix('=')?.trim();
        let quoted = rest.strip_prefix('"')?;
        Some(quoted[..quoted.find('"')?].to_string())
    })
}

/// 1-based line and character column of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}
