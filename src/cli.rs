//! Command-line definitions only (clap); `resolve` turns them into the library's options,
//! `main.rs` calls the library with them and `print` shows the results.
//! It reads the library's public API only (a binary module): no registry, layout or export
//! internals.

pub mod inputs;
pub mod print;
pub mod resolve;
pub mod trust;
pub mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ferry::registry::StallTimeout;
use ferry::verify_bundle::ArtifactInput;
use ferry::MappingChoice;
use values::{
    parse_artifact, parse_size, parse_split, EmitArg, MappingParser, ReferrersArg, ReferrersParser,
    SparseArg,
};

/// ferry carries container images across an air gap, byte for byte.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export images from registries into one OCI image-layout tarball.
    Export(ExportArgs),
    /// Import a bundle into a registry under a prefix, names mapped one to one.
    Import(ImportArgs),
    /// Print the relocated names of images, emit configurations for them, or rewrite files to them (no network).
    Map(MapArgs),
    /// Check a bundle offline: digests, sizes, reachability; --deep diff_ids; signatures and attestations (--key or keyless).
    Verify(VerifyArgs),
    /// Show what a bundle holds: images, platforms, sizes, signatures and other artifacts.
    Inspect(InspectArgs),
    /// List the blobs a target registry already holds, for `export --since-inventory`.
    Inventory(InventoryArgs),
    /// Verify one sigstore bundle over an artifact, offline (keyless identity or --key).
    VerifyBundle(VerifyBundleArgs),
    /// Print the images Kubernetes manifests, Helm charts and CNAB bundles name (no network).
    Images(ImagesArgs),
}

/// Registry connection settings shared by commands that talk to registries.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Speak plain http to this host (host:port); repeatable.
    #[arg(long = "plain-http", value_name = "HOST")]
    pub plain_http: Vec<String>,
    /// Trust this CA certificate (PEM) in addition to the system's; repeatable.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Vec<PathBuf>,
    /// Use the certificates in DIR for every registry, as skopeo does: `*.crt` CAs, a
    /// `NAME.cert` + `NAME.key` client certificate; the certs.d directories are not read.
    #[arg(long = "cert-dir", value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Do not verify TLS certificates (dangerous; says so on stderr).
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// Username for the one registry involved; the password is read from stdin. It goes to
    /// that registry or to the token service its challenge names (another host too, as docker
    /// does), only over https unless that host is itself plain http (--plain-http, loopback).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password (or token) from standard input.
    #[arg(long = "password-stdin", requires = "username")]
    pub password_stdin: bool,
    /// Retries for transient failures (connection errors, timeouts, 408, 429, 500, 502, 503,
    /// 504), after jittered exponential backoff.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub retries: u32,
    /// An attempt fails when no response arrives, or under 1 KiB of body, within this long
    /// (`60s`, `500ms`, `2m`, plain seconds); it is retried like any transient fault.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = StallTimeout::parse)]
    pub timeout: StallTimeout,
}

/// Output settings.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print a JSON summary on stdout (stderr when the bundle goes to stdout).
    #[arg(long)]
    pub json: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// IMAGE arguments, `-f FILE` lists and `--from SOURCE`, in the order given.
    #[command(flatten)]
    pub inputs: inputs::ImageInputs,
    /// Output bundle path, or `-` for stdout.
    #[arg(short = 'o', long = "output", value_name = "BUNDLE")]
    pub output: PathBuf,
    /// Keep only these platforms (os/arch[/variant]); repeatable. The index stays unchanged.
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platform: Vec<String>,
    /// Fail when an image lacks any of the requested platforms.
    #[arg(long = "strict-platforms")]
    pub strict_platforms: bool,
    /// Export the images that resolve even when others fail (exit code 1 all the same).
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    /// Split the bundle into parts of at most SIZE bytes (`4G`, `fat32` = 4 GiB - 1):
    /// BUNDLE.000, BUNDLE.001, … and BUNDLE.parts.json.
    #[arg(long = "split-size", value_name = "SIZE", value_parser = parse_split)]
    pub split_size: Option<u64>,
    /// Parallel blob downloads.
    #[arg(long, short = 'j', default_value_t = 6, value_name = "N")]
    pub jobs: usize,
    /// Do not carry signatures, attestations, SBOMs or referrers.
    #[arg(long = "no-signatures")]
    pub no_signatures: bool,
    /// OCI referrers to carry: `all` (default), `none`, or artifact types; repeatable.
    #[arg(long = "referrers", value_name = "all|none|TYPE", value_parser = ReferrersParser)]
    pub referrers: Vec<ReferrersArg>,
    /// Differential bundle: leave out the layers this earlier bundle carried (or left out
    /// itself); any form ferry reads; repeatable.
    #[arg(long = "since", value_name = "BUNDLE")]
    pub since: Vec<PathBuf>,
    /// Differential bundle: leave out the layers `ferry inventory` found in the target.
    #[arg(long = "since-inventory", value_name = "FILE")]
    pub since_inventory: Vec<PathBuf>,
    /// Refuse, before writing or pushing anything, every image without a signature that
    /// verifies with --key or the keyless --certificate-identity/--certificate-oidc-issuer.
    #[arg(long = "require-signed", requires = "signer")]
    pub require_signed: bool,
    #[command(flatten)]
    pub trust: trust::TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Bundle to import: a .tar, a .tar.gz or an OCI layout directory.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Target prefix: registry host and optional path (`reg.local/team`).
    #[arg(long, value_name = "PREFIX")]
    pub to: String,
    /// Name mapping: `hashed` (duffle-compatible, default), `path`, or a JSON/YAML file.
    #[arg(long, default_value = "hashed", value_name = "hashed|path|FILE", value_parser = MappingParser)]
    pub mapping: MappingChoice,
    /// Sparse indexes: `keep` the original bytes (default) or `strip` absent platforms.
    #[arg(long, default_value = "keep", value_name = "keep|strip")]
    pub sparse: SparseArg,
    /// Print the mapping and the plan; touch nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Where to write the mapping file (default: ./relocation-mapping.json).
    #[arg(long = "mapping-out", value_name = "FILE")]
    pub mapping_out: Option<PathBuf>,
    /// Repository for entries that carry only a tag (bundles written by skopeo).
    #[arg(long, value_name = "REPO")]
    pub name: Option<String>,
    /// Refuse, before pushing anything, when a target tag points at other content.
    #[arg(long = "no-overwrite")]
    pub no_overwrite: bool,
    /// Upload blobs larger than this in chunks (PATCH), e.g. `64M`.
    #[arg(long = "chunk-size", value_name = "SIZE", value_parser = parse_size)]
    pub chunk_size: Option<u64>,
    /// Parallel blob uploads.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Refuse, before writing or pushing anything, every image without a signature that
    /// verifies with --key or the keyless --certificate-identity/--certificate-oidc-issuer.
    #[arg(long = "require-signed", requires = "signer")]
    pub require_signed: bool,
    #[command(flatten)]
    pub trust: trust::TrustArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("action").args(["emit", "rewrite"]))]
pub struct MapArgs {
    /// Target prefix: registry host and optional path (`reg.local/team`).
    #[arg(long, value_name = "PREFIX", required_unless_present = "from_mapping")]
    pub to: Option<String>,
    /// Images to map.
    #[arg(value_name = "IMAGE", required_unless_present = "from_mapping")]
    pub images: Vec<String>,
    /// Name mapping: `hashed` (default), `path`, or a JSON/YAML file.
    #[arg(long, default_value = "hashed", value_name = "hashed|path|FILE", value_parser = MappingParser)]
    pub mapping: MappingChoice,
    /// Print the mapping as a JSON object instead of one name per line.
    #[arg(long)]
    pub json: bool,
    /// Emit a configuration instead of names: `policy-json` (containers policy.json and a
    /// registries.d fragment checking cosign signatures after relocation), `kustomize`,
    /// `helm-values` or `registries-conf` (use the relocated images; see README).
    #[arg(long, value_name = "KIND")]
    pub emit: Option<EmitArg>,
    /// Read the relocations from a mapping file written by `ferry import`
    /// (relocation-mapping.json) instead of --to and IMAGE.
    #[arg(long = "from-mapping", value_name = "FILE", requires = "action", conflicts_with_all = ["to", "images"])]
    pub from_mapping: Option<PathBuf>,
    /// Cosign public key (PEM) the policy requires signatures from.
    #[arg(long, value_name = "FILE", requires = "emit")]
    pub key: Option<PathBuf>,
    /// Write into DIR instead of printing: policy.json and registries.d/ferry.yaml,
    /// kustomization.yaml, ferry-values.yaml or registries.conf.d/ferry.conf; with
    /// --rewrite, the rewritten copies.
    #[arg(short = 'o', long = "output", value_name = "DIR", requires = "action")]
    pub output: Option<PathBuf>,
    /// --emit registries-conf: mark the target registries `insecure = true` (plain http or
    /// unverified TLS).
    #[arg(long = "insecure-target", requires = "emit")]
    pub insecure_target: bool,
    /// Write copies of Kubernetes YAML/JSON files (a directory: its *.yaml, *.yml, *.json)
    /// and CNAB bundle.json files into -o DIR with each image replaced by its relocated name
    /// from --from-mapping, text edited in place. Repeatable.
    #[arg(long, value_name = "PATH", requires_all = ["from_mapping", "output"])]
    pub rewrite: Vec<PathBuf>,
    /// --rewrite: leave images missing from the mapping as written (a warning each).
    #[arg(long = "allow-unmapped", requires = "rewrite")]
    pub allow_unmapped: bool,
    /// --rewrite: also rewrite `image:` strings of other kinds (custom resources).
    #[arg(long = "any-image-field", requires = "rewrite")]
    pub any_image_field: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Bundle to check: a .tar, a .tar.gz or an OCI layout directory.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Also uncompress every layer and compare it with the config's rootfs.diff_ids.
    #[arg(long)]
    pub deep: bool,
    #[command(flatten)]
    pub trust: trust::TrustArgs,
    /// Platforms absent from an index without a record that it was deliberate (another
    /// tool's sparse export) are errors, not warnings.
    #[arg(long)]
    pub strict: bool,
    /// Hashing threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Bundle to describe: a .tar, a .tar.gz or an OCI layout directory.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Print the same data as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// A bundle (.tar, split parts, .tar.gz, directory) or an image list of original
    /// references (text, YAML or JSON, as `export -f` reads).
    #[arg(value_name = "BUNDLE-OR-LIST", required_unless_present = "file")]
    pub input: Option<PathBuf>,
    /// Read this file as an image list, whatever it looks like.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "input"
    )]
    pub file: Option<PathBuf>,
    /// Target prefix, as given to `ferry import --to` (`reg.local/team`).
    #[arg(long, value_name = "PREFIX")]
    pub to: String,
    /// Name mapping, as for import: `hashed` (default), `path`, or a JSON/YAML file.
    #[arg(long, default_value = "hashed", value_name = "hashed|path|FILE", value_parser = MappingParser)]
    pub mapping: MappingChoice,
    /// Repository for bundle entries that carry only a tag (bundles written by skopeo).
    #[arg(long, value_name = "REPO")]
    pub name: Option<String>,
    /// Where to write the inventory (JSON); default: standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Requests in flight at once.
    #[arg(long, short = 'j', default_value_t = 8, value_name = "N")]
    pub jobs: usize,
    /// No summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Kubernetes YAML/JSON files, directories of them, Helm charts (directory or .tgz), CNAB
    /// bundle.json files, or `-` for standard input (`kubectl kustomize DIR | ferry images -`).
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,
    /// Print each place an image is found (file, document, resource, field, line) as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also take `image:` strings of kinds that are not workloads (custom resources).
    #[arg(long = "any-image-field")]
    pub any_image_field: bool,
}

/// `--trusted-root`'s help: which snapshot is built in.
#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The sigstore bundle (`*.sigstore.json`).
    #[arg(long, value_name = "FILE", requires = "signer")]
    pub bundle: PathBuf,
    /// The artifact's path, or `sha256:<hex>` for its digest only.
    #[arg(value_name = "FILE_OR_DIGEST", value_parser = parse_artifact)]
    pub artifact: ArtifactInput,
    #[command(flatten)]
    pub trust: trust::TrustArgs,
}
