//! `moto_server` (PyPI `moto[server]`, installed by scripts/setup.sh) on a loopback port, as
//! the S3 backend of a distribution registry: blob GETs then answer 307 to presigned URLs on
//! the moto port, as registries on object storage do.

use super::proxy::RecordingProxy;
use super::{free_port, terminate};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "ferry-registry";
pub const ACCESS_KEY: &str = "AKIAFERRYTEST0000000";
pub const SECRET_KEY: &str = "ferry-test-secret-key-0000000000000000000";
pub const REGION: &str = "us-east-1";
/// `rootdirectory` of the registry inside the bucket.
pub const ROOT: &str = "registry";

pub struct Moto {
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// A recording proxy the registry (and so its presigned URLs) points at instead of moto.
    pub front: Option<RecordingProxy>,
    pub bucket: String,
    child: Child,
    log_path: PathBuf,
}

/// Where moto_server is: `$FERRY_MOTO_SERVER`, then the venv of scripts/setup.sh, then
/// `$PATH`.
pub fn moto_server_path() -> PathBuf {
    super::venv_tool("moto_server", "FERRY_MOTO_SERVER")
}

impl Moto {
    /// Starts moto_server, logging to `log_path`, and creates [`BUCKET`].
    pub fn start(log_path: PathBuf) -> Moto {
        let bin = moto_server_path();
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log = File::create(&log_path).unwrap();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {}: {e} (run scripts/setup.sh)", bin.display())
                });
            let mut moto = Moto {
                addr: format!("127.0.0.1:{port}"),
                front: None,
                bucket: BUCKET.to_string(),
                child,
                log_path: log_path.clone(),
            };
            match moto.wait_ready(Duration::from_secs(30)) {
                Ok(()) => {
                    moto.create_bucket();
                    return moto;
                }
                Err(log) if log.contains("in use") => last_log = log,
                Err(log) => panic!("moto_server did not come up on {}:\n{log}", moto.addr),
            }
        }
        panic!("moto_server: no free port after 5 attempts:\n{last_log}");
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the registry is configured with: the recording proxy in front, when there is one.
    pub fn regionendpoint(&self) -> String {
        match &self.front {
            Some(p) => format!("http://{}", p.addr),
            None => self.endpoint(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let agent = plain_agent();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", self.log()));
            }
            if agent
                .get(format!("{}/moto-api/", self.endpoint()))
                .call()
                .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        terminate(&mut self.child, Duration::from_secs(1));
        Err(format!("timed out after {timeout:?}:\n{}", self.log()))
    }

    /// `PUT /<bucket>`: moto does not check signatures, so a bare request works.
    fn create_bucket(&self) {
        let resp = plain_agent()
            .put(format!("{}/{}", self.endpoint(), self.bucket))
            .send_empty()
            .expect("PUT bucket to moto");
        assert!(
            resp.status().is_success(),
            "moto: creating bucket {} answered {}:\n{}",
            self.bucket,
            resp.status(),
            self.log()
        );
    }

    /// Keys of the objects in the bucket (from a ListObjectsV2, first 1000).
    pub fn keys(&self) -> Vec<String> {
        let mut resp = plain_agent()
            .get(format!("{}/{}?list-type=2", self.endpoint(), self.bucket))
            .call()
            .expect("list bucket");
        let xml = resp.body_mut().read_to_string().unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }

    /// `GET /<bucket>/<key>`: the object's bytes, None when absent.
    pub fn get_object(&self, key: &str) -> Option<Vec<u8>> {
        let url = format!(
            "{}/{}/{}",
            self.endpoint(),
            self.bucket,
            key.trim_start_matches('/')
        );
        let mut resp = plain_agent()
            .get(url)
            .header("Authorization", fake_sigv4())
            .call()
            .expect("GET object from moto");
        if resp.status() != 200 {
            return None;
        }
        Some(
            resp.body_mut()
                .with_config()
                .limit(u64::MAX)
                .read_to_vec()
                .unwrap(),
        )
    }

    /// `PUT /<bucket>/<key>` (with a fake signature; moto accepts it), e.g. to tamper with a stored blob.
    pub fn put_object(&self, key: &str, bytes: &[u8]) {
        let url = format!(
            "{}/{}/{}",
            self.endpoint(),
            self.bucket,
            key.trim_start_matches('/')
        );
        let mut resp = plain_agent()
            .put(url)
            .header("Authorization", fake_sigv4())
            // Without a type moto answers 403; a form type would be eaten by werkzeug.
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .expect("PUT object to moto");
        let status = resp.status();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        assert!(status.is_success(), "moto PUT {key}: {status} {body}");
    }

    /// The `storage:` section of a distribution 2.8.2 config using this server.
    pub fn storage_yaml(&self) -> String {
        format!(
            "storage:\n  s3:\n    accesskey: {ACCESS_KEY}\n    secretkey: {SECRET_KEY}\n    region: {REGION}\n    regionendpoint: {}\n    bucket: {}\n    secure: false\n    v4auth: true\n    rootdirectory: /{ROOT}\n  redirect:\n    disable: false\n  delete:\n    enabled: true\n",
            self.regionendpoint(),
            self.bucket
        )
    }
}

/// A well-formed SigV4 `Authorization` header with a bogus signature. moto does not verify
/// signatures, but answers 403 to an *unsigned* GET of a private object.
pub fn fake_sigv4() -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/{REGION}/s3/aws4_request, SignedHeaders=host, Signature=00"
    )
}

fn plain_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

impl Drop for Moto {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(3));
    }
}
