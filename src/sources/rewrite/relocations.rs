//! Which relocated name an image found in a file gets, from an import's mapping file.
//!
//! Pinning: the mapping file written by `ferry import` records a digest only where the bundle
//! did (an image exported by digest, or a `--sparse strip` index). A reference is looked up
//! exactly first; a tag-only reference then takes an entry of the same name and tag that
//! carries a digest, and a digest reference an entry of the same name and digest, so the
//! rewritten reference is pinned whenever the mapping knows the digest.

use crate::reference::Reference;

/// Original → relocated references (an import's mapping file), originals normalised.
#[derive(Debug, Clone, Default)]
pub struct Relocations(Vec<(Reference, Reference)>);

impl Relocations {
    /// From (original, relocated) pairs in file order; originals get the default tag.
    pub fn new(pairs: Vec<(Reference, Reference)>) -> Relocations {
        Relocations(
            pairs
                .into_iter()
                .map(|(k, v)| (k.with_default_tag(), v))
                .collect(),
        )
    }

    /// The relocated reference of a normalised one, pinned when the mapping knows its digest.
    pub fn relocate(&self, found: &Reference) -> Option<Reference> {
        if let Some((_, v)) = self.0.iter().find(|(k, _)| k == found) {
            return Some(v.clone());
        }
        let same_name =
            |k: &Reference| k.registry == found.registry && k.repository == found.repository;
        match &found.digest {
            Some(d) => self
                .0
                .iter()
                .find(|(k, _)| same_name(k) && k.digest.as_ref() == Some(d))
                .map(|(_, v)| Reference {
                    tag: found.tag.clone(),
                    digest: v.digest.clone().or_else(|| Some(d.clone())),
                    ..v.clone()
                }),
            None => self
                .0
                .iter()
                .find(|(k, v)| same_name(k) && k.tag == found.tag && v.digest.is_some())
                .map(|(_, v)| v.clone()),
        }
    }
}
