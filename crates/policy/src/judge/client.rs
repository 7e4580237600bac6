//! The one thing a judge needs from the outside world: "ask this model, get its text back".
//! The gateway implements [`JudgeClient`] (routing `model` to Anthropic, OpenAI or an
//! OpenAI-compatible provider with the server's keys); tests implement it with fakes, so the
//! judges' logic is tested without a network.

use async_trait::async_trait;

use crate::error::PolicyError;

/// One request to a judge model.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeCall {
    /// The model name, routed by the gateway to a provider.
    pub model: String,
    /// The system prompt.
    pub system: String,
    /// The single user message.
    pub user: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// Cap on the reply's length in tokens.
    pub max_tokens: u32,
    /// Ask the provider for a JSON object reply where it supports that (a hint: replies are parsed tolerantly anyway).
    pub json_mode: bool,
}

/// Calls a model on a judge's behalf.
#[async_trait]
pub trait JudgeClient: Send + Sync {
    /// One completion: returns the model's text reply.
    ///
    /// Errors are [`PolicyError::Unavailable`] (provider unreachable, rejected credentials,
    /// empty reply, …); the judge never turns one into an allow.
    async fn complete(&self, call: JudgeCall) -> Result<String, PolicyError>;
}
