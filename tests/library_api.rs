//! The library's API (DESIGN §8) called as a library, not through the binary: `export()`,
//! `inspect()`, `verify()`, `import()` and `map()`, each with its options struct, against a
//! real registry (distribution 2.8.2), each result checked independently of ferry.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use ferry::{Client, ClientOptions, Discovery, MapOptions, MapOutput, MapSource, MappingChoice};
use ferry::{Emit, EmitKind, ExportOptions, ImportOptions, InspectOptions, Mode, Output};

const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64/v8"];

fn export_options(images: &[String], bundle: &Path) -> ExportOptions {
    ExportOptions {
        images: images.to_vec(),
        output: Output::File(bundle.to_path_buf()),
        platforms: Vec::new(),
        strict_platforms: false,
        jobs: 2,
        progress: Mode::Quiet,
        discovery: Discovery::default(),
        keep_going: false,
        split_size: None,
        since: Vec::new(),
        require_signed: None,
    }
}

#[test]
fn the_five_api_functions_as_a_library() {
    let src = Registry::start();
    let dst = Registry::start();
    let index = push_oci_index(&src, "lib/multi", "v1", &PLATFORMS, true, false);
    let single = push_docker_manifest(&src, "lib/single", "t", 7);
    let images = vec![
        format!("{}/lib/multi:v1", src.host),
        format!("{}/lib/single:t", src.host),
    ];
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(ClientOptions::default()).unwrap();

    // export(): the bundle is written, and is the very bundle the binary writes.
    let bundle = dir.path().join("lib.tar");
    let summary = ferry::export(&client, &export_options(&images, &bundle)).unwrap();
    assert!(summary.failed.is_empty(), "{:?}", summary.failed);
    let exported: Vec<(&str, String)> = summary
        .images
        .iter()
        .map(|i| (i.reference.as_str(), i.digest.to_string()))
        .collect();
    assert_eq!(
        exported,
        [
            (images[0].as_str(), index.digest().to_string()),
            (images[1].as_str(), single.digest().to_string()),
        ]
    );
    let written = std::fs::read(&bundle).unwrap();
    assert_eq!(summary.bundle_bytes, written.len() as u64);
    let by_binary = dir.path().join("cli.tar");
    let mut args = vec!["export", "-q", "-o", by_binary.to_str().unwrap()];
    args.extend(images.iter().map(String::as_str));
    assert_success(&ferry(&args));
    assert_eq!(
        sha256_hex(&written),
        sha256_hex(&std::fs::read(&by_binary).unwrap()),
        "the library and the binary write the same bundle"
    );

    // inspect(): both images, the index with its two platforms.
    let info = ferry::inspect(&InspectOptions {
        bundle: bundle.clone(),
    })
    .unwrap();
    assert!(info.problems.is_empty(), "{:?}", info.problems);
    let refs: Vec<&str> = info.images.iter().map(|i| i.reference.as_str()).collect();
    assert_eq!(refs, [images[0].as_str(), images[1].as_str()]);
    let multi = &info.images[0];
    assert_eq!(multi.digest.to_string(), index.digest());
    let platforms: Vec<&str> = multi
        .platforms
        .iter()
        .map(|p| p.platform.as_str())
        .collect();
    assert_eq!(platforms, PLATFORMS);

    // verify(): deep, every blob hashed, nothing wrong.
    let report = ferry::verify(&ferry::VerifyOptions {
        bundle: bundle.clone(),
        deep: true,
        trust: Default::default(),
        jobs: 0,
        progress: Mode::Quiet,
        strict: true,
    })
    .unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.images.len(), 2);

    // import(): the mapping is duffle's, and the target serves the original manifests.
    let prefix = format!("{}/team", dst.host);
    let mapping_file = dir.path().join("relocation-mapping.json");
    let imported = ferry::import(
        &client,
        &ImportOptions {
            bundle: bundle.clone(),
            to: prefix.clone(),
            mapping: MappingChoice::Hashed,
            sparse: ferry::SparsePolicy::Keep,
            dry_run: false,
            mapping_out: Some(mapping_file.clone()),
            name: None,
            no_overwrite: false,
            jobs: 2,
            chunk_size: None,
            progress: Mode::Quiet,
            require_signed: None,
        },
    )
    .unwrap();
    let mut want = BTreeMap::new();
    for (image, digest) in images.iter().zip([index.digest(), single.digest()]) {
        let (name, tag) = image.rsplit_once(':').unwrap();
        let target = hashed(&prefix, name);
        want.insert(image.clone(), format!("{target}:{tag}"));
        let repo = target.trim_start_matches(&format!("{}/", dst.host));
        let (bytes, _) = get_manifest_raw(&dst, repo, tag);
        assert_eq!(common::digest(&bytes), digest, "{target}:{tag}");
    }
    assert_eq!(imported.mapping, want);
    let on_disk: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&mapping_file).unwrap()).unwrap();
    assert_eq!(on_disk, want);

    // map(): the names import used, in the order given; and a configuration that uses them.
    let names = ferry::map(&MapOptions {
        source: MapSource::Images {
            to: prefix.clone(),
            mapping: MappingChoice::Hashed,
            images: images.iter().rev().cloned().collect(),
        },
        emit: None,
        rewrite: None,
    })
    .unwrap();
    let expected: Vec<(String, String)> = images
        .iter()
        .rev()
        .map(|i| (i.clone(), want[i].clone()))
        .collect();
    assert_eq!(names, MapOutput::Names(expected));
    let conf = ferry::map(&MapOptions {
        source: MapSource::MappingFile(mapping_file),
        emit: Some(Emit {
            kind: EmitKind::RegistriesConf,
            key: None,
            insecure_target: false,
            output: None,
        }),
        rewrite: None,
    })
    .unwrap();
    let MapOutput::Config(text) = conf else {
        panic!("registries.conf text expected, got {conf:?}");
    };
    for (image, target) in &want {
        let (name, _) = image.rsplit_once(':').unwrap();
        let (repo, _) = target.rsplit_once(':').unwrap();
        assert!(
            text.contains(&format!("prefix = \"{name}\"")),
            "{name}:\n{text}"
        );
        assert!(
            text.contains(&format!("location = \"{repo}\"")),
            "{repo}:\n{text}"
        );
    }
}
