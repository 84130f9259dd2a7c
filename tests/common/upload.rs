//! A tiny registry client independent of ferry's library (plain ureq), to seed source
//! registries and check targets: monolithic blob uploads, manifests, HEADs.

use super::digest;
#[allow(unused_imports)]
pub use super::http::{basic_header, encode, Auth, Client, Reply, Target};

/// Every manifest media type, for `Accept`.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws";

impl Client {
    /// Monolithic upload: `POST /v2/<repo>/blobs/uploads/`, then `PUT <Location>?digest=`.
    /// Returns `sha256:<hex>`.
    pub fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let d = digest(bytes);
        let r = self.request("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], b"");
        assert_eq!(
            r.status,
            202,
            "POST upload to {repo}: {} {}",
            r.status,
            text(&r)
        );
        let location = r.header("location").expect("Location on 202");
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_string()
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={}", encode(&d));
        let headers = [("Content-Type", "application/octet-stream")];
        let r = self.request("PUT", &url, &headers, bytes);
        assert_eq!(
            r.status,
            201,
            "PUT blob {d} to {repo}: {} {}",
            r.status,
            text(&r)
        );
        d
    }

    /// `PUT /v2/<repo>/manifests/<reference>`; returns the digest of `bytes`.
    pub fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let r = self.request("PUT", &url, &[("Content-Type", media_type)], bytes);
        assert_eq!(
            r.status,
            201,
            "PUT manifest {repo}:{reference}: {} {}",
            r.status,
            text(&r)
        );
        let d = digest(bytes);
        if let Some(h) = r.header("docker-content-digest") {
            assert_eq!(
                h, d,
                "registry computed another digest for {repo}:{reference}"
            );
        }
        d
    }

    /// `GET /v2/<repo>/manifests/<reference>` accepting every manifest type:
    /// (bytes, Content-Type). Panics unless 200.
    pub fn get_manifest_raw(&self, repo: &str, reference: &str) -> (Vec<u8>, String) {
        let url = format!("/v2/{repo}/manifests/{reference}");
        let r = self.request("GET", &url, &[("Accept", MANIFEST_ACCEPT)], b"");
        assert_eq!(
            r.status,
            200,
            "GET manifest {repo}:{reference}: {} {}",
            r.status,
            text(&r)
        );
        let ct = r.header("content-type").unwrap_or("").to_string();
        (r.body, ct)
    }

    /// Status of `HEAD /v2/<repo>/manifests/<reference>` (200, 404, 401...).
    pub fn head_manifest(&self, repo: &str, reference: &str) -> u16 {
        let url = format!("/v2/{repo}/manifests/{reference}");
        self.request("HEAD", &url, &[("Accept", MANIFEST_ACCEPT)], b"")
            .status
    }

    /// `HEAD /v2/<repo>/blobs/<digest>`: Some(Content-Length) when present, None on 404.
    /// A redirect (S3 storage answers HEAD with 307 too) is followed with a HEAD.
    pub fn head_blob(&self, repo: &str, digest: &str) -> Option<u64> {
        let r = self.request("HEAD", &format!("/v2/{repo}/blobs/{digest}"), &[], b"");
        let r = match r.status {
            301 | 302 | 303 | 307 | 308 => {
                let loc = r
                    .header("location")
                    .expect("Location on redirect")
                    .to_string();
                Client::new(&self.base).send("HEAD", &loc, &[], b"")
            }
            _ => r,
        };
        match r.status {
            200 => Some(
                r.header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            ),
            404 => None,
            s => panic!("HEAD blob {repo}@{digest}: {s}"),
        }
    }

    /// `GET /v2/<repo>/blobs/<digest>`, following a redirect (to a storage URL, without our
    /// credentials). Panics unless the bytes arrive.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let r = self.request("GET", &format!("/v2/{repo}/blobs/{digest}"), &[], b"");
        let r = match r.status {
            301 | 302 | 303 | 307 | 308 => {
                let loc = r
                    .header("location")
                    .expect("Location on redirect")
                    .to_string();
                Client::new(&self.base).send("GET", &loc, &[], b"")
            }
            _ => r,
        };
        assert_eq!(
            r.status,
            200,
            "GET blob {repo}@{digest}: {} {}",
            r.status,
            text(&r)
        );
        r.body
    }

    /// `DELETE /v2/<repo>/manifests/<digest>`; returns the status (202 when deleted).
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> u16 {
        self.request(
            "DELETE",
            &format!("/v2/{repo}/manifests/{digest}"),
            &[],
            b"",
        )
        .status
    }

    /// `GET /v2/<repo>/tags/list` → tags (empty when the repository is unknown).
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let r = self.request("GET", &format!("/v2/{repo}/tags/list"), &[], b"");
        if r.status == 404 {
            return Vec::new();
        }
        assert_eq!(
            r.status,
            200,
            "GET tags of {repo}: {} {}",
            r.status,
            text(&r)
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// [`Client::push_blob`] without credentials.
pub fn push_blob(to: &(impl Target + ?Sized), repo: &str, bytes: &[u8]) -> String {
    to.client().push_blob(repo, bytes)
}

/// [`Client::push_manifest`] without credentials.
pub fn push_manifest(
    to: &(impl Target + ?Sized),
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> String {
    to.client()
        .push_manifest(repo, reference, media_type, bytes)
}

/// [`Client::get_manifest_raw`] without credentials.
pub fn get_manifest_raw(
    to: &(impl Target + ?Sized),
    repo: &str,
    reference: &str,
) -> (Vec<u8>, String) {
    to.client().get_manifest_raw(repo, reference)
}

/// [`Client::head_blob`] without credentials.
pub fn head_blob(to: &(impl Target + ?Sized), repo: &str, digest: &str) -> Option<u64> {
    to.client().head_blob(repo, digest)
}

/// [`Client::get_blob`] without credentials.
pub fn get_blob(to: &(impl Target + ?Sized), repo: &str, digest: &str) -> Vec<u8> {
    to.client().get_blob(repo, digest)
}
fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}
