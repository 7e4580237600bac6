//! Side-by-side diffs of two JSON bodies (as received vs as delivered), computed here with
//! `similar`: lines paired left and right, changed words emphasised inside changed lines, long
//! unchanged stretches folded. The template renders the rows; nothing here is HTML.

use std::time::Duration;

use serde_json::Value;
use similar::{ChangeTag, DiffOp, TextDiff};

use super::layout::{clip, pretty};

/// Bodies beyond this many bytes are cut before diffing (and the page says so): a diff of two
/// multi-megabyte conversations would take long and be unreadable anyway.
const MAX_BYTES: usize = 256 * 1024;
/// Unchanged lines kept around each change.
const CONTEXT: usize = 4;
/// Lines longer than this are not diffed word by word.
const MAX_INLINE: usize = 2_000;

/// A run of text in a cell, emphasised when it differs from the other side.
pub struct Segment {
    /// The text.
    pub text: String,
    /// Whether this run changed.
    pub changed: bool,
}

/// One side of a row.
pub struct Cell {
    /// 1-based line number on its side.
    pub number: usize,
    /// `same`, `del` (only on the left) or `ins` (only on the right).
    pub class: &'static str,
    /// The line's text in runs.
    pub segments: Vec<Segment>,
}

/// A row of the side-by-side view: a line on each side, or a fold of unchanged lines.
pub struct Row {
    /// The left (before) line, if this row has one.
    pub left: Option<Cell>,
    /// The right (after) line, if this row has one.
    pub right: Option<Cell>,
    /// For a fold: how many unchanged lines it hides (0 for a line row).
    pub folded: usize,
}

/// The comparison of two bodies.
pub struct SideBySide {
    /// Whether the sides differ.
    pub changed: bool,
    /// The rows (empty when unchanged).
    pub rows: Vec<Row>,
    /// The body as it was before, pretty-printed (shown whole when unchanged).
    pub before: String,
    /// The body as it was after, pretty-printed.
    pub after: String,
    /// Whether either body was cut to `MAX_BYTES`.
    pub truncated: bool,
}

/// Compares `before` with `after`. A missing `after` (nothing was delivered or sent) compares
/// as unchanged: the page says separately that that side is missing.
pub fn side_by_side(before: Option<&Value>, after: Option<&Value>) -> SideBySide {
    let full_before = before.map(pretty).unwrap_or_default();
    let full_after = after.map(pretty).unwrap_or_default();
    let (b, cut_b) = clip(&full_before, MAX_BYTES);
    let (a, cut_a) = clip(&full_after, MAX_BYTES);
    let changed = after.is_some() && before != after;
    let rows = if changed { rows(b, a) } else { Vec::new() };
    SideBySide {
        changed,
        rows,
        before: b.to_owned(),
        after: a.to_owned(),
        truncated: cut_a || cut_b,
    }
}

fn rows(before: &str, after: &str) -> Vec<Row> {
    let diff = TextDiff::configure()
        .timeout(Duration::from_millis(500))
        .diff_lines(before, after);
    let old = diff.old_slices();
    let new = diff.new_slices();
    // `similar` only hands out indices into its own slices; `get` keeps a mistake harmless.
    let line = |s: &str| s.trim_end_matches(['\n', '\r']).to_owned();
    let old_line = |i: usize| line(old.get(i).copied().unwrap_or_default());
    let new_line = |i: usize| line(new.get(i).copied().unwrap_or_default());
    let plain = |number: usize, class: &'static str, text: String| Cell {
        number,
        class,
        segments: vec![Segment {
            text,
            changed: class != "same",
        }],
    };
    let ops = diff.ops();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                // Keep CONTEXT lines after the previous change and before the next one.
                let head = if i == 0 { 0 } else { CONTEXT.min(len) };
                let tail = if i + 1 == ops.len() {
                    0
                } else {
                    CONTEXT.min(len - head)
                };
                let same = |k: usize| Row {
                    left: Some(plain(old_index + k + 1, "same", old_line(old_index + k))),
                    right: Some(plain(new_index + k + 1, "same", new_line(new_index + k))),
                    folded: 0,
                };
                if len <= head + tail + 1 {
                    out.extend((0..len).map(&same));
                } else {
                    out.extend((0..head).map(&same));
                    out.push(Row {
                        left: None,
                        right: None,
                        folded: len - head - tail,
                    });
                    out.extend((len - tail..len).map(&same));
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for k in old_index..old_index + old_len {
                    out.push(Row {
                        left: Some(plain(k + 1, "del", old_line(k))),
                        right: None,
                        folded: 0,
                    });
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for k in new_index..new_index + new_len {
                    out.push(Row {
                        left: None,
                        right: Some(plain(k + 1, "ins", new_line(k))),
                        folded: 0,
                    });
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for k in 0..old_len.max(new_len) {
                    let l = (k < old_len).then(|| old_line(old_index + k));
                    let r = (k < new_len).then(|| new_line(new_index + k));
                    let (left, right) = match (l, r) {
                        (Some(l), Some(r)) => {
                            let (ls, rs) = words(&l, &r);
                            (
                                Some(Cell {
                                    number: old_index + k + 1,
                                    class: "del",
                                    segments: ls,
                                }),
                                Some(Cell {
                                    number: new_index + k + 1,
                                    class: "ins",
                                    segments: rs,
                                }),
                            )
                        }
                        (l, r) => (
                            l.map(|l| plain(old_index + k + 1, "del", l)),
                            r.map(|r| plain(new_index + k + 1, "ins", r)),
                        ),
                    };
                    out.push(Row {
                        left,
                        right,
                        folded: 0,
                    });
                }
            }
        }
    }
    out
}

/// Word-level runs of two paired lines: unchanged words plain, the differing ones emphasised.
fn words(l: &str, r: &str) -> (Vec<Segment>, Vec<Segment>) {
    if l.len() > MAX_INLINE || r.len() > MAX_INLINE {
        let whole = |s: &str| {
            vec![Segment {
                text: s.to_owned(),
                changed: true,
            }]
        };
        return (whole(l), whole(r));
    }
    let diff = TextDiff::configure()
        .timeout(Duration::from_millis(50))
        .diff_words(l, r);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let push = |side: &mut Vec<Segment>, text: &str, changed: bool| match side.last_mut() {
        Some(last) if last.changed == changed => last.text.push_str(text),
        _ => side.push(Segment {
            text: text.to_owned(),
            changed,
        }),
    };
    for change in diff.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut left, text, false);
                push(&mut right, text, false);
            }
            ChangeTag::Delete => push(&mut left, text, true),
            ChangeTag::Insert => push(&mut right, text, true),
        }
    }
    (left, right)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_bodies_are_unchanged_and_have_no_rows() {
        let v = json!({"a": 1});
        let d = side_by_side(Some(&v), Some(&v));
        assert!(!d.changed);
        assert!(d.rows.is_empty());
        assert!(d.before.contains("\"a\": 1"));
    }

    #[test]
    fn a_changed_value_pairs_the_lines_and_emphasises_the_changed_word() {
        let before = json!({"text": "hello world", "n": 1});
        let after = json!({"text": "HELLO world", "n": 1});
        let d = side_by_side(Some(&before), Some(&after));
        assert!(d.changed);
        let row = d
            .rows
            .iter()
            .find(|r| r.left.as_ref().is_some_and(|c| c.class == "del"))
            .unwrap();
        let left = row.left.as_ref().unwrap();
        let right = row.right.as_ref().unwrap();
        assert!(left
            .segments
            .iter()
            .any(|s| s.changed && s.text.contains("hello")));
        assert!(right
            .segments
            .iter()
            .any(|s| s.changed && s.text.contains("HELLO")));
        assert!(right
            .segments
            .iter()
            .any(|s| !s.changed && s.text.contains("world")));
    }

    #[test]
    fn long_unchanged_stretches_fold_around_the_change() {
        let before: Vec<u32> = (0..100).collect();
        let mut after = before.clone();
        after[50] = 999;
        let d = side_by_side(Some(&json!(before)), Some(&json!(after)));
        let folds: Vec<usize> = d.rows.iter().map(|r| r.folded).filter(|f| *f > 0).collect();
        assert_eq!(folds.len(), 2, "one fold before and one after the change");
        assert!(d.rows.len() < 30);
    }

    #[test]
    fn a_body_removed_entirely_shows_as_deleted_lines() {
        let before = json!({"content": [{"type": "tool_use"}]});
        let after = json!({"content": []});
        let d = side_by_side(Some(&before), Some(&after));
        assert!(d.changed);
        assert!(d.rows.iter().any(|r| r
            .left
            .as_ref()
            .is_some_and(|c| c.segments.iter().any(|s| s.text.contains("tool_use")))));
    }
}
