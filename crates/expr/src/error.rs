//! The crate's error type.

use std::fmt;

/// A position inside a template, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number (in characters), starting at 1.
    pub column: u32,
}

impl Pos {
    /// Builds a position.
    pub const fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Every failure of parsing or rendering a template.
///
/// The `Undefined*`, `MissingKey`, `IndexOutOfBounds` and `NullAttribute`
/// variants form Pebble's "attribute not found" family: they are the only
/// errors swallowed by `is defined`, `??`, `???` and the `default` filter
/// (see [`Error::is_undefined`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The template could not be parsed.
    #[error("syntax error: {message} at {pos}")]
    Syntax {
        /// What is wrong.
        message: String,
        /// Where.
        pos: Pos,
    },
    /// A root variable does not exist (strict variables).
    #[error("undefined variable '{name}' at {pos}")]
    UndefinedVariable {
        /// The variable name.
        name: String,
        /// Where.
        pos: Pos,
    },
    /// A map has no such key (strict variables).
    #[error("key '{key}' not found in '{path}' at {pos}")]
    MissingKey {
        /// The missing key.
        key: String,
        /// The full access path, e.g. `foo.bar`.
        path: String,
        /// Where.
        pos: Pos,
    },
    /// A list index is out of bounds (strict variables).
    #[error("index {index} out of bounds in '{path}' (length {len}) at {pos}")]
    IndexOutOfBounds {
        /// The requested index.
        index: String,
        /// The list length.
        len: usize,
        /// The full access path.
        path: String,
        /// Where.
        pos: Pos,
    },
    /// An attribute was read from a null value (strict variables).
    #[error("cannot get attribute '{key}' of null value in '{path}' at {pos}")]
    NullAttribute {
        /// The requested attribute.
        key: String,
        /// The full access path.
        path: String,
        /// Where.
        pos: Pos,
    },
    /// A function needs a host (the runtime) that was not supplied.
    #[error("function '{name}' is not available in this context at {pos}")]
    Unavailable {
        /// The function name.
        name: String,
        /// Where.
        pos: Pos,
    },
    /// Any other evaluation failure (wrong types, bad arguments, …).
    #[error("{message} at {pos}")]
    Eval {
        /// What is wrong.
        message: String,
        /// Where.
        pos: Pos,
    },
    /// An error raised by a [`crate::Host`] function, without a position yet.
    #[error("{0}")]
    Host(String),
    /// Recursive rendering did not settle (Kestra allows at most 100 passes).
    #[error("too many rendering attempts (more than {0} passes)")]
    TooManyRenders(usize),
}

impl Error {
    /// True for Pebble's "attribute not found" family of errors, the ones
    /// `is defined`, `??`, `???` and `default` treat as "undefined".
    pub fn is_undefined(&self) -> bool {
        matches!(
            self,
            Error::UndefinedVariable { .. }
                | Error::MissingKey { .. }
                | Error::IndexOutOfBounds { .. }
                | Error::NullAttribute { .. }
        )
    }

    /// The position of the error inside its template, when known.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            Error::Syntax { pos, .. }
            | Error::UndefinedVariable { pos, .. }
            | Error::MissingKey { pos, .. }
            | Error::IndexOutOfBounds { pos, .. }
            | Error::NullAttribute { pos, .. }
            | Error::Unavailable { pos, .. }
            | Error::Eval { pos, .. } => Some(*pos),
            Error::Host(_) | Error::TooManyRenders(_) => None,
        }
    }

    /// Builds a host error (for [`crate::Host`] implementations).
    pub fn host(message: impl Into<String>) -> Self {
        Error::Host(message.into())
    }

    pub(crate) fn syntax(message: impl Into<String>, pos: Pos) -> Self {
        Error::Syntax {
            message: message.into(),
            pos,
        }
    }

    pub(crate) fn eval(message: impl Into<String>, pos: Pos) -> Self {
        Error::Eval {
            message: message.into(),
            pos,
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
