//! Looking at a running [`Registry`] from the outside: its log and access log (to count
//! requests), and its stored blobs (to tamper with them).

use super::registry::Registry;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// One line of the registry's access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub method: String,
    /// Path and query, e.g. `/v2/a/b/blobs/sha256:...`.
    pub path: String,
    pub status: u16,
}

impl Registry {
    /// skopeo flags reaching this registry (`--tls-verify=false` or `--cert-dir=...`).
    pub fn skopeo_tls_args(&self) -> Vec<String> {
        match &self.cert_dir {
            Some(d) => vec![format!("--cert-dir={}", d.display())],
            None => vec!["--tls-verify=false".into()],
        }
    }

    /// Everything the registry printed (app log and access log interleaved).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }

    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// The access log, parsed, once every earlier request has been logged (a marker request
    /// is sent and awaited, so counts are not racy). The marker itself is not included.
    pub fn requests(&self) -> Vec<Access> {
        let n = self.sync_counter.fetch_add(1, Ordering::SeqCst);
        let marker = format!("/v2/?ferry-log-sync={n}");
        let _ = self.agent().get(format!("{}{marker}", self.url())).call();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let entries = parse_access_log(&self.log());
            if let Some(pos) = entries.iter().position(|a| a.path == marker) {
                return entries[..pos]
                    .iter()
                    .filter(|a| !a.path.starts_with("/v2/?ferry-log-sync="))
                    .cloned()
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "registry access log never showed {marker}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many logged requests have `method` and a path containing `path_part`
    /// (e.g. `count_requests("GET", "/blobs/sha256:")`).
    pub fn count_requests(&self, method: &str, path_part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|a| a.method == method && a.path.contains(path_part))
            .count()
    }

    /// Filesystem path of a stored blob's bytes, to tamper with (filesystem storage only).
    /// `digest` is `sha256:<hex>` or `<hex>`; the repository does not matter to distribution.
    pub fn blob_path(&self, _repo: &str, digest: &str) -> PathBuf {
        assert!(
            self.s3.is_none(),
            "blob_path: this registry stores blobs in S3"
        );
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// Replaces the stored bytes of blob `digest` (filesystem or S3 storage), so that the
    /// registry serves content that no longer matches its digest.
    pub fn overwrite_blob(&self, digest: &str, bytes: &[u8]) {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        match &self.s3 {
            Some(m) => {
                let key = format!(
                    "{}/docker/registry/v2/blobs/sha256/{}/{hex}/data",
                    super::s3::ROOT,
                    &hex[..2]
                );
                assert!(m.get_object(&key).is_some(), "no blob {digest} in S3");
                m.put_object(&key, bytes);
            }
            None => {
                let path = self.blob_path("", digest);
                assert!(path.exists(), "no blob {digest} at {}", path.display());
                std::fs::write(path, bytes).unwrap();
            }
        }
    }
}

/// Parses combined-log-format lines (`IP - - [date] "GET /path HTTP/1.1" 200 ...`).
pub fn parse_access_log(log: &str) -> Vec<Access> {
    log.lines()
        .filter(|l| !l.starts_with("time="))
        .filter_map(|l| {
            let (_, rest) = l.split_once("] \"")?;
            let (request, rest) = rest.split_once('"')?;
            let mut r = request.split(' ');
            let (method, path) = (r.next()?, r.next()?);
            let status = rest.split_whitespace().next()?.parse().ok()?;
            Some(Access {
                method: method.into(),
                path: path.into(),
                status,
            })
        })
        .collect()
}
