//! Hashing every member under `blobs/` on all cores: workers take members largest first from a
//! shared counter and read each in place with positional reads (1 MiB at a time), so a bundle
//! is read once, at the speed of sha256 (SHA-NI when the CPU has it) times the cores.

use std::io::Read;
use std::time::Instant;

use serde::Serialize;

use crate::digest::{Digest, Hasher};
use crate::error::chain;
use crate::layout::gz::blob_digest;
use crate::layout::members::Member;
use crate::layout::reader::Bundle;
use crate::progress::Progress;

/// Read size: large enough that per-read costs vanish next to hashing.
const BUF: usize = 1 << 20;

/// What the hashing pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HashStats {
    /// Members under `blobs/`.
    pub members: usize,
    /// Their bytes.
    pub bytes: u64,
    pub seconds: f64,
    /// MiB per second over the pass.
    pub mib_per_s: f64,
    pub threads: usize,
    /// True for a `.tar.gz`: every member was hashed while the bundle was opened.
    pub hashed_when_opened: bool,
}

/// A member that does not hold what its name says.
#[derive(Debug, Clone)]
pub struct Finding {
    pub member: String,
    /// The digest its name claims, when it is one.
    pub digest: Option<Digest>,
    pub detail: String,
}

/// Hashes one member; None when it matches its name.
fn check_member(
    bundle: &Bundle,
    m: &Member,
    buf: &mut [u8],
    progress: &Progress,
) -> Option<Finding> {
    let finding = |digest: Option<Digest>, detail: String| {
        Some(Finding {
            member: m.name.clone(),
            digest,
            detail,
        })
    };
    let Some(expected) = blob_digest(&m.name) else {
        return finding(
            None,
            "its name is not blobs/<algorithm>/<hex digest>, so it cannot be checked".into(),
        );
    };
    if let Some(actual) = &m.hashed {
        if *actual == expected {
            return None;
        }
        let detail = format!("its bytes hash to {actual}");
        return finding(Some(expected), detail);
    }
    let mut reader = match bundle.open_blob(&expected) {
        Ok(r) => r,
        Err(e) => return finding(Some(expected), chain(&e)),
    };
    let mut h = Hasher::new(expected.algorithm());
    let mut read = 0u64;
    loop {
        match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buf[..n]);
                read += n as u64;
                progress.add(n as u64);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let detail = format!("cannot be read after {read} bytes: {e}");
                return finding(Some(expected), detail);
            }
        }
    }
    if read != m.size {
        let detail = format!(
            "holds {read} bytes, but the bundle lists it as {} bytes",
            m.size
        );
        return finding(Some(expected), detail);
    }
    let actual = h.finish();
    if actual != expected {
        let detail = format!("its bytes hash to {actual}{}", bundle.part_note(&m.name));
        return finding(Some(expected), detail);
    }
    None
}

/// Hashes `members` on `threads` workers; returns the statistics and what did not match.
pub fn hash_all(
    bundle: &Bundle,
    members: &[Member],
    threads: usize,
    progress: &Progress,
) -> (HashStats, Vec<Finding>) {
    let start = Instant::now();
    let mut order: Vec<&Member> = members.iter().collect();
    order.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let threads = threads.clamp(1, order.len().max(1));
    let checked = crate::pool::run(
        &order,
        threads,
        || vec![0u8; BUF],
        |buf, m, _| Ok::<_, std::convert::Infallible>(check_member(bundle, m, buf, progress)),
    );
    let mut findings: Vec<Finding> = match checked {
        Ok(v) => v.into_iter().flatten().collect(),
        Err(never) => match never {},
    };
    findings.sort_by(|a, b| a.member.cmp(&b.member));
    let bytes: u64 = members.iter().map(|m| m.size).sum();
    let seconds = start.elapsed().as_secs_f64();
    let stats = HashStats {
        members: members.len(),
        bytes,
        seconds,
        mib_per_s: if seconds > 0.0 {
            bytes as f64 / (1024.0 * 1024.0) / seconds
        } else {
            0.0
        },
        threads,
        hashed_when_opened: bundle.is_streaming(),
    };
    (stats, findings)
}
