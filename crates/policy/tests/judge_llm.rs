//! `llm_judge`: plain-English instructions turned into pass / replace / block verdicts, a
//! strict reply contract, the prompt it builds, and how its config loads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod judge_fakes;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use judge_fakes::{bash, ctx, ctx_with, no_retries, with, Scripted, Slow};
use luthien_policy::judge::{JudgeClient, LlmJudgeConfig, LlmJudgePolicy};
use luthien_policy::{Block, BlockKind, Decision, FailMode, Need, Policy, PolicyError, Verdict};
use serde_json::{json, Value};

const INSTRUCTIONS: &str = "Rewrite pip to uv pip.";

fn policy(config: Value, client: Arc<dyn JudgeClient>) -> LlmJudgePolicy {
    let config = with(
        with(no_retries(), json!({"instructions": INSTRUCTIONS})),
        config,
    );
    LlmJudgePolicy::from_config(&config, client).unwrap()
}

async fn decide_with_reply(reply: &str, block: &Block) -> Result<Decision, PolicyError> {
    policy(json!({}), Scripted::reply(reply))
        .decide(&ctx(), block)
        .await
}

fn config_error(config: Value) -> (String, String) {
    match LlmJudgePolicy::from_config(&config, Scripted::reply("{}")) {
        Err(PolicyError::Config { field, message, .. }) => (field, message),
        Err(other) => panic!("expected a config error, got {other:?}"),
        Ok(_) => panic!("expected a config error, the config loaded"),
    }
}

fn assert_unavailable(reply: &str, result: Result<Decision, PolicyError>) {
    match result {
        Err(PolicyError::Unavailable(_)) => {}
        other => panic!("reply {reply}: expected Err(Unavailable), got {other:?}"),
    }
}

// --- verdicts ---

#[tokio::test]
async fn a_pass_reply_keeps_the_block() {
    let decision = decide_with_reply(r#"{"action":"pass"}"#, &Block::text("hello"))
        .await
        .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
    assert_eq!(decision.judge_model.as_deref(), Some("claude-haiku-4-5"));
    assert_eq!(decision.score, None);
}

#[tokio::test]
async fn a_replace_reply_with_text_replaces_the_block() {
    let reply =
        r#"{"action":"replace","blocks":[{"type":"text","text":"Run `uv pip install x`."}]}"#;
    let decision = decide_with_reply(reply, &Block::text("Run `pip install x`."))
        .await
        .unwrap();
    assert_eq!(
        decision.verdict,
        Verdict::Replace(vec![Block::text("Run `uv pip install x`.")])
    );
}

#[tokio::test]
async fn a_replace_reply_with_a_tool_call_gets_a_fresh_tool_id() {
    let reply = r#"{"action":"replace","blocks":[{"type":"tool_use","name":"Bash","input":{"command":"uv pip install x"}}]}"#;
    let decision = decide_with_reply(reply, &bash("pip install x"))
        .await
        .unwrap();
    let Verdict::Replace(blocks) = decision.verdict else {
        panic!("expected a replace")
    };
    let [Block::ToolUse {
        id, name, input, ..
    }] = blocks.as_slice()
    else {
        panic!("expected one tool call, got {blocks:?}")
    };
    assert_eq!(name, "Bash");
    assert_eq!(input, &json!({"command": "uv pip install x"}));
    assert_ne!(id, "toolu_original");
    let hex = id.strip_prefix("toolu_").unwrap();
    assert_eq!(hex.len(), 24, "{id}");
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
}

#[tokio::test]
async fn each_replacement_tool_call_gets_its_own_id() {
    let reply = r#"{"action":"replace","blocks":[{"type":"tool_use","name":"A"},{"type":"text","text":"and"},{"type":"tool_use","name":"B","input":{}}]}"#;
    let decision = decide_with_reply(reply, &bash("x")).await.unwrap();
    let Verdict::Replace(blocks) = decision.verdict else {
        panic!("expected a replace")
    };
    let ids: Vec<&str> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { id, input, .. } => {
                assert_eq!(input, &json!({}), "a missing input defaults to {{}}");
                Some(id.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn a_block_reply_blocks_with_the_judges_message() {
    let reply =
        "```json\n{\"action\":\"block\",\"message\":\"Deleting the repo is not allowed.\"}\n```";
    let decision = decide_with_reply(reply, &bash("rm -rf .git"))
        .await
        .unwrap();
    assert_eq!(
        decision.verdict,
        Verdict::Block {
            message: "Deleting the repo is not allowed.".to_owned()
        }
    );
    assert_eq!(
        decision.rationale.as_deref(),
        Some("Deleting the repo is not allowed.")
    );
}

#[tokio::test]
async fn a_reply_with_prose_around_the_json_is_read() {
    let decision = decide_with_reply("Sure! {\"action\":\"pass\"} Done.", &Block::text("x"))
        .await
        .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
}

#[tokio::test]
async fn replies_outside_the_contract_are_failures_not_passes() {
    for reply in [
        "looks fine to me",
        r#"{"verdict":"pass"}"#,
        r#"{"action":"allow"}"#,
        r#"{"action":"replace"}"#,
        r#"{"action":"replace","blocks":[]}"#,
        r#"{"action":"replace","blocks":"text"}"#,
        r#"{"action":"replace","blocks":[{"type":"text"}]}"#,
        r#"{"action":"replace","blocks":[{"type":"text","text":""}]}"#,
        r#"{"action":"replace","blocks":[{"type":"tool_use","input":{}}]}"#,
        r#"{"action":"replace","blocks":[{"type":"tool_use","name":"Bash","input":"ls"}]}"#,
        r#"{"action":"replace","blocks":[{"type":"image"}]}"#,
        r#"{"action":"replace","blocks":[{"text":"no type"}]}"#,
        r#"{"action":"block"}"#,
        r#"{"action":"block","message":"  "}"#,
        r#"{"action":"pass""#,
    ] {
        assert_unavailable(reply, decide_with_reply(reply, &Block::text("x")).await);
    }
}

#[tokio::test]
async fn a_client_error_is_a_failure() {
    let client = Scripted::error("401 invalid key");
    let result = policy(json!({}), client.clone())
        .decide(&ctx(), &Block::text("x"))
        .await;
    assert_unavailable("(client error)", result);
    assert_eq!(client.calls().len(), 1);
}

// --- the prompt ---

#[tokio::test]
async fn the_system_prompt_has_the_instructions_and_the_exact_reply_contract() {
    let client = Scripted::reply(r#"{"action":"pass"}"#);
    policy(json!({}), client.clone())
        .decide(&ctx(), &Block::text("x"))
        .await
        .unwrap();
    let call = client.only_call();
    assert!(call.system.contains(INSTRUCTIONS), "{}", call.system);
    for form in [
        r#"{"action":"pass"}"#,
        r#"{"action":"replace","blocks":[{"type":"text","text":"..."},{"type":"tool_use","name":"...","input":{...}}]}"#,
        r#"{"action":"block","message":"..."}"#,
    ] {
        assert!(
            call.system.contains(form),
            "system prompt lacks {form}:\n{}",
            call.system
        );
    }
    assert!(call.json_mode);
    assert_eq!(call.max_tokens, 4096);
}

#[tokio::test]
async fn earlier_blocks_appear_numbered_in_the_prompt_before_the_current_block() {
    let client = Scripted::reply(r#"{"action":"pass"}"#);
    let earlier = vec![
        Block::text("I'll install it."),
        Block::Thinking {
            thinking: "PRIVATE".to_owned(),
            signature: "sig".to_owned(),
        },
        bash("ls"),
    ];
    policy(json!({}), client.clone())
        .decide(&ctx_with(earlier), &bash("pip install requests"))
        .await
        .unwrap();
    let user = client.only_call().user;
    let first = user.find("[0] (text) I'll install it.").expect(&user);
    let second = user.find("[1] (thinking)").expect(&user);
    let third = user
        .find(r#"[2] (tool_use) Bash({"command":"ls"})"#)
        .expect(&user);
    let current = user
        .find(r#"(tool_use) Bash({"command":"pip install requests"})"#)
        .expect(&user);
    assert!(
        first < second && second < third && third < current,
        "{user}"
    );
    assert!(
        !user.contains("PRIVATE"),
        "thinking content must not reach the judge: {user}"
    );
}

#[tokio::test]
async fn without_earlier_blocks_the_prompt_has_only_the_current_block() {
    let client = Scripted::reply(r#"{"action":"pass"}"#);
    policy(json!({}), client.clone())
        .decide(&ctx(), &Block::text("hello"))
        .await
        .unwrap();
    let user = client.only_call().user;
    assert!(!user.contains("[0]"), "{user}");
    assert!(user.ends_with("(text) hello"), "{user}");
}

// --- which blocks are judged ---

#[tokio::test]
async fn text_and_tool_calls_are_held_by_default_and_nothing_else() {
    let policy = policy(json!({}), Scripted::reply("{}"));
    assert_eq!(policy.name(), "llm_judge");
    assert_eq!(policy.need(BlockKind::Text), Need::Hold);
    assert_eq!(policy.need(BlockKind::ToolUse), Need::Hold);
    assert_eq!(policy.need(BlockKind::Thinking), Need::Forward);
    assert_eq!(policy.need(BlockKind::Other), Need::Forward);
}

#[tokio::test]
async fn apply_to_limits_the_judged_kinds() {
    let client = Scripted::reply(r#"{"action":"block","message":"no"}"#);
    let policy = policy(json!({"apply_to": ["tool_use"]}), client.clone());
    assert_eq!(policy.need(BlockKind::Text), Need::Forward);
    assert_eq!(policy.need(BlockKind::ToolUse), Need::Hold);
    let decision = policy.decide(&ctx(), &Block::text("x")).await.unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
    assert!(client.calls().is_empty());
}

// --- configuration ---

#[test]
fn instructions_are_required() {
    assert_eq!(config_error(json!({})).0, "instructions");
    assert_eq!(
        config_error(json!({"instructions": "  "})).0,
        "instructions"
    );
}

#[test]
fn the_config_defaults_are_the_documented_ones() {
    let policy =
        LlmJudgePolicy::from_config(&json!({"instructions": "x"}), Scripted::reply("{}")).unwrap();
    let config = policy.config();
    assert_eq!(config.model, "claude-haiku-4-5");
    assert_eq!(config.temperature, 0.0);
    assert_eq!(config.max_tokens, 4096);
    assert_eq!(policy.deadline(), Duration::from_secs(60));
    assert_eq!(policy.fail_mode(), FailMode::FailClosed);
}

#[test]
fn the_example_config_loads() {
    LlmJudgePolicy::from_config(&LlmJudgeConfig::example(), Scripted::reply("{}")).unwrap();
}

#[test]
fn config_errors_name_the_field() {
    assert_eq!(
        config_error(json!({"instructions": "x", "aply_to": ["text"]})).0,
        "aply_to"
    );
    assert_eq!(
        config_error(json!({"instructions": "x", "apply_to": []})).0,
        "apply_to"
    );
    assert_eq!(
        config_error(json!({"instructions": "x", "apply_to": ["thinking"]})).0,
        "apply_to[0]"
    );
    assert_eq!(
        config_error(json!({"instructions": "x", "timeout_seconds": -1})).0,
        "timeout_seconds"
    );
    assert_eq!(config_error(json!({"instructions": 3})).0, "instructions");
}

#[test]
fn the_predecessors_simple_llm_yaml_config_loads_unchanged() {
    let yaml = r#"
instructions: |
  Replace tool calls that run rm -rf with a text block explaining the risk.
model: claude-haiku-4-5
api_base: https://api.anthropic.com
temperature: 0.0
max_tokens: 4096
on_error: pass
max_retries: 2
retry_delay: 0.5
"#;
    let value: Value = serde_yaml_ng::from_str(yaml).unwrap();
    let policy = LlmJudgePolicy::from_config(&value, Scripted::reply("{}")).unwrap();
    assert_eq!(
        policy.fail_mode(),
        FailMode::FailOpen,
        "on_error: pass means fail open"
    );
    assert_eq!(policy.config().max_retries, 2);
}

#[test]
fn on_error_block_means_fail_closed_and_cannot_be_combined_with_fail_mode() {
    let policy = LlmJudgePolicy::from_config(
        &json!({"instructions": "x", "on_error": "block"}),
        Scripted::reply("{}"),
    )
    .unwrap();
    assert_eq!(policy.fail_mode(), FailMode::FailClosed);
    let (field, _) =
        config_error(json!({"instructions": "x", "on_error": "pass", "fail_mode": "fail_closed"}));
    assert_eq!(field, "on_error");
}

// --- concurrency ---

#[tokio::test]
async fn two_decisions_on_one_policy_run_concurrently() {
    let client = Slow::new(Duration::from_millis(200), r#"{"action":"pass"}"#);
    let policy = policy(json!({}), client.clone());
    let (ctx_a, ctx_b) = (ctx(), ctx());
    let (a, b) = (bash("ls"), Block::text("hi"));
    let (first, second) = tokio::join!(policy.decide(&ctx_a, &a), policy.decide(&ctx_b, &b));
    first.unwrap();
    second.unwrap();
    assert_eq!(client.max_in_flight.load(Ordering::SeqCst), 2);
}

// --- free-form (custom) tool calls ---

const PATCH: &str = "*** Begin Patch\n*** Update File: setup.sh\n@@\n-pip install x\n+pip install y\n*** End Patch\n";

#[tokio::test]
async fn a_free_form_call_appears_in_the_prompt_with_its_text() {
    let client = Scripted::reply(r#"{"action":"pass"}"#);
    let p = policy(json!({}), client.clone());
    let block = Block::custom_tool_use("call_1", "apply_patch", PATCH);
    assert_eq!(p.need(block.kind()), Need::Hold);
    let decision = p.decide(&ctx(), &block).await.unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
    let user = client.only_call().user;
    assert!(
        user.contains(&format!(
            "(custom_tool_use) apply_patch, free-form input:\n<input>\n{PATCH}\n</input>"
        )),
        "{user}"
    );
    assert!(user.contains("\"type\":\"custom_tool_use\""), "{user}");
}

#[tokio::test]
async fn a_replace_reply_can_rewrite_a_free_form_call() {
    let reply = r#"{"action":"replace","blocks":[{"type":"custom_tool_use","name":"apply_patch","input":"*** Begin Patch\n*** End Patch\n"}]}"#;
    let decision = decide_with_reply(
        reply,
        &Block::custom_tool_use("call_1", "apply_patch", PATCH),
    )
    .await
    .unwrap();
    let Verdict::Replace(blocks) = decision.verdict else {
        panic!("expected a replace")
    };
    let [Block::ToolUse {
        name,
        input,
        format,
        ..
    }] = blocks.as_slice()
    else {
        panic!("expected one tool call, got {blocks:?}")
    };
    assert_eq!(name, "apply_patch");
    assert_eq!(input, &json!("*** Begin Patch\n*** End Patch\n"));
    assert_eq!(*format, luthien_policy::ToolInputFormat::Freeform);
    let bad = r#"{"action":"replace","blocks":[{"type":"custom_tool_use","name":"apply_patch","input":{}}]}"#;
    assert_unavailable(
        bad,
        decide_with_reply(bad, &Block::custom_tool_use("call_1", "apply_patch", PATCH)).await,
    );
}
