//! Corpus tests for the blocking presets: every command in `tests/corpus/<preset>.block.txt`
//! must be blocked and every one in `<preset>.pass.txt` must pass. Prints precision and recall
//! (quoted in the `rules` module doc).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use luthien_policy::rules::{presets, RulesPolicy};
use luthien_policy::{ToolInputFormat, Verdict};
use serde_json::{json, Value};

/// One corpus line as a tool call: a Bash command, `@Tool {json}`, `%tool "text"` (a free-form
/// custom call such as Codex's `apply_patch`, its input as a JSON string), or a JSON string (a
/// Bash command with newlines).
fn tool_call(line: &str) -> (String, Value, ToolInputFormat) {
    if let Some(rest) = line.strip_prefix('%') {
        let (name, input) = rest.split_once(' ').expect("`%tool \"text\"`");
        let text: String = serde_json::from_str(input).unwrap_or_else(|e| panic!("{line}: {e}"));
        return (
            name.to_owned(),
            Value::String(text),
            ToolInputFormat::Freeform,
        );
    }
    if let Some(rest) = line.strip_prefix('@') {
        let (name, input) = rest.split_once(' ').expect("`@Tool {json}`");
        let input: Value = serde_json::from_str(input).unwrap_or_else(|e| panic!("{line}: {e}"));
        return (name.to_owned(), input, ToolInputFormat::Json);
    }
    let command = if line.starts_with('"') {
        serde_json::from_str::<String>(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    } else {
        line.to_owned()
    };
    (
        "Bash".to_owned(),
        json!({ "command": command }),
        ToolInputFormat::Json,
    )
}

fn lines(file: &str) -> Vec<String> {
    let path = format!("{}/tests/corpus/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn blocked(policy: &RulesPolicy, line: &str) -> Option<String> {
    let (name, input, format) = tool_call(line);
    match policy
        .evaluate_call("toolu_1", &name, &input, format)
        .verdict
    {
        Verdict::Block { message } => Some(message),
        _ => None,
    }
}

fn run(stem: &str, policy: RulesPolicy, min: usize) {
    let bad = lines(&format!("{stem}.block.txt"));
    let good = lines(&format!("{stem}.pass.txt"));
    assert!(
        bad.len() >= min && good.len() >= min,
        "{stem}: corpus too small"
    );
    let missed: Vec<&String> = bad
        .iter()
        .filter(|l| blocked(&policy, l).is_none())
        .collect();
    let false_alarms: Vec<(&String, String)> = good
        .iter()
        .filter_map(|l| blocked(&policy, l).map(|m| (l, m)))
        .collect();
    let tp = bad.len() - missed.len();
    let fp = false_alarms.len();
    let precision = if tp + fp == 0 {
        1.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let recall = tp as f64 / bad.len() as f64;
    println!(
        "{stem}: {tp}/{} blocked, {fp}/{} benign blocked: precision {precision:.2}, recall {recall:.2}",
        bad.len(),
        good.len()
    );
    assert!(
        missed.is_empty() && false_alarms.is_empty(),
        "{stem}: missed {missed:#?}\nfalse alarms {false_alarms:#?}"
    );
}

#[test]
fn dangerous_commands_corpus() {
    run(
        "dangerous_commands",
        presets::block_dangerous_commands(),
        60,
    );
}

#[test]
fn sensitive_file_writes_corpus() {
    run(
        "sensitive_file_writes",
        presets::block_sensitive_file_writes(),
        60,
    );
}

#[test]
fn web_requests_corpus() {
    run("web_requests", presets::block_web_requests(), 60);
}

#[test]
fn the_e2e_marker_commands_are_blocked_with_a_readable_message() {
    let policy = presets::block_dangerous_commands();
    for cmd in [
        "rm -rf /tmp/luthien-e2e-x/marker",
        "chmod -R 777 /tmp/luthien-e2e-x/marker",
    ] {
        let message = blocked(&policy, cmd).unwrap();
        assert!(
            message.starts_with("Luthien blocked this Bash call: it "),
            "{message}"
        );
        assert!(message.contains(cmd), "{message}");
        assert!(message.contains("Do not retry it"), "{message}");
        assert!(!message.contains("\n\n"), "one paragraph: {message}");
    }
}
