//! Query strings read by hand: Kestra repeats keys (`labels=a:1&labels=b:2`, `state=...`),
//! which typed query extractors do not read, and bad values must answer JSON 422s.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// The query string's pairs, in order, decoded.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// Every pair as given, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of `name`; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`, also split on commas (`state=A,B` and `state=A&state=B`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .flat_map(|(_, value)| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .collect()
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
            Some(value) => Err(ApiError::invalid(format!(
                "query parameter '{name}' must be true or false, found '{value}'"
            ))),
        }
    }

    /// A number of at least `min`, or `default` when absent.
    pub fn number(&self, name: &str, default: usize, min: usize) -> Result<usize, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(default);
        };
        match value.parse::<usize>() {
            Ok(number) if number >= min => Ok(number),
            _ => Err(ApiError::invalid(format!(
                "query parameter '{name}' must be a whole number of at least {min}, found '{value}'"
            ))),
        }
    }

    /// Kestra's paging: `page` from 1 (default 1), `size` from 1 (default 10).
    pub fn paging(&self) -> Result<(usize, usize), ApiError> {
        Ok((self.number("page", 1, 1)?, self.number("size", 10, 1)?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or_default()))
    }
}

/// One page of `items` (`page` from 1).
pub fn page_of<T>(items: Vec<T>, page: usize, size: usize) -> Vec<T> {
    items
        .into_iter()
        .skip(page.saturating_sub(1).saturating_mul(size))
        .take(size)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_repeated_and_comma_separated_values() {
        let params = Params::parse("labels=a%3A1&labels=b:2&state=SUCCESS,FAILED&state=KILLED&q=");
        assert_eq!(params.all("labels"), ["a:1", "b:2"]);
        assert_eq!(params.all("state"), ["SUCCESS", "FAILED", "KILLED"]);
        assert_eq!(params.get("q"), None);
    }

    #[test]
    fn refuses_bad_numbers_and_flags() {
        let params = Params::parse("page=0&size=x&wait=maybe");
        assert!(params.number("page", 1, 1).is_err());
        assert!(params.paging().is_err());
        assert!(params.flag("wait", false).is_err());
        assert_eq!(Params::parse("").paging(), Ok((1, 10)));
    }

    #[test]
    fn pages_from_one() {
        assert_eq!(page_of(vec![1, 2, 3, 4, 5], 2, 2), [3, 4]);
        assert_eq!(page_of(vec![1, 2, 3], 3, 2), Vec::<i32>::new());
    }
}
