//! `ferry import` of `.tar.gz` bombs: a few tens of MiB of gzip that inflate to 64 GiB of
//! zeros. ferry must not inflate them: it stops within seconds (20 s at most here, where
//! inflating and hashing 64 GiB takes minutes) with little memory (peak RSS under 256 MiB,
//! measured by `wait4`), exit 1 naming the member, no tag, no file.
//!
//! The bombs are concatenated gzip members (one of 64 MiB of zeros, repeated), which
//! `MultiGzDecoder` reads as one stream, so the test writes 64 MiB of gzip, not 64 GiB.

use crate::bad_bundle;
use crate::common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bad_bundle::bounded::{run_bounded, Bounded};
use bad_bundle::*;
use common::*;
use flate2::write::GzEncoder;
use flate2::Compression;

const CHUNK: usize = 64 << 20;
/// What the bomb inflates to: 64 GiB.
const BOMB: u64 = 1024 * CHUNK as u64;
const LIMIT: Duration = Duration::from_secs(20);
const MAX_RSS_KIB: u64 = 256 << 10;

/// A tar without its two end blocks, to be continued.
fn open_tar(members: &[Member]) -> Vec<u8> {
    let mut t = write_tar(members).0;
    t.truncate(t.len() - 1024);
    t
}

/// Writes gzip(`head`), then gzip(64 MiB of zeros) `count` times, then gzip(`tail`).
fn write_bomb(path: &Path, head: &[u8], count: u64, tail: &[u8]) {
    let mut zeros = GzEncoder::new(Vec::new(), Compression::best());
    zeros.write_all(&vec![0u8; CHUNK]).unwrap();
    let zeros = zeros.finish().unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&gzip(head)).unwrap();
    for _ in 0..count {
        f.write_all(&zeros).unwrap();
    }
    f.write_all(&gzip(tail)).unwrap();
    f.flush().unwrap();
}

fn assert_bounded(case: &str, run: &Bounded) {
    eprintln!(
        "{case}: {} in {:?}, peak RSS {} KiB",
        run.status, run.elapsed, run.max_rss_kib
    );
    run.assert_clean_exit(case);
    assert!(run.elapsed < LIMIT, "{case}: took {:?}", run.elapsed);
    assert!(
        run.max_rss_kib < MAX_RSS_KIB,
        "{case}: peak RSS {} KiB",
        run.max_rss_kib
    );
}

#[test]
fn a_layer_that_inflates_far_past_its_descriptor_is_refused_fast() {
    let s = setup(vec![("app", image(41, 4096))]);
    let layer = blob_name(s.images[0].layers[0].digest());
    // ferry's own order: index.json and the manifest (which gives the layer's size) first,
    // the layer last; its header says 64 GiB (PAX size), its data is zeros.
    let mut head: Vec<Member> = s.good.clone();
    head.retain(|m| !m.is(&layer));
    let mut bytes = open_tar(&head);
    bytes.extend(open_tar(&[
        Member::pax("size", &BOMB.to_string()),
        Member::file(&layer, Vec::new()),
    ]));
    let write = |p: &Path| write_bomb(p, &bytes, BOMB / CHUNK as u64, &[0; 1024]);
    let run = s.import_bounded("bomb-layer", "bundle.tar.gz", write, LIMIT);
    assert_bounded("bomb-layer", &run);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(&layer), "{}", run.stderr);
    s.assert_untagged(&s.repos("bomb-layer"));
    // `ferry verify` reads it the same way.
    let bundle = s.dir.path().join("bomb-layer/bundle.tar.gz");
    let cmd = ferry_cmd(&["verify", bundle.to_str().unwrap()]);
    let run = run_bounded(cmd, LIMIT);
    assert_bounded("bomb-layer verify", &run);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(&layer), "{}", run.stderr);
}

#[test]
fn zeros_after_the_end_of_the_tar_are_not_inflated() {
    let s = setup(vec![("app", image(42, 4096))]);
    // A good bundle, its end blocks, then 64 GiB more of zeros in the gzip stream: the tar
    // ended at its first zero block, and nothing after it is read.
    let bytes = write_tar(&s.good).0;
    let write = |p: &Path| write_bomb(p, &bytes, BOMB / CHUNK as u64, &[]);
    let run = s.import_bounded("bomb-tail", "bundle.tar.gz", write, LIMIT);
    assert_bounded("bomb-tail", &run);
    assert!(run.status.success(), "{}", run.stderr);
    let c = s.dst.client();
    assert_eq!(c.head_manifest(&s.repos("bomb-tail")[0], "v1"), 200);
}
