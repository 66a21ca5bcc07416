//! `outputFiles` patterns, matched like Java's `PathMatcher` against the working directory:
//! globs relative to it (`*` and `?` stay inside one folder, `**` crosses folders, `{a,b}`,
//! `[a-z]`, `[!a]`), or `regex:` / `glob:` prefixed patterns matched against the absolute path.

use std::path::{Path, PathBuf};

use peregrine_plugin_api::TaskError;
use regex::Regex;

/// Compiled `outputFiles` patterns.
pub(crate) struct OutputPatterns {
    /// Matched against the path relative to the working directory, `/`-separated.
    relative: Vec<Regex>,
    /// Matched against the absolute path (`regex:` and `glob:` prefixes).
    absolute: Vec<Regex>,
}

impl OutputPatterns {
    pub fn new(patterns: &[String]) -> Result<Self, TaskError> {
        let mut relative = Vec::new();
        let mut absolute = Vec::new();
        for pattern in patterns {
            let invalid = |message: String| TaskError::Property {
                property: "outputFiles".to_string(),
                message: format!("invalid pattern '{pattern}': {message}"),
            };
            let compile = |source: String| {
                Regex::new(&format!("^(?:{source})$")).map_err(|error| invalid(error.to_string()))
            };
            if let Some(expression) = pattern.strip_prefix("regex:") {
                absolute.push(compile(expression.to_string())?);
            } else if let Some(glob) = pattern.strip_prefix("glob:") {
                absolute.push(compile(glob_to_regex(glob).map_err(invalid)?)?);
            } else {
                let glob = pattern.strip_prefix('/').unwrap_or(pattern);
                relative.push(compile(glob_to_regex(glob).map_err(invalid)?)?);
            }
        }
        Ok(Self { relative, absolute })
    }

    pub fn is_empty(&self) -> bool {
        self.relative.is_empty() && self.absolute.is_empty()
    }

    fn matches(&self, relative: &str, absolute: &str) -> bool {
        self.relative.iter().any(|regex| regex.is_match(relative))
            || self.absolute.iter().any(|regex| regex.is_match(absolute))
    }

    /// Every regular file under `root` (symbolic links are not followed) that a pattern matches,
    /// as (path relative to `root`, absolute path), sorted. Blocking.
    pub fn find(&self, root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
        let mut found = Vec::new();
        if self.is_empty() {
            return Ok(found);
        }
        let mut pending = vec![root.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                let path = entry.path();
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file()
                    && let Ok(relative) = path.strip_prefix(root)
                {
                    let relative = relative.to_string_lossy().into_owned();
                    if self.matches(&relative, &path.to_string_lossy()) {
                        found.push((relative, path));
                    }
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Every regular file under `root`, as (path relative to `root`, absolute path). Blocking.
pub(crate) fn all_files(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    OutputPatterns::new(&["**".to_string()])
        .map_err(|error| std::io::Error::other(error.to_string()))?
        .find(root)
}

/// Translates a Java glob into a regular expression (Java's `Globs.toRegexPattern`).
fn glob_to_regex(glob: &str) -> Result<String, String> {
    let mut regex = String::new();
    let mut chars = glob.chars().peekable();
    let mut in_group = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => push_literal(&mut regex, escaped),
                None => return Err("no character to escape".to_string()),
            },
            '/' => regex.push('/'),
            '[' => {
                regex.push('[');
                if chars.peek() == Some(&'^') {
                    regex.push_str("\\^");
                    chars.next();
                } else if chars.peek() == Some(&'!') {
                    regex.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&'-') {
                    regex.push('-');
                    chars.next();
                }
                let mut closed = false;
                for inner in chars.by_ref() {
                    match inner {
                        ']' => {
                            closed = true;
                            break;
                        }
                        '/' => return Err("explicit '/' in a character class".to_string()),
                        '\\' | '[' | '&' | '~' => {
                            regex.push('\\');
                            regex.push(inner);
                        }
                        other => regex.push(other),
                    }
                }
                if !closed {
                    return Err("missing ']'".to_string());
                }
                regex.push(']');
            }
            '{' => {
                if in_group {
                    return Err("nested groups are not supported".to_string());
                }
                regex.push_str("(?:(?:");
                in_group = true;
            }
            '}' if in_group => {
                regex.push_str("))");
                in_group = false;
            }
            ',' if in_group => regex.push_str(")|(?:"),
            '*' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    regex.push_str(".*");
                } else {
                    regex.push_str("[^/]*");
                }
            }
            '?' => regex.push_str("[^/]"),
            other => push_literal(&mut regex, other),
        }
    }
    if in_group {
        return Err("missing '}'".to_string());
    }
    Ok(regex)
}

fn push_literal(regex: &mut String, c: char) {
    let mut buffer = [0; 4];
    regex.push_str(&regex::escape(c.encode_utf8(&mut buffer)));
}

#[cfg(test)]
mod tests {
    use super::OutputPatterns;

    fn matches(pattern: &str, path: &str) -> bool {
        OutputPatterns::new(&[pattern.to_string()])
            .expect("valid pattern")
            .matches(path, &format!("/work/{path}"))
    }

    #[test]
    fn globs_follow_java_path_matcher_rules() {
        assert!(matches("out.txt", "out.txt"));
        assert!(!matches("out.txt", "dir/out.txt"));
        assert!(matches("*.txt", "a.txt"));
        assert!(!matches("*.txt", "dir/a.txt"));
        assert!(matches("**.txt", "dir/a.txt"));
        assert!(matches("**/*.txt", "dir/a.txt"));
        assert!(!matches("**/*.txt", "a.txt"));
        assert!(matches("*.{csv,json}", "a.json"));
        assert!(matches("file?.[a-c]", "file1.b"));
        assert!(!matches("file?.[!a-c]", "file1.b"));
        assert!(matches("/out.txt", "out.txt"));
        assert!(matches("regex:.*/dir/[a-z]+\\.txt", "dir/abc.txt"));
        assert!(matches("a+b(1).txt", "a+b(1).txt"));
    }

    #[test]
    fn malformed_globs_are_reported() {
        assert!(OutputPatterns::new(&["[abc".to_string()]).is_err());
        assert!(OutputPatterns::new(&["{a,{b}}".to_string()]).is_err());
    }
}
