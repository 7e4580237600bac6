-- Recording schema (SQLite). Keep in step with ../postgres/0001_recording.sql: same tables, same meaning.

-- One row per conversation; counters are maintained on insert so history lists cheaply.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    title             TEXT,
    first_seen_ms     INTEGER NOT NULL,
    last_seen_ms      INTEGER NOT NULL,
    transaction_count INTEGER NOT NULL DEFAULT 0,
    blocked_count     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_ms DESC, id DESC);

-- Content-addressed JSON values (messages, system prompts, tool lists, responses), stored once.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY NOT NULL,
    body TEXT NOT NULL
);

-- Which blobs a session uses: lets a purge find blobs no remaining session references.
CREATE TABLE session_blobs (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL,
    PRIMARY KEY (session_id, hash)
);
CREATE INDEX session_blobs_by_hash ON session_blobs (hash);

-- Message-list prefixes: a request's messages are the chain ending at its head node.
CREATE TABLE message_nodes (
    hash         TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    parent       TEXT,
    message_hash TEXT NOT NULL,
    position     INTEGER NOT NULL
);
CREATE INDEX message_nodes_by_session ON message_nodes (session_id);

CREATE TABLE transactions (
    id                          TEXT PRIMARY KEY NOT NULL,
    session_id                  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    session_explicit            INTEGER NOT NULL,
    client_api                  TEXT NOT NULL,
    provider                    TEXT NOT NULL,
    model                       TEXT NOT NULL,
    status                      INTEGER NOT NULL,
    error                       TEXT,
    stream                      INTEGER NOT NULL,
    started_at_ms               INTEGER NOT NULL,
    ttft_ms                     REAL,
    total_ms                    REAL NOT NULL,
    overhead_ms                 REAL NOT NULL,
    input_tokens                INTEGER,
    output_tokens               INTEGER,
    cache_read_input_tokens     INTEGER,
    cache_creation_input_tokens INTEGER,
    policy                      TEXT NOT NULL,
    final_decision              TEXT NOT NULL,
    request_received            TEXT NOT NULL,
    request_sent                TEXT,
    response_received_hash      TEXT,
    response_delivered_hash     TEXT,
    raw_events                  TEXT,
    title_hint                  TEXT
);
CREATE INDEX transactions_by_session ON transactions (session_id, started_at_ms, id);
CREATE INDEX transactions_by_model ON transactions (model, session_id);
CREATE INDEX transactions_by_decision ON transactions (final_decision, session_id);

CREATE TABLE decisions (
    transaction_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    policy         TEXT NOT NULL,
    block_index    INTEGER,
    kind           TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    status         TEXT NOT NULL,
    score          REAL,
    rationale      TEXT,
    judge_model    TEXT,
    latency_ms     REAL NOT NULL,
    judge_request  TEXT,
    judge_response TEXT,
    PRIMARY KEY (transaction_id, seq)
);

-- Full-text index of each transaction's new user/assistant text and tool calls.
CREATE VIRTUAL TABLE transactions_fts USING fts5 (
    body,
    transaction_id UNINDEXED,
    session_id UNINDEXED,
    tokenize = 'porter unicode61'
);

CREATE TABLE policy_activations (
    id              TEXT PRIMARY KEY NOT NULL,
    class           TEXT NOT NULL,
    config          TEXT NOT NULL,
    activated_at_ms INTEGER NOT NULL,
    activated_by    TEXT NOT NULL
);
CREATE INDEX policy_activations_by_time ON policy_activations (activated_at_ms DESC, id DESC);
