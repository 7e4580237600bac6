//! The OpenAI APIs: Chat Completions (its chunk stream and request types) and Responses (its
//! event stream, response object and request view).

pub mod chat_request;
pub mod chat_stream;
pub mod responses_request;
pub mod responses_response;
pub mod responses_stream;
