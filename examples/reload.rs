//! Swaps rule sets while scanning: a broken set is rejected and the running one kept.
//!
//! `cargo run --example reload`

use std::error::Error;

use fanzha::{Engine, LiveEngine, RuleSet};

const V1: &str = r#"
[pack]
id = "shop"
version = "1"
[[rule]]
id = "shop.print-first"
title = "Print before paying"
category = "fake_large_order"
points = 70
when = { any = ["先出票"] }
"#;

fn main() -> Result<(), Box<dyn Error>> {
    let live = LiveEngine::new(Engine::new(&RuleSet::from_str("v1.toml", V1)?)?);
    let mut scanner = live.scanner();
    let text = "老板先出票，钱等下转你";

    let (verdict, version) = scanner.scan_text(text);
    println!("{version}: {} {}", verdict.level, verdict.score);

    let broken = V1.replace("version = \"1\"", "version = \"2\"").replace("points = 70", "points = \"many\"");
    match RuleSet::from_str("v2.toml", &broken).and_then(|r| live.reload(&r)) {
        Ok(()) => println!("v2 loaded"),
        Err(e) => println!("v2 rejected, still running {}:\n{e}", live.engine().version()),
    }

    let fixed = V1.replace("version = \"1\"", "version = \"3\"").replace("points = 70", "points = 110");
    live.reload(&RuleSet::from_str("v3.toml", &fixed)?)?;
    let (verdict, version) = scanner.scan_text(text);
    println!("{version}: {} {}", verdict.level, verdict.score);
    Ok(())
}
