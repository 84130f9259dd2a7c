//! `ferry import` of tampered and broken bundles (blob contents, sizes, truncation, gzip):
//! exit 1, a message naming the member or digest, no tag in the target, and no file written.
//! Unsafe member names and types, and broken `index.json`: `import_bad_layout.rs`.

use crate::bad_bundle;
use crate::common;

use std::time::{Duration, Instant};

use bad_bundle::*;
use common::*;
use serde_json::Value;

/// A 3 MiB layer: many read buffers, so most of it streams before its hash is known.
const BIG: usize = 3 << 20;

fn layer_index(members: &[Member], digest: &str) -> usize {
    members
        .iter()
        .position(|m| m.is(&blob_name(digest)))
        .unwrap_or_else(|| panic!("no member for {digest}"))
}

/// Replaces manifest `old` by `edit(old)`, pointing index.json at the new one; its digest.
fn rewrite_manifest(members: &mut [Member], old: &str, edit: impl FnOnce(&mut Value)) -> String {
    let i = layer_index(members, old);
    let mut v: Value = serde_json::from_slice(&members[i].data).unwrap();
    edit(&mut v);
    let bytes = serde_json::to_vec(&v).unwrap();
    let new = digest(&bytes);
    let size = bytes.len();
    members[i] = Member::file(&blob_name(&new), bytes);
    let mut idx = index_of(members);
    for e in idx["manifests"].as_array_mut().unwrap() {
        if e["digest"] == old {
            e["digest"] = new.clone().into();
            e["size"] = size.into();
        }
    }
    set_index(members, &idx);
    new
}

/// Waits for the registry's note that the upload of `digest` ended early; (copied, length).
fn disconnected_put(reg: &Registry, digest: &str) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = reg.log();
        let line = log
            .lines()
            .find(|l| l.contains("client disconnected during blob PUT") && l.contains(digest));
        if let Some(l) = line {
            let field = |name: &str| -> u64 {
                let rest = l.split(&format!(" {name}=")).nth(1).unwrap();
                rest.split(' ').next().unwrap().parse().unwrap()
            };
            return (field("copied"), field("contentLength"));
        }
        assert!(
            Instant::now() < deadline,
            "the registry never saw the upload of {digest} cut short:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn flipped_byte_in_a_layer_aborts_its_upload_before_the_last_bytes() {
    let s = setup(vec![("app", image(1, BIG))]);
    let layer = s.images[0].layers[0].digest().to_string();
    let mut members = s.good.clone();
    let i = layer_index(&members, &layer);
    members[i].data[100] ^= 0x01;
    let run = s.import_members("flip", &members);
    s.assert_refused(&run, &[&layer, "failed verification"]);
    let repo = &run.repos[0];
    let c = s.dst.client();
    assert_eq!(c.head_blob(repo, &layer), None, "the bad blob is in {repo}");
    // The registry got most of the layer, but not all of it: the upload was cut, not finished
    // (a finished upload would be answered 400 DIGEST_INVALID, and logged as such).
    let (copied, length) = disconnected_put(&s.dst, &layer);
    assert_eq!(length, members[i].data.len() as u64);
    assert!(copied < length, "all {length} bytes were sent");
    assert!(copied > 0, "nothing streamed before the check");
    assert!(!s.dst.log().contains("digest invalid"), "{}", s.dst.log());
    let hex = layer.trim_start_matches("sha256:");
    let puts: Vec<Access> = s
        .dst
        .requests()
        .into_iter()
        .filter(|a| a.method == "PUT" && a.path.contains(hex))
        .collect();
    assert!(
        puts.iter()
            .all(|a| a.status >= 500 && a.path.starts_with(&format!("/v2/{repo}/"))),
        "{puts:?}"
    );
    // Chunked (PATCH per MiB): the last chunk is held back, so the upload is never completed.
    let run = s.import_with(
        "flip-chunked",
        "bundle.tar",
        &write_tar(&members).0,
        &["--chunk-size", "1M"],
    );
    s.assert_refused(&run, &[&layer, "failed verification"]);
    assert_eq!(c.head_blob(&run.repos[0], &layer), None);
    let after = s.dst.requests();
    let completed: Vec<&Access> = after
        .iter()
        .filter(|a| a.method == "PUT" && a.path.contains(hex) && a.status < 500)
        .collect();
    assert!(completed.is_empty(), "{completed:?}");
    s.assert_good();
}

#[test]
fn truncated_bundles_are_refused_before_pushing() {
    let s = setup(vec![("app", image(2, BIG))]);
    let layer = s.images[0].layers[0].digest().to_string();
    let (bytes, offsets) = write_tar(&s.good);
    let i = layer_index(&s.good, &layer);
    let cut = offsets[i] as usize + s.good[i].data.len() / 2;
    let run = s.import("cut", "bundle.tar", &bytes[..cut]);
    s.assert_refused_up_front(&run, &[&blob_name(&layer), "truncated"]);

    // Cut inside the layer's header.
    let run = s.import(
        "cut-header",
        "bundle.tar",
        &bytes[..offsets[i] as usize - 400],
    );
    s.assert_refused_up_front(&run, &["truncated"]);

    // The same cut inside a .tar.gz, and a gzip stream cut short.
    let run = s.import("cut-gz", "bundle.tar.gz", &gzip(&bytes[..cut]));
    s.assert_refused_up_front(&run, &[&blob_name(&layer), "truncated"]);
    let gz = gzip(&bytes);
    let run = s.import("gz-cut", "bundle.tar.gz", &gz[..gz.len() / 2]);
    s.assert_refused_up_front(&run, &[&blob_name(&layer), "truncated"]);
}

#[test]
fn tar_gz_with_a_flipped_byte_in_a_layer_is_refused_before_pushing() {
    let s = setup(vec![("app", image(3, BIG))]);
    let layer = s.images[0].layers[0].digest().to_string();
    let mut members = s.good.clone();
    // Control: the same bundle, gzipped, imports.
    let good = s.import("gz-good", "bundle.tar.gz", &gzip(&write_tar(&members).0));
    assert_success(&good.out);
    assert_eq!(s.dst.client().head_manifest(&good.repos[0], "v1"), 200);

    let i = layer_index(&members, &layer);
    let n = members[i].data.len();
    members[i].data[n - 10] ^= 0x80;
    let run = s.import("gz-flip", "bundle.tar.gz", &gzip(&write_tar(&members).0));
    s.assert_refused_up_front(&run, &[&blob_name(&layer)]);
    assert_eq!(s.dst.client().head_blob(&run.repos[0], &layer), None);
}

#[test]
fn sizes_that_disagree_and_missing_blobs_are_refused_before_pushing() {
    let s = setup(vec![("app", image(4, 4096))]);
    s.assert_good();
    let img = &s.images[0];
    let layer = img.layers[0].digest().to_string();
    let size = img.layers[0].blob.size() as u64;

    // The manifest says the layer is one byte longer than the (intact) member.
    let mut m = s.good.clone();
    let new = rewrite_manifest(&mut m, img.digest(), |v| {
        v["layers"][0]["size"] = (size + 1).into();
    });
    let run = s.import_members("layer-size", &m);
    let (has, says) = (size.to_string(), (size + 1).to_string());
    s.assert_refused_up_front(&run, &[&blob_name(&layer), &new, &has, &says]);

    // The member is one byte longer than the manifest says (same name).
    let mut m = s.good.clone();
    let i = layer_index(&m, &layer);
    m[i].data.push(0);
    let run = s.import_members("member-size", &m);
    s.assert_refused_up_front(&run, &[&blob_name(&layer), &(size + 1).to_string()]);

    // index.json's descriptor of the manifest has the wrong size.
    let mut m = s.good.clone();
    let mut idx = index_of(&m);
    let msize = img.manifest.size() as u64;
    idx["manifests"][0]["size"] = (msize - 1).into();
    set_index(&mut m, &idx);
    let run = s.import_members("manifest-size", &m);
    s.assert_refused_up_front(&run, &[&blob_name(img.digest()), &(msize - 1).to_string()]);

    // A layer the manifest names is not in the bundle; nor is the config.
    for (case, gone) in [("no-layer", &layer), ("no-config", &img.config.digest)] {
        let mut m = s.good.clone();
        m.remove(layer_index(&m, gone));
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, &[gone, "not in the bundle"]);
    }

    // A config that is not what its name says (a JSON blob, checked before anything moves).
    let mut m = s.good.clone();
    let i = layer_index(&m, &img.config.digest);
    m[i].data[1] ^= 0x01;
    let run = s.import_members("config-flip", &m);
    s.assert_refused_up_front(&run, &[&img.config.digest]);
}
