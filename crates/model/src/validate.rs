//! Reading a flow: YAML, then the schema walk, then the flow-wide rules, then the typed model.

use crate::check::FlowIdentity;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::flow::Flow;
use crate::path::YamlPath;
use crate::registry::Registry;
use crate::rules;
use crate::schema::{ExpressionSyntax, Walker};
use crate::yaml::{Document, Node, Pos, load_documents};

/// The result of reading one flow document.
#[derive(Debug, Clone)]
pub struct FlowReport {
    /// The typed flow, present only when there is no problem.
    pub flow: Option<Flow>,
    /// Every problem found, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the document starts in its file.
    pub start: Pos,
}

impl FlowReport {
    pub fn is_valid(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// Reads and checks flows against a catalogue.
pub struct Validator<'a> {
    registry: &'a Registry,
    expressions: Option<&'a dyn ExpressionSyntax>,
}

impl<'a> Validator<'a> {
    pub fn new(registry: &'a Registry) -> Self {
        Self {
            registry,
            expressions: None,
        }
    }

    /// Also checks the syntax of every `{{ }}` template found in the flow.
    pub fn with_expressions(mut self, expressions: &'a dyn ExpressionSyntax) -> Self {
        self.expressions = Some(expressions);
        self
    }

    /// Reads every flow of a YAML text (documents separated by `---`).
    pub fn validate_source(&self, source: &str) -> Vec<FlowReport> {
        match load_documents(source) {
            Ok(documents) if documents.is_empty() => vec![self.validate_document(&Document {
                root: Node {
                    value: crate::yaml::NodeValue::Null,
                    span: Default::default(),
                },
                start: Pos { line: 1, col: 1 },
                duplicate_keys: Vec::new(),
            })],
            Ok(documents) => documents
                .iter()
                .map(|document| self.validate_document(document))
                .collect(),
            Err(error) => vec![FlowReport {
                flow: None,
                diagnostics: vec![Diagnostic::new(
                    Code::MalformedYaml,
                    error.pos,
                    YamlPath::root(),
                    format!("malformed YAML: {}", error.message),
                )],
                start: Pos { line: 1, col: 1 },
            }],
        }
    }

    /// Reads a text that must hold exactly one flow.
    pub fn validate_one(&self, source: &str) -> FlowReport {
        let mut reports = self.validate_source(source);
        if reports.len() == 1 {
            return reports.remove(0);
        }
        let start = reports
            .get(1)
            .map_or(Pos { line: 1, col: 1 }, |report| report.start);
        FlowReport {
            flow: None,
            diagnostics: vec![Diagnostic::new(
                Code::MalformedYaml,
                start,
                YamlPath::root(),
                format!("expected one flow, found {} YAML documents", reports.len()),
            )],
            start: Pos { line: 1, col: 1 },
        }
    }

    fn validate_document(&self, document: &Document) -> FlowReport {
        let mut diagnostics = Diagnostics::default();
        for duplicate in &document.duplicate_keys {
            let mut path = YamlPath::root();
            for segment in &duplicate.path {
                path = match segment
                    .strip_prefix('[')
                    .and_then(|rest| rest.strip_suffix(']'))
                {
                    Some(index) => path.index(index.parse().unwrap_or_default()),
                    None => path.key(segment),
                };
            }
            let path = path.key(&duplicate.key);
            let message = format!(
                "Duplicate field '{}' (first written at line {})",
                duplicate.key, duplicate.first.line
            );
            diagnostics.push(Code::DuplicateKey, duplicate.span.start, &path, message);
        }
        let root = &document.root;
        if root.as_map().is_none() {
            let message = format!(
                "a flow must be a mapping with at least id, namespace and tasks, found {}",
                root.kind_name()
            );
            diagnostics.push(
                Code::WrongType,
                root.span.start.max(document.start),
                &YamlPath::root(),
                message,
            );
            return FlowReport {
                flow: None,
                diagnostics: diagnostics.into_sorted(),
                start: document.start,
            };
        }
        let identity = FlowIdentity {
            namespace: root.get("namespace").and_then(Node::scalar_text),
            id: root.get("id").and_then(Node::scalar_text),
        };
        let mut walker = Walker::new(self.registry, &identity, self.expressions);
        let value = walker.walk(root, self.registry.flow_schema(), &YamlPath::root());
        let sites = std::mem::take(&mut walker.sites);
        for diagnostic in walker.diagnostics.iter() {
            diagnostics.push(
                diagnostic.code,
                diagnostic.pos,
                &diagnostic.path,
                diagnostic.message.clone(),
            );
        }
        rules::check(root, &sites, &mut diagnostics);
        let flow = if diagnostics.is_empty() {
            match serde_json::from_value::<Flow>(value) {
                Ok(flow) => Some(flow),
                Err(error) => {
                    diagnostics.push(
                        Code::InvalidValue,
                        root.span.start,
                        &YamlPath::root(),
                        format!("invalid flow: {error}"),
                    );
                    None
                }
            }
        } else {
            None
        };
        FlowReport {
            flow,
            diagnostics: diagnostics.into_sorted(),
            start: document.start,
        }
    }
}
