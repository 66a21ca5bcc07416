//! Turns the inputs given to an execution (text from a form or a command line, or typed JSON)
//! into typed values, applying defaults and each input type's rules, as Kestra does. The same
//! rules type a Pause task's `onResume` inputs.

use std::sync::LazyLock;

use peregrine_model::Duration;
use peregrine_model::flow::{Flow, Input, InputType};
use serde_json::{Map, Value};

/// An input that cannot be accepted, worded as Kestra words it: the input, the rule it breaks,
/// and the value received.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Invalid input for `{id}`, {message}, but received `{received}`")]
pub struct InputError {
    pub id: String,
    pub message: String,
    /// The value as given (`null` when missing).
    pub received: String,
}

/// Kestra's pattern for URI inputs: a scheme, `://`, a host with a dot, then a path.
static URI_PATTERN: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(
        r"^[a-z]+://(?:www\.)?[-a-zA-Z0-9@:%._+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b[-a-zA-Z0-9()@:%_+.~#?&/=]*$",
    )
    .ok()
});

/// Types every declared input of the flow; unknown given inputs are dropped, as Kestra does.
pub fn typed_inputs(
    flow: &Flow,
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<InputError>> {
    typed_values(&flow.inputs, given)
}

/// Types the values given for `declared` inputs (a flow's inputs, a Pause task's `onResume`
/// inputs). Dotted ids become nested objects (`nested.a` gives `{"nested": {"a": ...}}`); a
/// value is looked up under its dotted id, then along that path. An optional input without a
/// value is null.
pub fn typed_values(
    declared: &[Input],
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, Vec<InputError>> {
    let mut typed = Map::new();
    let mut errors = Vec::new();
    for input in declared {
        let id = input.id();
        let raw = lookup(given, id)
            .filter(|value| !value.is_null())
            .or(input.common.defaults.as_ref());
        let Some(raw) = raw.filter(|value| !value.is_null()) else {
            if input.is_required() {
                errors.push(InputError {
                    id: id.to_string(),
                    message: "missing required input".into(),
                    received: "null".into(),
                });
            } else {
                // Kestra keeps an optional input without a value as a null one.
                insert_nested(&mut typed, id, Value::Null);
            }
            continue;
        };
        match type_value(input, input.input_type, raw) {
            Ok(value) => insert_nested(&mut typed, id, value),
            Err(message) => errors.push(InputError {
                id: id.to_string(),
                message,
                received: text(raw),
            }),
        }
    }
    if errors.is_empty() {
        Ok(typed)
    } else {
        Err(errors)
    }
}

/// Keeps the given inputs as they are (no parsing, no checks) and adds the typed defaults of the
/// declared inputs that are missing: how executions started by a parent or a trigger get inputs.
pub fn with_defaults(flow: &Flow, given: Map<String, Value>) -> Map<String, Value> {
    let mut inputs = given;
    for input in &flow.inputs {
        let id = input.id();
        if lookup(&inputs, id).is_some_and(|value| !value.is_null()) {
            continue;
        }
        if let Some(default) = input
            .common
            .defaults
            .as_ref()
            .filter(|value| !value.is_null())
        {
            let value =
                type_value(input, input.input_type, default).unwrap_or_else(|_| default.clone());
            insert_nested(&mut inputs, id, value);
        }
    }
    inputs
}

/// True for the values a FILE input accepts: a `kestra:///` URI of a file in internal storage
/// (or Java's `kestra:/` form), or an `nsfile://` URI of a namespace file.
pub fn is_file_uri(text: &str) -> bool {
    if let Some(path) = text.strip_prefix("kestra:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        return path.len() > 1
            && path.starts_with('/')
            && !path.split('/').any(|segment| segment == "..");
    }
    text.strip_prefix("nsfile://")
        .is_some_and(|rest| !rest.trim_start_matches('/').is_empty())
}

/// The value under `id`, or along its dotted path in nested objects.
fn lookup<'a>(given: &'a Map<String, Value>, id: &str) -> Option<&'a Value> {
    if let Some(value) = given.get(id) {
        return Some(value);
    }
    let mut parts = id.split('.');
    let mut current = given.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// Inserts `value` along the dotted path `id`, creating the objects on the way.
fn insert_nested(map: &mut Map<String, Value>, id: &str, value: Value) {
    match id.split_once('.') {
        None => {
            map.insert(id.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                insert_nested(inner, rest, value);
            }
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn option_str<'a>(input: &'a Input, key: &str) -> Option<&'a str> {
    input.options.get(key).and_then(Value::as_str)
}

fn type_value(input: &Input, kind: InputType, raw: &Value) -> Result<Value, String> {
    let raw_text = text(raw);
    match kind {
        InputType::String | InputType::Secret => {
            if let Some(pattern) = option_str(input, "validator") {
                let regex = regex_lite(pattern)?;
                if !regex.is_match(&raw_text) {
                    return Err(format!("it must match the pattern `{pattern}`"));
                }
            }
            Ok(Value::String(raw_text))
        }
        InputType::Int => {
            let number: i64 = match raw {
                Value::Number(number) if number.is_i64() => number.as_i64().unwrap_or_default(),
                _ => raw_text
                    .trim()
                    .parse()
                    .map_err(|_| "expected an integer".to_string())?,
            };
            check_bounds(input, number as f64)?;
            Ok(Value::from(number))
        }
        InputType::Float => {
            let number: f64 = match raw {
                Value::Number(number) => number.as_f64().unwrap_or_default(),
                _ => raw_text
                    .trim()
                    .parse()
                    .map_err(|_| "expected a number".to_string())?,
            };
            check_bounds(input, number)?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| "not a finite number".to_string())
        }
        InputType::Boolean | InputType::Bool => Ok(Value::Bool(match raw {
            Value::Bool(flag) => *flag,
            _ => raw_text.trim().eq_ignore_ascii_case("true"),
        })),
        InputType::DateTime => {
            let parse = |text: &str| text.trim().parse::<jiff::Timestamp>().ok();
            let instant =
                parse(&raw_text).ok_or_else(|| "expected an ISO-8601 date-time".to_string())?;
            check_order(input, instant, parse, |instant| instant.to_string())?;
            Ok(Value::String(instant.to_string()))
        }
        InputType::Date => {
            let parse = |text: &str| text.trim().parse::<jiff::civil::Date>().ok();
            let date = parse(&raw_text).ok_or_else(|| "expected an ISO-8601 date".to_string())?;
            check_order(input, date, parse, |date| date.to_string())?;
            Ok(Value::String(date.to_string()))
        }
        InputType::Time => {
            let parse = |text: &str| text.trim().parse::<jiff::civil::Time>().ok();
            let time = parse(&raw_text).ok_or_else(|| "expected an ISO-8601 time".to_string())?;
            check_order(input, time, parse, java_time)?;
            Ok(Value::String(time.to_string()))
        }
        InputType::Duration => {
            let duration: Duration = raw_text
                .trim()
                .parse()
                .map_err(|error: peregrine_model::duration::DurationError| error.to_string())?;
            check_duration(input, duration)?;
            Ok(Value::String(duration.to_string()))
        }
        InputType::Json => match raw {
            Value::String(json) => {
                serde_json::from_str(json).map_err(|error| format!("invalid JSON: {error}"))
            }
            other => Ok(other.clone()),
        },
        InputType::Yaml => match raw {
            Value::String(yaml) => peregrine_model::yaml::load_document(yaml)
                .map(|document| document.root.to_json())
                .map_err(|error| format!("invalid YAML: {error}")),
            other => Ok(other.clone()),
        },
        InputType::Uri => {
            let valid = URI_PATTERN
                .as_ref()
                .is_some_and(|pattern| pattern.is_match(&raw_text));
            if valid {
                Ok(Value::String(raw_text))
            } else {
                Err(format!("Expected `URI` but received `{raw_text}`"))
            }
        }
        InputType::File => {
            if is_file_uri(&raw_text) {
                Ok(Value::String(raw_text))
            } else {
                Err("expected the kestra:/// URI of an uploaded file or an nsfile:// URI".into())
            }
        }
        InputType::Email => {
            let valid = raw_text
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
            if valid {
                Ok(Value::String(raw_text))
            } else {
                Err("expected an email address".to_string())
            }
        }
        InputType::Select | InputType::Enum => {
            let values = allowed_values(input);
            if !allows_custom(input) && !values.is_empty() && !values.contains(&raw_text) {
                return Err(format!(
                    "it must match the values `[{}]`",
                    values.join(", ")
                ));
            }
            Ok(Value::String(raw_text))
        }
        InputType::MultiSelect => {
            let items = as_list(raw)?;
            let values = allowed_values(input);
            for item in &items {
                if !allows_custom(input) && !values.is_empty() && !values.contains(&text(item)) {
                    return Err(format!(
                        "it must match the values `[{}]`",
                        values.join(", ")
                    ));
                }
            }
            Ok(Value::Array(items))
        }
        InputType::Array => {
            let items = as_list(raw)?;
            let item_type = input
                .options
                .get("itemType")
                .and_then(Value::as_str)
                .and_then(InputType::from_name)
                .unwrap_or(InputType::String);
            let typed: Result<Vec<Value>, String> = items
                .iter()
                .map(|item| {
                    type_value(input, item_type, item).map_err(|_| {
                        format!(
                            "Unable to parse array element as `{}` on `{}`",
                            item_type.name(),
                            text(item)
                        )
                    })
                })
                .collect();
            Ok(Value::Array(typed?))
        }
    }
}

fn allows_custom(input: &Input) -> bool {
    input
        .options
        .get("allowCustomValue")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn allowed_values(input: &Input) -> Vec<String> {
    ["values", "options"]
        .iter()
        .filter_map(|key| input.options.get(*key)?.as_array())
        .flatten()
        .map(text)
        .collect()
}

fn as_list(raw: &Value) -> Result<Vec<Value>, String> {
    match raw {
        Value::Array(items) => Ok(items.clone()),
        Value::String(json) => match serde_json::from_str::<Value>(json) {
            Ok(Value::Array(items)) => Ok(items),
            _ => Err("expected a JSON array".to_string()),
        },
        _ => Err("expected a list".to_string()),
    }
}

fn check_bounds(input: &Input, number: f64) -> Result<(), String> {
    if let Some(min) = input.options.get("min").and_then(Value::as_f64)
        && number < min
    {
        return Err(format!(
            "it must be more than `{}`",
            text(&input.options["min"])
        ));
    }
    if let Some(max) = input.options.get("max").and_then(Value::as_f64)
        && number > max
    {
        return Err(format!(
            "it must be less than `{}`",
            text(&input.options["max"])
        ));
    }
    Ok(())
}

/// Kestra's `after`/`before` rules of dates, date-times and times (a value equal to a bound
/// passes), the bound printed as Java prints it.
fn check_order<T: PartialOrd>(
    input: &Input,
    value: T,
    parse: impl Fn(&str) -> Option<T>,
    show: impl Fn(T) -> String,
) -> Result<(), String> {
    let bound = |key: &str| -> Result<Option<T>, String> {
        match input.options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(raw) => parse(&text(raw))
                .map(Some)
                .ok_or_else(|| format!("invalid `{key}` bound `{}`", text(raw))),
        }
    };
    if let Some(after) = bound("after")?
        && value < after
    {
        return Err(format!("it must be after `{}`", show(after)));
    }
    if let Some(before) = bound("before")?
        && value > before
    {
        return Err(format!("it must be before `{}`", show(before)));
    }
    Ok(())
}

fn check_duration(input: &Input, duration: Duration) -> Result<(), String> {
    let bound = |key: &str| -> Result<Option<Duration>, String> {
        match input.options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(raw) => text(raw)
                .trim()
                .parse::<Duration>()
                .map(Some)
                .map_err(|_| format!("invalid `{key}` bound `{}`", text(raw))),
        }
    };
    if let Some(min) = bound("min")?
        && duration < min
    {
        return Err(format!("It must be more than `{min}`"));
    }
    if let Some(max) = bound("max")?
        && duration > max
    {
        return Err(format!("It must be less than `{max}`"));
    }
    Ok(())
}

/// `java.time.LocalTime#toString`: seconds only when not zero (`01:00`, `11:59:59`).
fn java_time(time: jiff::civil::Time) -> String {
    let mut shown = format!("{:02}:{:02}", time.hour(), time.minute());
    let nanos = time.subsec_nanosecond();
    if time.second() != 0 || nanos != 0 {
        shown.push_str(&format!(":{:02}", time.second()));
    }
    if nanos != 0 {
        let digits = if nanos % 1_000_000 == 0 {
            format!("{:03}", nanos / 1_000_000)
        } else if nanos % 1_000 == 0 {
            format!("{:06}", nanos / 1_000)
        } else {
            format!("{nanos:09}")
        };
        shown.push('.');
        shown.push_str(&digits);
    }
    shown
}

/// Kestra matches validators against the whole value.
fn regex_lite(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|error| format!("invalid validator: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs(yaml: &str) -> Vec<Input> {
        let document = peregrine_model::yaml::load_document(yaml).expect("YAML");
        serde_json::from_value(document.root.to_json()).expect("inputs")
    }

    fn errors(declared: &[Input], given: Value) -> Vec<String> {
        let given = given.as_object().cloned().unwrap_or_default();
        match typed_values(declared, &given) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn file_inputs_take_internal_storage_or_namespace_file_uris() {
        let declared = inputs("- id: file\n  type: FILE\n");
        for good in [
            "kestra:///company/team/flow/executions/abc/inputs/file/data.csv",
            "kestra:/company/data.csv",
            "nsfile:///scripts/a.sh",
        ] {
            assert_eq!(
                errors(&declared, json!({ "file": good })),
                Vec::<String>::new()
            );
        }
        for bad in [
            "/etc/passwd",
            "data.csv",
            "https://example.com/a",
            "kestra://host/a",
            "kestra:///a/../b",
            "nsfile://",
        ] {
            let found = errors(&declared, json!({ "file": bad }));
            assert_eq!(found.len(), 1, "{bad}");
            assert!(
                found[0].starts_with("Invalid input for `file`, expected the kestra:/// URI"),
                "{found:?}"
            );
        }
    }

    #[test]
    fn errors_are_worded_like_kestra() {
        let declared = inputs(
            "- id: int\n  type: INT\n  min: 10\n- id: date\n  type: DATE\n  after: 2023-01-01\n  required: false\n- id: time\n  type: TIME\n  after: \"01:00:00\"\n  required: false\n- id: wait\n  type: DURATION\n  max: PT20S\n  required: false\n- id: array\n  type: ARRAY\n  itemType: INT\n  required: false\n- id: uri\n  type: URI\n  required: false\n",
        );
        let found = errors(
            &declared,
            json!({
                "int": "9", "date": "2022-01-01", "time": "00:00:01", "wait": "PT30S",
                "array": "[\"s1\", \"s2\"]", "uri": "http:/bla"
            }),
        );
        assert_eq!(
            found,
            [
                "Invalid input for `int`, it must be more than `10`, but received `9`",
                "Invalid input for `date`, it must be after `2023-01-01`, but received `2022-01-01`",
                "Invalid input for `time`, it must be after `01:00`, but received `00:00:01`",
                "Invalid input for `wait`, It must be less than `PT20S`, but received `PT30S`",
                "Invalid input for `array`, Unable to parse array element as `INT` on `s1`, but received `[\"s1\", \"s2\"]`",
                "Invalid input for `uri`, Expected `URI` but received `http:/bla`, but received `http:/bla`",
            ]
        );
        assert_eq!(
            errors(&declared, json!({})),
            ["Invalid input for `int`, missing required input, but received `null`"]
        );
    }

    #[test]
    fn dotted_ids_nest() {
        let declared = inputs(
            "- id: nested.string\n  type: STRING\n- id: nested.more.int\n  type: INT\n- id: plain\n  type: BOOLEAN\n  defaults: true\n",
        );
        let given = json!({ "nested.string": "a", "nested": { "more": { "int": "12" } } });
        let typed = typed_values(&declared, given.as_object().expect("a map")).expect("valid");
        assert_eq!(
            Value::Object(typed),
            json!({ "nested": { "string": "a", "more": { "int": 12 } }, "plain": true })
        );
        let optional = inputs("- id: maybe\n  type: STRING\n  required: false\n");
        let typed = typed_values(&optional, &Map::new()).expect("valid");
        assert_eq!(Value::Object(typed), json!({ "maybe": null }));
    }
}
