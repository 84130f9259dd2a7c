//! What the registry already answered during this export, kept in memory (DESIGN §3, §6).
//! The registry's round trips are made first, many at a time (root manifests, what is
//! attached to each subject); the plan is then built one image after another in a fixed
//! order from these answers, so the bundle does not depend on the order they came in.
//! A failure is handed out once (the caller reports it; asking again asks the registry).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::ExportError;
use crate::digest::Digest;
use crate::manifest::{Checked, RawManifest};
use crate::reference::Reference;
use crate::registry::{Client, RegistryError};

/// An attached artifact: (entry name, reference to fetch, artifact type).
pub type Found = (String, Reference, Option<String>);

/// Answers by key: manifests by reference, configs by digest, attachments by subject, the
/// `sha256-…` tags by repository (`registry/path`), and the registries without a referrers API.
#[derive(Default)]
pub struct Memo {
    manifests: Mutex<HashMap<String, Result<RawManifest, RegistryError>>>,
    configs: Mutex<HashMap<Digest, Vec<u8>>>,
    attached: Mutex<HashMap<String, Result<Vec<Found>, ExportError>>>,
    tags: Mutex<HashMap<String, Arc<HashSet<String>>>>,
    no_referrers_api: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A kept answer: a success as often as asked, a failure once.
fn take<K, T: Clone, E>(map: &mut HashMap<K, Result<T, E>>, key: &K) -> Option<Result<T, E>>
where
    K: std::hash::Hash + Eq,
{
    match map.get(key)? {
        Ok(v) => Some(Ok(v.clone())),
        Err(_) => map.remove(key),
    }
}

/// The key of what is attached to `subject` in `r`'s repository.
pub fn subject_key(r: &Reference, subject: &Digest) -> String {
    format!("{}@{subject}", r.name())
}

impl Memo {
    /// The manifest `r` names, from memory when it was read before.
    pub fn manifest(&self, client: &Client, r: &Reference) -> Result<RawManifest, RegistryError> {
        let key = r.to_string();
        if let Some(got) = take(&mut lock(&self.manifests), &key) {
            return got;
        }
        let got = client.get_manifest(r);
        if let Ok(m) = &got {
            lock(&self.manifests).insert(key, Ok(m.clone()));
        }
        got
    }

    /// Keeps an answer for `r` (unless one is kept already).
    pub fn put_manifest(&self, r: &Reference, got: Result<RawManifest, RegistryError>) {
        lock(&self.manifests).entry(r.to_string()).or_insert(got);
    }

    /// Reads every reference of `refs`, `jobs` at a time.
    pub fn prefetch(&self, client: &Client, refs: &[Reference], jobs: usize) {
        let got = crate::pool::map(refs, jobs, |r| client.get_manifest(r));
        for (r, m) in refs.iter().zip(got) {
            self.put_manifest(r, m);
        }
    }

    pub fn config(&self, d: &Digest) -> Option<Vec<u8>> {
        lock(&self.configs).get(d).cloned()
    }

    pub fn put_config(&self, d: &Digest, bytes: &[u8]) {
        lock(&self.configs).insert(d.clone(), bytes.to_vec());
    }

    /// What was found attached to `key` ([`subject_key`]), when it was asked before.
    pub fn attached(&self, key: &str) -> Option<Result<Vec<Found>, ExportError>> {
        take(&mut lock(&self.attached), &key.to_string())
    }

    pub fn put_attached(&self, key: String, got: Result<Vec<Found>, ExportError>) {
        lock(&self.attached).entry(key).or_insert(got);
    }

    /// The `sha256-…` tags of repository `name`, when it was listed.
    pub fn tags(&self, name: &str) -> Option<Arc<HashSet<String>>> {
        lock(&self.tags).get(name).cloned()
    }

    pub fn put_tags(&self, name: String, tags: HashSet<String>) {
        lock(&self.tags).insert(name, Arc::new(tags));
    }

    /// Whether `registry` answered a referrers query with 404: it has no referrers API (a
    /// registry that has one never answers 404 there, OCI distribution spec 1.1), so its other
    /// subjects go straight to their fallback tags.
    pub fn without_referrers_api(&self, registry: &str) -> bool {
        lock(&self.no_referrers_api).contains(registry)
    }

    pub fn put_without_referrers_api(&self, registry: &str) {
        lock(&self.no_referrers_api).insert(registry.to_string());
    }
}

/// The manifests of one repository for the graph walk, from the memo when it has them.
pub struct Remembered<'a> {
    pub client: &'a Client,
    pub memo: std::sync::Arc<Memo>,
    pub reference: &'a Reference,
}

impl crate::walk::Source for Remembered<'_> {
    type Error = RegistryError;

    fn manifest(&self, c: &Checked) -> Result<Option<RawManifest>, RegistryError> {
        let r = self.reference.with_digest(&c.digest);
        crate::registry::as_child(self.memo.manifest(self.client, &r), c)
    }
}
