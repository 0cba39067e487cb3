//! `fanzha explain`: show the working behind one verdict.

use super::RulesArg;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    rules: RulesArg,
    /// The text to explain.
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
    /// The text to explain (same as --text).
    #[arg(value_name = "TEXT", conflicts_with = "text")]
    positional: Option<String>,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> i32 {
    let Some(text) = args.text.or(args.positional) else {
        eprintln!("error: give the text to explain, e.g. fanzha explain --text \"老板先出票\"");
        return 2;
    };
    let engine = match args.rules.load(fanzha::Limits::default()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let x = engine.scanner().explain(&text);
    if args.json {
        println!("{}", serde_json::to_string(&x).unwrap_or_default());
        return 0;
    }
    println!("text:    {text}");
    println!("folded:  {}", x.folded);
    for (yuan, [s, e]) in &x.amounts {
        println!("amount:  {yuan} yuan at [{s}, {e})");
    }
    for h in &x.verdict.hits {
        println!(
            "hit:     {} ({}) +{} evidence {:?} spans {:?}",
            h.rule, h.category, h.score, h.evidence, h.spans
        );
    }
    println!("score:   {}", x.verdict.score);
    println!("level:   {}", x.verdict.level);
    for a in &x.verdict.advice {
        println!("advice:  {a}");
    }
    0
}
