//! OCI layout directories written by hand for `verify` and `inspect` tests, from fixed bytes
//! only (no randomness, no compressor whose output could change between versions), so every
//! digest is the same on every run and snapshots can show them.

use super::cosign::key;
#[allow(unused_imports)]
pub use super::cosign::{cosign_signature, signature_with};
use super::digest;
use super::fixtures::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const SPDX: &str = "application/spdx+json";
/// A Notary Project signature: a signature format ferry carries but does not check.
pub const NOTATION_SIGNATURE: &str = "application/vnd.cncf.notary.signature";

/// gzip with stored (uncompressed) deflate blocks: valid gzip whose bytes depend on nothing
/// but the input.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let n = c.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(c);
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A one-file tar (`name` holding `text`), ustar, mtime 0, root-owned.
pub fn text_tar(name: &str, text: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(text.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, text.as_bytes()).unwrap();
    b.into_inner().unwrap()
}

/// A gzip layer of one text file (stored deflate, so stable bytes).
pub fn text_layer(media_type: &str, name: &str, text: &str) -> Layer {
    let tar = text_tar(name, text);
    Layer {
        diff_id: digest(&tar),
        blob: Blob::new(media_type, gzip_stored(&tar)),
    }
}

/// A layout directory being written.
pub struct Layout {
    pub dir: PathBuf,
    entries: Vec<Value>,
}

impl Layout {
    /// Creates `dir` with `oci-layout` and an empty `blobs/sha256`.
    pub fn new(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout {
            dir: dir.to_path_buf(),
            entries: Vec::new(),
        }
    }

    /// Path of a blob's member.
    pub fn path_of(&self, digest: &str) -> PathBuf {
        self.dir
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    pub fn put(&self, b: &Blob) {
        std::fs::write(self.path_of(&b.digest), &b.bytes).unwrap();
    }

    /// Writes an image's manifest, config and layers.
    pub fn put_image(&self, img: &super::images::Image) {
        self.put(&img.manifest);
        self.put(&img.config);
        for l in &img.layers {
            self.put(&l.blob);
        }
    }

    /// Adds an `index.json` entry for `b` named `name`, with more annotations from `extra`
    /// (a JSON object) and `artifactType` when given.
    pub fn entry(&mut self, name: &str, b: &Blob, extra: Value, artifact_type: Option<&str>) {
        let mut a = json!({
            "io.containerd.image.name": name,
            "org.opencontainers.image.ref.name": name,
        });
        if let Some(m) = extra.as_object() {
            for (k, v) in m {
                a[k] = v.clone();
            }
        }
        let mut d = b.descriptor();
        d["annotations"] = a;
        if let Some(t) = artifact_type {
            d["artifactType"] = json!(t);
        }
        self.entries.push(d);
    }

    /// Writes `index.json`.
    pub fn finish(&self) {
        let idx = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec_pretty(&idx).unwrap(),
        )
        .unwrap();
    }
}

/// Packs a layout directory into a tar (`oci-layout`, `index.json`, then blobs by name).
pub fn tar_layout(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    let mut names = vec!["oci-layout".to_string(), "index.json".to_string()];
    let mut blobs: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| format!("blobs/sha256/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    blobs.sort();
    names.extend(blobs);
    for n in names {
        let data = std::fs::read(dir.join(&n)).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, &n, &data[..]).unwrap();
    }
    b.into_inner().unwrap();
}

/// An OCI 1.1 referrer of `subject` carrying `content` as its one layer; returns
/// (manifest, empty config, layer).
pub fn referrer(subject: &Blob, artifact_type: &str, content: &[u8]) -> [Blob; 3] {
    let empty = Blob::new("application/vnd.oci.empty.v1+json", b"{}".to_vec());
    let layer = Blob::new(artifact_type, content.to_vec());
    let manifest = Blob::json(
        OCI_MANIFEST,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                "config": empty.descriptor(), "layers": [layer.descriptor()],
                "subject": subject.descriptor()}),
    );
    [manifest, empty, layer]
}

/// The digests of the sample bundle's parts.
pub struct Sample {
    pub dir: PathBuf,
    pub index: Blob,
    pub amd64: super::images::Image,
    pub arm64: super::images::Image,
    pub alpine: super::images::Image,
    pub tool: super::images::Image,
    /// The buildkit attestations of amd64 (in the bundle) and arm64 (absent, like arm64).
    pub att_amd64: super::images::Image,
    pub att_arm64: super::images::Image,
    /// `[manifest, config, payload]` of the signature over the index.
    pub sig_index: [Blob; 3],
    /// `[manifest, config, payload]` of the signature over the amd64 manifest.
    pub sig_amd64: [Blob; 3],
    /// `[manifest, empty config, SPDX document]` of the SBOM referrer of the amd64 manifest.
    pub sbom: [Blob; 3],
    /// `[manifest, config, payload]` of the signature over the SBOM manifest.
    pub sig_sbom: [Blob; 3],
    /// `[manifest, empty config, JWS envelope]` of the notation signature referrer of alpine.
    pub alpine_notation: [Blob; 3],
}

/// The cosign tag of a digest: `sha256-<hex>.sig`.
pub fn sig_tag(digest: &str) -> String {
    format!("sha256-{}.sig", digest.trim_start_matches("sha256:"))
}

/// The sample bundle (a layout directory):
/// * `example.com/app:v1`: an OCI index of linux/amd64 and linux/arm64/v8 with buildkit
///   attestations, exported sparse (kept linux/amd64); cosign signatures (key 7) over the
///   index and the amd64 manifest; an SPDX SBOM referrer of the amd64 manifest, itself signed;
/// * `docker.io/library/alpine:3.19`: a Docker manifest, signed only by a notation signature
///   (a format ferry reports as not checked);
/// * `registry.local/tools/tool:1.0`: an unsigned OCI manifest with an uncompressed and a
///   zstd layer.
pub fn sample(dir: &Path) -> Sample {
    use super::images::{Image, ImageIndex, Kind};
    let mut l = Layout::new(dir);
    let k = key(7);
    let layer = |text: &str| text_layer(OCI_LAYER_GZIP, "hello.txt", text);
    let amd64 = Image::from_layers(Kind::Oci, "linux/amd64", vec![layer("amd64\n")]);
    let arm64 = Image::from_layers(Kind::Oci, "linux/arm64/v8", vec![layer("arm64\n")]);
    let att_amd = Image::attestation_for(&amd64);
    let att_arm = Image::attestation_for(&arm64);
    let idx = ImageIndex::new(
        Kind::Oci,
        vec![amd64.clone(), arm64.clone()],
        vec![att_amd.clone(), att_arm.clone()],
    );
    l.put(&idx.index);
    l.put_image(&amd64);
    l.put_image(&att_amd);
    l.entry(
        "example.com/app:v1",
        &idx.index,
        json!({"io.ferry.platforms": "linux/amd64"}),
        None,
    );
    let sig_index = cosign_signature("example.com/app", idx.digest(), &k);
    let sig_amd = cosign_signature("example.com/app", amd64.digest(), &k);
    let sbom = referrer(
        &amd64.manifest,
        SPDX,
        br#"{"spdxVersion":"SPDX-2.3","name":"app"}"#,
    );
    let sig_sbom = cosign_signature("example.com/app", &sbom[0].digest, &k);
    for (tag, blobs, subject) in [
        (sig_tag(idx.digest()), &sig_index, idx.digest()),
        (sig_tag(amd64.digest()), &sig_amd, amd64.digest()),
        (sig_tag(&sbom[0].digest), &sig_sbom, sbom[0].digest.as_str()),
    ] {
        blobs.iter().for_each(|b| l.put(b));
        let name = format!("example.com/app:{tag}");
        l.entry(&name, &blobs[0], json!({"io.ferry.subject": subject}), None);
    }
    sbom.iter().for_each(|b| l.put(b));
    let name = format!("example.com/app@{}", sbom[0].digest);
    l.entry(
        &name,
        &sbom[0],
        json!({"io.ferry.subject": amd64.digest()}),
        Some(SPDX),
    );

    let alpine = Image::from_layers(
        Kind::Docker,
        "linux/amd64",
        vec![text_layer(
            DOCKER_LAYER_GZIP,
            "etc/alpine-release",
            "3.19.0\n",
        )],
    );
    l.put_image(&alpine);
    l.entry(
        "docker.io/library/alpine:3.19",
        &alpine.manifest,
        json!({}),
        None,
    );
    let bundle = referrer(
        &alpine.manifest,
        NOTATION_SIGNATURE,
        br#"{"payload":"e30","protected":"e30","signature":"AA"}"#,
    );
    bundle.iter().for_each(|b| l.put(b));
    let name = format!("docker.io/library/alpine@{}", bundle[0].digest);
    l.entry(
        &name,
        &bundle[0],
        json!({"io.ferry.subject": alpine.digest()}),
        Some(NOTATION_SIGNATURE),
    );

    let plain = text_tar("bin/tool", "#!/bin/sh\necho tool\n");
    let plain = Layer {
        diff_id: digest(&plain),
        blob: Blob::new(OCI_LAYER_TAR, plain),
    };
    let zstd = Layer {
        diff_id: digest(b"not checked"),
        blob: Blob::new(OCI_LAYER_ZSTD, b"(\xb5/\xfd zstd frame stand-in".to_vec()),
    };
    let tool = Image::from_layers(Kind::Oci, "linux/arm64/v8", vec![plain, zstd]);
    l.put_image(&tool);
    l.entry(
        "registry.local/tools/tool:1.0",
        &tool.manifest,
        json!({}),
        None,
    );
    l.finish();
    Sample {
        dir: dir.to_path_buf(),
        index: idx.index,
        amd64,
        arm64,
        alpine,
        tool,
        att_amd64: att_amd,
        att_arm64: att_arm,
        sig_index,
        sig_amd64: sig_amd,
        sbom,
        sig_sbom,
        alpine_notation: bundle,
    }
}
