//! Storage grows with new content, not with turns: a long conversation that re-sends its whole
//! history every turn stores each message, system prompt and tool list once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use std::collections::HashSet;

use serde_json::{json, Value};

/// About `n` bytes of varied prose for message `i`.
fn prose(i: usize, n: usize) -> String {
    let mut s = format!("turn {i}: ");
    let mut k = i;
    while s.len() < n {
        k = k
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(
            [
                "alpha ", "bravo ", "charlie ", "delta ", "echo ", "foxtrot ",
            ][(k >> 33) % 6],
        );
    }
    s
}

on_both_backends! {
    async fn a_200_turn_session_stores_under_3x_its_distinct_content(db: &TestDb) {
        let store = db.store().await;
        let system = prose(0, 20_000);
        let tools: Value = json!((0..10).map(|t| json!({"name": format!("tool_{t}"), "description": prose(t + 1000, 900), "input_schema": {"type": "object"}})).collect::<Vec<_>>());
        let mut messages: Vec<Value> = Vec::new();
        let mut distinct: HashSet<String> = HashSet::new();
        distinct.insert(serde_json::to_string(&json!(system)).unwrap());
        distinct.insert(serde_json::to_string(&tools).unwrap());
        let mut naive = 0usize;
        for turn in 0..200 {
            let user = json!({"role": "user", "content": prose(2 * turn + 1, 500)});
            messages.push(user.clone());
            let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "system": system, "tools": tools, "messages": messages, "stream": true});
            let reply_text = prose(2 * turn + 2, 500);
            let response = json!({"id": format!("msg_{turn}"), "type": "message", "role": "assistant", "content": [{"type": "text", "text": reply_text}], "stop_reason": "end_turn"});
            distinct.insert(serde_json::to_string(&user).unwrap());
            distinct.insert(serde_json::to_string(&response).unwrap());
            let mut rec = common::record(Some("long-session"), 1_000 + turn as i64, "x");
            rec.request_received = body.clone();
            rec.request_sent = Some(body.clone());
            rec.response_received = Some(response.clone());
            rec.response_delivered = Some(response.clone());
            naive += 2 * serde_json::to_string(&body).unwrap().len() + 2 * serde_json::to_string(&response).unwrap().len();
            store.insert_batch(&[rec]).await.unwrap();
            let assistant = json!({"role": "assistant", "content": [{"type": "text", "text": reply_text}]});
            distinct.insert(serde_json::to_string(&assistant).unwrap());
            messages.push(assistant);
        }
        let distinct_bytes: usize = distinct.iter().map(String::len).sum();
        let stored = store.storage_bytes().await.unwrap() as usize;
        println!(
            "{:?}: 200 turns: {} KB stored for {} KB of distinct content; naive would be {:.1} MB",
            db.backend(),
            stored / 1024,
            distinct_bytes / 1024,
            naive as f64 / 1_048_576.0
        );
        assert!(stored < 3 * distinct_bytes, "stored {stored} B, distinct content {distinct_bytes} B");
        // And the last turn still reads back whole.
        let s = store.session("long-session").await.unwrap().unwrap();
        let last = &s.transactions[199].record;
        assert_eq!(last.request_received["messages"].as_array().unwrap().len(), 399);
        assert_eq!(last.request_received["system"], json!(system));
    }
}

/// `n` bytes of base64-like text that does not compress or repeat (Codex's `encrypted_content`).
fn opaque(i: usize, n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut k = i as u64 ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(ALPHABET[((k >> 33) % 64) as usize])
        })
        .collect()
}

on_both_backends! {
    /// A 200-turn Codex session (OpenAI Responses): a body of about 38 KB (tools, two developer
    /// messages, the AGENTS.md and environment-context user message, the prompt) re-sent every
    /// turn with that turn's reasoning item, `exec_command` call and output appended (an
    /// `apply_patch` call every fifth turn, a new prompt every twentieth). Its `input` items chain
    /// like `messages` and its `tools` are one blob, so storage follows the new content.
    /// Measured (SQLite and PostgreSQL alike): 987 KB stored for 530 KB of distinct content
    /// (1.86×; the rest is the per-item node and per-row overhead), where storing every body and
    /// response whole would take 95.7 MB (99 times the stored size).
    async fn a_200_turn_codex_session_stores_under_3x_its_distinct_content(db: &TestDb) {
        let store = db.store().await;
        let session = "codex-long-session";
        let tools: Value = json!((0..12).map(|t| json!({"type": "function", "name": format!("tool_{t}"),
            "description": prose(t + 1000, 1_800), "strict": false,
            "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}})).collect::<Vec<_>>());
        let mut input: Vec<Value> = vec![
            common::message_item("developer", &prose(1, 3_000)),
            common::message_item("developer", &prose(2, 9_000)),
            common::message_item("user", &format!("# AGENTS.md instructions for /repo\n\n<INSTRUCTIONS>\n{}\n</INSTRUCTIONS>\n<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>", prose(3, 3_000))),
            common::message_item("user", "fix the failing parser test"),
        ];
        let mut distinct: HashSet<String> = HashSet::new();
        distinct.insert(serde_json::to_string(&tools).unwrap());
        for i in &input {
            distinct.insert(serde_json::to_string(i).unwrap());
        }
        let mut naive = 0usize;
        let mut last = (String::new(), Value::Null);
        for turn in 0..200usize {
            let body = json!({"model": "gpt-5.5", "input": input, "tools": tools, "tool_choice": "auto",
                "parallel_tool_calls": true, "reasoning": {"effort": "medium"}, "store": false, "stream": true,
                "include": ["reasoning.encrypted_content"], "prompt_cache_key": session,
                "text": {"verbosity": "low"}, "client_metadata": {"x-codex-turn-metadata": format!("{{\"turn_id\":\"t{turn}\"}}")}});
            // What the model does this turn.
            let call_id = format!("call_{turn}");
            let reasoning = json!({"type": "reasoning", "id": format!("rs_{turn}"), "summary": [],
                "encrypted_content": opaque(turn, 1_200)});
            let (call, output, block) = if turn % 5 == 4 {
                let patch = format!("*** Begin Patch\n*** Update File: src/f{turn}.rs\n+{}\n*** End Patch\n", prose(10_000 + turn, 400));
                (common::patch_call_item(&call_id, &patch),
                 common::output_item(&call_id, "Success. Updated the following files:\nM src/f.rs", true),
                 json!({"type": "custom_tool_call", "id": call_id, "name": "apply_patch", "input": patch}))
            } else {
                let cmd = format!("rg -n 'fn parse_{turn}' src/");
                (common::exec_call_item(&call_id, &cmd),
                 common::output_item(&call_id, &format!("Chunk ID: {turn}\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\n{}", prose(20_000 + turn, 600)), false),
                 json!({"type": "tool_use", "id": call_id, "name": "exec_command", "input": {"cmd": cmd}}))
            };
            let response = json!({"id": format!("resp_{turn}"), "type": "message", "role": "assistant", "model": "gpt-5.5",
                "content": [{"type": "thinking", "thinking": "", "signature": ""}, block], "stop_reason": "tool_use",
                "usage": {"input_tokens": 10_000 + turn, "output_tokens": 120}});
            distinct.insert(serde_json::to_string(&response).unwrap());
            let mut rec = common::responses_record(session, 1_000 + turn as i64, Value::Null, Some(response.clone()));
            rec.request_received = body.clone();
            rec.request_sent = Some(body.clone());
            naive += 2 * serde_json::to_string(&body).unwrap().len() + 2 * serde_json::to_string(&response).unwrap().len();
            last = (rec.id.clone(), body);
            store.insert_batch(&[rec]).await.unwrap();
            // The next request re-sends everything with this turn's items appended.
            let mut new_items = vec![reasoning, call, output];
            if turn % 20 == 19 {
                new_items.push(common::message_item("assistant", &prose(30_000 + turn, 300)));
                new_items.push(common::message_item("user", &prose(40_000 + turn, 200)));
            }
            for i in new_items {
                distinct.insert(serde_json::to_string(&i).unwrap());
                input.push(i);
            }
        }
        let distinct_bytes: usize = distinct.iter().map(String::len).sum();
        let stored = store.storage_bytes().await.unwrap() as usize;
        println!(
            "{:?}: 200 Codex turns: {} KB stored for {} KB of distinct content ({:.2}x); naive would be {:.1} MB ({:.0}x the stored size)",
            db.backend(),
            stored / 1024,
            distinct_bytes / 1024,
            stored as f64 / distinct_bytes as f64,
            naive as f64 / 1_048_576.0,
            naive as f64 / stored as f64
        );
        assert!(stored < 3 * distinct_bytes, "stored {stored} B, distinct content {distinct_bytes} B");
        // The last turn reads back byte for byte, key order included.
        let (last_id, last_body) = last;
        let t = store.transaction(&last_id).await.unwrap().unwrap();
        assert_eq!(
            serde_json::to_string(&t.record.request_received).unwrap(),
            serde_json::to_string(&last_body).unwrap()
        );
        assert_eq!(t.record.request_sent.as_ref(), Some(&last_body));
    }
}
