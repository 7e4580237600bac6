//! `luthien policy list` and `luthien policy check FILE`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn luthien(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_luthien"))
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn file(name: &str, content: &str) -> String {
    let dir = std::env::temp_dir().join(format!("luthien-policy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn list_names_every_built_in_policy_with_a_description() {
    let o = luthien(&["policy", "list"]);
    assert!(o.status.success());
    let out = text(&o);
    for name in [
        "noop",
        "all_caps",
        "string_replacement",
        "debug_logging",
        "rules",
        "block_dangerous_commands",
        "block_sensitive_file_writes",
        "block_web_requests",
        "prefer_uv",
        "plain_dashes",
        "tool_call_judge",
        "llm_judge",
        "serial",
        "parallel",
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{out}"));
        assert!(line.len() > name.len() + 10, "{name} has a description");
    }
}

#[test]
fn list_as_json_carries_each_config_schema_and_an_example() {
    let o = luthien(&["policy", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let judge = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "tool_call_judge")
        .unwrap();
    assert!(
        judge["schema"]["properties"]["probability_threshold"].is_object(),
        "{judge}"
    );
    assert!(judge["example"]["model"].is_string());
}

#[test]
fn check_accepts_a_valid_file_including_the_predecessors_class_paths() {
    let f = file("ok.yaml", "policy:\n  class: \"luthien_proxy.policies.tool_call_judge_policy:ToolCallJudgePolicy\"\n  config:\n    model: \"openai/gpt-4\"\n    probability_threshold: 0.6\n");
    let o = luthien(&["policy", "check", &f]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("OK (tool_call_judge)"));
}

#[test]
fn check_names_the_field_and_line_of_an_error() {
    for (content, expected) in [
        ("policy:\n  class: tool_call_judge\n  config:\n    model: m\n    probability_threshold: 1.5\n", "line 5: policy.config.probability_threshold"),
        ("policy:\n  class: string_replacement\n  config:\n    replacements: [[\"a\", \"b\"]]\n    colour: red\n", "colour"),
        ("policy:\n  class: nope\n", "line 2: policy.class"),
        ("policy:\n  class: serial\n  config:\n    policies:\n      - class: noop\n      - class: ghost\n", "policies.1.class"),
        ("not_policy: 1\n", "policy"),
        ("policy: [unclosed\n", "line"),
    ] {
        let f = file("bad.yaml", content);
        let o = luthien(&["policy", "check", &f]);
        assert!(!o.status.success(), "{content}");
        assert!(text(&o).contains(expected), "{content}\n--- got ---\n{}", text(&o));
    }
}
