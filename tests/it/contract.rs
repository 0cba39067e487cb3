//! The output contract of docs/CONTRACT.md, through the library.

use fanzha::{Engine, Event, Level, RuleSet};

const PACK: &str = r#"
[pack]
id = "c"
version = "2.1"
levels = { notice = 30, warn = 60, block = 100 }
[sets]
publicity = ["民警提醒", "千万别信"]
[[counter]]
when = { any = ["@publicity"] }
max_level = "notice"
[[rule]]
id = "c.print-first"
title = "print first"
category = "fake_large_order"
points = 70
advice = ["未收到款项前不要出票"]
when = { any = ["先出票"] }
[[rule]]
id = "c.big-amount"
title = "big amount"
category = "fake_large_order"
points = 40
advice = ["未收到款项前不要出票", "核实对方身份"]
when = { any = ["出票"], amount = { ge = 10000 } }
counter = [{ when = { any = ["中奖"] }, cancel = true }]
"#;

fn engine() -> Engine {
    Engine::new(&RuleSet::from_str("c.toml", PACK).unwrap()).unwrap()
}

#[test]
fn verdict_json_has_the_contract_shape() {
    let e = Event::from_json(r#"{"kind":"message","id":"m1","text":"老板先出票"}"#).unwrap();
    let v = engine().scan(&e);
    assert_eq!(
        v.to_json(),
        r#"{"id":"m1","level":"warn","score":70,"hits":[{"rule":"c.print-first","category":"fake_large_order","score":70,"evidence":["先出票"],"spans":[[2,5]]}],"advice":["未收到款项前不要出票"]}"#
    );
}

#[test]
fn points_add_up_hits_are_ordered_and_advice_is_deduplicated() {
    let v = engine().scan_text("先出票，两萬塊");
    assert_eq!(v.score, 110);
    assert_eq!(v.level, Level::Block);
    let rules: Vec<&str> = v.hits.iter().map(|h| &*h.rule).collect();
    assert_eq!(rules, ["c.print-first", "c.big-amount"]);
    let advice: Vec<&str> = v.advice.iter().map(|a| &**a).collect();
    assert_eq!(advice, ["未收到款项前不要出票", "核实对方身份"]);
    // The amount is part of the evidence, as written.
    assert!(v.hits[1].evidence.contains(&"两萬塊".to_string()), "{:?}", v.hits[1]);
}

#[test]
fn publicity_caps_the_level_and_counters_cancel() {
    let v = engine().scan_text("民警提醒：让你先出票的，出两万的票，千万别信");
    assert_eq!(v.level, Level::Notice);
    assert!(v.score < 60);
    let v = engine().scan_text("恭喜中奖，出票两万");
    assert!(v.hits.is_empty());
}

#[test]
fn spans_point_into_the_original_text_through_obfuscation() {
    let text = "老闆，先\u{200b} 出—票🎫吧";
    let v = engine().scan_text(text);
    assert_eq!(v.hits.len(), 1);
    let [s, e] = v.hits[0].spans[0];
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(chars[s..e].iter().collect::<String>(), "先\u{200b} 出—票");
    assert_eq!(v.hits[0].evidence[0], "先\u{200b} 出—票");
}

#[test]
fn transactions_only_meet_transaction_rules() {
    let pack = r#"
[pack]
id = "t"
version = "1"
[[rule]]
id = "t.remote-large"
title = "remote large qr order"
category = "fake_large_order"
kinds = ["transaction"]
points = 60
when = { field = { name = "amount", ge = 5000 }, all_of = [{ field = { name = "remote", eq = true } }, { field = { name = "method", in = ["qr", "transfer"] } }] }
[[rule]]
id = "t.msg"
title = "message rule"
category = "c"
points = 60
when = { any = ["大乐透"] }
"#;
    let engine = Engine::new(&RuleSet::from_str("t.toml", pack).unwrap()).unwrap();
    let t = Event::from_json(
        r#"{"kind":"transaction","id":"t1","amount":20000.0,"method":"qr","remote":true,"memo":"大乐透"}"#,
    )
    .unwrap();
    let v = engine.scan(&t);
    let rules: Vec<&str> = v.hits.iter().map(|h| &*h.rule).collect();
    assert_eq!(rules, ["t.remote-large"]);
    let small =
        Event::from_json(r#"{"kind":"transaction","amount":20.0,"method":"qr","remote":true}"#).unwrap();
    assert!(engine.scan(&small).hits.is_empty());
    let cash =
        Event::from_json(r#"{"kind":"transaction","amount":20000,"method":"cash","remote":true}"#).unwrap();
    assert!(engine.scan(&cash).hits.is_empty());
}

#[test]
fn engine_reports_statistics() {
    let s = engine().stats().clone();
    assert_eq!(s.rules, 2);
    assert_eq!(s.packs, 1);
    assert!(s.literals >= 4);
    assert!(s.automaton_bytes > 0);
}

#[test]
fn the_same_evidence_counts_once_per_category() {
    let pack = r#"
[pack]
id = "d"
version = "1"
[[rule]]
id = "d.mandarin"
title = "print first"
category = "fake_large_order"
points = 70
when = { any = ["先出票"] }
[[rule]]
id = "d.dialect"
title = "print first, dialect twin"
category = "fake_large_order"
points = 60
when = { any = ["先出票", "先出飞"] }
[[rule]]
id = "d.other"
title = "other category, same words"
category = "other"
points = 10
when = { any = ["先出票"] }
"#;
    let engine = Engine::new(&RuleSet::from_str("d.toml", pack).unwrap()).unwrap();
    let v = engine.scan_text("老板先出票");
    let rules: Vec<&str> = v.hits.iter().map(|h| &*h.rule).collect();
    assert_eq!(rules, ["d.mandarin", "d.other"]);
    assert_eq!(v.score, 80);
    let v = engine.scan_text("老板先出票，先出飞");
    assert_eq!(v.score, 140, "different evidence counts separately");
}

#[test]
fn only_the_strongest_rule_of_a_group_counts() {
    let pack = r#"
[pack]
id = "g"
version = "1"
[[rule]]
id = "g.mandarin"
title = "print first"
category = "fake_large_order"
group = "print-first"
points = 70
when = { any = ["先出票"] }
[[rule]]
id = "g.cantonese"
title = "print first, Cantonese"
category = "fake_large_order"
group = "print-first"
points = 75
when = { near = [["出票"], ["先"]], within = 2, ordered = true }
[[rule]]
id = "g.amount"
title = "large order"
category = "fake_large_order"
points = 30
when = { any = ["票"], amount = { ge = 10000 } }
"#;
    let engine = Engine::new(&RuleSet::from_str("g.toml", pack).unwrap()).unwrap();
    let v = engine.scan_text("先出票，出票先，两万");
    let rules: Vec<&str> = v.hits.iter().map(|h| &*h.rule).collect();
    assert_eq!(rules, ["g.cantonese", "g.amount"]);
    assert_eq!(v.score, 105);
    let rules = RuleSet::from_str("g.toml", pack).unwrap();
    assert!(rules.run_examples(&engine).failures.is_empty());
}

#[test]
fn scan_batch_gives_the_sequential_verdicts_in_order() {
    let engine = Engine::bundled().unwrap();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/messages.jsonl")).unwrap();
    let events: Vec<Event> = text.lines().cycle().take(3000).map(|l| Event::from_json(l).unwrap()).collect();
    let mut scanner = engine.scanner();
    let sequential: Vec<_> = events.iter().map(|e| scanner.scan(e)).collect();
    assert_eq!(engine.scan_batch(&events), sequential);
}
