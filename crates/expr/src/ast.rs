//! Syntax tree of a parsed template.

use serde_json::Value;

use crate::error::Pos;

/// A template node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text.
    Text(String),
    /// The body of a `{% raw %}` block (kept tagged during `render()` passes).
    Raw(String),
    /// `{{ expr }}`.
    Print(Expr),
    /// `{% if %}…{% elseif %}…{% else %}…{% endif %}`.
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    /// `{% for [key,] value in iterable %}…{% else %}…{% endfor %}`.
    For {
        key: Option<String>,
        value: String,
        iterable: Expr,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    /// `{% set name = value %}`.
    Set { name: String, value: Expr },
    /// `{% filter f1 | f2(args) %}…{% endfilter %}`.
    Filter {
        filters: Vec<(String, Args, Pos)>,
        body: Vec<Node>,
    },
}

/// An expression with the position of its first token.
#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub pos: Pos,
}

/// Call arguments, positional first then named.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    pub positional: Vec<Expr>,
    pub named: Vec<(String, Expr)>,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum UnaryOp {
    Not,
    Neg,
    Plus,
}

/// Binary operators (the filter and test operators have their own nodes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BinaryOp {
    Or,
    And,
    Contains,
    In,
    NotIn,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Range,
    NullCoalesce,
    UndefinedCoalesce,
}

/// Expression kinds.
#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    Literal(Value),
    Var(String),
    /// `target.key` (dot = true) or `target[key]`.
    Attr {
        target: Box<Expr>,
        key: Box<Expr>,
        dot: bool,
    },
    /// `target.name(args)`: a Java-like method call.
    Method {
        target: Box<Expr>,
        name: String,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    /// A double-quoted string with `#{}` interpolation.
    Interpolation(Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Test {
        target: Box<Expr>,
        name: String,
        args: Args,
        negate: bool,
    },
    Filter {
        target: Box<Expr>,
        name: String,
        args: Args,
    },
    Call {
        name: String,
        args: Args,
    },
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// A readable path such as `foo.bar[0]`, used in error messages.
    pub(crate) fn path(&self) -> String {
        match &self.kind {
            ExprKind::Var(n) => n.clone(),
            ExprKind::Attr { target, key, dot } => {
                let base = target.path();
                match (&key.kind, dot) {
                    (ExprKind::Literal(Value::String(s)), true) => format!("{base}.{s}"),
                    (ExprKind::Literal(Value::Number(n)), true) => format!("{base}.{n}"),
                    (ExprKind::Literal(Value::String(s)), false) => format!("{base}['{s}']"),
                    (ExprKind::Literal(v), false) => format!("{base}[{v}]"),
                    _ => format!("{base}[{}]", key.path()),
                }
            }
            ExprKind::Method { target, name, .. } => format!("{}.{name}()", target.path()),
            ExprKind::Call { name, .. } => format!("{name}()"),
            ExprKind::Literal(v) => v.to_string(),
            _ => "(expression)".to_owned(),
        }
    }
}
