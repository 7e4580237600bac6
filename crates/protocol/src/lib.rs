//! Wire protocols of the client APIs Luthien speaks: SSE framing, the canonical event model,
//! Anthropic Messages, OpenAI Chat Completions and OpenAI Responses streams, conversions
//! between them, and a validator of the wire invariants clients rely on. Pure: no I/O, no
//! async runtime.

pub mod anthropic;
pub mod convert;
pub mod error;
pub mod errors;
pub mod events;
pub mod openai;
pub mod sse;
pub mod validate;

pub use error::ProtocolError;
