//! `--platform` against a single manifest (not an index): its config names the platform.

use super::plan::{Planner, PlatformAcc, Role};
use super::{BlobProblem, ExportError};
use crate::digest::VerifyingReader;
use crate::manifest::{Checked, MAX_MANIFEST_SIZE};
use crate::platform::Platform;
use crate::reference::Reference;

impl Planner<'_> {
    /// `--platform` on a single manifest: read its config's platform and refuse a mismatch.
    pub(super) fn check_single(
        &mut self,
        r: &Reference,
        image: &str,
        config: Option<&Checked>,
        acc: &mut PlatformAcc,
    ) -> Result<(), ExportError> {
        let Some(c) = config else {
            return Err(ExportError::NoConfig {
                image: image.into(),
            });
        };
        if c.size > MAX_MANIFEST_SIZE {
            return Err(ExportError::ConfigTooLarge {
                image: image.into(),
                digest: c.digest.clone(),
                size: c.size,
            });
        }
        let bytes = match self.memo.config(&c.digest) {
            Some(bytes) => bytes,
            None => {
                let bytes = self.read_config(r, image, c)?;
                self.memo.put_config(&c.digest, &bytes);
                bytes
            }
        };
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if let Some(p) = Platform::from_json(&json) {
            acc.available.push(p.clone());
            let hits = self.wanted_hits(&p);
            if !hits.is_empty() {
                acc.matched.extend(hits);
                acc.kept.push(p);
            }
        }
        if acc.matched.is_empty() {
            return Ok(()); // add_image reports it with the platform found
        }
        self.plan
            .inline
            .insert(c.digest.clone(), (Role::Config, bytes));
        Ok(())
    }

    /// The config `c` of `image`, digest-checked.
    fn read_config(&self, r: &Reference, image: &str, c: &Checked) -> Result<Vec<u8>, ExportError> {
        let stream = self
            .client
            .open_blob(r, &c.digest, &c.descriptor.urls, 0)
            .map_err(|e| self.registry_err(image, e))?;
        let mut v = VerifyingReader::new(stream.reader, c.digest.clone(), c.size);
        let mut bytes = Vec::new();
        let blob = |problem: BlobProblem| ExportError::Blob {
            image: image.into(),
            digest: c.digest.clone(),
            registry: r.registry.clone(),
            problem: problem.into(),
        };
        std::io::Read::read_to_end(&mut v, &mut bytes).map_err(|e| blob(BlobProblem::Read(e)))?;
        v.finish().map_err(|e| blob(e.into()))?;
        Ok(bytes)
    }
}
