//! `fanzha check`: validate rule packs.

use std::path::PathBuf;

use fanzha::{Engine, Partitioning, RuleSet};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rule files or directories to check together.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Print diagnostics as JSON Lines instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> i32 {
    if let [path] = args.paths.as_slice() {
        if super::is_bundle(path) {
            return check_bundle(path);
        }
    }
    let mut b = RuleSet::builder();
    for p in &args.paths {
        b.add_path(p);
    }
    let result = b.build().and_then(|rules| Engine::new(&rules).map(|e| (rules, e)));
    match result {
        Ok((rules, engine)) => {
            let s = engine.stats();
            eprintln!(
                "ok: {} packs, {} rules, {} literal spellings, {} regexes, automaton {} KiB, {} rules evaluated on every event",
                rules.packs().len(),
                s.rules,
                s.literals,
                s.regexes,
                s.automaton_bytes / 1024,
                s.always_evaluated
            );
            // Valid rules may still be impossible to split over partitions; say so here, where
            // the author is, rather than when a cluster refuses them.
            match Partitioning::new(&engine, 1) {
                Ok(p) if p.fields().is_empty() => {
                    eprintln!("partitions: any split (no window or sequence rules)")
                }
                Ok(p) => eprintln!("partitions: by the values of {}", p.fields().join(", ")),
                Err(e) => eprintln!("partitions: cannot be split without changing verdicts ({e})"),
            }
            0
        }
        Err(e) => {
            for d in e.diagnostics() {
                if args.json {
                    println!("{}", serde_json::to_string(d).unwrap_or_default());
                }
            }
            if !args.json || e.diagnostics().is_empty() {
                super::print_rules_error(&b, &e);
            }
            eprintln!("{} error(s)", e.diagnostics().len().max(1));
            2
        }
    }
}

/// A bundle is checked by loading it: every check a reader makes, and what its header says.
fn check_bundle(path: &std::path::Path) -> i32 {
    let loaded = std::fs::read(path).map_err(|e| fanzha::Error::Bundle(e.to_string())).and_then(|bytes| {
        let info = fanzha::BundleInfo::read(&bytes)?;
        Ok((info, Engine::from_bundle(&bytes)?))
    });
    let (info, engine) = match loaded {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    };
    let s = engine.stats();
    eprintln!(
        "ok: bundle format {} written by fanzha {}, {} bytes; rules {}: {} rules, {} literal spellings, {} regexes",
        info.format, info.fanzha_version, info.bytes, info.rules_version, s.rules, s.literals, s.regexes
    );
    0
}
