//! Glob patterns over the files of a folder, as Kestra matches `outputFiles` and cache patterns:
//! `*` within a folder, `**` across folders, `?` one character, against the path relative to the
//! folder.

use std::path::{Path, PathBuf};

/// A glob compiled to a whole-path regular expression.
#[derive(Clone, Debug)]
pub struct Glob(regex::Regex);

impl Glob {
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let mut expression = String::from("^");
        let mut characters = pattern.trim_start_matches("./").chars().peekable();
        while let Some(character) = characters.next() {
            match character {
                '*' if characters.peek() == Some(&'*') => {
                    characters.next();
                    if characters.peek() == Some(&'/') {
                        characters.next();
                        expression.push_str("(?:.*/)?");
                    } else {
                        expression.push_str(".*");
                    }
                }
                '*' => expression.push_str("[^/]*"),
                '?' => expression.push_str("[^/]"),
                other => expression.push_str(&regex::escape(&other.to_string())),
            }
        }
        expression.push('$');
        regex::Regex::new(&expression).map(Self)
    }

    /// True when `relative` (a path with `/` separators) matches.
    pub fn is_match(&self, relative: &str) -> bool {
        self.0.is_match(relative)
    }
}

/// The files below `folder` matching any of `globs`: (path relative to the folder, full path),
/// sorted by relative path. Blocking: call it from a blocking thread.
pub fn matching_files(folder: &Path, globs: &[Glob]) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut matched = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(relative) = path.strip_prefix(folder) else {
                continue;
            };
            let relative = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if globs.iter().any(|glob| glob.is_match(&relative)) {
                matched.push((relative, path));
            }
        }
    }
    matched.sort();
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_relative_paths() {
        let glob = |pattern: &str| Glob::new(pattern).expect("a glob");
        assert!(glob("*.txt").is_match("hello.txt"));
        assert!(!glob("*.txt").is_match("out/hello.txt"));
        assert!(glob("out/*").is_match("out/stay.txt"));
        assert!(!glob("out/*").is_match("out/a/b.txt"));
        assert!(glob("**/*.txt").is_match("a/b/c.txt"));
        assert!(glob("**/*.txt").is_match("c.txt"));
        assert!(glob("node_modules/**").is_match("node_modules/a/b.js"));
        assert!(glob("out/?.csv").is_match("out/a.csv"));
        assert!(!glob("out/?.csv").is_match("out/ab.csv"));
    }

    #[test]
    fn files_below_a_folder_are_matched_by_relative_path() {
        let folder = std::env::temp_dir().join(format!("glob-test-{}", std::process::id()));
        std::fs::create_dir_all(folder.join("sub")).expect("a folder");
        std::fs::write(folder.join("a.txt"), "a").expect("a file");
        std::fs::write(folder.join("sub/b.txt"), "b").expect("a file");
        std::fs::write(folder.join("c.log"), "c").expect("a file");
        let globs = [Glob::new("**/*.txt").expect("a glob")];
        let found: Vec<String> = matching_files(&folder, &globs)
            .expect("listed")
            .into_iter()
            .map(|(relative, _)| relative)
            .collect();
        let _ = std::fs::remove_dir_all(&folder);
        assert_eq!(found, ["a.txt", "sub/b.txt"]);
    }
}
