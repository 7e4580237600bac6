//! How request and response bodies are stored without quadratic growth, and what of them is
//! indexed for full-text search.
//!
//! A conversation re-sends every previous message each turn. Each message, and the `system` and
//! `tools` values (which repeat verbatim), is stored once as a content-addressed blob (sha256 of its
//! compact JSON). The message list itself is a chain of prefix nodes, one per (session, prefix):
//! turn N adds only the nodes for its new messages, and the transaction row keeps the body with
//! those keys set to `null` plus the hashes to put back. Expansion is lossless: the blob text is
//! the exact serialisation of the value, and keys are restored in place (key order is preserved).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Longest text indexed per transaction; bounds index growth and PostgreSQL's tsvector limit.
const MAX_SEARCH_TEXT_BYTES: usize = 256 * 1024;

/// Hex sha256 of a string: the address of a blob.
pub fn content_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// A request body as stored in its row: the body with deduplicated keys nulled, and their addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredRequest {
    /// The body; keys named below hold `null` here.
    pub body: Value,
    /// Head node of the message chain that replaces `messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<String>,
    /// Blob replacing `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Blob replacing `tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<String>,
}

/// One node of a message chain: the conversation prefix ending at `message_hash`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChainNode {
    /// Address of this prefix (session, parent, message).
    pub hash: String,
    /// The prefix one message shorter; `None` for the first message.
    pub parent: Option<String>,
    /// Blob holding this message.
    pub message_hash: String,
    /// Zero-based index of the message.
    pub position: i64,
}

/// Everything the encoder wants written for one request body.
#[derive(Debug, Default)]
pub(crate) struct EncodedParts {
    /// Blobs by address (exact JSON text).
    pub blobs: Vec<(String, String)>,
    /// Chain nodes, parents first, with the message value (for indexing new ones).
    pub nodes: Vec<(ChainNode, Value)>,
}

/// Splits a request body for storage. `session_id` scopes the message chain so that each session
/// owns its nodes (purging one never touches another's) and "new node" means "new in this session".
pub(crate) fn encode_request(
    session_id: &str,
    body: &Value,
    parts: &mut EncodedParts,
) -> Result<StoredRequest, StoreError> {
    let mut stored = StoredRequest {
        body: body.clone(),
        messages: None,
        system: None,
        tools: None,
    };
    let Value::Object(map) = &mut stored.body else {
        return Ok(stored);
    };
    for key in ["system", "tools"] {
        if let Some(v) = map.get_mut(key) {
            if v.is_null() {
                continue;
            }
            let text = serde_json::to_string(v)?;
            let hash = content_hash(&text);
            parts.blobs.push((hash.clone(), text));
            *v = Value::Null;
            if key == "system" {
                stored.system = Some(hash);
            } else {
                stored.tools = Some(hash);
            }
        }
    }
    if let Some(Value::Array(messages)) = map.get_mut("messages") {
        if !messages.is_empty() {
            let mut parent: Option<String> = None;
            for (i, m) in messages.iter().enumerate() {
                let text = serde_json::to_string(m)?;
                let message_hash = content_hash(&text);
                let hash = content_hash(&format!(
                    "{session_id}\u{0}{}\u{0}{message_hash}",
                    parent.as_deref().unwrap_or("")
                ));
                parts.blobs.push((message_hash.clone(), text));
                let position =
                    i64::try_from(i).map_err(|_| StoreError::OutOfRange("message count".into()))?;
                parts.nodes.push((
                    ChainNode {
                        hash: hash.clone(),
                        parent: parent.clone(),
                        message_hash,
                        position,
                    },
                    m.clone(),
                ));
                parent = Some(hash);
            }
            stored.messages = parent;
            if let Some(v) = map.get_mut("messages") {
                *v = Value::Null;
            }
        }
    }
    Ok(stored)
}

/// What expansion reads from: a session's chain nodes and the blobs it references.
#[derive(Debug, Default)]
pub(crate) struct ExpandContext {
    /// Node address → (parent, message blob).
    pub nodes: HashMap<String, (Option<String>, String)>,
    /// Blob address → JSON text.
    pub blobs: HashMap<String, String>,
}

impl ExpandContext {
    /// The value stored in a blob.
    pub fn blob_value(&self, hash: &str) -> Result<Value, StoreError> {
        let text = self
            .blobs
            .get(hash)
            .ok_or_else(|| StoreError::Corrupt(format!("missing blob {hash}")))?;
        Ok(serde_json::from_str(text)?)
    }

    /// Rebuilds a request body exactly as it was received.
    pub fn expand_request(&self, stored: StoredRequest) -> Result<Value, StoreError> {
        let mut body = stored.body;
        let Value::Object(map) = &mut body else {
            return Ok(body);
        };
        if let Some(h) = &stored.system {
            map.insert("system".into(), self.blob_value(h)?);
        }
        if let Some(h) = &stored.tools {
            map.insert("tools".into(), self.blob_value(h)?);
        }
        if let Some(head) = &stored.messages {
            let mut messages = Vec::new();
            let mut cursor = Some(head.clone());
            while let Some(node) = cursor {
                let (parent, message_hash) = self
                    .nodes
                    .get(&node)
                    .ok_or_else(|| StoreError::Corrupt(format!("missing message node {node}")))?;
                messages.push(self.blob_value(message_hash)?);
                cursor = parent.clone();
            }
            messages.reverse();
            map.insert("messages".into(), Value::Array(messages));
        }
        Ok(body)
    }
}

/// Appends the searchable text of one conversation message (Anthropic or OpenAI chat shape):
/// user and assistant text, tool call names and arguments. System prompts and tool results are
/// left out: they are large, repeat, and are not what people search history for.
pub(crate) fn message_search_text(message: &Value, out: &mut String) {
    let role = message.get("role").and_then(Value::as_str).unwrap_or("");
    if !matches!(role, "user" | "assistant" | "") {
        return;
    }
    match message.get("content") {
        Some(Value::String(s)) => push_text(out, s),
        Some(Value::Array(blocks)) => {
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = block.get("text").and_then(Value::as_str) {
                            push_text(out, t);
                        }
                    }
                    Some("tool_use" | "server_tool_use") => {
                        if let Some(n) = block.get("name").and_then(Value::as_str) {
                            push_text(out, n);
                        }
                        if let Some(input) = block.get("input") {
                            json_strings(input, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    // OpenAI chat: assistant tool calls carry JSON-encoded arguments.
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        for call in calls {
            if let Some(f) = call.get("function") {
                if let Some(n) = f.get("name").and_then(Value::as_str) {
                    push_text(out, n);
                }
                match f.get("arguments") {
                    Some(Value::String(a)) => match serde_json::from_str::<Value>(a) {
                        Ok(v) => json_strings(&v, out),
                        Err(_) => push_text(out, a),
                    },
                    Some(v) => json_strings(v, out),
                    None => {}
                }
            }
        }
    }
}

/// Appends the searchable text of an assembled response: an Anthropic message, or an OpenAI chat
/// completion (its choices' messages).
pub(crate) fn response_search_text(response: &Value, out: &mut String) {
    if let Some(Value::Array(choices)) = response.get("choices") {
        for c in choices {
            if let Some(m) = c.get("message") {
                message_search_text(m, out);
            }
        }
    } else {
        message_search_text(response, out);
    }
}

/// Keys and string leaves of a JSON value (tool arguments): words in either should be findable.
fn json_strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => push_text(out, s),
        Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                push_text(out, k);
                json_strings(x, out);
            }
        }
        Value::Number(n) => push_text(out, &n.to_string()),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Appends text up to the cap as plain words: punctuation becomes spaces, so both backends split
/// `./path/to_file` or `{"a":"b"}` into the same words (PostgreSQL's parser would otherwise keep
/// paths and URLs as single tokens) and no NUL reaches PostgreSQL.
fn push_text(out: &mut String, s: &str) {
    if out.len() >= MAX_SEARCH_TEXT_BYTES {
        return;
    }
    if !out.is_empty() {
        out.push('\n');
    }
    for c in s.chars() {
        if out.len() + c.len_utf8() > MAX_SEARCH_TEXT_BYTES {
            break;
        }
        out.push(if c.is_alphanumeric() { c } else { ' ' });
    }
}

/// A search query as plain words, split the way indexed text is.
pub(crate) fn query_words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A session title from a title hint: trimmed, at most 120 characters.
pub(crate) fn title_from_hint(hint: Option<&str>) -> Option<String> {
    let t = hint?.trim();
    if t.is_empty() {
        return None;
    }
    Some(t.chars().take(120).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_round_trips_through_encoding_with_key_order_kept() {
        let body = json!({"model": "m", "system": "sys", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], "tools": [{"name": "t"}], "stream": true});
        let mut parts = EncodedParts::default();
        let stored = encode_request("s", &body, &mut parts).unwrap();
        let mut cx = ExpandContext::default();
        for (h, t) in parts.blobs {
            cx.blobs.insert(h, t);
        }
        for (n, _) in parts.nodes {
            cx.nodes.insert(n.hash, (n.parent, n.message_hash));
        }
        let back = cx.expand_request(stored).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&body).unwrap()
        );
    }

    #[test]
    fn titles_are_trimmed_to_120_characters() {
        let long = format!("  {}  ", "é".repeat(200));
        assert_eq!(title_from_hint(Some(&long)).unwrap().chars().count(), 120);
        assert_eq!(title_from_hint(Some("   ")), None);
    }
}
