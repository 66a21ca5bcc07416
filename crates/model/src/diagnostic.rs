//! Validation problems: each names a rule, a place (line, column, YAML path) and what is wrong.

use std::fmt;

use crate::path::YamlPath;
use crate::yaml::Pos;

/// Stable codes, one per rule, so tools and tests can match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    MalformedYaml,
    DuplicateKey,
    UnknownType,
    UnknownProperty,
    MissingProperty,
    WrongType,
    InvalidValue,
    EmptyList,
    InvalidId,
    DuplicateId,
    DagDependency,
    InvalidInput,
    InvalidExpression,
    ReservedLabel,
    Unsupported,
    RecursiveFlow,
    InvalidFlowable,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::MalformedYaml => "malformed-yaml",
            Code::DuplicateKey => "duplicate-key",
            Code::UnknownType => "unknown-type",
            Code::UnknownProperty => "unknown-property",
            Code::MissingProperty => "missing-property",
            Code::WrongType => "wrong-type",
            Code::InvalidValue => "invalid-value",
            Code::EmptyList => "empty-list",
            Code::InvalidId => "invalid-id",
            Code::DuplicateId => "duplicate-id",
            Code::DagDependency => "dag-dependency",
            Code::InvalidInput => "invalid-input",
            Code::InvalidExpression => "invalid-expression",
            Code::ReservedLabel => "reserved-label",
            Code::Unsupported => "unsupported",
            Code::RecursiveFlow => "recursive-flow",
            Code::InvalidFlowable => "invalid-flowable",
        }
    }
}

/// One problem in a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub pos: Pos,
    pub path: YamlPath,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: Code, pos: Pos, path: YamlPath, message: impl Into<String>) -> Self {
        Self {
            code,
            pos,
            path,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.pos, self.path, self.message)
    }
}

/// Every problem found in one document, in source order once sorted.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, code: Code, pos: Pos, path: &YamlPath, message: impl Into<String>) {
        self.0
            .push(Diagnostic::new(code, pos, path.clone(), message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorts by position and drops exact repeats.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.0
            .sort_by(|a, b| a.pos.cmp(&b.pos).then_with(|| a.message.cmp(&b.message)));
        self.0.dedup();
        self.0
    }
}
