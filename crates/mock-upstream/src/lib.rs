//! A faithful fake LLM provider: the Anthropic Messages API and the OpenAI Chat Completions and
//! Responses APIs, byte for byte as the real providers send them (field order, headers, SSE
//! framing, error bodies), with scripted replies. Luthien's tests, `luthien demo`, the benchmark
//! and the e2e suites (official SDKs, Claude Code, Codex) talk to it.
//!
//! # Endpoints
//!
//! | endpoint | answer |
//! |---|---|
//! | `POST /v1/messages` (any query, e.g. `?beta=true`) | Anthropic message, streamed if `"stream": true` |
//! | `POST /v1/messages/count_tokens` | `{"input_tokens":N}` (string bytes of system, messages and tools / 4, at least 1; equals the reply's `input_tokens`) |
//! | `POST /v1/chat/completions` | OpenAI chat completion, streamed if `"stream": true`; `stream_options.include_usage` adds the usage chunk |
//! | `POST /v1/responses` | OpenAI Responses `response` object, streamed as typed events if `"stream": true` (what Codex sends); delta events carry `obfuscation` unless `stream_options.include_obfuscation` is `false` |
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
//! `invalid_api_key`), a JSON body (else 400) with `model` and, for Chat Completions,
//! `messages` (Responses: `input`, if present, must be a string or an array, else 400
//! `invalid_type`). The key [`INVALID_KEY`] (`mock-invalid-key`) is rejected with 401 on all
//! three.
//!
//! # Scenarios
//!
//! The reply is chosen by the `x-mock-scenario` header (`deltas 20` or `mock:deltas 20`) if
//! present, else by the first `mock:` directive in the text of the last user message (its
//! arguments run to the end of that line; `mock:custom`'s run to the end of the text). Without a
//! directive, a last turn carrying a tool result (an Anthropic `tool_result` block; trailing
//! OpenAI `tool` messages; trailing Responses `function_call_output` / `custom_tool_call_output`
//! items, as Codex sends after running a tool) is answered
//! `Tool result received: <first 200 chars of the result>`, so an agent loop ends, and any other
//! turn `Hello from the Luthien mock upstream. You said: <first 200 chars of the user text>`.
//! Responses reads the last user `message` item (its `input_text` parts) or a string `input`.
//! Text is streamed in deltas of about three words that concatenate to exactly the text.
//! The same scenario drives every endpoint, streaming or not.
//!
//! | directive | reply (Anthropic / Chat Completions) | Responses |
//! |---|---|---|
//! | `mock:text <TEXT>` | exactly TEXT | a `message` item with TEXT |
//! | `mock:deltas <N>` | exactly N text deltas `w0 `, `w1 `, … (N from 0 to 100000) | N `response.output_text.delta`s |
//! | `mock:long` | about 2,000 words of lorem ipsum | the same, as a `message` |
//! | `mock:tool <NAME> <JSON>` | text `I'll use NAME.` then one call of NAME with input JSON (an object; `{}` if omitted), arguments in at least 3 fragments; `tool_use` / `tool_calls` | a `message`, then a `function_call` item (`fc_…`, `call_id` `call_…`) whose arguments come in ≥ 3 `response.function_call_arguments.delta`s; `completed` |
//! | `mock:tools <N>` | text then N calls `get_weather` `{"city":"City<i>","unit":"celsius"}`, i from 0 | a `message`, then N `function_call` items |
//! | `mock:custom <NAME> <TEXT…>` | one call of the custom (free-form) tool NAME with input TEXT (the rest of the user text, lines included). Anthropic: a `tool_use` with input `{"input": TEXT}`; Chat: a `"type": "custom"` tool call; `tool_use` / `tool_calls` | a `custom_tool_call` item (`ctc_…`, `call_id` `call_…`), input in ≥ 2 `response.custom_tool_call_input.delta`s, e.g. `mock:custom apply_patch *** Begin Patch …` |
//! | `mock:thinking` | a thinking block (`thinking_delta`s, then a base64 `signature_delta`) then text; Chat: `reasoning_content` deltas then content | a `reasoning` item (`reasoning_summary_text.delta`s; the done item adds `encrypted_content`, `gAAAAAB…`) then a `message`; `reasoning_tokens` > 0 |
//! | `mock:error <STATUS>` | HTTP STATUS (400–599) with the provider's error body, message `mock: simulated <STATUS>`; 429 adds `retry-after: 1` and zero remaining requests | as Chat Completions |
//! | `mock:slow <TTFT_MS> <N> <GAP_MS>` | headers after TTFT, then N deltas `w0 ` … GAP apart | the same |
//! | `mock:stall <MS>` | no response headers for MS, then a short text | the same |
//! | `mock:stall_mid <MS>` | headers and the first delta at once, then MS of silence, then the rest | the same |
//! | `mock:truncate` | a couple of deltas, then the body ends with no block stop, message end, finish reason or `[DONE]`; non-streaming: a JSON body cut in half | the body ends after the deltas: no done events, no terminal event; non-streaming: cut in half |
//! | `mock:midstream_error [event]` | some text, then Anthropic `event: error` (`overloaded_error`) / Chat `data: {"error":…}`, and the end; non-streaming: 529 `overloaded_error` / 500 `server_error` | some text, then `response.failed` (`error.code` `server_error`), or with `event` a bare `error` event; non-streaming: 500 `server_error` |
//! | `mock:max_tokens` | text then `max_tokens` / `length` | `response.incomplete`, `incomplete_details.reason` `max_output_tokens`, the message `incomplete` |
//! | `mock:stop_sequence <SEQ>` | text then `stop_sequence` with SEQ / `stop` | the API has no stop sequences: the text, then `response.completed` (SEQ is not reported) |
//! | `mock:judge <P>` | plays an LLM judge: `{"probability": P, "explanation": "mock judge verdict"}`; `judge fenced <P>` wraps it in a `json` fence, `judge garbage` answers prose | the same text, as a `message` |
//!
//! Every Responses stream starts `response.created`, `response.in_progress` (`sequence_number`
//! 0 and 1) and, unless cut, ends with one terminal event whose `usage` has `input_tokens`,
//! `input_tokens_details.cached_tokens`, `output_tokens`, `output_tokens_details.reasoning_tokens`
//! and `total_tokens`. A malformed or unknown directive is answered with a text reply saying
//! what is wrong. Non-streaming replies wait as long as the stream would take in total.
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
mod responses;
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
