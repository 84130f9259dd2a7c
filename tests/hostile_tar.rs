//! `ferry import` of tars whose headers lie: member names with a NUL byte or over 4 KiB (by
//! PAX `path` and GNU long-name headers, the only ways past ustar's 100+155 bytes), and a PAX
//! `size` claiming a petabyte for a blob. Each is refused before anything is written to the
//! target, exit 1, naming the member, no tag, no file (see `bad_bundle::Setup::import`).

use crate::bad_bundle;
use crate::common;

use bad_bundle::*;
use common::*;

/// 10^15 bytes: far more than the file holds (and than any disk).
const PETABYTE: &str = "1000000000000000";

/// The good bundle with `extra` members appended (ferry must look at every member first).
fn with(s: &Setup, extra: Vec<Member>) -> Vec<u8> {
    let mut m = s.good.clone();
    m.extend(extra);
    write_tar(&m).0
}

#[test]
fn member_names_with_a_nul_byte_are_refused() {
    let s = setup(vec![("app", image(21, 4096))]);
    s.assert_good();
    let layer = blob_name(s.images[0].layers[0].digest());
    // A C extractor would read these as the layer's own name.
    let nul_name = format!("{layer}\0.evil");
    let cases: [(&str, Vec<Member>); 2] = [
        (
            "nul-pax",
            vec![
                Member::pax("path", &nul_name),
                Member::file("blobs/x", b"owned\n".to_vec()),
            ],
        ),
        (
            "nul-gnu",
            vec![
                Member::gnu_long_name(&nul_name),
                Member::file("blobs/y", b"owned\n".to_vec()),
            ],
        ),
    ];
    for (case, extra) in cases {
        let bytes = with(&s, extra.clone());
        let run = s.import(case, "bundle.tar", &bytes);
        s.assert_refused_up_front(&run, &[&layer, "NUL"]);
        let gz_case = format!("{case}-gz");
        let run = s.import(&gz_case, "bundle.tar.gz", &gzip(&bytes));
        s.assert_refused_up_front(&run, &[&layer, "NUL"]);
    }
    // The same name as the layer's member itself, replacing it.
    let mut m = s.good.clone();
    let i = m.iter().position(|x| x.is(&layer)).unwrap();
    m.insert(i, Member::pax("path", &nul_name));
    let run = s.import_members("nul-layer", &m);
    s.assert_refused_up_front(&run, &[&layer, "NUL"]);
}

#[test]
fn member_names_over_4_kib_are_refused() {
    let s = setup(vec![("app", image(22, 4096))]);
    let long = |n: usize| format!("blobs/sha256/{}", "a".repeat(n - "blobs/sha256/".len()));
    // 4096 bytes is the limit: such a member (not a blob of any image) does not stop an import.
    let at_limit = long(4096);
    let run = s.import(
        "name-4096",
        "bundle.tar",
        &with(
            &s,
            vec![Member::pax("path", &at_limit), Member::file("x", vec![1])],
        ),
    );
    assert_success(&run.out);
    assert_eq!(s.dst.client().head_manifest(&run.repos[0], "v1"), 200);

    let over = long(4097);
    let shown = &over[..200];
    let cases: [(&str, Vec<Member>); 3] = [
        (
            "name-4097-pax",
            vec![Member::pax("path", &over), Member::file("x", vec![1])],
        ),
        (
            "name-64k-pax",
            vec![
                Member::pax("path", &long(65536)),
                Member::file("x", vec![1]),
            ],
        ),
        (
            "name-4097-gnu",
            vec![Member::gnu_long_name(&over), Member::file("x", vec![1])],
        ),
    ];
    for (case, extra) in cases {
        let bytes = with(&s, extra);
        let run = s.import(case, "bundle.tar", &bytes);
        s.assert_refused_up_front(&run, &[shown, "longer than 4096 bytes"]);
        let err = stderr(&run.out);
        assert!(err.len() < 4096, "{case}: the whole name was printed");
        let gz_case = format!("{case}-gz");
        let run = s.import(&gz_case, "bundle.tar.gz", &gzip(&bytes));
        s.assert_refused_up_front(&run, &[shown, "longer than 4096 bytes"]);
    }
}

#[test]
fn a_pax_size_of_a_petabyte_is_refused_without_reading_it() {
    let s = setup(vec![("app", image(23, 4096))]);
    let layer = blob_name(s.images[0].layers[0].digest());
    let mut m = s.good.clone();
    let i = m.iter().position(|x| x.is(&layer)).unwrap();
    m.insert(i, Member::pax("size", PETABYTE));
    let bytes = write_tar(&m).0;
    let run = s.import("pax-size", "bundle.tar", &bytes);
    s.assert_refused_up_front(&run, &[&layer, PETABYTE]);
    let run = s.import("pax-size-gz", "bundle.tar.gz", &gzip(&bytes));
    s.assert_refused_up_front(&run, &[&layer, PETABYTE]);
    // On a JSON member too (ferry keeps those in memory: it must not reserve a petabyte).
    let mut m = s.good.clone();
    let i = m.iter().position(|x| x.is("index.json")).unwrap();
    m.insert(i, Member::pax("size", PETABYTE));
    let bytes = write_tar(&m).0;
    let run = s.import("pax-size-index", "bundle.tar", &bytes);
    s.assert_refused_up_front(&run, &["index.json", PETABYTE]);
    let run = s.import("pax-size-index-gz", "bundle.tar.gz", &gzip(&bytes));
    s.assert_refused_up_front(&run, &["index.json", PETABYTE]);
}
