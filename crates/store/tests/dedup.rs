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
