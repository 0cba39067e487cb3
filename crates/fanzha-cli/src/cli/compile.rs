//! `fanzha compile`: rule packs to a bundle.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::RulesArg;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// The bundle to write (replaced whole: a process watching it never reads half a file).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

pub fn run(args: Args) -> i32 {
    if args.rules.bundle().ok().flatten().is_some() {
        eprintln!("error: --rules is already a bundle; compile the rule files it came from");
        return 2;
    }
    // Compiled from the TOML even for the bundled packs, so this also regenerates
    // rules/bundled.fzb after a pack is edited.
    let (rules, engine) = match args.rules.compile(fanzha::Limits::default()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let bundle = engine.to_bundle();
    if let Err(e) = write_whole(&args.output, &bundle) {
        eprintln!("error: cannot write {}: {e}", args.output.display());
        return 2;
    }
    let s = engine.stats();
    eprintln!(
        "wrote {}: {} bytes, rules {}, {} packs, {} rules, {} literal spellings, {} regexes",
        args.output.display(),
        bundle.len(),
        engine.version(),
        rules.packs().len(),
        s.rules,
        s.literals,
        s.regexes
    );
    0
}

/// Writes `bytes` beside `path` and renames the file into place.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
