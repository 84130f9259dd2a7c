//! `ferry import` (and `ferry verify`) of bundles whose JSON is hostile: nested 10 000 deep
//! (no stack overflow: a clean error), invalid reference names, `io.ferry.subject` loops,
//! indexes nested past the depth limit, and an index child missing from a non-sparse entry.
//! Each is refused before anything is written to the target: exit 1, a message naming the
//! document, reference or digest, no tag, no file.

use crate::bad_bundle;
use crate::common;

use std::process::Output;

use bad_bundle::*;
use common::*;
use serde_json::{json, Value};

const DEEP: usize = 10_000;
/// An edit of `index.json`.
type Edit = fn(&mut Value);
const MARK: &str = "\"__deep__\"";

/// `[[[…]]]` and `{"a":{"a":…1}}`, `DEEP` levels each.
fn arrays() -> String {
    format!("{}{}", "[".repeat(DEEP), "]".repeat(DEEP))
}
fn objects() -> String {
    format!("{}1{}", "{\"a\":".repeat(DEEP), "}".repeat(DEEP))
}

/// `v` serialised with the string `"__deep__"` replaced by `deep` (a `Value` that deep could
/// not be built or serialised without deep recursion in the test itself).
fn with_deep(v: &Value, deep: &str) -> Vec<u8> {
    let text = serde_json::to_string(v).unwrap();
    assert!(text.contains(MARK));
    text.replace(MARK, deep).into_bytes()
}

/// `ferry verify` of `members` written as `<case>.tar` in the setup's directory.
fn verify(s: &Setup, case: &str, members: &[Member]) -> Output {
    let p = s.dir.path().join(format!("{case}.tar"));
    std::fs::write(&p, write_tar(members).0).unwrap();
    ferry(&["verify", p.to_str().unwrap()])
}

#[test]
fn json_nested_ten_thousand_deep_is_an_error_not_a_stack_overflow() {
    let s = setup(vec![("app", image(31, 4096))]);
    let img = &s.images[0];
    let idx = index_of(&s.good);
    // In index.json: as `manifests`, as a descriptor, as its platform, as an annotation value.
    let spots: [(&str, Edit); 4] = [
        ("deep-manifests", |v| v["manifests"] = json!("__deep__")),
        ("deep-entry", |v| v["manifests"][0] = json!("__deep__")),
        ("deep-platform", |v| {
            v["manifests"][0]["platform"] = json!("__deep__")
        }),
        ("deep-annotation", |v| {
            v["manifests"][0]["annotations"]["a"] = json!("__deep__")
        }),
    ];
    for (case, edit) in spots {
        for (shape, deep) in [("arrays", arrays()), ("objects", objects())] {
            let case = format!("{case}-{shape}");
            let mut v = idx.clone();
            edit(&mut v);
            let mut m = s.good.clone();
            m.iter_mut().find(|x| x.is("index.json")).unwrap().data = with_deep(&v, &deep);
            let run = s.import_members(&case, &m);
            s.assert_refused_up_front(&run, &["index.json"]);
            assert_failure(&verify(&s, &case, &m), &["index.json"]);
        }
    }
    // In a manifest (a layer's annotation) and in the config, both with valid digests.
    let mut man: Value = serde_json::from_slice(&img.manifest.bytes).unwrap();
    man["layers"][0]["annotations"] = json!({"a": "__deep__"});
    let mut m = s.good.clone();
    let new = swap_blob(&mut m, img.digest(), with_deep(&man, &arrays()));
    let run = s.import_members("deep-manifest", &m);
    s.assert_refused_up_front(&run, &[&new]);
    assert_failure(&verify(&s, "deep-manifest", &m), &[&new]);

    let mut cfg: Value = serde_json::from_slice(&img.config.bytes).unwrap();
    cfg["config"]["Labels"] = json!({"a": "__deep__"});
    let mut m = s.good.clone();
    let new = swap_blob(&mut m, &img.config.digest, with_deep(&cfg, &objects()));
    let run = s.import_members("deep-config", &m);
    s.assert_refused_up_front(&run, &[&new, "config"]);
}

#[test]
fn invalid_reference_names_are_refused() {
    let s = setup(vec![("app", image(32, 4096))]);
    let host = &s.src.host;
    let bad = [
        ("ref-upper", format!("{host}/src/App:v1")),
        ("ref-tag", format!("{host}/src/app:v1 latest")),
        ("ref-newline", format!("{host}/src/app:v1\nerror: none")),
        ("ref-dotdot", format!("{host}/../../etc/passwd:v1")),
        ("ref-digest", format!("{host}/src/app@sha256:1234")),
        ("ref-colons", format!("{host}/src/app:v1:v2")),
        ("ref-long", format!("{host}/src/{}:v1", "a".repeat(300))),
    ];
    let entry = index_of(&s.good)["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    for (case, name) in &bad {
        let mut m = s.good.clone();
        let mut idx = index_of(&m);
        idx["manifests"][0]["annotations"]["io.containerd.image.name"] = json!(name);
        set_index(&mut m, &idx);
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, &["invalid image reference", &entry]);
    }
    // Only `ref.name`, a full reference (so ferry reads it), invalid.
    let mut m = s.good.clone();
    let mut idx = index_of(&m);
    let a = idx["manifests"][0]["annotations"].as_object_mut().unwrap();
    a.remove("io.containerd.image.name");
    a.insert("org.opencontainers.image.ref.name".into(), json!(bad[0].1));
    set_index(&mut m, &idx);
    let run = s.import_members("ref-name-upper", &m);
    s.assert_refused_up_front(&run, &["invalid image reference", &entry]);
}

#[test]
fn subjects_that_form_a_loop_are_refused() {
    let s = setup(vec![("app", image(33, 4096)), ("other", image(34, 4096))]);
    let (a, b) = (s.images[0].digest(), s.images[1].digest());
    let loops: [(&str, [Option<&str>; 2]); 2] = [
        ("subject-loop", [Some(b), Some(a)]),
        ("subject-self", [Some(a), None]),
    ];
    for (case, subjects) in loops {
        let mut m = s.good.clone();
        let mut idx = index_of(&m);
        for (e, subject) in idx["manifests"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .zip(subjects)
        {
            if let Some(d) = subject {
                e["annotations"]["io.ferry.subject"] = json!(d);
            }
        }
        set_index(&mut m, &idx);
        let run = s.import_members(case, &m);
        s.assert_refused_up_front(&run, &[a, "io.ferry.subject", "cycle"]);
        assert_failure(&verify(&s, case, &m), &[a, "cycle"]);
    }
}

/// The bundle with index blobs wrapping the app's manifest `levels` times.
fn nest(s: &Setup, levels: usize) -> Vec<Member> {
    let img = &s.images[0];
    let mut m = s.good.clone();
    let mut inner = img.manifest.descriptor();
    inner["platform"] = json!({"os": "linux", "architecture": "amd64"});
    for _ in 0..levels {
        let b = index_blob(OCI_INDEX, &[inner]);
        m.push(Member::file(&blob_name(&b.digest), b.bytes.clone()));
        inner = b.descriptor();
    }
    let mut idx = index_of(&m);
    let e = &mut idx["manifests"][0];
    for k in ["mediaType", "digest", "size"] {
        e[k] = inner[k].clone();
    }
    set_index(&mut m, &idx);
    m
}

#[test]
fn indexes_nested_past_the_limit_and_missing_children_are_refused() {
    let s = setup(vec![("app", image(35, 4096))]);
    // Control: an index of an index of the manifest imports.
    let run = s.import_members("nested-2", &nest(&s, 2));
    assert_success(&run.out);
    assert_eq!(s.dst.client().head_manifest(&run.repos[0], "v1"), 200);
    let m = nest(&s, 40);
    let run = s.import_members("nested-40", &m);
    s.assert_refused_up_front(&run, &["nested more than 16"]);
    assert!(stderr(&run.out).contains("sha256:"), "{}", stderr(&run.out));
    assert_failure(
        &verify(&s, "nested-40", &m),
        &["nested more than 16 levels"],
    );

    // An index of linux/amd64 (present) and linux/arm64 (absent), sparse with the absent
    // platform among those it says it kept: refused. Without io.ferry.platforms it reads as
    // another tool's sparse export (DESIGN §2): a warning, and --sparse applies.
    let img = &s.images[0];
    let absent = Blob::new(OCI_MANIFEST, b"{\"absent\": true}".to_vec());
    let index = index_blob(
        OCI_INDEX,
        &[
            index_entry(&img.manifest, Some(&Platform::parse("linux/amd64")), None),
            index_entry(&absent, Some(&Platform::parse("linux/arm64")), None),
        ],
    );
    for (case, kept) in [("no-child", None), ("no-kept-child", Some("linux/arm64"))] {
        let mut m = s.good.clone();
        m.push(Member::file(&blob_name(&index.digest), index.bytes.clone()));
        let mut idx = index_of(&m);
        let e = &mut idx["manifests"][0];
        for (k, v) in index.descriptor().as_object().unwrap() {
            e[k] = v.clone();
        }
        if let Some(k) = kept {
            e["annotations"]["io.ferry.platforms"] = json!(k);
        }
        set_index(&mut m, &idx);
        let run = s.import_members(case, &m);
        if kept.is_none() {
            assert_failure(&run.out, &["refused the sparse index", "linux/arm64"]);
            let o = verify(&s, case, &m);
            assert_success(&o);
            assert!(stderr(&o).contains(&absent.digest), "{}", stderr(&o));
            continue;
        }
        s.assert_refused_up_front(&run, &[&absent.digest, "linux/arm64", "not in the bundle"]);
        assert_failure(&verify(&s, case, &m), &[&absent.digest, "missing"]);
    }
}
