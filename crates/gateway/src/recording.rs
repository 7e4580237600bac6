//! The record of each transaction: built from what the proxy saw (request as received and as
//! sent, response as received and as delivered, timings, usage, decisions) and handed to the
//! recorder, which never blocks or fails the request. Activity events go to the bus as well.
//!
//! Requests rejected before their body was read (missing credential, body too large, invalid
//! JSON) are logged, not recorded: recording them would let unauthenticated traffic fill the
//! database.

use tokio::time::Instant;

use policy::executor::{DecisionRecord as ExecutorDecision, DecisionStatus};
use protocol::anthropic::message as anthropic_message;
use protocol::errors::ApiFormat;
use protocol::events::StreamEvent;
use serde_json::{json, Value};
use store::{DecisionRecord, RawEvents, TransactionRecord, Usage};

use crate::activity::{ActivityBus, ActivityEvent};
use crate::relay::tap::{StreamEnd, Tap};

/// Everything known about a transaction before its response.
#[derive(Debug, Clone)]
pub struct TxnContext {
    /// Transaction id (UUIDv7).
    pub id: String,
    /// When it started (wall clock, ms since the epoch).
    pub started_at_ms: i64,
    /// When it started (monotonic).
    pub started: Instant,
    /// The conversation it belongs to.
    pub session_id: Option<String>,
    /// A title for the conversation.
    pub title: Option<String>,
    /// The client's API.
    pub client_api: ApiFormat,
    /// The provider called.
    pub provider: String,
    /// The model asked for.
    pub model: String,
    /// Streaming or not.
    pub stream: bool,
    /// The active policy's name.
    pub policy: String,
    /// The request as the client sent it (shared with the proxy; copied only if still shared when recorded).
    pub request_received: std::sync::Arc<Value>,
    /// The request as sent upstream, when it differs.
    pub request_sent: Option<Value>,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn api_name(f: ApiFormat) -> &'static str {
    match f {
        ApiFormat::Anthropic => "anthropic",
        ApiFormat::OpenAiChat => "openai_chat",
        ApiFormat::OpenAiResponses => "openai_responses",
    }
}

/// The usage reported in a stream's events.
fn usage_of(events: &[StreamEvent]) -> Usage {
    let mut u = Usage::default();
    for ev in events {
        let found = match ev {
            StreamEvent::MessageStart(m) => &m.usage,
            StreamEvent::MessageDelta(d) => &d.usage,
            _ => continue,
        };
        u.input_tokens = found.input_tokens.or(u.input_tokens);
        u.output_tokens = found.output_tokens.or(u.output_tokens);
        u.cache_read_input_tokens = found.cache_read_input_tokens.or(u.cache_read_input_tokens);
        u.cache_creation_input_tokens = found
            .cache_creation_input_tokens
            .or(u.cache_creation_input_tokens);
    }
    u
}

/// A stream's events reassembled as a message (text, tool calls, thinking, stop reason, usage).
pub fn assemble(events: &[StreamEvent]) -> Value {
    let (id, model) = events
        .iter()
        .find_map(|e| match e {
            StreamEvent::MessageStart(m) => Some((m.id.clone(), m.model.clone())),
            _ => None,
        })
        .unwrap_or_default();
    let u = usage_of(events);
    let shell = json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                  "cache_read_input_tokens": u.cache_read_input_tokens,
                  "cache_creation_input_tokens": u.cache_creation_input_tokens}});
    anthropic_message::from_events(&shell, events)
}

/// The overall outcome for filters and the UI.
fn final_decision(
    status: u16,
    failed: bool,
    decisions: &[DecisionRecord],
    changed: bool,
) -> String {
    if decisions.iter().any(|d| d.verdict == "block") {
        "blocked"
    } else if status >= 400 || failed {
        "error"
    } else if changed || decisions.iter().any(|d| d.verdict == "replace") {
        "modified"
    } else if decisions.iter().any(|d| d.status == "unavailable") {
        "unavailable"
    } else {
        "pass"
    }
    .to_owned()
}

fn decision_rows(decisions: &[ExecutorDecision]) -> Vec<DecisionRecord> {
    decisions
        .iter()
        .map(|d| {
            DecisionRecord {
            policy: d.policy.clone(),
            block_index: Some(d.block_index as u32),
            kind: format!("{:?}", d.kind).to_lowercase(),
            verdict: d.verdict.to_owned(),
            status: match &d.status {
                DecisionStatus::Decided => "decided".into(),
                DecisionStatus::Unavailable(_) => "unavailable".into(),
                DecisionStatus::Cancelled => "cancelled".into(),
            },
            score: d.score,
            rationale: match &d.status {
                DecisionStatus::Unavailable(why) => Some(why.clone()),
                _ => d.rationale.clone(),
            },
            judge_model: d.judge_model.clone(),
            latency_ms: d.latency.as_secs_f64() * 1000.0,
            judge_request: d.judge_exchange.as_ref().map(|e| e.request.clone()),
            judge_response: d.judge_exchange.as_ref().map(|e| e.response.clone()),
            tool_call: d.tool_call.as_ref().map(|t| {
                json!({"id": t.id, "name": t.name, "format": t.format.label(), "input": t.input})
            }),
        }
        })
        .collect()
}

/// How a transaction turned out.
struct Outcome {
    status: u16,
    error: Option<String>,
    usage: Usage,
    ttft_ms: Option<f64>,
    overhead_ms: f64,
    received: Option<Value>,
    delivered: Option<Value>,
    raw_events: Option<RawEvents>,
    decisions: Vec<DecisionRecord>,
}

impl TxnContext {
    fn record(self, o: Outcome) -> TransactionRecord {
        let changed = o.delivered.is_some() && o.delivered != o.received;
        let final_decision = final_decision(o.status, o.error.is_some(), &o.decisions, changed);
        TransactionRecord {
            id: self.id,
            session_id: self.session_id,
            client_api: api_name(self.client_api).to_owned(),
            provider: self.provider,
            model: self.model,
            status: o.status,
            error: o.error,
            stream: self.stream,
            started_at_ms: self.started_at_ms,
            ttft_ms: o.ttft_ms,
            total_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            overhead_ms: o.overhead_ms,
            usage: o.usage,
            policy: self.policy,
            final_decision,
            request_received: std::sync::Arc::try_unwrap(self.request_received)
                .unwrap_or_else(|a| (*a).clone()),
            request_sent: self.request_sent,
            response_received: o.received,
            response_delivered: o.delivered,
            raw_events: o.raw_events,
            decisions: o.decisions,
            title_hint: self.title,
        }
    }

    /// The record of a stream that ended (or whose client left).
    pub fn finish_stream(
        self,
        tap: Tap,
        end: StreamEnd,
        decisions: &[ExecutorDecision],
        overhead_ms: f64,
    ) -> TransactionRecord {
        let ttft_ms = tap.first_byte_at.map(|t| {
            tokio::time::Instant::from_std(t)
                .saturating_duration_since(self.started)
                .as_secs_f64()
                * 1000.0
        });
        let usage = usage_of(&tap.received);
        let received = assemble(&tap.received);
        let delivered = tap.delivered.as_deref().map(assemble);
        let error = match end {
            StreamEnd::Completed => tap.record_note.map(|n| format!("record incomplete: {n}")),
            StreamEnd::Failed(e) => Some(e),
            StreamEnd::ClientGone => {
                Some("the client disconnected before the end of the stream".into())
            }
        };
        let raw = RawEvents {
            events: tap.raw,
            truncated: tap.raw_truncated,
        };
        self.record(Outcome {
            status: 200,
            error,
            usage,
            ttft_ms,
            overhead_ms,
            received: Some(received),
            delivered,
            raw_events: Some(raw),
            decisions: decision_rows(decisions),
        })
    }

    /// The record of a non-streaming response.
    pub fn finish_json(
        self,
        status: u16,
        received: Value,
        delivered: Option<Value>,
        decisions: &[ExecutorDecision],
        overhead_ms: f64,
    ) -> TransactionRecord {
        let u = &received["usage"];
        let n = |k: &str| u.get(k).and_then(Value::as_u64);
        let usage = Usage {
            input_tokens: n("input_tokens").or_else(|| n("prompt_tokens")),
            output_tokens: n("output_tokens").or_else(|| n("completion_tokens")),
            cache_read_input_tokens: n("cache_read_input_tokens"),
            cache_creation_input_tokens: n("cache_creation_input_tokens"),
        };
        let ttft = Some(self.started.elapsed().as_secs_f64() * 1000.0);
        self.record(Outcome {
            status,
            error: None,
            usage,
            ttft_ms: ttft,
            overhead_ms,
            received: Some(received),
            delivered,
            raw_events: None,
            decisions: decision_rows(decisions),
        })
    }

    /// The record of a request that failed (the gateway's or the upstream's error).
    pub fn finish_error(
        self,
        status: u16,
        error: String,
        body: Option<Value>,
        overhead_ms: f64,
    ) -> TransactionRecord {
        self.record(Outcome {
            status,
            error: Some(error),
            usage: Usage::default(),
            ttft_ms: None,
            overhead_ms,
            received: body,
            delivered: None,
            raw_events: None,
            decisions: Vec::new(),
        })
    }
}

/// Sends records to the recorder and activity to the bus.
#[derive(Clone)]
pub struct Recording {
    /// The recorder's queue.
    pub recorder: store::RecorderHandle,
    /// The activity bus.
    pub bus: ActivityBus,
}

impl Recording {
    /// Announces a transaction on the activity bus.
    pub fn started(&self, ctx: &TxnContext) {
        self.bus.publish(ActivityEvent::TransactionStarted {
            transaction_id: ctx.id.clone(),
            session_id: ctx.session_id.clone(),
            model: ctx.model.clone(),
            client_api: api_name(ctx.client_api).to_owned(),
            stream: ctx.stream,
            at_ms: now_ms(),
        });
    }

    /// Queues the record and announces its decisions and its end.
    pub fn finished(&self, rec: TransactionRecord) {
        for d in &rec.decisions {
            self.bus.publish(ActivityEvent::Decision {
                transaction_id: rec.id.clone(),
                session_id: rec.session_id.clone(),
                policy: d.policy.clone(),
                block_index: d.block_index.unwrap_or_default() as usize,
                verdict: d.verdict.clone(),
                status: d.status.clone(),
                score: d.score,
                at_ms: now_ms(),
            });
        }
        self.bus.publish(ActivityEvent::TransactionFinished {
            transaction_id: rec.id.clone(),
            session_id: rec.session_id.clone(),
            model: rec.model.clone(),
            status: rec.status,
            final_decision: rec.final_decision.clone(),
            total_ms: rec.total_ms,
            at_ms: now_ms(),
        });
        self.recorder.record(rec);
    }
}
