//! The registry API used by import (DESIGN §4.3): HEAD to skip, cross-repository mount,
//! streaming monolithic upload, chunked upload, and manifest PUT with the original bytes.

use std::io::Read;

use ureq::http::Response;
use ureq::Body;

use super::{describe_body, header, location, Client, Payload, RegistryError, Target};
use crate::digest::{Digest, HoldbackReader};

/// How a blob got into the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    Existed,
    Mounted,
    Uploaded,
}

/// What a manifest PUT answered.
#[derive(Debug, Clone)]
pub struct PutManifest {
    /// The registry indexed the `subject` (OCI 1.1 `OCI-Subject` header).
    pub oci_subject: bool,
}

fn body_text(resp: &mut Response<Body>) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = resp
        .body_mut()
        .as_reader()
        .take(64 * 1024)
        .read_to_end(&mut out);
    out
}

fn status_err(t: &Target, method: &str, url: &str, status: u16, body: &[u8]) -> RegistryError {
    let d = describe_body(body);
    RegistryError::Status {
        host: t.registry.to_string(),
        method: method.into(),
        url: url.split('?').next().unwrap_or(url).to_string(),
        status,
        detail: if d.is_empty() {
            String::new()
        } else {
            format!(": {d}")
        },
    }
}

/// An upload session: the absolute URL to send the next request to.
struct Session {
    location: String,
    chunk_min: Option<u64>,
}

impl Client {
    /// The next URL of an upload session: the `Location` of `resp`, resolved against the URL
    /// `url` that `resp` answered (RFC 3986: `u1` after a POST to `…/uploads/` is
    /// `…/uploads/u1`), http(s) only and never down to http.
    fn next_location(
        &self,
        t: &Target,
        method: &str,
        url: &str,
        resp: &Response<Body>,
    ) -> Result<Option<String>, RegistryError> {
        let Some(loc) = header(resp, "location") else {
            return Ok(None);
        };
        location::follow(url, &loc)
            .map(Some)
            .map_err(|why| RegistryError::Location {
                host: t.registry.into(),
                what: format!("{method} {}", location::without_query(url)),
                from: location::without_query(url).into(),
                to: location::without_query(&location::resolve(url, loc.trim())).into(),
                why: why.to_string(),
            })
    }

    /// Sends to an absolute session URL: with the registry's credentials on its own origin,
    /// without them anywhere else.
    fn send_at(
        &self,
        t: &Target,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: &mut Payload,
    ) -> Result<Response<Body>, RegistryError> {
        let (scheme, host) = location::origin(url);
        if host == t.host && scheme == self.scheme(t.host) {
            self.send(t, method, &location::path_and_query(url), headers, body)
        } else {
            self.raw(method, url, headers, body)
                .map_err(|e| self.net_error(host, method, url, &e))
        }
    }

    /// Does the target repository have this blob?
    pub fn blob_exists(&self, t: &Target, d: &Digest) -> Result<bool, RegistryError> {
        let path = format!("/v2/{}/blobs/{d}", t.repository);
        let resp = self.send_retrying(t, "HEAD", &path, &[], &[])?;
        match resp.status().as_u16() {
            200 | 307 | 302 => Ok(true),
            404 => Ok(false),
            s => Err(status_err(t, "HEAD", &path, s, &[])),
        }
    }

    fn start_upload(&self, t: &Target, query: &str) -> Result<Result<Session, ()>, RegistryError> {
        let path = format!("/v2/{}/blobs/uploads/{query}", t.repository);
        // Not retried here: the caller restarts the whole upload (POST and PUT) on a transient
        // failure, so retries do not multiply.
        let mut resp = self.send(t, "POST", &path, &[], &mut Payload::Empty)?;
        let url = format!("{}://{}{path}", self.scheme(t.host), t.host);
        match resp.status().as_u16() {
            201 => Ok(Err(())),
            202 => {
                let location = self.next_location(t, "POST", &url, &resp)?;
                let location = location.ok_or_else(|| RegistryError::Status {
                    host: t.registry.into(),
                    method: "POST".into(),
                    url: path.clone(),
                    status: 202,
                    detail: " without a Location header".into(),
                })?;
                let chunk_min =
                    header(&resp, "oci-chunk-min-length").and_then(|v| v.trim().parse().ok());
                Ok(Ok(Session {
                    location,
                    chunk_min,
                }))
            }
            s => {
                let b = body_text(&mut resp);
                Err(status_err(t, "POST", &path, s, &b))
            }
        }
    }

    /// Mounts a blob from another repository of the same registry; false when the registry
    /// did not (202: an upload session was opened instead, which is simply abandoned).
    pub fn mount_blob(&self, t: &Target, d: &Digest, from: &str) -> Result<bool, RegistryError> {
        let query = format!("?mount={d}&from={}", super::percent_encode(from));
        Ok(self.start_upload(t, &query)?.is_err())
    }

    /// Uploads a blob from `open()` (called again for each restart), checking its digest while
    /// it streams: monolithic unless `chunk` (or the registry) asks for chunks; a 413 switches
    /// to chunks.
    pub fn upload_blob<'r>(
        &self,
        t: &Target,
        d: &Digest,
        size: u64,
        chunk: Option<u64>,
        open: &mut dyn FnMut() -> std::io::Result<Box<dyn Read + 'r>>,
    ) -> Result<(), RegistryError> {
        let io = |e: std::io::Error| RegistryError::Io {
            host: t.registry.into(),
            what: format!("blob {d} for {}", t.repository),
            source: e,
        };
        let Ok(session) = self.start_upload(t, "")? else {
            return Ok(());
        };
        let chunk = match (chunk, session.chunk_min) {
            (Some(c), Some(m)) => Some(c.max(m)),
            (c, m) => c.or(m),
        };
        // Chunked only when the blob is larger than the chunk size (a single PUT otherwise).
        let mut reader = HoldbackReader::new(open().map_err(io)?, d.clone(), size);
        if let Some(c) = chunk.filter(|c| size > *c) {
            return self.upload_chunks(t, d, size, c, session, &mut reader);
        }
        let loc = format!(
            "{}{}digest={d}",
            session.location,
            if session.location.contains('?') {
                '&'
            } else {
                '?'
            }
        );
        let hdrs = [("Content-Type", "application/octet-stream".to_string())];
        let sent = self.send_at(
            t,
            "PUT",
            &loc,
            &hdrs,
            &mut Payload::Stream(&mut reader, size),
        );
        let mut resp = refused(t, d, &reader, sent)?;
        match resp.status().as_u16() {
            201 | 204 => Ok(()),
            413 => {
                let Ok(session) = self.start_upload(t, "")? else {
                    return Ok(());
                };
                let mut reader = HoldbackReader::new(open().map_err(io)?, d.clone(), size);
                let c = session.chunk_min.unwrap_or(16 << 20).max(1 << 20);
                self.upload_chunks(t, d, size, c, session, &mut reader)
            }
            s => {
                let b = body_text(&mut resp);
                Err(status_err(t, "PUT", &loc, s, &b))
            }
        }
    }

    fn upload_chunks<R: Read>(
        &self,
        t: &Target,
        d: &Digest,
        size: u64,
        chunk: u64,
        mut s: Session,
        reader: &mut HoldbackReader<R>,
    ) -> Result<(), RegistryError> {
        let mut sent = 0u64;
        while sent < size {
            let n = chunk.min(size - sent);
            let hdrs = [
                ("Content-Type", "application/octet-stream".to_string()),
                ("Content-Range", format!("{sent}-{}", sent + n - 1)),
            ];
            let mut part = (&mut *reader).take(n);
            let answer = self.send_at(
                t,
                "PATCH",
                &s.location,
                &hdrs,
                &mut Payload::Stream(&mut part, n),
            );
            let mut resp = refused(t, d, reader, answer)?;
            if resp.status().as_u16() != 202 {
                let b = body_text(&mut resp);
                return Err(status_err(
                    t,
                    "PATCH",
                    &s.location,
                    resp.status().as_u16(),
                    &b,
                ));
            }
            if let Some(next) = self.next_location(t, "PATCH", &s.location, &resp)? {
                s.location = next;
            }
            sent += n;
        }
        let loc = format!(
            "{}{}digest={d}",
            s.location,
            if s.location.contains('?') { '&' } else { '?' }
        );
        let mut resp = self.send_at(t, "PUT", &loc, &[], &mut Payload::Empty)?;
        match resp.status().as_u16() {
            201 | 204 => Ok(()),
            st => {
                let b = body_text(&mut resp);
                Err(status_err(t, "PUT", &loc, st, &b))
            }
        }
    }

    /// PUTs manifest bytes unchanged under a tag or digest.
    pub fn put_manifest(
        &self,
        t: &Target,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<PutManifest, RegistryError> {
        let path = format!("/v2/{}/manifests/{reference}", t.repository);
        let mut resp = self.send_retrying(
            t,
            "PUT",
            &path,
            &[("Content-Type", media_type.to_string())],
            bytes,
        )?;
        match resp.status().as_u16() {
            200 | 201 | 202 | 204 => Ok(PutManifest {
                oci_subject: header(&resp, "oci-subject").is_some(),
            }),
            s => {
                let b = body_text(&mut resp);
                Err(RegistryError::ManifestRejected {
                    host: t.registry.into(),
                    repository: t.repository.into(),
                    reference: reference.into(),
                    status: s,
                    detail: describe_body(&b),
                    missing: missing_blobs(&b),
                })
            }
        }
    }
}

/// A request whose body the bundle refused (bad digest, short member) failed on purpose: say so
/// instead of reporting a network error.
fn refused<R: Read>(
    t: &Target,
    d: &Digest,
    reader: &HoldbackReader<R>,
    sent: Result<Response<Body>, RegistryError>,
) -> Result<Response<Body>, RegistryError> {
    match (sent, reader.failure()) {
        (Err(_), Some(why)) => Err(RegistryError::Integrity {
            host: t.registry.into(),
            what: format!("blob {d} (for {})", t.repository),
            detail: format!("{why}; the upload was aborted before its last bytes, so the registry did not store it"),
        }),
        (r, _) => r,
    }
}

/// The digests a `MANIFEST_BLOB_UNKNOWN` answer names.
pub fn missing_blobs(body: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter(|e| e["code"] == "MANIFEST_BLOB_UNKNOWN" || e["code"] == "BLOB_UNKNOWN")
                .filter_map(|e| {
                    e["detail"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| e["detail"]["digest"].as_str().map(str::to_string))
                })
                .collect()
        })
        .unwrap_or_default()
}
