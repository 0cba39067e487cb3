//! Command-line parsing and the subcommands.

mod check;
mod compile;
mod corpus;
mod explain;
mod scan;
mod streams;
mod test;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use fanzha::{Engine, RuleSet};

/// fanzha (反诈): an anti-fraud early-warning rules engine.
///
/// Exit codes: 0 success; 1 `test` found failing examples, `collect` found lines without a
/// verdict or with two, or `corpus` missed its --min-recall or --max-fpr; 2 bad rules, bad
/// usage, unreadable input, or Redis unreachable or failing.
#[derive(Debug, Parser)]
#[command(name = "fanzha", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read events as JSON Lines, write one verdict per line, in order.
    ///
    /// Each input line gives exactly one output line: a verdict, or {"line":N,"error":"..."}
    /// for a line that cannot be read. Uses the bundled packs unless --rules is given.
    Scan(scan::Args),
    /// Validate rule packs; report every problem as file:line:column. Exit 2 on any.
    Check(check::Args),
    /// Compile rule packs into a bundle that every entry point loads in milliseconds.
    ///
    /// `fanzha compile --rules packs/ -o rules.fzb`, then `--rules rules.fzb` anywhere rules
    /// are read. A bundle is tied to the bundle format of the fanzha that wrote it.
    Compile(compile::Args),
    /// Run the examples embedded in rules; report failures by rule. Exit 1 on any.
    Test(test::Args),
    /// Show how one text is folded, which rules hit, their points and the level.
    Explain(explain::Args),
    /// Measure rule packs on labelled events: recall, false alarms, what each rule adds.
    ///
    /// Reads JSON Lines rows with a "label" (`fraud` is positive unless --positive says
    /// otherwise; a row without "kind" is a message) and reports recall and false-positive
    /// rate at warn and notice, overall and by label, category, source and each --by field;
    /// the score distribution; per rule, hits on positives and negatives, precision, and the
    /// positives it alone lifts to warn. Uses the bundled packs unless --rules is given.
    #[command(after_help = corpus::EXIT_CODES)]
    Corpus(corpus::Args),
    /// Split a stream into partitions on Redis Streams, for `fanzha consume` workers.
    ///
    /// Places every event on the stream's clock and adds it to the input stream of each
    /// partition that holds state of its keys. Exit 2 if the rules' windows and sequences
    /// cannot be partitioned without changing verdicts.
    Route(streams::route::Args),
    /// Score partitions from Redis Streams as one of any number of workers.
    ///
    /// Workers share the partitions through leases and take over a dead worker's; every
    /// verdict is written to the output stream exactly once, the same as `fanzha scan`'s.
    Consume(streams::consume::Args),
    /// Print the verdicts of a routed stream in input order, as `fanzha scan` would.
    ///
    /// Exit 1 if a line has no verdict or more than one.
    Collect(streams::collect::Args),
}

/// Where rules come from: files or directories, a compiled bundle, or the bundled packs.
#[derive(Debug, clap::Args)]
struct RulesArg {
    /// A rule file, a directory of *.toml rule files (repeatable), or one bundle written by
    /// `fanzha compile`. Default: the bundled packs.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
}

/// Whether `path` is a compiled bundle (by its first bytes), not a rule file or directory.
fn is_bundle(path: &std::path::Path) -> bool {
    fanzha::BundleInfo::is_bundle_file(path)
}

impl RulesArg {
    /// The bundle given, if one is: a bundle is a whole rule set and comes alone.
    fn bundle(&self) -> Result<Option<&PathBuf>, i32> {
        let bundles: Vec<&PathBuf> = self.rules.iter().filter(|p| is_bundle(p)).collect();
        match (bundles.as_slice(), self.rules.len()) {
            ([], _) => Ok(None),
            ([b], 1) => Ok(Some(b)),
            _ => {
                eprintln!("error: a bundle is a whole rule set: give it as the only --rules");
                Err(2)
            }
        }
    }

    /// The engine, or exit code 2 with every error printed (`print_rules_error`).
    fn load(&self, limits: fanzha::Limits) -> Result<Engine, i32> {
        if let Some(path) = self.bundle()? {
            return load_bundle(path, &limits);
        }
        if self.rules.is_empty() {
            return Engine::bundled_with_limits(&limits).map_err(|e| {
                eprintln!("error: {e}");
                2
            });
        }
        self.compile(limits).map(|(_, e)| e)
    }

    /// The rule set and its engine, for commands that read the rules themselves (a bundle
    /// holds only the compiled form).
    fn load_rules(&self, limits: fanzha::Limits) -> Result<(RuleSet, Engine), i32> {
        if let Some(path) = self.bundle()? {
            eprintln!(
                "error: {} is a compiled bundle; this command reads the rule files it was compiled from",
                path.display()
            );
            return Err(2);
        }
        self.compile(limits)
    }

    fn compile(&self, limits: fanzha::Limits) -> Result<(RuleSet, Engine), i32> {
        let mut b = RuleSet::builder();
        b.limits(limits);
        if self.rules.is_empty() {
            b.add_bundled();
        }
        for p in &self.rules {
            b.add_path(p);
        }
        b.build().and_then(|rules| Engine::new(&rules).map(|e| (rules, e))).map_err(|e| {
            print_rules_error(&b, &e);
            2
        })
    }
}

/// Loads a bundle file, or exit code 2 with the reason.
fn load_bundle(path: &std::path::Path, limits: &fanzha::Limits) -> Result<Engine, i32> {
    std::fs::read(path)
        .map_err(|e| fanzha::Error::Bundle(e.to_string()))
        .and_then(|bytes| Engine::from_bundle_with_limits(&bytes, limits))
        .map_err(|e| {
            eprintln!("error: {}: {e}", path.display());
            2
        })
}

/// Prints rule errors for a person on stderr: each as its `file:line:column: error[CODE]`
/// line, then the source line with the term underlined (coloured on a terminal).
fn print_rules_error(b: &fanzha::RuleSetBuilder, e: &fanzha::Error) {
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
    if e.diagnostics().is_empty() {
        eprintln!("{e}");
    }
    for d in e.diagnostics() {
        eprintln!("{}", b.render(d, color));
    }
}

pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Check(a) => check::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Test(a) => test::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Corpus(a) => corpus::run(a),
        Command::Route(a) => streams::route::run(a),
        Command::Consume(a) => streams::consume::run(a),
        Command::Collect(a) => streams::collect::run(a),
    }
}
