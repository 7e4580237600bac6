//! The `Store` handle: connecting (pool settings, migrations, the newer-schema guard) and
//! dispatching each operation to the backend implementation.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::backend::{pg_ops, sqlite_ops};
use crate::codec::{ExpandContext, RequestRef, StoredRequest};
use crate::model::{
    ActivityCounts, AdminSession, Page, PolicyActivation, SessionDetail, SessionFilter,
    SessionSummary, TransactionDetail, TransactionRecord,
};
use crate::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long an operation waits for a pooled connection; bounds how long a write hangs while the
/// database is unreachable, so the recorder notices the outage and backs off.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a lock held by another connection before reporting busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (a file, or in memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The connection pool of one backend.
#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A session prepared for reading its transactions a few at a time; see
/// [`Store::session_outline`]. Holds the session's unique content (linear in what was new each
/// turn), never the expanded bodies, which repeat the history every turn.
#[derive(Debug)]
pub struct SessionOutline {
    /// The session's summary.
    pub summary: SessionSummary,
    /// Its transactions in start order.
    pub transaction_ids: Vec<String>,
    /// The chain nodes and blobs the bodies expand from.
    pub(crate) bodies: ExpandContext,
}

/// A session read to be shown as a conversation; see [`Store::session_conversation`].
#[derive(Debug)]
pub struct SessionConversation {
    /// The session's summary.
    pub summary: SessionSummary,
    /// Its transactions in start order, without their requests: `request_received` is null
    /// and `request_sent` is none. [`SessionConversation::request`] reads the requests.
    pub transactions: Vec<TransactionDetail>,
    /// The requests as received, stored form, one per transaction.
    pub(crate) requests: Vec<StoredRequest>,
    /// The chain nodes and blobs the requests refer to.
    pub(crate) bodies: ExpandContext,
}

impl SessionConversation {
    /// The request transaction `i` received, read by reference.
    pub fn request(&self, i: usize) -> Option<RequestRef<'_>> {
        self.requests.get(i).map(|r| self.bodies.request_ref(r))
    }
}

/// A handle to the recording database; cheap to clone (it is a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Connects (`sqlite://path?mode=rwc`, `sqlite::memory:`, `postgres://…`) and applies the
    /// embedded migrations; refuses a database migrated by a newer binary.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            Pool::Sqlite(connect_sqlite(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(url)
                    .await?,
            )
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(StoreError::UnsupportedUrl(scheme.to_string()));
        };
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Writes transactions (with their sessions, bodies, decisions and search text) in one
    /// database transaction; records already stored (same id) are skipped, so retries are safe.
    pub async fn insert_batch(&self, records: &[TransactionRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::insert_batch(p, records).await,
            Pool::Postgres(p) => pg_ops::insert_batch(p, records).await,
        }
    }

    /// Lists sessions newest first (by last activity), filtered and paged.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
    ) -> Result<Page<SessionSummary>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::list_sessions(p, filter).await,
            Pool::Postgres(p) => pg_ops::list_sessions(p, filter).await,
        }
    }

    /// A session with all its transactions in start order.
    pub async fn session(&self, id: &str) -> Result<Option<SessionDetail>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::session(p, id).await,
            Pool::Postgres(p) => pg_ops::session(p, id).await,
        }
    }

    /// A session with its transactions in start order, for showing it as a conversation:
    /// every turn resends the history, and this read shares it between the turns instead of
    /// expanding it for each, so a long session costs what it holds, not its square.
    pub async fn session_conversation(
        &self,
        id: &str,
    ) -> Result<Option<SessionConversation>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::session_conversation(p, id).await,
            Pool::Postgres(p) => pg_ops::session_conversation(p, id).await,
        }
    }

    /// A session prepared for reading its transactions a few at a time (an export): its
    /// summary, its transaction ids in order, and the bodies they share, loaded once.
    pub async fn session_outline(&self, id: &str) -> Result<Option<SessionOutline>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::session_outline(p, id).await,
            Pool::Postgres(p) => pg_ops::session_outline(p, id).await,
        }
    }

    /// Transactions `ids` of an outlined session, bodies re-expanded, in the order given
    /// (any purged since the outline was read are left out).
    pub async fn outline_transactions(
        &self,
        outline: &SessionOutline,
        ids: &[String],
    ) -> Result<Vec<TransactionDetail>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::outline_transactions(p, outline, ids).await,
            Pool::Postgres(p) => pg_ops::outline_transactions(p, outline, ids).await,
        }
    }

    /// One transaction, bodies re-expanded, with its decisions.
    pub async fn transaction(&self, id: &str) -> Result<Option<TransactionDetail>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::transaction(p, id).await,
            Pool::Postgres(p) => pg_ops::transaction(p, id).await,
        }
    }

    /// Deletes sessions last seen before `cutoff_ms` with their transactions, decisions, search
    /// entries and the blobs no other session uses; returns the number of sessions deleted.
    pub async fn purge_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::purge_before(p, cutoff_ms).await,
            Pool::Postgres(p) => pg_ops::purge_before(p, cutoff_ms).await,
        }
    }

    /// Records that a policy took effect.
    pub async fn record_policy_activation(&self, a: &PolicyActivation) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::record_policy_activation(p, a).await,
            Pool::Postgres(p) => pg_ops::record_policy_activation(p, a).await,
        }
    }

    /// The most recent policy activation.
    pub async fn current_policy(&self) -> Result<Option<PolicyActivation>, StoreError> {
        Ok(self.policy_history(1).await?.into_iter().next())
    }

    /// Policy activations, newest first, at most `limit`.
    pub async fn policy_history(&self, limit: u32) -> Result<Vec<PolicyActivation>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::policy_history(p, limit).await,
            Pool::Postgres(p) => pg_ops::policy_history(p, limit).await,
        }
    }

    /// Sessions, transactions and blocked transactions started at or after `from_ms`.
    pub async fn activity_counts(&self, from_ms: i64) -> Result<ActivityCounts, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::activity_counts(p, from_ms).await,
            Pool::Postgres(p) => pg_ops::activity_counts(p, from_ms).await,
        }
    }

    /// Stores a new admin browser session (and sweeps expired ones).
    pub async fn create_admin_session(&self, s: &AdminSession) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::create_admin_session(p, s).await,
            Pool::Postgres(p) => pg_ops::create_admin_session(p, s).await,
        }
    }

    /// The admin session with this token hash, if it is neither expired at `now_ms` nor revoked.
    pub async fn admin_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<AdminSession>, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::admin_session(p, token_hash, now_ms).await,
            Pool::Postgres(p) => pg_ops::admin_session(p, token_hash, now_ms).await,
        }
    }

    /// Revokes an admin session (logout); true when a live session was revoked.
    pub async fn revoke_admin_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::revoke_admin_session(p, token_hash, now_ms).await,
            Pool::Postgres(p) => pg_ops::revoke_admin_session(p, token_hash, now_ms).await,
        }
    }

    /// Bytes of stored bodies: blobs, message chains, and the JSON kept in rows.
    pub async fn storage_bytes(&self) -> Result<u64, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::storage_bytes(p).await,
            Pool::Postgres(p) => pg_ops::storage_bytes(p).await,
        }
    }

    /// Applies pending migrations after checking the database is not ahead of this binary.
    async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let binary = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let database = match &self.pool {
            Pool::Sqlite(p) => sqlite_ops::applied_schema_version(p).await?,
            Pool::Postgres(p) => pg_ops::applied_schema_version(p).await?,
        };
        if let Some(database) = database {
            if database > binary {
                return Err(StoreError::DatabaseTooNew { database, binary });
            }
        }
        // sqlx runs each migration in its own transaction and records it (with a checksum) in
        // `_sqlx_migrations`; on PostgreSQL it also holds an advisory lock, so instances starting
        // together do not race.
        match &self.pool {
            Pool::Sqlite(p) => migrator.run(p).await?,
            Pool::Postgres(p) => migrator.run(p).await?,
        }
        Ok(())
    }
}

/// Opens a SQLite pool: WAL (readers do not block the writer), foreign keys (cascading purges),
/// a busy timeout (concurrent writers wait instead of failing).
async fn connect_sqlite(url: &str) -> Result<SqlitePool, StoreError> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = SqliteConnectOptions::from_str(url)?
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Normal);
    let options = if in_memory {
        options
    } else {
        options.journal_mode(SqliteJournalMode::Wal)
    };
    let mut pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    if in_memory {
        // Every connection to `:memory:` is a separate database: keep exactly one, forever.
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        pool = pool.max_connections(8);
    }
    Ok(pool.connect_with(options).await?)
}
