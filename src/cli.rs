//! Command-line definitions only (clap); `main.rs` turns them into library calls.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Do not verify TLS certificates (dangerous; says so on stderr).
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// Username for the one registry involved; the password is read from stdin.
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password (or token) from standard input.
    #[arg(long = "password-stdin", requires = "username")]
    pub password_stdin: bool,
    /// Retries for transient failures (connection errors, 5xx, 429).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub retries: u32,
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
    /// Images to export (`alpine:3.19`, `ghcr.io/org/app@sha256:…`, `127.0.0.1:5000/x/y:t`).
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Read more images from a file: one per line (`#` comments) or a JSON array.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Output bundle path, or `-` for stdout.
    #[arg(short = 'o', long = "output", value_name = "BUNDLE")]
    pub output: PathBuf,
    /// Keep only these platforms (os/arch[/variant]); repeatable. The index stays unchanged.
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platform: Vec<String>,
    /// Fail when an image lacks any of the requested platforms.
    #[arg(long = "strict-platforms")]
    pub strict_platforms: bool,
    /// Parallel blob downloads.
    #[arg(long, short = 'j', default_value_t = 6, value_name = "N")]
    pub jobs: usize,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}
