//! Paths inside internal storage and their `kestra:///` URIs.

use std::fmt;

use super::Error;

/// The scheme of internal storage URIs.
pub const SCHEME: &str = "kestra";

/// An absolute path inside internal storage: `/`-separated, never empty, with no empty, `.` or
/// `..` segment and no NUL byte. Whatever the backend, it can never leave the storage root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoragePath(String);

impl StoragePath {
    /// Reads an absolute path such as `/company/team/_files/a.sql`.
    pub fn new(path: impl Into<String>) -> Result<Self, Error> {
        let path = path.into();
        let invalid = |reason| Error::InvalidPath {
            path: path.clone(),
            reason,
        };
        let Some(relative) = path.strip_prefix('/') else {
            return Err(invalid("it must start with '/'"));
        };
        for segment in relative.split('/') {
            match segment {
                "" => return Err(invalid("it has an empty segment")),
                "." | ".." => return Err(invalid("'.' and '..' segments are refused")),
                _ if segment.contains('\0') => return Err(invalid("it contains a NUL byte")),
                _ => {}
            }
        }
        Ok(Self(path))
    }

    /// Reads a `kestra:///a/b` URI (Java's `kestra:/a/b` form too), decoding `%XX` escapes.
    pub fn from_uri(uri: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidPath {
            path: uri.to_string(),
            reason,
        };
        let rest = uri
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix(':'))
            .ok_or_else(|| invalid("it is not a kestra:/// URI"))?;
        let path = match rest.strip_prefix("//") {
            Some(after) if after.starts_with('/') => after,
            Some(_) => return Err(invalid("a kestra URI has no host: write kestra:///path")),
            None => rest,
        };
        if path.contains(['?', '#']) {
            return Err(invalid("a kestra URI has no query or fragment"));
        }
        Self::new(decode(path).ok_or_else(|| invalid("it has a malformed %-escape"))?)
    }

    /// The `kestra:///...` URI of this path, %-escaping what a URI path cannot hold.
    pub fn uri(&self) -> String {
        format!("{SCHEME}://{}", encode(&self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments, root first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or_default()
    }

    /// The path one segment up, if this is not a top-level path.
    pub fn parent(&self) -> Option<StoragePath> {
        match self.0.rfind('/') {
            Some(0) | None => None,
            Some(index) => Some(Self(self.0[..index].to_string())),
        }
    }

    /// Appends a relative path (leading slashes ignored); the result is validated again.
    pub fn join(&self, relative: &str) -> Result<Self, Error> {
        Self::new(format!("{}/{}", self.0, relative.trim_start_matches('/')))
    }

    /// True when this path lies strictly below the directory `prefix`.
    pub fn is_under(&self, prefix: &StoragePath) -> bool {
        self.0.len() > prefix.0.len()
            && self.0.starts_with(&prefix.0)
            && self.0.as_bytes()[prefix.0.len()] == b'/'
    }
}

impl fmt::Display for StoragePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes the ASCII characters a URI path cannot hold, like `java.net.URI` (non-ASCII characters
/// stay as they are, as `URI#toString` prints them).
fn encode(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for character in path.chars() {
        let keep = !character.is_ascii()
            || character.is_ascii_alphanumeric()
            || "/-._~!$&'()*+,;=:@".contains(character);
        if keep {
            encoded.push(character);
        } else {
            encoded.push_str(&format!("%{:02X}", character as u32));
        }
    }
    encoded
}

/// Decodes `%XX` escapes; `None` when one is malformed or the result is not UTF-8.
fn decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_could_escape_the_root() {
        for bad in [
            "", "a/b", "/", "/a//b", "/a/", "/a/../b", "/..", "/./a", "/a\0b",
        ] {
            assert!(StoragePath::new(bad).is_err(), "{bad:?}");
        }
        assert!(StoragePath::from_uri("kestra:///a/%2E%2E/b").is_err());
        assert!(StoragePath::from_uri("kestra://host/a").is_err());
        assert!(StoragePath::from_uri("file:///etc/passwd").is_err());
        assert!(StoragePath::from_uri("kestra:///a/%zz").is_err());
    }

    #[test]
    fn uris_round_trip() {
        let path = StoragePath::new("/company/team/my flow/100%/é.txt").expect("valid");
        assert_eq!(path.uri(), "kestra:///company/team/my%20flow/100%25/é.txt");
        assert_eq!(StoragePath::from_uri(&path.uri()).expect("valid"), path);
        let java_form = StoragePath::from_uri("kestra:/a/b").expect("valid");
        assert_eq!(java_form.as_str(), "/a/b");
    }

    #[test]
    fn navigates() {
        let path = StoragePath::new("/a/b/c.txt").expect("valid");
        assert_eq!(path.file_name(), "c.txt");
        assert_eq!(
            path.parent().map(|p| p.to_string()).as_deref(),
            Some("/a/b")
        );
        let prefix = StoragePath::new("/a/b").expect("valid");
        assert!(path.is_under(&prefix));
        assert!(!prefix.is_under(&prefix));
        assert!(!StoragePath::new("/a/bc").expect("valid").is_under(&prefix));
        assert_eq!(prefix.join("/x/y").expect("valid").as_str(), "/a/b/x/y");
        assert!(prefix.join("../y").is_err());
    }
}
