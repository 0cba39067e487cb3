//! Arrays of `u32` stored as raw little-endian bytes rather than one varint each: the rows
//! and atom lists of the bundled packs are a million numbers, and decoding them one by one
//! was most of the time a bundle took to load. Bytes are copied and converted in bulk.

use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

fn to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn from_bytes<E: serde::de::Error>(bytes: &[u8]) -> Result<Vec<u32>, E> {
    if bytes.len() % 4 != 0 {
        return Err(E::custom(format!("{} bytes is not a whole number of 32-bit words", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// `#[serde(with = "words::boxed")]` for `Box<[u32]>`.
pub(crate) mod boxed {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(words: &[u32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&to_bytes(words))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<[u32]>, D::Error> {
        let bytes: &[u8] = Deserialize::deserialize(d)?;
        from_bytes(bytes).map(Vec::into_boxed_slice)
    }
}

/// A table of shared lists of words.
pub(crate) type Lists = Box<[Arc<[u32]>]>;

/// `#[serde(with = "words::lists")]` for a table of shared lists, stored as one array of
/// lengths and one of all the words.
pub(crate) mod lists {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(lists: &[Arc<[u32]>], s: S) -> Result<S::Ok, S::Error> {
        let lens: Vec<u32> = lists.iter().map(|l| l.len() as u32).collect();
        let words: Vec<u32> = lists.iter().flat_map(|l| l.iter().copied()).collect();
        serde::Serialize::serialize(&(serde_bytes_of(&lens), serde_bytes_of(&words)), s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Lists, D::Error> {
        let (lens, words): (&[u8], &[u8]) = Deserialize::deserialize(d)?;
        let lens = from_bytes::<D::Error>(lens)?;
        let words = from_bytes::<D::Error>(words)?;
        let mut at = 0usize;
        let mut out = Vec::with_capacity(lens.len());
        for len in lens {
            let end = at.checked_add(len as usize).filter(|&e| e <= words.len());
            let end = end.ok_or_else(|| D::Error::custom("atom lists longer than their words"))?;
            out.push(Arc::from(&words[at..end]));
            at = end;
        }
        if at != words.len() {
            return Err(D::Error::custom("words that belong to no atom list"));
        }
        Ok(out.into_boxed_slice())
    }

    /// Bytes serialized as bytes, not as a sequence of numbers.
    struct Bytes(Vec<u8>);

    impl serde::Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    fn serde_bytes_of(words: &[u32]) -> Bytes {
        Bytes(to_bytes(words))
    }
}
