//! Raw text blocks: Kestra's `{% raw %}…{% endraw %}` (content kept
//! verbatim, `-` markers ignored, as Kestra's pre-processing regex) and
//! Pebble's `{% verbatim %}…{% endverbatim %}` (with whitespace control).

fn java_ws(c: char) -> bool {
    c.is_whitespace()
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `s` starts with `{%` `-`* ws* `word` ws* `-`* `%}`; returns its length.
fn tag_len(s: &str, word: &str) -> Option<usize> {
    let r = s.strip_prefix("{%")?;
    let r1 = r.trim_start_matches('-').trim_start_matches(java_ws);
    let r2 = r1.strip_prefix(word)?;
    if r2.chars().next().is_some_and(is_ident_char) {
        return None;
    }
    let r3 = r2.trim_start_matches(java_ws).trim_start_matches('-');
    let r4 = r3.strip_prefix("%}")?;
    Some(s.len() - r4.len())
}

pub(crate) fn match_tag_start(s: &str, word: &str) -> bool {
    tag_len(s, word).is_some()
}

/// Kestra's `{% raw %}…{% endraw %}`: (total length, body start, body end).
pub(crate) fn match_raw(s: &str, open: &str, close: &str) -> Option<(usize, usize, usize)> {
    let start = tag_len(s, open)?;
    let mut search = start;
    while let Some(off) = s[search..].find("{%") {
        let at = search + off;
        if let Some(len) = tag_len(&s[at..], close) {
            return Some((at + len, start, at));
        }
        search = at + 2;
    }
    None
}

/// Replaces every `{% raw %}body{% endraw %}` of `s` with its body.
pub(crate) fn strip_raw(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(off) = s[i..].find("{%") {
        let at = i + off;
        out.push_str(&s[i..at]);
        match match_raw(&s[at..], "raw", "endraw") {
            Some((len, start, end)) => {
                out.push_str(&s[at + start..at + end]);
                i = at + len;
            }
            None => {
                out.push_str("{%");
                i = at + 2;
            }
        }
    }
    out.push_str(&s[i..]);
    out
}

pub(crate) struct Verbatim {
    pub(crate) len: usize,
    pub(crate) body_start: usize,
    pub(crate) body_end: usize,
    pub(crate) trim_body_start: bool,
    pub(crate) trim_body_end: bool,
    pub(crate) trim_after: bool,
}

/// Pebble's `{% verbatim %}…{% endverbatim %}` with its whitespace control.
pub(crate) fn match_verbatim(s: &str) -> Option<Verbatim> {
    let start = tag_len(s, "verbatim")?;
    let trim_body_start = s[..start - 2].trim_end_matches(java_ws).ends_with('-');
    let mut search = start;
    while let Some(off) = s[search..].find("{%") {
        let at = search + off;
        if let Some(len) = tag_len(&s[at..], "endverbatim") {
            let tag = &s[at..at + len];
            return Some(Verbatim {
                len: at + len,
                body_start: start,
                body_end: at,
                trim_body_start,
                trim_body_end: tag[2..].starts_with('-'),
                trim_after: tag[..tag.len() - 2].ends_with('-'),
            });
        }
        search = at + 2;
    }
    None
}
