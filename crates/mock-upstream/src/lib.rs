//! A faithful fake LLM provider: the Anthropic Messages API and the OpenAI Chat Completions API,
//! byte for byte as the real providers send them (field order, headers, SSE framing, error
//! bodies), with scripted replies. Luthien's tests, `luthien demo` and the benchmark talk to it.
//!
//! # Endpoints
//!
//! | endpoint | answer |
//! |---|---|
//! | `POST /v1/messages` (any query, e.g. `?beta=true`) | Anthropic message, streamed if `"stream": true` |
//! | `POST /v1/messages/count_tokens` | `{"input_tokens":N}` (string bytes of system, messages and tools / 4, at least 1; equals the reply's `input_tokens`) |
//! | `POST /v1/chat/completions` | OpenAI chat completion, streamed if `"stream": true`; `stream_options.include_usage` adds the usage chunk |
//! | `GET /v1/models` | Anthropic list if the request has `anthropic-version`, else OpenAI list |
//! | `GET /_mock/requests` | the recorded requests as a JSON array of [`RecordedRequest`] |
//! | `DELETE /_mock/requests` | forget them (204) |
//! | `GET /_mock/stats` | [`StreamStats`] as JSON |
//!
//! Every request except `/_mock/*` is recorded before it is answered, unknown paths included
//! (they answer 404 in the format of their provider: `/v1/messages…`, `anthropic-version` or
//! `x-api-key` mean Anthropic, anything else OpenAI).
//!
//! Validation follows the real APIs. Anthropic needs `x-api-key` or `Authorization: Bearer`
//! (else 401 `authentication_error` "x-api-key header is required"), `anthropic-version`
//! (else 400), a JSON object body with `model`, `messages` and `max_tokens` (else 400
//! `invalid_request_error`). OpenAI needs `Authorization: Bearer` (else 401, code
//! `invalid_api_key`), a JSON body (else 400) with `model` and `messages`. The key
//! [`INVALID_KEY`] (`mock-invalid-key`) is rejected with 401 on both.
//!
//! # Scenarios
//!
//! The reply is chosen by the `x-mock-scenario` header (`deltas 20` or `mock:deltas 20`) if
//! present, else by the first `mock:` directive in the text of the last user message (its
//! arguments run to the end of that line). Without a directive, a last turn carrying a tool
//! result (an Anthropic `tool_result` block; trailing OpenAI `tool` messages) is answered
//! `Tool result received: <first 200 chars of the result>`, and any other turn
//! `Hello from the Luthien mock upstream. You said: <first 200 chars of the user text>`.
//! Text is streamed in deltas of about three words that concatenate to exactly the text.
//! The same scenario drives both endpoints, streaming or not.
//!
//! | directive | reply |
//! |---|---|
//! | `mock:text <TEXT>` | exactly TEXT |
//! | `mock:deltas <N>` | exactly N text deltas `w0 `, `w1 `, … (N from 0 to 100000) |
//! | `mock:long` | about 2,000 words of lorem ipsum |
//! | `mock:tool <NAME> <JSON>` | text `I'll use NAME.` then one call of NAME with input JSON (an object; `{}` if omitted), arguments in at least 3 fragments; `tool_use` / `tool_calls` |
//! | `mock:tools <N>` | text then N calls `get_weather` `{"city":"City<i>","unit":"celsius"}`, i from 0 |
//! | `mock:thinking` | a thinking block (`thinking_delta`s, then a base64 `signature_delta`) then text; OpenAI: `reasoning_content` deltas then content |
//! | `mock:error <STATUS>` | HTTP STATUS (400–599) with the provider's error body, message `mock: simulated <STATUS>`; 429 adds `retry-after: 1` and zero remaining requests |
//! | `mock:slow <TTFT_MS> <N> <GAP_MS>` | headers after TTFT, then N deltas `w0 ` … GAP apart |
//! | `mock:stall <MS>` | no response headers for MS, then a short text |
//! | `mock:stall_mid <MS>` | headers and the first delta at once, then MS of silence, then the rest |
//! | `mock:truncate` | a couple of deltas, then the body ends with no block stop, message end, finish reason or `[DONE]`; non-streaming: a JSON body cut in half |
//! | `mock:midstream_error` | some text, then Anthropic `event: error` (`overloaded_error`) / OpenAI `data: {"error":…}`, and the end; non-streaming: 529 `overloaded_error` / 500 `server_error` |
//! | `mock:max_tokens` | text then `max_tokens` / `length` |
//! | `mock:stop_sequence <SEQ>` | text then `stop_sequence` with SEQ / `stop` |
//!
//! A malformed or unknown directive is answered with a text reply saying what is wrong.
//! Non-streaming replies wait as long as the stream would take in total.
//!
//! # Examples
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use luthien_mock_upstream::MockUpstream;
//!
//! let mock = MockUpstream::start().await?;
//! // Point a client at mock.base_url(), e.g. with the user message
//! //   "Please run it. mock:tool Bash {\"command\":\"touch /tmp/x\"}"
//! // or the header `x-mock-scenario: slow 200 50 10`.
//! let seen = mock.requests();
//! assert!(seen.is_empty());
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod anthropic;
mod ids;
mod openai;
mod record;
mod scenario;
mod script;
mod server;
mod stream;
mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use record::{MockState, RecordedRequest, StreamStats, DEFAULT_MAX_REQUESTS};
pub use scenario::{parse_directive, Scenario, SCENARIO_HEADER};
pub use wire::INVALID_KEY;

/// How long [`MockHandle::shutdown`] lets in-flight replies (e.g. a long stall) finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Entry point: starts a mock server or builds its router.
pub struct MockUpstream;

impl MockUpstream {
    /// Starts a mock on `127.0.0.1` with a free port.
    pub async fn start() -> std::io::Result<MockHandle> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a mock on `addr` with a fresh [`MockState`].
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<MockHandle> {
        Self::start_with_state(addr, MockState::new()).await
    }

    /// Starts a mock on `addr` sharing `state`.
    pub async fn start_with_state(
        addr: SocketAddr,
        state: MockState,
    ) -> std::io::Result<MockHandle> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        // Real providers answer without Nagle delays; so must the mock, or every stream waits
        // ~40 ms for a delayed ACK and hides the latency a proxy adds.
        let listener =
            axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
                let _ = tcp.set_nodelay(true);
            });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = Self::router(state.clone());
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender means the handle is gone: shut down too.
                    let _ = stopped.await;
                })
                .await;
            if let Err(err) = served {
                tracing::error!(%err, "mock upstream server failed");
            }
        });
        Ok(MockHandle {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The mock's routes over `state`, for embedding in another server.
    pub fn router(state: MockState) -> axum::Router {
        server::router(state)
    }
}

/// A running mock. Dropping it starts a graceful shutdown; [`MockHandle::shutdown`] waits for it.
pub struct MockHandle {
    addr: SocketAddr,
    state: MockState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MockHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, without `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        self.state.clear();
    }

    /// Streams started, completed and cancelled so far.
    pub fn stats(&self) -> StreamStats {
        self.state.stats()
    }

    /// The shared state (recorder and counters).
    pub fn state(&self) -> MockState {
        self.state.clone()
    }

    /// Stops accepting connections and waits for in-flight replies, at most a few seconds.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
