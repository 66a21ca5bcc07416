//! Parser: tokens to [`Node`]s, with Pebble's operator precedence.
//!
//! Precedences (higher binds tighter), from Pebble's `CoreExtension` plus
//! Kestra's `??`/`???`: `or` 10, `and` 15, `is`/`is not`/`contains`/`in`
//! 20, comparisons 30, `+ -` 40, `* / %` 60, `|` 100, `~` 110, `..` `??`
//! `???` 120, unary `not + -` 500. The ternary `?:` is only parsed at the
//! top of an expression (Pebble's `minPrecedence == 0`).

use serde_json::Value;

use crate::ast::{Args, BinaryOp, Expr, ExprKind, Node, UnaryOp};
use crate::error::{Error, Pos, Result};
use crate::lexer::{Tok, Token};

const UNARY_PRECEDENCE: u16 = 500;

/// Parses a token stream into template nodes.
pub(crate) fn parse(tokens: Vec<Token>) -> Result<Vec<Node>> {
    let mut p = Parser { tokens, i: 0 };
    let (nodes, end) = p.body(&[])?;
    if let Some((tag, pos)) = end {
        return Err(Error::syntax(format!("unexpected tag '{tag}'"), pos));
    }
    Ok(nodes)
}

/// The tag that ended a body, with its position.
type Stop = (String, Pos);

struct Parser {
    tokens: Vec<Token>,
    i: usize,
}

fn binary_op(tok: &Tok) -> Option<(BinaryOp, u16)> {
    let Tok::Op(op) = tok else { return None };
    Some(match *op {
        "or" => (BinaryOp::Or, 10),
        "and" => (BinaryOp::And, 15),
        "contains" => (BinaryOp::Contains, 20),
        "in" => (BinaryOp::In, 20),
        "not in" => (BinaryOp::NotIn, 20),
        "==" | "equals" => (BinaryOp::Eq, 30),
        "!=" => (BinaryOp::Ne, 30),
        "<" => (BinaryOp::Lt, 30),
        ">" => (BinaryOp::Gt, 30),
        "<=" => (BinaryOp::Le, 30),
        ">=" => (BinaryOp::Ge, 30),
        "+" => (BinaryOp::Add, 40),
        "-" => (BinaryOp::Sub, 40),
        "*" => (BinaryOp::Mul, 60),
        "/" => (BinaryOp::Div, 60),
        "%" => (BinaryOp::Mod, 60),
        "~" => (BinaryOp::Concat, 110),
        ".." => (BinaryOp::Range, 120),
        "??" => (BinaryOp::NullCoalesce, 120),
        "???" => (BinaryOp::UndefinedCoalesce, 120),
        _ => return None,
    })
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Text(_) | Tok::Raw(_) => "text".into(),
        Tok::PrintOpen => "'{{'".into(),
        Tok::PrintClose => "'}}'".into(),
        Tok::TagOpen => "'{%'".into(),
        Tok::TagClose => "'%}'".into(),
        Tok::Name(n) => format!("name '{n}'"),
        Tok::Int(n) => format!("number {n}"),
        Tok::Float(n) => format!("number {n}"),
        Tok::StrStart | Tok::Str(_) | Tok::StrEnd => "string".into(),
        Tok::InterpOpen => "'#{'".into(),
        Tok::InterpClose => "'}'".into(),
        Tok::Op(o) => format!("operator '{o}'"),
        Tok::Punct(c) => format!("'{c}'"),
        Tok::Eof => "end of template".into(),
    }
}

impl Parser {
    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.i.min(last)]
    }

    fn peek_at(&self, n: usize) -> &Tok {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.i + n).min(last)].tok
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        t
    }

    fn unexpected<T>(&self, expected: &str) -> Result<T> {
        let t = self.peek();
        Err(Error::syntax(
            format!("unexpected {}, expected {expected}", describe(&t.tok)),
            t.pos,
        ))
    }

    fn expect_punct(&mut self, c: char) -> Result<Pos> {
        if self.peek().tok == Tok::Punct(c) {
            Ok(self.next().pos)
        } else {
            self.unexpected(&format!("'{c}'"))
        }
    }

    fn expect_name(&mut self) -> Result<(String, Pos)> {
        match self.peek().tok.clone() {
            Tok::Name(n) => {
                let pos = self.next().pos;
                Ok((n, pos))
            }
            _ => self.unexpected("a name"),
        }
    }

    fn expect_tag_close(&mut self) -> Result<()> {
        if self.peek().tok == Tok::TagClose {
            self.next();
            Ok(())
        } else {
            self.unexpected("'%}'")
        }
    }

    /// Parses nodes until one of the `stop` tags (returned with its position)
    /// or the end of the template.
    fn body(&mut self, stop: &[&str]) -> Result<(Vec<Node>, Option<Stop>)> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok((nodes, None)),
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Raw(s) => nodes.push(Node::Raw(s)),
                Tok::PrintOpen => {
                    let e = self.expr()?;
                    if self.peek().tok != Tok::PrintClose {
                        return self.unexpected("'}}'");
                    }
                    self.next();
                    nodes.push(Node::Print(e));
                }
                Tok::TagOpen => {
                    let (name, pos) = self.expect_name()?;
                    if stop.contains(&name.as_str()) {
                        return Ok((nodes, Some((name, pos))));
                    }
                    nodes.push(self.tag(&name, pos)?);
                }
                other => {
                    return Err(Error::syntax(
                        format!("unexpected {}", describe(&other)),
                        t.pos,
                    ));
                }
            }
        }
    }

    fn block_end(&self, end: Option<(String, Pos)>, tag: &str, pos: Pos) -> Result<(String, Pos)> {
        end.ok_or_else(|| {
            Error::syntax(
                format!("missing end of '{tag}' block opened here (expected '{{% end{tag} %}}')"),
                pos,
            )
        })
    }

    fn tag(&mut self, name: &str, pos: Pos) -> Result<Node> {
        match name {
            "if" => self.if_tag(pos),
            "for" => self.for_tag(pos),
            "set" => {
                let (var, _) = self.expect_name()?;
                if matches!(var.as_str(), "true" | "false" | "null" | "none") {
                    return Err(Error::syntax(
                        format!("cannot assign a value to {var}"),
                        pos,
                    ));
                }
                self.expect_punct('=')?;
                let value = self.expr()?;
                self.expect_tag_close()?;
                Ok(Node::Set { name: var, value })
            }
            "filter" => {
                let mut filters = Vec::new();
                loop {
                    let (fname, fpos) = self.expect_name()?;
                    let args = if self.peek().tok == Tok::Punct('(') {
                        self.args()?
                    } else {
                        Args::default()
                    };
                    filters.push((fname, args, fpos));
                    if self.peek().tok == Tok::Op("|") {
                        self.next();
                    } else {
                        break;
                    }
                }
                self.expect_tag_close()?;
                let (body, end) = self.body(&["endfilter"])?;
                self.block_end(end, "filter", pos)?;
                self.expect_tag_close()?;
                Ok(Node::Filter { filters, body })
            }
            "endif" | "endfor" | "else" | "elseif" | "endfilter" | "endraw" | "endverbatim" => {
                Err(Error::syntax(format!("unexpected tag '{name}'"), pos))
            }
            _ => Err(Error::syntax(format!("unknown tag '{name}'"), pos)),
        }
    }

    fn if_tag(&mut self, pos: Pos) -> Result<Node> {
        let mut branches = Vec::new();
        let mut cond = self.expr()?;
        self.expect_tag_close()?;
        loop {
            let (body, end) = self.body(&["elseif", "else", "endif"])?;
            let (tag, _) = self.block_end(end, "if", pos)?;
            branches.push((cond, body));
            match tag.as_str() {
                "elseif" => {
                    cond = self.expr()?;
                    self.expect_tag_close()?;
                }
                "else" => {
                    self.expect_tag_close()?;
                    let (otherwise, end) = self.body(&["endif"])?;
                    self.block_end(end, "if", pos)?;
                    self.expect_tag_close()?;
                    return Ok(Node::If {
                        branches,
                        otherwise,
                    });
                }
                _ => {
                    self.expect_tag_close()?;
                    return Ok(Node::If {
                        branches,
                        otherwise: Vec::new(),
                    });
                }
            }
        }
    }

    fn for_tag(&mut self, pos: Pos) -> Result<Node> {
        let (first, _) = self.expect_name()?;
        let (key, value) = if self.peek().tok == Tok::Punct(',') {
            self.next();
            let (second, _) = self.expect_name()?;
            (Some(first), second)
        } else {
            (None, first)
        };
        match &self.peek().tok {
            Tok::Op("in") => {
                self.next();
            }
            Tok::Name(n) if n == "in" => {
                self.next();
            }
            _ => return self.unexpected("'in'"),
        }
        let iterable = self.expr()?;
        self.expect_tag_close()?;
        let (body, end) = self.body(&["else", "endfor"])?;
        let (tag, _) = self.block_end(end, "for", pos)?;
        self.expect_tag_close()?;
        let otherwise = if tag == "else" {
            let (otherwise, end) = self.body(&["endfor"])?;
            self.block_end(end, "for", pos)?;
            self.expect_tag_close()?;
            otherwise
        } else {
            Vec::new()
        };
        Ok(Node::For {
            key,
            value,
            iterable,
            body,
            otherwise,
        })
    }

    /// A full expression (with ternary).
    fn expr(&mut self) -> Result<Expr> {
        self.expr_prec(0)
    }

    fn expr_prec(&mut self, min: u16) -> Result<Expr> {
        let start = self.peek().clone();
        let mut left = match &start.tok {
            Tok::Op(op @ ("not" | "-" | "+")) => {
                let op = match *op {
                    "not" => UnaryOp::Not,
                    "-" => UnaryOp::Neg,
                    _ => UnaryOp::Plus,
                };
                self.next();
                let operand = self.expr_prec(UNARY_PRECEDENCE)?;
                Expr {
                    kind: ExprKind::Unary(op, Box::new(operand)),
                    pos: start.pos,
                }
            }
            _ => self.primary()?,
        };
        loop {
            let t = self.peek().clone();
            if t.tok == Tok::Op("|") {
                if 100 < min {
                    break;
                }
                self.next();
                let (name, pos) = self.expect_name()?;
                let args = if self.peek().tok == Tok::Punct('(') {
                    self.args()?
                } else {
                    Args::default()
                };
                left = Expr {
                    kind: ExprKind::Filter {
                        target: Box::new(left),
                        name,
                        args,
                    },
                    pos,
                };
                continue;
            }
            if let Tok::Op(op @ ("is" | "is not")) = t.tok {
                if 20 < min {
                    break;
                }
                self.next();
                let (name, pos) = match self.peek().tok.clone() {
                    Tok::Name(n) => (n, self.next().pos),
                    _ => return self.unexpected("a test name"),
                };
                let args = if self.peek().tok == Tok::Punct('(') {
                    self.args()?
                } else {
                    Args::default()
                };
                left = Expr {
                    kind: ExprKind::Test {
                        target: Box::new(left),
                        name,
                        args,
                        negate: op == "is not",
                    },
                    pos,
                };
                continue;
            }
            let Some((op, prec)) = binary_op(&t.tok) else {
                break;
            };
            if prec < min {
                break;
            }
            self.next();
            let right = self.expr_prec(prec + 1)?;
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                pos: t.pos,
            };
        }
        if min == 0 && self.peek().tok == Tok::Punct('?') {
            let pos = self.next().pos;
            let then = self.expr()?;
            self.expect_punct(':')?;
            let otherwise = self.expr()?;
            left = Expr {
                kind: ExprKind::Ternary(Box::new(left), Box::new(then), Box::new(otherwise)),
                pos,
            };
        }
        Ok(left)
    }

    fn primary(&mut self) -> Result<Expr> {
        let t = self.next();
        let pos = t.pos;
        let node = match t.tok {
            Tok::Punct('(') => {
                let e = self.expr()?;
                self.expect_punct(')')?;
                e
            }
            Tok::Punct('[') => {
                let mut items = Vec::new();
                if self.peek().tok != Tok::Punct(']') {
                    loop {
                        items.push(self.expr()?);
                        if self.peek().tok == Tok::Punct(',') {
                            self.next();
                            continue;
                        }
                        break;
                    }
                }
                self.expect_punct(']')?;
                Expr {
                    kind: ExprKind::List(items),
                    pos,
                }
            }
            Tok::Punct('{') => {
                let mut entries = Vec::new();
                if self.peek().tok != Tok::Punct('}') {
                    loop {
                        let k = self.expr()?;
                        self.expect_punct(':')?;
                        let v = self.expr()?;
                        entries.push((k, v));
                        if self.peek().tok == Tok::Punct(',') {
                            self.next();
                            continue;
                        }
                        break;
                    }
                }
                self.expect_punct('}')?;
                Expr {
                    kind: ExprKind::Map(entries),
                    pos,
                }
            }
            Tok::Name(name) => {
                let lit = match name.as_str() {
                    "true" | "TRUE" => Some(Value::Bool(true)),
                    "false" | "FALSE" => Some(Value::Bool(false)),
                    "null" | "NULL" | "none" | "NONE" => Some(Value::Null),
                    _ => None,
                };
                if let Some(v) = lit {
                    Expr {
                        kind: ExprKind::Literal(v),
                        pos,
                    }
                } else if self.peek().tok == Tok::Punct('(') {
                    let args = self.args()?;
                    Expr {
                        kind: ExprKind::Call { name, args },
                        pos,
                    }
                } else {
                    Expr {
                        kind: ExprKind::Var(name),
                        pos,
                    }
                }
            }
            Tok::Int(n) => Expr {
                kind: ExprKind::Literal(Value::from(n)),
                pos,
            },
            Tok::Float(f) => Expr {
                kind: ExprKind::Literal(Value::from(f)),
                pos,
            },
            Tok::StrStart => self.string(pos)?,
            other => {
                return Err(Error::syntax(
                    format!("unexpected {}", describe(&other)),
                    pos,
                ));
            }
        };
        self.postfix(node)
    }

    fn string(&mut self, pos: Pos) -> Result<Expr> {
        let mut parts: Vec<Expr> = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Str(s) => parts.push(Expr {
                    kind: ExprKind::Literal(Value::String(s)),
                    pos: t.pos,
                }),
                Tok::InterpOpen => {
                    let e = self.expr()?;
                    if self.peek().tok != Tok::InterpClose {
                        return self.unexpected("'}' closing the interpolation");
                    }
                    self.next();
                    parts.push(e);
                }
                Tok::StrEnd => break,
                other => {
                    return Err(Error::syntax(
                        format!("unexpected {} in string", describe(&other)),
                        t.pos,
                    ));
                }
            }
        }
        let all_literal = parts
            .iter()
            .all(|p| matches!(p.kind, ExprKind::Literal(Value::String(_))));
        if all_literal {
            let mut s = String::new();
            for p in &parts {
                if let ExprKind::Literal(Value::String(part)) = &p.kind {
                    s.push_str(part);
                }
            }
            return Ok(Expr {
                kind: ExprKind::Literal(Value::String(s)),
                pos,
            });
        }
        Ok(Expr {
            kind: ExprKind::Interpolation(parts),
            pos,
        })
    }

    fn postfix(&mut self, mut node: Expr) -> Result<Expr> {
        loop {
            match self.peek().tok {
                Tok::Punct('.') => {
                    self.next();
                    let t = self.next();
                    let key = match t.tok {
                        Tok::Name(n) => Value::String(n),
                        Tok::Int(n) => Value::from(n),
                        other => {
                            return Err(Error::syntax(
                                format!("unexpected {} after '.'", describe(&other)),
                                t.pos,
                            ));
                        }
                    };
                    if self.peek().tok == Tok::Punct('(') {
                        let name = match key {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        let args = self.args()?;
                        if !args.named.is_empty() {
                            return Err(Error::syntax(
                                "named arguments are not allowed when calling a method",
                                t.pos,
                            ));
                        }
                        node = Expr {
                            kind: ExprKind::Method {
                                target: Box::new(node),
                                name,
                                args: args.positional,
                            },
                            pos: t.pos,
                        };
                    } else {
                        node = Expr {
                            kind: ExprKind::Attr {
                                target: Box::new(node),
                                key: Box::new(Expr {
                                    kind: ExprKind::Literal(key),
                                    pos: t.pos,
                                }),
                                dot: true,
                            },
                            pos: t.pos,
                        };
                    }
                }
                Tok::Punct('[') => {
                    let pos = self.next().pos;
                    let key = self.expr()?;
                    self.expect_punct(']')?;
                    node = Expr {
                        kind: ExprKind::Attr {
                            target: Box::new(node),
                            key: Box::new(key),
                            dot: false,
                        },
                        pos,
                    };
                }
                Tok::Punct('(') => {
                    let pos = self.peek().pos;
                    return Err(Error::syntax("only named functions can be called", pos));
                }
                _ => return Ok(node),
            }
        }
    }

    fn args(&mut self) -> Result<Args> {
        self.expect_punct('(')?;
        let mut args = Args::default();
        while self.peek().tok != Tok::Punct(')') {
            if !args.positional.is_empty() || !args.named.is_empty() {
                self.expect_punct(',')?;
            }
            let named =
                matches!(self.peek().tok, Tok::Name(_)) && *self.peek_at(1) == Tok::Punct('=');
            if named {
                let (name, _) = self.expect_name()?;
                self.next();
                let value = self.expr()?;
                args.named.push((name, value));
            } else {
                let pos = self.peek().pos;
                let value = self.expr()?;
                if !args.named.is_empty() {
                    return Err(Error::syntax(
                        "positional arguments must be declared before any named arguments",
                        pos,
                    ));
                }
                args.positional.push(value);
            }
        }
        self.expect_punct(')')?;
        Ok(args)
    }
}
