//! The `Authorization` header of `options.auth` (or the deprecated `basicAuthUser` and
//! `basicAuthPassword`).

use peregrine_plugin_api::{RunContext, TaskError};

use super::options::{AuthType, HttpOptions};

/// The header value to send, if the options ask for authentication. Kestra sets it over any
/// `Authorization` header the task gives.
pub(crate) fn authorization(
    context: &RunContext,
    options: Option<&HttpOptions>,
) -> Result<Option<String>, TaskError> {
    let Some(options) = options else {
        return Ok(None);
    };
    let render = |text: Option<&String>| -> Result<String, TaskError> {
        Ok(match text {
            Some(text) => context.render(text)?,
            // Kestra joins a missing part as the text "null".
            None => "null".to_string(),
        })
    };
    if let Some(auth) = &options.auth {
        return Ok(Some(match auth.auth_type {
            AuthType::Basic => basic(
                &render(auth.username.as_ref())?,
                &render(auth.password.as_ref())?,
            ),
            AuthType::Bearer => format!("Bearer {}", render(auth.token.as_ref())?),
        }));
    }
    match (&options.basic_auth_user, &options.basic_auth_password) {
        (Some(user), Some(password)) => Ok(Some(basic(
            &context.render(user)?,
            &context.render(password)?,
        ))),
        _ => Ok(None),
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let first = group[0];
        let second = group.get(1).copied().unwrap_or(0);
        let third = group.get(2).copied().unwrap_or(0);
        let indexes = [
            first >> 2,
            ((first & 0b11) << 4) | (second >> 4),
            ((second & 0b1111) << 2) | (third >> 6),
            third & 0b11_1111,
        ];
        for (position, index) in indexes.iter().enumerate() {
            if position <= group.len() {
                encoded.push(char::from(ALPHABET[usize::from(*index)]));
            } else {
                encoded.push('=');
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn encodes_like_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"admin:admin"), "YWRtaW46YWRtaW4=");
    }
}
