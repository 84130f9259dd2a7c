//! What every error of ferry does with its cause: the cause stays out of the error's own
//! message and is returned by `source()`, so a chain is shown once, by one renderer: `main`
//! prints `error: cause: its cause` (anyhow's `{:#}`), and [`Chain`] gives the same text where
//! an error becomes part of another message, a report or a JSON summary. Each boundary's
//! error enum lives with its module (`registry`, `layout`, `export`, `import`, …); this module
//! owns only these two conventions and must not import any of them.

use std::fmt;
use std::ops::Deref;

/// An error and its causes, `error: cause: its cause`, as `main` prints them.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// [`Chain`] as a `String`.
pub fn chain(e: &dyn std::error::Error) -> String {
    Chain(e).to_string()
}

/// A cause on the heap, so that a `Result` carrying it stays small (clippy's
/// `result_large_err`), which is still the cause itself in a chain: `source()` returns the
/// `E`, so `downcast_ref::<E>()` finds it (a `Box<E>` would be returned as the box).
#[derive(Debug)]
pub struct Boxed<E>(Box<E>);

impl<E> Boxed<E> {
    pub fn new(e: E) -> Boxed<E> {
        Boxed(Box::new(e))
    }

    pub fn into_inner(self) -> E {
        *self.0
    }
}

impl<E> Deref for Boxed<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.0
    }
}

impl<E> From<E> for Boxed<E> {
    fn from(e: E) -> Boxed<E> {
        Boxed::new(e)
    }
}

impl<E: fmt::Display> fmt::Display for Boxed<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Boxed<std::io::Error>);

    #[test]
    fn chains_causes_like_main() {
        let e = Outer(std::io::Error::other("inner").into());
        assert_eq!(chain(&e), "outer: inner");
        let source = std::error::Error::source(&e).expect("a source");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(format!("{:#}", anyhow::Error::new(e)), "outer: inner");
    }
}
