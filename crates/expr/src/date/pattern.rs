//! Java `DateTimeFormatter` patterns (`yyyy-MM-dd'T'HH:mm:ss.SSSXXX`):
//! formatting a [`ZonedDateTime`] and translating a pattern to a `strptime`
//! format for parsing (the `existingFormat` argument). English names.

use jiff::ZonedDateTime;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A piece of a pattern: a run of one letter, or literal text.
#[derive(Debug, PartialEq)]
enum Piece {
    Field(char, usize),
    Literal(String),
}

fn pieces(pattern: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push(Piece::Literal("'".into()));
                i += 2;
                continue;
            }
            let mut lit = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "pattern ends with an incomplete string literal: {pattern}"
                        ));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        lit.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Piece::Literal(lit));
        } else if c.is_ascii_alphabetic() {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            out.push(Piece::Field(c, n));
            i += n;
        } else if c == '[' || c == ']' || c == '#' || c == '{' || c == '}' {
            // Optional-section markers: their content is always printed.
            if c == '#' || c == '{' || c == '}' {
                return Err(format!("pattern uses reserved character '{c}': {pattern}"));
            }
            i += 1;
        } else {
            out.push(Piece::Literal(c.to_string()));
            i += 1;
        }
    }
    Ok(out)
}

fn pad(n: i64, width: usize) -> String {
    if n < 0 {
        format!("-{:0width$}", -n, width = width)
    } else {
        format!("{n:0width$}")
    }
}

/// `+HH:MM`-style offsets for the `X`, `x`, `Z` and `O` letters.
fn offset_text(secs: i32, letter: char, count: usize) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a / 60) % 60, a % 60);
    let zero = secs == 0;
    match (letter, count) {
        ('X', _) if zero => "Z".into(),
        ('Z', 5) if zero => "Z".into(),
        ('O', 1) => {
            if zero {
                "GMT".into()
            } else if m == 0 {
                format!("GMT{sign}{h}")
            } else {
                format!("GMT{sign}{h}:{m:02}")
            }
        }
        ('O', _) | ('Z', 4) => {
            if zero {
                "GMT".into()
            } else {
                format!("GMT{sign}{h:02}:{m:02}")
            }
        }
        ('X' | 'x', 1) => {
            if m == 0 {
                format!("{sign}{h:02}")
            } else {
                format!("{sign}{h:02}{m:02}")
            }
        }
        ('X' | 'x', 2) | ('Z', 1..=3) => format!("{sign}{h:02}{m:02}"),
        ('X' | 'x', 4) => {
            if s == 0 {
                format!("{sign}{h:02}{m:02}")
            } else {
                format!("{sign}{h:02}{m:02}{s:02}")
            }
        }
        ('X' | 'x', 5) | ('Z', _) => {
            if s == 0 {
                format!("{sign}{h:02}:{m:02}")
            } else {
                format!("{sign}{h:02}:{m:02}:{s:02}")
            }
        }
        _ => format!("{sign}{h:02}:{m:02}"),
    }
}

/// The zone's short name (`CEST`, `UTC`) at the date's instant.
pub(crate) fn zone_abbreviation(z: &ZonedDateTime) -> String {
    z.time_zone()
        .to_offset_info(z.timestamp())
        .abbreviation()
        .to_owned()
}

/// The zone id: an IANA name, else the offset (`+02:00`, `Z`).
pub(crate) fn zone_id(z: &ZonedDateTime) -> String {
    match z.time_zone().iana_name() {
        Some(name) => name.to_owned(),
        None => offset_text(z.offset().seconds(), 'X', 5),
    }
}

/// Formats `z` with a Java `DateTimeFormatter` pattern.
pub(crate) fn format(z: &ZonedDateTime, pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    for piece in pieces(pattern)? {
        let (c, n) = match piece {
            Piece::Literal(l) => {
                out.push_str(&l);
                continue;
            }
            Piece::Field(c, n) => (c, n),
        };
        let text = match c {
            'G' => if n == 4 { "Anno Domini" } else { "AD" }.to_owned(),
            'y' | 'u' => {
                let y = i64::from(z.year());
                if n == 2 {
                    pad(y.rem_euclid(100), 2)
                } else {
                    pad(y, n)
                }
            }
            'Y' => {
                let y = i64::from(z.date().iso_week_date().year());
                if n == 2 {
                    pad(y.rem_euclid(100), 2)
                } else {
                    pad(y, n)
                }
            }
            'w' => pad(i64::from(z.date().iso_week_date().week()), n),
            'M' | 'L' => {
                let m = z.month();
                let name = MONTHS[(m as usize).saturating_sub(1) % 12];
                match n {
                    1 | 2 => pad(i64::from(m), n),
                    3 => name[..3].to_owned(),
                    4 => name.to_owned(),
                    _ => name[..1].to_owned(),
                }
            }
            'd' => pad(i64::from(z.day()), n),
            'D' => pad(i64::from(z.day_of_year()), n),
            'Q' | 'q' => {
                let q = (i64::from(z.month()) - 1) / 3 + 1;
                match n {
                    1 | 2 => pad(q, n),
                    3 => format!("Q{q}"),
                    _ => format!(
                        "{q}{} quarter",
                        match q {
                            1 => "st",
                            2 => "nd",
                            3 => "rd",
                            _ => "th",
                        }
                    ),
                }
            }
            'E' | 'e' | 'c' => {
                let wd = z.weekday().to_monday_zero_offset() as usize;
                let name = DAYS[wd % 7];
                if c != 'E' && n <= 2 {
                    // Localized day number, US: Sunday = 1.
                    pad(i64::from(z.weekday().to_sunday_one_offset()), n)
                } else {
                    match n {
                        1..=3 => name[..3].to_owned(),
                        4 => name.to_owned(),
                        _ => name[..1].to_owned(),
                    }
                }
            }
            'a' => if z.hour() < 12 { "AM" } else { "PM" }.to_owned(),
            'H' => pad(i64::from(z.hour()), n),
            'k' => pad(
                if z.hour() == 0 {
                    24
                } else {
                    i64::from(z.hour())
                },
                n,
            ),
            'K' => pad(i64::from(z.hour() % 12), n),
            'h' => {
                let h = i64::from(z.hour() % 12);
                pad(if h == 0 { 12 } else { h }, n)
            }
            'm' => pad(i64::from(z.minute()), n),
            's' => pad(i64::from(z.second()), n),
            'S' => {
                let nanos = format!("{:09}", z.subsec_nanosecond());
                if n <= 9 {
                    nanos[..n].to_owned()
                } else {
                    format!("{nanos}{}", "0".repeat(n - 9))
                }
            }
            'n' => pad(i64::from(z.subsec_nanosecond()), n),
            'A' | 'N' => {
                let t = z.time();
                let nanos = ((i64::from(t.hour()) * 60 + i64::from(t.minute())) * 60
                    + i64::from(t.second()))
                    * 1_000_000_000
                    + i64::from(t.subsec_nanosecond());
                pad(if c == 'A' { nanos / 1_000_000 } else { nanos }, n)
            }
            'V' => {
                if n != 2 {
                    return Err("pattern letter count must be 2: V".into());
                }
                zone_id(z)
            }
            'z' | 'v' => zone_abbreviation(z),
            'O' | 'X' | 'x' | 'Z' => offset_text(z.offset().seconds(), c, n),
            other => return Err(format!("unknown pattern letter: {other}")),
        };
        out.push_str(&text);
    }
    Ok(out)
}

/// Translates a Java pattern to a `jiff::fmt::strtime` format for parsing.
pub(crate) fn to_strptime(pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    for piece in pieces(pattern)? {
        match piece {
            Piece::Literal(l) => out.push_str(&l.replace('%', "%%")),
            Piece::Field(c, n) => out.push_str(match (c, n) {
                ('y' | 'u', 2) => "%y",
                ('y' | 'u', _) => "%Y",
                ('M' | 'L', 1 | 2) => "%m",
                ('M' | 'L', 3) => "%b",
                ('M' | 'L', _) => "%B",
                ('d', _) => "%d",
                ('D', _) => "%j",
                ('E', 1..=3) => "%a",
                ('E', _) => "%A",
                ('a', _) => "%p",
                ('H' | 'k', _) => "%H",
                ('h' | 'K', _) => "%I",
                ('m', _) => "%M",
                ('s', _) => "%S",
                ('S', _) => "%f",
                ('X' | 'x', 3 | 5) | ('Z', 5) => "%:z",
                ('X' | 'x' | 'Z', _) => "%z",
                ('V', _) => "%Q",
                ('z', _) => "%Z",
                (other, _) => {
                    return Err(format!("unsupported pattern letter for parsing: {other}"));
                }
            }),
        }
    }
    Ok(out)
}
