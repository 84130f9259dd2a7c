//! Moving blob bytes: each blob streams through sha256 straight into its place in the bundle,
//! never whole in memory. A cut connection resumes with a `Range` request (or skips what it
//! already has when the server ignores it); a digest or size mismatch is fatal.

use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};

use super::plan::BlobSource;
use super::{BlobProblem, ExportError};
use crate::digest::Hasher;
use crate::layout::writer::TempOutput;
use crate::progress::Progress;
use crate::registry::stall::StallError;
use crate::registry::Client;

const BUF: usize = 256 * 1024;

/// Where downloaded bytes go: `(offset within the blob, bytes)`.
pub type Sink<'a> = dyn FnMut(u64, &[u8]) -> Result<(), ExportError> + 'a;

fn blob_err(src: &BlobSource, problem: BlobProblem) -> ExportError {
    ExportError::Blob {
        image: src.image.clone(),
        digest: src.digest.clone(),
        registry: src.from.registry.clone(),
        problem: problem.into(),
    }
}

/// Why one attempt at a blob stopped: a cut or stalled body is retried from where it stopped.
enum Failure {
    /// The body broke off or stalled (`error`), and which host was sending it.
    Cut {
        error: std::io::Error,
        host: String,
    },
    Fatal(Box<ExportError>),
}

fn fail(error: ExportError) -> Failure {
    Failure::Fatal(Box::new(error))
}

/// A body read that failed, and the host that was sending it.
fn cut(error: std::io::Error, host: &str) -> Failure {
    Failure::Cut {
        error,
        host: host.to_string(),
    }
}

/// Why a body read failed, for a progress note: a stall names the window, anything else is
/// a cut connection.
fn why(e: &std::io::Error) -> String {
    match StallError::of_io(e) {
        Some(s) => s.to_string(),
        None => format!("download cut: {e}"),
    }
}

/// Per-blob download state carried across attempts.
struct Download<'a> {
    client: &'a Client,
    src: &'a BlobSource,
    progress: &'a Progress,
    stop: &'a AtomicBool,
    hasher: Hasher,
    pos: u64,
    buf: Vec<u8>,
}

impl Download<'_> {
    /// One request: streams from `pos` on into the sink until the body ends.
    fn attempt(&mut self, sink: &mut Sink) -> Result<(), Failure> {
        let src = self.src;
        let stream = self
            .client
            .open_blob(&src.from, &src.digest, &src.urls, self.pos)
            // open_blob already retried the request itself: only a cut body is retried here.
            .map_err(|e| fail(ExportError::registry(&src.image, e)))?;
        let mut reader = stream.reader;
        // The server may ignore Range (200, whole body): skip what we already have.
        let mut skip = if stream.partial { 0 } else { self.pos };
        if let Some(len) = stream.length {
            let expected = if stream.partial {
                src.size - self.pos
            } else {
                src.size
            };
            if len != expected {
                let problem = BlobProblem::ContentLength {
                    served_by: stream.served_by,
                    length: len,
                    size: src.size,
                };
                return Err(fail(blob_err(src, problem)));
            }
        }
        loop {
            let n = match reader.read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(cut(e, &stream.served_by)),
            };
            let s = skip.min(n as u64) as usize;
            skip -= s as u64;
            let chunk = &self.buf[s..n];
            if chunk.is_empty() {
                continue;
            }
            if self.pos + chunk.len() as u64 > src.size {
                let problem = BlobProblem::TooLong {
                    served_by: stream.served_by,
                    size: src.size,
                };
                return Err(fail(blob_err(src, problem)));
            }
            self.hasher.update(chunk);
            sink(self.pos, chunk).map_err(fail)?;
            self.pos += chunk.len() as u64;
            self.progress.add(chunk.len() as u64);
            if self.stop.load(Ordering::Relaxed) {
                return Err(fail(ExportError::Cancelled));
            }
        }
    }
}

/// Downloads one blob, handing chunks to `sink(offset, bytes)` as they arrive; checks size
/// and digest at the end. Transient failures resume from the last byte written.
pub fn download(
    client: &Client,
    src: &BlobSource,
    progress: &Progress,
    stop: &AtomicBool,
    sink: &mut Sink,
) -> Result<(), ExportError> {
    let mut d = Download {
        client,
        src,
        progress,
        stop,
        hasher: Hasher::new(src.digest.algorithm()),
        pos: 0,
        buf: vec![0u8; BUF],
    };
    let mut failures = 0u32;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(ExportError::Cancelled);
        }
        match d.attempt(sink) {
            Ok(()) if d.pos == src.size => break,
            Ok(()) if failures < client.retries() => failures += 1,
            Ok(()) => {
                let problem = BlobProblem::EndedEarly {
                    got: d.pos,
                    size: src.size,
                    times: failures + 1,
                };
                return Err(blob_err(src, problem));
            }
            Err(Failure::Cut { error, .. }) if failures < client.retries() => {
                failures += 1;
                let why = why(&error);
                progress.note(&format!("retrying {} ({why})", src.digest.short()));
            }
            Err(Failure::Cut { error, host }) => {
                let from =
                    (host != src.from.registry && host != src.from.api_host()).then_some(host);
                let (attempts, got, size) = (failures + 1, d.pos, src.size);
                let problem = match StallError::of_io(&error) {
                    Some(s) => BlobProblem::Stalled {
                        stall: s.stall,
                        timeout: s.timeout,
                        attempts,
                        got,
                        size,
                        from,
                    },
                    None => BlobProblem::Cut {
                        attempts,
                        got,
                        size,
                        from,
                        source: error,
                    },
                };
                return Err(blob_err(src, problem));
            }
            Err(Failure::Fatal(e)) => return Err(*e),
        }
        std::thread::sleep(client.backoff(failures));
    }
    let actual = d.hasher.finish();
    if actual != src.digest {
        return Err(blob_err(src, BlobProblem::Corrupt { actual }));
    }
    Ok(())
}

/// Fetches every blob into its planned offset with `jobs` parallel workers.
pub fn fetch_all(
    client: &Client,
    blobs: &[(u64, &BlobSource)],
    out: &TempOutput,
    jobs: usize,
    progress: &Progress,
) -> Result<(), ExportError> {
    // Largest first keeps workers busy to the end.
    let mut order: Vec<&(u64, &BlobSource)> = blobs.iter().collect();
    order.sort_by(|a, b| b.1.size.cmp(&a.1.size).then(a.1.digest.cmp(&b.1.digest)));
    crate::pool::run(
        &order,
        jobs,
        || (),
        |_, (offset, src), stop| {
            let mut sink = |at: u64, bytes: &[u8]| {
                out.write_at(offset + at, bytes)
                    .map_err(ExportError::Layout)
            };
            download(client, src, progress, stop, &mut sink)?;
            out.record(&src.digest.to_string())
                .map_err(ExportError::Layout)
        },
    )?;
    Ok(())
}
