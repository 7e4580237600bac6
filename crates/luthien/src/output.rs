//! How results are shown: tables, colour and JSON.
//!
//! Colour and box drawing only when stdout is a terminal and `NO_COLOR` is unset; piped output
//! is plain aligned text with no escape codes, and `--json` prints the gateway's own JSON.

use std::io::IsTerminal;

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};
use serde_json::Value;

/// True when stdout is a terminal and the user has not asked for no colour.
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// True when stderr is a terminal (progress lines go there).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A colour for a word that carries a status.
#[derive(Debug, Clone, Copy)]
pub enum Tone {
    /// Healthy, allowed, running.
    Good,
    /// Degraded, modified.
    Warn,
    /// Down, blocked, failed.
    Bad,
    /// Headings.
    Strong,
    /// Secondary details.
    Faint,
}

impl Tone {
    fn ansi(self) -> &'static str {
        match self {
            Self::Good => "32",
            Self::Warn => "33",
            Self::Bad => "31",
            Self::Strong => "1",
            Self::Faint => "2",
        }
    }

    fn table_colour(self) -> Option<Color> {
        match self {
            Self::Good => Some(Color::Green),
            Self::Warn => Some(Color::Yellow),
            Self::Bad => Some(Color::Red),
            Self::Strong | Self::Faint => None,
        }
    }
}

/// `text` in `tone` when colour is on, else unchanged.
pub fn paint(text: &str, tone: Tone) -> String {
    if colour() {
        format!("\x1b[{}m{text}\x1b[0m", tone.ansi())
    } else {
        text.to_owned()
    }
}

/// A table with `headers`: boxed on a terminal, plain aligned columns when piped.
pub fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_preset(presets::UTF8_HORIZONTAL_ONLY)
            .set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.load_preset(presets::NOTHING);
    }
    t.set_header(headers.iter().map(|h| Cell::new(*h)));
    t
}

/// A table cell in `tone` (coloured only on a terminal without `NO_COLOR`).
pub fn cell(text: impl ToString, tone: Option<Tone>) -> Cell {
    let c = Cell::new(text);
    match tone.and_then(Tone::table_colour) {
        Some(colour) if self::colour() => c.fg(colour),
        _ => c,
    }
}

/// Prints a table, trimming the trailing spaces the plain preset leaves.
pub fn print_table(t: &Table) {
    for line in t.lines() {
        println!("{}", line.trim_end());
    }
}

/// Prints `value` as pretty JSON.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An epoch-milliseconds instant as `2026-11-22 14:03:12 UTC`.
pub fn time_ms(ms: i64) -> String {
    let Ok(ms) = u64::try_from(ms) else {
        return "-".into();
    };
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replacen('T', " ", 1)
        .replace('Z', " UTC")
}

/// A duration as its two largest units: `3d 4h`, `2h 5m`, `12m 3s`, `40s`.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// `text` cut to `max` characters with an ellipsis, on one line.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(duration(40), "40s");
        assert_eq!(duration(723), "12m 3s");
        assert_eq!(duration(2 * 3600 + 5 * 60 + 9), "2h 5m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d 4h");
    }

    #[test]
    fn instants_are_readable_utc() {
        assert_eq!(time_ms(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(time_ms(-5), "-");
    }

    #[test]
    fn long_titles_are_cut_to_one_line() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }
}
