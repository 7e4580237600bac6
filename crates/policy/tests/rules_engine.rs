//! Tests of the declarative rules engine: matchers, actions, templates, needs, streaming
//! transforms, configuration errors and the Codex/Claude Code tool shapes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use luthien_policy::rules::{presets, RulesConfig, RulesPolicy};
use luthien_policy::{Block, BlockKind, DecisionContext, Need, Policy, PolicyError, Verdict};
use protocol::errors::ApiFormat;
use serde_json::{json, Value};

fn policy(rules: Value) -> RulesPolicy {
    RulesPolicy::from_config(&json!({ "rules": rules })).unwrap()
}

fn verdict(p: &RulesPolicy, name: &str, input: Value) -> Verdict {
    p.evaluate_tool("toolu_1", name, &input).verdict
}

fn block_message(v: Verdict) -> String {
    match v {
        Verdict::Block { message } => message,
        other => panic!("expected a block, got {other:?}"),
    }
}

fn stream(p: &RulesPolicy, deltas: &[&str]) -> (Vec<String>, String) {
    let mut t = p.transform(BlockKind::Text).expect("a transform");
    let out: Vec<String> = deltas.iter().map(|d| t.push(d)).collect();
    let tail = t.finish();
    (out, tail)
}

#[test]
fn tool_glob_and_input_regex_must_both_match() {
    let p = policy(json!([{
        "name": "no-force-push",
        "reason": "force pushes rewrite shared history",
        "match": {"tool": "{Bash,exec_command}", "input": {"pointer": "/command", "regex": "git\\s+push\\b.*--force"}},
        "action": {"type": "block"}
    }]));
    let m = block_message(verdict(
        &p,
        "Bash",
        json!({"command": "git push --force origin main"}),
    ));
    assert!(
        m.starts_with(
            "Luthien blocked this Bash call: force pushes rewrite shared history. Arguments: {"
        ),
        "{m}"
    );
    assert!(
        m.ends_with("Do not retry it; ask the user if it is really needed."),
        "{m}"
    );
    assert_eq!(
        verdict(&p, "Bash", json!({"command": "git push origin main"})),
        Verdict::Pass
    );
    assert_eq!(
        verdict(&p, "Write", json!({"command": "git push --force"})),
        Verdict::Pass
    );
    // Codex argv: `/command` is the joined argv.
    block_message(verdict(
        &p,
        "exec_command",
        json!({"cmd": ["git", "push", "--force"]}),
    ));
}

#[test]
fn non_string_pointers_match_their_json() {
    let p = policy(json!([{
        "name": "big-timeout", "match": {"tool": "Bash", "input": {"pointer": "/timeout", "regex": "^[0-9]{7,}$"}},
        "action": {"type": "block"}
    }]));
    block_message(verdict(
        &p,
        "Bash",
        json!({"command": "ls", "timeout": 9_999_999}),
    ));
    assert_eq!(
        verdict(&p, "Bash", json!({"command": "ls", "timeout": 1000})),
        Verdict::Pass
    );
    assert_eq!(verdict(&p, "Bash", json!({"command": "ls"})), Verdict::Pass);
}

#[test]
fn block_templates_fill_every_placeholder_and_truncate_arguments() {
    let p = policy(json!([{
        "name": "mcp", "reason": "no MCP here",
        "match": {"tool": "mcp__*"},
        "action": {"type": "block", "message": "[{rule}] {tool}: {reason} | {arguments}"}
    }]));
    let long = "x".repeat(5000);
    let m = block_message(verdict(&p, "mcp__db__query", json!({"sql": long})));
    assert!(
        m.starts_with("[mcp] mcp__db__query: no MCP here | {\n  \"sql\": \"xxx"),
        "{m}"
    );
    assert!(m.ends_with('…'));
    assert!(m.chars().count() < 1100, "{}", m.chars().count());
}

#[test]
fn replace_rewrites_the_matched_field_and_keeps_the_call() {
    let p = policy(json!([{
        "name": "npm-to-pnpm", "match": {"input": {"pointer": "/command", "regex": "\\bnpm (install|i)\\b"}},
        "action": {"type": "replace", "replacement": "pnpm add"}
    }]));
    assert_eq!(
        verdict(
            &p,
            "Bash",
            json!({"command": "npm install left-pad", "description": "d"})
        ),
        Verdict::Replace(vec![Block::tool_use(
            "toolu_1",
            "Bash",
            json!({"command": "pnpm add left-pad", "description": "d"}),
        )])
    );
}

#[test]
fn warn_puts_a_note_before_the_call() {
    let p = policy(json!([{
        "name": "publish", "reason": "publishing is public",
        "match": {"input": {"pointer": "/command", "regex": "npm publish"}},
        "action": {"type": "warn"}
    }]));
    let input = json!({"command": "npm publish"});
    let Verdict::Replace(blocks) = verdict(&p, "Bash", input.clone()) else {
        panic!()
    };
    assert_eq!(blocks.len(), 2);
    let Block::Text { text } = &blocks[0] else {
        panic!()
    };
    assert_eq!(
        text,
        "Luthien note on the Bash call below: publishing is public (rule publish)."
    );
    assert_eq!(blocks[1], Block::tool_use("toolu_1", "Bash", input));
}

#[test]
fn a_block_after_a_replace_still_blocks_and_checks_compose() {
    let p = policy(json!([
        {"name": "rewrite", "match": {"input": {"pointer": "/command", "regex": "^safe "}}, "action": {"type": "replace", "replacement": ""}},
        {"name": "danger", "match": {"check": "dangerous_command"}, "action": {"type": "block"}}
    ]));
    let m = block_message(verdict(&p, "Bash", json!({"command": "safe rm -rf /"})));
    assert!(
        m.contains(
            "it deletes files recursively and forcibly under a system or home directory (rm -rf /)"
        ),
        "{m}"
    );
    assert!(m.contains("\"command\": \"rm -rf /\""), "{m}");
}

#[test]
fn needs_follow_the_rules() {
    let tool_only = presets::block_dangerous_commands();
    assert_eq!(tool_only.need(BlockKind::ToolUse), Need::Hold);
    assert_eq!(tool_only.need(BlockKind::Text), Need::Forward);
    assert_eq!(tool_only.need(BlockKind::Thinking), Need::Forward);
    let text_only = presets::plain_dashes();
    assert_eq!(text_only.need(BlockKind::ToolUse), Need::Forward);
    assert_eq!(text_only.need(BlockKind::Text), Need::Stream);
    let text_block =
        policy(json!([{"name": "t", "match": {"text": "secret"}, "action": {"type": "block"}}]));
    assert_eq!(text_block.need(BlockKind::Text), Need::Hold);
    assert!(text_block.transform(BlockKind::Text).is_none());
    assert_eq!(
        RulesPolicy::from_config(&Value::Null)
            .unwrap()
            .need(BlockKind::ToolUse),
        Need::Forward
    );
}

#[test]
fn text_blocks_are_blocked_or_rewritten_whole_when_held() {
    let p = policy(json!([
        {"name": "no-secrets", "reason": "it quotes a secret", "match": {"text": "sk-[a-z0-9]{8}"}, "action": {"type": "block"}},
        {"name": "dashes", "match": {"text": "—"}, "action": {"type": "replace", "replacement": "-"}}
    ]));
    let m = block_message(p.evaluate_text("ok\nkey sk-abcdefgh here\n").verdict);
    assert_eq!(
        m,
        "Luthien removed a text block: it quotes a secret (rule no-secrets)."
    );
    assert_eq!(
        p.evaluate_text("a — b").verdict,
        Verdict::Replace(vec![Block::text("a - b")])
    );
    assert_eq!(p.evaluate_text("plain").verdict, Verdict::Pass);
}

#[test]
fn line_buffered_transform_handles_matches_across_deltas() {
    let p = presets::prefer_uv();
    let (out, tail) = stream(
        &p,
        &[
            "Run `pi",
            "p ins",
            "tall requests`\nthen pip3 ",
            "install -r req.txt",
        ],
    );
    assert_eq!(out, vec!["", "", "Run `uv add requests`\n", ""]);
    assert_eq!(tail, "then uv add -r req.txt");
    let (out, tail) = stream(&p, &["a\nb\n", "c"]);
    assert_eq!(out.concat() + &tail, "a\nb\nc");
}

#[test]
fn plain_dashes_works_per_delta_without_buffering() {
    let p = presets::plain_dashes();
    let (out, tail) = stream(&p, &["a \u{2014} b", " \u{2013} c", "no newline"]);
    assert_eq!(out, vec!["a - b", " - c", "no newline"]);
    assert_eq!(tail, "");
}

#[test]
fn prefer_uv_rewrites_every_shell_shape() {
    let p = presets::prefer_uv();
    let rewritten = |name: &str, input: Value| match verdict(&p, name, input) {
        Verdict::Replace(blocks) => match blocks.as_slice() {
            [Block::ToolUse { input, .. }] => input.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(
        rewritten("Bash", json!({"command": "pip install requests"})),
        json!({"command": "uv add requests"})
    );
    assert_eq!(
        rewritten(
            "Bash",
            json!({"command": "python3 -m pip install -U x && uv pip install y"})
        ),
        json!({"command": "uv add -U x && uv add y"})
    );
    assert_eq!(
        rewritten(
            "exec_command",
            json!({"cmd": "pip3 install numpy", "yield_time_ms": 1000})
        ),
        json!({"cmd": "uv add numpy", "yield_time_ms": 1000})
    );
    assert_eq!(
        rewritten("exec_command", json!({"cmd": ["pip", "install", "numpy"]})),
        json!({"cmd": ["bash", "-lc", "uv add numpy"]})
    );
    assert_eq!(
        rewritten(
            "shell",
            json!({"command": ["bash", "-lc", "pip install flask"], "workdir": "/w"})
        ),
        json!({"command": ["bash", "-lc", "uv add flask"], "workdir": "/w"})
    );
    assert_eq!(
        verdict(&p, "Bash", json!({"command": "pipx install ruff"})),
        Verdict::Pass
    );
    assert_eq!(
        verdict(&p, "Bash", json!({"command": "pip list"})),
        Verdict::Pass
    );
    assert_eq!(p.rewrite_text("Use pip install x."), "Use uv add x.");
}

#[test]
fn codex_shapes_reach_the_checks() {
    let dangerous = presets::block_dangerous_commands();
    block_message(verdict(
        &dangerous,
        "exec_command",
        json!({"cmd": "rm -rf ~"}),
    ));
    block_message(verdict(
        &dangerous,
        "exec_command",
        json!({"cmd": ["rm", "-rf", "/"]}),
    ));
    block_message(verdict(
        &dangerous,
        "shell",
        json!({"command": ["bash", "-lc", "sudo rm -rf /"]}),
    ));
    let writes = presets::block_sensitive_file_writes();
    let patch = "*** Begin Patch\n*** Add File: /home/me/.ssh/authorized_keys\n+ssh-ed25519 AAAA\n*** End Patch\n";
    let m = block_message(verdict(&writes, "apply_patch", json!(patch)));
    assert!(m.contains("~/.ssh"), "{m}");
    assert_eq!(
        verdict(
            &writes,
            "apply_patch",
            json!("*** Begin Patch\n*** Add File: src/a.rs\n+x\n*** End Patch\n")
        ),
        Verdict::Pass
    );
    let web = presets::block_web_requests();
    block_message(verdict(
        &web,
        "shell",
        json!({"command": ["curl", "https://example.com"]}),
    ));
}

#[test]
fn preset_names_are_the_policy_names() {
    for name in presets::PRESET_NAMES {
        assert_eq!(presets::by_name(name).unwrap().name(), *name);
    }
    assert!(presets::by_name("nope").is_none());
    assert_eq!(
        RulesPolicy::from_config(&json!({})).unwrap().name(),
        "rules"
    );
}

#[test]
fn config_errors_name_the_field() {
    let err = RulesPolicy::from_config(&json!({"rules": [
        {"name": "a", "match": {"tool": "Bash"}, "action": {"type": "block"}},
        {"name": "b", "match": {"tool": "Bash"}, "action": {"type": "block"}},
        {"name": "c", "match": {"input": {"pointer": "/command", "regex": "(unclosed"}}, "action": {"type": "block"}}
    ]}))
    .unwrap_err();
    let PolicyError::Config {
        field,
        message,
        line,
    } = err
    else {
        panic!()
    };
    assert_eq!(field, "rules.2.match.input.regex");
    assert!(message.contains("unclosed"), "{message}");
    assert_eq!(line, None);
    let PolicyError::Config { field, .. } = RulesPolicy::from_config(&json!({"rules": [
        {"name": "a", "match": {"tool": "Bash"}, "action": {"type": "explode"}}
    ]}))
    .unwrap_err() else {
        panic!()
    };
    assert_eq!(field, "rules.0.action.type");
    let PolicyError::Config { field, .. } = RulesPolicy::from_config(&json!({"rules": [
        {"name": "a", "match": {"check": "everything"}, "action": {"type": "block"}}
    ]}))
    .unwrap_err() else {
        panic!()
    };
    assert_eq!(field, "rules.0.match.check");
}

#[test]
fn the_example_and_schema_are_usable() {
    let example = serde_json::to_value(RulesConfig::example()).unwrap();
    let p = RulesPolicy::from_config(&example).unwrap();
    assert_eq!(p.config(), &RulesConfig::example());
    let schema = serde_json::to_value(schemars::schema_for!(RulesConfig)).unwrap();
    assert!(schema.to_string().contains("\"rules\""));
}

#[tokio::test]
async fn decide_answers_for_tool_and_text_blocks() {
    let p = presets::block_dangerous_commands();
    let ctx = DecisionContext {
        transaction_id: "t".into(),
        format: ApiFormat::Anthropic,
        request: Arc::new(json!({})),
        earlier_blocks: vec![],
    };
    let block = Block::tool_use("toolu_9", "Bash", json!({"command": "rm -rf /"}));
    let d = p.decide(&ctx, &block).await.unwrap();
    assert_eq!(d.verdict.label(), "block");
    assert!(d
        .rationale
        .unwrap()
        .starts_with("dangerous-command: it deletes"));
    let d = p.decide(&ctx, &Block::text("rm -rf /")).await.unwrap();
    assert_eq!(d.verdict, Verdict::Pass);
}

const KEY_PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-a\n+b\n*** Add File: ~/.ssh/authorized_keys\n+ssh-ed25519 AAAA attacker\n*** End Patch\n";

#[test]
fn a_free_form_apply_patch_is_a_file_write_for_every_path_it_names() {
    let writes = presets::block_sensitive_file_writes();
    for (marker, path) in [
        ("Add File", "/etc/cron.d/job"),
        ("Update File", "~/.aws/config"),
        ("Delete File", "deploy/id_rsa"),
        ("Update File", "../../.ssh/config"),
    ] {
        let patch = format!("*** Begin Patch\n*** {marker}: {path}\n+x\n*** End Patch\n");
        let d = writes.evaluate_custom_tool("call_1", "apply_patch", &patch);
        let m = block_message(d.verdict);
        assert!(m.contains(path), "{marker} {path}: {m}");
    }
    let moved = "*** Begin Patch\n*** Update File: a.txt\n*** Move to: /etc/motd\n*** End Patch\n";
    block_message(
        writes
            .evaluate_custom_tool("call_1", "apply_patch", moved)
            .verdict,
    );
    let harmless = "*** Begin Patch\n*** Update File: src/lib.rs\n@@\n-a\n+b\n*** End Patch\n";
    assert_eq!(
        writes
            .evaluate_custom_tool("call_1", "apply_patch", harmless)
            .verdict,
        Verdict::Pass
    );
}

#[test]
fn a_blocked_patch_shows_its_text_in_the_message_not_a_json_string() {
    let writes = presets::block_sensitive_file_writes();
    let m = block_message(
        writes
            .evaluate_custom_tool("call_1", "apply_patch", KEY_PATCH)
            .verdict,
    );
    assert!(
        m.starts_with("Luthien blocked this apply_patch call: it writes to a sensitive file"),
        "{m}"
    );
    assert!(
        m.contains("*** Add File: ~/.ssh/authorized_keys\n+ssh-ed25519"),
        "{m}"
    );
    assert!(!m.contains("\\n"), "no JSON escapes: {m}");
}

#[test]
fn the_input_pointer_is_the_free_form_text_and_matches_both_apply_patch_spellings() {
    let p = policy(json!([{
        "name": "no-key-files",
        "match": {"tool": "apply_patch", "input": {"pointer": "/input", "regex": "authorized_keys"}},
        "action": {"type": "block"}
    }]));
    block_message(
        p.evaluate_custom_tool("call_1", "apply_patch", KEY_PATCH)
            .verdict,
    );
    // Codex's older JSON function spelling, `{"input": patch}`, matches the same rule.
    block_message(verdict(&p, "apply_patch", json!({ "input": KEY_PATCH })));
    assert_eq!(
        p.evaluate_custom_tool("call_1", "apply_patch", "*** Begin Patch\n*** End Patch\n")
            .verdict,
        Verdict::Pass
    );
}

#[test]
fn a_replace_on_input_rewrites_the_text_and_keeps_the_call_free_form() {
    let p = policy(json!([{
        "name": "tabs", "match": {"input": {"pointer": "/input", "regex": "\t"}},
        "action": {"type": "replace", "replacement": "    "}
    }]));
    let d = p.evaluate_custom_tool(
        "call_1",
        "apply_patch",
        "*** Begin Patch\n*** Add File: a.py\n+\tx = 1\n*** End Patch\n",
    );
    assert_eq!(
        d.verdict,
        Verdict::Replace(vec![Block::custom_tool_use(
            "call_1",
            "apply_patch",
            "*** Begin Patch\n*** Add File: a.py\n+    x = 1\n*** End Patch\n"
        )])
    );
}

#[tokio::test]
async fn decide_holds_and_checks_free_form_calls_like_json_ones() {
    let p = presets::block_sensitive_file_writes();
    assert_eq!(p.need(BlockKind::ToolUse), Need::Hold);
    let ctx = DecisionContext {
        transaction_id: "t".into(),
        format: ApiFormat::OpenAiChat,
        request: Arc::new(json!({})),
        earlier_blocks: vec![],
    };
    let block = Block::custom_tool_use("call_1", "apply_patch", KEY_PATCH);
    let d = p.decide(&ctx, &block).await.unwrap();
    assert_eq!(d.verdict.label(), "block");
    assert!(d
        .rationale
        .unwrap()
        .starts_with("sensitive-file-write: it writes to a sensitive file"));
}
