-- Recording schema (PostgreSQL). Keep in step with ../sqlite/0001_recording.sql: same tables, same meaning.

-- One row per conversation; counters are maintained on insert so history lists cheaply.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY NOT NULL,
    title             TEXT,
    first_seen_ms     BIGINT NOT NULL,
    last_seen_ms      BIGINT NOT NULL,
    transaction_count BIGINT NOT NULL DEFAULT 0,
    blocked_count     BIGINT NOT NULL DEFAULT 0
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
    position     BIGINT NOT NULL
);
CREATE INDEX message_nodes_by_session ON message_nodes (session_id);

CREATE TABLE transactions (
    id                          TEXT PRIMARY KEY NOT NULL,
    session_id                  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    session_explicit            BOOLEAN NOT NULL,
    client_api                  TEXT NOT NULL,
    provider                    TEXT NOT NULL,
    model                       TEXT NOT NULL,
    status                      BIGINT NOT NULL,
    error                       TEXT,
    stream                      BOOLEAN NOT NULL,
    started_at_ms               BIGINT NOT NULL,
    ttft_ms                     DOUBLE PRECISION,
    total_ms                    DOUBLE PRECISION NOT NULL,
    overhead_ms                 DOUBLE PRECISION NOT NULL,
    input_tokens                BIGINT,
    output_tokens               BIGINT,
    cache_read_input_tokens     BIGINT,
    cache_creation_input_tokens BIGINT,
    policy                      TEXT NOT NULL,
    final_decision              TEXT NOT NULL,
    request_received            TEXT NOT NULL,
    request_sent                TEXT,
    response_received_hash      TEXT,
    response_delivered_hash     TEXT,
    raw_events                  TEXT,
    title_hint                  TEXT,
    search_vector               TSVECTOR
);
CREATE INDEX transactions_by_session ON transactions (session_id, started_at_ms, id);
CREATE INDEX transactions_by_model ON transactions (model, session_id);
CREATE INDEX transactions_by_decision ON transactions (final_decision, session_id);

CREATE TABLE decisions (
    transaction_id TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    policy         TEXT NOT NULL,
    block_index    BIGINT,
    kind           TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    status         TEXT NOT NULL,
    score          DOUBLE PRECISION,
    rationale      TEXT,
    judge_model    TEXT,
    latency_ms     DOUBLE PRECISION NOT NULL,
    judge_request  TEXT,
    judge_response TEXT,
    PRIMARY KEY (transaction_id, seq)
);

-- Full-text index of each transaction's new user/assistant text and tool calls.
CREATE INDEX transactions_search ON transactions USING GIN (search_vector);

CREATE TABLE policy_activations (
    id              TEXT PRIMARY KEY NOT NULL,
    class           TEXT NOT NULL,
    config          TEXT NOT NULL,
    activated_at_ms BIGINT NOT NULL,
    activated_by    TEXT NOT NULL
);
CREATE INDEX policy_activations_by_time ON policy_activations (activated_at_ms DESC, id DESC);
