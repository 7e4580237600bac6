//! The stream executor: applies a policy to a response, event by event, and alone decides what
//! the client receives, so the wire invariants hold by construction.
//!
//! Per block kind the policy asked to `Forward` (events pass, re-indexed; the raw upstream bytes
//! are reused when nothing changed), `Stream` (each delta goes through the policy's
//! [`DeltaTransform`]) or `Hold` (the block is buffered whole and [`Policy::decide`] runs in a
//! task, under the policy's deadline and fail mode, while the upstream keeps being read).
//!
//! Tool calls are JSON function calls (`ToolUse` events) or free-form custom calls
//! (`CustomToolUse` events, e.g. Codex's `apply_patch`): both are [`BlockKind::ToolUse`], held,
//! forwarded, blocked and counted alike; a held free-form call reaches the policy as a
//! [`Block::ToolUse`] with [`ToolInputFormat::Freeform`] and its whole text as a JSON string,
//! and goes back out as `CustomToolUse` + `CustomInput`, never as JSON. A call that passes
//! goes out with its original input fragments.
//!
//! Layout rules: blocks come out in upstream order with contiguous indices from 0; empty text
//! blocks are never emitted. When the policy holds tool calls, every tool call (and anything
//! after the first one) is kept back until the message ends, so that block messages can be
//! placed *before* the first tool call — text after a `tool_use` breaks agents. Once a tool call
//! is blocked, nothing after it is emitted and pending decisions are cancelled. The stop reason
//! becomes `end_turn` when every tool call was removed. `message_delta` and `message_stop` come
//! last, once every decision is in.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::events::{BlockDelta, BlockStart, MessageDelta, StopReason, StreamEvent};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::policy::{
    Block, BlockKind, Decision, DecisionContext, DeltaTransform, FailMode, Need, Policy,
    ToolInputFormat, Verdict,
};

/// An event for the client, with the upstream's raw bytes when the event is unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    /// The event.
    pub event: StreamEvent,
    /// The upstream frame's bytes, when the event is exactly what the upstream sent.
    pub raw: Option<Bytes>,
}

/// Whether a decision was made or the policy was unavailable.
#[derive(Debug, Clone, PartialEq)]
pub enum DecisionStatus {
    /// The policy decided.
    Decided,
    /// The policy failed or missed its deadline; the verdict is its fail mode's.
    Unavailable(String),
    /// Cancelled because an earlier tool call was blocked.
    Cancelled,
}

/// One decision, for logs and the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRecord {
    /// The deciding policy.
    pub policy: String,
    /// The upstream index of the block decided.
    pub block_index: usize,
    /// The block's kind.
    pub kind: BlockKind,
    /// The tool call decided, when the block is one (JSON or free-form).
    pub tool_call: Option<ToolCallRecord>,
    /// `pass`, `replace` or `block`.
    pub verdict: &'static str,
    /// Decided, unavailable or cancelled.
    pub status: DecisionStatus,
    /// The monitor's score, if any.
    pub score: Option<f64>,
    /// The rationale, if any.
    pub rationale: Option<String>,
    /// The judge model, if any.
    pub judge_model: Option<String>,
    /// The judge's own request and reply, if a judge was consulted.
    pub judge_exchange: Option<crate::policy::JudgeExchange>,
    /// How long the decision took.
    pub latency: Duration,
}

/// The tool call a decision was about, for logs and the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallRecord {
    /// The call id.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// JSON arguments or free-form text.
    pub format: ToolInputFormat,
    /// The input as the policy saw it (free-form text as a JSON string).
    pub input: Value,
}

impl ToolCallRecord {
    /// The record of `block` when it is a tool call.
    pub fn of(block: &Block) -> Option<Self> {
        match block {
            Block::ToolUse {
                id,
                name,
                input,
                format,
            } => Some(Self {
                id: id.clone(),
                name: name.clone(),
                format: *format,
                input: input.clone(),
            }),
            _ => None,
        }
    }
}

/// What the transaction is, for decisions.
#[derive(Debug, Clone)]
pub struct ExecutorContext {
    /// Transaction id.
    pub transaction_id: String,
    /// Client API.
    pub format: protocol::errors::ApiFormat,
    /// The request as sent upstream.
    pub request: Arc<Value>,
}

struct Resolved {
    decision: Decision,
    status: DecisionStatus,
    latency: Duration,
}

enum Open {
    /// Events pass through under a new index.
    Forward { out: Option<usize>, upstream: usize },
    /// Text deltas go through a transform; the block starts on the first non-empty output.
    Stream {
        out: Option<usize>,
        kind: BlockKind,
        transform: Box<dyn DeltaTransform>,
    },
    /// Buffered whole.
    Hold { upstream: usize, acc: Acc },
    /// Discarded (after a blocked tool call).
    Drop,
}

enum Acc {
    Text(String),
    Thinking {
        thinking: String,
        signature: String,
    },
    Redacted(String),
    /// A tool call: JSON fragments or free-form text, and the deltas as they came (re-emitted
    /// unchanged when the call passes).
    Tool {
        id: String,
        name: String,
        format: ToolInputFormat,
        input: String,
        deltas: Vec<BlockDelta>,
    },
}

enum Item {
    /// A finished block waiting for its decision.
    Pending {
        upstream: usize,
        block: Block,
        /// The block's deltas as the upstream sent them, when they can be re-emitted on a pass.
        original: Option<Vec<BlockDelta>>,
        task: JoinHandle<Resolved>,
    },
    /// A finished block that needs no decision (kept back only to keep order), with its
    /// original deltas when it is a tool call.
    Ready(Block, Option<Vec<BlockDelta>>),
}

/// Applies one policy to one response.
pub struct Executor {
    policy: Arc<dyn Policy>,
    ctx: ExecutorContext,
    needs: [Need; 5],
    next_out: usize,
    open: Option<Open>,
    queue: VecDeque<Item>,
    /// Blocks kept back until the message ends (tool calls and what follows them), with their
    /// original deltas when they passed unchanged.
    tail: Vec<(Block, Option<Vec<BlockDelta>>)>,
    tail_started: bool,
    notes: Vec<String>,
    blocked_tool: bool,
    tools_seen: usize,
    tools_kept: usize,
    earlier: Vec<Block>,
    end: Option<(MessageDelta, Option<Bytes>)>,
    stopped: bool,
    records: Vec<DecisionRecord>,
}

fn kind_slot(kind: BlockKind) -> usize {
    match kind {
        BlockKind::Text => 0,
        BlockKind::Thinking => 1,
        BlockKind::RedactedThinking => 2,
        BlockKind::ToolUse => 3,
        BlockKind::Other => 4,
    }
}

impl Executor {
    /// An executor for one response.
    pub fn new(policy: Arc<dyn Policy>, ctx: ExecutorContext) -> Self {
        let needs = [
            BlockKind::Text,
            BlockKind::Thinking,
            BlockKind::RedactedThinking,
            BlockKind::ToolUse,
            BlockKind::Other,
        ]
        .map(|k| match (k, policy.need(k)) {
            // Unknown blocks cannot be rebuilt from a verdict, so they are never held.
            (BlockKind::Other, _) => Need::Forward,
            // Only text can be transformed delta by delta.
            (BlockKind::Text, n) => n,
            (_, Need::Stream) => Need::Forward,
            (_, n) => n,
        });
        Self {
            policy,
            ctx,
            needs,
            next_out: 0,
            open: None,
            queue: VecDeque::new(),
            tail: Vec::new(),
            tail_started: false,
            notes: Vec::new(),
            blocked_tool: false,
            tools_seen: 0,
            tools_kept: 0,
            earlier: Vec::new(),
            end: None,
            stopped: false,
            records: Vec::new(),
        }
    }

    /// True when a policy with these needs leaves every event untouched.
    pub fn is_passthrough(policy: &dyn Policy) -> bool {
        [
            BlockKind::Text,
            BlockKind::Thinking,
            BlockKind::RedactedThinking,
            BlockKind::ToolUse,
        ]
        .iter()
        .all(|k| policy.need(*k) == Need::Forward)
    }

    fn need(&self, kind: BlockKind) -> Need {
        self.needs[kind_slot(kind)]
    }

    /// The decisions made so far.
    pub fn records(&self) -> &[DecisionRecord] {
        &self.records
    }

    /// True while a decision holds the head of the output.
    pub fn is_waiting(&self) -> bool {
        matches!(self.queue.front(), Some(Item::Pending { .. }))
    }

    /// True once `message_stop` (or an error) has been emitted.
    pub fn is_finished(&self) -> bool {
        self.stopped
    }

    /// Takes one upstream event (with its raw bytes, on a same-API route) and returns what the
    /// client receives now.
    pub fn push(&mut self, event: StreamEvent, raw: Option<Bytes>) -> Vec<Out> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        match event {
            StreamEvent::MessageStart(_) | StreamEvent::Ping | StreamEvent::Unknown { .. } => {
                out.push(Out { event, raw });
            }
            StreamEvent::BlockStart { index, block } => self.on_start(index, block, raw, &mut out),
            StreamEvent::BlockDelta { index, delta } => self.on_delta(index, delta, raw, &mut out),
            StreamEvent::BlockStop { index } => self.on_stop(index, raw, &mut out),
            StreamEvent::MessageDelta(delta) => {
                self.end = Some((delta, raw));
                self.drain(&mut out);
            }
            StreamEvent::MessageStop => {
                // Emitted by `drain` once everything before it is out.
                self.drain(&mut out);
            }
            StreamEvent::Error(e) => {
                self.abort_pending();
                self.stopped = true;
                out.push(Out {
                    event: StreamEvent::Error(e),
                    raw,
                });
            }
        }
        out
    }

    fn on_start(
        &mut self,
        index: usize,
        block: BlockStart,
        raw: Option<Bytes>,
        out: &mut Vec<Out>,
    ) {
        let kind = match &block {
            BlockStart::Text => BlockKind::Text,
            BlockStart::Thinking => BlockKind::Thinking,
            BlockStart::RedactedThinking { .. } => BlockKind::RedactedThinking,
            // A free-form (custom) call is a tool call: same need, same verdicts.
            BlockStart::ToolUse { .. } | BlockStart::CustomToolUse { .. } => BlockKind::ToolUse,
            BlockStart::Other(_) => BlockKind::Other,
        };
        if kind == BlockKind::ToolUse {
            self.tools_seen += 1;
        }
        if self.blocked_tool {
            self.open = Some(Open::Drop);
            return;
        }
        let need = self.need(kind);
        if kind == BlockKind::ToolUse && need == Need::Hold {
            self.tail_started = true;
        }
        // Behind a held block or inside the tail, everything is buffered to keep order.
        let must_buffer = need == Need::Hold || self.tail_started || !self.queue.is_empty();
        self.open = Some(if must_buffer {
            Open::Hold {
                upstream: index,
                acc: match block {
                    BlockStart::Text => Acc::Text(String::new()),
                    BlockStart::Thinking => Acc::Thinking {
                        thinking: String::new(),
                        signature: String::new(),
                    },
                    BlockStart::RedactedThinking { data } => Acc::Redacted(data),
                    BlockStart::ToolUse { id, name } => Acc::Tool {
                        id,
                        name,
                        format: ToolInputFormat::Json,
                        input: String::new(),
                        deltas: Vec::new(),
                    },
                    BlockStart::CustomToolUse { id, name } => Acc::Tool {
                        id,
                        name,
                        format: ToolInputFormat::Freeform,
                        input: String::new(),
                        deltas: Vec::new(),
                    },
                    // Unknown blocks are forwarded, never buffered: they cannot be rebuilt.
                    block @ BlockStart::Other(_) => {
                        let out_index = self.take_index();
                        out.push(Out {
                            event: StreamEvent::BlockStart {
                                index: out_index,
                                block,
                            },
                            raw: None,
                        });
                        self.open = Some(Open::Forward {
                            out: Some(out_index),
                            upstream: index,
                        });
                        return;
                    }
                },
            }
        } else if need == Need::Stream {
            match self.policy.transform(kind) {
                Some(transform) => Open::Stream {
                    out: None,
                    kind,
                    transform,
                },
                None => self.forward_start(index, block, raw, out),
            }
        } else {
            self.forward_start(index, block, raw, out)
        });
    }

    fn forward_start(
        &mut self,
        upstream: usize,
        block: BlockStart,
        raw: Option<Bytes>,
        out: &mut Vec<Out>,
    ) -> Open {
        let index = self.take_index();
        if matches!(
            block,
            BlockStart::ToolUse { .. } | BlockStart::CustomToolUse { .. }
        ) {
            self.tools_kept += 1;
        }
        let raw = raw.filter(|_| index == upstream);
        out.push(Out {
            event: StreamEvent::BlockStart { index, block },
            raw,
        });
        Open::Forward {
            out: Some(index),
            upstream,
        }
    }

    fn take_index(&mut self) -> usize {
        let i = self.next_out;
        self.next_out += 1;
        i
    }

    fn on_delta(
        &mut self,
        _index: usize,
        delta: BlockDelta,
        raw: Option<Bytes>,
        out: &mut Vec<Out>,
    ) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        match open {
            Open::Drop => {}
            Open::Forward {
                out: Some(i),
                upstream,
            } => {
                let raw = raw.filter(|_| *i == *upstream);
                out.push(Out {
                    event: StreamEvent::BlockDelta { index: *i, delta },
                    raw,
                });
            }
            Open::Forward { out: None, .. } => {}
            Open::Stream {
                out: started,
                kind,
                transform,
            } => {
                let text = match (&delta, *kind) {
                    (BlockDelta::Text(t), BlockKind::Text) => transform.push(t),
                    _ => return,
                };
                if !text.is_empty() {
                    let i = match started {
                        Some(i) => *i,
                        None => {
                            let i = self.next_out;
                            self.next_out += 1;
                            *started = Some(i);
                            out.push(Out {
                                event: StreamEvent::BlockStart {
                                    index: i,
                                    block: BlockStart::Text,
                                },
                                raw: None,
                            });
                            i
                        }
                    };
                    out.push(Out {
                        event: StreamEvent::BlockDelta {
                            index: i,
                            delta: BlockDelta::Text(text),
                        },
                        raw: None,
                    });
                }
            }
            Open::Hold { acc, .. } => match (acc, delta) {
                (Acc::Text(s), BlockDelta::Text(t)) => s.push_str(&t),
                (Acc::Thinking { thinking, .. }, BlockDelta::Thinking(t)) => thinking.push_str(&t),
                (Acc::Thinking { signature, .. }, BlockDelta::Signature(s)) => {
                    signature.push_str(&s)
                }
                (
                    Acc::Tool {
                        format,
                        input,
                        deltas,
                        ..
                    },
                    delta,
                ) => {
                    // Only the fragments of the call's own format are input.
                    let fragment = match (&*format, &delta) {
                        (ToolInputFormat::Json, BlockDelta::InputJson(j))
                        | (ToolInputFormat::Freeform, BlockDelta::CustomInput(j)) => Some(j),
                        _ => None,
                    };
                    if let Some(j) = fragment {
                        input.push_str(j);
                        deltas.push(delta);
                    }
                }
                _ => {}
            },
        }
    }

    fn on_stop(&mut self, _index: usize, raw: Option<Bytes>, out: &mut Vec<Out>) {
        let Some(open) = self.open.take() else { return };
        match open {
            Open::Drop | Open::Forward { out: None, .. } => {}
            Open::Forward {
                out: Some(i),
                upstream,
            } => {
                let raw = raw.filter(|_| i == upstream);
                out.push(Out {
                    event: StreamEvent::BlockStop { index: i },
                    raw,
                });
            }
            Open::Stream {
                out: started,
                mut transform,
                ..
            } => {
                let rest = transform.finish();
                let i = match (started, rest.is_empty()) {
                    (Some(i), _) => Some(i),
                    (None, false) => {
                        let i = self.take_index();
                        out.push(Out {
                            event: StreamEvent::BlockStart {
                                index: i,
                                block: BlockStart::Text,
                            },
                            raw: None,
                        });
                        Some(i)
                    }
                    (None, true) => None,
                };
                if let Some(i) = i {
                    if !rest.is_empty() {
                        out.push(Out {
                            event: StreamEvent::BlockDelta {
                                index: i,
                                delta: BlockDelta::Text(rest),
                            },
                            raw: None,
                        });
                    }
                    out.push(Out {
                        event: StreamEvent::BlockStop { index: i },
                        raw: None,
                    });
                }
            }
            Open::Hold { upstream, acc } => {
                let (block, original) = match acc {
                    Acc::Text(text) => (Block::Text { text }, None),
                    Acc::Thinking {
                        thinking,
                        signature,
                    } => (
                        Block::Thinking {
                            thinking,
                            signature,
                        },
                        None,
                    ),
                    Acc::Redacted(data) => (Block::RedactedThinking { data }, None),
                    Acc::Tool {
                        id,
                        name,
                        format,
                        input,
                        deltas,
                    } => {
                        let input = match format {
                            ToolInputFormat::Freeform => Value::String(input),
                            ToolInputFormat::Json if input.trim().is_empty() => {
                                Value::Object(Default::default())
                            }
                            ToolInputFormat::Json => {
                                serde_json::from_str(&input).unwrap_or(Value::String(input))
                            }
                        };
                        (
                            Block::ToolUse {
                                id,
                                name,
                                input,
                                format,
                            },
                            Some(deltas),
                        )
                    }
                };
                let item = if self.need(block.kind()) == Need::Hold {
                    let task = self.spawn_decision(block.clone());
                    Item::Pending {
                        upstream,
                        block,
                        original,
                        task,
                    }
                } else {
                    Item::Ready(block, original)
                };
                self.queue.push_back(item);
                self.drain(out);
            }
        }
    }

    fn spawn_decision(&self, block: Block) -> JoinHandle<Resolved> {
        let policy = Arc::clone(&self.policy);
        let ctx = DecisionContext {
            transaction_id: self.ctx.transaction_id.clone(),
            format: self.ctx.format,
            request: Arc::clone(&self.ctx.request),
            earlier_blocks: self.earlier.clone(),
        };
        tokio::spawn(async move {
            let started = Instant::now();
            let deadline = policy.deadline();
            let result = tokio::time::timeout(deadline, policy.decide(&ctx, &block)).await;
            let failure = match result {
                Ok(Ok(decision)) => {
                    return Resolved {
                        decision,
                        status: DecisionStatus::Decided,
                        latency: started.elapsed(),
                    }
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no decision within {} ms", deadline.as_millis()),
            };
            let verdict = match policy.fail_mode() {
                FailMode::FailOpen => Verdict::Pass,
                FailMode::FailClosed => Verdict::Block {
                    message: unavailable_message(&policy.name(), &block, &failure),
                },
            };
            Resolved {
                decision: Decision::of(verdict),
                status: DecisionStatus::Unavailable(failure),
                latency: started.elapsed(),
            }
        })
    }

    /// Waits for the decision at the head of the output and returns what it releases.
    pub async fn next_resolved(&mut self) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(Item::Pending { task, .. }) = self.queue.front_mut() else {
            return out;
        };
        let resolved = match task.await {
            Ok(r) => r,
            Err(e) => Resolved {
                decision: Decision::of(Verdict::Block {
                    message: "Luthien blocked this content: the policy check failed.".into(),
                }),
                status: DecisionStatus::Unavailable(format!("decision task failed: {e}")),
                latency: Duration::ZERO,
            },
        };
        if let Some(Item::Pending {
            upstream,
            block,
            original,
            ..
        }) = self.queue.pop_front()
        {
            self.apply(upstream, block, original, resolved, &mut out);
        }
        self.drain(&mut out);
        out
    }

    fn apply(
        &mut self,
        upstream: usize,
        block: Block,
        original: Option<Vec<BlockDelta>>,
        resolved: Resolved,
        out: &mut Vec<Out>,
    ) {
        let Resolved {
            decision,
            status,
            latency,
        } = resolved;
        let kind = block.kind();
        let tool_call = ToolCallRecord::of(&block);
        tracing::info!(
            policy = %self.policy.name(), block = upstream, kind = ?kind,
            tool = tool_call.as_ref().map(|t| t.name.as_str()),
            input_format = tool_call.as_ref().map(|t| t.format.label()),
            verdict = decision.verdict.label(),
            status = ?status, score = ?decision.score, latency_ms = latency.as_millis() as u64, "policy decision"
        );
        self.records.push(DecisionRecord {
            policy: self.policy.name(),
            block_index: upstream,
            kind,
            tool_call,
            verdict: decision.verdict.label(),
            status,
            score: decision.score,
            rationale: decision.rationale.clone(),
            judge_model: decision.judge_model.clone(),
            judge_exchange: decision.judge_exchange.clone(),
            latency,
        });
        match decision.verdict {
            Verdict::Pass => self.place_as_is(block, original, out),
            Verdict::Replace(blocks) => {
                for b in blocks {
                    self.place(b, out);
                }
            }
            Verdict::Block { message } => {
                if kind == BlockKind::ToolUse {
                    self.blocked_tool = true;
                    self.abort_pending();
                    self.open = self.open.take().map(|_| Open::Drop);
                }
                if self.tail_started {
                    self.notes.push(message);
                } else {
                    self.place(Block::text(message), out);
                }
            }
        }
    }

    /// A text block that was buffered (to keep order) still gets the policy's stream transform.
    fn transform_whole(&self, block: Block) -> Block {
        if block.kind() == BlockKind::Text && self.need(BlockKind::Text) == Need::Stream {
            crate::compose::transform_whole(self.policy.as_ref(), block)
        } else {
            block
        }
    }

    /// Emits a decided block now, or keeps it in the tail.
    fn place(&mut self, block: Block, out: &mut Vec<Out>) {
        self.place_as_is(block, None, out);
    }

    /// Like [`Self::place`], re-emitting the upstream's own deltas when there are some.
    fn place_as_is(&mut self, block: Block, original: Option<Vec<BlockDelta>>, out: &mut Vec<Out>) {
        if matches!(&block, Block::Text { text } if text.is_empty()) {
            return;
        }
        self.earlier.push(block.clone());
        if self.tail_started {
            self.tail.push((block, original));
        } else {
            self.emit_block(block, original, out);
        }
    }

    /// Writes a whole block; `original` deltas, when given, replace the ones rebuilt from it.
    fn emit_block(&mut self, block: Block, original: Option<Vec<BlockDelta>>, out: &mut Vec<Out>) {
        let index = self.take_index();
        let (start, deltas) = match block {
            Block::Text { text } => (BlockStart::Text, vec![BlockDelta::Text(text)]),
            Block::Thinking {
                thinking,
                signature,
            } => {
                let mut d = vec![BlockDelta::Thinking(thinking)];
                if !signature.is_empty() {
                    d.push(BlockDelta::Signature(signature));
                }
                (BlockStart::Thinking, d)
            }
            Block::RedactedThinking { data } => (BlockStart::RedactedThinking { data }, vec![]),
            Block::ToolUse {
                id,
                name,
                input,
                format,
            } => {
                self.tools_kept += 1;
                let text = format.wire_text(&input);
                match format {
                    ToolInputFormat::Json => (
                        BlockStart::ToolUse { id, name },
                        vec![BlockDelta::InputJson(text)],
                    ),
                    ToolInputFormat::Freeform => (
                        BlockStart::CustomToolUse { id, name },
                        // An empty free-form input is no fragment at all.
                        [text]
                            .into_iter()
                            .filter(|t| !t.is_empty())
                            .map(BlockDelta::CustomInput)
                            .collect(),
                    ),
                }
            }
            Block::Other(v) => (BlockStart::Other(v), vec![]),
        };
        let deltas = original.unwrap_or(deltas);
        out.push(Out {
            event: StreamEvent::BlockStart {
                index,
                block: start,
            },
            raw: None,
        });
        for delta in deltas {
            out.push(Out {
                event: StreamEvent::BlockDelta { index, delta },
                raw: None,
            });
        }
        out.push(Out {
            event: StreamEvent::BlockStop { index },
            raw: None,
        });
    }

    /// Releases what is ready at the head of the queue; at the message's end, the tail, the
    /// final `message_delta` and `message_stop`.
    fn drain(&mut self, out: &mut Vec<Out>) {
        while let Some(Item::Ready(..)) = self.queue.front() {
            if let Some(Item::Ready(block, original)) = self.queue.pop_front() {
                if !self.blocked_tool {
                    // Only text is transformed, and text has no original deltas kept.
                    let block = self.transform_whole(block);
                    self.place_as_is(block, original, out);
                }
            }
        }
        if !self.queue.is_empty() || self.open.as_ref().is_some_and(|o| !matches!(o, Open::Drop)) {
            return;
        }
        let Some((mut delta, raw)) = self.end.take() else {
            return;
        };
        if !self.notes.is_empty() {
            let note = std::mem::take(&mut self.notes).join("\n\n");
            self.emit_block(Block::text(note), None, out);
        }
        for (block, original) in std::mem::take(&mut self.tail) {
            self.emit_block(block, original, out);
        }
        let mut changed = false;
        if self.tools_seen > 0
            && self.tools_kept == 0
            && delta.stop_reason == Some(StopReason::ToolUse)
        {
            delta.stop_reason = Some(StopReason::EndTurn);
            changed = true;
        }
        let raw = raw.filter(|_| !changed);
        out.push(Out {
            event: StreamEvent::MessageDelta(delta),
            raw,
        });
        out.push(Out {
            event: StreamEvent::MessageStop,
            raw: None,
        });
        self.stopped = true;
    }

    fn abort_pending(&mut self) {
        for item in &self.queue {
            if let Item::Pending {
                task,
                upstream,
                block,
                ..
            } = item
            {
                task.abort();
                self.records.push(DecisionRecord {
                    policy: self.policy.name(),
                    block_index: *upstream,
                    kind: block.kind(),
                    tool_call: ToolCallRecord::of(block),
                    verdict: "cancelled",
                    status: DecisionStatus::Cancelled,
                    score: None,
                    rationale: None,
                    judge_model: None,
                    judge_exchange: None,
                    latency: Duration::ZERO,
                });
            }
        }
        if self.blocked_tool {
            self.queue.clear();
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // A client that went away must not leave judges running.
        for item in &self.queue {
            if let Item::Pending { task, .. } = item {
                task.abort();
            }
        }
    }
}

/// The agent-facing message when a check could not run and the policy fails closed.
fn unavailable_message(policy: &str, block: &Block, reason: &str) -> String {
    let what = match block {
        Block::ToolUse { name, .. } => format!("this {name} call"),
        _ => "this content".to_owned(),
    };
    format!(
        "Luthien blocked {what} because the {policy} check was unavailable ({reason}). \
         The action was not run; try again later or ask the user."
    )
}
