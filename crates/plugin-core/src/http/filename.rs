//! The name a downloaded file gets in internal storage: the one `Content-Disposition` gives, or a
//! fresh name with the extension of the URL's last segment.

use super::form::form_encode;

/// The extension of the URL's last path segment, from its first dot (`.tar.gz`), if any.
pub(crate) fn extension_from_uri(uri: &str) -> String {
    let without_query = uri.split(['?', '#']).next().unwrap_or_default();
    let path = match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |slash| &rest[slash..]),
        None => without_query,
    };
    let last = path.rsplit('/').next().unwrap_or_default();
    last.find('.')
        .map(|dot| last[dot..].to_string())
        .unwrap_or_default()
}

/// The file name of a `Content-Disposition` header (`filename*` wins over `filename`), without
/// quotes or directories, URL-encoded as Kestra stores it.
pub(crate) fn name_from_disposition(header: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for part in header.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim().to_ascii_lowercase().as_str() {
            // RFC 5987: charset'language'percent-encoded-name
            "filename*" => {
                extended = Some(percent_decode(value.rsplit('\'').next().unwrap_or(value)))
            }
            "filename" => plain = Some(value.to_string()),
            _ => {}
        }
    }
    let name = extended.or(plain)?;
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some(form_encode(name))
}

/// Decodes `%XX` escapes (UTF-8); a malformed escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_comes_from_the_last_segment() {
        assert_eq!(extension_from_uri("http://host/data/orders.csv"), ".csv");
        assert_eq!(
            extension_from_uri("http://host/a.b/archive.tar.gz?x=1"),
            ".tar.gz"
        );
        assert_eq!(extension_from_uri("http://host/file"), "");
        assert_eq!(extension_from_uri("http://host.example"), "");
    }

    #[test]
    fn file_name_comes_from_content_disposition() {
        assert_eq!(
            name_from_disposition("attachment; filename=\"report.csv\""),
            Some("report.csv".into())
        );
        assert_eq!(
            name_from_disposition("attachment; filename=\"a b.csv\"; filename*=UTF-8''c%20d.csv"),
            Some("c+d.csv".into())
        );
        assert_eq!(
            name_from_disposition("attachment; filename=\"../../etc/passwd\""),
            Some("passwd".into())
        );
        assert_eq!(name_from_disposition("inline"), None);
    }
}
