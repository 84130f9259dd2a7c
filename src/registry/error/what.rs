//! What a registry error is about and why, as data: the item a request concerned (`Item`) and
//! the typed reasons of trust, size and protocol failures. Rendered by `RegistryError`'s
//! messages; it imports nothing outside the registry module but digests.

use crate::digest::Digest;

/// What a request was about, for messages: `manifest v1 of team/app`, `blob sha256:… of x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A manifest by tag or digest: `manifest v1 of team/app`.
    Manifest {
        repository: String,
        reference: String,
    },
    /// A blob being downloaded (or HEADed): `blob sha256:… of team/app`.
    Blob { repository: String, digest: String },
    /// A blob being uploaded: `blob sha256:… for team/app`, `blob upload to team/app`.
    Upload {
        repository: String,
        digest: Option<Digest>,
    },
    /// The referrers of a manifest: `referrers of sha256:… in team/app`.
    Referrers { repository: String, subject: String },
    /// A blob from a descriptor's `urls`: `non-distributable blob sha256:…`.
    Foreign { digest: Digest },
    /// A token service's answer.
    Token,
    /// The body of an error answer.
    ErrorBody,
    /// Any other request: `GET /token`.
    Request { method: String, path: String },
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Manifest {
                repository,
                reference,
            } => write!(f, "manifest {reference} of {repository}"),
            Item::Blob { repository, digest } => write!(f, "blob {digest} of {repository}"),
            Item::Upload {
                repository,
                digest: Some(d),
            } => write!(f, "blob {d} for {repository}"),
            Item::Upload {
                repository,
                digest: None,
            } => write!(f, "blob upload to {repository}"),
            Item::Referrers {
                repository,
                subject,
            } => write!(f, "referrers of {subject} in {repository}"),
            Item::Foreign { digest } => write!(f, "non-distributable blob {digest}"),
            Item::Token => f.write_str("token"),
            Item::ErrorBody => f.write_str("error body"),
            Item::Request { method, path } => write!(f, "{method} {path}"),
        }
    }
}

impl Item {
    /// What a request was about, from its method and the URL ferry built for it.
    pub(crate) fn of_request(method: &str, url: &str) -> Item {
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => url,
        };
        let path = path.split(['?', '#']).next().unwrap_or(path);
        if let Some(rest) = path.strip_prefix("/v2/") {
            if let Some((repo, _)) = rest.rsplit_once("/blobs/uploads/") {
                return Item::Upload {
                    repository: repo.into(),
                    digest: None,
                };
            }
            let (repository, r) = (String::from, String::from);
            if let Some((repo, x)) = rest.rsplit_once("/manifests/") {
                return Item::Manifest {
                    repository: repository(repo),
                    reference: r(x),
                };
            }
            if let Some((repo, x)) = rest.rsplit_once("/blobs/") {
                return Item::Blob {
                    repository: repository(repo),
                    digest: r(x),
                };
            }
            if let Some((repo, x)) = rest.rsplit_once("/referrers/") {
                return Item::Referrers {
                    repository: repository(repo),
                    subject: r(x),
                };
            }
        }
        Item::Request {
            method: method.into(),
            path: path.into(),
        }
    }
}

/// What is wrong with a trust setting that can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustProblem {
    NotADirectory,
    NoSuchDirectory,
    NoPemCertificate,
    NoPemKey,
    /// A client certificate without its `.key`.
    NoKey {
        key: String,
    },
    /// A client key without its `.cert`.
    NoCertificate {
        cert: String,
    },
    /// A client certificate whose key (named) is another's.
    KeyMismatch {
        key: String,
    },
}

impl std::fmt::Display for TrustProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustProblem::NotADirectory => f.write_str("is not a directory"),
            TrustProblem::NoSuchDirectory => f.write_str("no such directory"),
            TrustProblem::NoPemCertificate => f.write_str("holds no PEM certificate"),
            TrustProblem::NoPemKey => f.write_str("holds no PEM private key"),
            TrustProblem::NoKey { key } => write!(
                f,
                "no key {key} beside it (CA certificates must end in .crt)"
            ),
            TrustProblem::NoCertificate { cert } => {
                write!(f, "no client certificate {cert} beside it")
            }
            TrustProblem::KeyMismatch { key } => write!(f, "does not match its key {key}"),
        }
    }
}

/// How a subject came to have more referrers than ferry carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overflow {
    /// The first page of the referrers API alone.
    FirstPage,
    /// Page `page` (1-based), after `before` referrers on the earlier ones.
    Page { page: usize, before: usize },
    /// Across the queries for these artifact types.
    Types(Vec<String>),
    /// The referrers fallback tag (`sha256-<hex>`).
    FallbackTag(String),
}

impl std::fmt::Display for Overflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Overflow::FirstPage => f.write_str("its first page alone lists more"),
            Overflow::Page { page, before } => write!(
                f,
                "page {page} takes the count past it, after {before} on earlier pages"
            ),
            Overflow::Types(types) => write!(f, "artifact types {}", types.join(", ")),
            Overflow::FallbackTag(tag) => write!(f, "in the fallback tag {tag}"),
        }
    }
}

/// How an upload answer broke the distribution protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    /// `202 Accepted` to the POST at `path`, without a `Location`.
    NoLocation { path: String },
    /// `201 Created` to a POST that asked no mount.
    CreatedWithoutMount { repository: String },
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Broken::NoLocation { path } => write!(f, "it answered 202 to POST {path} without a Location header, so there is nowhere to send the blob"),
            Broken::CreatedWithoutMount { repository } => write!(f, "it answered 201 Created to POST /v2/{repository}/blobs/uploads/, which asked no mount: no upload session was opened and no byte of the blob was sent, so ferry does not count it as uploaded"),
        }
    }
}
