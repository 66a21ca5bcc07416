//! Request bodies holding several flows: YAML documents separated by `---` lines, each kept
//! with its own text (that is the source stored for its flow) and its first line in the body.

use peregrine_model::FlowReport;

/// One YAML document of a request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Lines before this document in the body.
    pub line_offset: u32,
    pub text: String,
}

impl Document {
    /// The whole body as one document.
    pub fn whole(text: String) -> Self {
        Self {
            line_offset: 0,
            text,
        }
    }

    /// The text stored for this document's flow: Kestra keeps each document trimmed.
    pub fn source(&self) -> String {
        self.text.trim().to_string()
    }

    /// Moves the positions of a report on this document to positions in the whole body.
    pub fn shift(&self, mut report: FlowReport) -> FlowReport {
        for diagnostic in &mut report.diagnostics {
            diagnostic.pos.line += self.line_offset;
        }
        report.start.line += self.line_offset;
        report
    }
}

/// Splits a body on document markers (`---` at the start of a line, which ends any YAML node);
/// documents holding only blanks and comments are left out.
pub fn split(body: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut line_offset = 0u32;
    for (index, line) in body.split_inclusive('\n').enumerate() {
        let marker = line
            .strip_prefix("---")
            .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']));
        match marker {
            Some(rest) => {
                push(&mut documents, std::mem::take(&mut current), line_offset);
                line_offset = u32::try_from(index).unwrap_or(u32::MAX);
                // Keep the line (blanked marker) so columns and line numbers stay right.
                current.push_str(&" ".repeat(3));
                current.push_str(rest);
            }
            None => current.push_str(line),
        }
    }
    push(&mut documents, current, line_offset);
    documents
}

fn push(documents: &mut Vec<Document>, text: String, line_offset: u32) {
    let has_content = text.lines().any(|line| {
        let line = line.trim_start();
        !line.is_empty() && !line.starts_with('#')
    });
    if has_content {
        documents.push(Document { line_offset, text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_markers_and_keeps_line_numbers() {
        let body = "id: a\nnamespace: n\n---\n# only a comment\n---\nid: b\n---   \n\n";
        let documents = split(body);
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[0].line_offset, 0);
        assert_eq!(documents[0].text, "id: a\nnamespace: n\n");
        assert_eq!(documents[1].line_offset, 4);
        assert_eq!(documents[1].text, "   \nid: b\n");
    }

    #[test]
    fn a_marker_needs_the_line_start_and_an_end() {
        let documents = split("a: '---'\nb: ---x\n  ---\n");
        assert_eq!(documents.len(), 1);
    }
}
