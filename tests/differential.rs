//! Differential bundles (DESIGN §12): `export --since` leaves out the layers the other side
//! has and records them (`io.ferry.omitted`); import checks they are in the target before
//! pushing anything; verify and inspect call them omitted, not missing.

use crate::common;
use crate::since;

use std::collections::BTreeMap;

use common::*;
use since::*;

/// What bundle B (v2 since A) must hold: layout files, the record, every manifest and config,
/// and only the layers A did not carry.
fn expected_members(b: &std::path::Path) -> BTreeMap<String, u64> {
    let mut want = BTreeMap::new();
    want.insert("oci-layout".to_string(), 30);
    want.insert(
        "index.json".to_string(),
        member(b, "index.json").len() as u64,
    );
    let rec = blob_path(&record_digest(b));
    want.insert(rec.clone(), member(b, &rec).len() as u64);
    for i in 0..LATER {
        let img = image(2, i);
        want.insert(blob_path(img.digest()), img.manifest.size() as u64);
        want.insert(blob_path(&img.config.digest), img.config.size() as u64);
        let new = own(2, i);
        want.insert(blob_path(new.digest()), new.blob.size() as u64);
    }
    want
}

#[test]
fn a_bundle_since_another_carries_only_new_layers_and_imports_onto_it() {
    let w = World::start();
    w.push(2);
    let b = w.path("b.tar");
    let o = w.export(&b, 2, &["--since", w.a.to_str().unwrap(), "--json"]);
    assert_success(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let left_out_blobs = all_left_out().len();
    assert_eq!(summary["omitted_blobs"], left_out_blobs, "{summary}");

    // Members and size: manifests, configs and new layers only.
    let got = members(&b);
    assert_eq!(got, expected_members(&b));
    assert_eq!(std::fs::metadata(&b).unwrap().len(), tar_size(&got));
    for l in [base()].into_iter().chain((0..FIRST).map(|i| own(1, i))) {
        assert!(
            !got.contains_key(&blob_path(l.digest())),
            "{} carried",
            l.digest()
        );
    }

    // The record lists exactly the layers left out, with sizes and repositories.
    let rec = record(&b);
    assert_eq!(rec["mediaType"], "application/vnd.ferry.omitted.v1+json");
    assert_eq!(rec["schemaVersion"], 1);
    let repos =
        |r: std::ops::Range<usize>| -> Vec<String> { r.map(|i| w.source_repo(i)).collect() };
    let mut want = Omitted::new();
    let bl = base();
    want.insert(
        bl.digest().into(),
        (
            bl.blob.size() as u64,
            repos(0..LATER),
            repos(0..FIRST),
            vec![],
        ),
    );
    for i in 0..FIRST {
        let l = own(1, i);
        let r = vec![w.source_repo(i)];
        want.insert(
            l.digest().into(),
            (l.blob.size() as u64, r.clone(), r, vec![]),
        );
    }
    assert_eq!(omitted(&rec), want);

    // verify and inspect: omitted, not missing.
    let v = ferry(&["verify", b.to_str().unwrap()]);
    assert_success(&v);
    let text = String::from_utf8_lossy(&v.stdout);
    let differential = format!("differential bundle: {left_out_blobs} layer blob(s)");
    assert!(text.contains(&differential), "{text}");
    assert!(
        text.contains(&format!(
            "layer omitted on purpose (differential): {}",
            bl.digest()
        )),
        "{text}"
    );
    assert!(text.contains("verify: OK"), "{text}");
    let v = ferry(&["verify", b.to_str().unwrap(), "--json"]);
    assert_success(&v);
    let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(report["omitted"]["blobs"], left_out_blobs);
    assert_eq!(report["omitted"]["record"], record_digest(&b).as_str());
    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), LATER, "{report}");
    for (i, img) in images.iter().enumerate() {
        assert_eq!(
            img["omitted"].as_array().unwrap().len(),
            left_out(i).len(),
            "image {i}: {img}"
        );
    }
    let i = ferry(&["inspect", b.to_str().unwrap()]);
    assert_success(&i);
    let text = String::from_utf8_lossy(&i.stdout);
    assert!(text.contains(&differential), "{text}");
    let first = format!("├─ omitted     {} layer(s)", left_out(0).len());
    assert!(text.contains(&first), "{text}");
    assert!(!text.contains("problems"), "{text}");
    let i = ferry(&["inspect", b.to_str().unwrap(), "--json"]);
    let info: serde_json::Value = serde_json::from_slice(&i.stdout).unwrap();
    let shown: BTreeMap<String, u64> = info["images"][0]["omitted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["digest"].as_str().unwrap().into(),
                o["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = left_out(0)
        .iter()
        .map(|l| (l.digest().to_string(), l.blob.size() as u64))
        .collect();
    assert_eq!(shown, want);
    assert!(info["problems"].as_array().unwrap().is_empty(), "{info}");

    // Import onto the target that has A: the new repository gets the base by a mount.
    let o = w.import(&b, &w.prefix, &[]);
    assert_success(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["omitted"], left_out_blobs, "{summary}");
    assert!(
        summary["blobs"]["mounted"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    let c = w.target.client();
    for i in 0..LATER {
        let img = image(2, i);
        let repo = w.target_repo(&w.prefix, i);
        let (host, path) = repo.split_once('/').unwrap();
        let raw = skopeo_inspect_raw(host, &format!("{path}:v2"), &[]);
        assert_eq!(digest(&raw), img.digest(), "{repo}:v2");
        for d in img.blob_digests() {
            assert!(c.head_blob(path, &d).is_some(), "{repo} lacks {d}");
        }
    }
    // The v1 tags still serve what A carried.
    let repo = w.target_repo(&w.prefix, 0);
    let (host, path) = repo.split_once('/').unwrap();
    let raw = skopeo_inspect_raw(host, &format!("{path}:v1"), &[]);
    assert_eq!(digest(&raw), image(1, 0).digest());
}

#[test]
fn a_differential_bundle_into_an_empty_registry_pushes_nothing_and_names_what_is_missing() {
    let w = World::start();
    w.push(2);
    let b = w.path("b.tar");
    assert_success(&w.export(&b, 2, &["--since", w.a.to_str().unwrap()]));
    let empty = Registry::start();
    let prefix = format!("{}/team", empty.host);
    let o = w.import(&b, &prefix, &[]);
    // Every image needs what was left out for it (the base; the first ones their v1 layer
    // too): one place per (image, layer), all named.
    let places: usize = (0..LATER).map(|i| left_out(i).len()).sum();
    let missing = format!("missing ({places})");
    assert_failure(&o, &[&missing, "nothing was pushed", "--since"]);
    let err = stderr(&o);
    for i in 0..LATER {
        let repo = w.target_repo(&prefix, i);
        for l in left_out(i) {
            let tail = format!("is not in {repo}");
            assert!(
                err.lines()
                    .any(|x| x.contains(&format!("layer {} (", l.digest())) && x.ends_with(&tail)),
                "no line for {} in {repo}:\n{err}",
                l.digest()
            );
        }
    }
    assert!(writes(&empty).is_empty(), "{:?}", writes(&empty));
}

#[test]
fn a_broken_differential_bundle_is_refused_before_anything_is_pushed() {
    let w = World::start();
    w.push(2);
    let b = w.path("b.tar");
    assert_success(&w.export(&b, 2, &["--since", w.a.to_str().unwrap()]));
    let before = writes(&w.target).len();

    // A layer neither in the bundle nor in its record is missing, as in any bundle.
    let layout = w.path("layout");
    unpack(&b, &layout);
    let gone = own(2, 1);
    let gone_path = layout.join(blob_path(gone.digest()));
    let bytes = std::fs::read(&gone_path).unwrap();
    std::fs::remove_file(&gone_path).unwrap();
    let o = w.import(&layout, &w.prefix, &[]);
    assert_failure(
        &o,
        &[&format!("layer {} is not in the bundle", gone.digest())],
    );
    let v = ferry(&["verify", layout.to_str().unwrap()]);
    assert_failure(&v, &[gone.digest(), "missing"]);
    std::fs::write(&gone_path, bytes).unwrap();
    assert_success(&ferry(&["verify", layout.to_str().unwrap()]));

    // The record itself must be there: without it, left-out layers are just missing.
    let rec = layout.join(blob_path(&record_digest(&b)));
    std::fs::remove_file(&rec).unwrap();
    let o = w.import(&layout, &w.prefix, &[]);
    assert_failure(&o, &["io.ferry.omitted", &record_digest(&b), "incomplete"]);
    let v = ferry(&["verify", layout.to_str().unwrap()]);
    assert_failure(&v, &["io.ferry.omitted", base().digest()]);
    let i = ferry(&["inspect", layout.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&i.stdout).contains("io.ferry.omitted"));
    assert_eq!(writes(&w.target).len(), before, "something was pushed");
}
