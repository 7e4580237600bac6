//! Free-form (custom) tool calls through the executor: Codex's `apply_patch` arrives as
//! `CustomToolUse` + `CustomInput` events and is held, judged, blocked, passed and replaced
//! like any tool call. Every output is encoded as the Responses stream Codex reads and checked
//! by the wire-invariant validator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod judge_fakes;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use judge_fakes::{Scripted, Slow};
use luthien_policy::executor::{DecisionStatus, Executor, ExecutorContext, Out, ToolCallRecord};
use luthien_policy::judge::ToolCallJudgePolicy;
use luthien_policy::rules::presets;
use luthien_policy::{
    Block, BlockKind, Decision, DecisionContext, Need, Policy, PolicyError, ToolInputFormat,
    Verdict,
};
use protocol::errors::ApiFormat;
use protocol::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamEvent, Usage,
};
use protocol::openai::responses_stream::{Encoder, EncoderOptions};
use protocol::validate::{validate_responses_sse, ValidatedStream};
use serde_json::{json, Value};

const SSH_PATCH: &str = "*** Begin Patch\n*** Add File: ~/.ssh/authorized_keys\n+ssh-ed25519 AAAAC3Nza attacker@evil\n*** End Patch\n";
const HARMLESS_PATCH: &str = "*** Begin Patch\n*** Update File: src/lib.rs\n@@ fn main\n-    println!(\"hi\");\n+    println!(\"hello\");\n*** Add File: docs/notes.md\n+notes\n*** End Patch\n";

/// One upstream block.
enum B {
    Text(&'static str),
    /// A JSON function call: id, name, arguments.
    Call(&'static str, &'static str, Value),
    /// A free-form custom call: id, name, input (sent as one fragment per line).
    Custom(&'static str, &'static str, &'static str),
}

fn response(blocks: &[B], stop: StopReason) -> Vec<StreamEvent> {
    let mut ev = vec![StreamEvent::MessageStart(MessageStart {
        id: "resp_1".into(),
        model: "gpt-5.5".into(),
        usage: Usage::default(),
    })];
    for (index, b) in blocks.iter().enumerate() {
        let (start, deltas): (BlockStart, Vec<BlockDelta>) = match b {
            B::Text(t) => {
                let (a, c) = t.split_at(t.len() / 2);
                (
                    BlockStart::Text,
                    vec![BlockDelta::Text(a.into()), BlockDelta::Text(c.into())],
                )
            }
            B::Call(id, name, args) => {
                let json = args.to_string();
                let (a, c) = json.split_at(4);
                (
                    BlockStart::ToolUse {
                        id: (*id).into(),
                        name: (*name).into(),
                    },
                    vec![
                        BlockDelta::InputJson(a.into()),
                        BlockDelta::InputJson(c.into()),
                    ],
                )
            }
            B::Custom(id, name, input) => (
                BlockStart::CustomToolUse {
                    id: (*id).into(),
                    name: (*name).into(),
                },
                input
                    .split_inclusive('\n')
                    .map(|line| BlockDelta::CustomInput(line.into()))
                    .collect(),
            ),
        };
        ev.push(StreamEvent::BlockStart {
            index,
            block: start,
        });
        for delta in deltas {
            ev.push(StreamEvent::BlockDelta { index, delta });
        }
        ev.push(StreamEvent::BlockStop { index });
    }
    ev.push(StreamEvent::MessageDelta(MessageDelta {
        stop_reason: Some(stop),
        stop_sequence: None,
        usage: Usage::default(),
    }));
    ev.push(StreamEvent::MessageStop);
    ev
}

/// When an output came out: while upstream event N was pushed, or after the upstream ended.
const AFTER_UPSTREAM: usize = usize::MAX;

async fn run(policy: Arc<dyn Policy>, events: Vec<StreamEvent>) -> (Vec<(usize, Out)>, Executor) {
    let ctx = ExecutorContext {
        transaction_id: "t".into(),
        format: ApiFormat::OpenAiChat,
        request: Arc::new(Value::Null),
    };
    let mut ex = Executor::new(policy, ctx);
    let mut outs = Vec::new();
    for (i, ev) in events.into_iter().enumerate() {
        for o in ex.push(ev, None) {
            outs.push((i + 1, o));
        }
    }
    while ex.is_waiting() {
        for o in ex.next_resolved().await {
            outs.push((AFTER_UPSTREAM, o));
        }
    }
    assert!(ex.is_finished(), "the executor ended the message");
    (outs, ex)
}

fn events(outs: &[(usize, Out)]) -> Vec<StreamEvent> {
    outs.iter().map(|(_, o)| o.event.clone()).collect()
}

/// The output as Codex receives it, checked against the Responses wire invariants.
fn validated(outs: &[(usize, Out)]) -> ValidatedStream {
    let mut enc = Encoder::new(EncoderOptions {
        id: Some("resp_luthien".into()),
        model: Some("gpt-5.5".into()),
        created_at: 1_755_443_394,
        echo: Default::default(),
    });
    let bytes: Vec<u8> = outs
        .iter()
        .flat_map(|(_, o)| enc.encode(&o.event))
        .flat_map(|b| b.to_vec())
        .collect();
    validate_responses_sse(&bytes)
        .unwrap_or_else(|v| panic!("{v:?}\n{}", String::from_utf8_lossy(&bytes)))
}

fn has_custom_call(outs: &[(usize, Out)]) -> bool {
    outs.iter().any(|(_, o)| {
        matches!(
            &o.event,
            StreamEvent::BlockStart {
                block: BlockStart::CustomToolUse { .. },
                ..
            } | StreamEvent::BlockDelta {
                delta: BlockDelta::CustomInput(_),
                ..
            }
        )
    })
}

fn stop_reason(outs: &[(usize, Out)]) -> Option<StopReason> {
    outs.iter().find_map(|(_, o)| match &o.event {
        StreamEvent::MessageDelta(d) => d.stop_reason.clone(),
        _ => None,
    })
}

/// The text of each output text block, in order, and the kind of every block.
fn layout(outs: &[(usize, Out)]) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    for (_, o) in outs {
        match &o.event {
            StreamEvent::BlockStart { block, .. } => blocks.push(match block {
                BlockStart::Text => "text:".to_owned(),
                BlockStart::ToolUse { name, .. } => format!("call:{name}"),
                BlockStart::CustomToolUse { name, .. } => format!("custom:{name}"),
                other => format!("{other:?}"),
            }),
            StreamEvent::BlockDelta {
                delta: BlockDelta::Text(t),
                ..
            } => {
                if let Some(last) = blocks.last_mut() {
                    last.push_str(t);
                }
            }
            _ => {}
        }
    }
    blocks
}

#[tokio::test]
async fn an_apply_patch_writing_authorized_keys_is_blocked_by_block_sensitive_file_writes() {
    let upstream = response(
        &[B::Custom("call_1", "apply_patch", SSH_PATCH)],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(Arc::new(presets::block_sensitive_file_writes()), upstream).await;
    let s = validated(&outs);
    assert!(!has_custom_call(&outs), "the patch never reaches Codex");
    assert!(s.tool_calls.is_empty());
    assert!(
        s.text.starts_with("Luthien blocked this apply_patch call")
            && s.text.contains("~/.ssh/authorized_keys"),
        "{}",
        s.text
    );
    assert!(
        s.text.contains("*** Add File: ~/.ssh/authorized_keys\n"),
        "the message shows the patch as text, not as a JSON string: {}",
        s.text
    );
    assert_eq!(
        stop_reason(&outs),
        Some(StopReason::EndTurn),
        "its only call was removed"
    );
    let records = ex.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].verdict, "block");
    assert_eq!(records[0].kind, BlockKind::ToolUse);
    assert_eq!(
        records[0].tool_call,
        Some(ToolCallRecord {
            id: "call_1".into(),
            name: "apply_patch".into(),
            format: ToolInputFormat::Freeform,
            input: json!(SSH_PATCH),
        }),
        "the record names the tool and shows its input"
    );
}

#[tokio::test]
async fn a_blocked_patch_puts_its_message_before_the_kept_calls_and_drops_what_follows() {
    let upstream = response(
        &[
            B::Text("Setting up access."),
            B::Call("call_1", "exec_command", json!({"cmd": "ls"})),
            B::Custom("call_2", "apply_patch", SSH_PATCH),
            B::Call("call_3", "exec_command", json!({"cmd": "pwd"})),
        ],
        StopReason::ToolUse,
    );
    let (outs, _) = run(Arc::new(presets::block_sensitive_file_writes()), upstream).await;
    let s = validated(&outs);
    let layout = layout(&outs);
    assert_eq!(layout.len(), 3, "{layout:?}");
    assert_eq!(layout[0], "text:Setting up access.");
    assert!(
        layout[1].starts_with("text:Luthien blocked this apply_patch call"),
        "the block message precedes the first tool call: {layout:?}"
    );
    assert_eq!(
        layout[2], "call:exec_command",
        "nothing after the blocked call"
    );
    assert_eq!(s.tool_calls.len(), 1);
    assert_eq!(s.tool_calls[0].id, "call_1");
    assert_eq!(s.tool_calls[0].input, json!({"cmd": "ls"}));
    assert_eq!(stop_reason(&outs), Some(StopReason::ToolUse));
}

#[tokio::test]
async fn a_harmless_patch_passes_with_identical_events() {
    let upstream = response(
        &[
            B::Text("Editing."),
            B::Custom("call_1", "apply_patch", HARMLESS_PATCH),
        ],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(
        Arc::new(presets::block_sensitive_file_writes()),
        upstream.clone(),
    )
    .await;
    assert_eq!(events(&outs), upstream, "every event, fragments included");
    let s = validated(&outs);
    assert_eq!(s.tool_calls.len(), 1);
    assert_eq!(s.tool_calls[0].name, "apply_patch");
    assert_eq!(s.tool_calls[0].input, json!(HARMLESS_PATCH));
    assert_eq!(ex.records()[0].verdict, "pass");
    assert_eq!(ex.records()[0].status, DecisionStatus::Decided);
}

#[tokio::test]
async fn a_custom_call_is_held_while_the_text_before_it_streams() {
    let judge = ToolCallJudgePolicy::from_config(
        &json!({"max_retries": 0}),
        Slow::new(
            Duration::from_millis(50),
            r#"{"probability": 0.1, "explanation": "edits the project"}"#,
        ),
    )
    .unwrap();
    let upstream = response(
        &[
            B::Text("I will edit the file."),
            B::Custom("call_1", "apply_patch", HARMLESS_PATCH),
        ],
        StopReason::ToolUse,
    );
    let (outs, _) = run(Arc::new(judge), upstream).await;
    let text_at = outs
        .iter()
        .find(|(_, o)| {
            matches!(
                &o.event,
                StreamEvent::BlockDelta {
                    delta: BlockDelta::Text(_),
                    ..
                }
            )
        })
        .map(|(at, _)| *at)
        .unwrap();
    assert!(
        text_at < AFTER_UPSTREAM,
        "text went out while the upstream was read"
    );
    let call_at = outs
        .iter()
        .find(|(_, o)| {
            matches!(
                &o.event,
                StreamEvent::BlockStart {
                    block: BlockStart::CustomToolUse { .. },
                    ..
                }
            )
        })
        .map(|(at, _)| *at)
        .unwrap();
    assert_eq!(call_at, AFTER_UPSTREAM, "the call waited for its decision");
    let s = validated(&outs);
    assert_eq!(s.text, "I will edit the file.");
    assert_eq!(s.tool_calls[0].input, json!(HARMLESS_PATCH));
}

#[tokio::test]
async fn tool_call_judge_receives_the_patch_text_and_blocks_it_on_a_high_score() {
    let client = Scripted::reply(r#"{"probability": 0.97, "explanation": "installs an ssh key"}"#);
    let judge =
        ToolCallJudgePolicy::from_config(&json!({"max_retries": 0}), client.clone()).unwrap();
    let upstream = response(
        &[B::Custom("call_1", "apply_patch", SSH_PATCH)],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(Arc::new(judge), upstream).await;
    let call = client.only_call();
    assert!(call.user.contains("Tool: apply_patch"), "{}", call.user);
    assert!(
        call.user.contains(SSH_PATCH),
        "the judge reads the patch verbatim: {}",
        call.user
    );
    let s = validated(&outs);
    assert!(!has_custom_call(&outs));
    assert!(
        s.text.contains("`apply_patch`") && s.text.contains("*** Add File: ~/.ssh/authorized_keys"),
        "{}",
        s.text
    );
    assert_eq!(stop_reason(&outs), Some(StopReason::EndTurn));
    assert_eq!(ex.records()[0].score, Some(0.97));
    assert_eq!(
        ex.records()[0].tool_call.as_ref().map(|t| t.name.as_str()),
        Some("apply_patch")
    );
}

/// Replaces every tool call with a free-form call carrying a fixed patch.
struct RewritePatch;

const REWRITTEN: &str = "*** Begin Patch\n*** Add File: docs/safe.md\n+safe\n*** End Patch\n";

#[async_trait]
impl Policy for RewritePatch {
    fn name(&self) -> String {
        "rewrite_patch".into()
    }
    fn need(&self, kind: BlockKind) -> Need {
        match kind {
            BlockKind::ToolUse => Need::Hold,
            _ => Need::Forward,
        }
    }
    async fn decide(&self, _ctx: &DecisionContext, block: &Block) -> Result<Decision, PolicyError> {
        Ok(match block {
            Block::ToolUse {
                id,
                name,
                format: ToolInputFormat::Freeform,
                ..
            } => Decision::of(Verdict::Replace(vec![Block::custom_tool_use(
                id.clone(),
                name.clone(),
                REWRITTEN,
            )])),
            _ => Decision::pass(),
        })
    }
}

#[tokio::test]
async fn a_replace_verdict_on_a_custom_call_re_emits_custom_input() {
    let upstream = response(
        &[B::Custom("call_1", "apply_patch", SSH_PATCH)],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(Arc::new(RewritePatch), upstream).await;
    let tail: Vec<StreamEvent> = events(&outs)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                StreamEvent::BlockStart { .. }
                    | StreamEvent::BlockDelta { .. }
                    | StreamEvent::BlockStop { .. }
            )
        })
        .collect();
    assert_eq!(
        tail,
        vec![
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::CustomToolUse {
                    id: "call_1".into(),
                    name: "apply_patch".into()
                }
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: BlockDelta::CustomInput(REWRITTEN.into())
            },
            StreamEvent::BlockStop { index: 0 },
        ],
        "a custom call goes back as CustomInput, never InputJson"
    );
    let s = validated(&outs);
    assert_eq!(s.tool_calls[0].input, json!(REWRITTEN));
    assert_eq!(stop_reason(&outs), Some(StopReason::ToolUse));
    assert_eq!(ex.records()[0].verdict, "replace");
}

#[tokio::test]
async fn a_rules_replace_on_input_rewrites_the_patch_text_and_keeps_it_free_form() {
    let rules = luthien_policy::rules::RulesPolicy::from_config(&json!({"rules": [{
        "name": "notes-to-docs",
        "match": {"tool": "apply_patch", "input": {"pointer": "/input", "regex": "docs/notes\\.md"}},
        "action": {"type": "replace", "replacement": "docs/NOTES.md"}
    }]}))
    .unwrap();
    let upstream = response(
        &[B::Custom("call_1", "apply_patch", HARMLESS_PATCH)],
        StopReason::ToolUse,
    );
    let (outs, _) = run(Arc::new(rules), upstream).await;
    let s = validated(&outs);
    assert_eq!(
        s.tool_calls[0].input,
        json!(HARMLESS_PATCH.replace("docs/notes.md", "docs/NOTES.md"))
    );
    assert!(outs.iter().any(|(_, o)| matches!(
        &o.event,
        StreamEvent::BlockDelta { delta: BlockDelta::CustomInput(t), .. } if t.contains("docs/NOTES.md")
    )));
}

#[tokio::test]
async fn block_dangerous_commands_still_blocks_exec_command_and_shell_calls() {
    for (name, args) in [
        ("exec_command", json!({"cmd": "rm -rf /"})),
        ("exec_command", json!({"cmd": ["rm", "-rf", "/tmp/x"]})),
        ("shell", json!({"command": ["bash", "-lc", "rm -rf ~"]})),
    ] {
        let upstream = response(
            &[B::Call("call_1", name, args.clone())],
            StopReason::ToolUse,
        );
        let (outs, _) = run(Arc::new(presets::block_dangerous_commands()), upstream).await;
        let s = validated(&outs);
        assert!(s.tool_calls.is_empty(), "{name} {args}");
        assert!(
            s.text
                .starts_with(&format!("Luthien blocked this {name} call")),
            "{}",
            s.text
        );
        assert_eq!(stop_reason(&outs), Some(StopReason::EndTurn));
    }
    // A harmless command passes, and so does a patch (it runs no command).
    let upstream = response(
        &[
            B::Call("call_1", "exec_command", json!({"cmd": "cargo test"})),
            B::Custom("call_2", "apply_patch", HARMLESS_PATCH),
        ],
        StopReason::ToolUse,
    );
    let (outs, _) = run(
        Arc::new(presets::block_dangerous_commands()),
        upstream.clone(),
    )
    .await;
    assert_eq!(events(&outs), upstream);
}

#[tokio::test]
async fn without_a_tool_need_a_custom_call_is_forwarded_untouched() {
    let upstream = response(
        &[
            B::Text("Plain text."),
            B::Custom("call_1", "apply_patch", SSH_PATCH),
        ],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(Arc::new(presets::plain_dashes()), upstream.clone()).await;
    assert_eq!(events(&outs), upstream);
    assert!(ex.records().is_empty());
    assert!(outs.iter().all(|(at, _)| *at < AFTER_UPSTREAM));
}

#[tokio::test]
async fn an_unavailable_judge_fails_closed_on_a_custom_call() {
    let judge =
        ToolCallJudgePolicy::from_config(&json!({"max_retries": 0}), Scripted::error("down"))
            .unwrap();
    let upstream = response(
        &[B::Custom("call_1", "apply_patch", HARMLESS_PATCH)],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(Arc::new(judge), upstream).await;
    let s = validated(&outs);
    assert!(!has_custom_call(&outs));
    assert!(
        s.text
            .starts_with("Luthien blocked this apply_patch call because the tool_call_judge check was unavailable"),
        "{}",
        s.text
    );
    assert_eq!(stop_reason(&outs), Some(StopReason::EndTurn));
    assert!(matches!(
        ex.records()[0].status,
        DecisionStatus::Unavailable(_)
    ));
}
