//! Rendering context: variables, clock, time zone and the [`Host`] hook.

use indexmap::IndexMap;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

use crate::error::Error;

/// Evaluated arguments of a function call, as written in the template:
/// positional ones first, then named ones (`kv('k', namespace='ns')`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// Positional arguments, in order.
    pub positional: Vec<Value>,
    /// Named arguments, in order of appearance.
    pub named: IndexMap<String, Value>,
}

impl Args {
    /// The argument called `name`, else the positional one at `index`
    /// (Pebble maps positional arguments onto declared names in order).
    pub fn get(&self, name: &str, index: usize) -> Option<&Value> {
        self.named.get(name).or_else(|| self.positional.get(index))
    }

    /// Like [`Args::get`], as a string slice.
    pub fn get_str(&self, name: &str, index: usize) -> Option<&str> {
        self.get(name, index).and_then(Value::as_str)
    }

    /// True when no argument was given.
    pub fn is_empty(&self) -> bool {
        self.positional.is_empty() && self.named.is_empty()
    }
}

/// Read access to the variables visible where a host function is called
/// (template `set` and loop variables first, then the context's).
pub trait Variables {
    /// The variable called `name`, if defined.
    fn get(&self, name: &str) -> Option<&Value>;
}

/// The runtime's hook for everything that needs the outside world:
/// `secret()`, `kv()`, `read()`, `fileURI()`, `fileSize()`, `encrypt()`,
/// `decrypt()`, `errorLogs()`, `uuid()`, `id()`, `randomInt()`, and the
/// clock used by `now()`.
///
/// The trait is object safe; pass it as `&dyn Host` to
/// [`Context::with_host`]. Built-in functions (see [`crate::FUNCTIONS`])
/// are resolved first and cannot be overridden; every other name is passed
/// to [`Host::call`]. Errors built with [`Error::host`] get the call's
/// position attached.
pub trait Host: Send + Sync {
    /// Calls the function `name`. Return `None` when the host does not
    /// provide it (the engine then reports "function 'x' is not available
    /// in this context" or "unknown function 'x'").
    fn call(&self, name: &str, args: &Args, vars: &dyn Variables) -> Option<Result<Value, Error>>;

    /// The current instant, for `now()`. `None` means the host has no clock.
    fn now(&self) -> Option<Timestamp> {
        None
    }

    /// The default time zone of date filters and `now()` (Kestra uses the
    /// JVM default; `None` falls back to the context's, then UTC).
    fn time_zone(&self) -> Option<TimeZone> {
        None
    }
}

/// Functions that only a [`Host`] can provide.
pub const HOST_FUNCTIONS: &[&str] = &[
    "secret",
    "kv",
    "read",
    "fileURI",
    "fileSize",
    "encrypt",
    "decrypt",
    "errorLogs",
    "uuid",
    "id",
    "randomInt",
    "fromIon",
];

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// What a template is rendered against.
#[derive(Clone)]
pub struct Context<'a> {
    pub(crate) vars: &'a Map<String, Value>,
    pub(crate) host: Option<&'a dyn Host>,
    pub(crate) now: Option<Timestamp>,
    pub(crate) time_zone: Option<TimeZone>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("vars", &self.vars.len())
            .field("host", &self.host.is_some())
            .field("now", &self.now)
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

impl<'a> Context<'a> {
    /// A context over `vars`; a non-object value means "no variables".
    pub fn new(vars: &'a Value) -> Self {
        match vars {
            Value::Object(map) => Self::from_map(map),
            _ => Self::from_map(&EMPTY),
        }
    }

    /// A context over a variables map.
    pub fn from_map(vars: &'a Map<String, Value>) -> Self {
        Self {
            vars,
            host: None,
            now: None,
            time_zone: None,
        }
    }

    /// Adds the runtime hook.
    pub fn with_host(mut self, host: &'a dyn Host) -> Self {
        self.host = Some(host);
        self
    }

    /// Fixes the clock used by `now()` (takes precedence over the host's).
    pub fn with_now(mut self, now: Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    /// Sets the default time zone of date filters and `now()`.
    pub fn with_time_zone(mut self, tz: TimeZone) -> Self {
        self.time_zone = Some(tz);
        self
    }

    /// The variables of this context.
    pub fn vars(&self) -> &'a Map<String, Value> {
        self.vars
    }

    pub(crate) fn now(&self) -> Option<Timestamp> {
        self.now.or_else(|| self.host.and_then(|h| h.now()))
    }

    pub(crate) fn default_tz(&self) -> TimeZone {
        self.time_zone
            .clone()
            .or_else(|| self.host.and_then(|h| h.time_zone()))
            .unwrap_or(TimeZone::UTC)
    }
}
