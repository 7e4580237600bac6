//! What is written reads back exactly: every field, bodies re-expanded, decisions, raw events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use serde_json::json;

on_both_backends! {
    async fn every_field_round_trips_losslessly(db: &TestDb) {
        let store = db.store().await;
        let rec = common::full_record("sess-full", 1_700_000_000_000);
        store.insert_batch(std::slice::from_ref(&rec)).await.unwrap();
        let got = store.transaction(&rec.id).await.unwrap().expect("stored");
        assert_eq!(got.session_id, "sess-full");
        assert_eq!(got.record, rec);
        // Key order of bodies is kept too (the UI shows them as sent).
        assert_eq!(
            serde_json::to_string(&got.record).unwrap(),
            serde_json::to_string(&rec).unwrap()
        );
        let raw = got.record.raw_events.unwrap();
        assert!(raw.truncated, "truncation marker kept");
    }
}

on_both_backends! {
    async fn minimal_record_round_trips_and_gets_a_session_of_its_own(db: &TestDb) {
        let store = db.store().await;
        let mut rec = common::record(None, 42, "  standalone question  ");
        rec.request_received = serde_json::json!("not even an object");
        store.insert_batch(std::slice::from_ref(&rec)).await.unwrap();
        let got = store.transaction(&rec.id).await.unwrap().unwrap();
        assert_eq!(got.record, rec, "session_id stays None");
        assert_eq!(got.session_id, rec.id, "filed under a session named after the transaction");
        let session = store.session(&rec.id).await.unwrap().unwrap();
        assert_eq!(session.summary.title.as_deref(), Some("standalone question"));
        assert_eq!(session.transactions.len(), 1);
    }
}

on_both_backends! {
    async fn session_collects_its_transactions_in_order_with_title_counts_and_models(db: &TestDb) {
        let store = db.store().await;
        let mut first = common::record(Some("s1"), 1_000, &"x".repeat(300));
        first.model = "model-a".into();
        let mut second = common::record(Some("s1"), 2_000, "second");
        second.model = "model-b".into();
        second.final_decision = "blocked".into();
        let third = common::full_record("s1", 3_000);
        // Written out of order: the title still comes from the earliest transaction.
        store.insert_batch(&[third.clone(), second.clone()]).await.unwrap();
        store.insert_batch(std::slice::from_ref(&first)).await.unwrap();
        let s = store.session("s1").await.unwrap().unwrap();
        assert_eq!(s.summary.title, Some("x".repeat(120)), "title trimmed to 120 chars");
        assert_eq!(s.summary.first_seen_ms, 1_000);
        assert_eq!(s.summary.last_seen_ms, 3_000);
        assert_eq!(s.summary.transaction_count, 3);
        assert_eq!(s.summary.blocked_count, 1);
        assert_eq!(s.summary.models, vec!["model-a", "model-b", "claude-sonnet-4-5"]);
        let ids: Vec<_> = s.transactions.iter().map(|t| t.record.id.clone()).collect();
        assert_eq!(ids, vec![first.id, second.id, third.id.clone()]);
        assert_eq!(s.transactions[2].record, third);
    }
}

on_both_backends! {
    async fn an_outlined_session_reads_back_in_batches_exactly_as_whole(db: &TestDb) {
        let store = db.store().await;
        // 40 turns that resend a growing history, one with decisions and every field set.
        let mut history = Vec::new();
        let mut recs = Vec::new();
        for t in 0..40i64 {
            let mut r = if t == 17 {
                common::full_record("long", 1_000 + t)
            } else {
                common::record(Some("long"), 1_000 + t, "turn")
            };
            history.push(json!({"role": "user", "content": format!("turn {t}")}));
            r.request_received["messages"] = json!(history.clone());
            history.push(json!({"role": "assistant", "content": format!("reply {t}")}));
            recs.push(r);
        }
        store.insert_batch(&recs).await.unwrap();
        store.insert_batch(&[common::record(Some("other"), 5, "elsewhere")]).await.unwrap();
        let whole = store.session("long").await.unwrap().unwrap();
        let outline = store.session_outline("long").await.unwrap().unwrap();
        assert_eq!(outline.summary, whole.summary);
        let ids: Vec<_> = whole.transactions.iter().map(|t| t.record.id.clone()).collect();
        assert_eq!(outline.transaction_ids, ids);
        let mut batched = Vec::new();
        for chunk in outline.transaction_ids.chunks(16) {
            batched.extend(store.outline_transactions(&outline, chunk).await.unwrap());
        }
        assert_eq!(batched, whole.transactions);
        // Asked out of order: given back in the order asked; an unknown or foreign id is left out.
        let other_id = store.session("other").await.unwrap().unwrap().transactions[0].record.id.clone();
        let asked = vec![ids[30].clone(), "nope".into(), other_id, ids[2].clone()];
        let got = store.outline_transactions(&outline, &asked).await.unwrap();
        let got_ids: Vec<_> = got.iter().map(|t| t.record.id.clone()).collect();
        assert_eq!(got_ids, vec![ids[30].clone(), ids[2].clone()]);
        assert!(store.session_outline("nope").await.unwrap().is_none());
    }
}

on_both_backends! {
    async fn a_conversation_read_shares_each_turns_history_and_matches_the_whole_read(db: &TestDb) {
        let store = db.store().await;
        let mut history = Vec::new();
        let mut recs = Vec::new();
        for t in 0..12i64 {
            let mut r = common::record(Some("conv"), 1_000 + t, "turn");
            history.push(json!({"role": "user", "content": format!("turn {t}")}));
            r.request_received = json!({"model": "m", "system": "be brief", "max_tokens": 10,
                "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
                "messages": history.clone()});
            if t == 5 {
                r.request_sent = Some(json!({"model": "m", "messages": [{"role": "user", "content": "rewritten"}]}));
            }
            history.push(json!({"role": "assistant", "content": format!("reply {t}")}));
            recs.push(r);
        }
        // A Responses turn whose input is a plain string, and one with an empty list.
        let mut text_input = common::record(Some("conv"), 2_000, "hi");
        text_input.request_received = json!({"model": "gpt", "instructions": "terse", "input": "hello"});
        let mut empty = common::record(Some("conv"), 2_001, "none");
        empty.request_received = json!({"model": "m", "messages": []});
        recs.push(text_input);
        recs.push(empty);
        store.insert_batch(&recs).await.unwrap();

        let whole = store.session("conv").await.unwrap().unwrap();
        let conv = store.session_conversation("conv").await.unwrap().unwrap();
        assert_eq!(conv.summary, whole.summary);
        assert_eq!(conv.transactions.len(), whole.transactions.len());
        for (i, w) in whole.transactions.iter().enumerate() {
            let mut expected = w.clone();
            expected.record.request_received = serde_json::Value::Null;
            expected.record.request_sent = None;
            assert_eq!(conv.transactions[i], expected, "turn {i} without its requests");
            let req = conv.request(i).unwrap();
            let body = &w.record.request_received;
            for key in ["model", "system", "instructions", "tools", "max_tokens"] {
                assert_eq!(req.field(key).unwrap(), body.get(key), "turn {i} field {key}");
            }
            let list = body.get("messages").or_else(|| body.get("input")).and_then(|v| v.as_array());
            let history: Option<Vec<serde_json::Value>> =
                req.history().unwrap().map(|h| h.into_iter().cloned().collect());
            assert_eq!(history.as_ref(), list, "turn {i} history");
            assert_eq!(req.history_is_messages(), body.get("messages").is_some(), "turn {i}");
            if body["input"].is_string() {
                assert_eq!(req.field("input").unwrap(), Some(&json!("hello")));
            }
        }
        assert!(conv.request(whole.transactions.len()).is_none());
        assert!(store.session_conversation("nope").await.unwrap().is_none());
    }
}

on_both_backends! {
    async fn writing_the_same_transaction_twice_stores_it_once(db: &TestDb) {
        let store = db.store().await;
        let rec = common::record(Some("dup"), 10, "again");
        store.insert_batch(&[rec.clone(), rec.clone()]).await.unwrap();
        store.insert_batch(std::slice::from_ref(&rec)).await.unwrap();
        let s = store.session("dup").await.unwrap().unwrap();
        assert_eq!(s.summary.transaction_count, 1);
        assert_eq!(s.transactions.len(), 1);
    }
}

on_both_backends! {
    async fn unknown_ids_read_as_none(db: &TestDb) {
        let store = db.store().await;
        assert!(store.transaction("nope").await.unwrap().is_none());
        assert!(store.session("nope").await.unwrap().is_none());
    }
}
