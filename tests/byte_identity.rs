//! Byte-identity guard (issue 16): a fixed set of images exported from a real registry must
//! give the same bundle, byte for byte, before and after any refactor. The constants below
//! were recorded from ferry as it was when the guard was added; a change of ferry's output
//! fails here, and is either a bug or a deliberate format change (then re-record, and say so).
//!
//! **What is fixed.** Every pushed byte is built here and by `tests/common` from fixed
//! inputs: layers are one-file tars of SHA-256-chained bytes wrapped in *stored* gzip (no
//! compressor whose output depends on a crate version); manifests, configs, indexes,
//! attestations, cosign signatures (RFC 6979 ECDSA, deterministic) and an SPDX referrer come
//! from the common helpers. The signatures name `example.com/...`, never the registry, so no
//! blob depends on the port. [`FIXTURE`] pins the digest and size of every pushed blob: if
//! it fails, the *fixture* changed (a helper or a dev-dependency), not ferry; re-record all
//! constants after checking why (the test prints them as Rust on every run).
//!
//! **The one port-dependent part.** The registry listens on a free port, and the references
//! in `index.json`'s annotations name it (`127.0.0.1:PORT/...`). So the guard hashes a
//! *canonical* form of the tar: every 512-byte block exactly as written (member headers,
//! contents, padding, member order, the end-of-archive blocks), except the `index.json`
//! member, whose content is taken with the registry's `host:port` replaced by `REGISTRY`,
//! and whose header has its `size` and `chksum` fields blanked (both follow from the
//! content's length, which follows from the port). Those two fields are still checked: the
//! content they delimit parses as JSON to its last byte and the next header follows, the
//! checksum is valid, the padding is zeros. Nothing else is normalised, so a changed byte
//! anywhere else in the file changes the hash. To show the normalisation hides only the
//! name, the full export is run again naming the registry `localhost:PORT` (another length)
//! and must canonicalise to the same three hashes.
//!
//! Per bundle, three constants: the set of blob members (sorted digests: which blobs), the
//! canonical `index.json` (what is said about them), and the whole canonical stream (the tar
//! layout as well). On a mismatch the panic shows the member list and `index.json`, to diff.
//!
//! Shapes: an OCI index with buildkit attestations (two platforms), a Docker manifest list,
//! a single OCI manifest and a single Docker manifest, and an index signed with cosign tags
//! (on the index and on one platform) with an SPDX referrer found through the fallback tag,
//! all in one bundle; and the two indexes exported `--platform linux/arm64` (a sparse subset
//! keeping the signed index, its signatures and the kept platform's attestation).

use crate::common;

use common::cosign::{cosign_signature, key, set_fallback};
use common::layout::{gzip_stored, referrer, sig_tag};
use common::*;

/// `sha256:` over the sorted `digest size` lines of every blob the test pushes.
const FIXTURE: &str = "sha256:158b3921422548d4a7d5a5fa0be11056483eb6a9ca06d7bac8753e8fdfe4caf8";

/// The bundle of every shape. It carries every pushed blob, so `blobs` equals [`FIXTURE`]
/// (the referrers fallback index is bookkeeping, neither pushed through `Pushed` nor carried).
const FULL: Expect = Expect {
    blobs: "sha256:158b3921422548d4a7d5a5fa0be11056483eb6a9ca06d7bac8753e8fdfe4caf8",
    index_json: "sha256:e252a8bb6d07f6f62eff8ad4794c29ed7b7bae200f2c55396178182a64179109",
    canonical: "sha256:b93b62a7db30f84bb951dc83b4e7a7ff013c47c64f2b43f111855ed195f72cdf",
};

/// The two indexes exported with `--platform linux/arm64`.
const SUBSET: Expect = Expect {
    blobs: "sha256:8e8bc6daee4b8908c95c09a8b2d36eab240f42da7543fb2cc777ab99274aad6c",
    index_json: "sha256:ae931c29e9999b6631e1623d805c432c19898699d0db641e114d71010c147a78",
    canonical: "sha256:bb46d905ba7590aa07d9099e234c6842bd2fd17b0ed2da8e1caf9000cdbbde69",
};

/// What the registry's host:port is replaced with in `index.json`.
const PLACEHOLDER: &str = "REGISTRY";

struct Expect {
    blobs: &'static str,
    index_json: &'static str,
    canonical: &'static str,
}

/// `size` bytes: SHA-256 of `label`, then SHA-256 of each previous block, concatenated.
fn chained_bytes(label: &str, size: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::with_capacity(size + 32);
    let mut block = Sha256::digest(label.as_bytes());
    while out.len() < size {
        out.extend_from_slice(&block);
        block = Sha256::digest(block);
    }
    out.truncate(size);
    out
}

/// A layer of `media_type`: a ustar holding `label` (`size` chained bytes, mode 0644,
/// mtime 0, root-owned) in stored gzip.
fn stable_layer(media_type: &str, label: &str, size: usize) -> Layer {
    let tar = one_file_tar(label, &chained_bytes(label, size));
    Layer {
        diff_id: digest(&tar),
        blob: Blob::new(media_type, gzip_stored(&tar)),
    }
}

/// A platform image: the base layer every image shares (the same bytes under OCI and Docker
/// media types, so one blob in the bundle), then a layer of its own of `size` bytes.
fn platform_image(kind: Kind, platform: &str, own: &str, size: usize) -> Image {
    let base = stable_layer(kind.layer_type(), "base/shared.bin", 70_001);
    let own = stable_layer(kind.layer_type(), own, size);
    Image::from_layers(kind, platform, vec![base, own])
}

/// Records every blob pushed, to pin the fixture.
#[derive(Default)]
struct Pushed(std::collections::BTreeMap<String, usize>);

impl Pushed {
    fn blobs(&mut self, blobs: &[&Blob]) {
        for b in blobs {
            self.0.insert(b.digest.clone(), b.size());
        }
    }
    fn image(&mut self, img: &Image) {
        self.blobs(&[&img.manifest, &img.config]);
        self.blobs(&img.layers.iter().map(|l| &l.blob).collect::<Vec<_>>());
    }
    fn index(&mut self, idx: &ImageIndex) {
        self.blobs(&[&idx.index]);
        for img in idx.images.iter().chain(&idx.attestations) {
            self.image(img);
        }
    }
    fn digest(&self) -> String {
        let lines: String = self.0.iter().map(|(d, s)| format!("{d} {s}\n")).collect();
        digest(lines.as_bytes())
    }
}

/// The fixture's references (`repo:tag` on the registry) for the full bundle and the subset.
struct Pushes {
    full: Vec<String>,
    subset: Vec<String>,
    pushed: Pushed,
}

fn push_fixture(reg: &Registry) -> Pushes {
    let c = reg.client();
    let mut pushed = Pushed::default();

    // An OCI index of two platforms, each with its buildkit attestation.
    let images = vec![
        platform_image(Kind::Oci, "linux/amd64", "attested/amd64.bin", 40_003),
        platform_image(Kind::Oci, "linux/arm64/v8", "attested/arm64.bin", 41_005),
    ];
    let attestations = images.iter().map(Image::attestation_for).collect();
    let attested = ImageIndex::new(Kind::Oci, images, attestations);
    attested.push(&c, "bi/attested", "v1");
    pushed.index(&attested);

    // A Docker manifest list.
    let list = ImageIndex::new(
        Kind::Docker,
        vec![
            platform_image(Kind::Docker, "linux/amd64", "list/amd64.bin", 30_007),
            platform_image(Kind::Docker, "linux/arm/v7", "list/arm.bin", 31_009),
        ],
        vec![],
    );
    list.push(&c, "bi/list", "2.0");
    pushed.index(&list);

    // Single manifests, OCI and Docker.
    let oci = platform_image(Kind::Oci, "linux/amd64", "single/oci.bin", 20_011);
    oci.push(&c, "bi/single", Some("oci"));
    pushed.image(&oci);
    let docker = platform_image(Kind::Docker, "linux/amd64", "single/docker.bin", 512);
    docker.push(&c, "bi/single", Some("docker"));
    pushed.image(&docker);

    // A signed index: cosign signatures on the index and on its arm64 manifest, an SPDX
    // referrer of the index listed in the fallback tag.
    let signed = ImageIndex::new(
        Kind::Oci,
        vec![
            platform_image(Kind::Oci, "linux/amd64", "signed/amd64.bin", 10_013),
            platform_image(Kind::Oci, "linux/arm64/v8", "signed/arm64.bin", 10_015),
        ],
        vec![],
    );
    signed.push(&c, "bi/signed", "v3");
    pushed.index(&signed);
    let k = key(16);
    let arm = signed.image("linux/arm64/v8").digest().to_string();
    for subject in [signed.digest(), arm.as_str()] {
        let sig = cosign_signature("example.com/bi/signed", subject, &k);
        c.push_blob("bi/signed", &sig[1].bytes);
        c.push_blob("bi/signed", &sig[2].bytes);
        c.push_manifest("bi/signed", &sig_tag(subject), OCI_MANIFEST, &sig[0].bytes);
        pushed.blobs(&sig.iter().collect::<Vec<_>>());
    }
    let spdx = "application/spdx+json";
    let sbom = referrer(
        &signed.index,
        spdx,
        br#"{"spdxVersion":"SPDX-2.3","name":"bi-signed"}"#,
    );
    c.push_blob("bi/signed", &sbom[1].bytes);
    c.push_blob("bi/signed", &sbom[2].bytes);
    c.push_manifest("bi/signed", &sbom[0].digest, OCI_MANIFEST, &sbom[0].bytes);
    set_fallback(&c, "bi/signed", signed.digest(), &[(&sbom[0], spdx)]);
    pushed.blobs(&sbom.iter().collect::<Vec<_>>());

    let r = |s: &str| format!("{}/{s}", reg.host);
    Pushes {
        full: [
            "bi/attested:v1",
            "bi/list:2.0",
            "bi/single:oci",
            "bi/single:docker",
            "bi/signed:v3",
        ]
        .map(r)
        .to_vec(),
        subset: ["bi/attested:v1", "bi/signed:v3"].map(r).to_vec(),
        pushed,
    }
}

/// A tar member as written: where its header and content are.
struct Member {
    name: String,
    header: usize,
    size: usize,
}

/// The value of an octal tar header field.
fn octal(field: &[u8]) -> usize {
    let s = String::from_utf8_lossy(field);
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    usize::from_str_radix(s, 8).unwrap_or_else(|_| panic!("not an octal field: {field:?}"))
}

/// The members of a tar, read block by block (no tar crate: the raw headers are the point);
/// returns them and the offset of the end-of-archive blocks.
fn members(tar: &[u8]) -> (Vec<Member>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|b| *b != 0) {
        let h = &tar[at..at + 512];
        let cut = |f: &[u8]| {
            let end = f.iter().position(|b| *b == 0).unwrap_or(f.len());
            String::from_utf8_lossy(&f[..end]).to_string()
        };
        let (name, prefix) = (cut(&h[0..100]), cut(&h[345..500]));
        let name = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let size = octal(&h[124..136]);
        out.push(Member {
            name,
            header: at,
            size,
        });
        at += 512 + size.div_ceil(512) * 512;
    }
    assert!(at <= tar.len(), "the tar is cut short");
    (out, at)
}

/// The tar header checksum: the sum of the header's bytes with the field taken as spaces.
fn checksum(h: &[u8]) -> usize {
    h.iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                *b as usize
            }
        })
        .sum()
}

/// What the guard hashes of one bundle: the blob member set, the canonical `index.json`, the
/// canonical stream (see the module comment), and a listing for messages.
struct Canonical {
    blobs: String,
    index_json: String,
    stream: String,
    listing: String,
    index_text: String,
}

fn canonical(tar: &[u8], host: &str) -> Canonical {
    let (members, end) = members(tar);
    let mut stream = Vec::with_capacity(tar.len());
    let mut blobs = Vec::new();
    let mut index = None;
    let mut listing = String::new();
    for m in &members {
        let header = &tar[m.header..m.header + 512];
        let body = m.header + 512;
        let padded = m.size.div_ceil(512) * 512;
        if m.name == "index.json" {
            assert!(index.is_none(), "two index.json members");
            assert_eq!(
                octal(&header[148..156]),
                checksum(header),
                "index.json's header checksum"
            );
            let content = &tar[body..body + m.size];
            assert!(
                tar[body + m.size..body + padded].iter().all(|b| *b == 0),
                "index.json's padding is not zeros"
            );
            let text = String::from_utf8(content.to_vec()).expect("index.json is UTF-8");
            serde_json::from_str::<serde_json::Value>(&text)
                .expect("index.json, as its header's size delimits it, is JSON");
            let text = text.replace(host, PLACEHOLDER);
            let mut h = header.to_vec();
            h[124..136].fill(b'#');
            h[148..156].fill(b'#');
            stream.extend_from_slice(&h);
            stream.extend_from_slice(text.as_bytes());
            stream.resize(
                stream.len() + text.len().div_ceil(512) * 512 - text.len(),
                0,
            );
            listing.push_str(&format!("index.json (canonical: {} bytes)\n", text.len()));
            index = Some(text);
        } else {
            stream.extend_from_slice(&tar[m.header..body + padded]);
            listing.push_str(&format!("{} ({} bytes)\n", m.name, m.size));
            if let Some(hex) = m.name.strip_prefix("blobs/sha256/") {
                blobs.push(format!("sha256:{hex} {}\n", m.size));
            }
        }
    }
    stream.extend_from_slice(&tar[end..]);
    listing.push_str(&format!("end-of-archive: {} bytes\n", tar.len() - end));
    blobs.sort();
    let index_text = index.expect("no index.json member");
    Canonical {
        blobs: digest(blobs.concat().as_bytes()),
        index_json: digest(index_text.as_bytes()),
        stream: digest(&stream),
        listing,
        index_text,
    }
}

fn export(out: &std::path::Path, refs: &[String], extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["export"];
    args.extend(refs.iter().map(String::as_str));
    args.extend(["-o", out.to_str().unwrap()]);
    args.extend(extra);
    assert_success(&ferry(&args));
    std::fs::read(out).unwrap()
}

/// The constants as Rust, for re-recording after a deliberate change.
fn as_rust(name: &str, c: &Canonical) -> String {
    format!(
        "const {name}: Expect = Expect {{\n    blobs: \"{}\",\n    index_json: \"{}\",\n    canonical: \"{}\",\n}};\n",
        c.blobs, c.index_json, c.stream
    )
}

/// Every mismatch of `got` against `want`, with what to diff.
fn mismatches(what: &str, got: &Canonical, want: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    for (part, g, w) in [
        ("the blob member set", &got.blobs, want.blobs),
        ("the canonical index.json", &got.index_json, want.index_json),
        (
            "the canonical stream (tar layout, headers, order)",
            &got.stream,
            want.canonical,
        ),
    ] {
        if g != w {
            out.push(format!("{what}: {part} is {g}, recorded {w}"));
        }
    }
    if !out.is_empty() {
        out.push(format!(
            "{what} members:\n{}{what} index.json (canonical):\n{}",
            got.listing, got.index_text
        ));
    }
    out
}

#[test]
fn a_fixed_export_gives_the_same_bytes() {
    let reg = Registry::start();
    let p = push_fixture(&reg);
    let dir = tempfile::tempdir().unwrap();
    let full = export(&dir.path().join("full.tar"), &p.full, &[]);
    let full = canonical(&full, &reg.host);
    let subset = export(
        &dir.path().join("subset.tar"),
        &p.subset,
        &["--platform", "linux/arm64"],
    );
    let subset = canonical(&subset, &reg.host);
    // The normalisation left nothing port-dependent behind, and the shapes are all there.
    for c in [&full, &subset] {
        assert!(!c.index_text.contains("127.0.0.1"), "{}", c.index_text);
    }
    assert!(full
        .index_text
        .contains(&format!("{PLACEHOLDER}/bi/signed:sha256-")));
    assert!(subset.index_text.contains("io.ferry.platforms"));
    // The same export naming the registry `localhost:PORT` (another length, so another
    // index.json size) canonicalises to the same bytes: only the name was normalised away.
    let port = reg.host.rsplit_once(':').unwrap().1;
    let other_host = format!("localhost:{port}");
    let renamed: Vec<String> = p
        .full
        .iter()
        .map(|r| r.replacen(&reg.host, &other_host, 1))
        .collect();
    let again = export(&dir.path().join("again.tar"), &renamed, &[]);
    let again = canonical(&again, &other_host);
    assert_eq!(
        (&again.blobs, &again.index_json, &again.stream),
        (&full.blobs, &full.index_json, &full.stream),
        "the canonical form depends on the registry's name:\n{}",
        again.index_text
    );

    let fixture = p.pushed.digest();
    eprintln!(
        "measured:\nconst FIXTURE: &str = \"{fixture}\";\n{}{}",
        as_rust("FULL", &full),
        as_rust("SUBSET", &subset)
    );
    assert_eq!(
        fixture, FIXTURE,
        "the fixture changed, not ferry: every constant must be re-recorded after checking \
         why ({:#?})",
        p.pushed.0
    );
    let mut bad = mismatches("full", &full, &FULL);
    bad.extend(mismatches("subset", &subset, &SUBSET));
    assert!(
        bad.is_empty(),
        "ferry's bundles changed:\n{}",
        bad.join("\n")
    );
}
