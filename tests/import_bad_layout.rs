//! `ferry import` of hostile layouts: member names that escape the layout, links and devices,
//! and a missing, broken, oversized or self-contradicting `index.json`. Each is refused
//! before anything is written to the target, with a message naming the member or reference,
//! and no file appears anywhere (see `bad_bundle::Setup::import`).

use crate::bad_bundle;
use crate::common;

use std::path::Path;

use bad_bundle::*;
use common::*;
use serde_json::Value;

/// 4 MiB, ferry's limit for JSON documents (DESIGN §2).
const JSON_LIMIT: usize = 4 << 20;

#[test]
fn unsafe_member_names_and_types_are_refused() {
    let s = setup(vec![("app", image(5, 4096))]);
    s.assert_good();
    let layer = s.images[0].layers[0].digest().to_string();
    let outside = s.dir.path().join("abs-evil");
    let etc_x_before = Path::new("/etc/x").exists();

    // Extra members at the end of a good bundle: ferry must look at every member first.
    let names: [(&str, String, &[&str]); 4] = [
        ("dotdot", "../evil".into(), &["../evil", "'..'"]),
        (
            "dotdot-blob",
            "blobs/../../evil".into(),
            &["blobs/../../evil", "'..'"],
        ),
        ("absolute", "/etc/x".into(), &["/etc/x", "absolute"]),
        ("absolute-tmp", outside.display().to_string(), &["absolute"]),
    ];
    for (case, name, needles) in names {
        let mut m = s.good.clone();
        m.push(Member::file(&name, b"owned\n".to_vec()));
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, needles);
        assert!(
            stderr(&run.out).contains(&name),
            "{case}: stderr does not name {name}"
        );
    }
    // Names that become unsafe only through an extension header or the ustar prefix field.
    let hidden: [(&str, Vec<Member>); 3] = [
        (
            "pax-path",
            vec![
                Member::pax("path", "../pax-evil"),
                Member::file("blobs/x", vec![1]),
            ],
        ),
        (
            "gnu-long",
            vec![
                Member::gnu_long_name("../gnu-evil"),
                Member::file("blobs/y", vec![1]),
            ],
        ),
        (
            "prefix",
            vec![Member {
                prefix: b"..".to_vec(),
                ..Member::file("prefix-evil", vec![1])
            }],
        ),
    ];
    for (case, extra) in hidden {
        let mut m = s.good.clone();
        m.extend(extra);
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, &["'..'", "-evil"]);
    }
    // The same in a .tar.gz, which is read by another path.
    for (case, name) in [("gz-dotdot", "../evil"), ("gz-absolute", "/etc/x")] {
        let mut m = s.good.clone();
        m.push(Member::file(name, b"owned\n".to_vec()));
        let run = s.import(case, "bundle.tar.gz", &gzip(&write_tar(&m).0));
        s.assert_refused_up_front(&run, &[name]);
    }
    assert!(!outside.exists(), "{} was written", outside.display());
    assert!(!s.dir.path().join("evil").exists());
    assert_eq!(
        Path::new("/etc/x").exists(),
        etc_x_before,
        "/etc/x was written"
    );

    // The layer's member replaced by a link or a device, and a link beside the blobs.
    let layer_name = blob_name(&layer);
    let links = [
        (
            "symlink",
            Member::link(&layer_name, SYMLINK, "/etc/passwd"),
            "symbolic link",
        ),
        (
            "hardlink",
            Member::link(&layer_name, HARDLINK, "index.json"),
            "hard link",
        ),
        ("device", Member::link(&layer_name, b'3', ""), "device"),
        ("fifo", Member::link(&layer_name, b'6', ""), "FIFO"),
    ];
    for (case, member, reason) in links {
        let mut m = s.good.clone();
        let i = m.iter().position(|x| x.is(&layer_name)).unwrap();
        m[i] = member;
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, &[&layer_name, reason]);
    }
    let mut m = s.good.clone();
    m.push(Member::link("blobs/sha256/passwd", SYMLINK, "/etc/passwd"));
    let run = s.import_members("extra-symlink", &m);
    s.assert_refused_up_front(&run, &["blobs/sha256/passwd", "symbolic link"]);
    for (case, kind, reason) in [
        ("gz-symlink", SYMLINK, "symbolic link"),
        ("gz-hardlink", HARDLINK, "hard link"),
    ] {
        let mut m = s.good.clone();
        let i = m.iter().position(|x| x.is(&layer_name)).unwrap();
        m[i] = Member::link(&layer_name, kind, "index.json");
        let run = s.import(case, "bundle.tar.gz", &gzip(&write_tar(&m).0));
        s.assert_refused_up_front(&run, &[&layer_name, reason]);
    }

    // A blob twice, the second copy different: which one would be pushed?
    let mut m = s.good.clone();
    let i = m.iter().position(|x| x.is(&layer_name)).unwrap();
    let mut copy = m[i].clone();
    copy.data[0] ^= 0x01;
    m.push(copy);
    let run = s.import_members("duplicate", &m);
    s.assert_refused_up_front(&run, &[&layer_name, "twice"]);
}

#[test]
fn missing_broken_and_oversized_index_json_are_refused() {
    let s = setup(vec![("app", image(6, 4096))]);

    let mut m = s.good.clone();
    m.retain(|x| !x.is("index.json"));
    let run = s.import_members("no-index", &m);
    s.assert_refused_up_front(&run, &["index.json"]);

    for (case, text) in [
        ("not-json", &b"this is {not json"[..]),
        ("not-an-index", &b"[1, 2, 3]"[..]),
        ("bad-digest", br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../etc/passwd","size":1}]}"#),
    ] {
        let mut m = s.good.clone();
        m.iter_mut().find(|x| x.is("index.json")).unwrap().data = text.to_vec();
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, &["index.json"]);
    }

    // A valid index.json one byte over the limit (padded with spaces).
    let mut m = s.good.clone();
    let idx = m.iter_mut().find(|x| x.is("index.json")).unwrap();
    idx.data.resize(JSON_LIMIT + 1, b' ');
    let run = s.import_members("big-index", &m);
    s.assert_refused_up_front(&run, &["index.json", &(JSON_LIMIT + 1).to_string()]);
    // At the limit exactly it is fine.
    idx_at_limit(&s);
}

fn idx_at_limit(s: &Setup) {
    let mut m = s.good.clone();
    let idx = m.iter_mut().find(|x| x.is("index.json")).unwrap();
    idx.data.resize(JSON_LIMIT, b' ');
    let run = s.import_members("limit-index", &m);
    assert_success(&run.out);
    assert_eq!(s.dst.client().head_manifest(&run.repos[0], "v1"), 200);
}

#[test]
fn one_reference_with_two_digests_is_refused() {
    let images = vec![("app", image(7, 4096)), ("other", image(8, 4096))];
    let mut digests: Vec<String> = images.iter().map(|(_, i)| i.digest().to_string()).collect();
    digests.sort();
    let s = setup(images);
    s.assert_good();
    let mut m = s.good.clone();
    let mut idx = index_of(&m);
    let entries = idx["manifests"].as_array_mut().unwrap();
    let mut listed: Vec<String> = entries
        .iter()
        .map(|e| e["digest"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, digests, "one entry per image");
    let names: Value = entries[0]["annotations"].clone();
    let first = names["io.containerd.image.name"]
        .as_str()
        .unwrap()
        .to_string();
    entries[1]["annotations"] = names;
    let (a, b) = (
        entries[0]["digest"].as_str().unwrap().to_string(),
        entries[1]["digest"].as_str().unwrap().to_string(),
    );
    assert_ne!(a, b);
    set_index(&mut m, &idx);
    let run = s.import_members("twice", &m);
    s.assert_refused_up_front(&run, &[&first, &a, &b, "twice"]);

    // The same reference twice with the same digest is no contradiction.
    let mut m = s.good.clone();
    let mut idx = index_of(&m);
    let entries = idx["manifests"].as_array_mut().unwrap();
    let dup = entries[0].clone();
    entries.push(dup);
    set_index(&mut m, &idx);
    let run = s.import_members("same-twice", &m);
    assert_success(&run.out);
}
