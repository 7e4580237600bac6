//! The SQL behind every `Store` operation, written once and instantiated for SQLite and for
//! PostgreSQL (sqlx's pools and rows are typed by database, so a macro stamps out one module per
//! backend). Dialects differ only in full-text search and byte counting; those branch on `BACKEND`.

macro_rules! backend_ops {
    ($db:ty, $backend:expr) => {
        use std::collections::{HashMap, HashSet};

        use serde_json::Value;
        use sqlx::{Pool, QueryBuilder, Row};

        use crate::codec::{
            content_hash, encode_request, message_search_text, query_words, request_search_text,
            response_search_text, title_from_hint, EncodedParts, ExpandContext, StoredRequest,
        };
        use crate::model::{
            ActivityCounts, AdminSession, DecisionRecord, Page, PolicyActivation, RawEvents, SessionDetail, SessionFilter,
            SessionSummary, TransactionDetail, TransactionRecord, Usage,
        };
        use crate::store::{SessionConversation, SessionOutline};
        use crate::{Backend, StoreError};

        type Db = $db;
        type Conn = <Db as sqlx::Database>::Connection;
        type DbRow = <Db as sqlx::Database>::Row;
        const BACKEND: Backend = $backend;

        /// Rows per multi-row INSERT or IN list: well under both backends' bind limits.
        const CHUNK: usize = 200;
        /// Page size when the filter asks for 0.
        const DEFAULT_PAGE: u32 = 50;
        /// Trailing nodes of each message chain probed to find where its stored prefix ends.
        const PROBE: usize = 4;
        /// Largest page served.
        const MAX_PAGE: u32 = 1000;

        const TX_COLUMNS: &str = "t.id, t.session_id, t.session_explicit, t.client_api, \
            t.provider, t.model, t.status, t.error, t.stream, t.started_at_ms, t.ttft_ms, \
            t.total_ms, t.overhead_ms, t.input_tokens, t.output_tokens, \
            t.cache_read_input_tokens, t.cache_creation_input_tokens, t.policy, \
            t.final_decision, t.request_received, t.request_sent, t.response_received_hash, \
            t.response_delivered_hash, t.raw_events, t.title_hint";

        /// Highest migration recorded as applied, or `None` on a fresh database.
        pub(crate) async fn applied_schema_version(
            pool: &Pool<Db>,
        ) -> Result<Option<i64>, StoreError> {
            let exists_sql = match BACKEND {
                Backend::Sqlite => {
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
                }
                Backend::Postgres => {
                    "SELECT COUNT(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
                }
            };
            let exists: i64 = sqlx::query_scalar(exists_sql).fetch_one(pool).await?;
            if exists == 0 {
                return Ok(None);
            }
            Ok(sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
                .fetch_one(pool)
                .await?)
        }

        /// A record with its bodies split for storage.
        struct Prepared<'a> {
            rec: &'a TransactionRecord,
            session_id: String,
            received: StoredRequest,
            sent: Option<StoredRequest>,
            response_received: Option<String>,
            response_delivered: Option<String>,
            parts: EncodedParts,
            search: String,
        }

        fn prepare(rec: &TransactionRecord) -> Result<Prepared<'_>, StoreError> {
            let session_id = rec.session_id.clone().unwrap_or_else(|| rec.id.clone());
            let mut parts = EncodedParts::default();
            let received = encode_request(&session_id, &rec.request_received, &mut parts)?;
            let sent = rec
                .request_sent
                .as_ref()
                .map(|b| encode_request(&session_id, b, &mut parts))
                .transpose()?;
            let mut response_hash = |v: &Option<Value>| -> Result<Option<String>, StoreError> {
                let Some(v) = v else { return Ok(None) };
                let text = serde_json::to_string(v)?;
                let h = content_hash(&text);
                parts.blobs.push((h.clone(), text));
                Ok(Some(h))
            };
            let response_received = response_hash(&rec.response_received)?;
            let response_delivered = response_hash(&rec.response_delivered)?;
            let mut search = String::new();
            request_search_text(&rec.request_received, &mut search);
            for r in [&rec.response_received, &rec.response_delivered].into_iter().flatten() {
                response_search_text(r, &mut search);
            }
            Ok(Prepared {
                rec,
                session_id,
                received,
                sent,
                response_received,
                response_delivered,
                parts,
                search,
            })
        }

        /// Values of `column` in `table` among `candidates` (chunked `IN` lists).
        async fn existing(
            conn: &mut Conn,
            table: &str,
            column: &str,
            candidates: &[&str],
        ) -> Result<HashSet<String>, StoreError> {
            let mut found = HashSet::new();
            for chunk in candidates.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {column} FROM {table} WHERE {column} IN ("
                ));
                let mut sep = qb.separated(", ");
                for h in chunk {
                    sep.push_bind(h.to_string());
                }
                qb.push(")");
                let rows: Vec<String> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
                found.extend(rows);
            }
            Ok(found)
        }

        /// Writes a batch with a fixed number of statements (set-based), so throughput does
        /// not pay one round trip per record and per table.
        pub(crate) async fn insert_batch(
            pool: &Pool<Db>,
            records: &[TransactionRecord],
        ) -> Result<(), StoreError> {
            let mut tx = pool.begin().await?;
            let conn: &mut Conn = &mut tx;

            // Already stored (a retried batch) or repeated within the batch: skip.
            let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
            let mut skip = existing(conn, "transactions", "id", &ids).await?;
            let mut batch = Vec::new();
            for rec in records {
                if skip.insert(rec.id.clone()) {
                    batch.push(prepare(rec)?);
                }
            }
            if batch.is_empty() {
                tx.commit().await?;
                return Ok(());
            }

            // Sessions: one aggregated upsert row per session.
            struct SessionAgg {
                title: Option<(i64, String)>,
                first: i64,
                last: i64,
                count: i64,
                blocked: i64,
            }
            let mut order: Vec<String> = Vec::new();
            let mut sessions: HashMap<String, SessionAgg> = HashMap::new();
            for p in &batch {
                let at = p.rec.started_at_ms;
                let title = title_from_hint(p.rec.title_hint.as_deref()).map(|t| (at, t));
                let blocked = i64::from(p.rec.final_decision == "blocked");
                match sessions.get_mut(&p.session_id) {
                    Some(a) => {
                        a.first = a.first.min(at);
                        a.last = a.last.max(at);
                        a.count += 1;
                        a.blocked += blocked;
                        if let Some((t_at, t)) = title {
                            if a.title.as_ref().is_none_or(|(cur, _)| t_at < *cur) {
                                a.title = Some((t_at, t));
                            }
                        }
                    }
                    None => {
                        order.push(p.session_id.clone());
                        sessions.insert(
                            p.session_id.clone(),
                            SessionAgg { title, first: at, last: at, count: 1, blocked },
                        );
                    }
                }
            }
            let rows: Vec<(&String, &SessionAgg)> =
                order.iter().filter_map(|id| sessions.get(id).map(|a| (id, a))).collect();
            for chunk in rows.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO sessions (id, title, first_seen_ms, last_seen_ms, transaction_count, blocked_count) ",
                );
                qb.push_values(chunk, |mut b, (id, a)| {
                    b.push_bind((*id).clone())
                        .push_bind(a.title.as_ref().map(|(_, t)| t.clone()))
                        .push_bind(a.first)
                        .push_bind(a.last)
                        .push_bind(a.count)
                        .push_bind(a.blocked);
                });
                // The title is the earliest transaction's: a late-arriving earlier one replaces it.
                qb.push(
                    " ON CONFLICT (id) DO UPDATE SET \
                       title = CASE WHEN excluded.first_seen_ms < sessions.first_seen_ms AND excluded.title IS NOT NULL \
                                    THEN excluded.title ELSE COALESCE(sessions.title, excluded.title) END, \
                       first_seen_ms = CASE WHEN excluded.first_seen_ms < sessions.first_seen_ms \
                                    THEN excluded.first_seen_ms ELSE sessions.first_seen_ms END, \
                       last_seen_ms = CASE WHEN excluded.last_seen_ms > sessions.last_seen_ms \
                                    THEN excluded.last_seen_ms ELSE sessions.last_seen_ms END, \
                       transaction_count = sessions.transaction_count + excluded.transaction_count, \
                       blocked_count = sessions.blocked_count + excluded.blocked_count",
                );
                qb.build().execute(&mut *conn).await?;
            }

            // Chain nodes: only those new to their session are written, and only their messages
            // are indexed (earlier turns were indexed when they first appeared). A stored node's
            // ancestors are always stored (chains are written whole, purged per session), so the
            // last few nodes of each chain usually tell where the stored prefix ends; only chains
            // none of whose probes are known are looked up in full.
            let chains = |p: &Prepared<'_>| -> Vec<std::ops::Range<usize>> {
                let nodes = &p.parts.nodes;
                let mut out = Vec::new();
                let mut start = 0;
                for i in 1..=nodes.len() {
                    if i == nodes.len() || nodes[i].0.parent.is_none() {
                        out.push(start..i);
                        start = i;
                    }
                }
                out
            };
            let mut probes: Vec<&str> = Vec::new();
            for p in &batch {
                for c in chains(p) {
                    let chain = &p.parts.nodes[c];
                    probes.extend(chain.iter().rev().take(PROBE).map(|(n, _)| n.hash.as_str()));
                }
            }
            let mut known_nodes = existing(conn, "message_nodes", "hash", &probes).await?;
            let mut rest: Vec<&str> = Vec::new();
            for p in &batch {
                for c in chains(p) {
                    let chain = &p.parts.nodes[c];
                    if chain.len() > PROBE
                        && !chain.iter().rev().take(PROBE).any(|(n, _)| known_nodes.contains(&n.hash))
                    {
                        rest.extend(chain[..chain.len() - PROBE].iter().map(|(n, _)| n.hash.as_str()));
                    }
                }
            }
            let found = existing(conn, "message_nodes", "hash", &rest).await?;
            known_nodes.extend(found);
            let mut new_nodes = Vec::new();
            // Per record: blobs it must register for its session (messages of old nodes already are).
            let mut needed_blobs: Vec<HashSet<String>> = Vec::with_capacity(batch.len());
            for p in &mut batch {
                let mut needed: HashSet<String> = HashSet::new();
                let mut old_messages: HashSet<&str> = HashSet::new();
                for c in chains(p) {
                    let chain = &p.parts.nodes[c];
                    let stored = chain
                        .iter()
                        .rposition(|(n, _)| known_nodes.contains(&n.hash))
                        .map_or(0, |i| i + 1);
                    old_messages.extend(chain[..stored].iter().map(|(n, _)| n.message_hash.as_str()));
                    for (n, message) in &chain[stored..] {
                        if known_nodes.insert(n.hash.clone()) {
                            message_search_text(message, &mut p.search);
                            new_nodes.push((p.session_id.clone(), n.clone()));
                        }
                        needed.insert(n.message_hash.clone());
                    }
                }
                for (h, _) in &p.parts.blobs {
                    if !old_messages.contains(h.as_str()) {
                        needed.insert(h.clone());
                    }
                }
                needed_blobs.push(needed);
            }

            // Blobs: written once; each session records which it uses (for purging).
            let blob_hashes: Vec<&str> = needed_blobs.iter().flatten().map(String::as_str).collect();
            let mut known_blobs = existing(conn, "blobs", "hash", &blob_hashes).await?;
            let mut new_blobs: Vec<(&str, &str)> = Vec::new();
            let mut uses: HashSet<(&str, &str)> = HashSet::new();
            for (p, needed) in batch.iter().zip(&needed_blobs) {
                for (h, body) in &p.parts.blobs {
                    if !needed.contains(h) {
                        continue;
                    }
                    if known_blobs.insert(h.clone()) {
                        new_blobs.push((h, body));
                    }
                    uses.insert((p.session_id.as_str(), h.as_str()));
                }
            }
            for chunk in new_blobs.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new("INSERT INTO blobs (hash, body) ");
                qb.push_values(chunk, |mut b, (h, body)| {
                    b.push_bind(h.to_string()).push_bind(body.to_string());
                });
                qb.push(" ON CONFLICT (hash) DO NOTHING");
                qb.build().execute(&mut *conn).await?;
            }
            let uses: Vec<(&str, &str)> = uses.into_iter().collect();
            for chunk in uses.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new("INSERT INTO session_blobs (session_id, hash) ");
                qb.push_values(chunk, |mut b, (s, h)| {
                    b.push_bind(s.to_string()).push_bind(h.to_string());
                });
                qb.push(" ON CONFLICT (session_id, hash) DO NOTHING");
                qb.build().execute(&mut *conn).await?;
            }
            for chunk in new_nodes.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO message_nodes (hash, session_id, parent, message_hash, position) ",
                );
                qb.push_values(chunk, |mut b, (s, n)| {
                    b.push_bind(n.hash.clone())
                        .push_bind(s.clone())
                        .push_bind(n.parent.clone())
                        .push_bind(n.message_hash.clone())
                        .push_bind(n.position);
                });
                qb.push(" ON CONFLICT (hash) DO NOTHING");
                qb.build().execute(&mut *conn).await?;
            }

            // Transaction rows.
            struct Row<'a> {
                p: &'a Prepared<'a>,
                usage: [Option<i64>; 4],
                received: String,
                sent: Option<String>,
                raw_events: Option<String>,
            }
            let mut tx_rows = Vec::with_capacity(batch.len());
            for p in &batch {
                let u = &p.rec.usage;
                tx_rows.push(Row {
                    p,
                    usage: [
                        to_i64(u.input_tokens, "input_tokens")?,
                        to_i64(u.output_tokens, "output_tokens")?,
                        to_i64(u.cache_read_input_tokens, "cache_read_input_tokens")?,
                        to_i64(u.cache_creation_input_tokens, "cache_creation_input_tokens")?,
                    ],
                    received: serde_json::to_string(&p.received)?,
                    sent: p.sent.as_ref().map(serde_json::to_string).transpose()?,
                    raw_events: p.rec.raw_events.as_ref().map(serde_json::to_string).transpose()?,
                });
            }
            // 26 binds per row: keep statements well under SQLite's variable limit.
            for chunk in tx_rows.chunks(CHUNK / 2) {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "INSERT INTO transactions (id, session_id, session_explicit, client_api, provider, \
                     model, status, error, stream, started_at_ms, ttft_ms, total_ms, overhead_ms, \
                     input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens, \
                     policy, final_decision, request_received, request_sent, response_received_hash, \
                     response_delivered_hash, raw_events, title_hint{}) ",
                    if BACKEND == Backend::Postgres { ", search_vector" } else { "" }
                ));
                qb.push_values(chunk, |mut b, r| {
                    let rec = r.p.rec;
                    b.push_bind(rec.id.clone())
                        .push_bind(r.p.session_id.clone())
                        .push_bind(rec.session_id.is_some())
                        .push_bind(rec.client_api.clone())
                        .push_bind(rec.provider.clone())
                        .push_bind(rec.model.clone())
                        .push_bind(i64::from(rec.status))
                        .push_bind(rec.error.clone())
                        .push_bind(rec.stream)
                        .push_bind(rec.started_at_ms)
                        .push_bind(rec.ttft_ms)
                        .push_bind(rec.total_ms)
                        .push_bind(rec.overhead_ms)
                        .push_bind(r.usage[0])
                        .push_bind(r.usage[1])
                        .push_bind(r.usage[2])
                        .push_bind(r.usage[3])
                        .push_bind(rec.policy.clone())
                        .push_bind(rec.final_decision.clone())
                        .push_bind(r.received.clone())
                        .push_bind(r.sent.clone())
                        .push_bind(r.p.response_received.clone())
                        .push_bind(r.p.response_delivered.clone())
                        .push_bind(r.raw_events.clone())
                        .push_bind(rec.title_hint.clone());
                    if BACKEND == Backend::Postgres {
                        b.push("to_tsvector('english', ")
                            .push_bind_unseparated(r.p.search.clone())
                            .push_unseparated(")");
                    }
                });
                qb.build().execute(&mut *conn).await?;
            }

            // Decisions.
            struct Decision<'a> {
                tx: &'a str,
                seq: i64,
                d: &'a DecisionRecord,
                judge_request: Option<String>,
                judge_response: Option<String>,
                tool_call: Option<String>,
            }
            let mut decisions = Vec::new();
            for p in &batch {
                for (seq, d) in p.rec.decisions.iter().enumerate() {
                    decisions.push(Decision {
                        tx: &p.rec.id,
                        seq: i64::try_from(seq)
                            .map_err(|_| StoreError::OutOfRange("decision count".into()))?,
                        d,
                        judge_request: d.judge_request.as_ref().map(serde_json::to_string).transpose()?,
                        judge_response: d.judge_response.as_ref().map(serde_json::to_string).transpose()?,
                        tool_call: d.tool_call.as_ref().map(serde_json::to_string).transpose()?,
                    });
                }
            }
            for chunk in decisions.chunks(CHUNK / 2) {
                let mut qb = QueryBuilder::<Db>::new(
                    "INSERT INTO decisions (transaction_id, seq, policy, block_index, kind, verdict, \
                     status, score, rationale, judge_model, latency_ms, judge_request, judge_response, tool_call) ",
                );
                qb.push_values(chunk, |mut b, x| {
                    b.push_bind(x.tx.to_string())
                        .push_bind(x.seq)
                        .push_bind(x.d.policy.clone())
                        .push_bind(x.d.block_index.map(i64::from))
                        .push_bind(x.d.kind.clone())
                        .push_bind(x.d.verdict.clone())
                        .push_bind(x.d.status.clone())
                        .push_bind(x.d.score)
                        .push_bind(x.d.rationale.clone())
                        .push_bind(x.d.judge_model.clone())
                        .push_bind(x.d.latency_ms)
                        .push_bind(x.judge_request.clone())
                        .push_bind(x.judge_response.clone())
                        .push_bind(x.tool_call.clone());
                });
                qb.build().execute(&mut *conn).await?;
            }

            if BACKEND == Backend::Sqlite {
                let fts: Vec<&Prepared<'_>> = batch.iter().filter(|p| !p.search.is_empty()).collect();
                for chunk in fts.chunks(CHUNK) {
                    let mut qb = QueryBuilder::<Db>::new(
                        "INSERT INTO transactions_fts (body, transaction_id, session_id) ",
                    );
                    qb.push_values(chunk, |mut b, p| {
                        b.push_bind(p.search.clone())
                            .push_bind(p.rec.id.clone())
                            .push_bind(p.session_id.clone());
                    });
                    qb.build().execute(&mut *conn).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        }

        fn to_i64(v: Option<u64>, what: &str) -> Result<Option<i64>, StoreError> {
            v.map(|x| i64::try_from(x).map_err(|_| StoreError::OutOfRange(what.to_string())))
                .transpose()
        }

        fn u64_col(row: &DbRow, col: &str) -> Result<u64, StoreError> {
            let v: i64 = row.try_get(col)?;
            u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {col}")))
        }

        fn opt_u64_col(row: &DbRow, col: &str) -> Result<Option<u64>, StoreError> {
            let v: Option<i64> = row.try_get(col)?;
            v.map(|x| u64::try_from(x).map_err(|_| StoreError::Corrupt(format!("negative {col}"))))
                .transpose()
        }

        fn opt_json(text: Option<String>) -> Result<Option<Value>, StoreError> {
            Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
        }

        fn summary_from_row(row: &DbRow) -> Result<SessionSummary, StoreError> {
            Ok(SessionSummary {
                id: row.try_get("id")?,
                title: row.try_get("title")?,
                first_seen_ms: row.try_get("first_seen_ms")?,
                last_seen_ms: row.try_get("last_seen_ms")?,
                transaction_count: u64_col(row, "transaction_count")?,
                blocked_count: u64_col(row, "blocked_count")?,
                models: Vec::new(),
            })
        }

        fn transaction_from_row(
            row: &DbRow,
            cx: &ExpandContext,
            decisions: Vec<DecisionRecord>,
        ) -> Result<TransactionDetail, StoreError> {
            let (mut detail, received, sent) = stored_transaction_from_row(row, cx, decisions)?;
            detail.record.request_received = cx.expand_request(received)?;
            detail.record.request_sent = sent.map(|s| cx.expand_request(s)).transpose()?;
            Ok(detail)
        }

        /// A transaction with its requests left as stored (the record's are null / none).
        fn stored_transaction_from_row(
            row: &DbRow,
            cx: &ExpandContext,
            decisions: Vec<DecisionRecord>,
        ) -> Result<(TransactionDetail, StoredRequest, Option<StoredRequest>), StoreError> {
            let session_id: String = row.try_get("session_id")?;
            let explicit: bool = row.try_get("session_explicit")?;
            let received: String = row.try_get("request_received")?;
            let received: StoredRequest = serde_json::from_str(&received)?;
            let sent: Option<String> = row.try_get("request_sent")?;
            let sent = sent
                .map(|s| serde_json::from_str::<StoredRequest>(&s))
                .transpose()?;
            let blob = |col: &str| -> Result<Option<Value>, StoreError> {
                let h: Option<String> = row.try_get(col)?;
                h.map(|h| cx.blob_value(&h)).transpose()
            };
            let raw_events: Option<String> = row.try_get("raw_events")?;
            let raw_events = raw_events
                .map(|t| serde_json::from_str::<RawEvents>(&t))
                .transpose()?;
            let status: i64 = row.try_get("status")?;
            let record = TransactionRecord {
                id: row.try_get("id")?,
                session_id: explicit.then(|| session_id.clone()),
                client_api: row.try_get("client_api")?,
                provider: row.try_get("provider")?,
                model: row.try_get("model")?,
                status: u16::try_from(status)
                    .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
                error: row.try_get("error")?,
                stream: row.try_get("stream")?,
                started_at_ms: row.try_get("started_at_ms")?,
                ttft_ms: row.try_get("ttft_ms")?,
                total_ms: row.try_get("total_ms")?,
                overhead_ms: row.try_get("overhead_ms")?,
                usage: Usage {
                    input_tokens: opt_u64_col(row, "input_tokens")?,
                    output_tokens: opt_u64_col(row, "output_tokens")?,
                    cache_read_input_tokens: opt_u64_col(row, "cache_read_input_tokens")?,
                    cache_creation_input_tokens: opt_u64_col(row, "cache_creation_input_tokens")?,
                },
                policy: row.try_get("policy")?,
                final_decision: row.try_get("final_decision")?,
                request_received: Value::Null,
                request_sent: None,
                response_received: blob("response_received_hash")?,
                response_delivered: blob("response_delivered_hash")?,
                raw_events,
                decisions,
                title_hint: row.try_get("title_hint")?,
            };
            Ok((TransactionDetail { session_id, record }, received, sent))
        }

        /// The chain nodes and blobs of one session: everything its bodies refer to.
        async fn load_context(pool: &Pool<Db>, session_id: &str) -> Result<ExpandContext, StoreError> {
            let mut cx = ExpandContext::default();
            let nodes = sqlx::query(
                "SELECT hash, parent, message_hash FROM message_nodes WHERE session_id = $1",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?;
            for n in nodes {
                cx.nodes.insert(n.try_get("hash")?, (n.try_get("parent")?, n.try_get("message_hash")?));
            }
            let blobs = sqlx::query(
                "SELECT b.hash, b.body FROM blobs b JOIN session_blobs sb ON sb.hash = b.hash \
                 WHERE sb.session_id = $1",
            )
            .bind(session_id)
            .fetch_all(pool)
            .await?;
            for b in blobs {
                cx.add_blob(b.try_get("hash")?, b.try_get("body")?);
            }
            Ok(cx)
        }

        /// Decisions of the transactions matching `where_sql` (bound to `key`), by transaction.
        async fn load_decisions(
            pool: &Pool<Db>,
            where_sql: &str,
            key: &str,
        ) -> Result<HashMap<String, Vec<DecisionRecord>>, StoreError> {
            let rows = sqlx::query(&format!(
                "SELECT transaction_id, policy, block_index, kind, verdict, status, score, rationale, \
                 judge_model, latency_ms, judge_request, judge_response, tool_call FROM decisions \
                 WHERE {where_sql} ORDER BY transaction_id, seq"
            ))
            .bind(key)
            .fetch_all(pool)
            .await?;
            decisions_by_transaction(&rows)
        }

        /// Decisions of the transactions `ids`, by transaction.
        async fn load_decisions_of(
            pool: &Pool<Db>,
            ids: &[String],
        ) -> Result<HashMap<String, Vec<DecisionRecord>>, StoreError> {
            let mut out = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT transaction_id, policy, block_index, kind, verdict, status, score, rationale, \
                     judge_model, latency_ms, judge_request, judge_response, tool_call FROM decisions \
                     WHERE transaction_id IN (",
                );
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id.clone());
                }
                qb.push(") ORDER BY transaction_id, seq");
                let rows = qb.build().fetch_all(pool).await?;
                out.extend(decisions_by_transaction(&rows)?);
            }
            Ok(out)
        }

        /// Decision rows (ordered by transaction and sequence) grouped by transaction.
        fn decisions_by_transaction(
            rows: &[DbRow],
        ) -> Result<HashMap<String, Vec<DecisionRecord>>, StoreError> {
            let mut out: HashMap<String, Vec<DecisionRecord>> = HashMap::new();
            for r in rows {
                let block_index: Option<i64> = r.try_get("block_index")?;
                let d = DecisionRecord {
                    policy: r.try_get("policy")?,
                    block_index: block_index
                        .map(|b| u32::try_from(b).map_err(|_| StoreError::Corrupt("block_index".into())))
                        .transpose()?,
                    kind: r.try_get("kind")?,
                    verdict: r.try_get("verdict")?,
                    status: r.try_get("status")?,
                    score: r.try_get("score")?,
                    rationale: r.try_get("rationale")?,
                    judge_model: r.try_get("judge_model")?,
                    latency_ms: r.try_get("latency_ms")?,
                    judge_request: opt_json(r.try_get("judge_request")?)?,
                    judge_response: opt_json(r.try_get("judge_response")?)?,
                    tool_call: opt_json(r.try_get("tool_call")?)?,
                };
                out.entry(r.try_get("transaction_id")?).or_default().push(d);
            }
            Ok(out)
        }

        /// Models used by each of `ids`, in order of first use.
        async fn load_models(
            pool: &Pool<Db>,
            ids: &[String],
        ) -> Result<HashMap<String, Vec<String>>, StoreError> {
            let mut out: HashMap<String, Vec<String>> = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT session_id, model, MIN(started_at_ms) AS first_ms FROM transactions \
                     WHERE session_id IN (",
                );
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(id.clone());
                }
                qb.push(") GROUP BY session_id, model ORDER BY first_ms, model");
                for r in qb.build().fetch_all(pool).await? {
                    out.entry(r.try_get("session_id")?).or_default().push(r.try_get("model")?);
                }
            }
            Ok(out)
        }

        pub(crate) async fn list_sessions(
            pool: &Pool<Db>,
            filter: &SessionFilter,
        ) -> Result<Page<SessionSummary>, StoreError> {
            let limit = match filter.limit {
                0 => DEFAULT_PAGE,
                n => n.min(MAX_PAGE),
            };
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT s.id, s.title, s.first_seen_ms, s.last_seen_ms, s.transaction_count, \
                 s.blocked_count FROM sessions s WHERE 1 = 1",
            );
            if let Some(from) = filter.from_ms {
                qb.push(" AND s.last_seen_ms >= ").push_bind(from);
            }
            if let Some(to) = filter.to_ms {
                qb.push(" AND s.last_seen_ms < ").push_bind(to);
            }
            if let Some(model) = &filter.model {
                qb.push(" AND EXISTS (SELECT 1 FROM transactions t WHERE t.session_id = s.id AND t.model = ")
                    .push_bind(model.clone())
                    .push(")");
            }
            if let Some(decision) = &filter.decision {
                qb.push(" AND EXISTS (SELECT 1 FROM transactions t WHERE t.session_id = s.id AND t.final_decision = ")
                    .push_bind(decision.clone())
                    .push(")");
            }
            if let Some(words) = filter.q.as_deref().map(query_words).filter(|w| !w.is_empty()) {
                match BACKEND {
                    Backend::Sqlite => {
                        // Words only, each quoted: user input is never FTS5 syntax.
                        let fts: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                        qb.push(" AND s.id IN (SELECT session_id FROM transactions_fts WHERE transactions_fts MATCH ")
                            .push_bind(fts.join(" "))
                            .push(")");
                    }
                    Backend::Postgres => {
                        qb.push(" AND EXISTS (SELECT 1 FROM transactions t WHERE t.session_id = s.id \
                                 AND t.search_vector @@ plainto_tsquery('english', ")
                            .push_bind(words.join(" "))
                            .push("))");
                    }
                }
            }
            if let Some(cursor) = &filter.cursor {
                let (ms, id) = cursor.split_once('.').ok_or(StoreError::InvalidCursor)?;
                let ms: i64 = ms.parse().map_err(|_| StoreError::InvalidCursor)?;
                qb.push(" AND (s.last_seen_ms < ")
                    .push_bind(ms)
                    .push(" OR (s.last_seen_ms = ")
                    .push_bind(ms)
                    .push(" AND s.id < ")
                    .push_bind(id.to_string())
                    .push("))");
            }
            qb.push(" ORDER BY s.last_seen_ms DESC, s.id DESC LIMIT ")
                .push_bind(i64::from(limit) + 1);
            let rows = qb.build().fetch_all(pool).await?;
            let mut items = rows.iter().map(summary_from_row).collect::<Result<Vec<_>, _>>()?;
            let next_cursor = if items.len() > limit as usize {
                items.truncate(limit as usize);
                items.last().map(|s| format!("{}.{}", s.last_seen_ms, s.id))
            } else {
                None
            };
            let ids: Vec<String> = items.iter().map(|s| s.id.clone()).collect();
            let mut models = load_models(pool, &ids).await?;
            for s in &mut items {
                s.models = models.remove(&s.id).unwrap_or_default();
            }
            Ok(Page { items, next_cursor })
        }

        pub(crate) async fn session_outline(
            pool: &Pool<Db>,
            id: &str,
        ) -> Result<Option<SessionOutline>, StoreError> {
            let Some(summary) = load_summary(pool, id).await? else {
                return Ok(None);
            };
            let ids = sqlx::query("SELECT id FROM transactions WHERE session_id = $1 ORDER BY started_at_ms, id")
                .bind(id)
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>("id"))
                .collect::<Result<Vec<_>, _>>()?;
            let cx = load_context(pool, id).await?;
            Ok(Some(SessionOutline {
                summary,
                transaction_ids: ids,
                bodies: cx,
            }))
        }

        pub(crate) async fn outline_transactions(
            pool: &Pool<Db>,
            outline: &SessionOutline,
            ids: &[String],
        ) -> Result<Vec<TransactionDetail>, StoreError> {
            let mut decisions = load_decisions_of(pool, ids).await?;
            let mut found: HashMap<String, TransactionDetail> = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {TX_COLUMNS} FROM transactions t WHERE t.session_id = "
                ));
                qb.push_bind(outline.summary.id.clone());
                qb.push(" AND t.id IN (");
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(id.clone());
                }
                qb.push(")");
                for r in qb.build().fetch_all(pool).await? {
                    let tid: String = r.try_get("id")?;
                    let d = decisions.remove(&tid).unwrap_or_default();
                    found.insert(tid, transaction_from_row(&r, &outline.bodies, d)?);
                }
            }
            // In the order asked; a transaction purged since the outline is left out.
            Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
        }

        /// A session's summary with the models it used; `None` when there is no such session.
        async fn load_summary(pool: &Pool<Db>, id: &str) -> Result<Option<SessionSummary>, StoreError> {
            let Some(row) = sqlx::query(
                "SELECT id, title, first_seen_ms, last_seen_ms, transaction_count, blocked_count \
                 FROM sessions WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let mut summary = summary_from_row(&row)?;
            summary.models = load_models(pool, &[id.to_string()]).await?.remove(id).unwrap_or_default();
            Ok(Some(summary))
        }

        /// A session's transactions in start order, their requests left as stored.
        async fn load_stored_transactions(
            pool: &Pool<Db>,
            id: &str,
            cx: &ExpandContext,
        ) -> Result<Vec<(TransactionDetail, StoredRequest, Option<StoredRequest>)>, StoreError> {
            let mut decisions = load_decisions(
                pool,
                "transaction_id IN (SELECT id FROM transactions WHERE session_id = $1)",
                id,
            )
            .await?;
            let rows = sqlx::query(&format!(
                "SELECT {TX_COLUMNS} FROM transactions t WHERE t.session_id = $1 \
                 ORDER BY t.started_at_ms, t.id"
            ))
            .bind(id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let tid: String = r.try_get("id")?;
                    stored_transaction_from_row(r, cx, decisions.remove(&tid).unwrap_or_default())
                })
                .collect()
        }

        pub(crate) async fn session(
            pool: &Pool<Db>,
            id: &str,
        ) -> Result<Option<SessionDetail>, StoreError> {
            let Some(summary) = load_summary(pool, id).await? else {
                return Ok(None);
            };
            let cx = load_context(pool, id).await?;
            let transactions = load_stored_transactions(pool, id, &cx)
                .await?
                .into_iter()
                .map(|(mut detail, received, sent)| {
                    detail.record.request_received = cx.expand_request(received)?;
                    detail.record.request_sent = sent.map(|s| cx.expand_request(s)).transpose()?;
                    Ok(detail)
                })
                .collect::<Result<_, StoreError>>()?;
            Ok(Some(SessionDetail { summary, transactions }))
        }

        pub(crate) async fn session_conversation(
            pool: &Pool<Db>,
            id: &str,
        ) -> Result<Option<SessionConversation>, StoreError> {
            let Some(summary) = load_summary(pool, id).await? else {
                return Ok(None);
            };
            let bodies = load_context(pool, id).await?;
            let (transactions, requests) = load_stored_transactions(pool, id, &bodies)
                .await?
                .into_iter()
                .map(|(detail, received, _)| (detail, received))
                .unzip();
            Ok(Some(SessionConversation { summary, transactions, requests, bodies }))
        }

        pub(crate) async fn transaction(
            pool: &Pool<Db>,
            id: &str,
        ) -> Result<Option<TransactionDetail>, StoreError> {
            let Some(row) = sqlx::query(&format!("SELECT {TX_COLUMNS} FROM transactions t WHERE t.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
            else {
                return Ok(None);
            };
            let session_id: String = row.try_get("session_id")?;
            let cx = load_context(pool, &session_id).await?;
            let decisions = load_decisions(pool, "transaction_id = $1", id)
                .await?
                .remove(id)
                .unwrap_or_default();
            Ok(Some(transaction_from_row(&row, &cx, decisions)?))
        }

        pub(crate) async fn purge_before(pool: &Pool<Db>, cutoff_ms: i64) -> Result<u64, StoreError> {
            let mut tx = pool.begin().await?;
            if BACKEND == Backend::Sqlite {
                sqlx::query(
                    "DELETE FROM transactions_fts WHERE session_id IN \
                     (SELECT id FROM sessions WHERE last_seen_ms < $1)",
                )
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?;
            }
            // Cascades to transactions, decisions, message nodes and session_blobs.
            let deleted = sqlx::query("DELETE FROM sessions WHERE last_seen_ms < $1")
                .bind(cutoff_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted > 0 {
                sqlx::query(
                    "DELETE FROM blobs WHERE NOT EXISTS \
                     (SELECT 1 FROM session_blobs sb WHERE sb.hash = blobs.hash)",
                )
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(deleted)
        }

        pub(crate) async fn record_policy_activation(
            pool: &Pool<Db>,
            a: &PolicyActivation,
        ) -> Result<(), StoreError> {
            sqlx::query(
                "INSERT INTO policy_activations (id, class, config, activated_at_ms, activated_by) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&a.id)
            .bind(&a.class)
            .bind(serde_json::to_string(&a.config)?)
            .bind(a.activated_at_ms)
            .bind(&a.activated_by)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(crate) async fn policy_history(
            pool: &Pool<Db>,
            limit: u32,
        ) -> Result<Vec<PolicyActivation>, StoreError> {
            let rows = sqlx::query(
                "SELECT id, class, config, activated_at_ms, activated_by FROM policy_activations \
                 ORDER BY activated_at_ms DESC, id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let config: String = r.try_get("config")?;
                    Ok(PolicyActivation {
                        id: r.try_get("id")?,
                        class: r.try_get("class")?,
                        config: serde_json::from_str(&config)?,
                        activated_at_ms: r.try_get("activated_at_ms")?,
                        activated_by: r.try_get("activated_by")?,
                    })
                })
                .collect()
        }

        pub(crate) async fn activity_counts(
            pool: &Pool<Db>,
            from_ms: i64,
        ) -> Result<ActivityCounts, StoreError> {
            let row = sqlx::query(
                "SELECT COUNT(DISTINCT session_id) AS sessions, COUNT(*) AS transactions, \
                 COALESCE(SUM(CASE WHEN final_decision = 'blocked' THEN 1 ELSE 0 END), 0) AS blocked \
                 FROM transactions WHERE started_at_ms >= $1",
            )
            .bind(from_ms)
            .fetch_one(pool)
            .await?;
            let count = |col: &str| -> Result<u64, StoreError> {
                let n: i64 = row.try_get(col)?;
                u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {col}")))
            };
            Ok(ActivityCounts {
                sessions: count("sessions")?,
                transactions: count("transactions")?,
                blocked: count("blocked")?,
            })
        }

        pub(crate) async fn create_admin_session(
            pool: &Pool<Db>,
            s: &AdminSession,
        ) -> Result<(), StoreError> {
            // Expired rows are useless; sweeping them at each login keeps the table small
            // without a scheduler of its own.
            sqlx::query("DELETE FROM admin_sessions WHERE expires_at_ms < $1")
                .bind(s.created_at_ms)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO admin_sessions (token_hash, csrf_token, created_at_ms, expires_at_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&s.token_hash)
            .bind(&s.csrf_token)
            .bind(s.created_at_ms)
            .bind(s.expires_at_ms)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(crate) async fn admin_session(
            pool: &Pool<Db>,
            token_hash: &str,
            now_ms: i64,
        ) -> Result<Option<AdminSession>, StoreError> {
            let row = sqlx::query(
                "SELECT token_hash, csrf_token, created_at_ms, expires_at_ms FROM admin_sessions \
                 WHERE token_hash = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2",
            )
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(pool)
            .await?;
            row.map(|r| {
                Ok(AdminSession {
                    token_hash: r.try_get("token_hash")?,
                    csrf_token: r.try_get("csrf_token")?,
                    created_at_ms: r.try_get("created_at_ms")?,
                    expires_at_ms: r.try_get("expires_at_ms")?,
                })
            })
            .transpose()
        }

        pub(crate) async fn revoke_admin_session(
            pool: &Pool<Db>,
            token_hash: &str,
            now_ms: i64,
        ) -> Result<bool, StoreError> {
            let done = sqlx::query(
                "UPDATE admin_sessions SET revoked_at_ms = $2 \
                 WHERE token_hash = $1 AND revoked_at_ms IS NULL",
            )
            .bind(token_hash)
            .bind(now_ms)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() > 0)
        }

        pub(crate) async fn storage_bytes(pool: &Pool<Db>) -> Result<u64, StoreError> {
            let b = |col: &str| match BACKEND {
                Backend::Sqlite => format!("COALESCE(LENGTH(CAST({col} AS BLOB)), 0)"),
                Backend::Postgres => format!("COALESCE(OCTET_LENGTH({col}), 0)"),
            };
            let sum = |table: &str, cols: &[&str]| {
                let terms: Vec<String> = cols.iter().map(|c| b(c)).collect();
                format!("(SELECT COALESCE(SUM({}), 0) FROM {table})", terms.join(" + "))
            };
            let sql = format!(
                "SELECT CAST({} + {} + {} + {} + {} AS BIGINT)",
                sum("blobs", &["hash", "body"]),
                sum("message_nodes", &["hash", "session_id", "parent", "message_hash"]),
                sum("session_blobs", &["session_id", "hash"]),
                sum(
                    "transactions",
                    &["request_received", "request_sent", "response_received_hash", "response_delivered_hash", "raw_events"]
                ),
                sum("decisions", &["judge_request", "judge_response"]),
            );
            let total: i64 = sqlx::query_scalar(&sql).fetch_one(pool).await?;
            u64::try_from(total).map_err(|_| StoreError::Corrupt("negative size".into()))
        }
    };
}

/// The SQLite instantiation.
pub(crate) mod sqlite_ops {
    backend_ops!(sqlx::Sqlite, Backend::Sqlite);
}

/// The PostgreSQL instantiation.
pub(crate) mod pg_ops {
    backend_ops!(sqlx::Postgres, Backend::Postgres);
}
