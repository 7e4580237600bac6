//! How request and response bodies are stored without quadratic growth, and what of them is
//! indexed for full-text search.
//!
//! A conversation re-sends every previous message each turn. Each message, and the `system`,
//! `instructions` and `tools` values (which repeat verbatim), is stored once as a content-addressed
//! blob (sha256 of its compact JSON). The message list itself is a chain of prefix nodes, one per
//! (session, prefix): turn N adds only the nodes for its new messages, and the transaction row
//! keeps the body with those keys set to `null` plus the hashes to put back. Expansion is lossless:
//! the blob text is the exact serialisation of the value, and keys are restored in place (key
//! order is preserved).
//!
//! The list is `messages` in an Anthropic Messages or OpenAI Chat body and `input` (when it is an
//! array of items) in an OpenAI Responses body: Codex re-sends its whole item list, developer
//! messages and encrypted reasoning included, every turn, so its items chain the same way. A node's
//! address depends only on the session, the parent and the item, so both lists share one node
//! table without ambiguity.

use std::collections::HashMap;
use std::sync::OnceLock;

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
    /// Head node of the item chain that replaces a Responses body's `input` array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Blob replacing `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Blob replacing a Responses body's `instructions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Blob replacing `tools`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<String>,
}

/// A request of a session read without copying what it shares with the session's other
/// requests: its history (resent every turn) and its large fields come by reference.
#[derive(Debug, Clone, Copy)]
pub struct RequestRef<'a> {
    stored: &'a StoredRequest,
    bodies: &'a ExpandContext,
}

impl<'a> RequestRef<'a> {
    /// A top-level field as received, except a `messages` or `input` list (see
    /// [`RequestRef::history`]); `None` when the request had no such field.
    pub fn field(&self, key: &str) -> Result<Option<&'a Value>, StoreError> {
        let blob = match key {
            "system" => &self.stored.system,
            "instructions" => &self.stored.instructions,
            "tools" => &self.stored.tools,
            _ => &None,
        };
        if let Some(hash) = blob {
            return self.bodies.blob_ref(hash).map(Some);
        }
        let chained = match key {
            "messages" => self.stored.messages.is_some(),
            "input" => self.stored.input.is_some(),
            _ => false,
        };
        Ok((!chained).then(|| self.stored.body.get(key)).flatten())
    }

    /// The request's `messages` list or Responses `input` list, first item first; `None` when
    /// it had neither as a list (an `input` string is a [`RequestRef::field`]).
    pub fn history(&self) -> Result<Option<Vec<&'a Value>>, StoreError> {
        let head = self
            .stored
            .messages
            .as_deref()
            .or(self.stored.input.as_deref());
        match head {
            Some(head) => self.bodies.chain_refs(head).map(Some),
            // An empty list is stored inline.
            None => Ok(["messages", "input"]
                .iter()
                .find_map(|k| self.stored.body.get(*k).and_then(Value::as_array))
                .map(|list| list.iter().collect())),
        }
    }

    /// Whether the history is a Chat/Messages `messages` list (else a Responses `input`).
    pub fn history_is_messages(&self) -> bool {
        self.stored.messages.is_some()
            || self
                .stored
                .body
                .get("messages")
                .is_some_and(Value::is_array)
    }
}

/// Keys stored as one blob each, with the field of [`StoredRequest`] that holds the address.
const BLOB_KEYS: [&str; 3] = ["system", "instructions", "tools"];
/// Keys whose array is stored as a chain of nodes.
const CHAIN_KEYS: [&str; 2] = ["messages", "input"];

impl StoredRequest {
    fn blob_slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        match key {
            "system" => Some(&mut self.system),
            "instructions" => Some(&mut self.instructions),
            "tools" => Some(&mut self.tools),
            _ => None,
        }
    }

    fn chain_slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        match key {
            "messages" => Some(&mut self.messages),
            "input" => Some(&mut self.input),
            _ => None,
        }
    }
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
        body: Value::Null,
        messages: None,
        input: None,
        system: None,
        instructions: None,
        tools: None,
    };
    let Value::Object(map) = body else {
        stored.body = body.clone();
        return Ok(stored);
    };
    let mut map = map.clone();
    for key in BLOB_KEYS {
        let Some(v) = map.get_mut(key) else { continue };
        if v.is_null() {
            continue;
        }
        let text = serde_json::to_string(v)?;
        let hash = content_hash(&text);
        parts.blobs.push((hash.clone(), text));
        *v = Value::Null;
        if let Some(slot) = stored.blob_slot(key) {
            *slot = Some(hash);
        }
    }
    for key in CHAIN_KEYS {
        let Some(Value::Array(items)) = map.get_mut(key) else {
            continue;
        };
        if items.is_empty() {
            continue;
        }
        let head = encode_chain(session_id, items, parts)?;
        if let Some(v) = map.get_mut(key) {
            *v = Value::Null;
        }
        if let Some(slot) = stored.chain_slot(key) {
            *slot = Some(head);
        }
    }
    stored.body = Value::Object(map);
    Ok(stored)
}

/// Adds the blobs and nodes of one list and returns the address of its last node.
fn encode_chain(
    session_id: &str,
    items: &[Value],
    parts: &mut EncodedParts,
) -> Result<String, StoreError> {
    let mut parent: Option<String> = None;
    for (i, m) in items.iter().enumerate() {
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
    parent.ok_or_else(|| StoreError::OutOfRange("empty message list".into()))
}

/// What expansion reads from: a session's chain nodes and the blobs it references.
#[derive(Debug, Default)]
pub(crate) struct ExpandContext {
    /// Node address → (parent, message blob).
    pub nodes: HashMap<String, (Option<String>, String)>,
    /// Blob address → the blob.
    blobs: HashMap<String, Blob>,
}

/// A stored blob, parsed at most once: every turn of a session refers to the same messages,
/// system prompt and tool list, and re-parsing them for each turn made reading a long session
/// quadratic in parsing.
#[derive(Debug)]
struct Blob {
    text: String,
    parsed: OnceLock<Value>,
}

impl ExpandContext {
    /// Adds a blob's stored JSON text.
    pub fn add_blob(&mut self, hash: String, text: String) {
        self.blobs.insert(
            hash,
            Blob {
                text,
                parsed: OnceLock::new(),
            },
        );
    }

    /// The value stored in a blob.
    pub fn blob_value(&self, hash: &str) -> Result<Value, StoreError> {
        self.blob_ref(hash).cloned()
    }

    /// The value stored in a blob, parsed on first use.
    pub fn blob_ref(&self, hash: &str) -> Result<&Value, StoreError> {
        let blob = self
            .blobs
            .get(hash)
            .ok_or_else(|| StoreError::Corrupt(format!("missing blob {hash}")))?;
        if blob.parsed.get().is_none() {
            let v: Value = serde_json::from_str(&blob.text)?;
            // Another reader may have set it meanwhile; either value is the same.
            let _ = blob.parsed.set(v);
        }
        blob.parsed
            .get()
            .ok_or_else(|| StoreError::Corrupt(format!("blob {hash} could not be kept")))
    }

    /// Rebuilds a request body exactly as it was received.
    pub fn expand_request(&self, stored: StoredRequest) -> Result<Value, StoreError> {
        let mut body = stored.body;
        let Value::Object(map) = &mut body else {
            return Ok(body);
        };
        // `insert` on a key that is present keeps its position: the key order is the original's.
        for (key, blob) in [
            ("system", &stored.system),
            ("instructions", &stored.instructions),
            ("tools", &stored.tools),
        ] {
            if let Some(h) = blob {
                map.insert(key.into(), self.blob_value(h)?);
            }
        }
        for (key, head) in [("messages", &stored.messages), ("input", &stored.input)] {
            if let Some(head) = head {
                map.insert(key.into(), Value::Array(self.chain(head)?));
            }
        }
        Ok(body)
    }

    /// The list ending at node `head`, first item first.
    fn chain(&self, head: &str) -> Result<Vec<Value>, StoreError> {
        Ok(self.chain_refs(head)?.into_iter().cloned().collect())
    }

    /// The list ending at node `head`, first item first, by reference.
    pub fn chain_refs(&self, head: &str) -> Result<Vec<&Value>, StoreError> {
        let mut items = Vec::new();
        let mut cursor = Some(head);
        while let Some(node) = cursor {
            let (parent, message_hash) = self
                .nodes
                .get(node)
                .ok_or_else(|| StoreError::Corrupt(format!("missing message node {node}")))?;
            items.push(self.blob_ref(message_hash)?);
            cursor = parent.as_deref();
        }
        items.reverse();
        Ok(items)
    }

    /// A stored request read by reference (see [`RequestRef`]).
    pub fn request_ref<'a>(&'a self, stored: &'a StoredRequest) -> RequestRef<'a> {
        RequestRef {
            stored,
            bodies: self,
        }
    }
}

/// Appends the searchable text of one conversation message (Anthropic or OpenAI chat shape) or
/// OpenAI Responses item: user and assistant text, tool call names and arguments (Codex's
/// `exec_command` `cmd`), custom tool call input (Codex's `apply_patch` text). System and developer
/// prompts, tool results and reasoning are left out: they are large, repeat, and are not what
/// people search history for.
pub(crate) fn message_search_text(message: &Value, out: &mut String) {
    match message.get("type").and_then(Value::as_str) {
        // Responses items other than messages.
        Some("function_call") => {
            push_str_field(message, "name", out);
            push_arguments(message.get("arguments"), out);
            return;
        }
        Some("custom_tool_call") => {
            push_str_field(message, "name", out);
            push_str_field(message, "input", out);
            return;
        }
        None | Some("message") => {}
        // Outputs, reasoning, hosted tool calls, item references.
        Some(_) => return,
    }
    let role = message.get("role").and_then(Value::as_str).unwrap_or("");
    if !matches!(role, "user" | "assistant" | "") {
        return;
    }
    match message.get("content") {
        Some(Value::String(s)) => push_text(out, s),
        Some(Value::Array(blocks)) => {
            for block in blocks {
                match block.get("type").and_then(Value::as_str) {
                    Some("text" | "input_text" | "output_text") => {
                        push_str_field(block, "text", out);
                    }
                    Some("tool_use" | "server_tool_use") => {
                        push_str_field(block, "name", out);
                        if let Some(input) = block.get("input") {
                            json_strings(input, out);
                        }
                    }
                    // How an assembled stream records a custom (free-form) tool call.
                    Some("custom_tool_call") => {
                        push_str_field(block, "name", out);
                        push_str_field(block, "input", out);
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
                push_str_field(f, "name", out);
                push_arguments(f.get("arguments"), out);
            }
            if let Some(c) = call.get("custom") {
                push_str_field(c, "name", out);
                push_str_field(c, "input", out);
            }
        }
    }
}

/// Appends the searchable text of what a request holds outside its chained list: a Responses
/// body's string `input` (one user message). Chained lists are indexed node by node as they
/// first appear.
pub(crate) fn request_search_text(body: &Value, out: &mut String) {
    if let Some(Value::String(s)) = body.get("input") {
        push_text(out, s);
    }
}

/// Appends the searchable text of an assembled response: an Anthropic message, an OpenAI chat
/// completion (its choices' messages) or an OpenAI Responses response object (its output items).
pub(crate) fn response_search_text(response: &Value, out: &mut String) {
    if let Some(Value::Array(choices)) = response.get("choices") {
        for c in choices {
            if let Some(m) = c.get("message") {
                message_search_text(m, out);
            }
        }
    } else if let Some(Value::Array(items)) = response.get("output") {
        for item in items {
            message_search_text(item, out);
        }
    } else {
        message_search_text(response, out);
    }
}

/// Appends `v[key]` when it is a string.
fn push_str_field(v: &Value, key: &str, out: &mut String) {
    if let Some(s) = v.get(key).and_then(Value::as_str) {
        push_text(out, s);
    }
}

/// Appends tool call arguments: a JSON-encoded string (OpenAI) is parsed first, so that keys and
/// values index as words; text that is not JSON is indexed as it is.
fn push_arguments(arguments: Option<&Value>, out: &mut String) {
    match arguments {
        Some(Value::String(a)) => match serde_json::from_str::<Value>(a) {
            Ok(v) => json_strings(&v, out),
            Err(_) => push_text(out, a),
        },
        Some(v) => json_strings(v, out),
        None => {}
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
            cx.add_blob(h, t);
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

    fn round_trip(body: &Value) -> (StoredRequest, Value) {
        let mut parts = EncodedParts::default();
        let stored = encode_request("s", body, &mut parts).unwrap();
        let mut cx = ExpandContext::default();
        for (h, t) in parts.blobs {
            cx.add_blob(h, t);
        }
        for (n, _) in parts.nodes {
            cx.nodes.insert(n.hash, (n.parent, n.message_hash));
        }
        (stored.clone(), cx.expand_request(stored).unwrap())
    }

    #[test]
    fn a_responses_body_chains_its_input_and_keeps_instructions_and_tools_as_blobs() {
        let body = json!({"model": "gpt-5.5", "instructions": "be terse", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "perms"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
            {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{\"cmd\":\"ls\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": "a.rs"}
        ], "tools": [{"type": "custom", "name": "apply_patch"}], "tool_choice": "auto",
           "prompt_cache_key": "k", "stream": true});
        let (stored, back) = round_trip(&body);
        assert!(stored.input.is_some() && stored.instructions.is_some() && stored.tools.is_some());
        assert_eq!(stored.body["input"], Value::Null);
        assert_eq!(stored.body["instructions"], Value::Null);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&body).unwrap()
        );
        // A string input and an empty list stay in the row as they are.
        for body in [
            json!({"model": "m", "input": "hello"}),
            json!({"input": [], "model": "m"}),
        ] {
            let (stored, back) = round_trip(&body);
            assert_eq!(stored.input, None);
            assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&body).unwrap()
            );
        }
    }

    #[test]
    fn responses_items_index_text_calls_and_custom_tool_input_but_not_outputs() {
        let mut out = String::new();
        for item in [
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "userword"}]}),
            json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "devword"}]}),
            json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "replyword"}]}),
            json!({"type": "function_call", "call_id": "c", "name": "exec_command", "arguments": "{\"cmd\":\"grep cmdword\"}"}),
            json!({"type": "custom_tool_call", "call_id": "p", "name": "apply_patch", "input": "*** Begin Patch\n+patchword\n*** End Patch"}),
            json!({"type": "function_call_output", "call_id": "c", "output": "outputword"}),
            json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "reasonword"}]}),
        ] {
            message_search_text(&item, &mut out);
        }
        let words = query_words(&out);
        for w in [
            "userword",
            "replyword",
            "exec",
            "command",
            "cmd",
            "cmdword",
            "apply",
            "patchword",
        ] {
            assert!(words.iter().any(|x| x == w), "{w} not in {out:?}");
        }
        for w in ["devword", "outputword", "reasonword"] {
            assert!(!words.iter().any(|x| x == w), "{w} in {out:?}");
        }
        // A response object's output items and an assembled stream's custom tool call block.
        let mut out = String::new();
        response_search_text(
            &json!({"object": "response", "output": [{"type": "custom_tool_call", "name": "apply_patch", "input": "+objword"}]}),
            &mut out,
        );
        response_search_text(
            &json!({"type": "message", "content": [{"type": "custom_tool_call", "id": "p", "name": "apply_patch", "input": "+streamword"}]}),
            &mut out,
        );
        request_search_text(&json!({"input": "stringinputword"}), &mut out);
        let words = query_words(&out);
        for w in ["objword", "streamword", "stringinputword"] {
            assert!(words.iter().any(|x| x == w), "{w} not in {out:?}");
        }
    }

    #[test]
    fn titles_are_trimmed_to_120_characters() {
        let long = format!("  {}  ", "é".repeat(200));
        assert_eq!(title_from_hint(Some(&long)).unwrap().chars().count(), 120);
        assert_eq!(title_from_hint(Some("   ")), None);
    }
}
