//! The crate's single error type, and the distinction the recorder relies on: transient failures
//! (database unreachable, busy) are retried, anything else is a property of the data.

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL's scheme is neither SQLite nor PostgreSQL (only the scheme is echoed: URLs carry passwords).
    #[error("unsupported database URL scheme `{0}`: expected `sqlite:` or `postgres://`")]
    UnsupportedUrl(String),
    /// The database driver failed (connection, SQL, decoding).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the embedded migrations failed; the failing migration was rolled back.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer binary; running old code against it could corrupt it.
    #[error(
        "the database schema is at version {database}, newer than this binary's latest migration \
         {binary}: it was migrated by a newer Luthien; upgrade Luthien or point it at another database"
    )]
    DatabaseTooNew {
        /// Highest migration version recorded in the database.
        database: i64,
        /// Highest migration version embedded in this binary.
        binary: i64,
    },
    /// Stored data does not decode (a missing blob, malformed stored JSON).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A paging cursor that this store did not produce.
    #[error("invalid paging cursor")]
    InvalidCursor,
    /// A number does not fit the column (e.g. a token count above i64::MAX).
    #[error("value out of range: {0}")]
    OutOfRange(String),
    /// A JSON value could not be (de)serialised.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed (database unreachable, busy, restarting).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => sqlx_error_is_transient(e),
            _ => false,
        }
    }
}

/// Classifies driver errors: data and SQL errors are permanent, everything about reaching the
/// server is transient.
fn sqlx_error_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // SQLSTATE classes: 08 connection, 40 serialization/deadlock, 53 resources,
                // 55 object not in prerequisite state (database not accepting connections),
                // 57 operator intervention (shutdown, terminated backend), 58 system error.
                matches!(code.get(..2), Some("08" | "40" | "53" | "55" | "57" | "58"))
            } else {
                // SQLite primary result code (low byte of the extended code): BUSY, LOCKED,
                // IOERR, FULL, CANTOPEN.
                let primary = code.parse::<i64>().map(|c| c & 0xff).unwrap_or(0);
                matches!(primary, 5 | 6 | 10 | 13 | 14)
            }
        }
        _ => false,
    }
}
