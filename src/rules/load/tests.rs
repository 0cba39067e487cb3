//! The loader's own unit tests: located mistakes in windows, sequences and conditions, and
//! the spellings literals get.

use super::parse::line_col;
use super::streams::parse_duration;
use crate::error::Diagnostic;
use crate::rules::{Atom, Cond, RuleSet};

fn err(src: &str) -> Vec<Diagnostic> {
    match RuleSet::from_str("t.toml", src) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.diagnostics().to_vec(),
    }
}

const HEAD: &str = "[pack]\nid = \"t\"\nversion = \"1\"\n";

fn rule(when: &str) -> String {
    format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {when}\n")
}

/// A pack with one plain rule `t.a` and a stateful rule written by `extra` (after `when`).
fn stateful(extra: &str) -> String {
    format!(
        "{HEAD}[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 0\nwhen = {{ any = [\"a\"] }}\n\
         [[rule]]\nid = \"t.s\"\ntitle = \"s\"\ncategory = \"c\"\npoints = 10\n{extra}\n"
    )
}

#[test]
fn window_and_sequence_mistakes_are_located() {
    let cases = [
        ("when = { any = [\"b\"] }\nwindow = { key = \"merchant\", within = \"30m\" }", "E005", "count"),
        ("when = { any = [\"b\"] }\nwindow = { key = \"merchant\", within = \"soon\", count = { ge = 2 } }", "E006", "within"),
        ("when = { any = [\"b\"] }\nwindow = { key = \"merchant\", within = \"40d\", count = { ge = 2 } }", "E006", "31d"),
        ("when = { any = [\"b\"] }\nwindow = { key = \"text\", within = \"1h\", count = { ge = 2 } }", "E006", "party"),
        ("when = { any = [\"b\"] }\nwindow = { key = \"payee\", within = \"1h\", distinct = { ge = 2 } }", "E005", "name"),
        ("when = { any = [\"b\"] }\nwindow = { key = \"payee\", within = \"1h\", count = { ne = 2 } }", "E005", "count"),
        ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.nope\"] }", "E003", "t.nope"),
        ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"category:nope\"] }", "E003", "nope"),
        ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\"] }", "E005", "two steps"),
        ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"!rule:t.a\", \"rule:t.a\", \"rule:t.a\"] }", "E005", "negated"),
        ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"t.a\"] }", "E005", "a step is"),
        ("sequence = { key = \"conversation\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.s\"] }", "E005", "nest"),
        ("window = { key = \"payee\", within = \"1h\", count = { ge = 2 } }", "E005", "needs a `when`"),
        ("when = { any = [\"b\"] }\nwindow = { key = \"payee\", within = \"1h\", count = { ge = 2 } }\nsequence = { key = \"payer\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.a\"] }", "E005", "not both"),
        ("when = { any = [\"b\"] }\n[[rule.stream]]\nexpect = \"maybe\"\nevents = [{ kind = \"message\", text = \"x\" }]", "E006", "maybe"),
        ("when = { any = [\"b\"] }\n[[rule.stream]]\nexpect = \"match\"\nevents = [{ kind = \"transaction\", amount = -1 }]", "E006", "amount"),
    ];
    for (extra, code, says) in cases {
        let src = stateful(extra);
        let d = err(&src);
        assert_eq!(d[0].code, code, "{extra}: {d:?}");
        assert!(d[0].message.contains(says), "{extra}: {}", d[0].message);
        assert_eq!(d[0].rule.as_deref(), Some("t.s"), "{extra}");
        assert!(d[0].line >= 9, "{extra}: located at line {}", d[0].line);
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("90s"), Some(90_000));
    assert_eq!(parse_duration("1h30m"), Some(5_400_000));
    assert_eq!(parse_duration("2d"), Some(172_800_000));
    for bad in ["", "5", "m", "1x", "1h30", "-5m", "99999999999999999999d"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
}

#[test]
fn unknown_key_is_located() {
    let d = err(&format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any = [\"a\"] }}\nwhne = 1\n"));
    assert_eq!(d[0].code, "E001");
    assert_eq!((d[0].line, d[0].column), (10, 1));
    assert_eq!(d[0].rule.as_deref(), Some("t.r"));
    assert!(d[0].message.contains("whne"), "{}", d[0].message);
}

#[test]
fn undefined_set_names_rule_and_place() {
    let d = err(&rule("{ any = [\"@nope\"] }"));
    assert_eq!(d[0].code, "E003");
    assert_eq!(d[0].rule.as_deref(), Some("t.r"));
    assert_eq!(d[0].line, 9);
    assert_eq!(d[0].column, 17);
}

#[test]
fn duplicate_rule_ids() {
    let one =
        "[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"a\"] }\n";
    let d = err(&format!("{HEAD}{one}{one}"));
    assert_eq!(d[0].code, "E002");
    assert_eq!(d[0].line, 11);
}

#[test]
fn empty_matching_regex_is_rejected() {
    assert_eq!(err(&rule("{ any = [\"/a*/\"] }"))[0].code, "E004");
    assert_eq!(err(&rule("{ any = [\"/(/\"] }"))[0].code, "E004");
}

#[test]
fn non_finite_bounds_are_rejected() {
    assert_eq!(err(&rule("{ amount = { ge = nan } }"))[0].code, "E006");
    assert_eq!(err(&rule("{ field = { name = \"amount\", lt = inf } }"))[0].code, "E006");
}

#[test]
fn only_negative_condition_is_rejected() {
    assert_eq!(err(&rule("{ none = [\"a\"] }"))[0].code, "E005");
}

/// The literal spellings of the first rule's `any`.
fn literals(rs: &RuleSet) -> Vec<&str> {
    let Some(Cond::Any(atoms)) = &rs.rules[0].when else { panic!("not an `any`") };
    atoms
        .iter()
        .filter_map(|a| match a {
            Atom::Literal(s) => Some(s.as_str()),
            Atom::Regex(_) => None,
        })
        .collect()
}

#[test]
fn variants_expand_inside_literals() {
    let src = "[pack]\nid = \"t\"\nversion = \"1\"\npinyin = false\n[variants]\n\"微信\" = [\"vx\", \"薇信\"]\n[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"加微信\"] }\n";
    let rs = RuleSet::from_str("t.toml", src).unwrap();
    let lits = literals(&rs);
    assert_eq!(lits, vec!["加vx", "加微信", "加薇信"]);
}

#[test]
fn pinyin_spellings_are_generated() {
    let rs = RuleSet::from_str("t.toml", &rule("{ any = [\"先出票\", \"码\"] }")).unwrap();
    let lits = literals(&rs);
    assert_eq!(
        lits,
        vec![
            "xian chu piao",
            "xianchupiao",
            "xianchu票",
            "xian出票",
            "先chupiao",
            "先chu票",
            "先出piao",
            "先出票",
            "码"
        ]
    );
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\n先出票x", 3 + 9), (2, 4));
}
