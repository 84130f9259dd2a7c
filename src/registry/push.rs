//! The registry API used by import (DESIGN §4.3): HEAD to skip, cross-repository mount,
//! streaming monolithic upload, chunked upload, and manifest PUT with the original bytes.

use std::io::Read;

use ureq::http::Response;
use ureq::Body;

use super::{header, location, Broken, Client, Item, Payload, RegistryError, Target};
use crate::digest::{Digest, HoldbackReader};
use crate::error::Boxed;
use crate::registry::Answer as Said;

mod check;

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

fn without_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

fn status_err(t: &Target, method: &str, url: &str, status: u16, body: &[u8]) -> RegistryError {
    RegistryError::PushRefused {
        registry: t.registry.to_string(),
        method: method.into(),
        url: without_query(url),
        status,
        answer: Said::of(body),
    }
}

/// An upload session: the absolute URL to send the next request to.
struct Session {
    location: String,
    chunk_min: Option<u64>,
}

/// What an upload POST opened.
enum Started {
    /// 201: the blob is there (a mount, when one was asked).
    Mounted,
    Session(Session),
}

/// An answer, and the server it came from when that is not the registry.
struct Answer {
    resp: Response<Body>,
    url: String,
    elsewhere: Option<String>,
}

impl Answer {
    fn status(&self) -> u16 {
        self.resp.status().as_u16()
    }

    /// The error for an answer that is not a success: the registry's own body is described;
    /// another server's is never quoted (it may be a token service handing out tokens).
    fn error(mut self, t: &Target, method: &str) -> RegistryError {
        let status = self.status();
        match self.elsewhere {
            Some(other) => RegistryError::Elsewhere {
                host: t.registry.into(),
                other,
                method: method.into(),
                url: without_query(&self.url),
                status,
            },
            None => {
                let b = body_text(&mut self.resp);
                status_err(t, method, &self.url, status, &b)
            }
        }
    }
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
                what: Box::new(Item::Request {
                    method: method.into(),
                    path: location::without_query(url).into(),
                }),
                from: location::without_query(url).into(),
                to: location::without_query(&location::resolve(url, loc.trim())).into(),
                why,
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
    ) -> Result<Answer, RegistryError> {
        let (scheme, host) = location::origin(url);
        if host == t.host && scheme == self.scheme(t.host) {
            let resp = self.send(t, method, &location::path_and_query(url), headers, body)?;
            return Ok(Answer {
                resp,
                url: url.to_string(),
                elsewhere: None,
            });
        }
        let resp = self
            .raw(method, url, headers, body)
            .map_err(|e| self.net_error(host, method, url, e))?;
        Ok(Answer {
            resp,
            url: url.to_string(),
            elsewhere: Some(host.to_string()),
        })
    }

    /// POSTs an upload: `from` asks for a mount from that repository.
    fn post_upload(
        &self,
        t: &Target,
        d: &Digest,
        from: Option<&str>,
    ) -> Result<Started, RegistryError> {
        let query = match from {
            Some(f) => format!("?mount={d}&from={}", super::percent_encode(f)),
            None => String::new(),
        };
        let path = format!("/v2/{}/blobs/uploads/{query}", t.repository);
        // Not retried here: the caller restarts the whole upload (POST and PUT) on a transient
        // failure, so retries do not multiply.
        let mut resp = self.send(t, "POST", &path, &[], &mut Payload::Empty)?;
        let url = format!("{}://{}{path}", self.scheme(t.host), t.host);
        match resp.status().as_u16() {
            201 => Ok(Started::Mounted),
            202 => {
                let location = self.next_location(t, "POST", &url, &resp)?;
                let location = location.ok_or_else(|| RegistryError::Protocol {
                    registry: t.registry.into(),
                    repository: t.repository.into(),
                    digest: d.clone(),
                    broken: Broken::NoLocation {
                        path: without_query(&path),
                    },
                })?;
                let chunk_min =
                    header(&resp, "oci-chunk-min-length").and_then(|v| v.trim().parse().ok());
                Ok(Started::Session(Session {
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

    /// Opens an upload session. A `201` here is a protocol error (DESIGN §4.3): the POST asked
    /// no mount and carried no bytes, so "created" cannot be true, and trusting it would report
    /// a blob that was never sent.
    fn open_session(&self, t: &Target, d: &Digest) -> Result<Session, RegistryError> {
        match self.post_upload(t, d, None)? {
            Started::Session(s) => Ok(s),
            Started::Mounted => Err(RegistryError::Protocol {
                registry: t.registry.into(),
                repository: t.repository.into(),
                digest: d.clone(),
                broken: Broken::CreatedWithoutMount {
                    repository: t.repository.into(),
                },
            }),
        }
    }

    /// Mounts a blob from another repository of the same registry; false when the registry
    /// did not (202: an upload session was opened instead, which is simply abandoned).
    pub fn mount_blob(&self, t: &Target, d: &Digest, from: &str) -> Result<bool, RegistryError> {
        Ok(matches!(
            self.post_upload(t, d, Some(from))?,
            Started::Mounted
        ))
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
            what: Item::Upload {
                repository: t.repository.into(),
                digest: Some(d.clone()),
            },
            source: e,
        };
        let session = self.open_session(t, d)?;
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
        let answer = refused(t, d, &reader, sent)?;
        match answer.status() {
            201 | 204 => Ok(()),
            413 => {
                let session = self.open_session(t, d)?;
                let mut reader = HoldbackReader::new(open().map_err(io)?, d.clone(), size);
                let c = session.chunk_min.unwrap_or(16 << 20).max(1 << 20);
                self.upload_chunks(t, d, size, c, session, &mut reader)
            }
            _ => Err(answer.error(t, "PUT")),
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
            let answer = refused(t, d, reader, answer)?;
            if answer.status() != 202 {
                return Err(answer.error(t, "PATCH"));
            }
            if let Some(next) = self.next_location(t, "PATCH", &s.location, &answer.resp)? {
                s.location = next;
            }
            sent += n;
        }
        let loc = format!(
            "{}{}digest={d}",
            s.location,
            if s.location.contains('?') { '&' } else { '?' }
        );
        let answer = self.send_at(t, "PUT", &loc, &[], &mut Payload::Empty)?;
        match answer.status() {
            201 | 204 => Ok(()),
            _ => Err(answer.error(t, "PUT")),
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
                    registry: t.registry.into(),
                    repository: t.repository.into(),
                    reference: reference.into(),
                    status: s,
                    answer: Said::of(&b),
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
    sent: Result<Answer, RegistryError>,
) -> Result<Answer, RegistryError> {
    match (sent, reader.failure()) {
        (Err(_), Some(why)) => Err(RegistryError::UploadAborted {
            host: t.registry.into(),
            repository: t.repository.into(),
            digest: d.clone(),
            source: Boxed::new(why.clone()),
        }),
        (r, _) => r,
    }
}
