//! Many images at once (DESIGN §12): image lists, failures reported together, `--keep-going`.

mod common;

use std::path::Path;

use common::*;

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
    let images = push_many(&src, 30);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("images.txt");
    let mut text = String::from("# thirty images, one pinned by digest\n\n");
    for (i, (r, img)) in images.iter().enumerate() {
        if i == 7 {
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
    assert_eq!(names.len(), 30);
    assert!(names[7].ends_with(images[7].1.digest()), "{}", names[7]);

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
    assert_eq!(mapping.len(), 30);
    for (i, (r, img)) in images.iter().enumerate().step_by(6) {
        let key = if i == 7 {
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
    // Shared layers went in once per repository, by mount after the first upload.
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        summary["blobs"]["mounted"].as_u64().unwrap() >= 27,
        "{summary}"
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
