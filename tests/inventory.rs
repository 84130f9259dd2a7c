//! `ferry inventory` on the disconnected side and `export --since-inventory` on the connected
//! one (DESIGN §12); `--since` with every bundle form ferry reads, and chains of differential
//! bundles.

use crate::common;
use crate::since;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use common::*;
use since::*;

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// An inventory's blobs: digest → (size, repositories).
fn held(inv: &serde_json::Value) -> BTreeMap<String, (u64, Vec<String>)> {
    inv["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let repos = b["repositories"].as_array().unwrap();
            let repos = repos.iter().map(|r| r.as_str().unwrap().to_string());
            let size = b["size"].as_u64().unwrap();
            (
                b["digest"].as_str().unwrap().to_string(),
                (size, repos.collect()),
            )
        })
        .collect()
}

/// Digest, size and repositories of each omitted blob (not where the other side has it).
fn left_out(bundle: &Path) -> BTreeMap<String, (u64, Vec<String>)> {
    omitted(&record(bundle))
        .into_iter()
        .map(|(d, (size, repos, _, _))| (d, (size, repos)))
        .collect()
}

#[test]
fn an_inventory_of_the_target_gives_the_same_omissions_as_the_bundle() {
    let w = World::start();
    w.push(2);
    let b = w.path("b.tar");
    assert_success(&w.export(&b, 2, &["--since", w.a.to_str().unwrap()]));

    // From bundle A: every blob of its images, HEADed where import put them.
    let inv = w.path("inventory.json");
    let o = ferry(&[
        "inventory",
        "--to",
        &w.prefix,
        w.a.to_str().unwrap(),
        "-o",
        inv.to_str().unwrap(),
    ]);
    assert_success(&o);
    assert!(
        stderr(&o).contains("3 of 3 image(s) present; 7 blob(s)"),
        "{}",
        stderr(&o)
    );
    let from_bundle = read_json(&inv);
    assert_eq!(
        from_bundle["mediaType"],
        "application/vnd.ferry.inventory.v1+json"
    );
    assert_eq!(from_bundle["prefix"], w.prefix.as_str());
    let mut want = BTreeMap::new();
    for i in 0..FIRST {
        let img = image(1, i);
        for (d, size) in [
            (img.config.digest.clone(), img.config.size()),
            (own(1, i).digest().into(), own(1, i).blob.size()),
        ] {
            want.insert(d, (size as u64, vec![w.target_repo(&w.prefix, i)]));
        }
    }
    let repos = (0..FIRST).map(|i| w.target_repo(&w.prefix, i)).collect();
    want.insert(base().digest().into(), (base().blob.size() as u64, repos));
    assert_eq!(held(&from_bundle), want);

    // From an image list: relocated manifests read and walked, no blob fetched. An image not
    // imported yet is reported absent.
    let list = w.path("images.txt");
    let mut refs = w.refs(1);
    refs.push(format!("{}:v2", w.source_repo(3)));
    std::fs::write(&list, refs.join("\n")).unwrap();
    let before = w.target.count_requests("GET", "/blobs/");
    let o = ferry(&["inventory", "--to", &w.prefix, list.to_str().unwrap()]);
    assert_success(&o);
    let from_list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(held(&from_list), want);
    let present: Vec<bool> = from_list["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["present"].as_bool().unwrap())
        .collect();
    assert_eq!(present, [true, true, true, false]);
    assert_eq!(w.target.count_requests("GET", "/blobs/"), before);
    assert_eq!(w.target.count_requests("GET", "_catalog"), 0);
    let o = ferry(&[
        "inventory",
        "--to",
        &w.prefix,
        "-f",
        list.to_str().unwrap(),
        "-q",
    ]);
    assert_success(&o);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    // The inventory leaves out what bundle A would: the same bundle but for the record.
    let b2 = w.path("b2.tar");
    let inv_arg = inv.to_str().unwrap();
    assert_success(&w.export(&b2, 2, &["--since-inventory", inv_arg]));
    assert_eq!(left_out(&b2), left_out(&b));
    let rec = omitted(&record(&b2));
    let base_entry = &rec[base().digest()];
    assert!(base_entry.2.is_empty(), "no earlier bundle: {base_entry:?}");
    let targets: Vec<String> = (0..FIRST).map(|i| w.target_repo(&w.prefix, i)).collect();
    assert_eq!(base_entry.3, targets);
    let strip = |b: &Path| {
        let mut m = members(b);
        m.remove(&blob_path(&record_digest(b)));
        m.remove("index.json");
        m
    };
    assert_eq!(strip(&b2), strip(&b));

    // And it imports onto the target: app3 gets the base mounted from an inventoried repo.
    let o = w.import(&b2, &w.prefix, &[]);
    assert_success(&o);
    let repo = w.target_repo(&w.prefix, 3);
    let (host, path) = repo.split_once('/').unwrap();
    let raw = skopeo_inspect_raw(host, &format!("{path}:v2"), &[]);
    assert_eq!(digest(&raw), image(2, 3).digest());
}

#[test]
fn since_reads_every_bundle_form_and_chains_differential_bundles() {
    let w = World::start();
    w.push(2);
    let b = w.path("b.tar");
    assert_success(&w.export(&b, 2, &["--since", w.a.to_str().unwrap()]));
    let bytes = std::fs::read(&b).unwrap();

    // A as .tar.gz, as a layout directory and as split parts: the same bundle B, byte for byte.
    let gz = w.path("a.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(&w.a).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    let dir = w.path("a-layout");
    unpack(&w.a, &dir);
    let split = w.path("a-split.tar");
    assert_success(&w.export(&split, 1, &["--split-size", "8K"]));
    assert!(w.path("a-split.tar.001").exists());
    let parts = w.path("a-split.tar.000");
    for (n, a) in [gz, dir, parts].iter().enumerate() {
        let out = w.path(&format!("b{n}.tar"));
        assert_success(&w.export(&out, 2, &["--since", a.to_str().unwrap()]));
        assert!(
            std::fs::read(&out).unwrap() == bytes,
            "--since {}",
            a.display()
        );
    }

    // C since B: what B carried and what B left out are both on the other side.
    w.push(3);
    let c = w.path("c.tar");
    assert_success(&w.export(&c, 3, &["--since", b.to_str().unwrap()]));
    let carried: Vec<String> = members(&c)
        .keys()
        .filter(|m| m.starts_with("blobs/"))
        .cloned()
        .collect();
    for i in 0..LATER {
        assert!(carried.contains(&blob_path(own(3, i).digest())));
        for l in [base(), own(2, i)] {
            assert!(
                !carried.contains(&blob_path(l.digest())),
                "C carries {}",
                l.digest()
            );
        }
    }
    let rec = omitted(&record(&c));
    assert_eq!(rec.len(), 1 + FIRST + LATER, "{rec:?}");
    let all: Vec<String> = (0..LATER).map(|i| w.source_repo(i)).collect();
    assert_eq!(rec[base().digest()].1, all);
    assert_eq!(
        rec[base().digest()].2,
        all,
        "B's record and images say where the base is"
    );

    // B (gzipped: two streaming passes) then C (from a pipe) onto the target that has A.
    let b_gz = w.path("b.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&b_gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&bytes).unwrap();
    enc.finish().unwrap();
    assert_success(&w.import(&b_gz, &w.prefix, &[]));
    let m = w.path("m.json");
    let mut pipe = ferry_cmd(&[
        "import",
        "-",
        "--to",
        &w.prefix,
        "--mapping-out",
        m.to_str().unwrap(),
    ]);
    pipe.stdin(std::fs::File::open(&c).unwrap());
    assert_success(&pipe.output().unwrap());
    for i in 0..LATER {
        let repo = w.target_repo(&w.prefix, i);
        let (host, path) = repo.split_once('/').unwrap();
        let raw = skopeo_inspect_raw(host, &format!("{path}:v3"), &[]);
        assert_eq!(digest(&raw), image(3, i).digest(), "{repo}:v3");
    }
    // C alone needs B's layers: a target with only A lacks them, and says so.
    let other = Registry::start();
    let prefix = format!("{}/team", other.host);
    assert_success(&w.import(&w.a, &prefix, &[]));
    let o = w.import(&c, &prefix, &[]);
    assert_failure(&o, &[own(2, 0).digest(), "nothing was pushed"]);
}
