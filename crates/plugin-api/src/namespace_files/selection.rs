//! Which namespace files `include` and `exclude` select, matched as Kestra's
//! `PathMatcherPredicate` does: against the file's path from the namespace root with a leading
//! `/` (`/scripts/run.sh`); a pattern starting with a letter, digit or `_` matches at any depth
//! (`run.sh` is `**/run.sh`); `glob:` and `regex:` prefixes are Java's syntaxes. With both lists,
//! a file must match an include and no exclude; an empty list does not filter.

use crate::TaskError;
use crate::glob::Glob;
use regex::Regex;

/// One compiled pattern.
#[derive(Clone, Debug)]
enum Pattern {
    Glob(Glob),
    Regex(Regex),
}

impl Pattern {
    fn new(property: &str, pattern: &str) -> Result<Self, TaskError> {
        let invalid = |message: String| TaskError::Property {
            property: property.to_string(),
            message: format!("invalid pattern '{pattern}': {message}"),
        };
        if let Some(expression) = pattern.strip_prefix("regex:") {
            return Regex::new(&format!("^(?:{expression})$"))
                .map(Pattern::Regex)
                .map_err(|error| invalid(error.to_string()));
        }
        let glob = match pattern.strip_prefix("glob:") {
            Some(glob) => glob.to_string(),
            None if starts_with_word(pattern) => format!("**/{pattern}"),
            None => pattern.to_string(),
        };
        Glob::new(&glob)
            .map(Pattern::Glob)
            .map_err(|error| invalid(error.to_string()))
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            Pattern::Glob(glob) => glob.is_match(path),
            Pattern::Regex(regex) => regex.is_match(path),
        }
    }
}

/// Java's `\w`: an ASCII letter, digit or underscore.
fn starts_with_word(pattern: &str) -> bool {
    pattern
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric() || first == '_')
}

/// The compiled `include` and `exclude` lists.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl Selection {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, TaskError> {
        let compile = |property: &str, patterns: &[String]| {
            patterns
                .iter()
                .map(|pattern| Pattern::new(property, pattern))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            include: compile("namespaceFiles.include", include)?,
            exclude: compile("namespaceFiles.exclude", exclude)?,
        })
    }

    /// True when the file at `path` (from the namespace root, with or without its leading `/`)
    /// is selected.
    pub fn selects(&self, path: &str) -> bool {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let any = |patterns: &[Pattern]| patterns.iter().any(|pattern| pattern.matches(&path));
        (self.include.is_empty() || any(&self.include))
            && (self.exclude.is_empty() || !any(&self.exclude))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(include: &[&str], exclude: &[&str]) -> Selection {
        let owned = |patterns: &[&str]| patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        Selection::new(&owned(include), &owned(exclude)).expect("valid patterns")
    }

    /// Include, exclude, then the paths selected and the paths left out.
    type Case = (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    );

    #[test]
    fn include_and_exclude_select_as_kestra_does() {
        let cases: &[Case] = &[
            // No pattern: everything.
            (&[], &[], &["/a.txt", "/deep/b/c.sql"], &[]),
            // A leading word matches at any depth.
            (
                &["a.txt"],
                &[],
                &["/a.txt", "/x/y/a.txt"],
                &["/b.txt", "/xa.txt"],
            ),
            // A rooted pattern matches from the root only; `*` stays in one folder.
            (
                &["/scripts/*.sh"],
                &[],
                &["/scripts/run.sh"],
                &["/scripts/sub/run.sh", "/run.sh"],
            ),
            // `*` at the start cannot match the leading `/` (Kestra's behaviour).
            (&["*.txt"], &[], &[], &["/a.txt"]),
            (&["**.txt"], &[], &["/a.txt", "/x/a.txt"], &["/a.sql"]),
            // Exclude only.
            (
                &[],
                &["/ignore/**"],
                &["/a/b/3.txt", "/test/ignore/1.txt"],
                &["/ignore/4.txt"],
            ),
            // An exclude wins over an include.
            (
                &["**.txt"],
                &["secret.txt"],
                &["/a.txt"],
                &["/x/secret.txt", "/a.sql"],
            ),
            // Java syntaxes.
            (&["glob:/a/**"], &[], &["/a/b/c"], &["/b/a"]),
            (
                &["regex:/[ab]\\.txt"],
                &[],
                &["/a.txt", "/b.txt"],
                &["/c.txt", "/x/a.txt"],
            ),
        ];
        for (include, exclude, selected, left_out) in cases {
            let selection = selection(include, exclude);
            for path in *selected {
                assert!(
                    selection.selects(path),
                    "{include:?} {exclude:?} should select {path}"
                );
            }
            for path in *left_out {
                assert!(
                    !selection.selects(path),
                    "{include:?} {exclude:?} should leave out {path}"
                );
            }
        }
    }

    #[test]
    fn paths_without_a_leading_slash_are_from_the_root() {
        assert!(selection(&["/a/*.txt"], &[]).selects("a/b.txt"));
    }

    #[test]
    fn an_invalid_regex_names_the_property() {
        let error = Selection::new(&[], &["regex:(".to_string()]).expect_err("refused");
        assert!(
            error.to_string().contains("namespaceFiles.exclude"),
            "{error}"
        );
    }
}
