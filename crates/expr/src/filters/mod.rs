//! Filters (`value | name(args)`), grouped by theme.

pub(crate) mod collections;
pub(crate) mod dates;
pub(crate) mod encoding;
pub(crate) mod numbers;
pub(crate) mod strings;

use indexmap::IndexMap;
use serde_json::Value;

use crate::context::Args;
use crate::error::{Error, Pos, Result};
use crate::eval::Evaluator;
use crate::value::{as_int, type_name};

/// The names of every supported filter.
pub const FILTERS: &[&str] = &[
    "abbreviate",
    "abs",
    "base64decode",
    "base64encode",
    "capitalize",
    "chunk",
    "className",
    "date",
    "dateAdd",
    "default",
    "distinct",
    "endsWith",
    "escape",
    "escapeChar",
    "first",
    "flatten",
    "indent",
    "join",
    "jq",
    "json",
    "keys",
    "last",
    "length",
    "lower",
    "md5",
    "merge",
    "nindent",
    "number",
    "numberFormat",
    "raw",
    "replace",
    "reverse",
    "round",
    "rsort",
    "sha1",
    "sha256",
    "sha512",
    "slice",
    "slugify",
    "sort",
    "split",
    "startsWith",
    "substringAfter",
    "substringAfterLast",
    "substringBefore",
    "substringBeforeLast",
    "timestamp",
    "timestampMicro",
    "timestampNano",
    "title",
    "toJson",
    "toYaml",
    "trim",
    "upper",
    "urldecode",
    "urlencode",
    "values",
    "yaml",
];

/// Arguments bound to a filter's declared names (Pebble's `getArgumentMap`).
pub(crate) struct Bound(IndexMap<String, Value>);

impl Bound {
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<&str>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!(
                "argument '{name}' must be a string, got {}",
                type_name(other)
            )),
        }
    }

    pub(crate) fn req_str(&self, name: &str) -> Result<&str, String> {
        self.str(name)?
            .ok_or_else(|| format!("expects an argument '{name}'"))
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => as_int(v).map(Some).ok_or_else(|| {
                format!("argument '{name}' must be an integer, got {}", type_name(v))
            }),
        }
    }

    pub(crate) fn req_int(&self, name: &str) -> Result<i64, String> {
        self.int(name)?
            .ok_or_else(|| format!("expects an integer argument '{name}'"))
    }
}

/// Maps positional arguments onto `names`, checks named ones.
pub(crate) fn bind(args: &Args, names: &[&str]) -> Result<Bound, String> {
    let mut out = IndexMap::new();
    for (i, v) in args.positional.iter().enumerate() {
        let Some(name) = names.get(i) else {
            return Err(format!(
                "the argument at position {} is not allowed, only {} argument(s) are allowed",
                i + 1,
                names.len()
            ));
        };
        out.insert((*name).to_owned(), v.clone());
    }
    for (k, v) in &args.named {
        if !names.contains(&k.as_str()) {
            return Err(format!("the following named argument does not exist: {k}"));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(Bound(out))
}

/// Applies the filter `name`.
pub(crate) fn apply(
    ev: &Evaluator<'_>,
    name: &str,
    input: &Value,
    args: &Args,
    pos: Pos,
) -> Result<Value> {
    let r = dispatch(ev, name, input, args);
    r.map_err(|m| match m {
        Dispatch::Unknown => Error::eval(format!("unknown filter '{name}'"), pos),
        Dispatch::Failed(m) => Error::eval(format!("filter '{name}': {m}"), pos),
    })
}

pub(crate) enum Dispatch {
    Unknown,
    Failed(String),
}

impl From<String> for Dispatch {
    fn from(s: String) -> Self {
        Dispatch::Failed(s)
    }
}

impl From<&str> for Dispatch {
    fn from(s: &str) -> Self {
        Dispatch::Failed(s.to_owned())
    }
}

fn dispatch(ev: &Evaluator<'_>, name: &str, input: &Value, args: &Args) -> Result<Value, Dispatch> {
    if let Some(r) = strings::apply(name, input, args) {
        return Ok(r?);
    }
    if let Some(r) = collections::apply(name, input, args) {
        return Ok(r?);
    }
    if let Some(r) = numbers::apply(name, input, args) {
        return Ok(r?);
    }
    if let Some(r) = encoding::apply(name, input, args) {
        return Ok(r?);
    }
    if let Some(r) = dates::apply(ev, name, input, args) {
        return Ok(r?);
    }
    Err(Dispatch::Unknown)
}
