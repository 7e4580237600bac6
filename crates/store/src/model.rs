//! The records the gateway writes and the views the UI and admin API read back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One proxied LLM call, as the gateway hands it to the recorder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// UUIDv7 of the transaction.
    pub id: String,
    /// Client session id (Claude Code `metadata.user_id` or `x-session-id`); `None` gives the
    /// transaction a session of its own whose id is the transaction id.
    pub session_id: Option<String>,
    /// Client API: `"anthropic"` or `"openai_chat"`.
    pub client_api: String,
    /// Upstream provider name.
    pub provider: String,
    /// Model as requested.
    pub model: String,
    /// HTTP status returned to the client.
    pub status: u16,
    /// Error message when the call failed.
    pub error: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// When the request arrived (epoch ms).
    pub started_at_ms: i64,
    /// Time to first token delivered to the client.
    pub ttft_ms: Option<f64>,
    /// Time until the response was fully delivered.
    pub total_ms: f64,
    /// Time the gateway itself added (policies, translation).
    pub overhead_ms: f64,
    /// Token usage reported by the provider.
    pub usage: Usage,
    /// Name of the active policy.
    pub policy: String,
    /// `"pass"`, `"modified"`, `"blocked"`, `"unavailable"` or `"error"`.
    pub final_decision: String,
    /// The request body as the client sent it.
    pub request_received: Value,
    /// The request body as sent upstream (after policies).
    pub request_sent: Option<Value>,
    /// The upstream response, assembled into one message.
    pub response_received: Option<Value>,
    /// The response delivered to the client, assembled, in the client's format.
    pub response_delivered: Option<Value>,
    /// Raw streamed events, kept up to a cap.
    pub raw_events: Option<RawEvents>,
    /// Policy decisions taken during this transaction, in order.
    pub decisions: Vec<DecisionRecord>,
    /// Text of the request's first user message (the session's title if this starts it).
    pub title_hint: Option<String>,
}

/// Provider-reported token counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: Option<u64>,
}

/// Raw stream events (SSE frames) up to a cap, with an explicit marker when events were cut.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawEvents {
    /// The events kept, in order.
    pub events: Vec<String>,
    /// True when later events were dropped because the cap was reached.
    pub truncated: bool,
}

/// One policy decision within a transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Policy that decided.
    pub policy: String,
    /// Content block the decision is about (`None` for whole-request/response decisions).
    pub block_index: Option<u32>,
    /// What was judged (e.g. `"tool_call"`, `"text"`, `"request"`).
    pub kind: String,
    /// The verdict (e.g. `"allow"`, `"block"`, `"modify"`).
    pub verdict: String,
    /// How the decision was reached (e.g. `"ok"`, `"timeout"`, `"error"`).
    pub status: String,
    /// Judge score, when the policy produces one.
    pub score: Option<f64>,
    /// Human-readable reason.
    pub rationale: Option<String>,
    /// Model used by an LLM judge.
    pub judge_model: Option<String>,
    /// Time the decision took.
    pub latency_ms: f64,
    /// The judge's request body.
    pub judge_request: Option<Value>,
    /// The judge's response body.
    pub judge_response: Option<Value>,
    /// The tool call decided on (`{id, name, format, input}`), when the block was one.
    #[serde(default)]
    pub tool_call: Option<Value>,
}

/// Criteria for listing sessions; all optional criteria combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFilter {
    /// Sessions last seen at or after this time (epoch ms).
    pub from_ms: Option<i64>,
    /// Sessions last seen strictly before this time (epoch ms).
    pub to_ms: Option<i64>,
    /// Sessions with a transaction for this model.
    pub model: Option<String>,
    /// Sessions with a transaction whose final decision is this (e.g. `"blocked"`).
    pub decision: Option<String>,
    /// Full-text query over user text, assistant text and tool calls; all words must match.
    pub q: Option<String>,
    /// Page size (0 means the default of 50; capped at 1,000).
    pub limit: u32,
    /// Cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One page of results, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A session as listed in history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Session id.
    pub id: String,
    /// First user message of the session's first transaction (≤ 120 characters).
    pub title: Option<String>,
    /// Start of the earliest transaction (epoch ms).
    pub first_seen_ms: i64,
    /// Start of the latest transaction (epoch ms).
    pub last_seen_ms: i64,
    /// Number of transactions.
    pub transaction_count: u64,
    /// Number of transactions whose final decision was `blocked`.
    pub blocked_count: u64,
    /// Models used, in order of first use.
    pub models: Vec<String>,
}

/// A session with all its transactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    /// The session's summary.
    pub summary: SessionSummary,
    /// Its transactions in start order.
    pub transactions: Vec<TransactionDetail>,
}

/// A stored transaction: the record exactly as written (bodies re-expanded) and its session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionDetail {
    /// The session the transaction is filed under (its own id when the record had none).
    pub session_id: String,
    /// The record as written, decisions included.
    pub record: TransactionRecord,
}

/// A policy taking effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyActivation {
    /// UUIDv7 of the activation.
    pub id: String,
    /// Policy class.
    pub class: String,
    /// Policy configuration.
    pub config: Value,
    /// When it took effect (epoch ms).
    pub activated_at_ms: i64,
    /// Who activated it (`"startup"`, `"admin:<who>"`, …).
    pub activated_by: String,
}

/// A browser session of the admin UI, as stored (the cookie's token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    /// Hex SHA-256 of the session token the browser holds.
    pub token_hash: String,
    /// The token that the session's state-changing requests must echo (CSRF).
    pub csrf_token: String,
    /// When it was issued (epoch ms).
    pub created_at_ms: i64,
    /// When it stops being valid (epoch ms).
    pub expires_at_ms: i64,
}

/// How much traffic started in a time window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityCounts {
    /// Sessions with a transaction started in the window.
    pub sessions: u64,
    /// Transactions started in the window.
    pub transactions: u64,
    /// Of those, transactions whose final decision was `blocked`.
    pub blocked: u64,
}
