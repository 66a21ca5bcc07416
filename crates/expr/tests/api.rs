//! Public API checks beyond the fixture: host variables, value trees,
//! syntax validation, template reuse.

use peregrine_expr::{
    Args, Context, Error, Host, Template, Variables, contains_expression, render,
    render_value_tree, validate_syntax,
};
use serde_json::{Value, json};

struct NsHost;

impl Host for NsHost {
    fn call(&self, name: &str, _args: &Args, vars: &dyn Variables) -> Option<Result<Value, Error>> {
        (name == "fileURI").then(|| {
            let ns = vars
                .get("flow")
                .and_then(|f| f.get("namespace"))
                .and_then(Value::as_str)
                .ok_or_else(|| Error::host("no flow.namespace"))?;
            Ok(Value::String(format!("kestra:///{ns}")))
        })
    }
}

#[test]
fn host_sees_template_variables() {
    let vars = json!({"flow": {"namespace": "company.team"}});
    let host = NsHost;
    let ctx = Context::new(&vars).with_host(&host);
    let t = Template::parse("{{ fileURI('x') }}");
    assert_eq!(
        t.and_then(|t| t.render(&ctx)).ok().as_deref(),
        Some("kestra:///company.team")
    );
    let shadowed = Template::parse("{% set flow = {'namespace': 'other'} %}{{ fileURI('x') }}")
        .and_then(|t| t.render(&ctx));
    assert_eq!(shadowed.ok().as_deref(), Some("kestra:///other"));
}

#[test]
fn value_tree_renders_keys_and_values() {
    let vars = json!({"k": "key", "v": 2});
    let tree = json!({"{{ k }}": ["{{ v + 1 }}", 5, {"x": "{{ k | upper }}"}], "plain": true});
    let out = render_value_tree(&tree, &Context::new(&vars));
    assert_eq!(
        out.ok(),
        Some(json!({"key": ["3", 5, {"x": "KEY"}], "plain": true}))
    );
}

#[test]
fn syntax_checks_and_reuse() {
    assert!(validate_syntax("{{ a | upper }} {% if b %}x{% endif %}").is_ok());
    let err = validate_syntax("ok\n{% if b %}x");
    assert!(matches!(err, Err(Error::Syntax { .. })), "{err:?}");
    assert!(contains_expression("a {{ b }}"));
    assert!(!contains_expression("a { b }"));
    let t = Template::parse("{{ x * 2 }}");
    for i in 0..3 {
        let vars = json!({ "x": i });
        let out = t.as_ref().ok().map(|t| t.render(&Context::new(&vars)));
        assert_eq!(out.and_then(Result::ok), Some((i * 2).to_string()));
    }
    assert_eq!(
        render("no delimiters", &json!({})).ok().as_deref(),
        Some("no delimiters")
    );
}

#[test]
fn undefined_errors_are_classified() {
    let e = render("{{ a.b }}", &json!({"a": {}}));
    assert!(e.as_ref().is_err_and(Error::is_undefined), "{e:?}");
    let e = render("{{ 1 / 0 }}", &json!({}));
    assert!(e.as_ref().is_err_and(|e| !e.is_undefined()), "{e:?}");
}
