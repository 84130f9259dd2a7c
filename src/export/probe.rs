//! Planning every image of an export with the registry's round trips made `-j` at a time
//! (DESIGN §3, §6). Discovery asks, per manifest, for three cosign tags and the referrers (and
//! without a referrers API for the fallback tag): one manifest after another, that was most of
//! the time of an export of many small images. So: every root manifest is read at once; when
//! signatures or referrers are wanted, a first pass over the images finds their subjects (root
//! and kept platform manifests) and a probe asks what is attached to all of them at once, round
//! after round down the chain of attachments; then the plan is built one image after another,
//! in the order given, from those answers ([`Memo`]), so the bundle is the same whatever order
//! the answers came in and a failed image is taken back out as before.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::attached::MAX_DEPTH;
use super::memo::{subject_key, Memo};
use super::plan::{Plan, Planner};
use super::{ExportError, ExportOptions};
use crate::digest::Digest;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::Client;

/// How the tags `Digest::as_tag` makes start (`sha256-<hex>`, `sha512-<hex>`).
const DIGEST_TAGS: [&str; 2] = ["sha256-", "sha512-"];

/// The plan of every image of `refs` and the messages of those that failed, in order. With a
/// single image its failure is the error.
pub(super) fn plan_all(
    client: &Client,
    opts: &ExportOptions,
    refs: &[Reference],
    note: &Progress,
) -> Result<(Plan, Vec<ExportError>), ExportError> {
    let memo = Arc::new(Memo::default());
    let planner = || {
        let mut p = Planner::new(client, &opts.platforms);
        p.discovery = opts.discovery.clone();
        p.jobs = opts.jobs;
        p.memo = memo.clone();
        p
    };
    memo.prefetch(client, refs, opts.jobs);
    let mut early: Vec<Option<ExportError>> = refs.iter().map(|_| None).collect();
    let discovery = opts.discovery.any();
    if discovery {
        let mut first = planner();
        let mut subjects = Vec::new();
        for (r, slot) in refs.iter().zip(early.iter_mut()) {
            note.note(&format!("resolving {r}"));
            let mark = first.plan.mark();
            match first.add_root(r, r.to_string(), None) {
                Ok(ds) => subjects.extend(ds.into_iter().map(|d| (r.clone(), d))),
                Err(e) => {
                    first.plan.rollback(mark);
                    *slot = Some(e);
                }
            }
        }
        if !subjects.is_empty() {
            note.note(&format!(
                "looking for signatures and referrers of {} manifest(s)",
                subjects.len()
            ));
            first.probe(subjects);
        }
    }
    let mut planner = planner();
    let mut failed = Vec::new();
    for (r, early) in refs.iter().zip(early) {
        let result = match early {
            Some(e) => Err(e),
            None => {
                if !discovery {
                    note.note(&format!("resolving {r}"));
                }
                let mark = planner.plan.mark();
                let added = planner.add_image(r);
                if added.is_err() {
                    planner.plan.rollback(mark);
                }
                added
            }
        };
        if let Err(e) = result {
            if refs.len() == 1 {
                return Err(e);
            }
            note.note(&format!("failed: {}", crate::error::Chain(&e)));
            failed.push(e);
        }
    }
    Ok((planner.plan, failed))
}

impl Planner<'_> {
    /// Asks what is attached to every subject, `jobs` at a time, then reads the attached
    /// manifests the same way; their digests are the next round's subjects, down to the depth
    /// `discover` follows. Answers, failures included, go to the memo for `discover`.
    fn probe(&self, subjects: Vec<(Reference, Digest)>) {
        self.list_tags(&subjects);
        let mut asked = HashSet::new();
        let mut read = HashSet::new();
        let mut round = subjects;
        for _ in 0..MAX_DEPTH {
            round.retain(|(r, d)| asked.insert(subject_key(r, d)));
            if round.is_empty() {
                return;
            }
            let answers = crate::pool::map(&round, self.jobs, |(r, d)| self.ask_attached(r, d));
            let mut artifacts: Vec<(Reference, Reference)> = Vec::new();
            for ((r, d), got) in round.iter().zip(answers) {
                for (_, at, _) in got.iter().flatten() {
                    if read.insert(at.to_string()) {
                        artifacts.push((r.clone(), at.clone()));
                    }
                }
                self.memo.put_attached(subject_key(r, d), got);
            }
            let manifests = crate::pool::map(&artifacts, self.jobs, |(_, at)| {
                self.client.get_manifest(at)
            });
            round = Vec::new();
            for ((r, at), got) in artifacts.into_iter().zip(manifests) {
                if let Ok(m) = &got {
                    round.push((r, m.digest.clone()));
                }
                self.memo.put_manifest(&at, got);
            }
        }
    }

    /// Lists the `sha256-…` tags of every repository of `subjects` once, `jobs` at a time, for
    /// `ask_attached`: one request per repository instead of up to four HEADs per manifest.
    /// A list longer than the HEADs it saves (in pages) is not read to its end: those
    /// repositories are asked tag by tag.
    fn list_tags(&self, subjects: &[(Reference, Digest)]) {
        let per_subject = if self.discovery.cosign { 4 } else { 1 };
        let mut repos: Vec<(Reference, usize)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (r, _) in subjects {
            let i = *at.entry(r.name()).or_insert_with(|| {
                repos.push((r.clone(), 0));
                repos.len() - 1
            });
            if let Some((_, n)) = repos.get_mut(i) {
                *n += per_subject;
            }
        }
        let listed = crate::pool::map(&repos, self.jobs, |(r, pages)| {
            self.client.tags_with_prefix(r, &DIGEST_TAGS, *pages)
        });
        for ((r, _), got) in repos.iter().zip(listed) {
            // Not listed (refused, too long, failed): `ask_attached` asks tag by tag.
            if let Ok(Some(tags)) = got {
                self.memo.put_tags(r.name(), tags);
            }
        }
    }
}
