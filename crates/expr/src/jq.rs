//! The `jq` filter, backed by jaq (jq-compatible, pure Rust).

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::{Val, read};
use serde_json::Value;

/// At most this many results are collected (guards against `repeat`).
const MAX_RESULTS: usize = 100_000;

/// Runs the jq program `code` on `input`, returning every output.
pub fn run(code: &str, input: &Value) -> Result<Vec<Value>, String> {
    let text = serde_json::to_string(input).map_err(|e| e.to_string())?;
    let input = read::parse_single(text.as_bytes()).map_err(|e| format!("invalid input: {e}"))?;
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let program = File { code, path: () };
    let modules = loader
        .load(&arena, program)
        .map_err(|errs| format!("invalid jq expression '{code}': {}", describe(&errs)))?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| format!("invalid jq expression '{code}': {}", describe(&errs)))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for result in filter.id.run((ctx, input)).map(unwrap_valr) {
        let v = result.map_err(|e| format!("failed to resolve jq expression '{code}': {e}"))?;
        let json = v.to_string();
        let value: Value = serde_json::from_str(&json).unwrap_or(Value::String(json));
        out.push(value);
        if out.len() > MAX_RESULTS {
            return Err(format!(
                "jq expression '{code}' produced more than {MAX_RESULTS} results"
            ));
        }
    }
    Ok(out)
}

fn describe<T: std::fmt::Debug>(errs: &T) -> String {
    let text = format!("{errs:?}");
    if text.len() > 300 {
        format!(
            "{}…",
            &text[..text
                .char_indices()
                .nth(300)
                .map(|c| c.0)
                .unwrap_or(text.len())]
        )
    } else {
        text
    }
}
