//! Builds [`Node`] trees from YAML text, keeping positions and reporting duplicate keys.
//!
//! Scalars are resolved with the YAML 1.2 core schema (`true`, `null`, `12`, `1.5`, ...); any
//! quoted or block scalar is a string.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

use super::node::{Entry, Node, NodeValue, Pos, Span};

/// A YAML text that could not be read at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed YAML at {pos}: {message}")]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// A problem found while building the tree that does not stop it (a duplicate key).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadWarning {
    pub span: Span,
    /// Dotted path of the mapping holding the duplicate key, then the key.
    pub path: Vec<String>,
    pub key: String,
    pub first: Pos,
}

/// One YAML document and the problems met while reading it.
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    /// Where the document starts in the source (useful for multi-document files).
    pub start: Pos,
    pub duplicate_keys: Vec<LoadWarning>,
}

/// Reads every document of a YAML stream (`---` separated).
pub fn load_documents(source: &str) -> Result<Vec<Document>, SyntaxError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(source) {
        let (event, span) = event.map_err(scan_error)?;
        builder.push(event, to_span(&span))?;
    }
    Ok(builder.documents)
}

/// Reads a YAML text holding exactly one document (an empty text is a `null` document).
pub fn load_document(source: &str) -> Result<Document, SyntaxError> {
    let mut documents = load_documents(source)?;
    match documents.len() {
        0 => Ok(Document {
            root: Node {
                value: NodeValue::Null,
                span: Span::default(),
            },
            start: Pos { line: 1, col: 1 },
            duplicate_keys: Vec::new(),
        }),
        1 => Ok(documents.remove(0)),
        count => Err(SyntaxError {
            pos: documents[1].start,
            message: format!("expected one YAML document, found {count}"),
        }),
    }
}

fn scan_error(error: ScanError) -> SyntaxError {
    let marker = error.marker();
    SyntaxError {
        pos: Pos {
            line: to_u32(marker.line()),
            col: to_u32(marker.col() + 1),
        },
        message: error.info().to_string(),
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

fn to_span(span: &saphyr_parser::Span) -> Span {
    Span {
        start: Pos {
            line: to_u32(span.start.line()),
            col: to_u32(span.start.col() + 1),
        },
        end: Pos {
            line: to_u32(span.end.line()),
            col: to_u32(span.end.col() + 1),
        },
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        pending_key: Option<(String, Span)>,
        span: Span,
        anchor: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Document>,
    document_start: Pos,
    duplicates: Vec<LoadWarning>,
    root: Option<Node>,
}

impl Builder {
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<(), SyntaxError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(_) => {
                self.document_start = span.start;
                self.anchors.clear();
                self.root = None;
            }
            Event::DocumentEnd => {
                let root = self.root.take().unwrap_or(Node {
                    value: NodeValue::Null,
                    span,
                });
                self.documents.push(Document {
                    root,
                    start: self.document_start,
                    duplicate_keys: std::mem::take(&mut self.duplicates),
                });
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| SyntaxError {
                    pos: span.start,
                    message: "alias to an unknown anchor".to_string(),
                })?;
                self.add(node)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let force_string = tag.as_ref().is_some_and(|tag| tag.suffix == "str");
                let value = if style == ScalarStyle::Plain && !force_string {
                    resolve_plain(&text)
                } else {
                    NodeValue::Str {
                        text: text.into_owned(),
                        plain: false,
                    }
                };
                let node = Node { value, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.add(node)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    span,
                    anchor,
                });
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    span,
                    anchor,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        span: start,
                        anchor,
                    }) => {
                        let node = Node {
                            value: NodeValue::Seq(items),
                            span: join(start, span),
                        };
                        self.remember(anchor, &node);
                        node
                    }
                    Some(Frame::Map {
                        entries,
                        span: start,
                        anchor,
                        ..
                    }) => {
                        let node = Node {
                            value: NodeValue::Map(entries),
                            span: join(start, span),
                        };
                        self.remember(anchor, &node);
                        node
                    }
                    None => {
                        return Err(SyntaxError {
                            pos: span.start,
                            message: "unbalanced collection end".to_string(),
                        });
                    }
                };
                self.add(node)?;
            }
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn path(&self) -> Vec<String> {
        let mut path = Vec::new();
        for frame in &self.stack {
            match frame {
                Frame::Seq { items, .. } => path.push(format!("[{}]", items.len())),
                Frame::Map {
                    pending_key: Some((key, _)),
                    ..
                } => path.push(key.clone()),
                Frame::Map { .. } => {}
            }
        }
        path
    }

    fn add(&mut self, node: Node) -> Result<(), SyntaxError> {
        let path = self.path();
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = node.scalar_text().ok_or_else(|| SyntaxError {
                        pos: node.span.start,
                        message: format!(
                            "a mapping key must be a scalar, found {}",
                            node.kind_name()
                        ),
                    })?;
                    *pending_key = Some((key, node.span));
                }
                Some((key, key_span)) => {
                    if let Some(first) = entries.iter().position(|entry| entry.key == key) {
                        let mut holder = path;
                        holder.pop();
                        self.duplicates.push(LoadWarning {
                            span: key_span,
                            path: holder,
                            key: key.clone(),
                            first: entries[first].key_span.start,
                        });
                        // Like most YAML readers, the last value wins.
                        entries.remove(first);
                    }
                    entries.push(Entry {
                        key,
                        key_span,
                        value: node,
                    });
                }
            },
        }
        Ok(())
    }
}

fn join(start: Span, end: Span) -> Span {
    Span {
        start: start.start,
        end: end.end,
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(number) = parse_int(text) {
        return NodeValue::Int(number);
    }
    if looks_like_float(text)
        && let Ok(number) = text.parse::<f64>()
    {
        return NodeValue::Float(number);
    }
    NodeValue::Str {
        text: text.to_string(),
        plain: true,
    }
}

fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok();
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return i64::from_str_radix(octal, 8).ok();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn looks_like_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut chars = body.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '0'..='9' => seen_digit = true,
            '.' if !seen_dot => seen_dot = true,
            'e' | 'E' if seen_digit => {
                if matches!(chars.peek(), Some('+' | '-')) {
                    chars.next();
                }
                return chars.peek().is_some() && chars.all(|c| c.is_ascii_digit());
            }
            _ => return false,
        }
    }
    seen_digit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(source: &str) -> Node {
        load_document(source).expect("valid yaml").root
    }

    #[test]
    fn resolves_core_schema_scalars() {
        let node = root("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: hello\ng: 1e3\nh: 1.2.3");
        let json = node.to_json();
        assert_eq!(json["a"], 1);
        assert_eq!(json["b"], 1.5);
        assert_eq!(json["c"], true);
        assert!(json["d"].is_null());
        assert_eq!(json["e"], "1");
        assert_eq!(json["f"], "hello");
        assert_eq!(json["g"], 1000.0);
        assert_eq!(json["h"], "1.2.3");
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let node = root("id: x\ntasks:\n  - id: t\n    type: Log\n");
        let tasks = node.entry("tasks").expect("tasks");
        assert_eq!(tasks.key_span.start, Pos { line: 2, col: 1 });
        let first = &tasks.value.as_seq().expect("seq")[0];
        let kind = first.entry("type").expect("type");
        assert_eq!(kind.key_span.start, Pos { line: 4, col: 5 });
        assert_eq!(kind.value.span.start, Pos { line: 4, col: 11 });
    }

    #[test]
    fn reports_duplicate_keys_with_their_path() {
        let document = load_document("a:\n  b: 1\n  b: 2\n").expect("valid yaml");
        assert_eq!(document.duplicate_keys.len(), 1);
        let duplicate = &document.duplicate_keys[0];
        assert_eq!(duplicate.key, "b");
        assert_eq!(duplicate.path, vec!["a".to_string()]);
        assert_eq!(duplicate.span.start.line, 3);
        assert_eq!(document.root.to_json()["a"]["b"], 2);
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let error = load_document("a: [1, 2\nb: 3").expect_err("malformed");
        assert!(error.pos.line >= 1);
    }

    #[test]
    fn resolves_aliases() {
        let node = root("a: &x [1, 2]\nb: *x\n");
        assert_eq!(node.to_json()["b"], serde_json::json!([1, 2]));
    }

    #[test]
    fn splits_documents() {
        let documents = load_documents("id: a\n---\nid: b\n").expect("valid yaml");
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[1].start.line, 2);
    }
}
