//! `ferry export` against a real registry (distribution 2.8.2), checked by reading the tar and
//! with skopeo as a peer.

use crate::common;

use common::tarball::*;
use common::*;

const P3: [&str; 3] = ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];

#[test]
fn three_images_into_one_bundle() {
    let reg = Registry::start();
    let oci = push_oci_index(&reg, "multi/oci", "v1", &P3, true, false);
    let list = push_docker_list(
        &reg,
        "multi/docker",
        "v1",
        &["linux/amd64", "linux/arm64/v8"],
        true,
    );
    let single = push_docker_manifest(&reg, "a/b/c/d", "tag", SHARED_SEED);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.tar");
    let refs = [
        format!("{}/multi/oci:v1", reg.host),
        format!("{}/multi/docker:v1", reg.host),
        format!("{}/a/b/c/d:tag", reg.host),
    ];
    let out = ferry(&[
        "export",
        &refs[0],
        &refs[1],
        &refs[2],
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert_success(&out);

    let m = members(&bundle);
    assert_eq!(m[0].0, "oci-layout");
    assert_eq!(m[1].0, "index.json");
    // Every blob hashes to its name, and each is stored once.
    let names = blob_names(&m);
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "a blob is stored twice");
    for (n, data) in &m {
        if let Some(h) = n.strip_prefix("blobs/sha256/") {
            assert_eq!(sha256_hex(data), h, "{n} does not hash to its name");
        }
    }
    // The shared layer is in all three images but stored once; every blob of every image is there.
    let shared = single.layers[0].digest().to_string();
    assert!(oci.blob_digests().contains(&shared) && list.blob_digests().contains(&shared));
    assert_eq!(names.iter().filter(|n| **n == shared).count(), 1);
    let mut want: Vec<String> = oci.blob_digests();
    want.extend(oci.manifest_digests());
    want.extend(list.blob_digests());
    want.extend(list.manifest_digests());
    want.extend(single.blob_digests());
    want.push(single.digest().to_string());
    want.push(oci.digest().to_string());
    want.push(list.digest().to_string());
    for d in &want {
        assert!(unique.contains(d), "{d} missing from the bundle");
    }
    assert_eq!(
        unique.len(),
        want.iter().collect::<std::collections::BTreeSet<_>>().len()
    );

    // index.json: one entry per reference, both name annotations, the registry's digest.
    let entries = index_entries(&m);
    assert_eq!(entries.len(), refs.len());
    let served: Vec<String> = refs
        .iter()
        .map(|r| {
            let (repo, tag) = r
                .trim_start_matches(&format!("{}/", reg.host))
                .rsplit_once(':')
                .unwrap();
            digest(&skopeo_inspect_raw(
                &reg.host,
                &format!("{repo}:{tag}"),
                &[],
            ))
        })
        .collect();
    for ((e, r), d) in entries.iter().zip(&refs).zip(&served) {
        assert_eq!(
            e["annotations"]["org.opencontainers.image.ref.name"],
            r.as_str()
        );
        assert_eq!(e["annotations"]["io.containerd.image.name"], r.as_str());
        assert_eq!(e["digest"], d.as_str());
        assert!(e["annotations"].get("io.ferry.platforms").is_none());
    }
    assert_eq!(
        entries[0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        entries[1]["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    assert_eq!(
        entries[2]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(served[0], oci.digest());

    // A real peer reads the OCI image out of the bundle, bytes and all.
    let archive = format!("oci-archive:{}:{}", bundle.display(), refs[0]);
    let raw = run(std::process::Command::new("skopeo").args(["inspect", "--raw", &archive])).stdout;
    assert_eq!(digest(&raw), oci.digest());
    let copy = dir.path().join("copy");
    skopeo_copy(&archive, &format!("oci:{}:v1", copy.display()), &[]);
    for d in oci.blob_digests() {
        assert!(
            copy.join("blobs/sha256")
                .join(d.trim_start_matches("sha256:"))
                .exists(),
            "skopeo copy lacks {d}"
        );
    }
}

#[test]
fn platform_subset_keeps_the_index_bytes() {
    let reg = Registry::start();
    let idx = push_oci_index(&reg, "sub/app", "v1", &P3, true, true);
    let list = push_docker_list(&reg, "sub/docker", "v1", &P3, false);
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.tar");
    let b = dir.path().join("b.tar");
    let image = format!("{}/sub/app:v1", reg.host);
    let docker = format!("{}/sub/docker:v1", reg.host);
    assert_success(&ferry(&[
        "export",
        &image,
        &docker,
        "--platform",
        "linux/arm64",
        "-o",
        a.to_str().unwrap(),
    ]));
    assert_success(&ferry(&[
        "export",
        &image,
        &docker,
        "--platform",
        "linux/arm64/v8",
        "-o",
        b.to_str().unwrap(),
    ]));
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "linux/arm64 and linux/arm64/v8 differ"
    );

    let m = members(&a);
    let names: std::collections::BTreeSet<String> = blob_names(&m).into_iter().collect();
    let arm = idx.image("linux/arm64/v8");
    let att = idx
        .attestation("linux/arm64/v8")
        .expect("arm64 attestation");
    let mut want = vec![
        idx.digest().to_string(),
        arm.digest().to_string(),
        att.digest().to_string(),
    ];
    want.extend(arm.blob_digests());
    want.extend(att.blob_digests());
    let larm = list.image("linux/arm64/v8");
    want.push(list.digest().to_string());
    want.push(larm.digest().to_string());
    want.extend(larm.blob_digests());
    let want: std::collections::BTreeSet<String> = want.into_iter().collect();
    assert_eq!(
        names, want,
        "the arm64 subset holds exactly the index, arm64 manifest, config, layers and attestation"
    );
    for p in ["linux/amd64", "linux/arm/v7"] {
        for l in idx
            .image(p)
            .layer_digests()
            .into_iter()
            .chain(list.image(p).layer_digests())
        {
            if !arm.layer_digests().contains(&l) {
                assert!(!names.contains(&l), "{p} layer {l} leaked into the subset");
            }
        }
        assert!(!names.contains(idx.attestation(p).unwrap().digest()));
    }
    // The index blob is the registry's, unchanged; the entry records the kept platforms.
    let index_bytes = &m
        .iter()
        .find(|(n, _)| n.ends_with(idx.digest().trim_start_matches("sha256:")))
        .unwrap()
        .1;
    assert_eq!(
        digest(index_bytes),
        digest(&skopeo_inspect_raw(&reg.host, "sub/app:v1", &[]))
    );
    let entries = index_entries(&m);
    assert_eq!(
        entries[0]["annotations"]["io.ferry.platforms"],
        "linux/arm64/v8"
    );
    assert_eq!(
        entries[1]["annotations"]["io.ferry.platforms"],
        "linux/arm64/v8"
    );
}

#[test]
fn same_export_twice_is_byte_identical_also_to_stdout() {
    let reg = Registry::start();
    push_oci_index(&reg, "det/app", "v1", &P3, true, true);
    push_oci_manifest(&reg, "det/one", "v2", 7);
    let dir = tempfile::tempdir().unwrap();
    let imgs = [
        format!("{}/det/app:v1", reg.host),
        format!("{}/det/one:v2", reg.host),
    ];
    let mut outputs = Vec::new();
    for name in ["1.tar", "2.tar"] {
        let p = dir.path().join(name);
        assert_success(&ferry(&[
            "export",
            &imgs[0],
            &imgs[1],
            "-o",
            p.to_str().unwrap(),
        ]));
        outputs.push(std::fs::read(&p).unwrap());
    }
    let piped = ferry(&["export", &imgs[0], &imgs[1], "-o", "-", "-q"]);
    assert_success(&piped);
    assert_eq!(outputs[0], outputs[1], "two runs differ");
    assert_eq!(piped.stdout, outputs[0], "-o - differs from the file");
    // Headers are deterministic ustar: mtime 0, uid/gid 0, mode 0644, no names.
    let mut ar = tar::Archive::new(&outputs[0][..]);
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!(
            (
                h.mtime().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mode().unwrap()
            ),
            (0, 0, 0, 0o644)
        );
        assert_eq!(h.username().unwrap(), Some(""));
    }
}

#[test]
fn bad_input_fails_cleanly_and_leaves_nothing() {
    let reg = Registry::start();
    let img = push_oci_index(
        &reg,
        "bad/app",
        "v1",
        &["linux/amd64", "linux/arm/v7"],
        false,
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.tar");
    let o = out.to_str().unwrap();

    let e = ferry(&["export", &format!("{}/bad/app:nope", reg.host), "-o", o]);
    assert_failure(&e, &["bad/app:nope", "not found"]);

    let e = ferry(&["export", &format!("{}/bad/missing:v1", reg.host), "-o", o]);
    assert_failure(&e, &["bad/missing:v1", "not found"]);

    let e = ferry(&[
        "export",
        &format!("{}/bad/app:v1", reg.host),
        "--platform",
        "linux/s390x",
        "-o",
        o,
    ]);
    assert_failure(&e, &["linux/s390x", "linux/amd64", "linux/arm/v7"]);

    let e = ferry(&[
        "export",
        &format!("{}/bad/app:v1", reg.host),
        "--platform",
        "linux/amd64",
        "--platform",
        "linux/ppc64le",
        "--strict-platforms",
        "-o",
        o,
    ]);
    assert_failure(&e, &["linux/ppc64le", "--strict-platforms"]);

    // A layer altered in the registry's storage: named by digest, nothing written.
    let layer = img.image("linux/amd64").layer_digests()[0].clone();
    let stored = std::fs::read(reg.blob_path("bad/app", &layer)).unwrap();
    let mut tampered = stored.clone();
    tampered[stored.len() / 2] ^= 0xff;
    reg.overwrite_blob(&layer, &tampered);
    let e = ferry(&["export", &format!("{}/bad/app:v1", reg.host), "-o", o]);
    assert_failure(&e, &[&layer, "bad/app:v1"]);

    let port = free_port();
    let e = ferry(&[
        "export",
        &format!("127.0.0.1:{port}/x/y:v1"),
        "-o",
        o,
        "--retries",
        "1",
    ]);
    assert_failure(&e, &["cannot reach", &format!("127.0.0.1:{port}")]);

    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}
