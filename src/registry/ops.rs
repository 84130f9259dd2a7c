//! The registry API used by export: manifests (raw bytes, digest-checked) and blob streams
//! (redirects followed without forwarding credentials).

use std::io::Read;

use ureq::http::Response;
use ureq::Body;

use super::location;
use super::redirect::Landed;
use super::stall::{Stall, StallError};
use super::{header, Answer, Client, Item, Payload, RegistryError, Target};
use crate::digest::Digest;
use crate::manifest::{RawManifest, ACCEPT, MAX_MANIFEST_SIZE};
use crate::reference::Reference;

/// Why a request failed, whichever layer it failed in.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A blob body being downloaded, with where it finally came from.
pub struct BlobStream {
    pub reader: Box<dyn Read + Send>,
    /// Content-Length when the server sent one.
    pub length: Option<u64>,
    /// Host that served the bytes (after redirects).
    pub served_by: String,
    /// 206: the body starts at the requested offset.
    pub partial: bool,
}

pub(super) fn read_limited(
    resp: &mut Response<Body>,
    limit: u64,
    host: &str,
    what: &Item,
) -> Result<Vec<u8>, RegistryError> {
    let mut out = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| match StallError::of_io(&e) {
            Some(s) => RegistryError::TimedOut {
                host: host.into(),
                what: what.clone(),
                stall: s.stall,
                timeout: s.timeout,
                attempts: 1,
            },
            None => RegistryError::Io {
                host: host.into(),
                what: what.clone(),
                source: e,
            },
        })?;
    if u64::try_from(out.len()).map_or(true, |n| n > limit) {
        return Err(RegistryError::TooLarge {
            host: host.into(),
            what: what.clone(),
            limit,
        });
    }
    Ok(out)
}

pub(super) fn target(r: &Reference) -> Target<'_> {
    Target {
        registry: &r.registry,
        host: r.api_host(),
        repository: &r.repository,
        push: false,
    }
}

pub(super) fn status_error(
    host: &str,
    method: &str,
    url: String,
    status: u16,
    body: &[u8],
) -> RegistryError {
    RegistryError::Status {
        host: host.into(),
        method: method.into(),
        url,
        status,
        answer: Answer::of(body),
    }
}

impl Client {
    /// GETs a manifest or index by tag or digest and checks its bytes against the digest asked
    /// for, else against `Docker-Content-Digest`.
    pub fn get_manifest(&self, r: &Reference) -> Result<RawManifest, RegistryError> {
        // A body that breaks off is fetched again, like a request that failed (which
        // send_retrying already retried: those are not retried twice).
        let body_failed = |e: &RegistryError| match e {
            RegistryError::Io { .. } => true,
            RegistryError::TimedOut { stall, .. } => matches!(stall, Stall::Body | Stall::Slow),
            _ => false,
        };
        let mut attempt = 0;
        loop {
            match self.get_manifest_once(r) {
                Err(e) if body_failed(&e) && attempt < self.opts.retries => {
                    attempt += 1;
                    std::thread::sleep(self.backoff(attempt));
                }
                Err(e) if body_failed(&e) => return Err(e.after_attempts(attempt + 1)),
                other => return other,
            }
        }
    }

    fn get_manifest_once(&self, r: &Reference) -> Result<RawManifest, RegistryError> {
        let t = target(r);
        let what = Item::Manifest {
            repository: r.repository.clone(),
            reference: r.manifest_reference().to_string(),
        };
        let path = format!("/v2/{}/manifests/{}", r.repository, r.manifest_reference());
        let mut resp =
            self.send_retrying(&t, "GET", &path, &[("Accept", ACCEPT.to_string())], &[])?;
        let status = resp.status().as_u16();
        if status == 404 {
            let body = read_limited(&mut resp, 64 * 1024, t.host, &what).unwrap_or_default();
            return Err(RegistryError::ManifestNotFound {
                registry: r.registry.clone(),
                repository: r.repository.clone(),
                reference: r.manifest_reference().to_string(),
                answer: Answer::of(&body),
            });
        }
        if status != 200 {
            let body = read_limited(&mut resp, 64 * 1024, t.host, &what).unwrap_or_default();
            return Err(status_error(t.host, "GET", path, status, &body));
        }
        let media_type = header(&resp, "content-type").unwrap_or_default();
        let served_digest = header(&resp, "docker-content-digest");
        let bytes = read_limited(&mut resp, MAX_MANIFEST_SIZE, t.host, &what)?;
        let expected = match (&r.digest, served_digest) {
            (Some(d), _) => d.clone(),
            (None, Some(h)) => {
                Digest::parse(h.trim()).map_err(|source| RegistryError::DigestHeader {
                    host: r.registry.clone(),
                    what: what.clone(),
                    source,
                })?
            }
            (None, None) => Digest::sha256_of(&bytes),
        };
        let actual = expected.of_same_kind(&bytes);
        if actual != expected {
            return Err(RegistryError::DigestMismatch {
                host: r.registry.clone(),
                what: Box::new(what),
                expected,
                actual,
            });
        }
        Ok(RawManifest::new(bytes, expected, &media_type))
    }

    /// HEADs a manifest: its digest when it exists (free on Docker Hub, unlike GET).
    pub fn head_manifest(&self, r: &Reference) -> Result<Option<Digest>, RegistryError> {
        let t = target(r);
        let path = format!("/v2/{}/manifests/{}", r.repository, r.manifest_reference());
        let resp = self.send_retrying(&t, "HEAD", &path, &[("Accept", ACCEPT.to_string())], &[])?;
        match resp.status().as_u16() {
            200 => {
                Ok(header(&resp, "docker-content-digest")
                    .and_then(|d| Digest::parse(d.trim()).ok()))
            }
            404 => Ok(None),
            s => Err(status_error(t.host, "HEAD", path, s, &[])),
        }
    }

    /// Opens a blob for reading, following redirects (e.g. to object storage) without sending
    /// the registry's `Authorization` to another host. Falls back to the descriptor's `urls`
    /// (non-distributable layers) when the registry does not have it.
    pub fn open_blob(
        &self,
        r: &Reference,
        digest: &Digest,
        urls: &[String],
        from: u64,
    ) -> Result<BlobStream, RegistryError> {
        let t = target(r);
        let path = format!("/v2/{}/blobs/{digest}", r.repository);
        let range: Vec<(&str, String)> = if from > 0 {
            vec![("Range", format!("bytes={from}-"))]
        } else {
            vec![]
        };
        let what = Item::Blob {
            repository: r.repository.clone(),
            digest: digest.to_string(),
        };
        let resp = self.send_retrying(&t, "GET", &path, &range, &[])?;
        let url = format!("{}://{}{path}", self.scheme(t.host), t.host);
        let Landed {
            mut resp,
            url,
            host,
        } = self.follow_redirects(&t, &what, resp, url, &range)?;
        let status = resp.status().as_u16();
        if status == 404 && !urls.is_empty() {
            return self.open_foreign(&t, digest, urls, &range);
        }
        if status != 200 && status != 206 {
            let url = url.split('?').next().unwrap_or(&url).to_string();
            if host != t.host {
                // Another server's answer (a redirect target) is never quoted (DESIGN §1).
                return Err(RegistryError::Elsewhere {
                    host: r.registry.clone(),
                    other: host,
                    method: "GET".into(),
                    url,
                    status,
                });
            }
            let body =
                read_limited(&mut resp, 64 * 1024, &host, &Item::ErrorBody).unwrap_or_default();
            if status == 404 {
                return Err(RegistryError::BlobNotFound {
                    registry: r.registry.clone(),
                    name: r.name(),
                    digest: digest.clone(),
                    answer: Answer::of(&body),
                });
            }
            return Err(status_error(
                &host,
                "GET",
                location::without_query(&url).to_string(),
                status,
                &body,
            ));
        }
        let length = header(&resp, "content-length").and_then(|v| v.parse().ok());
        Ok(BlobStream {
            reader: Box::new(resp.into_body().into_reader()),
            length,
            served_by: host,
            partial: status == 206,
        })
    }

    fn open_foreign(
        &self,
        t: &Target,
        digest: &Digest,
        urls: &[String],
        range: &[(&str, String)],
    ) -> Result<BlobStream, RegistryError> {
        // The last URL tried, and its status or error.
        let mut last: Option<(String, Result<u16, Cause>)> = None;
        for u in urls
            .iter()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        {
            let what = Item::Foreign {
                digest: digest.clone(),
            };
            let landed = self
                .raw("GET", u, range, &mut Payload::Empty)
                .map_err(|e| Box::new(e) as Cause)
                .and_then(|resp| {
                    self.follow_redirects(t, &what, resp, u.clone(), range)
                        .map_err(|e| Box::new(e) as Cause)
                });
            let shown = location::without_query(u).to_string();
            match landed {
                Ok(l) if matches!(l.resp.status().as_u16(), 200 | 206) => {
                    let length = header(&l.resp, "content-length").and_then(|v| v.parse().ok());
                    let partial = l.resp.status().as_u16() == 206;
                    return Ok(BlobStream {
                        reader: Box::new(l.resp.into_body().into_reader()),
                        length,
                        served_by: l.host,
                        partial,
                    });
                }
                Ok(l) => last = Some((shown, Ok(l.resp.status().as_u16()))),
                Err(e) => last = Some((shown, Err(e))),
            }
        }
        let (tried, status, source) = match last {
            Some((url, Ok(s))) => (Some(url), Some(s), None),
            Some((url, Err(e))) => (Some(url), None, Some(e)),
            None => (None, None, None),
        };
        Err(RegistryError::ForeignNotFound {
            urls: urls.to_vec(),
            digest: digest.clone(),
            tried,
            status,
            source,
        })
    }

    /// Does the repository have this blob?
    pub fn head_blob(&self, r: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        let t = target(r);
        let path = format!("/v2/{}/blobs/{digest}", r.repository);
        let resp = self.send_retrying(&t, "HEAD", &path, &[], &[])?;
        match resp.status().as_u16() {
            200 | 307 | 302 => Ok(true),
            404 => Ok(false),
            s => Err(status_error(t.host, "HEAD", path, s, &[])),
        }
    }
}
/// One repository of a registry as a place manifests come from, for the one graph walk: a
/// child the registry does not have is absent, not an error.
pub struct Repository<'a> {
    pub client: &'a Client,
    pub reference: &'a Reference,
}

impl crate::walk::Source for Repository<'_> {
    type Error = RegistryError;

    fn manifest(&self, c: &crate::manifest::Checked) -> Result<Option<RawManifest>, RegistryError> {
        let answer = self
            .client
            .get_manifest(&self.reference.with_digest(&c.digest));
        as_child(answer, c)
    }
}

/// A registry's answer for the child `c` of an index, as a walk wants it: the bytes typed by
/// `c`'s descriptor, and a manifest the registry does not have as absent, not an error.
pub fn as_child(
    answer: Result<RawManifest, RegistryError>,
    c: &crate::manifest::Checked,
) -> Result<Option<RawManifest>, RegistryError> {
    match answer {
        Ok(m) => Ok(Some(RawManifest::new(
            m.bytes,
            m.digest,
            &c.descriptor.media_type,
        ))),
        Err(RegistryError::ManifestNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
