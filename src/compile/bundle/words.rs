//! Arrays of `u32` (the rows, pattern edges and atom lists of a rule program): a million
//! numbers for the bundled packs, so a bundle stores them apart from the program, as raw
//! little-endian words in one 4-byte-aligned section.
//!
//! A bundle read from a file gets its words copied, in bulk. The bundle compiled into the
//! binary is aligned in memory, so its words are used where they lie: loading it allocates
//! and copies none of them, and the pages of rows the scanner never reads are never touched
//! (most of the time `Engine::bundled()` took was page faults of fresh heap for copies).

use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A shared array of words: built by the compiler or copied from a bundle, or borrowed from
/// the bundle compiled into the binary. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Words {
    Shared(Arc<[u32]>),
    Static(&'static [u32]),
}

impl Deref for Words {
    type Target = [u32];

    #[inline]
    fn deref(&self) -> &[u32] {
        match self {
            Words::Shared(w) => w,
            Words::Static(w) => w,
        }
    }
}

impl Default for Words {
    fn default() -> Words {
        Words::Static(&[])
    }
}

impl std::fmt::Debug for Words {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Words {
    fn eq(&self, other: &Words) -> bool {
        **self == **other
    }
}

impl Eq for Words {}

impl Hash for Words {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl From<Vec<u32>> for Words {
    fn from(v: Vec<u32>) -> Words {
        Words::Shared(v.into())
    }
}

/// The words section of arrays, in order: their count, each one's length, then their words.
pub(crate) fn section(arrays: &[&[u32]]) -> Vec<u8> {
    let total: usize = arrays.iter().map(|a| a.len()).sum();
    let mut out = Vec::with_capacity(4 * (1 + arrays.len() + total));
    out.extend_from_slice(&(arrays.len() as u32).to_le_bytes());
    for a in arrays {
        out.extend_from_slice(&(a.len() as u32).to_le_bytes());
    }
    for a in arrays {
        for w in a.iter() {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    out
}

/// Where the words of a section come from.
pub(crate) enum Source<'a> {
    /// A bundle from outside: the words are copied.
    Copy(&'a [u8]),
    /// The bundle compiled into the binary: the words are borrowed where they can be (a
    /// 4-byte-aligned section on a little-endian machine), copied otherwise.
    Static(&'static [u8]),
}

/// The arrays of a words section, in the order they were written; `Err` says what is wrong.
pub(crate) fn read_section(source: Source<'_>) -> Result<Vec<Words>, String> {
    let bytes = match source {
        Source::Copy(b) => b,
        Source::Static(b) => b,
    };
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.len() % 4 != 0 {
        return Err(format!("{} bytes is not a whole number of 32-bit words", bytes.len()));
    }
    let words = bytes.len() / 4;
    let count = word(0).ok_or_else(|| "it is empty".to_string())? as usize;
    if count > words - 1 {
        return Err(format!("{count} arrays, but only {} words", words - 1));
    }
    let mut at = 1 + count;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let len = word(1 + i).unwrap_or(0) as usize;
        let end = at.checked_add(len).filter(|&e| e <= words).ok_or_else(|| {
            format!("array {i} of {len} words runs past the end of the section ({words} words)")
        })?;
        let raw = &bytes[at * 4..end * 4];
        out.push(match source {
            Source::Static(all) => borrow(&all[at * 4..end * 4]).unwrap_or_else(|| copy(raw)),
            Source::Copy(_) => copy(raw),
        });
        at = end;
    }
    if at != words {
        return Err(format!("{} words after the last array", words - at));
    }
    Ok(out)
}

fn copy(raw: &[u8]) -> Words {
    Words::Shared(raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// The words of `raw` in place, if the machine reads them as written (little-endian) and
/// they are aligned.
fn borrow(raw: &'static [u8]) -> Option<Words> {
    if cfg!(target_endian = "big") {
        return None;
    }
    bytemuck::try_cast_slice::<u8, u32>(raw).ok().map(Words::Static)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_reads_back_copied_and_borrowed() {
        let arrays: [&[u32]; 3] = [&[1, 2, 3], &[], &[u32::MAX, 0]];
        let bytes = section(&arrays);
        // Leaked to stand for the binary's own bytes; a Vec<u8> from a u32 vector is aligned.
        let aligned: &'static [u8] = {
            let words: &'static [u32] =
                Vec::leak(bytes.chunks_exact(4).map(|c| u32::from_ne_bytes(c.try_into().unwrap())).collect());
            bytemuck::cast_slice(words)
        };
        for read in [read_section(Source::Copy(&bytes)), read_section(Source::Static(aligned))] {
            let read = read.unwrap();
            assert_eq!(read.iter().map(|w| w.to_vec()).collect::<Vec<_>>(), arrays.map(<[u32]>::to_vec));
        }
        let borrowed = read_section(Source::Static(aligned)).unwrap();
        assert!(cfg!(target_endian = "big") || matches!(borrowed[0], Words::Static(_)));
        // Misaligned static bytes are copied, not refused.
        let misaligned: &'static [u8] = Vec::leak([&[0u8][..], &bytes].concat());
        let misaligned = &misaligned[1..];
        let read = read_section(Source::Static(misaligned)).unwrap();
        assert_eq!(read[2].to_vec(), vec![u32::MAX, 0]);
    }

    #[test]
    fn damaged_sections_are_errors() {
        let bytes = section(&[&[1, 2, 3], &[4]]);
        assert!(read_section(Source::Copy(&bytes[..bytes.len() - 1])).unwrap_err().contains("whole number"));
        assert!(read_section(Source::Copy(&bytes[..bytes.len() - 4])).unwrap_err().contains("past the end"));
        let mut extra = bytes.clone();
        extra.extend_from_slice(&[0; 4]);
        assert!(read_section(Source::Copy(&extra)).unwrap_err().contains("after the last array"));
        let mut many = bytes.clone();
        many[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_section(Source::Copy(&many)).unwrap_err().contains("arrays, but only"));
        assert!(read_section(Source::Copy(&[])).unwrap_err().contains("empty"));
    }
}
