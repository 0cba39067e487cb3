//! The compiled engine agrees with a deliberately simple reference evaluator: a loop over
//! rules and terms with `str::contains` on the folded text. The model is shared with the
//! `differential` fuzz target.

use std::collections::BTreeSet;

use fanzha::{Engine, RuleSet};
use proptest::prelude::*;

#[allow(dead_code)]
#[path = "../../fuzz/src/reference.rs"]
mod model;

use model::{pack, reference, Cond, NOISE, WORDS};

fn terms() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..WORDS.len(), 1..4)
}

fn cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        terms().prop_map(Cond::Any),
        terms().prop_map(Cond::All),
        (terms(), terms()).prop_map(|(a, b)| Cond::AnyNone(a, b)),
        (terms(), terms(), 0u32..6, any::<bool>()).prop_map(|(a, b, w, o)| Cond::Near(a, b, w, o)),
        (0..WORDS.len(), 0..WORDS.len()).prop_map(|(a, b)| Cond::Regex(a, b)),
    ]
}

fn message() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(WORDS.to_vec()),
            1 => prop::sample::select(NOISE.to_vec()),
        ],
        0..12,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference(
        conds in prop::collection::vec(cond(), 1..6),
        texts in prop::collection::vec(message(), 1..8),
    ) {
        let engine = Engine::new(&RuleSet::from_str("r.toml", &pack(&conds)).unwrap()).unwrap();
        let mut scanner = engine.scanner();
        for t in &texts {
            let got: BTreeSet<String> = scanner.scan_text(t).hits.iter().map(|h| h.rule.to_string()).collect();
            prop_assert_eq!(&got, &reference(&conds, t), "text {:?}", t);
        }
    }
}
