//! Admin browser sessions: stored by token hash, valid until they expire or are revoked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use luthien_store::AdminSession;

fn session(hash: &str, created: i64, expires: i64) -> AdminSession {
    AdminSession {
        token_hash: hash.into(),
        csrf_token: format!("csrf-{hash}"),
        created_at_ms: created,
        expires_at_ms: expires,
    }
}

on_both_backends! {
    async fn a_session_is_found_until_it_expires(db: &TestDb) {
        let store = db.store().await;
        let s = session("aa", 1_000, 5_000);
        store.create_admin_session(&s).await.unwrap();
        assert_eq!(store.admin_session("aa", 4_999).await.unwrap(), Some(s));
        assert_eq!(store.admin_session("aa", 5_000).await.unwrap(), None, "expired at its deadline");
        assert_eq!(store.admin_session("bb", 2_000).await.unwrap(), None, "unknown hash");
    }
}

on_both_backends! {
    async fn a_revoked_session_is_never_found_again(db: &TestDb) {
        let store = db.store().await;
        store.create_admin_session(&session("aa", 1_000, 9_000)).await.unwrap();
        store.create_admin_session(&session("cc", 1_000, 9_000)).await.unwrap();
        assert!(store.revoke_admin_session("aa", 2_000).await.unwrap());
        assert!(!store.revoke_admin_session("aa", 2_500).await.unwrap(), "already revoked");
        assert_eq!(store.admin_session("aa", 3_000).await.unwrap(), None);
        assert!(store.admin_session("cc", 3_000).await.unwrap().is_some(), "others stay valid");
    }
}

on_both_backends! {
    async fn creating_a_session_sweeps_expired_ones(db: &TestDb) {
        let store = db.store().await;
        store.create_admin_session(&session("old", 1_000, 2_000)).await.unwrap();
        store.create_admin_session(&session("new", 3_000, 9_000)).await.unwrap();
        let rows = db.count("admin_sessions").await;
        assert_eq!(rows, 1, "the expired row was deleted when the new one was created");
    }
}
