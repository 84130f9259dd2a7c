//! `--timeout` against registries that stop talking (DESIGN §1, §10): headers and then a stalled
//! body, a body dripped a byte a second, a port that accepts and never answers. Each run ends
//! with an error naming registry, image, blob and the timeout within `--timeout` × (retries + 1)
//! plus a few seconds; a stall that happens once is retried and the bundle is byte for byte.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::http_proxy::{Fault, HttpProxy, Rule};
use common::measure::{assert_bounded_failure, run_measured, Measured};
use common::misbehave::{black_hole, Act, Front};
use common::tarball::members;
use common::*;

const TIMEOUT: Duration = Duration::from_secs(2);
const RETRIES: u32 = 1;
/// Flags of every run here: a 2 s window and one retry.
const FLAGS: [&str; 4] = ["--timeout", "2s", "--retries", "1"];
/// What the final error says about the window and the attempts.
const SAYS: &str = "in 2 s (--timeout 2s), 2 attempts";

/// The bound: every attempt may use its window, plus a few seconds for the rest.
fn bound() -> Duration {
    TIMEOUT * (RETRIES + 1) + Duration::from_secs(3)
}

fn image(reg: &Registry, repo: &str, seed: u64) -> Image {
    let layers = (0..2)
        .map(|i| layer_with(OCI_LAYER_GZIP, seed + i, 3 << 20))
        .collect();
    let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
    img.push(&reg.client(), repo, Some("v1"));
    img
}

/// `ferry export HOST/REPO:v1 -o OUT FLAGS extra`, killed after a minute.
fn export(host: &str, repo: &str, out: &Path, extra: &[&str]) -> Measured {
    let image = format!("{host}/{repo}:v1");
    let mut args = vec!["export", image.as_str(), "-o", out.to_str().unwrap()];
    args.extend(FLAGS);
    args.extend(extra);
    run_measured(ferry_cmd(&args), Duration::from_secs(60))
}

fn bundle_digests(bundle: &Path) -> Vec<String> {
    members(bundle)
        .into_iter()
        .filter(|(n, _)| n.starts_with("blobs/"))
        .map(|(_, b)| digest(&b))
        .collect()
}

fn assert_stall_fails(act: Act, repo: &str, says: &str) {
    let reg = Registry::start();
    let img = image(&reg, repo, 10);
    let front = Front::start(&reg.host);
    let layer = img.layers[1].digest();
    front.rule("GET", layer, act, 100);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let m = export(&front.addr, repo, &out, &[]);
    let image = format!("{}/{repo}:v1", front.addr);
    assert_bounded_failure(&m, bound(), 512, &[&image, layer, &front.addr, says, SAYS]);
    assert!(
        m.elapsed >= TIMEOUT * (RETRIES + 1),
        "gave up after {:?}, before two windows passed",
        m.elapsed
    );
    let tries = front
        .seen()
        .iter()
        .filter(|s| s.target.contains(layer))
        .count();
    assert_eq!(tries, 2, "one attempt and one retry: {:?}", front.seen());
    assert!(!out.exists());
}

#[test]
fn headers_then_a_stalled_body_fail_within_the_timeout() {
    assert_stall_fails(Act::Stall(1000), "t/stall", "no body data");
}

#[test]
fn a_body_of_one_byte_a_second_fails_within_the_timeout() {
    assert_stall_fails(Act::Drip(Duration::from_secs(1)), "t/drip", "under 1 KiB");
}

#[test]
fn a_registry_that_accepts_and_never_answers_fails_within_the_timeout() {
    let (_listener, addr) = black_hole();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let m = export(&addr, "t/silent", &out, &[]);
    let image = format!("{addr}/t/silent:v1");
    assert_bounded_failure(&m, bound(), 512, &[&image, "manifest", SAYS]);
    assert!(m.elapsed >= TIMEOUT * (RETRIES + 1), "{:?}", m.elapsed);
    // The same over plain http: the request is sent, no answer comes.
    let m = export(&addr, "t/silent", &out, &["--plain-http", &addr]);
    assert_bounded_failure(&m, bound(), 512, &[&image, "no response", SAYS]);
    assert!(m.elapsed >= TIMEOUT * (RETRIES + 1), "{:?}", m.elapsed);
}

#[test]
fn a_stall_that_happens_once_is_retried_and_the_bundle_is_identical() {
    let reg = Registry::start();
    let img = image(&reg, "t/once", 20);
    let front = Front::start(&reg.host);
    let layer = img.layers[0].digest();
    front.rule("GET", "/manifests/v1", Act::Silent, 1);
    front.rule(
        "GET",
        "/manifests/",
        Act::Drip(Duration::from_millis(300)),
        1,
    );
    front.rule("GET", layer, Act::Stall(1 << 20), 1);
    front.rule(
        "GET",
        img.layers[1].digest(),
        Act::Drip(Duration::from_millis(300)),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    let m = export(&front.addr, "t/once", &out, &[]);
    assert_eq!(m.code, Some(0), "{}", m.stderr);
    eprintln!("export with four stalls: {:?}", m.elapsed);
    let mut want = img.blob_digests();
    want.push(img.digest().to_string());
    want.sort();
    let mut got = bundle_digests(&out);
    got.sort();
    assert_eq!(got, want);
    // The cut layer resumed where the stall left it instead of starting over.
    let seen = front.seen();
    assert!(
        seen.iter()
            .any(|s| s.target.contains(layer) && s.range.as_deref() == Some("bytes=1048576-")),
        "no resumed GET: {seen:?}"
    );

    // Import: the first blob PUT gets no answer; the upload restarts and lands whole.
    let source = format!("{}/t/once", front.addr);
    let dst = Registry::start();
    let front = Front::start(&dst.host);
    front.rule("PUT", "/blobs/uploads/", Act::Silent, 1);
    let to = format!("{}/team", front.addr);
    let map = dir.path().join("m.json");
    let mut args = vec![
        "import",
        out.to_str().unwrap(),
        "--to",
        &to,
        "--mapping-out",
        map.to_str().unwrap(),
        "-j",
        "1",
    ];
    args.extend(FLAGS);
    let m = run_measured(ferry_cmd(&args), Duration::from_secs(60));
    assert_eq!(m.code, Some(0), "{}\n{:?}", m.stderr, front.seen());
    eprintln!("import with a silent PUT: {:?}", m.elapsed);
    let repo = format!("team/t-once-{:x}", md5::compute(source.as_bytes()));
    for d in img.blob_digests() {
        assert_eq!(digest(&get_blob(&dst.host, &repo, &d)), d);
    }
}

#[test]
fn only_statuses_that_may_change_are_retried() {
    let reg = Registry::start();
    image(&reg, "t/status", 30);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.tar");
    for (status, tries) in [(501, 1), (505, 1), (504, 3), (408, 3)] {
        let proxy = HttpProxy::start(&reg.host);
        proxy.rule(Rule::new(
            None,
            "/manifests/v1",
            Fault::Status(status, None),
            100,
        ));
        let image = format!("{}/t/status:v1", proxy.addr);
        let o = ferry(&[
            "export",
            &image,
            "-o",
            out.to_str().unwrap(),
            "--retries",
            "2",
        ]);
        assert_failure(&o, &[&image, &status.to_string()]);
        let seen = proxy
            .seen()
            .iter()
            .filter(|(_, t, _)| t.contains("/manifests/v1"))
            .count();
        assert_eq!(seen, tries, "HTTP {status}: {}", stderr(&o));
    }
}
