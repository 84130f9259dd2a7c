//! Valid oddities ferry must carry, not refuse: layers and a config with media types nobody
//! knows, the 0-byte blob as a layer, and the member order and names skopeo writes (directory
//! entries first, `./`-prefixed names, `index.json` then `oci-layout` last), as a tar, a
//! `.tar.gz` and a layout directory. Each is exported from a real registry, imported into
//! another, and the target serves the very bytes (raw HTTP for every blob, raw HTTP and
//! `skopeo inspect --raw` for the manifest); `ferry verify` passes the bundle.

use crate::bad_bundle;
use crate::common;

use std::path::Path;

use bad_bundle::*;
use common::*;

/// `sha256` of nothing: the 0-byte blob.
const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn layer_of(media_type: &str, bytes: Vec<u8>) -> Layer {
    let blob = Blob::new(media_type, bytes);
    Layer {
        diff_id: blob.digest.clone(),
        blob,
    }
}

/// An OCI manifest over a config and layers of any media type.
fn image_of(config: Blob, layers: Vec<Layer>) -> Image {
    let blobs: Vec<Blob> = layers.iter().map(|l| l.blob.clone()).collect();
    Image {
        platform: "linux/amd64".into(),
        manifest: manifest_blob(OCI_MANIFEST, &config, &blobs, None),
        config,
        layers,
    }
}

/// Unknown media types: a JSON config of an unknown type, an opaque binary config, and
/// layers of unknown types.
fn unknown_types() -> (Image, Image) {
    let config = Blob::new(
        "application/vnd.example.odd.config.v1+json",
        br#"{"odd": true, "architecture": "amd64", "os": "linux"}"#.to_vec(),
    );
    let json = image_of(
        config,
        vec![
            layer_of(
                "application/vnd.example.odd.layer.v1",
                random_bytes(51, 3000),
            ),
            layer_of("application/octet-stream", random_bytes(52, 100)),
        ],
    );
    let opaque = image_of(
        Blob::new("application/x-ferry-opaque", random_bytes(53, 64)),
        vec![layer_of("x-ferry/unheard-of", random_bytes(54, 500))],
    );
    (json, opaque)
}

/// The 0-byte blob as a layer (between two others), as an uncompressed tar layer would be.
fn empty_layer() -> Image {
    let layers = vec![
        layer(55),
        layer_of(OCI_LAYER_TAR_TYPE, Vec::new()),
        layer(56),
    ];
    assert_eq!(layers[1].blob.digest, EMPTY);
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let config = config_blob(OCI_CONFIG, &Platform::parse("linux/amd64"), &diff_ids);
    image_of(config, layers)
}

const OCI_LAYER_TAR_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// skopeo's layout: directory entries first, then blobs, `index.json`, `oci-layout` last,
/// every name `./`-prefixed.
fn skopeo_order(good: &[Member]) -> Vec<Member> {
    let dir = |name: &str| Member {
        kind: b'5',
        ..Member::file(name, Vec::new())
    };
    let mut out = vec![dir("./"), dir("./blobs/"), dir("./blobs/sha256/")];
    let dotted = |m: &Member| Member {
        name: [b"./".as_slice(), &m.name].concat(),
        ..m.clone()
    };
    let mut blobs: Vec<&Member> = good
        .iter()
        .filter(|m| m.name.starts_with(b"blobs/"))
        .collect();
    blobs.reverse();
    out.extend(blobs.into_iter().map(dotted));
    out.push(dotted(good.iter().find(|m| m.is("index.json")).unwrap()));
    out.push(dotted(good.iter().find(|m| m.is("oci-layout")).unwrap()));
    out
}

/// Writes the members as a layout directory.
fn write_dir(dir: &Path, members: &[Member]) {
    for m in members {
        let p = dir.join(String::from_utf8(m.name.clone()).unwrap());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &m.data).unwrap();
    }
}

/// Imports the setup's bundle in every form and checks the target serves the same bytes.
fn carried(s: &Setup, name: &str) {
    let skopeo = skopeo_order(&s.good);
    let tar = write_tar(&skopeo).0;
    let forms: [(String, &str, Vec<u8>); 3] = [
        (format!("{name}-ferry"), "bundle.tar", write_tar(&s.good).0),
        (format!("{name}-skopeo"), "bundle.tar", tar.clone()),
        (format!("{name}-skopeo-gz"), "bundle.tar.gz", gzip(&tar)),
    ];
    for (case, file, bytes) in &forms {
        let run = s.import(case, file, bytes);
        assert_success(&run.out);
        check_target(s, case, &run.repos);
        let bundle = s.dir.path().join(case).join(file);
        assert_success(&ferry(&["verify", bundle.to_str().unwrap()]));
    }
    // A layout directory, imported in place.
    let case = format!("{name}-dir");
    let dir = s.dir.path().join(&case).join("layout");
    write_dir(&dir, &s.good);
    let prefix = format!("{}/{case}", s.dst.host);
    let mapping = s.dir.path().join(&case).join("mapping.json");
    let (d, m) = (dir.to_str().unwrap(), mapping.to_str().unwrap());
    assert_success(&ferry(&["import", d, "--to", &prefix, "--mapping-out", m]));
    check_target(s, &case, &s.repos(&case));
    assert_success(&ferry(&["verify", d]));
}

fn check_target(s: &Setup, case: &str, repos: &[String]) {
    let c = s.dst.client();
    for (img, repo) in s.images.iter().zip(repos) {
        let (bytes, media_type) = c.get_manifest_raw(repo, "v1");
        assert_eq!(bytes, img.manifest.bytes, "{case}: manifest of {repo}");
        assert_eq!(media_type, OCI_MANIFEST);
        let raw = skopeo_inspect_raw(&s.dst.host, &format!("{repo}:v1"), &[]);
        assert_eq!(raw, img.manifest.bytes, "{case}: skopeo's view of {repo}");
        let blobs = std::iter::once(&img.config).chain(img.layers.iter().map(|l| &l.blob));
        for b in blobs {
            assert_eq!(
                c.head_blob(repo, &b.digest),
                Some(b.size() as u64),
                "{case}"
            );
            let got = c.get_blob(repo, &b.digest);
            assert!(
                got == b.bytes,
                "{case}: {repo} serves other bytes for {}",
                b.digest
            );
        }
    }
}

#[test]
fn unknown_media_types_are_carried() {
    let (json, opaque) = unknown_types();
    let s = setup(vec![("odd-json", json), ("odd-opaque", opaque)]);
    carried(&s, "unknown");
}

#[test]
fn the_empty_blob_as_a_layer_is_carried() {
    let s = setup(vec![("empty", empty_layer())]);
    let m = s.good.iter().find(|m| m.is(&blob_name(EMPTY))).unwrap();
    assert!(m.data.is_empty());
    carried(&s, "empty");
}
