//! The typed activity events the gateway emits, and the envelope that numbers them.
//!
//! Events are small summaries (ids, names, verdicts, timings), never conversation bodies: the
//! bodies live in the store, and the activity stream only has to say what happened so a UI can
//! fetch the details. The wire form is `{"id", "instance", "event": {"kind": ..., ...}}`, used
//! both on the Redis channel and as the SSE `data:` payload.

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// One thing that happened in the gateway, as seen by the activity stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityEvent {
    /// A client request was accepted and is about to be processed.
    TransactionStarted {
        /// The transaction's id (UUIDv7).
        transaction_id: String,
        /// The client session, when one could be identified.
        session_id: Option<String>,
        /// The model the client asked for.
        model: String,
        /// The client-facing API (`anthropic_messages`, `openai_chat`, ...).
        client_api: String,
        /// Whether the client asked for a streamed response.
        stream: bool,
        /// Unix time in milliseconds (see [`now_ms`]).
        at_ms: i64,
    },
    /// A transaction ended (successfully or not) and its response was delivered.
    TransactionFinished {
        /// The transaction's id.
        transaction_id: String,
        /// The client session, when one could be identified.
        session_id: Option<String>,
        /// The model the request was served by.
        model: String,
        /// The HTTP status returned to the client.
        status: u16,
        /// The overall policy outcome (`allowed`, `blocked`, `modified`, ...).
        final_decision: String,
        /// Wall-clock duration of the whole transaction.
        total_ms: f64,
        /// Unix time in milliseconds (see [`now_ms`]).
        at_ms: i64,
    },
    /// A policy reached a verdict about one block of a transaction.
    Decision {
        /// The transaction's id.
        transaction_id: String,
        /// The client session, when one could be identified.
        session_id: Option<String>,
        /// The policy that decided.
        policy: String,
        /// Which content block (or tool call) of the message was judged.
        block_index: usize,
        /// The verdict (`allow`, `block`, `modify`, `ask`, ...).
        verdict: String,
        /// How the evaluation went (`ok`, `error`, `timeout`, ...).
        status: String,
        /// A judge's probability or score, when the policy produces one.
        score: Option<f64>,
        /// Unix time in milliseconds (see [`now_ms`]).
        at_ms: i64,
    },
    /// A policy paused a transaction until a human approves or denies it.
    ApprovalRequested {
        /// The approval request's id (what the approve/deny API takes).
        approval_id: String,
        /// The paused transaction.
        transaction_id: String,
        /// The client session, when one could be identified.
        session_id: Option<String>,
        /// The policy asking for approval.
        policy: String,
        /// The tool call awaiting approval, when the request is about one.
        tool_name: Option<String>,
        /// A one-line, human-readable description of what is being approved.
        summary: String,
        /// When the request times out (Unix ms), if it does.
        expires_at_ms: Option<i64>,
        /// Unix time in milliseconds (see [`now_ms`]).
        at_ms: i64,
    },
    /// A pending approval was approved, denied or expired.
    ApprovalResolved {
        /// The approval request's id.
        approval_id: String,
        /// The transaction that was paused.
        transaction_id: String,
        /// The client session, when one could be identified.
        session_id: Option<String>,
        /// `approved`, `denied` or `expired`.
        outcome: String,
        /// Who resolved it (an admin identity), absent for expiry.
        resolved_by: Option<String>,
        /// Unix time in milliseconds (see [`now_ms`]).
        at_ms: i64,
    },
    /// The active policy was replaced; every instance applies the new one on receipt.
    PolicyChanged {
        /// The policy class (name) now active.
        class: String,
        /// The policy's configuration.
        config: serde_json::Value,
        /// Who activated it (admin identity, `file`, `startup`, ...).
        activated_by: String,
        /// Unix time in milliseconds (see [`now_ms`]).
        at_ms: i64,
    },
}

impl ActivityEvent {
    /// Every `kind` name, in declaration order (used to validate SSE `kind` filters).
    pub const KIND_NAMES: [&'static str; 6] = [
        "transaction_started",
        "transaction_finished",
        "decision",
        "approval_requested",
        "approval_resolved",
        "policy_changed",
    ];

    /// The serialized `kind` tag of this event (also the SSE `event:` name).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::TransactionStarted { .. } => "transaction_started",
            Self::TransactionFinished { .. } => "transaction_finished",
            Self::Decision { .. } => "decision",
            Self::ApprovalRequested { .. } => "approval_requested",
            Self::ApprovalResolved { .. } => "approval_resolved",
            Self::PolicyChanged { .. } => "policy_changed",
        }
    }

    /// The session this event belongs to, if any.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Self::TransactionStarted { session_id, .. }
            | Self::TransactionFinished { session_id, .. }
            | Self::Decision { session_id, .. }
            | Self::ApprovalRequested { session_id, .. }
            | Self::ApprovalResolved { session_id, .. } => session_id.as_deref(),
            Self::PolicyChanged { .. } => None,
        }
    }

    /// The transaction this event belongs to, if any.
    pub fn transaction_id(&self) -> Option<&str> {
        match self {
            Self::TransactionStarted { transaction_id, .. }
            | Self::TransactionFinished { transaction_id, .. }
            | Self::Decision { transaction_id, .. }
            | Self::ApprovalRequested { transaction_id, .. }
            | Self::ApprovalResolved { transaction_id, .. } => Some(transaction_id),
            Self::PolicyChanged { .. } => None,
        }
    }
}

/// An event as carried by the bus: numbered per instance so consumers can order and deduplicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Per-instance sequence number, starting at 1.
    pub id: u64,
    /// The random id of the bus instance (gateway process) that published the event.
    pub instance: String,
    /// The event itself.
    pub event: ActivityEvent,
}

impl Envelope {
    /// The session the wrapped event belongs to, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.event.session_id()
    }

    /// The transaction the wrapped event belongs to, if any.
    pub fn transaction_id(&self) -> Option<&str> {
        self.event.transaction_id()
    }

    /// The wrapped event's `kind` tag.
    pub fn kind_name(&self) -> &'static str {
        self.event.kind_name()
    }

    /// The globally unique event id `<instance>-<seq>` (the SSE `id:` field).
    pub fn event_id(&self) -> String {
        format!("{}-{}", self.instance, self.id)
    }
}

/// The current Unix time in milliseconds, for the events' `at_ms` fields.
///
/// Signed, like the store's timestamps, so events and rows compare without casts.
pub fn now_ms() -> i64 {
    // A clock before 1970 is a broken host; reporting 0 beats failing the request.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
