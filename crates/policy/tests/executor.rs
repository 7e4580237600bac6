//! The executor: every verdict and block kind, streaming, each output checked by the
//! wire-invariant validator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use luthien_policy::executor::{DecisionStatus, Executor, ExecutorContext, Out};
use luthien_policy::{
    Block, BlockKind, Decision, DecisionContext, DeltaTransform, FailMode, Need, Policy,
    PolicyError, Verdict,
};
use protocol::anthropic::stream::Encoder;
use protocol::errors::ApiFormat;
use protocol::events::{
    BlockDelta, BlockStart, MessageDelta, MessageStart, StopReason, StreamEvent, Usage,
};
use protocol::validate::{validate_anthropic_sse, ValidatedStream};
use serde_json::{json, Value};

/// A test policy: holds tool calls and decides by tool input; streams text upper-cased.
struct TestPolicy {
    hold_tools: bool,
    hold_text: bool,
    upper: bool,
    fail: FailMode,
    delay: Duration,
}

impl Default for TestPolicy {
    fn default() -> Self {
        Self {
            hold_tools: true,
            hold_text: false,
            upper: false,
            fail: FailMode::FailClosed,
            delay: Duration::ZERO,
        }
    }
}

struct Upper;
impl DeltaTransform for Upper {
    fn push(&mut self, d: &str) -> String {
        d.to_uppercase()
    }
    fn finish(&mut self) -> String {
        String::new()
    }
}

#[async_trait]
impl Policy for TestPolicy {
    fn name(&self) -> String {
        "test".into()
    }
    fn need(&self, kind: BlockKind) -> Need {
        match kind {
            BlockKind::ToolUse if self.hold_tools => Need::Hold,
            BlockKind::Text if self.hold_text => Need::Hold,
            BlockKind::Text if self.upper => Need::Stream,
            _ => Need::Forward,
        }
    }
    fn transform(&self, _kind: BlockKind) -> Option<Box<dyn DeltaTransform>> {
        Some(Box::new(Upper))
    }
    async fn decide(&self, _ctx: &DecisionContext, block: &Block) -> Result<Decision, PolicyError> {
        tokio::time::sleep(self.delay).await;
        Ok(match block {
            Block::ToolUse { input, name, .. } => match input["cmd"].as_str() {
                Some("bad") => Decision::of(Verdict::Block {
                    message: format!("blocked {name}"),
                }),
                Some("error") => return Err(PolicyError::Unavailable("judge down".into())),
                Some("slow") => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Decision::pass()
                }
                Some("rewrite") => Decision::of(Verdict::Replace(vec![Block::tool_use(
                    "toolu_new",
                    name.clone(),
                    json!({"cmd": "safe"}),
                )])),
                _ => Decision::pass(),
            },
            Block::Text { text } if text.contains("secret") => {
                Decision::of(Verdict::Replace(vec![Block::text("[redacted]")]))
            }
            Block::Text { text } if text.contains("drop") => Decision::of(Verdict::Replace(vec![])),
            _ => Decision::pass(),
        })
    }
    fn fail_mode(&self) -> FailMode {
        self.fail
    }
    fn deadline(&self) -> Duration {
        Duration::from_millis(300)
    }
}

enum B {
    Text(&'static str),
    Tool(&'static str, &'static str),
    Thinking,
}

fn response(blocks: &[B], stop: StopReason) -> Vec<StreamEvent> {
    let mut ev = vec![StreamEvent::MessageStart(MessageStart {
        id: "msg_1".into(),
        model: "m".into(),
        usage: Usage::default(),
    })];
    for (index, b) in blocks.iter().enumerate() {
        match b {
            B::Text(t) => {
                ev.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::Text,
                });
                let (a, c) = t.split_at(t.len() / 2);
                ev.push(StreamEvent::BlockDelta {
                    index,
                    delta: BlockDelta::Text(a.into()),
                });
                ev.push(StreamEvent::BlockDelta {
                    index,
                    delta: BlockDelta::Text(c.into()),
                });
            }
            B::Tool(id, cmd) => {
                ev.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::ToolUse {
                        id: (*id).into(),
                        name: "Bash".into(),
                    },
                });
                let json = json!({"cmd": cmd}).to_string();
                let (a, c) = json.split_at(5);
                ev.push(StreamEvent::BlockDelta {
                    index,
                    delta: BlockDelta::InputJson(a.into()),
                });
                ev.push(StreamEvent::BlockDelta {
                    index,
                    delta: BlockDelta::InputJson(c.into()),
                });
            }
            B::Thinking => {
                ev.push(StreamEvent::BlockStart {
                    index,
                    block: BlockStart::Thinking,
                });
                ev.push(StreamEvent::BlockDelta {
                    index,
                    delta: BlockDelta::Thinking("hmm".into()),
                });
                ev.push(StreamEvent::BlockDelta {
                    index,
                    delta: BlockDelta::Signature("sig".into()),
                });
            }
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

fn ctx() -> ExecutorContext {
    ExecutorContext {
        transaction_id: "t".into(),
        format: ApiFormat::Anthropic,
        request: Arc::new(Value::Null),
    }
}

/// When an output came out: while upstream event N was being pushed, or after the upstream
/// ended, while waiting for decisions.
const AFTER_UPSTREAM: usize = usize::MAX;

/// Runs the executor over `events` as the gateway's pump does.
async fn run(policy: TestPolicy, events: Vec<StreamEvent>) -> (Vec<(usize, Out)>, Executor) {
    let mut ex = Executor::new(Arc::new(policy), ctx());
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
    (outs, ex)
}

fn validated(outs: &[(usize, Out)]) -> ValidatedStream {
    let mut enc = Encoder::new();
    let bytes: Vec<u8> = outs
        .iter()
        .flat_map(|(_, o)| enc.encode(&o.event).to_vec())
        .collect();
    validate_anthropic_sse(&bytes)
        .unwrap_or_else(|v| panic!("{v:?}\n{}", String::from_utf8_lossy(&bytes)))
}

#[tokio::test]
async fn three_tool_calls_with_the_middle_one_blocked() {
    let events = response(
        &[
            B::Text("Running now."),
            B::Tool("t1", "ls"),
            B::Tool("t2", "bad"),
            B::Tool("t3", "ls"),
        ],
        StopReason::ToolUse,
    );
    let (outs, ex) = run(TestPolicy::default(), events).await;
    let s = validated(&outs);
    assert_eq!(s.tool_calls.len(), 1, "only the first call survives");
    assert_eq!(s.tool_calls[0].id, "t1");
    assert_eq!(
        s.tool_calls[0].input,
        json!({"cmd": "ls"}),
        "its input arrives intact"
    );
    assert!(
        s.text.contains("Running now.") && s.text.contains("blocked Bash"),
        "{}",
        s.text
    );
    assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
    let blocked: Vec<_> = ex
        .records()
        .iter()
        .filter(|r| r.verdict == "block")
        .collect();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0].block_index, 2);
}

#[tokio::test]
async fn when_every_tool_call_is_blocked_the_stop_reason_becomes_end_turn() {
    let (outs, _) = run(
        TestPolicy::default(),
        response(&[B::Tool("t1", "bad")], StopReason::ToolUse),
    )
    .await;
    let s = validated(&outs);
    assert!(s.tool_calls.is_empty());
    assert_eq!(s.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(s.text, "blocked Bash");
}

#[tokio::test]
async fn text_before_a_held_tool_call_streams_before_the_decision() {
    let policy = TestPolicy {
        delay: Duration::from_millis(50),
        ..Default::default()
    };
    let events = response(
        &[B::Text("hello there"), B::Tool("t1", "ls")],
        StopReason::ToolUse,
    );
    let (outs, _) = run(policy, events).await;
    let first_text = outs
        .iter()
        .position(|(_, o)| {
            matches!(
                &o.event,
                StreamEvent::BlockDelta {
                    delta: BlockDelta::Text(_),
                    ..
                }
            )
        })
        .unwrap();
    assert!(
        outs[first_text].0 < AFTER_UPSTREAM,
        "text went out while the upstream was still being read"
    );
    let tool = outs
        .iter()
        .position(|(_, o)| {
            matches!(
                &o.event,
                StreamEvent::BlockStart {
                    block: BlockStart::ToolUse { .. },
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(
        outs[tool].0, AFTER_UPSTREAM,
        "the tool call waited for its decision"
    );
    validated(&outs);
}

#[tokio::test]
async fn a_replaced_tool_call_carries_the_new_input() {
    let (outs, _) = run(
        TestPolicy::default(),
        response(&[B::Tool("t1", "rewrite")], StopReason::ToolUse),
    )
    .await;
    let s = validated(&outs);
    assert_eq!(s.tool_calls[0].id, "toolu_new");
    assert_eq!(s.tool_calls[0].input, json!({"cmd": "safe"}));
    assert_eq!(s.stop_reason.as_deref(), Some("tool_use"));
}

#[tokio::test]
async fn fail_closed_blocks_on_error_and_on_deadline_and_records_unavailable() {
    for cmd in ["error", "slow"] {
        let (outs, ex) = run(
            TestPolicy::default(),
            response(&[B::Tool("t1", cmd)], StopReason::ToolUse),
        )
        .await;
        let s = validated(&outs);
        assert!(s.tool_calls.is_empty(), "{cmd}");
        assert!(s.text.contains("unavailable"), "{cmd}: {}", s.text);
        assert!(
            matches!(ex.records()[0].status, DecisionStatus::Unavailable(_)),
            "{cmd}"
        );
    }
}

#[tokio::test]
async fn fail_open_passes_but_records_unavailable_not_allowed() {
    let policy = TestPolicy {
        fail: FailMode::FailOpen,
        ..Default::default()
    };
    let (outs, ex) = run(
        policy,
        response(&[B::Tool("t1", "error")], StopReason::ToolUse),
    )
    .await;
    let s = validated(&outs);
    assert_eq!(s.tool_calls.len(), 1);
    assert_eq!(ex.records()[0].verdict, "pass");
    assert!(matches!(
        ex.records()[0].status,
        DecisionStatus::Unavailable(_)
    ));
}

#[tokio::test]
async fn held_text_can_be_replaced_or_removed_and_indices_stay_contiguous() {
    let policy = TestPolicy {
        hold_text: true,
        hold_tools: false,
        ..Default::default()
    };
    let events = response(
        &[
            B::Text("a secret here"),
            B::Text("please drop me"),
            B::Thinking,
            B::Text("fine"),
        ],
        StopReason::EndTurn,
    );
    let (outs, _) = run(policy, events).await;
    let s = validated(&outs);
    assert_eq!(s.text, "[redacted]fine");
    assert_eq!(s.thinking, "hmm");
}

#[tokio::test]
async fn streamed_transforms_apply_to_every_text_block_and_not_to_tools() {
    let policy = TestPolicy {
        upper: true,
        hold_tools: false,
        ..Default::default()
    };
    let (outs, _) = run(
        policy,
        response(
            &[B::Text("quiet words"), B::Tool("t1", "ls")],
            StopReason::ToolUse,
        ),
    )
    .await;
    let s = validated(&outs);
    assert_eq!(s.text, "QUIET WORDS");
    assert_eq!(s.tool_calls[0].input, json!({"cmd": "ls"}));
}

#[tokio::test]
async fn a_text_block_behind_a_held_one_keeps_its_stream_transform() {
    let policy = TestPolicy {
        upper: true,
        ..Default::default()
    };
    let events = response(
        &[B::Text("before"), B::Tool("t1", "ls"), B::Text("after")],
        StopReason::ToolUse,
    );
    let (outs, _) = run(policy, events).await;
    // Upstream text after a tool call keeps its place; only injected notes move before tools.
    let s = validated_allowing_text_after_tool(&outs);
    assert_eq!(s, "BEFOREAFTER");
}

fn validated_allowing_text_after_tool(outs: &[(usize, Out)]) -> String {
    outs.iter()
        .filter_map(|(_, o)| match &o.event {
            StreamEvent::BlockDelta {
                delta: BlockDelta::Text(t),
                ..
            } => Some(t.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn forwarded_events_keep_their_raw_bytes_only_when_unchanged() {
    let policy = TestPolicy {
        hold_tools: false,
        hold_text: true,
        ..Default::default()
    };
    let mut ex = Executor::new(Arc::new(policy), ctx());
    let raw = bytes::Bytes::from_static(b"event: x\n\n");
    let thinking = StreamEvent::BlockStart {
        index: 0,
        block: BlockStart::Thinking,
    };
    let outs = ex.push(thinking, Some(raw.clone()));
    assert_eq!(
        outs[0].raw.as_ref(),
        Some(&raw),
        "index unchanged: the upstream bytes are reused"
    );
    ex.push(StreamEvent::BlockStop { index: 0 }, None);
    // Block 1 (text) is held and dropped by the policy, so block 2 becomes client block 1.
    ex.push(
        StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::Text,
        },
        None,
    );
    ex.push(
        StreamEvent::BlockDelta {
            index: 1,
            delta: BlockDelta::Text("drop".into()),
        },
        None,
    );
    ex.push(StreamEvent::BlockStop { index: 1 }, None);
    while ex.is_waiting() {
        ex.next_resolved().await;
    }
    let outs = ex.push(
        StreamEvent::BlockStart {
            index: 2,
            block: BlockStart::Thinking,
        },
        Some(raw.clone()),
    );
    assert_eq!(
        outs[0].event,
        StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::Thinking
        }
    );
    assert_eq!(
        outs[0].raw, None,
        "re-indexed: the upstream bytes would lie"
    );
}

#[tokio::test]
async fn an_upstream_error_ends_the_stream_and_cancels_pending_decisions() {
    let policy = TestPolicy {
        delay: Duration::from_millis(200),
        ..Default::default()
    };
    let mut ex = Executor::new(Arc::new(policy), ctx());
    let mut events = response(&[B::Tool("t1", "ls")], StopReason::ToolUse);
    events.truncate(5);
    for ev in events {
        ex.push(ev, None);
    }
    assert!(ex.is_waiting());
    let out = ex.push(
        StreamEvent::Error(protocol::events::StreamError {
            kind: protocol::errors::ErrorKind::Overloaded,
            message: "x".into(),
        }),
        None,
    );
    assert!(matches!(out[0].event, StreamEvent::Error(_)));
    assert!(ex.is_finished());
}
