//! The evaluator: renders nodes and evaluates expressions with Pebble's
//! strict-variables semantics (Kestra sets `strictVariables(true)`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::ast::{self, BinaryOp, Expr, ExprKind, Node, UnaryOp};
use crate::context::{Args, Context, Variables};
use crate::error::{Error, Pos, Result};
use crate::javafmt::{java_string, output};
use crate::value::{
    Num, arith, compare, contains, equals, numeric, ternary_truthy, to_num, truthy,
};
use crate::{filters, functions, methods, tests};

/// Maximum nesting of `render()` calls inside each other.
const MAX_RENDER_DEPTH: usize = 32;

/// Renders templates and evaluates expressions against a [`Context`].
pub(crate) struct Evaluator<'a> {
    pub(crate) ctx: Context<'a>,
    /// Template scopes (`set`, loops), innermost last; `scopes[0]` shadows
    /// the context variables.
    scopes: Vec<Map<String, Value>>,
    pub(crate) depth: usize,
    /// Re-emit `{% raw %}` tags around raw bodies (recursive `render()`).
    pub(crate) keep_raw: bool,
}

impl Variables for Evaluator<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.lookup(name)
    }
}

fn wrap(pos: Pos) -> impl Fn(String) -> Error {
    move |m| Error::eval(m, pos)
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(ctx: Context<'a>) -> Self {
        Self {
            ctx,
            scopes: vec![Map::new()],
            depth: 0,
            keep_raw: false,
        }
    }

    /// A child evaluator for `render()`: same variables, one level deeper.
    pub(crate) fn child(&self) -> Result<Evaluator<'a>, String> {
        if self.depth >= MAX_RENDER_DEPTH {
            return Err(format!(
                "render() calls are nested too deeply (more than {MAX_RENDER_DEPTH})"
            ));
        }
        Ok(Evaluator {
            ctx: self.ctx.clone(),
            scopes: self.scopes.clone(),
            depth: self.depth + 1,
            keep_raw: false,
        })
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.get(name))
            .or_else(|| self.ctx.vars.get(name))
    }

    /// All visible variables merged (for `printContext()`).
    pub(crate) fn all_vars(&self) -> Map<String, Value> {
        let mut out = self.ctx.vars.clone();
        for scope in &self.scopes {
            for (k, v) in scope {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    fn set(&mut self, name: &str, value: Value) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(slot) = scope.get_mut(name) {
                *slot = value;
                return;
            }
        }
        let target = if self.ctx.vars.contains_key(name) {
            0
        } else {
            self.scopes.len() - 1
        };
        if let Some(scope) = self.scopes.get_mut(target) {
            scope.insert(name.to_owned(), value);
        }
    }

    /// Renders nodes, appending to `out`.
    pub(crate) fn render(&mut self, nodes: &[Node], out: &mut String) -> Result<()> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Raw(t) if self.keep_raw => {
                    out.push_str("{% raw %}");
                    out.push_str(t);
                    out.push_str("{% endraw %}");
                }
                Node::Raw(t) => out.push_str(t),
                Node::Print(e) => {
                    let v = self.eval(e)?;
                    output(&v, out);
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut taken = false;
                    for (cond, body) in branches {
                        let v = self.eval(cond)?;
                        if truthy(&v, "if statement").map_err(wrap(cond.pos))? {
                            self.render(body, out)?;
                            taken = true;
                            break;
                        }
                    }
                    if !taken {
                        self.render(otherwise, out)?;
                    }
                }
                Node::For {
                    key,
                    value,
                    iterable,
                    body,
                    otherwise,
                } => self.render_for(key.as_deref(), value, iterable, body, otherwise, out)?,
                Node::Set { name, value } => {
                    let v = self.eval(value)?.into_owned();
                    self.set(name, v);
                }
                Node::Filter {
                    filters: chain,
                    body,
                } => {
                    let mut inner = String::new();
                    self.render(body, &mut inner)?;
                    let mut v = Value::String(inner);
                    for (name, args, pos) in chain {
                        let args = self.eval_args(args)?;
                        v = filters::apply(self, name, &v, &args, *pos)?;
                    }
                    output(&v, out);
                }
            }
        }
        Ok(())
    }

    fn render_for(
        &mut self,
        key: Option<&str>,
        value: &str,
        iterable: &Expr,
        body: &[Node],
        otherwise: &[Node],
        out: &mut String,
    ) -> Result<()> {
        let items = self.eval(iterable)?.into_owned();
        let entries: Vec<(Value, Value)> = match items {
            Value::Null => return Ok(()),
            Value::Array(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| {
                    if key.is_some() {
                        (Value::String(k), v)
                    } else {
                        let mut entry = Map::new();
                        entry.insert("key".into(), Value::String(k.clone()));
                        entry.insert("value".into(), v);
                        (Value::String(k), Value::Object(entry))
                    }
                })
                .collect(),
            other => {
                return Err(Error::eval(
                    format!(
                        "not an iterable object: {}",
                        crate::value::type_name(&other)
                    ),
                    iterable.pos,
                ));
            }
        };
        if entries.is_empty() {
            return self.render(otherwise, out);
        }
        let length = entries.len();
        self.scopes.push(Map::new());
        let mut result = Ok(());
        for (index, (k, v)) in entries.into_iter().enumerate() {
            let mut lp = Map::new();
            lp.insert("index".into(), Value::from(index));
            lp.insert("revindex".into(), Value::from(length - index - 1));
            lp.insert("first".into(), Value::Bool(index == 0));
            lp.insert("last".into(), Value::Bool(index + 1 == length));
            lp.insert("length".into(), Value::from(length));
            if let Some(scope) = self.scopes.last_mut() {
                scope.insert("loop".into(), Value::Object(lp));
                if let Some(key) = key {
                    scope.insert(key.to_owned(), k);
                }
                scope.insert(value.to_owned(), v);
            }
            result = self.render(body, out);
            if result.is_err() {
                break;
            }
        }
        self.scopes.pop();
        result
    }

    pub(crate) fn eval_args(&self, args: &ast::Args) -> Result<Args> {
        let mut out = Args::default();
        for e in &args.positional {
            out.positional.push(self.eval(e)?.into_owned());
        }
        for (name, e) in &args.named {
            out.named.insert(name.clone(), self.eval(e)?.into_owned());
        }
        Ok(out)
    }

    /// Evaluates an expression; values read from the context are borrowed.
    pub(crate) fn eval<'s>(&'s self, e: &'s Expr) -> Result<Cow<'s, Value>> {
        match &e.kind {
            ExprKind::Literal(v) => Ok(Cow::Borrowed(v)),
            ExprKind::Var(name) => {
                self.lookup(name)
                    .map(Cow::Borrowed)
                    .ok_or_else(|| Error::UndefinedVariable {
                        name: name.clone(),
                        pos: e.pos,
                    })
            }
            ExprKind::Attr { target, key, .. } => {
                let t = self.eval(target)?;
                let k = self.eval(key)?;
                match t {
                    Cow::Borrowed(v) => attribute(v, &k, e, target).map(Cow::Borrowed),
                    Cow::Owned(v) => attribute(&v, &k, e, target).map(|x| Cow::Owned(x.clone())),
                }
            }
            ExprKind::Method { target, name, args } => {
                let t = self.eval(target)?;
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a)?.into_owned());
                }
                methods::call(&t, name, &values)
                    .map(Cow::Owned)
                    .map_err(wrap(e.pos))
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?.into_owned());
                }
                Ok(Cow::Owned(Value::Array(out)))
            }
            ExprKind::Map(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let key = self.eval(k)?;
                    let key = match key.as_ref() {
                        Value::String(s) => s.clone(),
                        other => java_string(other),
                    };
                    out.insert(key, self.eval(v)?.into_owned());
                }
                Ok(Cow::Owned(Value::Object(out)))
            }
            ExprKind::Interpolation(parts) => {
                let mut s = String::new();
                for p in parts {
                    let v = self.eval(p)?;
                    if !v.is_null() {
                        s.push_str(&java_string(&v));
                    }
                }
                Ok(Cow::Owned(Value::String(s)))
            }
            ExprKind::Unary(op, operand) => self.unary(*op, operand, e.pos).map(Cow::Owned),
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, e.pos),
            ExprKind::Test {
                target,
                name,
                args,
                negate,
            } => {
                let input = if name == "defined" {
                    self.eval_or_null(target)?
                } else {
                    self.eval(target)?
                };
                let args = self.eval_args(args)?;
                let result = tests::apply(name, &input, &args).map_err(wrap(e.pos))?;
                Ok(Cow::Owned(Value::Bool(result != *negate)))
            }
            ExprKind::Filter { target, name, args } => {
                let input = if name == "default" {
                    self.eval_or_null(target)?
                } else {
                    self.eval(target)?
                };
                let args = self.eval_args(args)?;
                filters::apply(self, name, &input, &args, e.pos).map(Cow::Owned)
            }
            ExprKind::Call { name, args } => {
                functions::call(self, name, args, e.pos).map(Cow::Owned)
            }
            ExprKind::Ternary(c, a, b) => {
                let cond = self.eval(c)?;
                if ternary_truthy(&cond) {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
        }
    }

    /// Evaluates, turning "undefined" errors into `null`.
    fn eval_or_null<'s>(&'s self, e: &'s Expr) -> Result<Cow<'s, Value>> {
        match self.eval(e) {
            Err(err) if err.is_undefined() => Ok(Cow::Owned(Value::Null)),
            other => other,
        }
    }

    fn unary(&self, op: UnaryOp, operand: &Expr, pos: Pos) -> Result<Value> {
        let v = self.eval(operand)?;
        match op {
            UnaryOp::Not => {
                let b = truthy(&v, "'not' operator").map_err(wrap(pos))?;
                Ok(Value::Bool(!b))
            }
            UnaryOp::Neg => {
                let n = to_num(&v).map_err(wrap(pos))?;
                numeric(BinaryOp::Mul, Num::Int(-1), n)
                    .and_then(Num::into_value)
                    .map_err(wrap(pos))
            }
            UnaryOp::Plus => to_num(&v).and_then(Num::into_value).map_err(wrap(pos)),
        }
    }

    fn binary<'s>(
        &'s self,
        op: BinaryOp,
        l: &'s Expr,
        r: &'s Expr,
        pos: Pos,
    ) -> Result<Cow<'s, Value>> {
        let owned = |v: Value| Ok(Cow::Owned(v));
        match op {
            BinaryOp::Or | BinaryOp::And => {
                let name = if op == BinaryOp::Or { "'or'" } else { "'and'" };
                let what = format!("{name} operator");
                let left = truthy(self.eval(l)?.as_ref(), &what).map_err(wrap(l.pos))?;
                if (op == BinaryOp::Or) == left {
                    return owned(Value::Bool(left));
                }
                let right = truthy(self.eval(r)?.as_ref(), &what).map_err(wrap(r.pos))?;
                owned(Value::Bool(right))
            }
            BinaryOp::NullCoalesce => match self.eval(l) {
                Ok(v) if !v.is_null() => Ok(v),
                Ok(_) => self.eval(r),
                Err(e) if e.is_undefined() => self.eval(r),
                Err(e) => Err(e),
            },
            BinaryOp::UndefinedCoalesce => match self.eval(l) {
                Err(e) if e.is_undefined() => self.eval(r),
                other => other,
            },
            _ => {
                let a = self.eval(l)?;
                let b = self.eval(r)?;
                let v = match op {
                    BinaryOp::Contains => Value::Bool(contains(&a, &b).map_err(wrap(pos))?),
                    BinaryOp::In => Value::Bool(contains(&b, &a).map_err(wrap(pos))?),
                    BinaryOp::NotIn => Value::Bool(!contains(&b, &a).map_err(wrap(pos))?),
                    BinaryOp::Eq => Value::Bool(equals(&a, &b)),
                    BinaryOp::Ne => Value::Bool(!equals(&a, &b)),
                    BinaryOp::Lt | BinaryOp::Gt | BinaryOp::Le | BinaryOp::Ge => {
                        Value::Bool(compare(op, &a, &b).map_err(wrap(pos))?)
                    }
                    BinaryOp::Concat => {
                        let mut s = String::new();
                        for v in [&a, &b] {
                            if !v.is_null() {
                                s.push_str(&java_string(v));
                            }
                        }
                        Value::String(s)
                    }
                    BinaryOp::Range => {
                        functions::range(&a, &b, &Value::from(1)).map_err(wrap(pos))?
                    }
                    _ => arith(op, &a, &b).map_err(wrap(pos))?,
                };
                owned(v)
            }
        }
    }
}

/// Reads `key` out of `target` (strict variables).
fn attribute<'v>(
    target: &'v Value,
    key: &Value,
    e: &Expr,
    target_expr: &Expr,
) -> Result<&'v Value> {
    let key_text = match key {
        Value::String(s) => s.clone(),
        other => java_string(other),
    };
    match target {
        Value::Null => Err(Error::NullAttribute {
            key: key_text,
            path: target_expr.path(),
            pos: e.pos,
        }),
        Value::Object(map) => map.get(&key_text).ok_or_else(|| Error::MissingKey {
            key: key_text,
            path: e.path(),
            pos: e.pos,
        }),
        Value::Array(list) => {
            let index = match key {
                Value::Number(_) => crate::value::as_int(key),
                Value::String(s) => s.parse::<i64>().ok(),
                _ => None,
            };
            let Some(index) = index else {
                return Err(Error::MissingKey {
                    key: key_text,
                    path: e.path(),
                    pos: e.pos,
                });
            };
            usize::try_from(index)
                .ok()
                .and_then(|i| list.get(i))
                .ok_or_else(|| Error::IndexOutOfBounds {
                    index: key_text,
                    len: list.len(),
                    path: e.path(),
                    pos: e.pos,
                })
        }
        _ => Err(Error::MissingKey {
            key: key_text,
            path: e.path(),
            pos: e.pos,
        }),
    }
}
