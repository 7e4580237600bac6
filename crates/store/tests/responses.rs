//! OpenAI Responses (Codex) traffic is stored and searched like the rest: its `input` items read
//! back exactly, and a session is found by words in its prompts, replies, `exec_command` commands
//! and `apply_patch` patches, whether they arrive in a request's items, an assembled stream or a
//! response object.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{exec_call_item, message_item, output_item, patch_call_item, responses_record};
use luthien_store::{SessionFilter, Store};
use serde_json::json;

async fn ids(store: &Store, text: &str) -> Vec<String> {
    let filter = SessionFilter {
        q: Some(text.into()),
        ..Default::default()
    };
    let mut ids: Vec<String> = store
        .list_sessions(&filter)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    ids
}

on_both_backends! {
    async fn a_codex_session_is_found_by_words_only_in_its_apply_patch_input_or_exec_command_cmd(db: &TestDb) {
        let store = db.store().await;
        // Turn 1: the prompt; the model answers (streamed) with a shell call.
        let turn1 = vec![
            message_item("developer", "sandbox permissions developerword"),
            message_item("user", "<environment_context>\n  <cwd>/repo</cwd>\n</environment_context>"),
            message_item("user", "make the parser faster"),
        ];
        let streamed = json!({"id": "resp_1", "type": "message", "role": "assistant", "content": [
            {"type": "tool_use", "id": "c1", "name": "exec_command", "input": {"cmd": "rg -n quetzalcoatl src/"}}]});
        // Turn 2: the call and its output come back in the input; the model patches a file.
        let mut turn2 = turn1.clone();
        turn2.push(exec_call_item("c1", "rg -n quetzalcoatl src/"));
        turn2.push(output_item("c1", "src/parser.rs:10: outputonlyword", false));
        let patched = json!({"id": "resp_2", "type": "message", "role": "assistant", "content": [
            {"type": "custom_tool_call", "id": "p1", "name": "apply_patch",
             "input": "*** Begin Patch\n*** Update File: src/parser.rs\n+fn xylophonist() {}\n*** End Patch\n"}]});
        let codex = [
            responses_record("codex", 1_000, json!(turn1), Some(streamed)),
            responses_record("codex", 2_000, json!(turn2), Some(patched)),
        ];
        // A non-streamed response object, and a patch seen only in a later request's input.
        let object = json!({"id": "resp_3", "object": "response", "status": "completed", "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "the marimba is tuned"}]},
            {"type": "function_call", "call_id": "c9", "name": "exec_command", "arguments": "{\"cmd\":\"cargo test --package glockenspiel\"}"}],
            "usage": {"input_tokens": 10, "output_tokens": 5}});
        let replayed = vec![
            message_item("user", "tidy up"),
            patch_call_item("p7", "*** Begin Patch\n*** Add File: kazoo.txt\n+theremin\n*** End Patch\n"),
            output_item("p7", "Success.", true),
        ];
        let mut other = vec![
            responses_record("object", 3_000, json!("what does the ocarina play?"), Some(object)),
            responses_record("replayed", 4_000, json!(replayed), None),
        ];
        other[0].stream = false;
        let plain = common::record(Some("plain"), 5_000, "an unrelated conversation");
        store.insert_batch(&codex).await.unwrap();
        store.insert_batch(&other).await.unwrap();
        store.insert_batch(&[plain]).await.unwrap();

        assert_eq!(ids(&store, "quetzalcoatl").await, vec!["codex"], "exec_command cmd");
        assert_eq!(ids(&store, "xylophonist").await, vec!["codex"], "apply_patch input (stream)");
        assert_eq!(ids(&store, "parser faster").await, vec!["codex"], "user text");
        assert_eq!(ids(&store, "marimba").await, vec!["object"], "response object text");
        assert_eq!(ids(&store, "glockenspiel").await, vec!["object"], "response object call");
        assert_eq!(ids(&store, "ocarina").await, vec!["object"], "a string input");
        assert_eq!(ids(&store, "theremin").await, vec!["replayed"], "apply_patch input (request)");
        assert_eq!(ids(&store, "kazoo").await, vec!["replayed"]);
        // Tool output and developer messages are not indexed (as for the other APIs).
        assert!(ids(&store, "outputonlyword").await.is_empty());
        assert!(ids(&store, "developerword").await.is_empty());
    }
}

on_both_backends! {
    async fn responses_bodies_read_back_exactly_and_share_their_history(db: &TestDb) {
        let store = db.store().await;
        let mut input = vec![
            message_item("developer", "rules"),
            message_item("user", "hello ünïcødé"),
        ];
        let mut recs = Vec::new();
        for turn in 0..3 {
            let mut r = responses_record("s", 1_000 + turn, json!(input.clone()), None);
            r.request_received["instructions"] = json!("You are Codex.");
            recs.push(r);
            input.push(json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}], "encrypted_content": format!("gAAA{turn}")}));
            input.push(exec_call_item(&format!("c{turn}"), "ls"));
            input.push(output_item(&format!("c{turn}"), "a\nb", false));
        }
        store.insert_batch(&recs[..1]).await.unwrap();
        store.insert_batch(&recs[1..]).await.unwrap();
        let s = store.session("s").await.unwrap().unwrap();
        assert_eq!(s.transactions.len(), 3);
        for (t, r) in s.transactions.iter().zip(&recs) {
            assert_eq!(
                serde_json::to_string(&t.record.request_received).unwrap(),
                serde_json::to_string(&r.request_received).unwrap()
            );
        }
        // Each item is one node: 2 + 3 + 3 items in all, not 2 + 5 + 8.
        assert_eq!(db.count("message_nodes").await, 8);
    }
}
