//! `fanzha test`: run the examples embedded in rules.

use std::path::PathBuf;

use fanzha::{Engine, RuleSet};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rule files or directories, tested together. Default: the bundled packs.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
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
    if failed > 0 {
        1
    } else {
        0
    }
}
