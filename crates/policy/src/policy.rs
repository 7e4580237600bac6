//! The policy contract: what a policy sees (a request, then whole or streamed content blocks)
//! and what it may answer. A policy never sees wire chunks, so it cannot break the wire
//! invariants; the executor alone writes the client's stream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use protocol::errors::ApiFormat;
use serde_json::Value;

use crate::error::PolicyError;
use crate::request::PolicyRequest;

/// What a policy needs to see of one kind of block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Nothing: the block passes untouched, at zero cost (bytes unchanged on a same-API route).
    Forward,
    /// Each delta, which the policy may transform as it passes (see [`DeltaTransform`]).
    Stream,
    /// The whole block: the executor buffers it and asks [`Policy::decide`] for a verdict.
    Hold,
}

/// The kinds of content block a response is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// Visible text.
    Text,
    /// Extended thinking.
    Thinking,
    /// Encrypted thinking.
    RedactedThinking,
    /// A client-side tool call, JSON (Claude Code `Bash`, Codex `exec_command`) or free-form
    /// (Codex's `apply_patch` custom tool): see [`ToolInputFormat`].
    ToolUse,
    /// Server tools and block types the model does not name.
    Other,
}

/// A complete content block: what a held block looks like, and what a replacement is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Visible text.
    Text {
        /// The text.
        text: String,
    },
    /// Extended thinking with its signature (never re-serialised by a policy).
    Thinking {
        /// The thinking text.
        thinking: String,
        /// The provider's signature.
        signature: String,
    },
    /// Encrypted thinking.
    RedactedThinking {
        /// The opaque data.
        data: String,
    },
    /// A tool call: a JSON function call or a free-form (custom) tool call.
    ToolUse {
        /// The call id.
        id: String,
        /// The tool's name.
        name: String,
        /// The input: for [`ToolInputFormat::Json`] the parsed arguments (an object; `{}` for
        /// none), for [`ToolInputFormat::Freeform`] the whole text as a JSON string.
        input: Value,
        /// How the input is written on the wire, so a replacement goes back in the same form.
        format: ToolInputFormat,
    },
    /// Any other block, kept as the provider's JSON.
    Other(Value),
}

impl Block {
    /// The block's kind.
    pub fn kind(&self) -> BlockKind {
        match self {
            Self::Text { .. } => BlockKind::Text,
            Self::Thinking { .. } => BlockKind::Thinking,
            Self::RedactedThinking { .. } => BlockKind::RedactedThinking,
            Self::ToolUse { .. } => BlockKind::ToolUse,
            Self::Other(_) => BlockKind::Other,
        }
    }

    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text { text: text.into() }
    }

    /// A JSON tool call (`tool_use`, function call).
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        Self::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
            format: ToolInputFormat::Json,
        }
    }

    /// A free-form tool call (an OpenAI custom tool such as Codex's `apply_patch`).
    pub fn custom_tool_use(
        id: impl Into<String>,
        name: impl Into<String>,
        input: impl Into<String>,
    ) -> Self {
        Self::ToolUse {
            id: id.into(),
            name: name.into(),
            input: Value::String(input.into()),
            format: ToolInputFormat::Freeform,
        }
    }
}

/// How a tool call's input is written: JSON arguments or free-form text.
///
/// Both are [`BlockKind::ToolUse`], so every policy that holds tool calls also holds free-form
/// ones and sees them as [`Block::ToolUse`]; a policy that cares reads `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ToolInputFormat {
    /// JSON arguments (Anthropic `tool_use`, OpenAI function calls): `input` is the parsed value.
    #[default]
    Json,
    /// Free-form text (OpenAI `custom` tools, e.g. Codex's `apply_patch` patch text): `input`
    /// is a JSON string holding the text, and the call goes back on the wire as a custom call.
    Freeform,
}

impl ToolInputFormat {
    /// The input as a person reads it: pretty-printed JSON, or the free-form text itself.
    pub fn display(self, input: &Value) -> String {
        match (self, input) {
            (Self::Freeform, Value::String(text)) => text.clone(),
            _ => serde_json::to_string_pretty(input).unwrap_or_else(|_| input.to_string()),
        }
    }

    /// The input as the wire carries it: compact JSON, or the free-form text (a non-string
    /// input of a free-form call becomes its compact JSON text).
    pub fn wire_text(self, input: &Value) -> String {
        match (self, input) {
            (Self::Freeform, Value::String(text)) => text.clone(),
            // A JSON call whose arguments did not parse keeps them as the upstream wrote them.
            (Self::Json, Value::String(raw)) => raw.clone(),
            (_, other) => other.to_string(),
        }
    }

    /// A short label for logs, records and prompts: `json` or `freeform`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Freeform => "freeform",
        }
    }
}

/// A policy's verdict on a held block.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Keep the block as it is.
    Pass,
    /// Put these blocks in its place (possibly none).
    Replace(Vec<Block>),
    /// Remove the block and tell the agent why; for a tool call, the call never reaches the agent.
    Block {
        /// The readable paragraph the agent sees.
        message: String,
    },
}

impl Verdict {
    /// Severity for composing verdicts: block > replace > pass.
    pub fn severity(&self) -> u8 {
        match self {
            Self::Pass => 0,
            Self::Replace(_) => 1,
            Self::Block { .. } => 2,
        }
    }

    /// A short label for logs and the audit trail.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Replace(_) => "replace",
            Self::Block { .. } => "block",
        }
    }
}

/// A decision with what the audit trail records beside the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The verdict.
    pub verdict: Verdict,
    /// A monitor's score (e.g. the judge's probability of harm), when there is one.
    pub score: Option<f64>,
    /// Why; goes to the audit log and UI, not to the agent unless a policy is configured so.
    pub rationale: Option<String>,
    /// The judge model consulted, if any.
    pub judge_model: Option<String>,
    /// The judge's own request and reply, for the audit trail.
    pub judge_exchange: Option<JudgeExchange>,
}

/// What a judge was asked and what it answered.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeExchange {
    /// The request: model, prompts and sampling settings.
    pub request: Value,
    /// The reply as the model wrote it.
    pub response: Value,
}

impl Decision {
    /// A bare verdict with nothing else recorded.
    pub fn of(verdict: Verdict) -> Self {
        Self {
            verdict,
            score: None,
            rationale: None,
            judge_model: None,
            judge_exchange: None,
        }
    }

    /// `Pass`.
    pub fn pass() -> Self {
        Self::of(Verdict::Pass)
    }
}

/// What a policy does when it cannot decide (error or deadline).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// Block, with a message saying the check was unavailable (the default for security policies).
    FailClosed,
    /// Pass; recorded as "unavailable", never as "allowed".
    FailOpen,
}

/// What a policy answers to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestVerdict {
    /// Send it upstream (possibly modified in place through [`PolicyRequest`]).
    Pass,
    /// Refuse it with an error in the client's API format.
    Reject {
        /// The error message the client receives.
        message: String,
    },
    /// Answer it without calling upstream, with this assistant text.
    Respond {
        /// The assistant's reply.
        text: String,
    },
}

/// Per-block state of a streaming transformation: it sees each text delta and returns what
/// to emit now; text it holds back (e.g. a possible match spanning two deltas) comes out of `finish`.
pub trait DeltaTransform: Send {
    /// Takes a delta, returns the text to emit now (possibly empty).
    fn push(&mut self, delta: &str) -> String;
    /// The block ended: returns whatever was held back.
    fn finish(&mut self) -> String;
}

/// What a decision may know about its transaction.
#[derive(Debug, Clone)]
pub struct DecisionContext {
    /// The transaction id.
    pub transaction_id: String,
    /// The client's API.
    pub format: ApiFormat,
    /// The request as sent upstream, in the client's format.
    pub request: Arc<Value>,
    /// The blocks of this response already decided or forwarded, in order.
    pub earlier_blocks: Vec<Block>,
}

/// A policy. One instance serves every request concurrently: per-request state lives in the
/// arguments (and in the [`DeltaTransform`] the policy creates per block), never in `self`.
#[async_trait]
pub trait Policy: Send + Sync {
    /// The policy's name as shown in logs, the audit trail and the UI.
    fn name(&self) -> String;

    /// The request phase: pass (possibly after modifying `req`), reject, or respond.
    async fn on_request(&self, _req: &mut PolicyRequest) -> Result<RequestVerdict, PolicyError> {
        Ok(RequestVerdict::Pass)
    }

    /// What the policy needs of blocks of `kind`.
    fn need(&self, _kind: BlockKind) -> Need {
        Need::Forward
    }

    /// A fresh transformation for one streamed block of `kind` (asked when `need` is `Stream`).
    fn transform(&self, _kind: BlockKind) -> Option<Box<dyn DeltaTransform>> {
        None
    }

    /// The verdict on a held block (asked when `need` is `Hold`).
    async fn decide(
        &self,
        _ctx: &DecisionContext,
        _block: &Block,
    ) -> Result<Decision, PolicyError> {
        Ok(Decision::pass())
    }

    /// What happens when `decide` fails or misses its deadline.
    fn fail_mode(&self) -> FailMode {
        FailMode::FailClosed
    }

    /// How long one decision may take.
    fn deadline(&self) -> Duration {
        Duration::from_secs(30)
    }
}
