//! The names of everything a run keeps in Redis, in one place.
//!
//! Every key starts with the run's prefix (`--prefix`, default `fanzha`), so several runs can
//! share one server and `fanzha route --reset` can find a run's keys with one pattern:
//!
//! | key | type | what |
//! |---|---|---|
//! | `{prefix}:meta` | hash | `partitions`, `rules` (the rule-set version), `fields` (JSON array), and `lines` once routing is over |
//! | `{prefix}:in:{p}` | stream | partition `p`'s input, read by the consumer group `fanzha` |
//! | `{prefix}:lease:{p}` | string | the name of the worker that owns partition `p`, with an expiry |
//! | `{prefix}:workers` | sorted set | worker names scored by their last heartbeat (server time, ms) |
//! | `{prefix}:done` | hash | input line number → 1, for every line whose verdict was written |
//! | `{prefix}:wait` | hash | the state of lines not written yet: verdict, event id, lines waited for and waiting (see `scripts.rs`) |
//! | `{prefix}:partials` | hash | `n:p` → partition `p`'s stateful partial of line `n`, routed to several partitions, until written |
//! | `{prefix}:out` | stream | the verdicts: fields `n`, `id` (the event's id or empty), `verdict` |

/// The consumer group on every input stream.
pub(super) const GROUP: &str = "fanzha";

/// The keys of one run.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Keys {
        Keys { prefix: prefix.to_string() }
    }

    pub(super) fn meta(&self) -> String {
        format!("{}:meta", self.prefix)
    }

    pub(super) fn input(&self, p: u32) -> String {
        format!("{}:in:{p}", self.prefix)
    }

    pub(super) fn lease(&self, p: u32) -> String {
        format!("{}:lease:{p}", self.prefix)
    }

    pub(super) fn workers(&self) -> String {
        format!("{}:workers", self.prefix)
    }

    pub(super) fn done(&self) -> String {
        format!("{}:done", self.prefix)
    }

    pub(super) fn wait(&self) -> String {
        format!("{}:wait", self.prefix)
    }

    pub(super) fn partials(&self) -> String {
        format!("{}:partials", self.prefix)
    }

    /// The keys of the write scripts, for partition `p`.
    pub(super) fn write_keys(&self, p: u32) -> [String; 5] {
        [self.done(), self.out(), self.input(p), self.wait(), self.partials()]
    }

    pub(super) fn out(&self) -> String {
        format!("{}:out", self.prefix)
    }

    /// A SCAN pattern matching every key of the run and no other run's (glob characters in
    /// the prefix are escaped).
    pub(super) fn pattern(&self) -> String {
        let mut s = String::with_capacity(self.prefix.len() + 2);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                s.push('\\');
            }
            s.push(c);
        }
        s.push_str(":*");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_escapes_glob_characters() {
        assert_eq!(Keys::new("fanzha").pattern(), "fanzha:*");
        assert_eq!(Keys::new("a*b[1]").pattern(), "a\\*b\\[1\\]:*");
    }
}
