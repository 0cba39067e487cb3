//! Reading the literal automaton of a bundle.
//!
//! daachorse's `deserialize` checks that no index of the automaton points outside its arrays,
//! so searching it never reads out of bounds; it does not check that the automaton is one,
//! and says so: failure links that go round in a circle make a search loop forever. This
//! module checks the one thing a search depends on to end: from every state, following
//! failure links reaches the root. (Pattern ids and match starts are checked where they are
//! used, by the scanner; see `PatternEdges::len`.)

use super::super::Literals;

type Automaton = daachorse::CharwiseDoubleArrayAhoCorasick<u32>;

/// Bytes of one state in daachorse 5's serialization: base, check, fail and output position,
/// each a little-endian `u32`, after a `u32` count of states.
const STATE_BYTES: usize = 16;
const CHECK_AT: usize = 4;
const FAIL_AT: usize = 8;
const ROOT: u32 = 0;

pub(super) fn read(bytes: &[u8], trusted: bool) -> Result<Literals, String> {
    let (automaton, rest) = Automaton::deserialize(bytes).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the automaton", rest.len()));
    }
    if !trusted {
        failure_links_end(bytes)?;
    }
    Ok(Literals(automaton))
}

/// Whether following failure links from every state a search can be in reaches the root.
///
/// A search moves from a state to a child (a state whose `check` names it) or along a failure
/// link. The live states are those whose chain of parents leads to the root; the others are
/// vacant slots of daachorse's arrays, whose links mean nothing. Transitions from live states
/// lead to live states, so if every failure link of a live state leads to a live state and
/// every failure chain of one ends at the root, a search stays among live states and every
/// step of it ends. Each state is visited a bounded number of times.
fn failure_links_end(bytes: &[u8]) -> Result<(), String> {
    let count = bytes.get(..4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let states = bytes.get(4..4 + count * STATE_BYTES).ok_or("the state table is cut short")?;
    let field = |s: usize, at: usize| {
        let b = &states[s * STATE_BYTES + at..][..4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    };
    let root = ROOT as usize;
    if count == 0 {
        return Err("no states".to_string());
    }
    const UNKNOWN: u8 = 0;
    const OPEN: u8 = 1;
    const LIVE: u8 = 2;
    const VACANT: u8 = 3;
    let mut live = vec![UNKNOWN; count];
    live[root] = LIVE;
    let mut path = Vec::new();
    for first in 0..count {
        let mut s = first;
        while s < count && live[s] == UNKNOWN {
            live[s] = OPEN;
            path.push(s);
            s = field(s, CHECK_AT);
        }
        let found = if s < count && live[s] == LIVE { LIVE } else { VACANT };
        for p in path.drain(..) {
            live[p] = found;
        }
    }
    // `live` now only says LIVE or VACANT; OPEN marks a failure chain being followed.
    let mut settled = vec![false; count];
    settled[root] = true;
    for first in 0..count {
        if live[first] != LIVE {
            continue;
        }
        let mut s = first;
        while !settled[s] {
            if live[s] == OPEN {
                return Err(format!("the failure links from state {first} go round in a circle"));
            }
            live[s] = OPEN;
            path.push(s);
            let fail = field(s, FAIL_AT);
            if fail >= count || live[fail] == VACANT {
                return Err(format!("state {s} fails to state {fail}, which no search can be in"));
            }
            s = fail;
        }
        for p in path.drain(..) {
            live[p] = LIVE;
            settled[p] = true;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn automaton(patterns: &[&str]) -> Vec<u8> {
        Automaton::new(patterns).unwrap().serialize()
    }

    #[test]
    fn a_real_automaton_passes() {
        let bytes = automaton(&["先出票", "出票", "转账", "piao"]);
        assert!(read(&bytes, false).is_ok());
    }

    #[test]
    fn failure_links_in_a_circle_are_refused() {
        let mut bytes = automaton(&["先出票", "出票", "票据"]);
        let count = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        // Two children of the root (so states a search reaches) that fail to each other.
        let check =
            |s: usize| u32::from_le_bytes(bytes[4 + s * STATE_BYTES + CHECK_AT..][..4].try_into().unwrap());
        let children: Vec<usize> = (1..count).filter(|&s| check(s) == ROOT).collect();
        let (a, b) = (children[0], children[1]);
        bytes[4 + a * STATE_BYTES + FAIL_AT..][..4].copy_from_slice(&(b as u32).to_le_bytes());
        bytes[4 + b * STATE_BYTES + FAIL_AT..][..4].copy_from_slice(&(a as u32).to_le_bytes());
        let e = read(&bytes, false).map(|_| ()).unwrap_err();
        assert!(e.contains("circle"), "{e}");
    }

    #[test]
    fn the_layout_read_here_is_daachorses() {
        // If daachorse changes its serialization, this fails before a bundle is misread.
        let bytes = automaton(&["先出票", "出票"]);
        let count = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        let (a, _) = Automaton::deserialize(&bytes).unwrap();
        assert!(count >= a.num_states());
        assert_eq!(bytes[4 + FAIL_AT..][..4], ROOT.to_le_bytes(), "the root fails to itself");
    }
}
