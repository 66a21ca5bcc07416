//! Tokenizer: splits a template into text and expression tokens.
//!
//! Follows Pebble's `LexerImpl`: delimiters `{{ }}`, `{% %}`, `{# #}`,
//! whitespace control with `-` (a leading `-` must be followed by
//! whitespace, as in Pebble), operators matched before names, string
//! interpolation `#{…}` inside double-quoted strings, and bracket
//! tracking so that `}}` inside a map literal does not close the tag.
//! Kestra's `{% raw %}…{% endraw %}` and Pebble's `{% verbatim %}` are
//! turned into plain text here.

use crate::error::{Error, Pos, Result};
pub(crate) use crate::raw::strip_raw;
use crate::raw::{Verbatim, match_raw, match_tag_start, match_verbatim};

/// One token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    /// The body of a Kestra `{% raw %}…{% endraw %}` block.
    Raw(String),
    PrintOpen,
    PrintClose,
    TagOpen,
    TagClose,
    Name(String),
    Int(i64),
    Float(f64),
    /// Start of a string literal (`'` or `"`).
    StrStart,
    /// A literal chunk of a string.
    Str(String),
    /// `#{` inside a double-quoted string.
    InterpOpen,
    /// The `}` closing an interpolation.
    InterpClose,
    /// End of a string literal.
    StrEnd,
    Op(&'static str),
    Punct(char),
    Eof,
}

/// A token with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// Operators sorted longest first, as Pebble builds its operator regex.
const OPERATORS: &[&str] = &[
    "contains", "is not", "not in", "equals", "???", "and", "not", "or", "is", "in", "==", "!=",
    ">=", "<=", "..", "??", "+", "-", ">", "<", "*", "/", "%", "|", "~",
];

const PUNCTUATION: &str = "()[]{}?:.,|=";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Data,
    /// Inside `{{ }}` (print = true) or `{% %}`.
    Expr {
        print: bool,
        open: Pos,
    },
    /// Inside a double-quoted string.
    DStr {
        open: Pos,
    },
    /// Inside `#{ }` of a double-quoted string.
    Interp,
}

struct Lexer<'s> {
    src: &'s str,
    i: usize,
    line: u32,
    col: u32,
    tokens: Vec<Token>,
    modes: Vec<Mode>,
    /// Open brackets: the char and where it was opened (`#` for `#{`).
    brackets: Vec<(char, Pos)>,
    trim_next: bool,
}

/// Tokenizes a whole template.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>> {
    let mut lx = Lexer {
        src,
        i: 0,
        line: 1,
        col: 1,
        tokens: Vec::new(),
        modes: vec![Mode::Data],
        brackets: Vec::new(),
        trim_next: false,
    };
    while lx.i < src.len() {
        match lx.modes.last().copied().unwrap_or(Mode::Data) {
            Mode::Data => lx.data()?,
            Mode::Expr { print, open } => lx.expr_mode(print, open)?,
            Mode::DStr { open } => lx.dstr(open)?,
            Mode::Interp => lx.interp()?,
        }
    }
    match lx.modes.last().copied() {
        Some(Mode::Expr { print, open }) => {
            let d = if print { "{{" } else { "{%" };
            return Err(Error::syntax(format!("unclosed '{d}'"), open));
        }
        Some(Mode::DStr { open }) => {
            return Err(Error::syntax("unclosed string literal", open));
        }
        Some(Mode::Interp) => {
            let pos = lx.brackets.last().map(|b| b.1).unwrap_or(lx.pos());
            return Err(Error::syntax("unclosed '#{' in string", pos));
        }
        _ => {}
    }
    let pos = lx.pos();
    lx.tokens.push(Token { tok: Tok::Eof, pos });
    Ok(lx.tokens)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn java_ws(c: char) -> bool {
    c.is_whitespace()
}

impl<'s> Lexer<'s> {
    fn pos(&self) -> Pos {
        Pos::new(self.line, self.col)
    }

    fn rest(&self) -> &'s str {
        &self.src[self.i..]
    }

    fn advance(&mut self, n: usize) {
        let end = (self.i + n).min(self.src.len());
        for c in self.src[self.i..end].chars() {
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
        self.i = end;
    }

    fn push(&mut self, tok: Tok, pos: Pos) {
        self.tokens.push(Token { tok, pos });
    }

    fn push_text(&mut self, text: &str, pos: Pos) {
        if !text.is_empty() {
            self.push(Tok::Text(text.to_owned()), pos);
        }
    }

    /// Right-trims the previous text token (leading `-` of a delimiter).
    fn rtrim_previous_text(&mut self) {
        if let Some(Token {
            tok: Tok::Text(t), ..
        }) = self.tokens.last_mut()
        {
            let trimmed_len = t.trim_end_matches(java_ws).len();
            t.truncate(trimmed_len);
            if t.is_empty() {
                self.tokens.pop();
            }
        }
    }

    /// After an opening delimiter: `-` followed by whitespace trims.
    fn leading_trim(&mut self) {
        let r = self.rest();
        if let Some(after) = r.strip_prefix('-')
            && after.starts_with(java_ws)
        {
            let ws = after.len() - after.trim_start_matches(java_ws).len();
            self.advance(1 + ws);
            self.rtrim_previous_text();
        }
    }

    fn data(&mut self) -> Result<()> {
        let rest = self.rest();
        let found = find_open_delim(rest);
        let text_end = found.unwrap_or(rest.len());
        let mut text = &rest[..text_end];
        let text_pos = self.pos();
        if self.trim_next {
            text = text.trim_start_matches(java_ws);
            self.trim_next = false;
        }
        let text = text.to_owned();
        self.advance(text_end);
        self.push_text(&text, text_pos);
        if found.is_none() {
            return Ok(());
        }
        let open = self.pos();
        let delim = &self.rest()[..2];
        match delim {
            "{#" => self.comment(open),
            "{%" => {
                if let Some((len, body_start, body_end)) = match_raw(self.rest(), "raw", "endraw") {
                    // Kestra keeps the content verbatim and ignores `-`.
                    let body = self.rest()[body_start..body_end].to_owned();
                    self.advance(body_start);
                    let body_pos = self.pos();
                    self.advance(len - body_start);
                    self.push(Tok::Raw(body), body_pos);
                    return Ok(());
                }
                if let Some(v) = match_verbatim(self.rest()) {
                    return self.verbatim(v, open);
                }
                if match_tag_start(self.rest(), "raw") || match_tag_start(self.rest(), "verbatim") {
                    return Err(Error::syntax("unclosed raw block", open));
                }
                self.advance(2);
                self.leading_trim();
                self.push(Tok::TagOpen, open);
                self.modes.push(Mode::Expr { print: false, open });
                Ok(())
            }
            _ => {
                self.advance(2);
                self.leading_trim();
                self.push(Tok::PrintOpen, open);
                self.modes.push(Mode::Expr { print: true, open });
                Ok(())
            }
        }
    }

    fn comment(&mut self, open: Pos) -> Result<()> {
        self.advance(2);
        self.leading_trim();
        let rest = self.rest();
        let Some(end) = rest.find("#}") else {
            return Err(Error::syntax("unclosed comment", open));
        };
        if rest[..end].ends_with('-') {
            self.trim_next = true;
        }
        self.advance(end + 2);
        Ok(())
    }

    fn verbatim(&mut self, v: Verbatim, _open: Pos) -> Result<()> {
        let mut body = self.rest()[v.body_start..v.body_end].to_owned();
        if v.trim_body_start {
            body = body.trim_start_matches(java_ws).to_owned();
        }
        if v.trim_body_end {
            body = body.trim_end_matches(java_ws).to_owned();
        }
        self.advance(v.body_start);
        let pos = self.pos();
        self.advance(v.len - v.body_start);
        self.push_text(&body, pos);
        if v.trim_after {
            self.trim_next = true;
        }
        Ok(())
    }

    fn expr_mode(&mut self, print: bool, _open: Pos) -> Result<()> {
        self.skip_ws();
        if self.i >= self.src.len() {
            return Ok(());
        }
        if self.brackets.is_empty() {
            let close = if print { "}}" } else { "%}" };
            let r = self.rest();
            let (dash, ok) = if r.starts_with(close) {
                (false, true)
            } else if r.starts_with('-') && r[1..].starts_with(close) {
                (true, true)
            } else {
                (false, false)
            };
            if ok {
                let pos = self.pos();
                self.advance(close.len() + usize::from(dash));
                self.push(
                    if print {
                        Tok::PrintClose
                    } else {
                        Tok::TagClose
                    },
                    pos,
                );
                if dash {
                    self.trim_next = true;
                }
                self.modes.pop();
                return Ok(());
            }
        }
        self.expr_token()
    }

    fn interp(&mut self) -> Result<()> {
        self.skip_ws();
        if self.i >= self.src.len() {
            return Ok(());
        }
        if matches!(self.brackets.last(), Some(('#', _))) && self.rest().starts_with('}') {
            let pos = self.pos();
            self.brackets.pop();
            self.advance(1);
            self.push(Tok::InterpClose, pos);
            self.modes.pop();
            return Ok(());
        }
        self.expr_token()
    }

    fn dstr(&mut self, _open: Pos) -> Result<()> {
        let r = self.rest();
        if r.starts_with("#{") {
            let pos = self.pos();
            self.brackets.push(('#', pos));
            self.advance(2);
            self.push(Tok::InterpOpen, pos);
            self.modes.push(Mode::Interp);
            return Ok(());
        }
        if r.starts_with('"') {
            let pos = self.pos();
            self.advance(1);
            self.push(Tok::StrEnd, pos);
            self.modes.pop();
            return Ok(());
        }
        // A literal chunk up to `"` or `#{`; only `\"` is unescaped (Pebble).
        let pos = self.pos();
        let mut out = String::new();
        let mut chars = r.char_indices().peekable();
        let mut consumed = r.len();
        while let Some((idx, c)) = chars.next() {
            match c {
                '"' => {
                    consumed = idx;
                    break;
                }
                '#' if r[idx..].starts_with("#{") => {
                    consumed = idx;
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => out.push('"'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                },
                _ => out.push(c),
            }
        }
        self.advance(consumed);
        self.push(Tok::Str(out), pos);
        Ok(())
    }

    fn skip_ws(&mut self) {
        let r = self.rest();
        let n = r.len() - r.trim_start_matches(java_ws).len();
        self.advance(n);
    }

    fn expr_token(&mut self) -> Result<()> {
        let pos = self.pos();
        let r = self.rest();
        let after_dot = matches!(
            self.tokens.last(),
            Some(Token {
                tok: Tok::Punct('.'),
                ..
            })
        );
        if after_dot {
            // `a.0`, `a.or`: attribute names, never operators or floats.
            let digits = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 {
                let n: i64 = r[..digits]
                    .parse()
                    .map_err(|_| Error::syntax("integer attribute too large", pos))?;
                self.advance(digits);
                self.push(Tok::Int(n), pos);
                return Ok(());
            }
            if let Some(len) = ident_len(r) {
                let name = r[..len].to_owned();
                self.advance(len);
                self.push(Tok::Name(name), pos);
                return Ok(());
            }
        }
        if let Some((op, len)) = match_operator(r) {
            self.advance(len);
            self.push(Tok::Op(op), pos);
            return Ok(());
        }
        if let Some(len) = ident_len(r) {
            let name = r[..len].to_owned();
            self.advance(len);
            self.push(Tok::Name(name), pos);
            return Ok(());
        }
        let first = r.chars().next().unwrap_or(' ');
        if first.is_ascii_digit() {
            return self.number(pos);
        }
        if PUNCTUATION.contains(first) {
            match first {
                '(' | '[' | '{' => self.brackets.push((first, pos)),
                ')' | ']' | '}' => match self.brackets.pop() {
                    None => {
                        return Err(Error::syntax(format!("unexpected '{first}'"), pos));
                    }
                    Some((open, open_pos)) => {
                        let expected = match open {
                            '(' => ')',
                            '[' => ']',
                            '{' => '}',
                            _ => '}',
                        };
                        if expected != first || open == '#' {
                            return Err(Error::syntax(
                                format!(
                                    "unexpected '{first}', expected '{expected}' to close '{}' opened at {open_pos}",
                                    if open == '#' {
                                        "#{".to_owned()
                                    } else {
                                        open.to_string()
                                    }
                                ),
                                pos,
                            ));
                        }
                    }
                },
                _ => {}
            }
            self.advance(1);
            self.push(Tok::Punct(first), pos);
            return Ok(());
        }
        if first == '\'' {
            return self.single_quoted(pos);
        }
        if first == '"' {
            self.advance(1);
            self.push(Tok::StrStart, pos);
            self.modes.push(Mode::DStr { open: pos });
            return Ok(());
        }
        Err(Error::syntax(
            format!("unexpected character '{first}'"),
            pos,
        ))
    }

    fn number(&mut self, pos: Pos) -> Result<()> {
        let r = self.rest();
        let int_len = r.len() - r.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let digits = &r[..int_len];
        if r[int_len..].starts_with('L') {
            let n = parse_int(digits, pos)?;
            self.advance(int_len + 1);
            self.push(Tok::Int(n), pos);
            return Ok(());
        }
        let after = &r[int_len..];
        if let Some(frac) = after.strip_prefix('.') {
            let frac_len = frac.len() - frac.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if frac_len > 0 {
                let text = &r[..int_len + 1 + frac_len];
                let f: f64 = text
                    .parse()
                    .map_err(|_| Error::syntax(format!("invalid number '{text}'"), pos))?;
                self.advance(text.len());
                self.push(Tok::Float(f), pos);
                return Ok(());
            }
        }
        let n = parse_int(digits, pos)?;
        self.advance(int_len);
        self.push(Tok::Int(n), pos);
        Ok(())
    }

    fn single_quoted(&mut self, pos: Pos) -> Result<()> {
        let r = self.rest();
        let mut out = String::new();
        let mut chars = r.char_indices().skip(1);
        let mut end = None;
        while let Some((idx, c)) = chars.next() {
            match c {
                '\'' => {
                    end = Some(idx);
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, '\'')) => out.push('\''),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                },
                _ => out.push(c),
            }
        }
        let Some(end) = end else {
            return Err(Error::syntax("unclosed string literal", pos));
        };
        self.advance(end + 1);
        self.push(Tok::StrStart, pos);
        self.push(Tok::Str(out), pos);
        self.push(Tok::StrEnd, pos);
        Ok(())
    }
}

fn parse_int(digits: &str, pos: Pos) -> Result<i64> {
    digits
        .parse()
        .map_err(|_| Error::syntax(format!("integer literal '{digits}' is too large"), pos))
}

fn ident_len(r: &str) -> Option<usize> {
    let mut it = r.char_indices();
    let (_, c) = it.next()?;
    if !is_ident_start(c) {
        return None;
    }
    Some(
        it.find(|(_, c)| !is_ident_char(*c))
            .map(|(i, _)| i)
            .unwrap_or(r.len()),
    )
}

fn match_operator(r: &str) -> Option<(&'static str, usize)> {
    for &op in OPERATORS {
        let len = if let Some((a, b)) = op.split_once(' ') {
            // `is not`, `not in`: any whitespace between the words.
            let Some(after_a) = r.strip_prefix(a) else {
                continue;
            };
            let trimmed = after_a.trim_start_matches(java_ws);
            if trimmed.len() == after_a.len() {
                continue;
            }
            let Some(after_b) = trimmed.strip_prefix(b) else {
                continue;
            };
            r.len() - after_b.len()
        } else if r.starts_with(op) {
            op.len()
        } else {
            continue;
        };
        let last = op.chars().last().unwrap_or(' ');
        if last.is_alphabetic() && r[len..].chars().next().is_some_and(is_ident_char) {
            continue;
        }
        return Some((op, len));
    }
    None
}

/// Finds the next `{{`, `{%` or `{#`.
fn find_open_delim(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'{' && matches!(b[i + 1], b'{' | b'%' | b'#') {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s)
            .map(|t| t.into_iter().map(|t| t.tok).collect())
            .unwrap_or_default()
    }

    #[test]
    fn operators_are_longest_first() {
        assert_eq!(
            kinds("{{ a ??? b }}")[2],
            Tok::Op("???"),
            "??? must win over ??"
        );
        assert_eq!(kinds("{{ notes }}")[1], Tok::Name("notes".into()));
        assert_eq!(kinds("{{ a is  not b }}")[2], Tok::Op("is not"));
    }

    #[test]
    fn range_is_not_a_float() {
        assert_eq!(
            kinds("{{1..3}}")[1..4],
            [Tok::Int(1), Tok::Op(".."), Tok::Int(3)]
        );
    }

    #[test]
    fn map_literal_does_not_close_print() {
        let k = kinds("{{ {'a': {'b': 1}} }}");
        assert_eq!(k.last(), Some(&Tok::Eof));
        assert!(k.contains(&Tok::PrintClose));
    }
}
