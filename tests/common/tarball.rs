//! Reading a bundle tar in tests: its members, `index.json` entries and blob names.

use std::path::Path;

use serde_json::Value;

/// Reads every member of a tar: name → bytes.
pub fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.push((e.path().unwrap().to_string_lossy().to_string(), data));
    }
    out
}

pub fn index_entries(m: &[(String, Vec<u8>)]) -> Vec<Value> {
    let idx = &m
        .iter()
        .find(|(n, _)| n == "index.json")
        .expect("index.json")
        .1;
    let v: Value = serde_json::from_slice(idx).unwrap();
    v["manifests"].as_array().unwrap().clone()
}

pub fn blob_names(m: &[(String, Vec<u8>)]) -> Vec<String> {
    m.iter()
        .filter_map(|(n, _)| {
            n.strip_prefix("blobs/sha256/")
                .map(|h| format!("sha256:{h}"))
        })
        .collect()
}
