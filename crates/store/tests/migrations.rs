//! Migrations are embedded, tracked, idempotent, and a database from a newer binary is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::TestDb;
use luthien_store::{Store, StoreError};

on_both_backends! {
    async fn migrations_run_and_are_tracked(db: &TestDb) {
        let store = db.store().await;
        store.ping().await.unwrap();
        assert_eq!(store.backend(), db.backend());
        drop(store);
        // Reconnecting applies nothing twice and keeps the schema usable.
        let store = db.store().await;
        store.insert_batch(&[common::record(None, 1, "hello")]).await.unwrap();
        let versions: Vec<i64> = match db {
            TestDb::Sqlite { .. } => {
                let pool = sqlx::SqlitePool::connect(&db.url()).await.unwrap();
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(&pool).await.unwrap()
            }
            TestDb::Postgres { .. } => {
                let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(&pool).await.unwrap()
            }
        };
        assert_eq!(versions, vec![1, 2, 3], "each embedded migration recorded once");
    }
}

on_both_backends! {
    async fn database_migrated_by_a_newer_binary_is_refused_naming_both_versions(db: &TestDb) {
        drop(db.store().await);
        let checksum = match db {
            TestDb::Sqlite { .. } => "X'00'",
            TestDb::Postgres { .. } => "'\\x00'::bytea",
        };
        db.exec(&format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', TRUE, {checksum}, 1)"
        ))
        .await;
        let err = Store::connect(&db.url()).await.expect_err("a newer schema must be refused");
        assert!(matches!(err, StoreError::DatabaseTooNew { database: 9999, binary: 3 }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("9999") && msg.contains('3') && msg.contains("newer"), "{msg}");
    }
}

#[tokio::test]
async fn unsupported_url_scheme_is_rejected_without_echoing_the_url() {
    let err = Store::connect("mysql://user:secret@host/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl(_)));
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let rec = common::record(None, 5, "memory");
    store
        .insert_batch(std::slice::from_ref(&rec))
        .await
        .unwrap();
    assert_eq!(
        store.transaction(&rec.id).await.unwrap().unwrap().record,
        rec
    );
}
