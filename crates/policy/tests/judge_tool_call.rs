//! `tool_call_judge`: what it asks the judge, how it reads the reply, when it blocks, what the
//! agent sees, and how its config loads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod judge_fakes;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use judge_fakes::{bash, ctx, no_retries, tool, with, Scripted, Slow};
use luthien_policy::judge::tool_call::{DEFAULT_BLOCK_MESSAGE, DEFAULT_INSTRUCTIONS};
use luthien_policy::judge::{JudgeClient, ToolCallJudgeConfig, ToolCallJudgePolicy};
use luthien_policy::{Block, BlockKind, Decision, FailMode, Need, Policy, PolicyError, Verdict};
use serde_json::{json, Value};

fn policy(config: Value, client: Arc<dyn JudgeClient>) -> ToolCallJudgePolicy {
    ToolCallJudgePolicy::from_config(&with(no_retries(), config), client).unwrap()
}

async fn decide_with_reply(
    config: Value,
    reply: &str,
    block: &Block,
) -> Result<Decision, PolicyError> {
    policy(config, Scripted::reply(reply))
        .decide(&ctx(), block)
        .await
}

fn config_error(config: Value) -> (String, String) {
    match ToolCallJudgePolicy::from_config(&config, Scripted::reply("{}")) {
        Err(PolicyError::Config { field, message, .. }) => (field, message),
        Err(other) => panic!("expected a config error, got {other:?}"),
        Ok(_) => panic!("expected a config error, the config loaded"),
    }
}

fn block_message(decision: &Decision) -> &str {
    match &decision.verdict {
        Verdict::Block { message } => message,
        other => panic!("expected a block, got {other:?}"),
    }
}

fn assert_unavailable(result: Result<Decision, PolicyError>) {
    match result {
        Err(PolicyError::Unavailable(_)) => {}
        other => panic!("expected Err(Unavailable), got {other:?}"),
    }
}

// --- verdicts ---

#[tokio::test]
async fn a_low_probability_call_passes_and_records_score_rationale_and_model() {
    let decision = decide_with_reply(
        json!({}),
        r#"{"probability": 0.1, "explanation": "lists files"}"#,
        &bash("ls -la"),
    )
    .await
    .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
    assert_eq!(decision.score, Some(0.1));
    assert_eq!(decision.rationale.as_deref(), Some("lists files"));
    assert_eq!(decision.judge_model.as_deref(), Some("claude-haiku-4-5"));
}

#[tokio::test]
async fn a_high_probability_call_is_blocked() {
    let decision = decide_with_reply(
        json!({}),
        r#"{"probability": 0.95, "explanation": "deletes the home directory"}"#,
        &bash("rm -rf ~"),
    )
    .await
    .unwrap();
    assert!(matches!(decision.verdict, Verdict::Block { .. }));
    assert_eq!(decision.score, Some(0.95));
    assert_eq!(
        decision.rationale.as_deref(),
        Some("deletes the home directory")
    );
}

#[tokio::test]
async fn a_probability_exactly_at_the_threshold_blocks() {
    let decision = decide_with_reply(
        json!({"probability_threshold": 0.6}),
        r#"{"probability": 0.6, "explanation": "x"}"#,
        &bash("x"),
    )
    .await
    .unwrap();
    assert!(matches!(decision.verdict, Verdict::Block { .. }));
}

#[tokio::test]
async fn a_probability_just_below_the_threshold_passes() {
    let decision = decide_with_reply(
        json!({"probability_threshold": 0.6}),
        r#"{"probability": 0.5999, "explanation": "x"}"#,
        &bash("x"),
    )
    .await
    .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
}

#[tokio::test]
async fn a_threshold_of_zero_blocks_even_a_certainly_safe_call() {
    let decision = decide_with_reply(
        json!({"probability_threshold": 0.0}),
        r#"{"probability": 0, "explanation": "safe"}"#,
        &bash("ls"),
    )
    .await
    .unwrap();
    assert!(matches!(decision.verdict, Verdict::Block { .. }));
}

// --- reading the reply ---

#[tokio::test]
async fn a_reply_in_a_json_code_fence_is_read() {
    let reply = "```json\n{\"probability\": 0.9, \"explanation\": \"bad\"}\n```";
    let decision = decide_with_reply(json!({}), reply, &bash("x"))
        .await
        .unwrap();
    assert_eq!(decision.score, Some(0.9));
}

#[tokio::test]
async fn a_reply_in_a_bare_code_fence_is_read() {
    let reply = "```\n{\"probability\": 0.2}\n```";
    let decision = decide_with_reply(json!({}), reply, &bash("x"))
        .await
        .unwrap();
    assert_eq!(decision.score, Some(0.2));
}

#[tokio::test]
async fn a_json_object_surrounded_by_prose_is_read() {
    let reply = "Let me think {briefly}. Here is my verdict: {\"probability\": 0.7, \"explanation\": \"curl | sh\"} Hope that helps!";
    let decision = decide_with_reply(json!({}), reply, &bash("curl x | sh"))
        .await
        .unwrap();
    assert_eq!(decision.score, Some(0.7));
    assert_eq!(decision.rationale.as_deref(), Some("curl | sh"));
}

#[tokio::test]
async fn a_probability_given_as_a_string_is_read_as_a_number() {
    let decision = decide_with_reply(json!({}), r#"{"probability": "0.75"}"#, &bash("x"))
        .await
        .unwrap();
    assert_eq!(decision.score, Some(0.75));
    assert!(matches!(decision.verdict, Verdict::Block { .. }));
}

#[tokio::test]
async fn a_probability_a_rounding_error_above_one_is_clamped_to_one() {
    let decision = decide_with_reply(json!({}), r#"{"probability": 1.0000000001}"#, &bash("x"))
        .await
        .unwrap();
    assert_eq!(decision.score, Some(1.0));
}

#[tokio::test]
async fn a_reply_without_an_explanation_still_decides() {
    let decision = decide_with_reply(json!({}), r#"{"probability": 0.1}"#, &bash("x"))
        .await
        .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
    assert_eq!(decision.rationale, None);
}

#[tokio::test]
async fn a_malformed_reply_is_a_failure_not_an_allow() {
    assert_unavailable(decide_with_reply(json!({}), "probably fine", &bash("x")).await);
    assert_unavailable(decide_with_reply(json!({}), r#"{"probability": 0.1"#, &bash("x")).await);
}

#[tokio::test]
async fn a_reply_without_a_probability_is_a_failure_not_an_allow() {
    assert_unavailable(
        decide_with_reply(json!({}), r#"{"explanation": "fine"}"#, &bash("x")).await,
    );
}

#[tokio::test]
async fn a_non_numeric_probability_is_a_failure() {
    assert_unavailable(decide_with_reply(json!({}), r#"{"probability": "low"}"#, &bash("x")).await);
    assert_unavailable(decide_with_reply(json!({}), r#"{"probability": null}"#, &bash("x")).await);
}

#[tokio::test]
async fn a_probability_outside_zero_to_one_is_a_failure() {
    assert_unavailable(decide_with_reply(json!({}), r#"{"probability": 1.5}"#, &bash("x")).await);
    assert_unavailable(decide_with_reply(json!({}), r#"{"probability": -0.2}"#, &bash("x")).await);
    assert_unavailable(decide_with_reply(json!({}), r#"{"probability": 80}"#, &bash("x")).await);
}

#[tokio::test]
async fn a_client_error_is_a_failure() {
    let client = Scripted::error("connection refused");
    let result = policy(json!({}), client.clone())
        .decide(&ctx(), &bash("x"))
        .await;
    match result {
        Err(PolicyError::Unavailable(message)) => {
            assert!(message.contains("connection refused"), "{message}")
        }
        other => panic!("expected Err(Unavailable), got {other:?}"),
    }
    assert_eq!(client.calls().len(), 1, "max_retries 0 means one attempt");
}

#[tokio::test]
async fn a_failed_call_is_retried_up_to_max_retries() {
    let client = Scripted::script(vec![
        Err("overloaded".to_owned()),
        Ok("not json".to_owned()),
        Ok(r#"{"probability": 0.2}"#.to_owned()),
    ]);
    let policy = policy(json!({"max_retries": 2, "retry_delay": 0}), client.clone());
    let decision = policy.decide(&ctx(), &bash("x")).await.unwrap();
    assert_eq!(decision.score, Some(0.2));
    assert_eq!(client.calls().len(), 3);
}

#[tokio::test]
async fn retries_stop_after_max_retries_with_a_failure() {
    let client = Scripted::error("overloaded");
    let policy = policy(json!({"max_retries": 2, "retry_delay": 0}), client.clone());
    assert_unavailable(policy.decide(&ctx(), &bash("x")).await);
    assert_eq!(client.calls().len(), 3);
}

// --- what the judge is asked ---

#[tokio::test]
async fn the_judge_gets_instructions_the_reply_format_and_the_pretty_printed_call() {
    let client = Scripted::reply(r#"{"probability": 0.1}"#);
    let policy = policy(
        json!({"instructions": "Only git is dangerous.", "temperature": 0.2, "max_tokens": 100}),
        client.clone(),
    );
    policy
        .decide(
            &ctx(),
            &tool("Write", json!({"path": "a.txt", "content": "hi"})),
        )
        .await
        .unwrap();
    let call = client.only_call();
    assert!(
        call.system.starts_with("Only git is dangerous."),
        "{}",
        call.system
    );
    assert!(
        call.system
            .contains(r#"{"probability": <number from 0 to 1>, "explanation":"#),
        "{}",
        call.system
    );
    assert!(call.user.contains("Tool: Write"), "{}", call.user);
    assert!(
        call.user
            .contains("{\n  \"path\": \"a.txt\",\n  \"content\": \"hi\"\n}"),
        "{}",
        call.user
    );
    assert!(call.json_mode);
    assert_eq!(call.model, "claude-haiku-4-5");
    assert_eq!(call.temperature, 0.2);
    assert_eq!(call.max_tokens, 100);
}

#[tokio::test]
async fn only_tool_calls_are_held() {
    let policy = policy(json!({}), Scripted::reply("{}"));
    assert_eq!(policy.need(BlockKind::ToolUse), Need::Hold);
    for kind in [
        BlockKind::Text,
        BlockKind::Thinking,
        BlockKind::RedactedThinking,
        BlockKind::Other,
    ] {
        assert_eq!(policy.need(kind), Need::Forward, "{kind:?}");
    }
    assert_eq!(policy.name(), "tool_call_judge");
}

#[tokio::test]
async fn a_text_block_passes_without_asking_the_judge() {
    let client = Scripted::reply(r#"{"probability": 1}"#);
    let decision = policy(json!({}), client.clone())
        .decide(&ctx(), &Block::text("hi"))
        .await
        .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
    assert!(client.calls().is_empty());
}

// --- the block message ---

#[tokio::test]
async fn the_block_message_names_the_tool_and_shows_pretty_arguments_and_probability() {
    let decision = decide_with_reply(
        json!({}),
        r#"{"probability": 0.875, "explanation": "SECRET-RATIONALE"}"#,
        &bash("rm -rf /"),
    )
    .await
    .unwrap();
    let message = block_message(&decision);
    assert!(message.contains("`Bash`"), "{message}");
    assert!(
        message.contains("{\n  \"command\": \"rm -rf /\"\n}"),
        "{message}"
    );
    assert!(message.contains("0.88"), "{message}");
    assert!(!message.contains("{rationale}"), "{message}");
}

#[tokio::test]
async fn the_block_message_hides_the_rationale_by_default() {
    let decision = decide_with_reply(
        json!({}),
        r#"{"probability": 0.9, "explanation": "SECRET-RATIONALE"}"#,
        &bash("x"),
    )
    .await
    .unwrap();
    let message = block_message(&decision);
    assert!(!message.contains("SECRET-RATIONALE"), "{message}");
    assert!(!message.contains("{rationale}"), "{message}");
    // The audit trail still has it.
    assert_eq!(decision.rationale.as_deref(), Some("SECRET-RATIONALE"));
}

#[tokio::test]
async fn the_block_message_shows_the_rationale_with_show_rationale() {
    let decision = decide_with_reply(
        json!({"show_rationale": true}),
        r#"{"probability": 0.9, "explanation": "SECRET-RATIONALE"}"#,
        &bash("x"),
    )
    .await
    .unwrap();
    assert!(block_message(&decision).contains("SECRET-RATIONALE"));
}

#[tokio::test]
async fn the_block_message_truncates_long_arguments() {
    let long = "a".repeat(5_000);
    let decision = decide_with_reply(json!({}), r#"{"probability": 0.9}"#, &bash(&long))
        .await
        .unwrap();
    let message = block_message(&decision);
    assert!(message.len() < 2_000, "message is {} bytes", message.len());
    assert!(message.contains("more characters"), "{message}");
}

#[tokio::test]
async fn a_custom_block_message_fills_every_placeholder() {
    let decision = decide_with_reply(
        json!({"block_message": "{tool}|{arguments}|{probability:.3f}|{rationale}|{{literal}}", "show_rationale": true}),
        r#"{"probability": 0.9, "explanation": "why"}"#,
        &tool("Read", json!({})),
    )
    .await
    .unwrap();
    assert_eq!(block_message(&decision), "Read|{}|0.900|why|{literal}");
}

#[tokio::test]
async fn the_predecessor_template_placeholders_still_render() {
    let decision = decide_with_reply(
        json!({"blocked_message_template": "BLOCKED {tool_name} {tool_arguments} p={probability:.2f} {explanation}"}),
        r#"{"probability": 0.9, "explanation": "why"}"#,
        &tool("Read", json!({})),
    )
    .await
    .unwrap();
    // `{explanation}` obeys show_rationale like `{rationale}`.
    assert_eq!(block_message(&decision), "BLOCKED Read {} p=0.90");
}

// --- configuration ---

#[test]
fn the_config_defaults_are_the_documented_ones() {
    let policy = ToolCallJudgePolicy::from_config(&Value::Null, Scripted::reply("{}")).unwrap();
    let config = policy.config();
    assert_eq!(config.model, "claude-haiku-4-5");
    assert_eq!(config.instructions, DEFAULT_INSTRUCTIONS);
    assert_eq!(config.probability_threshold, 0.6);
    assert_eq!(config.temperature, 0.0);
    assert_eq!(config.max_tokens, 256);
    assert_eq!(config.timeout_seconds, 30.0);
    assert_eq!(config.fail_mode, FailMode::FailClosed);
    assert_eq!(config.block_message, DEFAULT_BLOCK_MESSAGE);
    assert!(!config.show_rationale);
    assert_eq!(policy.deadline(), Duration::from_secs(30));
    assert_eq!(policy.fail_mode(), FailMode::FailClosed);
    assert_eq!(*config, ToolCallJudgeConfig::default());
}

#[test]
fn timeout_and_fail_mode_come_from_the_config() {
    let policy = ToolCallJudgePolicy::from_config(
        &json!({"timeout_seconds": 2.5, "fail_mode": "fail_open"}),
        Scripted::reply("{}"),
    )
    .unwrap();
    assert_eq!(policy.deadline(), Duration::from_millis(2_500));
    assert_eq!(policy.fail_mode(), FailMode::FailOpen);
}

#[test]
fn the_example_config_loads() {
    ToolCallJudgePolicy::from_config(&ToolCallJudgeConfig::example(), Scripted::reply("{}"))
        .unwrap();
}

#[test]
fn a_threshold_outside_zero_to_one_is_a_config_error_naming_the_field() {
    for threshold in [1.01, -0.1] {
        let (field, message) = config_error(json!({"probability_threshold": threshold}));
        assert_eq!(field, "probability_threshold", "{message}");
    }
    // Both ends are inclusive.
    for threshold in [0.0, 1.0] {
        ToolCallJudgePolicy::from_config(
            &json!({"probability_threshold": threshold}),
            Scripted::reply("{}"),
        )
        .unwrap();
    }
}

#[test]
fn an_unknown_key_is_a_config_error_naming_it() {
    let (field, message) = config_error(json!({"threshhold": 0.5}));
    assert_eq!(field, "threshhold", "{message}");
}

#[test]
fn a_wrongly_typed_value_is_a_config_error_naming_the_field() {
    let (field, message) = config_error(json!({"max_tokens": "lots"}));
    assert_eq!(field, "max_tokens", "{message}");
}

#[test]
fn an_unknown_template_placeholder_is_a_config_error() {
    let (field, message) = config_error(json!({"block_message": "blocked {tool} {reason}"}));
    assert_eq!(field, "block_message");
    assert!(message.contains("{reason}"), "{message}");
}

#[test]
fn out_of_range_timing_settings_are_config_errors_naming_the_field() {
    assert_eq!(
        config_error(json!({"timeout_seconds": 0})).0,
        "timeout_seconds"
    );
    assert_eq!(config_error(json!({"max_tokens": 0})).0, "max_tokens");
    assert_eq!(config_error(json!({"max_retries": 11})).0, "max_retries");
    assert_eq!(config_error(json!({"temperature": -1})).0, "temperature");
}

#[test]
fn the_predecessors_yaml_config_loads_unchanged() {
    let yaml = r#"
model: openai/gpt-4
api_base: http://localhost:4000
api_key: sk-local
probability_threshold: 0.7
temperature: 0.0
max_tokens: 256
judge_instructions: You are a security analyst. Judge the tool call.
blocked_message_template: "BLOCKED {tool_name}: {explanation} ({probability:.2f})"
"#;
    let value: Value = serde_yaml_ng::from_str(yaml).unwrap();
    let policy = ToolCallJudgePolicy::from_config(&value, Scripted::reply("{}")).unwrap();
    let config = policy.config();
    assert_eq!(config.model, "openai/gpt-4");
    assert_eq!(config.probability_threshold, 0.7);
    assert_eq!(
        config.instructions,
        "You are a security analyst. Judge the tool call."
    );
    assert_eq!(
        config.block_message,
        "BLOCKED {tool_name}: {explanation} ({probability:.2f})"
    );
    assert_eq!(config.api_base.as_deref(), Some("http://localhost:4000"));
}

#[test]
fn the_predecessors_provider_objects_are_refused_with_a_reason() {
    let (field, message) = config_error(json!({"inference_provider": {"name": "anthropic"}}));
    assert_eq!(field, "inference_provider");
    assert!(message.contains("gateway"), "{message}");
}

#[test]
fn the_api_key_is_never_serialized_back() {
    let policy =
        ToolCallJudgePolicy::from_config(&json!({"api_key": "sk-secret"}), Scripted::reply("{}"))
            .unwrap();
    let out = serde_json::to_string(policy.config()).unwrap();
    assert!(!out.contains("sk-secret"), "{out}");
}

#[test]
fn the_config_has_a_json_schema_listing_its_fields() {
    let schema = serde_json::to_value(schemars::schema_for!(ToolCallJudgeConfig)).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for field in [
        "model",
        "instructions",
        "probability_threshold",
        "block_message",
        "show_rationale",
        "fail_mode",
    ] {
        assert!(properties.contains_key(field), "schema lacks {field}");
    }
}

// --- concurrency ---

#[tokio::test]
async fn two_decisions_on_one_policy_run_concurrently() {
    let client = Slow::new(Duration::from_millis(200), r#"{"probability": 0.1}"#);
    let policy = policy(json!({}), client.clone());
    let (ctx_a, ctx_b) = (ctx(), ctx());
    let (a, b) = (bash("ls"), bash("pwd"));
    let (first, second) = tokio::join!(policy.decide(&ctx_a, &a), policy.decide(&ctx_b, &b));
    first.unwrap();
    second.unwrap();
    assert_eq!(client.max_in_flight.load(Ordering::SeqCst), 2);
}

// --- free-form (custom) tool calls ---

const PATCH: &str =
    "*** Begin Patch\n*** Add File: ~/.ssh/authorized_keys\n+ssh-ed25519 AAAA x\n*** End Patch\n";

#[tokio::test]
async fn a_free_form_call_is_judged_on_its_text_and_blocked_on_a_high_score() {
    let client = Scripted::reply(r#"{"probability": 0.9, "explanation": "adds an ssh key"}"#);
    let p = policy(json!({}), client.clone());
    let block = Block::custom_tool_use("call_1", "apply_patch", PATCH);
    let decision = p.decide(&ctx(), &block).await.unwrap();
    let user = client.only_call().user;
    assert!(user.contains("Tool: apply_patch"), "{user}");
    assert!(user.contains("free-form text, not JSON"), "{user}");
    assert!(
        user.contains(&format!("<input>\n{PATCH}\n</input>")),
        "{user}"
    );
    let m = block_message(&decision);
    assert!(m.contains("`apply_patch`"), "{m}");
    assert!(
        m.contains("*** Add File: ~/.ssh/authorized_keys\n"),
        "the agent sees the patch as text: {m}"
    );
    assert_eq!(decision.score, Some(0.9));
}

#[tokio::test]
async fn a_free_form_call_with_a_low_score_passes() {
    let decision = decide_with_reply(
        json!({}),
        r#"{"probability": 0.05, "explanation": "edits the project"}"#,
        &Block::custom_tool_use(
            "call_1",
            "apply_patch",
            "*** Begin Patch\n*** Update File: src/a.rs\n*** End Patch\n",
        ),
    )
    .await
    .unwrap();
    assert_eq!(decision.verdict, Verdict::Pass);
}
