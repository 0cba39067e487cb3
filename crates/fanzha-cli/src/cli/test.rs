//! `fanzha test`: run the examples embedded in rules; with `--evasion`, the evasion suite.

use std::path::PathBuf;

use fanzha::{Engine, RuleSet};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rule files or directories, tested together. Default: the bundled packs.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also run the evasion suite (docs/EVASION.md): every obfuscation applied to every
    /// match example, a table of detection rates per obfuscation, and no new warnings on
    /// no_match examples. Exit 1 when a rate is under its threshold or a warning appears.
    #[arg(long)]
    evasion: bool,
    /// Seeds for the evasion suite (each obfuscation is applied once per seed).
    #[arg(long, value_name = "N", default_value_t = 4, requires = "evasion")]
    seeds: u64,
    /// With --evasion: print up to N match examples per obfuscation that were missed.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "evasion")]
    misses: usize,
}

pub fn run(args: Args) -> i32 {
    let mut b = RuleSet::builder();
    for p in &args.paths {
        b.add_path(p);
    }
    let rules = if args.paths.is_empty() { RuleSet::bundled() } else { b.build() };
    let (rules, engine) = match rules.and_then(|r| Engine::new(&r).map(|e| (r, e))) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let report = rules.run_examples(&engine);
    for f in &report.failures {
        let want = if f.should_match { "should match" } else { "should not match" };
        let hits: Vec<String> = f.verdict.hits.iter().map(|h| format!("{}({})", h.rule, h.score)).collect();
        println!(
            "FAIL {} {}:{}:{}: {want}: {:?} → {} {} [{}]",
            f.rule,
            f.location.file,
            f.location.line,
            f.location.column,
            f.text,
            f.verdict.level,
            f.verdict.score,
            hits.join(", ")
        );
    }
    let thin: Vec<_> = rules.example_counts().into_iter().filter(|(_, m, n)| *m < 3 || *n < 3).collect();
    for (rule, m, n) in &thin {
        println!("WARN {rule}: {m} match and {n} no_match examples (3 of each expected)");
    }
    let failed = report.failures.len();
    println!(
        "{} rules, {} examples: {} passed, {} failed",
        report.rules,
        report.examples,
        report.examples - failed,
        failed
    );
    let mut code = i32::from(failed > 0);
    if args.evasion {
        let seeds: Vec<u64> = (1..=args.seeds.max(1)).collect();
        let evasion = fanzha::evasion::Report::run(&rules, &engine, &seeds);
        for o in &evasion.outcomes {
            for m in o.misses.iter().take(args.misses) {
                println!(
                    "MISS {} {} seed {}: {:?} → {:?}",
                    o.transform, m.rule, m.seed, m.original, m.transformed
                );
            }
        }
        println!();
        println!("{}", evasion.table());
        let shortfalls = evasion.shortfalls();
        for s in &shortfalls {
            println!("FAIL {s}");
        }
        if shortfalls.is_empty() {
            println!("evasion: every transform at or above its threshold, no new warnings");
        } else {
            code = 1;
        }
    }
    code
}
