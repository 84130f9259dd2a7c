//! Proves each piece of tests/common against the real peers (distribution 2.8.2, skopeo,
//! moto_server, openssl). Run scripts/setup.sh first.
use crate::common;

use common::*;
use std::io::Read;

const PLATFORMS: &[&str] = &["linux/amd64", "linux/arm64/v8", "linux/arm/v7"];

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn fixtures_are_deterministic_and_consistent() {
    assert_eq!(layer(42), layer(42));
    assert_ne!(layer(42).blob.digest, layer(43).blob.digest);

    let a = build_index(Kind::Oci, "x/y", "t", PLATFORMS, true, true, 9);
    let b = build_index(Kind::Oci, "x/y", "t", PLATFORMS, true, true, 9);
    assert_eq!(a.index.bytes, b.index.bytes);

    // diff_ids are the digests of the uncompressed tars, and each tar holds one file.
    for img in &a.images {
        let config: serde_json::Value = serde_json::from_slice(&img.config.bytes).unwrap();
        let p = Platform::parse(&img.platform);
        assert_eq!(config["architecture"], p.architecture.as_str());
        assert_eq!(config["os"], p.os.as_str());
        assert_eq!(config["variant"].as_str(), p.variant.as_deref());
        for (i, l) in img.layers.iter().enumerate() {
            let tar = gunzip(&l.blob.bytes);
            assert_eq!(digest(&tar), l.diff_id);
            assert_eq!(config["rootfs"]["diff_ids"][i], l.diff_id.as_str());
            let mut ar = tar::Archive::new(&tar[..]);
            let entries: Vec<_> = ar.entries().unwrap().map(|e| e.unwrap().size()).collect();
            assert_eq!(entries, vec![LAYER_FILE_SIZE as u64]);
        }
    }
    // The shared layer is the first layer of every platform; the second is unique.
    let firsts: Vec<_> = a
        .images
        .iter()
        .map(|i| i.layers[0].blob.digest.clone())
        .collect();
    assert!(firsts.iter().all(|d| *d == layer(9).blob.digest));
    let seconds: std::collections::HashSet<_> = a
        .images
        .iter()
        .map(|i| i.layers[1].blob.digest.clone())
        .collect();
    assert_eq!(seconds.len(), PLATFORMS.len());

    // Attestations: one per platform, pointing at it.
    let index: serde_json::Value = serde_json::from_slice(&a.index.bytes).unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2 * PLATFORMS.len());
    let att = entries
        .iter()
        .find(|e| {
            e["annotations"]["vnd.docker.reference.digest"] == a.image("linux/arm64/v8").digest()
        })
        .expect("attestation for arm64");
    assert_eq!(att["platform"]["os"], "unknown");
    assert_eq!(
        att["annotations"]["vnd.docker.reference.type"],
        "attestation-manifest"
    );
    assert_eq!(
        att["digest"],
        a.attestation("linux/arm64/v8").unwrap().digest()
    );
}

#[test]
fn plain_registry_push_pull_and_skopeo() {
    let reg = Registry::start();
    let host = reg.host.as_str();

    let oci = push_oci_index(host, "lib/app", "v1", PLATFORMS, true, true);
    let docker = push_docker_list(&reg, "lib/dock", "v2", &PLATFORMS[..2], true);
    let single = push_docker_manifest(host, "a/b/c/d", "tag", SHARED_SEED);

    // Same bytes through our client and through skopeo.
    for (repo, tag, bytes, media_type) in [
        ("lib/app", "v1", &oci.index.bytes, OCI_INDEX),
        ("lib/dock", "v2", &docker.index.bytes, DOCKER_LIST),
        ("a/b/c/d", "tag", &single.manifest.bytes, DOCKER_MANIFEST),
    ] {
        let (got, ct) = get_manifest_raw(host, repo, tag);
        assert_eq!(&got, bytes, "{repo}:{tag}");
        assert_eq!(ct, media_type);
        let raw = skopeo_inspect_raw(host, &format!("{repo}:{tag}"), &[]);
        assert_eq!(&raw, bytes, "skopeo {repo}:{tag}");
    }
    let arm = oci.image("linux/arm/v7");
    let raw = skopeo_inspect_raw(host, &format!("lib/app@{}", arm.digest()), &[]);
    assert_eq!(raw, arm.manifest.bytes);

    // Blobs are there with the right sizes; the shared layer is in all three images.
    let shared = layer(SHARED_SEED);
    assert_eq!(oci.images[0].layers[0].blob.digest, shared.blob.digest);
    assert_eq!(
        single.layers[0].blob.digest,
        layer_with(DOCKER_LAYER_GZIP, SHARED_SEED, LAYER_FILE_SIZE)
            .blob
            .digest
    );
    for d in oci.blob_digests() {
        assert!(head_blob(host, "lib/app", &d).is_some(), "{d} missing");
    }
    assert_eq!(
        head_blob(host, "lib/app", arm.layers[1].digest()),
        Some(arm.layers[1].blob.size() as u64)
    );
    assert_eq!(head_blob(host, "lib/app", &digest(b"never pushed")), None);

    // Access log counting: exactly two blob GETs.
    let before = reg.count_requests("GET", "/blobs/");
    assert_eq!(
        get_blob(host, "lib/app", &arm.config.digest),
        arm.config.bytes
    );
    assert_eq!(
        get_blob(host, "lib/dock", docker.images[1].layers[1].digest()),
        docker.images[1].layers[1].blob.bytes
    );
    assert_eq!(reg.count_requests("GET", "/blobs/"), before + 2);

    // skopeo can pull the whole OCI index out (a real peer reads what we pushed). It
    // refuses to write a Docker list into an OCI layout with --preserve-digests.
    let out = tempfile::tempdir().unwrap();
    let dst = format!("oci:{}:x", out.path().join("layout").display());
    skopeo_copy(
        &format!("docker://{host}/lib/app:v1"),
        &dst,
        &["--src-tls-verify=false"],
    );
    let index = std::fs::read(out.path().join("layout/index.json")).unwrap();
    assert!(String::from_utf8_lossy(&index).contains(oci.digest()));
    for d in oci.manifest_digests() {
        let hex = d.trim_start_matches("sha256:");
        assert!(out.path().join("layout/blobs/sha256").join(hex).exists());
    }

    // blob_path/overwrite_blob really reach the stored bytes.
    let victim = &arm.layers[1].blob;
    assert_eq!(
        std::fs::read(reg.blob_path("lib/app", &victim.digest)).unwrap(),
        victim.bytes
    );
    let mut tampered = victim.bytes.clone();
    tampered[100] ^= 0xff;
    reg.overwrite_blob(&victim.digest, &tampered);
    assert_eq!(get_blob(host, "lib/app", &victim.digest), tampered);
}

#[test]
fn htpasswd_registry_checks_passwords() {
    let reg = Registry::start_htpasswd("bob", "hunter2");
    let host = reg.host.as_str();
    let good = reg.client_with(Auth::basic("bob", "hunter2"));
    let img = push_oci_manifest(&good, "priv/app", "v1", 3);
    assert_eq!(
        good.get_manifest_raw("priv/app", "v1").0,
        img.manifest.bytes
    );

    let url = "/v2/priv/app/manifests/v1";
    let wrong = reg.client_with(Auth::basic("bob", "hunter3"));
    let r = wrong.request("GET", url, &[("Accept", upload::MANIFEST_ACCEPT)], b"");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic "));
    assert_eq!(reg.client().request("GET", url, &[], b"").status, 401);

    let raw = skopeo_inspect_raw(host, "priv/app:v1", &["--creds", "bob:hunter2"]);
    assert_eq!(raw, img.manifest.bytes);
}

#[test]
fn token_registry_accepts_issued_tokens() {
    let reg = Registry::start_token("alice", "s3cret", Anonymous::Pull);
    let issuer = reg.token.as_ref().unwrap();
    let alice = reg.client_with(Auth::basic("alice", "s3cret"));
    let idx = push_oci_index(&alice, "team/app", "v1", &PLATFORMS[..2], true, false);
    let reqs = issuer.requests();
    assert!(!reqs.is_empty());
    assert!(reqs
        .iter()
        .all(|r| r.credentials == token::Credentials::Valid && r.status == 200));
    // distribution 2.8.2 lists the actions in random order (pull,push or push,pull).
    let scope = &reqs[0].scopes[..];
    assert!(
        scope == ["repository:team/app:pull,push"] || scope == ["repository:team/app:push,pull"],
        "{scope:?}"
    );
    assert_eq!(
        reqs[0].service.as_deref(),
        Some(issuer.config.service.as_str())
    );

    // Anonymous pull works (Anonymous::Pull) and asks for pull only.
    issuer.clear();
    let anon = reg.client();
    assert_eq!(anon.get_manifest_raw("team/app", "v1").0, idx.index.bytes);
    let reqs = issuer.requests();
    assert_eq!(reqs[0].scopes, vec!["repository:team/app:pull"]);
    assert_eq!(reqs[0].credentials, token::Credentials::None);
    // ...but anonymous push is refused even with the (pull-only) token.
    let r = anon.request("POST", "/v2/team/app/blobs/uploads/", &[], b"");
    assert_eq!(r.status, 401);

    // Wrong password: the issuer answers 401, so does the registry.
    let mallory = reg.client_with(Auth::basic("alice", "guess"));
    let r = mallory.request("POST", "/v2/team/app/blobs/uploads/", &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(
        issuer.requests().last().unwrap().credentials,
        token::Credentials::Invalid
    );

    // A token signed under another CA is rejected: distribution really checks x5c.
    let other_dir = tempfile::tempdir().unwrap();
    let other = TokenIssuer::start(
        other_dir.path(),
        TokenConfig::new("alice", "s3cret", Anonymous::Pull),
    );
    let forged = reg.client_with(Auth::Bearer(
        other.issue("alice", &["repository:team/app:pull"]),
    ));
    let accept = [("Accept", upload::MANIFEST_ACCEPT)];
    let r = forged.request("GET", "/v2/team/app/manifests/v1", &accept, b"");
    assert_eq!(r.status, 401);
    assert!(
        reg.log().contains("unable to verify certificate chain"),
        "{}",
        reg.log()
    );
    // ...while a directly issued token from the right issuer is accepted.
    let direct = reg.client_with(Auth::Bearer(
        issuer.issue("alice", &["repository:team/app:pull"]),
    ));
    assert_eq!(direct.get_manifest_raw("team/app", "v1").0, idx.index.bytes);

    // skopeo does the bearer dance with our issuer too.
    let raw = skopeo_inspect_raw(&reg.host, "team/app:v1", &["--creds", "alice:s3cret"]);
    assert_eq!(raw, idx.index.bytes);
}

#[test]
fn token_registry_denies_anonymous() {
    let reg = Registry::start_token("alice", "s3cret", Anonymous::Deny);
    let alice = reg.client_with(Auth::basic("alice", "s3cret"));
    push_oci_manifest(&alice, "closed/app", "v1", 5);
    let r = reg
        .client()
        .request("GET", "/v2/closed/app/manifests/v1", &[], b"");
    assert_eq!(r.status, 401);
    assert_eq!(
        reg.token.as_ref().unwrap().scopes().last().unwrap(),
        "repository:closed/app:pull"
    );
}

#[test]
fn tls_registry_with_private_ca() {
    let reg = Registry::start_tls();
    assert!(reg.url().starts_with("https://"));
    let img = push_oci_manifest(&reg, "sec/app", "v1", 11);
    assert_eq!(
        reg.client().get_manifest_raw("sec/app", "v1").0,
        img.manifest.bytes
    );

    // skopeo verifies the chain with --cert-dir and fails without it.
    let tls = reg.skopeo_tls_args();
    let args: Vec<&str> = tls.iter().map(String::as_str).collect();
    assert_eq!(
        skopeo_inspect_raw(&reg.host, "sec/app:v1", &args),
        img.manifest.bytes
    );
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=true"])
        .arg(format!("docker://{}/sec/app:v1", reg.host))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate"));
}

#[test]
fn s3_registry_redirects_blob_gets() {
    let reg = Registry::start_s3();
    let moto = reg.s3.as_ref().unwrap();
    let c = reg.client();
    let d = c.push_blob("s3/app", b"hello s3 world");

    let r = c.request("GET", &format!("/v2/s3/app/blobs/{d}"), &[], b"");
    assert_eq!(r.status, 307);
    let location = r.header("location").unwrap().to_string();
    assert!(
        location.starts_with(&format!("http://{}/", moto.addr)),
        "{location}"
    );
    assert_ne!(moto.addr, reg.host);
    let followed = Client::new(&moto.addr).request("GET", &location, &[], b"");
    assert_eq!(followed.status, 200);
    assert_eq!(followed.body, b"hello s3 world");
    // HEAD is redirected too (to a URL presigned for HEAD).
    let r = c.request("HEAD", &format!("/v2/s3/app/blobs/{d}"), &[], b"");
    assert_eq!(r.status, 307);
    assert_eq!(c.head_blob("s3/app", &d), Some(14));

    // A whole index, pulled by a real client through the redirects.
    let idx = push_oci_index(&reg, "s3/idx", "v1", &PLATFORMS[..2], true, false);
    let out = tempfile::tempdir().unwrap();
    let dst = format!("oci:{}:x", out.path().join("layout").display());
    skopeo_copy(
        &format!("docker://{}/s3/idx:v1", reg.host),
        &dst,
        &["--src-tls-verify=false"],
    );
    for d in idx.blob_digests() {
        let hex = d.trim_start_matches("sha256:");
        assert!(out.path().join("layout/blobs/sha256").join(hex).exists());
    }
    assert!(moto.keys().iter().any(|k| k.ends_with("/data")));

    // Tampering reaches the bytes served through the redirect.
    reg.overwrite_blob(&d, b"HELLO S3 WORLD");
    assert_eq!(c.get_blob("s3/app", &d), b"HELLO S3 WORLD");
}
