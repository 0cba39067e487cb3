//! Rule errors as an author sees them: each located by a span in the source, shown with its
//! line and the offending term underlined, one error for one cause. (`fanzha check` and its
//! `--json` are tested with the command, in crates/fanzha-cli/tests/it/diagnostics.rs.)

use fanzha::{Diagnostic, Limits, RuleSet};

const HEAD: &str = "[pack]\nid = \"t\"\nversion = \"1\"\n";

/// A rule `t.r` with `body` after its points.
fn rule(body: &str) -> String {
    format!("{HEAD}[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\n{body}\n")
}

fn diagnostics(source: &str) -> Vec<Diagnostic> {
    match RuleSet::from_str("t.toml", source) {
        Ok(_) => panic!("expected an error in\n{source}"),
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// The text a diagnostic's span covers.
fn spanned<'a>(source: &'a str, d: &Diagnostic) -> &'a str {
    &source[d.span.clone().unwrap_or_else(|| panic!("no span: {d}"))]
}

#[test]
fn rendering_shows_the_line_and_underlines_the_term() {
    let source = rule("when = { any = [\"先出票\", \"@missing\"] }");
    let d = diagnostics(&source);
    assert_eq!(d.len(), 1, "{d:?}");
    let shown = d[0].render(&source, false);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "t.toml:9:24: error[E003] rule `t.r`: undefined set `@missing`", "{shown}");
    assert_eq!(lines[2], "9 | when = { any = [\"先出票\", \"@missing\"] }", "{shown}");
    // The carets stand under `"@missing"` and nothing else: the three Han characters before
    // it take two columns each on a terminal.
    let code = lines[2].find("when").unwrap();
    let under = lines[3];
    let carets = under.find('^').unwrap();
    let before: usize = lines[2][code..].split("\"@missing\"").next().unwrap().chars().map(width).sum();
    assert_eq!(carets - code, before, "\n{shown}");
    assert_eq!(under[carets..].trim_end(), "^".repeat("\"@missing\"".len()), "\n{shown}");
    // Plain text unless asked for colour.
    assert!(!shown.contains('\x1b'), "{shown:?}");
    assert!(d[0].render(&source, true).contains('\x1b'));
}

/// Display columns of a character: two for Han, one otherwise (enough for these tests).
fn width(c: char) -> usize {
    if ('\u{4e00}'..='\u{9fff}').contains(&c) {
        2
    } else {
        1
    }
}

#[test]
fn a_diagnostic_without_a_span_renders_as_its_line() {
    let d = Diagnostic {
        code: "E010",
        file: String::new(),
        line: 0,
        column: 0,
        rule: None,
        message: "the compiled rules take too much".into(),
        span: None,
    };
    assert_eq!(d.render("", false), "error[E010]: the compiled rules take too much");
}

#[test]
fn spans_cover_the_offending_text() {
    let cases: &[(&str, &str, &str)] = &[
        ("when = { any = [\"@nope\"] }", "E003", "\"@nope\""),
        ("when = { any = [\"/(/\"] }", "E004", "\"/(/\""),
        ("when = { any = [\"…\"] }", "E007", "\"…\""),
        ("when = { any = [\"a\"] }\nkinds = [\"mail\"]", "E006", "\"mail\""),
        ("when = { any = [\"a\"] }\nwhne = 1", "E001", "whne"),
        ("when = { amount = { ge = 1, contains = \"x\" } }", "E005", "{ ge = 1, contains = \"x\" }"),
        (
            "when = { any = [\"a\"] }\nwindow = { key = \"payee\", within = \"40d\", count = { ge = 2 } }",
            "E006",
            "\"40d\"",
        ),
        (
            "sequence = { key = \"payee\", within = \"1h\", steps = [\"rule:t.r0\", \"rule:t.nope\"] }",
            "E003",
            "\"rule:t.nope\"",
        ),
    ];
    for (body, code, text) in cases {
        let source = format!(
            "{HEAD}[[rule]]\nid = \"t.r0\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 0\nwhen = {{ any = [\"z\"] }}\n{}",
            rule(body).strip_prefix(HEAD).unwrap()
        );
        let d = diagnostics(&source);
        assert_eq!(d[0].code, *code, "{body}: {d:?}");
        assert_eq!(spanned(&source, &d[0]), *text, "{body}: {}", d[0]);
        // Line and column are where the span starts.
        let start = d[0].span.clone().unwrap().start;
        let line = source[..start].matches('\n').count() + 1;
        let column = source[..start].rsplit('\n').next().unwrap().chars().count() + 1;
        assert_eq!((d[0].line, d[0].column), (line, column), "{body}");
    }
}

#[test]
fn duplicate_ids_point_at_the_second_one() {
    let one =
        "[[rule]]\nid = \"t.r\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = { any = [\"a\"] }\n";
    let source = format!("{HEAD}{one}{one}");
    let d = diagnostics(&source);
    assert_eq!((d[0].code, d[0].line), ("E002", 11));
    assert_eq!(d[0].span.clone().unwrap().start, source.rfind("\"t.r\"").unwrap());
}

/// A pack of `n` rules, each with literals of its own.
fn big_pack(n: usize) -> String {
    let mut s = format!("{HEAD}pinyin = false\n");
    for i in 0..n {
        s.push_str(&format!(
            "[[rule]]\nid = \"t.r{i}\"\ntitle = \"x\"\ncategory = \"c\"\npoints = 10\nwhen = {{ any = [\"w{i}x\", \"v{i}y\"] }}\n"
        ));
    }
    s
}

#[test]
fn a_limit_reached_is_reported_once() {
    let source = big_pack(20_000);
    let limits = Limits { literals: 1_000, ..Limits::default() };
    let mut b = RuleSet::builder();
    b.limits(limits).add_source("big.toml", &source);
    let e = b.build().expect_err("over the literal limit");
    let d = e.diagnostics();
    assert_eq!(d.len(), 1, "one cause, one error; the first three: {:?}", &d[..d.len().min(3)]);
    assert_eq!(d[0].code, "E010");
    // At the term that crosses the limit: the 1,001st literal, in rule 500.
    assert_eq!(d[0].rule.as_deref(), Some("t.r500"), "{}", d[0]);
    assert_eq!(spanned(&source, &d[0]), "\"w500x\"");
}

#[test]
fn a_step_naming_a_rule_with_errors_is_not_another_error() {
    let source = format!(
        "{HEAD}[[rule]]\nid = \"t.a\"\ntitle = \"a\"\ncategory = \"c\"\npoints = 0\nwhen = {{ any = [\"@nope\"] }}\n\
         [[rule]]\nid = \"t.s\"\ntitle = \"s\"\ncategory = \"c\"\npoints = 10\n\
         sequence = {{ key = \"payee\", within = \"1h\", steps = [\"rule:t.a\", \"rule:t.a\"] }}\n"
    );
    let d = diagnostics(&source);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].code, d[0].rule.as_deref()), ("E003", Some("t.a")));
}
