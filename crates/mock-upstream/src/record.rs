//! What the mock remembers: every request it received (bounded, oldest dropped first) and the
//! counters of streams started, completed and cancelled. [`MockState`] is shared by the server,
//! the [`crate::MockHandle`] and anyone embedding the router.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use serde::{Serialize, Serializer};

/// Default cap on the number of recorded requests; a benchmark sends millions, tests a few.
pub const DEFAULT_MAX_REQUESTS: usize = 1_000;
/// Cap on the total body bytes kept, so long Claude Code sessions (MB-sized bodies) stay bounded.
const MAX_RECORDED_BODY_BYTES: usize = 256 * 1024 * 1024;

/// One request as the mock received it.
#[derive(Clone, Debug, Serialize)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path without the query string, e.g. `/v1/messages`.
    pub path: String,
    /// Raw query string without `?`, e.g. `beta=true`.
    pub query: Option<String>,
    /// Header names (lowercase) and values, in the order received.
    pub headers: Vec<(String, String)>,
    /// The raw body (serialised as a lossy UTF-8 string).
    #[serde(serialize_with = "body_as_string")]
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Builds a record from the request head and its collected body.
    pub(crate) fn from_parts(parts: &axum::http::request::Parts, body: Bytes) -> Self {
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        }
    }
}

fn body_as_string<S: Serializer>(body: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(body))
}

/// Counts of SSE streams: started, run to their scripted end, or cut off by the client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamStats {
    /// Streaming replies begun (counted before any scripted wait).
    pub started: u64,
    /// Streams whose body was sent to the end of its script.
    pub completed: u64,
    /// Streams dropped before their end: the client (or proxy) went away.
    pub cancelled: u64,
}

/// Shared state of one mock: the request log and the stream counters.
#[derive(Clone)]
pub struct MockState {
    inner: Arc<Inner>,
}

struct Inner {
    log: Mutex<Log>,
    started: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
}

struct Log {
    requests: VecDeque<RecordedRequest>,
    body_bytes: usize,
    max_requests: usize,
}

impl Default for MockState {
    fn default() -> Self {
        Self::new()
    }
}

impl MockState {
    /// A fresh state keeping up to [`DEFAULT_MAX_REQUESTS`] requests.
    pub fn new() -> Self {
        Self::with_max_requests(DEFAULT_MAX_REQUESTS)
    }

    /// A fresh state keeping up to `max_requests` requests (at least 1); older ones are dropped.
    pub fn with_max_requests(max_requests: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                log: Mutex::new(Log {
                    requests: VecDeque::new(),
                    body_bytes: 0,
                    max_requests: max_requests.max(1),
                }),
                started: AtomicU64::new(0),
                completed: AtomicU64::new(0),
                cancelled: AtomicU64::new(0),
            }),
        }
    }

    /// Every recorded request, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log().requests.iter().cloned().collect()
    }

    /// Forgets the recorded requests (the stream counters are kept).
    pub fn clear(&self) {
        let mut log = self.log();
        log.requests.clear();
        log.body_bytes = 0;
    }

    /// The stream counters now.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            started: self.inner.started.load(Ordering::Acquire),
            completed: self.inner.completed.load(Ordering::Acquire),
            cancelled: self.inner.cancelled.load(Ordering::Acquire),
        }
    }

    /// Appends a request to the log, dropping the oldest beyond the caps.
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut log = self.log();
        log.body_bytes += request.body.len();
        log.requests.push_back(request);
        while log.requests.len() > log.max_requests
            || (log.body_bytes > MAX_RECORDED_BODY_BYTES && log.requests.len() > 1)
        {
            if let Some(old) = log.requests.pop_front() {
                log.body_bytes -= old.body.len();
            }
        }
    }

    pub(crate) fn stream_started(&self) {
        self.inner.started.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn stream_completed(&self) {
        self.inner.completed.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn stream_cancelled(&self) {
        self.inner.cancelled.fetch_add(1, Ordering::AcqRel);
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic while holding the lock cannot leave the log inconsistent; keep serving.
        self.inner
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
