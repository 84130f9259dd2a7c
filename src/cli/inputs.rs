//! `ferry export`'s images, `-f` lists and `--from` sources, kept in the order given on the
//! command line (clap's derive gives one vector per option and loses how they interleave,
//! and the order is the bundle's order).

use std::path::PathBuf;

use clap::{value_parser, Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

/// One image input of `ferry export`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// An IMAGE argument.
    Image(String),
    /// `-f FILE`: an image list, or manifests/chart/bundle detected as such.
    List(PathBuf),
    /// `--from SOURCE`: what `ferry images SOURCE` finds.
    Source(PathBuf),
}

/// The inputs in command-line order, and `--any-image-field`.
#[derive(Debug, Clone, Default)]
pub struct ImageInputs {
    pub inputs: Vec<Input>,
    pub any_image_field: bool,
}

const IMAGES: &str = "images";
const FILE: &str = "file";
const FROM: &str = "from";
const ANY: &str = "any_image_field";

impl Args for ImageInputs {
    fn augment_args(cmd: Command) -> Command {
        cmd.arg(
            Arg::new(IMAGES)
                .value_name("IMAGE")
                .num_args(1..)
                .action(ArgAction::Append)
                .help("Images to export (`alpine:3.19`, `ghcr.io/org/app@sha256:…`, `127.0.0.1:5000/x/y:t`)"),
        )
        .arg(
            Arg::new(FILE)
                .short('f')
                .long("file")
                .value_name("FILE")
                .action(ArgAction::Append)
                .value_parser(value_parser!(PathBuf))
                .help("Read more images from a file: one per line (`#` comments), a JSON array, or manifests, a chart or a CNAB bundle as --from reads them"),
        )
        .arg(
            Arg::new(FROM)
                .long("from")
                .value_name("SOURCE")
                .action(ArgAction::Append)
                .value_parser(value_parser!(PathBuf))
                .help("Export the images `ferry images SOURCE` finds (manifests, directories, charts, CNAB bundles, `-`); repeatable"),
        )
        .arg(
            Arg::new(ANY)
                .long("any-image-field")
                .action(ArgAction::SetTrue)
                .help("With --from and -f: also take `image:` strings of kinds that are not workloads (custom resources)"),
        )
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

/// The values of `id` with their command-line positions.
fn placed<T>(m: &ArgMatches, id: &str, make: fn(T) -> Input) -> Vec<(usize, Input)>
where
    T: Clone + Send + Sync + 'static,
{
    match (m.try_get_many::<T>(id), m.indices_of(id)) {
        (Ok(Some(values)), Some(at)) => at.zip(values.cloned().map(make)).collect(),
        _ => Vec::new(),
    }
}

impl FromArgMatches for ImageInputs {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut at = placed(m, IMAGES, Input::Image);
        at.extend(placed(m, FILE, Input::List));
        at.extend(placed(m, FROM, Input::Source));
        at.sort_by_key(|(index, _)| *index);
        Ok(ImageInputs {
            inputs: at.into_iter().map(|(_, input)| input).collect(),
            any_image_field: m.get_flag(ANY),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        inputs: ImageInputs,
    }

    #[test]
    fn keeps_the_command_line_order() {
        let t = T::parse_from(["t", "a", "--from", "k8s/", "-f", "l.txt", "b", "--from=-"]);
        assert_eq!(
            t.inputs.inputs,
            [
                Input::Image("a".into()),
                Input::Source("k8s/".into()),
                Input::List("l.txt".into()),
                Input::Image("b".into()),
                Input::Source("-".into()),
            ]
        );
        assert!(!t.inputs.any_image_field);
        assert!(
            T::parse_from(["t", "--any-image-field"])
                .inputs
                .any_image_field
        );
    }
}
