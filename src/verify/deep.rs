//! `verify --deep`: every layer is uncompressed and hashed, and the result compared with the
//! image config's `rootfs.diff_ids` entry at the same position. Gzip layers are inflated
//! (zlib-rs), uncompressed tar layers hash as they are, zstd layers are reported as not
//! checked. Layers are worked on in parallel, each once however many images share it.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::sync::Mutex;

use flate2::read::MultiGzDecoder;
use serde::Serialize;

use crate::digest::{Algorithm, Digest, Hasher};
use crate::error::{chain, Chain};
use crate::layout::graph::{Graph, Node};
use crate::layout::reader::Bundle;
use crate::progress::Progress;

/// Configs bigger than this are not read (they are still hashed).
const MAX_CONFIG_READ: u64 = 64 * 1024 * 1024;
const BUF: usize = 1 << 20;

/// How a layer's uncompressed bytes are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gzip,
    Tar,
    Zstd,
}

fn kind(media_type: &str) -> Option<Kind> {
    if media_type.ends_with("+gzip") || media_type.ends_with(".gzip") {
        Some(Kind::Gzip)
    } else if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
        Some(Kind::Zstd)
    } else if media_type.ends_with(".tar") {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// A layer whose diff_id was not checked, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotChecked {
    pub image: String,
    pub layer: Digest,
    pub media_type: String,
    pub reason: String,
}

/// What `--deep` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeepReport {
    /// Distinct layers uncompressed and hashed.
    pub layers_checked: usize,
    /// Their compressed bytes.
    pub bytes: u64,
    pub seconds: f64,
    pub not_checked: Vec<NotChecked>,
}

/// One image's claim about a layer.
struct Claim {
    image: String,
    manifest: Digest,
    position: usize,
    diff_id: String,
}

struct Work {
    size: u64,
    kind: Kind,
    claims: Vec<Claim>,
}

/// Reads a config's `rootfs.diff_ids`; Err is a problem message.
fn diff_ids(bundle: &Bundle, image: &str, node: &Node) -> Result<Option<Vec<String>>, String> {
    let Some(c) = &node.config else {
        return Ok(None);
    };
    if c.size > MAX_CONFIG_READ {
        return Ok(None);
    }
    let bytes = match bundle.read_blob_verified(&c.digest, MAX_CONFIG_READ) {
        Ok(Some(b)) => b,
        // Missing or corrupt configs are already problems of the graph or the hashing pass.
        Ok(None) | Err(_) => return Ok(None),
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{image}: config {} is not valid JSON: {e}", c.digest))?;
    let Some(ids) = v.pointer("/rootfs/diff_ids").and_then(|x| x.as_array()) else {
        return Err(format!(
            "{image}: config {} has no rootfs.diff_ids, so layers of manifest {} cannot be checked",
            c.digest, node.digest
        ));
    };
    Ok(Some(
        ids.iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect(),
    ))
}

/// Collects what each layer should decompress to.
fn plan(
    bundle: &Bundle,
    graphs: &[Graph],
    report: &mut DeepReport,
    problems: &mut Vec<(String, String)>,
) -> BTreeMap<Digest, Work> {
    let mut work: BTreeMap<Digest, Work> = BTreeMap::new();
    for g in graphs {
        for node in g.nodes.iter().filter(|n| !n.is_index) {
            let tars: Vec<_> = node
                .layers
                .iter()
                .filter(|l| kind(&l.descriptor.media_type).is_some())
                .collect();
            if tars.is_empty() {
                continue;
            }
            let ids = match diff_ids(bundle, &g.image, node) {
                Ok(Some(ids)) => ids,
                Ok(None) => continue,
                Err(msg) => {
                    problems.push((g.image.clone(), msg));
                    continue;
                }
            };
            if ids.len() != node.layers.len() {
                problems.push((
                    g.image.clone(),
                    format!(
                        "{}: manifest {} has {} layers, but its config lists {} rootfs.diff_ids",
                        g.image,
                        node.digest,
                        node.layers.len(),
                        ids.len()
                    ),
                ));
            }
            for (position, l) in node.layers.iter().enumerate() {
                let (Some(k), Some(diff_id)) = (kind(&l.descriptor.media_type), ids.get(position))
                else {
                    continue;
                };
                if !g.blobs.contains_key(&l.digest) {
                    continue;
                }
                if k == Kind::Zstd {
                    report.not_checked.push(NotChecked {
                        image: g.image.clone(),
                        layer: l.digest.clone(),
                        media_type: l.descriptor.media_type.clone(),
                        reason: "zstd layers are not decompressed".into(),
                    });
                    continue;
                }
                let w = work.entry(l.digest.clone()).or_insert(Work {
                    size: l.size,
                    kind: k,
                    claims: Vec::new(),
                });
                w.claims.push(Claim {
                    image: g.image.clone(),
                    manifest: node.digest.clone(),
                    position,
                    diff_id: diff_id.clone(),
                });
            }
        }
    }
    work
}

/// Reads a layer's uncompressed bytes and returns their sha256.
fn uncompressed_digest(
    r: &mut dyn Read,
    k: Kind,
    buf: &mut [u8],
    progress: &Progress,
) -> Result<Digest, String> {
    struct Counting<'a, 'b> {
        inner: &'a mut dyn Read,
        progress: &'b Progress,
    }
    impl Read for Counting<'_, '_> {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(b)?;
            self.progress.add(n as u64);
            Ok(n)
        }
    }
    let counted = Counting { inner: r, progress };
    let mut src: Box<dyn Read> = match k {
        Kind::Gzip => Box::new(MultiGzDecoder::new(BufReader::with_capacity(BUF, counted))),
        _ => Box::new(counted),
    };
    let mut h = Hasher::new(Algorithm::Sha256);
    loop {
        match src.read(buf) {
            Ok(0) => return Ok(h.finish()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot be decompressed: {e}")),
        }
    }
}

/// Runs the deep check; returns the report and (image, message) problems.
pub fn check(
    bundle: &Bundle,
    graphs: &[Graph],
    threads: usize,
    progress_for: impl FnOnce(u64) -> Progress,
) -> (DeepReport, Vec<(String, String)>) {
    let start = std::time::Instant::now();
    let mut report = DeepReport::default();
    let mut problems = Vec::new();
    let work = plan(bundle, graphs, &mut report, &mut problems);
    report.layers_checked = work.len();
    report.bytes = work.values().map(|w| w.size).sum();
    let progress = progress_for(report.bytes);
    let results: Mutex<BTreeMap<Digest, Result<Digest, String>>> = Mutex::new(BTreeMap::new());
    let record = |d: &Digest, r: Result<Digest, String>| {
        results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(d.clone(), r);
    };
    if let Some(gz) = bundle.gz() {
        let mut buf = vec![0u8; BUF];
        let streamed = gz.stream(&mut |d, _size, r| {
            if let Some(w) = work.get(d) {
                record(d, uncompressed_digest(r, w.kind, &mut buf, &progress));
            }
            Ok(())
        });
        if let Err(e) = streamed {
            problems.push((String::new(), format!("--deep: {}", Chain(&e))));
        }
    } else {
        let mut order: Vec<(&Digest, &Work)> = work.iter().collect();
        order.sort_by_key(|w| std::cmp::Reverse(w.1.size));
        let _ = crate::pool::run(
            &order,
            threads,
            || vec![0u8; BUF],
            |buf, (d, w), _| {
                let r = match bundle.open_blob(d) {
                    Ok(mut r) => uncompressed_digest(&mut r, w.kind, buf, &progress),
                    Err(e) => Err(chain(&e)),
                };
                record(d, r);
                Ok::<_, std::convert::Infallible>(())
            },
        );
    }
    progress.finish();
    report.seconds = start.elapsed().as_secs_f64();
    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (d, w) in &work {
        let c0 = &w.claims[0];
        match results.get(d) {
            None => problems.push((
                c0.image.clone(),
                format!(
                    "{}: layer {d} was not found while streaming the bundle",
                    c0.image
                ),
            )),
            Some(Err(e)) => {
                problems.push((c0.image.clone(), format!("{}: layer {d} {e}", c0.image)))
            }
            Some(Ok(actual)) => {
                for c in w.claims.iter().filter(|c| c.diff_id != actual.to_string()) {
                    problems.push((c.image.clone(), format!(
                        "{}: layer {d} (manifest {}, layer {}) uncompresses to diff_id {actual}, but the config expects {}",
                        c.image, c.manifest, c.position, c.diff_id
                    )));
                }
            }
        }
    }
    (report, problems)
}
