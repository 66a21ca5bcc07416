//! One spec per input type: its own options and the rules on its `defaults`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::InputType;
use crate::check::CheckContext;
use crate::diagnostic::Code;
use crate::duration::Duration;
use crate::property::is_expression;
use crate::registry::{Kind, PluginSpec, Registry};
use crate::yaml::{Node, NodeValue};

macro_rules! input_spec {
    ($spec:ident, $name:literal, $check:path) => {
        impl PluginSpec for $spec {
            const KIND: Kind = Kind::Input;
            const TYPE: &'static str = $name;

            fn check(context: &mut CheckContext<'_>) {
                $check(context);
            }
        }
    };
}

/// STRING: free text, optionally matched against a regular expression.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct StringInput {
    /// A regular expression the whole value must match.
    pub validator: Option<String>,
}

/// A type without options of its own (BOOLEAN, JSON, YAML, URI, EMAIL, SECRET...).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PlainInput {}

/// SECRET: a string encrypted at rest, optionally matched against a regular expression.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SecretInput {
    pub validator: Option<String>,
}

/// INT: a whole number within optional bounds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct IntInput {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// FLOAT: a number within optional bounds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct FloatInput {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// DURATION: an ISO-8601 duration within optional bounds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct DurationInput {
    pub min: Option<Duration>,
    pub max: Option<Duration>,
}

/// DATETIME, DATE, TIME: a point in time within optional bounds (the parameter tells them apart).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct TemporalInput<const KIND: u8> {
    pub after: Option<String>,
    pub before: Option<String>,
}

/// FILE: a file uploaded to internal storage.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInput {
    /// Deprecated: the expected file extension.
    pub extension: Option<String>,
    pub allowed_file_extensions: Option<Vec<String>>,
}

/// ENUM (deprecated): one of fixed values.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EnumInput {
    #[schemars(length(min = 1))]
    pub values: Vec<String>,
}

/// SELECT and MULTISELECT: one (or several) of a list of values, given or computed.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectInput<const MULTIPLE: u8 = 0> {
    pub values: Option<Vec<String>>,
    /// Deprecated spelling of `values` (MULTISELECT).
    pub options: Option<Vec<String>>,
    /// An expression giving the values.
    pub expression: Option<String>,
    pub allow_custom_value: Option<bool>,
    pub is_radio: Option<bool>,
    pub auto_select_first: Option<bool>,
    pub item_type: Option<InputType>,
}

/// ARRAY: a list of values of one type.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArrayInput {
    pub item_type: InputType,
}

macro_rules! plain_input {
    ($spec:ident, $name:literal, $check:path) => {
        #[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
        pub struct $spec {}
        input_spec!($spec, $name, $check);
    };
}

input_spec!(StringInput, "STRING", check_string);
input_spec!(SecretInput, "SECRET", check_string);
input_spec!(IntInput, "INT", check_int);
input_spec!(FloatInput, "FLOAT", check_float);
input_spec!(DurationInput, "DURATION", check_duration);
input_spec!(FileInput, "FILE", check_file);
input_spec!(EnumInput, "ENUM", check_choice);
input_spec!(ArrayInput, "ARRAY", check_array);
plain_input!(BooleanInput, "BOOLEAN", check_boolean);
plain_input!(BoolInput, "BOOL", check_boolean);
plain_input!(JsonInput, "JSON", check_json);
plain_input!(YamlInput, "YAML", check_nothing);
plain_input!(UriInput, "URI", check_uri);
plain_input!(EmailInput, "EMAIL", check_email);

/// DATETIME: an instant such as `2024-01-31T10:00:00Z`, within optional bounds.
pub type DateTimeInput = TemporalInput<0>;
/// DATE: a day such as `2024-01-31`, within optional bounds.
pub type DateInput = TemporalInput<1>;
/// TIME: a time of day such as `10:15:30`, within optional bounds.
pub type TimeInput = TemporalInput<2>;
/// MULTISELECT: several of a list of values.
pub type MultiSelectInput = SelectInput<1>;
input_spec!(DateTimeInput, "DATETIME", check_datetime);
input_spec!(DateInput, "DATE", check_date);
input_spec!(TimeInput, "TIME", check_time);
input_spec!(SelectInput, "SELECT", check_choice);
input_spec!(MultiSelectInput, "MULTISELECT", check_nothing);

pub(crate) fn register(registry: &mut Registry) {
    registry.register::<StringInput>();
    registry.register::<SecretInput>();
    registry.register::<IntInput>();
    registry.register::<FloatInput>();
    registry.register::<DurationInput>();
    registry.register::<FileInput>();
    registry.register::<EnumInput>();
    registry.register::<ArrayInput>();
    registry.register::<BooleanInput>();
    registry.register::<BoolInput>();
    registry.register::<JsonInput>();
    registry.register::<YamlInput>();
    registry.register::<UriInput>();
    registry.register::<EmailInput>();
    registry.register::<DateTimeInput>();
    registry.register::<DateInput>();
    registry.register::<TimeInput>();
    registry.register::<SelectInput>();
    registry.register::<MultiSelectInput>();
}

/// The literal `defaults` of the input, if any (expressions are checked at run time).
fn literal_default<'a>(context: &CheckContext<'a>) -> Option<&'a Node> {
    let node = context.node.get("defaults")?;
    match &node.value {
        NodeValue::Null => None,
        NodeValue::Str { text, .. } if is_expression(text) => None,
        _ => Some(node),
    }
}

fn invalid_default(context: &mut CheckContext<'_>, node: &Node, reason: &str) {
    let type_name = context
        .node
        .get("type")
        .and_then(Node::as_str)
        .unwrap_or("?")
        .to_string();
    let message = format!("invalid defaults for input of type {type_name}: {reason}");
    context.report(
        Code::InvalidInput,
        node.span.start,
        Some("defaults"),
        message,
    );
}

fn check_nothing(_: &mut CheckContext<'_>) {}

fn check_string(context: &mut CheckContext<'_>) {
    let mut validator = None;
    if let Some(node) = context.node.get("validator")
        && let Some(pattern) = node.as_str()
    {
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(regex) => validator = Some(regex),
            Err(_) => {
                let message =
                    format!("invalid pattern [{pattern}]: not a valid regular expression");
                context.report(
                    Code::InvalidInput,
                    node.span.start,
                    Some("validator"),
                    message,
                );
            }
        }
    }
    if let (Some(regex), Some(node)) = (validator, literal_default(context))
        && let Some(text) = node.scalar_text()
        && !regex.is_match(&text)
    {
        let reason = format!("'{text}' does not match the validator");
        invalid_default(context, node, &reason);
    }
}

fn check_int(context: &mut CheckContext<'_>) {
    if let Some(node) = literal_default(context) {
        let valid = match &node.value {
            NodeValue::Int(_) => true,
            NodeValue::Str { text, .. } => text.trim().parse::<i64>().is_ok(),
            _ => false,
        };
        if !valid {
            invalid_default(context, node, "expected an integer");
        }
    }
}

fn check_float(context: &mut CheckContext<'_>) {
    if let Some(node) = literal_default(context) {
        let valid = match &node.value {
            NodeValue::Int(_) | NodeValue::Float(_) => true,
            NodeValue::Str { text, .. } => text.trim().parse::<f64>().is_ok(),
            _ => false,
        };
        if !valid {
            invalid_default(context, node, "expected a number");
        }
    }
}

fn check_boolean(context: &mut CheckContext<'_>) {
    if let Some(node) = literal_default(context) {
        let valid = match &node.value {
            NodeValue::Bool(_) => true,
            NodeValue::Str { text, .. } => {
                matches!(text.to_ascii_lowercase().as_str(), "true" | "false")
            }
            _ => false,
        };
        if !valid {
            invalid_default(context, node, "expected true or false");
        }
    }
}

fn check_duration(context: &mut CheckContext<'_>) {
    if let Some(node) = literal_default(context) {
        let text = node.scalar_text().unwrap_or_default();
        if let Err(error) = text.parse::<Duration>() {
            invalid_default(context, node, &error.to_string());
        }
    }
}

fn check_pattern(context: &mut CheckContext<'_>, pattern: &str, expected: &str) {
    if let Some(node) = literal_default(context) {
        let text = node.scalar_text().unwrap_or_default();
        if !regex::Regex::new(pattern).is_ok_and(|regex| regex.is_match(&text)) {
            invalid_default(context, node, &format!("'{text}' is not {expected}"));
        }
    }
}

fn check_datetime(context: &mut CheckContext<'_>) {
    check_pattern(
        context,
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?(\[[^\]]+\])?$",
        "an ISO-8601 date-time such as 2024-01-31T10:00:00Z",
    );
}

fn check_date(context: &mut CheckContext<'_>) {
    check_pattern(
        context,
        r"^\d{4}-\d{2}-\d{2}$",
        "an ISO-8601 date such as 2024-01-31",
    );
}

fn check_time(context: &mut CheckContext<'_>) {
    check_pattern(
        context,
        r"^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$",
        "an ISO-8601 time such as 10:15:30",
    );
}

fn check_uri(context: &mut CheckContext<'_>) {
    check_pattern(
        context,
        r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$",
        "a URI with a scheme",
    );
}

fn check_email(context: &mut CheckContext<'_>) {
    check_pattern(context, r"^[^@\s]+@[^@\s]+$", "an email address");
}

fn check_json(context: &mut CheckContext<'_>) {
    if let Some(node) = literal_default(context)
        && let Some(text) = node.as_str()
        && serde_json::from_str::<Value>(text).is_err()
    {
        invalid_default(context, node, "not valid JSON");
    }
}

fn check_file(context: &mut CheckContext<'_>) {
    if let Some(node) = context.node.get("defaults").filter(|node| !node.is_null()) {
        let message = "no `defaults` can be set for inputs of type 'FILE'";
        context.report(
            Code::InvalidInput,
            node.span.start,
            Some("defaults"),
            message,
        );
    }
}

fn check_choice(context: &mut CheckContext<'_>) {
    let values: Vec<String> = context
        .node
        .get("values")
        .and_then(Node::as_seq)
        .map(|values| values.iter().filter_map(Node::scalar_text).collect())
        .unwrap_or_default();
    let custom = context
        .node
        .get("allowCustomValue")
        .and_then(|node| match node.value {
            NodeValue::Bool(flag) => Some(flag),
            _ => None,
        });
    if values.is_empty() || custom == Some(true) {
        return;
    }
    if let Some(node) = literal_default(context) {
        let text = node.scalar_text().unwrap_or_default();
        if !values.contains(&text) {
            let reason = format!("'{text}' is not one of {}", values.join(", "));
            invalid_default(context, node, &reason);
        }
    }
}

fn check_array(context: &mut CheckContext<'_>) {
    if let Some(node) = context.node.get("itemType")
        && node.as_str() == Some("ARRAY")
    {
        context.report(
            Code::InvalidInput,
            node.span.start,
            Some("itemType"),
            "`itemType` cannot be `ARRAY`",
        );
    }
}
