//! Runs every case of `tests/cases.yaml` through one `check` helper and
//! reports all failures at once.

use jiff::Timestamp;
use peregrine_expr::{Args, Context, Error, Host, Template, Variables, render_typed};
use serde_json::{Map, Value, json};

/// A fake runtime: `secret()` and `kv()` only.
struct TestHost;

impl Host for TestHost {
    fn call(&self, name: &str, args: &Args, _vars: &dyn Variables) -> Option<Result<Value, Error>> {
        match name {
            "secret" => {
                let key = args.get_str("key", 0).unwrap_or_default();
                Some(Ok(Value::String(format!("s3cr3t-{key}"))))
            }
            "kv" => {
                let key = args.get_str("key", 0).unwrap_or_default();
                if key == "nope" {
                    return Some(Err(Error::host(format!("key '{key}' not found"))));
                }
                let ns = args.get_str("namespace", 1).unwrap_or("default");
                Some(Ok(Value::String(format!("kv:{ns}/{key}"))))
            }
            _ => None,
        }
    }
}

fn load_fixture() -> Value {
    let text = include_str!("cases.yaml");
    let vars = json!({ "src": text });
    match render_typed("{{ yaml(src) }}", &Context::new(&vars)) {
        Ok(v) => v,
        Err(e) => json!({ "load_error": e.to_string() }),
    }
}

/// Runs one case; `Err` describes the mismatch.
fn check(case: &Value, defaults: &Map<String, Value>, now: Timestamp) -> Result<(), String> {
    let template = case
        .get("t")
        .and_then(Value::as_str)
        .ok_or("case without a 't' string")?;
    let flag = |k: &str| case.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut vars = if flag("only_ctx") {
        Map::new()
    } else {
        defaults.clone()
    };
    if let Some(Value::Object(extra)) = case.get("ctx") {
        for (k, v) in extra {
            vars.insert(k.clone(), v.clone());
        }
    }
    let vars = Value::Object(vars);
    let host = TestHost;
    let mut ctx = Context::new(&vars);
    if !flag("no_clock") {
        ctx = ctx.with_now(now);
    }
    if !flag("no_host") {
        ctx = ctx.with_host(&host);
    }
    let as_text = || Template::parse(template).and_then(|t| t.render(&ctx));
    if let Some(expected) = case.get("out") {
        let expected = expected.as_str().ok_or("'out' must be a string")?;
        return match as_text() {
            Ok(actual) if actual == expected => Ok(()),
            Ok(actual) => Err(format!("expected {expected:?}, got {actual:?}")),
            Err(e) => Err(format!("expected {expected:?}, got error: {e}")),
        };
    }
    if let Some(expected) = case.get("value") {
        return match render_typed(template, &ctx) {
            Ok(actual) if actual == *expected => Ok(()),
            Ok(actual) => Err(format!("expected value {expected}, got {actual}")),
            Err(e) => Err(format!("expected value {expected}, got error: {e}")),
        };
    }
    if let Some(expected) = case.get("err") {
        let expected = expected.as_str().ok_or("'err' must be a string")?;
        return match as_text() {
            Ok(actual) => Err(format!(
                "expected error containing {expected:?}, got {actual:?}"
            )),
            Err(e) if e.to_string().contains(expected) => Ok(()),
            Err(e) => Err(format!(
                "expected error containing {expected:?}, got error: {e}"
            )),
        };
    }
    Err("case has none of 'out', 'value', 'err'".to_owned())
}

#[test]
fn fixture_cases() {
    let fixture = load_fixture();
    assert!(
        fixture.get("load_error").is_none(),
        "fixture did not load: {fixture}"
    );
    let defaults = fixture
        .get("defaults")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let cases = fixture
        .get("cases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let now: Timestamp = "2024-01-15T10:30:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(why) = check(case, &defaults, now) {
            let t = case.get("t").and_then(Value::as_str).unwrap_or("?");
            failures.push(format!("#{i} {t:?}\n    {why}"));
        }
    }
    println!("{} cases, {} failed", cases.len(), failures.len());
    assert!(cases.len() >= 170, "only {} cases loaded", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
