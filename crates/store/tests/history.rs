//! Listing history: full-text search (user text, assistant text, tool calls), filters by time,
//! model and decision, and stable newest-first paging.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use luthien_store::{SessionFilter, Store};
use serde_json::json;

async fn ids(store: &Store, filter: SessionFilter) -> Vec<String> {
    store
        .list_sessions(&filter)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.id)
        .collect()
}

fn q(text: &str) -> SessionFilter {
    SessionFilter {
        q: Some(text.into()),
        ..Default::default()
    }
}

on_both_backends! {
    async fn a_conversation_is_found_by_a_word_only_in_a_tool_calls_arguments(db: &TestDb) {
        let store = db.store().await;
        let mut with_tool = common::record(Some("tooly"), 1_000, "please clean up");
        with_tool.request_received["messages"] = json!([
            {"role": "user", "content": "please clean up"},
            common::tool_call_message("Bash", json!({"command": "rm -rf ./zanzibarquux"})),
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "done"}]}
        ]);
        let other = common::record(Some("plain"), 2_000, "tell me about zanzibar");
        store.insert_batch(&[with_tool, other]).await.unwrap();
        assert_eq!(ids(&store, q("zanzibarquux")).await, vec!["tooly"]);
        assert_eq!(ids(&store, q("Bash")).await, vec!["tooly"], "tool names are indexed");
        assert_eq!(ids(&store, q("zanzibar")).await, vec!["plain"]);
        assert!(ids(&store, q("nonexistentword")).await.is_empty());
        // FTS syntax in user input is treated as words, not operators.
        assert!(ids(&store, q("\"unbalanced OR (")).await.is_empty());
    }
}

on_both_backends! {
    async fn search_covers_assistant_responses_and_openai_tool_calls(db: &TestDb) {
        let store = db.store().await;
        let mut a = common::record(Some("anthropic-reply"), 1_000, "hi");
        a.response_delivered = Some(json!({"role": "assistant", "content": [{"type": "text", "text": "the quokka says hello"}]}));
        let mut o = common::record(Some("openai-call"), 2_000, "hi");
        o.client_api = "openai_chat".into();
        o.response_delivered = Some(json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"/etc/wombatconfig\"}"}}]}}]}));
        store.insert_batch(&[a, o]).await.unwrap();
        assert_eq!(ids(&store, q("quokka")).await, vec!["anthropic-reply"]);
        assert_eq!(ids(&store, q("wombatconfig")).await, vec!["openai-call"]);
    }
}

on_both_backends! {
    async fn filters_by_time_model_and_decision_combine(db: &TestDb) {
        let store = db.store().await;
        let mut recs = Vec::new();
        for i in 0..6i64 {
            let mut r = common::record(Some(&format!("s{i}")), 1_000 * (i + 1), "hello");
            r.model = if i % 2 == 0 { "even-model".into() } else { "odd-model".into() };
            if i == 3 || i == 4 {
                r.final_decision = "blocked".into();
            }
            recs.push(r);
        }
        store.insert_batch(&recs).await.unwrap();
        let all = ids(&store, SessionFilter::default()).await;
        assert_eq!(all, vec!["s5", "s4", "s3", "s2", "s1", "s0"], "newest first");
        let range = SessionFilter { from_ms: Some(2_000), to_ms: Some(5_000), ..Default::default() };
        assert_eq!(ids(&store, range).await, vec!["s3", "s2", "s1"], "from inclusive, to exclusive");
        let model = SessionFilter { model: Some("odd-model".into()), ..Default::default() };
        assert_eq!(ids(&store, model).await, vec!["s5", "s3", "s1"]);
        let blocked = SessionFilter { decision: Some("blocked".into()), ..Default::default() };
        assert_eq!(ids(&store, blocked).await, vec!["s4", "s3"]);
        let both = SessionFilter { decision: Some("blocked".into()), model: Some("even-model".into()), ..Default::default() };
        assert_eq!(ids(&store, both).await, vec!["s4"]);
        let page = store.list_sessions(&SessionFilter::default()).await.unwrap();
        assert_eq!(page.items[0].models, vec!["odd-model"]);
        assert_eq!(page.items[1].blocked_count, 1);
    }
}

on_both_backends! {
    async fn paging_walks_every_session_once_newest_first_even_with_equal_timestamps(db: &TestDb) {
        let store = db.store().await;
        // 25 sessions, several sharing a last-seen time, so the cursor must break ties.
        let recs: Vec<_> = (0..25i64).map(|i| common::record(Some(&format!("p{i:02}")), 1_000 + i / 3, "hi")).collect();
        store.insert_batch(&recs).await.unwrap();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .list_sessions(&SessionFilter { limit: 7, cursor: cursor.clone(), ..Default::default() })
                .await
                .unwrap();
            assert!(page.items.len() <= 7);
            seen.extend(page.items.iter().map(|s| (s.last_seen_ms, s.id.clone())));
            // New activity elsewhere does not disturb the remaining pages.
            store.insert_batch(&[common::record(None, 0, "old noise")]).await.unwrap();
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut expected: Vec<_> = recs.iter().map(|r| (r.started_at_ms, r.session_id.clone().unwrap())).collect();
        expected.sort_by(|a, b| b.cmp(a));
        let seen_named: Vec<_> = seen.into_iter().filter(|(_, id)| id.starts_with('p')).collect();
        assert_eq!(seen_named, expected);
        let bad = SessionFilter { cursor: Some("garbage".into()), ..Default::default() };
        assert!(store.list_sessions(&bad).await.is_err());
    }
}

on_both_backends! {
    async fn activity_counts_count_transactions_started_in_the_window(db: &TestDb) {
        let store = db.store().await;
        let mut blocked = common::record(Some("s1"), 5_000, "b");
        blocked.final_decision = "blocked".into();
        store
            .insert_batch(&[
                common::record(Some("s1"), 1_000, "old"),
                common::record(Some("s1"), 4_000, "a"),
                blocked,
                common::record(Some("s2"), 6_000, "c"),
            ])
            .await
            .unwrap();
        let c = store.activity_counts(3_000).await.unwrap();
        assert_eq!((c.sessions, c.transactions, c.blocked), (2, 3, 1));
        let none = store.activity_counts(7_000).await.unwrap();
        assert_eq!((none.sessions, none.transactions, none.blocked), (0, 0, 0));
    }
}
