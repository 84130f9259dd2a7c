//! The signature flags `verify`, `export --require-signed` and `import --require-signed` share,
//! named as cosign names them: a key, or a keyless identity and OIDC issuer (each exact or a
//! regular expression), and the trust root. Keyless needs both an identity and an issuer, and
//! a key excludes them: clap enforces it, so a missing half is a usage error (exit 2).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ferry::sigstore::image::TrustOptions;
use ferry::sigstore::Pattern;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("cert_identity").args(["certificate_identity", "certificate_identity_regexp"]).requires("cert_issuer")))]
#[command(group(clap::ArgGroup::new("signer").args(["key", "certificate_identity", "certificate_identity_regexp"]).multiple(true)))]
#[command(group(clap::ArgGroup::new("cert_issuer").args(["certificate_oidc_issuer", "certificate_oidc_issuer_regexp"]).requires("cert_identity")))]
pub struct TrustArgs {
    /// Check signatures with this public key (PEM, as cosign generate-key-pair writes).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cert_identity", "cert_issuer"])]
    pub key: Option<PathBuf>,
    /// Keyless: the signer's identity, the Fulcio certificate's SAN (an email or URI).
    #[arg(long, value_name = "ID")]
    pub certificate_identity: Option<String>,
    /// Keyless: a regular expression the certificate's SAN must match.
    #[arg(long, value_name = "RE")]
    pub certificate_identity_regexp: Option<String>,
    /// Keyless: the OIDC issuer the certificate must name (e.g. https://accounts.google.com).
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: a regular expression the certificate's OIDC issuer must match.
    #[arg(long, value_name = "RE")]
    pub certificate_oidc_issuer_regexp: Option<String>,
    #[arg(long, value_name = "FILE", help = ferry::sigstore::trust_root::TRUSTED_ROOT_HELP)]
    pub trusted_root: Option<PathBuf>,
    /// Use the built-in Sigstore staging root instead of the production one.
    #[arg(long, conflicts_with = "trusted_root")]
    pub staging: bool,
}

fn pattern(exact: &Option<String>, re: &Option<String>, flag: &str) -> Result<Option<Pattern>> {
    Ok(match (exact, re) {
        (Some(e), _) => Some(Pattern::Exact(e.clone())),
        (None, Some(r)) => Some(Pattern::regex(r).with_context(|| format!("--{flag}-regexp"))?),
        (None, None) => None,
    })
}

impl TrustArgs {
    /// `--require-signed`'s options, checked: the trust flags mean nothing without it.
    pub fn gate(&self, require_signed: bool) -> Result<Option<TrustOptions>> {
        let opts = self.options()?;
        match (require_signed, opts.is_set() || opts.trusted_root.is_some() || opts.staging) {
            (true, _) => Ok(Some(opts)),
            (false, false) => Ok(None),
            (false, true) => anyhow::bail!("--key, --certificate-identity, --certificate-oidc-issuer, --trusted-root and --staging go with --require-signed here"),
        }
    }

    /// The library's options; a regular expression that does not compile is refused here.
    pub fn options(&self) -> Result<TrustOptions> {
        Ok(TrustOptions {
            key: self.key.clone(),
            identity: pattern(
                &self.certificate_identity,
                &self.certificate_identity_regexp,
                "certificate-identity",
            )?,
            issuer: pattern(
                &self.certificate_oidc_issuer,
                &self.certificate_oidc_issuer_regexp,
                "certificate-oidc-issuer",
            )?,
            trusted_root: self.trusted_root.clone(),
            staging: self.staging,
        })
    }
}
