//! Pushing blobs children-first (DESIGN §4.3): per blob, HEAD each target repository that needs
//! it, mount from one that has it, else upload once; a bounded pool of workers over blobs.

use std::io::Read;
use std::sync::Mutex;

use super::refusals::{first_push, Answered};
use super::ImportError;
use crate::digest::Digest;
use crate::layout::reader::Bundle;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::registry::push::BlobOutcome;
use crate::registry::{Client, RegistryError, Target};

/// One blob and the target repositories that need it.
#[derive(Debug, Clone)]
pub struct BlobWork {
    pub digest: Digest,
    pub size: u64,
    pub repos: Vec<Reference>,
    /// An image that needs it, for messages.
    pub image: String,
    /// Where it is in a split bundle (` (in part NAME.001)`), for messages.
    pub location: String,
}

/// Counts of what happened to blobs.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct BlobStats {
    pub uploaded: usize,
    pub mounted: usize,
    pub existing: usize,
    pub uploaded_bytes: u64,
}

/// A target repository as a client `Target`.
pub fn target(r: &Reference) -> Target<'_> {
    Target {
        registry: &r.registry,
        host: r.api_host(),
        repository: &r.repository,
        push: true,
    }
}

struct Counting<'p, R> {
    inner: R,
    progress: &'p Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.add(n as u64);
        Ok(n)
    }
}

fn wrap(w: &BlobWork, repo: &Reference, e: RegistryError) -> ImportError {
    ImportError::Registry {
        image: format!(
            "{} (blob {}{} → {})",
            w.image,
            w.digest,
            w.location,
            repo.name()
        ),
        cause: e.into(),
    }
}

/// Gets one blob into every repository of `w`; `open` gives its bytes (again on a retry).
/// `answered` knows the repositories that took a push already: a refusal of the first one
/// says the repository must be created first.
pub fn place_blob<'r>(
    client: &Client,
    w: &BlobWork,
    chunk: Option<u64>,
    open: &mut dyn FnMut() -> std::io::Result<Box<dyn Read + 'r>>,
    restartable: bool,
    answered: &Answered,
) -> Result<Vec<BlobOutcome>, ImportError> {
    let mut have: Option<&Reference> = None;
    let mut outcomes = Vec::new();
    for repo in &w.repos {
        let t = target(repo);
        let fail = |e| first_push(answered, repo, e).unwrap_or_else(|e| wrap(w, repo, e));
        if client.blob_exists(&t, &w.digest, w.size).map_err(fail)? {
            answered.mark(repo);
            have.get_or_insert(repo);
            outcomes.push(BlobOutcome::Existed);
            continue;
        }
        if let Some(from) = have.filter(|f| f.registry == repo.registry) {
            // A failed mount is not fatal: the blob is uploaded instead.
            if client
                .mount_blob(&t, &w.digest, &from.repository)
                .unwrap_or(false)
            {
                answered.mark(repo);
                outcomes.push(BlobOutcome::Mounted);
                continue;
            }
        }
        let mut attempt = 0;
        loop {
            match client.upload_blob(&t, &w.digest, w.size, chunk, open) {
                Ok(()) => break,
                Err(e) if e.is_transient() && restartable && attempt < client.retries() => {
                    attempt += 1;
                    std::thread::sleep(client.backoff(attempt));
                }
                Err(e) => return Err(fail(e.after_attempts(attempt + 1))),
            }
        }
        answered.mark(repo);
        have = Some(repo);
        outcomes.push(BlobOutcome::Uploaded);
    }
    Ok(outcomes)
}

fn count(stats: &Mutex<BlobStats>, w: &BlobWork, outcomes: &[BlobOutcome]) {
    let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
    for o in outcomes {
        match o {
            BlobOutcome::Existed => s.existing += 1,
            BlobOutcome::Mounted => s.mounted += 1,
            BlobOutcome::Uploaded => {
                s.uploaded += 1;
                s.uploaded_bytes = s.uploaded_bytes.saturating_add(w.size);
            }
        }
    }
}

/// Pushes every blob with `jobs` workers (tar or directory bundles: read in place).
pub fn push_blobs(
    client: &Client,
    bundle: &Bundle,
    work: &[BlobWork],
    jobs: usize,
    chunk: Option<u64>,
    progress: &Progress,
) -> Result<BlobStats, ImportError> {
    let mut order: Vec<&BlobWork> = work.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then(a.digest.cmp(&b.digest)));
    let answered = Answered::default();
    let outcomes = crate::pool::run(
        &order,
        jobs,
        || (),
        |_, w, _| {
            let mut open = || -> std::io::Result<Box<dyn Read>> {
                let r = bundle.open_blob(&w.digest).map_err(std::io::Error::other)?;
                Ok(Box::new(Counting { inner: r, progress }))
            };
            place_blob(client, w, chunk, &mut open, true, &answered)
        },
    )?;
    let stats = Mutex::new(BlobStats::default());
    for (w, o) in order.iter().zip(&outcomes) {
        count(&stats, w, o);
    }
    Ok(stats.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// Blobs pushed from a sequential stream (a `.tar.gz` pass or a pipe): each is read once, as
/// it comes, so an upload cannot restart mid-blob.
pub struct Streamed<'w> {
    work: &'w [BlobWork],
    stats: Mutex<BlobStats>,
    done: std::collections::BTreeSet<Digest>,
    answered: Answered,
}

impl<'w> Streamed<'w> {
    pub fn new(work: &'w [BlobWork]) -> Self {
        Streamed {
            work,
            stats: Mutex::new(BlobStats::default()),
            done: Default::default(),
            answered: Answered::default(),
        }
    }

    /// Pushes `d` from `reader` when it is wanted and not pushed yet.
    pub fn offer(
        &mut self,
        client: &Client,
        chunk: Option<u64>,
        progress: &Progress,
        d: &Digest,
        reader: &mut dyn Read,
    ) -> Result<(), ImportError> {
        let Some(w) = self.work.iter().find(|w| &w.digest == d) else {
            return Ok(());
        };
        if self.done.contains(d) {
            return Ok(());
        }
        let mut once = Some(reader);
        let mut open = || -> std::io::Result<Box<dyn Read + '_>> {
            match once.take() {
                Some(r) => Ok(Box::new(Counting { inner: r, progress })),
                None => Err(std::io::Error::other("a streamed bundle cannot restart an upload mid-blob; run the import again (what was pushed is kept)")),
            }
        };
        let o = place_blob(client, w, chunk, &mut open, false, &self.answered)?;
        count(&self.stats, w, &o);
        self.done.insert(d.clone());
        Ok(())
    }

    /// The counts, once every wanted blob came by; else the first one that did not.
    pub fn finish(self, what: &'static str) -> Result<BlobStats, ImportError> {
        if let Some(w) = self.work.iter().find(|w| !self.done.contains(&w.digest)) {
            return Err(ImportError::NotStreamed {
                image: w.image.clone(),
                digest: w.digest.clone(),
                pass: what,
            });
        }
        Ok(self.stats.into_inner().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Pushes blobs during the second streaming pass over a `.tar.gz` (sequential, in archive order).
pub fn push_blobs_streaming(
    client: &Client,
    bundle: &Bundle,
    work: &[BlobWork],
    chunk: Option<u64>,
    progress: &Progress,
) -> Result<BlobStats, ImportError> {
    let Some(gz) = bundle.gz() else {
        return Err(ImportError::NotStreaming);
    };
    let mut streamed = Streamed::new(work);
    let mut failure: Option<ImportError> = None;
    let result = gz.stream(&mut |d, _size, reader| {
        streamed
            .offer(client, chunk, progress, d, reader)
            .map_err(|e| {
                failure = Some(e);
                crate::layout::LayoutError::Stopped
            })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    result?;
    streamed.finish("the second pass over the bundle")
}
