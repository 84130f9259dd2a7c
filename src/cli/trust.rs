//! The signature flags `verify`, `export --require-signed` and `import --require-signed` share,
//! named as cosign names them: a key, or a keyless identity and OIDC issuer (each exact or a
//! regular expression), and the trust root. Keyless needs both an identity and an issuer, and
//! a key excludes them: clap enforces it, so a missing half is a usage error (exit 2).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ferry::sigstore::trust::TrustOptions;
use ferry::sigstore::Pattern;

use super::values::parse_regex;

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
    /// Keyless: a regular expression the certificate's SAN must match (unanchored).
    #[arg(long, value_name = "RE", value_parser = parse_regex)]
    pub certificate_identity_regexp: Option<Pattern>,
    /// Keyless: the OIDC issuer the certificate must name (e.g. https://accounts.google.com).
    #[arg(long, value_name = "URL")]
    pub certificate_oidc_issuer: Option<String>,
    /// Keyless: a regular expression the certificate's OIDC issuer must match (unanchored).
    #[arg(long, value_name = "RE", value_parser = parse_regex)]
    pub certificate_oidc_issuer_regexp: Option<Pattern>,
    #[arg(long, value_name = "FILE", help = ferry::sigstore::trust_root::TRUSTED_ROOT_HELP)]
    pub trusted_root: Option<PathBuf>,
    /// Use the built-in Sigstore staging root instead of the production one.
    #[arg(long, conflicts_with = "trusted_root")]
    pub staging: bool,
}

/// The exact value, else the regular expression (clap lets only one of them through).
fn pattern(exact: &Option<String>, re: &Option<Pattern>) -> Option<Pattern> {
    exact.clone().map(Pattern::Exact).or_else(|| re.clone())
}

impl TrustArgs {
    /// `--require-signed`'s options, checked: the trust flags mean nothing without it.
    pub fn gate(&self, require_signed: bool) -> Result<Option<TrustOptions>> {
        let opts = self.options();
        match (require_signed, opts.is_set() || opts.trusted_root.is_some() || opts.staging) {
            (true, _) => Ok(Some(opts)),
            (false, false) => Ok(None),
            (false, true) => anyhow::bail!("--key, --certificate-identity, --certificate-oidc-issuer, --trusted-root and --staging go with --require-signed here"),
        }
    }

    /// The library's options (a regular expression that does not compile was a usage error).
    pub fn options(&self) -> TrustOptions {
        TrustOptions {
            key: self.key.clone(),
            identity: pattern(
                &self.certificate_identity,
                &self.certificate_identity_regexp,
            ),
            issuer: pattern(
                &self.certificate_oidc_issuer,
                &self.certificate_oidc_issuer_regexp,
            ),
            trusted_root: self.trusted_root.clone(),
            staging: self.staging,
        }
    }
}
