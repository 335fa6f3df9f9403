//! A JSON object reader that notices duplicate member names.
//!
//! `serde_json::Map` keeps the last of two equal names, so
//! `{"alg":"EdDSA","alg":"none"}` would mean different things to different
//! parsers. RFC 7515 §4 lets a JWS parser either reject such input or use a
//! lexically-last rule; we reject. Only the top level is checked: nested
//! values (like an `aud` array) are never compared by name.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// Why bytes are not an acceptable JSON object.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ObjectError {
    /// Not JSON, not UTF-8, not an object, or trailing data.
    Malformed,
    /// A member name occurs more than once.
    Duplicate,
}

/// The members of one JSON object, by name.
pub(crate) struct Object(pub(crate) BTreeMap<String, Value>);

/// Parses `bytes` as exactly one JSON object without repeated names.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Object, ObjectError> {
    let Members { map, duplicate } =
        serde_json::from_slice(bytes).map_err(|_| ObjectError::Malformed)?;
    if duplicate {
        Err(ObjectError::Duplicate)
    } else {
        Ok(Object(map))
    }
}

struct Members {
    map: BTreeMap<String, Value>,
    duplicate: bool,
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MembersVisitor)
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members, A::Error> {
        let mut map = BTreeMap::new();
        let mut duplicate = false;
        while let Some((name, value)) = access.next_entry::<String, Value>()? {
            duplicate |= map.insert(name, value).is_some();
        }
        Ok(Members { map, duplicate })
    }
}

impl Object {
    /// Removes and returns a member.
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// Whether a member with this name is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Whether any members are left.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_are_detected_at_the_top_level() {
        assert_eq!(
            parse_object(br#"{"a":1,"a":2}"#).err(),
            Some(ObjectError::Duplicate)
        );
        assert!(parse_object(br#"{"a":{"b":1},"c":[1,1]}"#).is_ok());
    }

    #[test]
    fn only_a_single_object_is_accepted() {
        for bad in [
            &b"[]"[..],
            b"1",
            b"\"s\"",
            b"null",
            b"{} {}",
            b"{",
            b"",
            b"{\"a\":\xff}",
        ] {
            assert_eq!(
                parse_object(bad).err(),
                Some(ObjectError::Malformed),
                "{bad:?}"
            );
        }
    }
}
