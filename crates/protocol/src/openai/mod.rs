//! The OpenAI Chat Completions API: its chunk stream (and, beside it, its request types).

pub mod chat_request;
pub mod chat_stream;
