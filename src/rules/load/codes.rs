//! Every problem the loader reports, each with its stable code and its message in one place.
//!
//! The codes are part of the contract (tools match on them, docs/RULES.md lists them), so a
//! cause keeps its code; the variants are finer than the codes so that each message is written
//! once and a new cause is a new variant, not another string at a call site.

/// One cause of a rule-file error, with what its message needs to say.
#[derive(Debug, Clone)]
pub(crate) enum Problem {
    // E001: the TOML reader.
    /// Not TOML, an unknown key or a wrong type; the reader's own message.
    Toml(String),

    // E002: duplicates.
    DuplicatePack(String),
    DuplicateSet(String),
    DuplicateRule(String),

    // E003: names that name nothing.
    UndefinedSet(String),
    StepUndefinedRule(String),
    StepUndefinedCategory(String),

    // E004: regular expressions.
    /// Invalid or too large; the regex crate's explanation.
    Regex(String),
    RegexMatchesEmpty,

    // E005: conditions, windows and sequences that cannot work.
    NothingPositive,
    MissingWhen,
    WindowAndSequence,
    StepNamesSequence(String),
    CounterWithoutEffect,
    EmptyAll,
    NearNeedsTwoGroups,
    WithinWithoutNear,
    EmptyConditionList,
    EmptyCondition,
    EmptyTerms,
    FieldWithoutName,
    AmountWithName,
    /// `amount`, `count` or `sum` compared with something other than a number.
    NotANumber(&'static str),
    /// `amount`, `count` or `sum` with an operator that only fields have.
    NumericOperatorsOnly(&'static str),
    /// `amount`, `count` or `sum` with no operator.
    NoNumericOperator(&'static str),
    FieldWithoutOperator,
    DistinctWithoutName,
    WindowWithoutBound,
    BadStep,
    TooFewSteps,
    NegatedStepAtEnd,
    StreamWithoutEvents,

    // E006: values out of their domain.
    EmptyPackId,
    LevelsDoNotRise,
    BadSetName(String),
    BadRuleId,
    BadCategory,
    BadGroup,
    UnknownKind(String),
    PointsOutOfRange,
    UnknownLevel(String),
    CounterPointsPositive,
    NotFinite,
    BadWithin,
    /// `key` or `new` naming a field that is not a party.
    NotAPartyField(&'static str),
    TooManySteps(usize),
    UnknownExpectation(String),
    NotAnEvent(String),

    // E007: literals and variants.
    VariantKeyFoldsToNothing(String),
    VariantFoldsToNothing(String),
    LiteralFoldsToNothing(String),
    TooManySpellings {
        literal: String,
        limit: usize,
        so_far: usize,
    },

    // E008.
    LevelsDiffer(String),

    // E009: reading.
    Unreadable(String),
    NotUtf8,

    // E010: limits (`fanzha::Limits`).
    FileTooLarge(usize),
    SourceTooLarge(usize),
    TooManyRules(usize),
    TooManyLiterals(usize),
    TooDeep(usize),

    // E011.
    SetRefersToItself(String),
}

/// Fields a window or sequence may key on or track.
const KEY_FIELDS: &str = "sender, conversation, channel, payer, payee, merchant, or any other field";

impl Problem {
    /// The stable code, as docs/RULES.md lists it.
    pub(crate) fn code(&self) -> &'static str {
        use Problem::*;
        match self {
            Toml(_) => "E001",
            DuplicatePack(_) | DuplicateSet(_) | DuplicateRule(_) => "E002",
            UndefinedSet(_) | StepUndefinedRule(_) | StepUndefinedCategory(_) => "E003",
            Regex(_) | RegexMatchesEmpty => "E004",
            NothingPositive
            | MissingWhen
            | WindowAndSequence
            | StepNamesSequence(_)
            | CounterWithoutEffect
            | EmptyAll
            | NearNeedsTwoGroups
            | WithinWithoutNear
            | EmptyConditionList
            | EmptyCondition
            | EmptyTerms
            | FieldWithoutName
            | AmountWithName
            | NotANumber(_)
            | NumericOperatorsOnly(_)
            | NoNumericOperator(_)
            | FieldWithoutOperator
            | DistinctWithoutName
            | WindowWithoutBound
            | BadStep
            | TooFewSteps
            | NegatedStepAtEnd
            | StreamWithoutEvents => "E005",
            EmptyPackId
            | LevelsDoNotRise
            | BadSetName(_)
            | BadRuleId
            | BadCategory
            | BadGroup
            | UnknownKind(_)
            | PointsOutOfRange
            | UnknownLevel(_)
            | CounterPointsPositive
            | NotFinite
            | BadWithin
            | NotAPartyField(_)
            | TooManySteps(_)
            | UnknownExpectation(_)
            | NotAnEvent(_) => "E006",
            VariantKeyFoldsToNothing(_)
            | VariantFoldsToNothing(_)
            | LiteralFoldsToNothing(_)
            | TooManySpellings { .. } => "E007",
            LevelsDiffer(_) => "E008",
            Unreadable(_) | NotUtf8 => "E009",
            FileTooLarge(_) | SourceTooLarge(_) | TooManyRules(_) | TooManyLiterals(_) | TooDeep(_) => "E010",
            SetRefersToItself(_) => "E011",
        }
    }

    /// What is wrong, as the author reads it.
    pub(crate) fn message(&self) -> String {
        use Problem::*;
        match self {
            Toml(m) | Regex(m) => m.clone(),
            DuplicatePack(id) => format!("duplicate pack id `{id}`"),
            DuplicateSet(name) => format!("set `{name}` is defined twice"),
            DuplicateRule(id) => format!("duplicate rule id `{id}`"),
            UndefinedSet(name) => format!("undefined set `@{name}`"),
            StepUndefinedRule(id) => format!("step names an undefined rule `{id}`"),
            StepUndefinedCategory(c) => format!("step names a category no rule has: `{c}`"),
            RegexMatchesEmpty => "this regular expression can match the empty string".into(),
            NothingPositive => {
                "the condition has nothing positive to look for (any, all, near, amount or field)".into()
            }
            MissingWhen => "a rule needs a `when`".into(),
            WindowAndSequence => "a rule has a `window` or a `sequence`, not both".into(),
            StepNamesSequence(id) => format!("step names `{id}`, itself a sequence: sequences do not nest"),
            CounterWithoutEffect => "a counter needs one of cancel, points, cap or max_level".into(),
            EmptyAll => "`all` is empty".into(),
            NearNeedsTwoGroups => "`near` needs at least two groups of terms".into(),
            WithinWithoutNear => "`within` and `ordered` go with `near`".into(),
            EmptyConditionList => "an empty list of conditions".into(),
            EmptyCondition => "an empty condition".into(),
            EmptyTerms => "an empty list of terms".into(),
            FieldWithoutName => "`field` needs a `name`".into(),
            AmountWithName => "`amount` takes no `name`".into(),
            NotANumber(what) => format!("`{what}` compares with numbers"),
            NumericOperatorsOnly(what) => format!("`{what}` takes ge, gt, le, lt or eq"),
            NoNumericOperator(what) => format!("`{what}` needs an operator: ge, gt, le, lt or eq"),
            FieldWithoutOperator => {
                "`field` needs an operator: eq, ne, in, ge, gt, le, lt, contains or exists".into()
            }
            DistinctWithoutName => "`distinct` needs the `name` of the field to count".into(),
            WindowWithoutBound => "a window needs `count`, `sum` or `distinct`".into(),
            BadStep => "a step is \"rule:ID\", \"category:NAME\" (with a leading ! for \"none in between\") \
                        or { rule = ID | category = NAME, key, not }"
                .into(),
            TooFewSteps => {
                "a sequence needs at least two steps that are not negated (a `when` counts as the last)"
                    .into()
            }
            NegatedStepAtEnd => "a negated step stands between two steps, not first or last".into(),
            StreamWithoutEvents => "a stream example needs events".into(),
            EmptyPackId => "pack id is empty".into(),
            LevelsDoNotRise => "levels must rise: notice < warn < block".into(),
            BadSetName(name) => format!("set name `{name}` must be letters, digits, `_` or `-`"),
            BadRuleId => "rule id must be letters, digits, `.`, `_` or `-`".into(),
            BadCategory => "category must be snake_case".into(),
            BadGroup => "group must be letters, digits, `.`, `_` or `-`".into(),
            UnknownKind(k) => format!("unknown event kind `{k}` (message, transaction)"),
            PointsOutOfRange => "points must be between 0 (a marker for sequence steps) and 1000".into(),
            UnknownLevel(l) => format!("unknown level `{l}` (none, notice, warn, block)"),
            CounterPointsPositive => "counter points must be negative".into(),
            NotFinite => "bounds must be finite numbers".into(),
            BadWithin => {
                "`within` must be a duration from 1s to 31d, such as \"90s\", \"30m\", \"2h\" or \"1d\""
                    .into()
            }
            NotAPartyField(what) => format!("`{what}` names the field that identifies a party: {KEY_FIELDS}"),
            TooManySteps(n) => format!("a sequence has at most {n} steps"),
            UnknownExpectation(e) => format!("unknown expectation `{e}` (match, no_match)"),
            NotAnEvent(why) => format!("not an event: {why}"),
            VariantKeyFoldsToNothing(k) => format!("variant key `{k}` folds to nothing"),
            VariantFoldsToNothing(v) => format!("variant `{v}` folds to nothing"),
            LiteralFoldsToNothing(l) => format!("literal `{l}` folds to nothing"),
            TooManySpellings { literal, limit, so_far } => {
                format!("literal `{literal}` expands to more than {limit} spellings through variants ({so_far} so far)")
            }
            LevelsDiffer(pack) => format!("levels differ from those of pack `{pack}`"),
            Unreadable(why) => format!("cannot read: {why}"),
            NotUtf8 => "the file is not valid UTF-8".into(),
            FileTooLarge(limit) => format!("the file is larger than the limit of {limit} bytes"),
            SourceTooLarge(limit) => format!("the source is larger than the limit of {limit} bytes"),
            TooManyRules(limit) => format!("more than {limit} rules in one pack"),
            TooManyLiterals(limit) => {
                format!("the rule set has more than the limit of {limit} distinct literal spellings")
            }
            TooDeep(limit) => format!("conditions nest deeper than the limit of {limit}"),
            SetRefersToItself(name) => format!("set `{name}` refers to itself"),
        }
    }
}
