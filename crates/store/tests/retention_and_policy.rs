//! Retention purges whole old sessions (and nothing another session needs); policy activations
//! are kept as history with the latest one current.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use luthien_store::{PolicyActivation, SessionFilter};
use serde_json::json;

on_both_backends! {
    async fn purge_deletes_sessions_last_seen_before_the_cutoff_with_everything_only_they_use(db: &TestDb) {
        let store = db.store().await;
        let old_a = common::full_record("old", 1_000);
        let old_b = common::record(Some("old"), 2_000, "purgeableword");
        let mut kept = common::full_record("kept", 1_500);
        kept.started_at_ms = 1_500;
        let recent = common::record(Some("kept"), 10_000, "recent");
        store.insert_batch(&[old_a.clone(), old_b, kept.clone(), recent]).await.unwrap();
        let before = store.storage_bytes().await.unwrap();

        assert_eq!(store.purge_before(5_000).await.unwrap(), 1, "one session deleted");
        assert!(store.session("old").await.unwrap().is_none());
        assert!(store.transaction(&old_a.id).await.unwrap().is_none());
        let q = SessionFilter { q: Some("purgeableword".into()), ..Default::default() };
        assert!(store.list_sessions(&q).await.unwrap().items.is_empty(), "search entries gone");
        // Blobs shared with the kept session (same system prompt, tools, messages) survive.
        assert_eq!(store.transaction(&kept.id).await.unwrap().unwrap().record, kept);
        let after = store.storage_bytes().await.unwrap();
        assert!(after < before, "orphaned bodies freed: {before} -> {after}");
        assert_eq!(store.purge_before(5_000).await.unwrap(), 0);
    }
}

on_both_backends! {
    async fn policy_activations_are_history_and_the_latest_is_current(db: &TestDb) {
        let store = db.store().await;
        assert!(store.current_policy().await.unwrap().is_none());
        let acts: Vec<_> = (0..3i64)
            .map(|i| PolicyActivation {
                id: common::new_id(),
                class: format!("policy_{i}"),
                config: json!({"threshold": 0.5 + i as f64, "rules": [{"z": 1, "a": 2}]}),
                activated_at_ms: 1_000 * (i + 1),
                activated_by: if i == 0 { "startup".into() } else { "admin:alice".into() },
            })
            .collect();
        for a in &acts {
            store.record_policy_activation(a).await.unwrap();
        }
        assert_eq!(store.current_policy().await.unwrap().as_ref(), Some(&acts[2]));
        let history = store.policy_history(2).await.unwrap();
        assert_eq!(history, vec![acts[2].clone(), acts[1].clone()]);
        assert_eq!(store.policy_history(10).await.unwrap().len(), 3);
    }
}
