//! Fake judge models shared by the judge tests (`mod judge_fakes;`): a fixed or scripted reply,
//! a failing model, and a slow model that records how many calls overlapped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each test file uses a different subset of the fakes.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use luthien_policy::judge::{JudgeCall, JudgeClient};
use luthien_policy::{Block, DecisionContext, PolicyError};
use protocol::errors::ApiFormat;
use serde_json::{json, Value};

/// Replies from a script (the last reply repeats), recording every call.
#[derive(Default)]
pub struct Scripted {
    replies: Mutex<VecDeque<Result<String, String>>>,
    pub calls: Mutex<Vec<JudgeCall>>,
}

impl Scripted {
    /// Always this reply.
    pub fn reply(text: &str) -> Arc<Self> {
        Self::script(vec![Ok(text.to_owned())])
    }

    /// Always this error.
    pub fn error(message: &str) -> Arc<Self> {
        Self::script(vec![Err(message.to_owned())])
    }

    /// These outcomes in order, the last one repeating.
    pub fn script(outcomes: Vec<Result<String, String>>) -> Arc<Self> {
        Arc::new(Self {
            replies: Mutex::new(outcomes.into()),
            calls: Mutex::new(Vec::new()),
        })
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<JudgeCall> {
        self.calls.lock().unwrap().clone()
    }

    /// The only call made.
    pub fn only_call(&self) -> JudgeCall {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "expected exactly one judge call");
        calls[0].clone()
    }
}

#[async_trait]
impl JudgeClient for Scripted {
    async fn complete(&self, call: JudgeCall) -> Result<String, PolicyError> {
        self.calls.lock().unwrap().push(call);
        let mut replies = self.replies.lock().unwrap();
        let outcome = if replies.len() > 1 {
            replies.pop_front().unwrap()
        } else {
            replies.front().cloned().unwrap()
        };
        outcome.map_err(PolicyError::Unavailable)
    }
}

/// Replies after a delay, recording the largest number of calls in flight at once.
pub struct Slow {
    pub delay: Duration,
    pub reply: String,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl Slow {
    /// Replies `reply` after `delay`.
    pub fn new(delay: Duration, reply: &str) -> Arc<Self> {
        Arc::new(Self {
            delay,
            reply: reply.to_owned(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl JudgeClient for Slow {
    async fn complete(&self, _call: JudgeCall) -> Result<String, PolicyError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(self.reply.clone())
    }
}

/// A decision context with these earlier blocks.
pub fn ctx_with(earlier: Vec<Block>) -> DecisionContext {
    DecisionContext {
        transaction_id: "tx-test".to_owned(),
        format: ApiFormat::Anthropic,
        request: Arc::new(json!({"model": "claude-sonnet-4-5", "messages": []})),
        earlier_blocks: earlier,
    }
}

/// A decision context with no earlier blocks.
pub fn ctx() -> DecisionContext {
    ctx_with(Vec::new())
}

/// A tool call block.
pub fn tool(name: &str, input: Value) -> Block {
    Block::tool_use("toolu_original", name, input)
}

/// A `Bash` tool call running `command`.
pub fn bash(command: &str) -> Block {
    tool("Bash", json!({ "command": command }))
}

/// Settings that make failures fail at once (no retries) for tests.
pub fn no_retries() -> Value {
    json!({ "max_retries": 0 })
}

/// `base` with the keys of `extra` added.
pub fn with(base: Value, extra: Value) -> Value {
    let mut map = base.as_object().cloned().unwrap_or_default();
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        map.insert(k, v);
    }
    Value::Object(map)
}
