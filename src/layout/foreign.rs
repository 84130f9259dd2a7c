//! Reading layouts other tools wrote (DESIGN §2, "Foreign bundles"): OCI 1.1 referrers are
//! attached to their subject by the manifest's own `subject`, or by a fallback-tag index
//! `sha256-<hex>`, just as ferry's `io.ferry.subject` attaches them; and `ref.name` may hold a
//! bare tag (`v1`, as skopeo and regctl write it) instead of a full reference.

use std::collections::BTreeMap;

use super::ANNOT_REF_NAME;
use crate::digest::{Algorithm, Digest};
use crate::manifest::RawManifest;

/// The tag of an `index.json` entry's name: the tag of a full reference
/// (`docker.io/library/alpine:3.19`), or a bare `ref.name` (`3.19`, `sha256-<hex>`).
pub fn entry_tag(name: &str) -> Option<&str> {
    let name = name.split('@').next().unwrap_or_default();
    let last = name.rsplit('/').next().unwrap_or_default();
    match last.split_once(':') {
        Some((_, t)) => Some(t),
        None if !name.contains('/') && is_tag(last) => Some(last),
        None => None,
    }
}

/// A valid tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (distribution spec).
fn is_tag(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The `ref.name` annotation when it is a bare tag.
pub fn bare_tag(annotations: &BTreeMap<String, String>) -> Option<&str> {
    annotations
        .get(ANNOT_REF_NAME)
        .map(String::as_str)
        .filter(|n| !n.contains('/') && !n.contains(':'))
}

/// The subject `sha256-<hex>` names, when `tag` is a referrers fallback tag.
pub fn fallback_subject(tag: &str) -> Option<Digest> {
    let (alg, hex) = tag.split_once('-')?;
    if alg != Algorithm::Sha256.name() || hex.len() != 64 || hex.contains('.') {
        return None;
    }
    Digest::parse(&format!("{alg}:{hex}")).ok()
}

/// The subject an entry is attached to when its writer did not say so with
/// `io.ferry.subject`: the manifest's own `subject`, else, for an index under a fallback tag,
/// the subject that tag names. Never the entry itself (a layout may tag a manifest
/// `sha256-<its own hex>`).
pub fn foreign_subject(tag: Option<&str>, m: &RawManifest) -> Option<Digest> {
    let s = m
        .subject()
        .or_else(|| tag.filter(|_| m.is_index()).and_then(fallback_subject))?;
    (s != m.digest).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_full_and_bare_names() {
        assert_eq!(entry_tag("docker.io/library/alpine:3.19"), Some("3.19"));
        assert_eq!(entry_tag("127.0.0.1:5000/a/b:t"), Some("t"));
        assert_eq!(entry_tag("v1"), Some("v1"));
        assert_eq!(entry_tag("127.0.0.1:5000/a/b@sha256:00"), None);
        assert_eq!(entry_tag("example.com/a/b"), None);
        assert_eq!(entry_tag("index.json entry 3"), None);
    }

    #[test]
    fn fallback_tags() {
        let hex = "a".repeat(64);
        assert_eq!(
            fallback_subject(&format!("sha256-{hex}")).map(|d| d.to_string()),
            Some(format!("sha256:{hex}"))
        );
        assert!(fallback_subject(&format!("sha256-{hex}.sig")).is_none());
        assert!(fallback_subject("sha256-abc").is_none());
        assert!(fallback_subject(&format!("sha512-{hex}")).is_none());
    }

    #[test]
    fn a_manifest_tagged_with_its_own_digest_is_not_attached_to_itself() {
        let bytes = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec();
        let d = Digest::sha256_of(&bytes);
        let m = RawManifest::new(bytes, d.clone(), "");
        let own = format!("sha256-{}", d.hex());
        assert_eq!(foreign_subject(Some(&own), &m), None);
        let other = format!("sha256-{}", "b".repeat(64));
        assert!(foreign_subject(Some(&other), &m).is_some());
    }
}
