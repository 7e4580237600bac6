//! The cells of the benchmark: which API, streaming or not, which mock scenario, how many
//! concurrent workers and how many requests, and the HTTP request each one sends.

use bytes::Bytes;
use http::{header, Method, Request};
use http_body_util::Full;
use serde_json::json;

/// The client API a cell speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Anthropic `POST /v1/messages`, routed to the Anthropic provider.
    Anthropic,
    /// OpenAI `POST /v1/chat/completions`, routed to the OpenAI provider.
    OpenAi,
}

impl Api {
    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Api::Anthropic => "Anthropic",
            Api::OpenAi => "OpenAI",
        }
    }
}

/// Whether a cell belongs to the latency/CPU matrix or to the slow-stream memory cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Quick replies: the CPU and added-latency budgets.
    Fast,
    /// Many long-lived slow streams: the RSS budgets (and CPU).
    Slow,
}

/// One cell: a request shape, a concurrency and a request count.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The API the requests speak.
    pub api: Api,
    /// Whether the requests ask for a stream.
    pub stream: bool,
    /// The mock directive in the user message (`mock:deltas 20`, …).
    pub directive: String,
    /// Concurrent workers, each with its own keep-alive connection.
    pub concurrency: usize,
    /// Measured requests, shared among the workers.
    pub requests: usize,
    /// Unmeasured requests each worker sends first (connections and pools warm up).
    pub warmup_per_worker: usize,
    /// Which budgets this cell serves.
    pub kind: Kind,
}

impl Cell {
    /// The cell's name without the concurrency, e.g. "Anthropic stream (20 deltas)".
    pub fn shape(&self) -> String {
        match self.kind {
            Kind::Slow => format!(
                "{} slow streams (200 ms TTFT, 50 × 10 ms)",
                self.api.label()
            ),
            Kind::Fast if self.stream => format!("{} stream (20 deltas)", self.api.label()),
            Kind::Fast => format!("{} JSON", self.api.label()),
        }
    }

    /// The request template every worker sends for this cell.
    pub fn template(&self) -> RequestTemplate {
        RequestTemplate::new(self.api, self.stream, &self.directive)
    }
}

/// How many requests the fast and slow cells send; set from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Measured requests per fast JSON cell.
    pub json_requests: usize,
    /// Measured requests per fast stream cell.
    pub stream_requests: usize,
    /// Rounds of slow streams per worker in the slow cells.
    pub slow_rounds: usize,
    /// Whether to run the 1,000-stream cell.
    pub thousand: bool,
}

/// The matrix: {Anthropic, OpenAI} × {JSON, 20-delta stream} × {1, 16, 64}, then 256 slow
/// streams and optionally 1,000.
pub fn matrix(sizes: Sizes) -> Vec<Cell> {
    let mut cells = Vec::new();
    for api in [Api::Anthropic, Api::OpenAi] {
        for stream in [false, true] {
            for concurrency in [1, 16, 64] {
                let requests = if stream {
                    sizes.stream_requests
                } else {
                    sizes.json_requests
                };
                cells.push(Cell {
                    api,
                    stream,
                    directive: "mock:deltas 20".into(),
                    concurrency,
                    requests,
                    // About 1,000 warm-up requests per cell, at least two per connection.
                    warmup_per_worker: (1000 / concurrency).max(2),
                    kind: Kind::Fast,
                });
            }
        }
    }
    let mut slow = vec![256];
    if sizes.thousand {
        slow.push(1000);
    }
    for concurrency in slow {
        cells.push(Cell {
            api: Api::Anthropic,
            stream: true,
            directive: "mock:slow 200 50 10".into(),
            concurrency,
            requests: concurrency * sizes.slow_rounds.max(1),
            warmup_per_worker: 1,
            kind: Kind::Slow,
        });
    }
    cells
}

/// A prepared request: the body bytes are built once and shared by every send.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    api: Api,
    body: Bytes,
    /// The bytes a complete, successful body ends with (after trimming whitespace).
    pub terminator: &'static str,
}

impl RequestTemplate {
    /// The request for `api`, streaming or not, whose last user message is `directive`.
    pub fn new(api: Api, stream: bool, directive: &str) -> Self {
        let body = match api {
            Api::Anthropic => json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 256,
                "stream": stream,
                "messages": [{"role": "user", "content": directive}],
            }),
            Api::OpenAi => json!({
                "model": "gpt-4o",
                "stream": stream,
                "messages": [{"role": "user", "content": directive}],
            }),
        };
        let terminator = match (api, stream) {
            (Api::Anthropic, true) => r#"{"type":"message_stop"}"#,
            (Api::OpenAi, true) => "data: [DONE]",
            (_, false) => "}",
        };
        Self {
            api,
            body: Bytes::from(body.to_string()),
            terminator,
        }
    }

    /// A fresh request for `host` (the `Host` header; hyper's low-level client sets none).
    pub fn request(&self, host: &str) -> anyhow::Result<Request<Full<Bytes>>> {
        let builder = Request::builder()
            .method(Method::POST)
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json");
        let builder = match self.api {
            Api::Anthropic => builder
                .uri("/v1/messages")
                .header("x-api-key", "bench-key")
                .header("anthropic-version", "2023-06-01"),
            Api::OpenAi => builder
                .uri("/v1/chat/completions")
                .header(header::AUTHORIZATION, "Bearer bench-key"),
        };
        Ok(builder.body(Full::new(self.body.clone()))?)
    }
}
