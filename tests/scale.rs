//! Many images at once (DESIGN §12): image lists, failures reported together, `--keep-going`.

use crate::common;

use std::path::Path;

use common::*;

/// How many images the list test exports.
const MANY: usize = 30;
/// The one image of the list named by digest.
const PINNED: usize = 7;

fn push_many(reg: &Registry, n: usize) -> Vec<(String, Image)> {
    (0..n)
        .map(|i| {
            let repo = format!("many/app{i:02}");
            // Images share one of three base layers and have a 256 KiB layer of their own.
            let layers = vec![
                layer(1 + (i as u64 % 3)),
                layer_with(OCI_LAYER_GZIP, 1000 + i as u64, 256 << 10),
            ];
            let img = Image::from_layers(Kind::Oci, "linux/amd64", layers);
            img.push(&reg.client(), &repo, Some("v1"));
            (format!("{}/{repo}:v1", reg.host), img)
        })
        .collect()
}

fn entry_names(bundle: &Path) -> Vec<String> {
    let mut ar = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "index.json" {
            let v: serde_json::Value = serde_json::from_reader(&mut e).unwrap();
            return v["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    m["annotations"]["org.opencontainers.image.ref.name"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
        }
    }
    panic!("no index.json")
}

#[test]
fn a_list_of_thirty_images_into_one_bundle_and_back() {
    let src = Registry::start();
    let images = push_many(&src, MANY);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("images.txt");
    let mut text = String::from("# thirty images, one pinned by digest\n\n");
    for (i, (r, img)) in images.iter().enumerate() {
        if i == PINNED {
            text.push_str(&format!(
                "{}@{}  # pinned\n",
                r.rsplit_once(':').unwrap().0,
                img.digest()
            ));
        } else {
            text.push_str(&format!("{r}\n"));
        }
    }
    std::fs::write(&list, text).unwrap();
    let bundle = dir.path().join("many.tar");
    assert_success(&ferry(&[
        "export",
        "-f",
        list.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
    ]));
    let names = entry_names(&bundle);
    assert_eq!(names.len(), images.len());
    assert!(
        names[PINNED].ends_with(images[PINNED].1.digest()),
        "{}",
        names[PINNED]
    );

    let dst = Registry::start();
    let m = dir.path().join("m.json");
    let o = ferry(&[
        "import",
        bundle.to_str().unwrap(),
        "--to",
        &format!("{}/team", dst.host),
        "--mapping-out",
        m.to_str().unwrap(),
        "--json",
    ]);
    assert_success(&o);
    let mapping: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    assert_eq!(mapping.len(), images.len());
    for (i, (r, img)) in images.iter().enumerate().step_by(6) {
        let key = if i == PINNED {
            format!("{}@{}", r.rsplit_once(':').unwrap().0, img.digest())
        } else {
            r.clone()
        };
        let target = &mapping[&key];
        let (host, repo_ref) = target.split_once('/').unwrap();
        assert_eq!(
            digest(&skopeo_inspect_raw(host, repo_ref, &[])),
            img.digest(),
            "{target}"
        );
    }
    // Shared layers went in once per repository, by mount after the first upload: every blob
    // an earlier image of the list already had.
    let mut first_seen = std::collections::BTreeSet::new();
    let reused = images
        .iter()
        .flat_map(|(_, img)| img.blob_digests())
        .filter(|d| !first_seen.insert(d.clone()))
        .count();
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        summary["blobs"]["mounted"].as_u64().unwrap() >= reused as u64,
        "{reused} reused blobs: {summary}"
    );
}

#[test]
fn failures_are_reported_together_and_keep_going_exports_the_rest() {
    let src = Registry::start();
    let images = push_many(&src, 3);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("b.tar");
    let missing1 = format!("{}/many/nope:v1", src.host);
    let missing2 = format!("{}/many/app00:nope", src.host);
    let args = |extra: &[&str]| {
        let mut a = vec![
            "export".to_string(),
            images[0].0.clone(),
            missing1.clone(),
            images[1].0.clone(),
            missing2.clone(),
            "-o".into(),
            bundle.to_str().unwrap().into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let a = args(&[]);
    let o = ferry(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_failure(
        &o,
        &[
            "2 image(s) failed",
            "many/nope:v1",
            "many/app00:nope",
            "--keep-going",
        ],
    );
    assert!(!bundle.exists());
    let a = args(&["--keep-going"]);
    let o = ferry(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_failure(
        &o,
        &["2 image(s) failed", "many/nope:v1", "many/app00:nope"],
    );
    assert_eq!(
        entry_names(&bundle),
        vec![images[0].0.clone(), images[1].0.clone()]
    );
}

#[test]
fn killed_list_export_resumes_with_only_the_missing_blobs() {
    let src = Registry::start();
    let images = push_many(&src, 30);
    // Slow blob downloads so the kill lands after about half the bytes.
    let proxy = common::http_proxy::HttpProxy::start(&src.host);
    proxy.rule(common::http_proxy::Rule::new(
        Some("GET"),
        "/blobs/",
        common::http_proxy::Fault::Delay(std::time::Duration::from_millis(40)),
        100_000,
    ));
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("images.txt");
    let text: String = images
        .iter()
        .map(|(r, _)| format!("{}\n", r.replacen(&src.host, &proxy.addr, 1)))
        .collect();
    std::fs::write(&list, text).unwrap();
    let reference = dir.path().join("reference.tar");
    assert_success(&ferry(&[
        "export",
        "-f",
        list.to_str().unwrap(),
        "-o",
        reference.to_str().unwrap(),
        "-j",
        "2",
    ]));
    let want = std::fs::read(&reference).unwrap();
    let blob_gets = || {
        src.requests()
            .into_iter()
            .filter(|a| a.method == "GET" && a.path.contains("/blobs/sha256:") && a.status == 200)
            .map(|a| a.path)
            .collect::<Vec<_>>()
    };
    let total = blob_gets().len();

    let out = dir.path().join("bundle.tar");
    let mut c = ferry_cmd(&[
        "export",
        "-f",
        list.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-q",
        "-j",
        "2",
    ]);
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while blob_gets().len() < total + total / 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    assert!(
        !child.wait().unwrap().success(),
        "the export finished before the kill"
    );
    assert!(!out.exists());
    let first: Vec<String> = blob_gets()[total..].to_vec();
    assert_success(&ferry(&[
        "export",
        "-f",
        list.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-j",
        "2",
    ]));
    let second: Vec<String> = blob_gets()[total + first.len()..].to_vec();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        want,
        "the resumed bundle differs from an uninterrupted one"
    );
    // By the registry's access log: the rerun fetched only what the first run had not written
    // (at most the two downloads in flight at the kill are fetched twice).
    let again = second.iter().filter(|p| first.contains(p)).count();
    assert!(again <= 2, "{again} blobs fetched twice: {second:?}");
    // Together the two runs fetched every blob (a download cut by the kill may be logged by the
    // registry late, among the second run's lines, so count distinct blobs).
    let mut all: Vec<&String> = first.iter().chain(second.iter()).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "first {first:?}\nsecond {second:?}");
}
