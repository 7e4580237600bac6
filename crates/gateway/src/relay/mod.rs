//! The streaming relay: reads the upstream's SSE frames and writes the client's stream.
//!
//! On a same-API route with no policy touching events, every frame the upstream sent is
//! forwarded with its bytes unchanged while the gateway still decodes it (for the record and to
//! know how the stream ended). Otherwise frames are decoded into canonical events, run through
//! the policy executor when there is one, and encoded in the client's format. Either way the
//! stream ends well-formed: a truncated or failed upstream stream ends with an error event in
//! the client's format, never silently and never falsely complete.

pub mod pump;
pub mod tap;

use bytes::BytesMut;
use policy::executor::{DecisionRecord, Executor, Out};
use protocol::anthropic::stream as anthropic_stream;
use protocol::convert::responses_tools::{ToolCallRestorer, ToolMapping};
use protocol::errors::{anthropic_error_body, openai_error_body, ApiFormat, ErrorKind};
use protocol::events::StreamEvent;
use protocol::openai::{chat_stream, responses_stream};
use protocol::sse::{self, SseFrame};

use tap::Tap;

/// Where a relay stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Still forwarding.
    Open,
    /// The stream ended; nothing more is written.
    Done,
}

/// Decodes upstream frames into canonical events.
enum Source {
    Anthropic,
    Chat {
        decoder: Box<chat_stream::Decoder>,
        finished: bool,
    },
    Responses(Box<responses_stream::Decoder>),
}

impl Source {
    fn new(upstream: ApiFormat) -> Self {
        match upstream {
            ApiFormat::Anthropic => Self::Anthropic,
            ApiFormat::OpenAiChat => Self::Chat {
                decoder: Box::default(),
                finished: false,
            },
            ApiFormat::OpenAiResponses => Self::Responses(Box::default()),
        }
    }

    fn decode(&mut self, frame: &SseFrame) -> Result<Vec<StreamEvent>, protocol::ProtocolError> {
        match self {
            Self::Anthropic => anthropic_stream::decode(frame).map(|ev| ev.into_iter().collect()),
            Self::Chat { decoder, .. } => decoder.push(frame),
            Self::Responses(decoder) => decoder.push(frame),
        }
    }

    /// The closing events owed at the end of the upstream body (an OpenAI stream may end
    /// after its finish_reason without `[DONE]`), or an error when it was cut short.
    fn finish(&mut self) -> Result<Vec<StreamEvent>, protocol::ProtocolError> {
        match self {
            Self::Chat { decoder, finished } if !*finished => {
                *finished = true;
                decoder.finish()
            }
            Self::Responses(decoder) => decoder.finish(),
            _ => Ok(Vec::new()),
        }
    }
}

/// Writes canonical events in the client's format.
enum Sink {
    /// Anthropic client; `raw_ok` when the upstream speaks Anthropic too, so unchanged events
    /// go out as the upstream's own bytes.
    Anthropic {
        encoder: anthropic_stream::Encoder,
        raw_ok: bool,
    },
    /// OpenAI Chat client; `adopt` until the first chunk of a Chat upstream gave the encoder
    /// the upstream's identity (its id, model and fields such as `system_fingerprint`).
    Chat {
        encoder: Box<chat_stream::Encoder>,
        adopt: bool,
    },
    /// Responses client: always re-encoded, because the encoder numbers `sequence_number` and
    /// `output_index` itself, so events a policy removed leave no gaps.
    Responses(Box<responses_stream::Encoder>),
}

impl Sink {
    /// Writes `outs`; true once the stream's last event was written.
    fn write(&mut self, outs: &[Out], out: &mut BytesMut) -> bool {
        let mut finished = false;
        for o in outs {
            finished |= matches!(o.event, StreamEvent::MessageStop | StreamEvent::Error(_));
            match self {
                Sink::Anthropic { encoder, raw_ok } => match (&o.raw, *raw_ok) {
                    (Some(raw), true) => out.extend_from_slice(raw),
                    _ => out.extend_from_slice(&encoder.encode(&o.event)),
                },
                Sink::Chat { encoder, .. } => {
                    for b in encoder.encode(&o.event) {
                        out.extend_from_slice(&b);
                    }
                }
                Sink::Responses(encoder) => {
                    for b in encoder.encode(&o.event) {
                        out.extend_from_slice(&b);
                    }
                }
            }
        }
        finished
    }
}

/// How frames become client bytes.
enum Mode {
    /// Same API, no policy: bytes forwarded unchanged.
    Passthrough {
        source: Source,
        /// Anthropic: `message_delta` seen, so only `message_stop` can be missing.
        saw_message_delta: bool,
        /// OpenAI: an error chunk was forwarded, so only `[DONE]` is owed.
        owes_done: bool,
    },
    /// Different APIs and/or a policy: decode, execute, encode.
    Transcode {
        source: Source,
        /// Turns the upstream's calls of wrapped custom and namespaced tools back into the
        /// Responses client's own (an Anthropic or Chat upstream knows only functions).
        restorer: Option<Box<ToolCallRestorer>>,
        executor: Option<Box<Executor>>,
        sink: Sink,
        /// The upstream body ended; the relay may still be waiting for decisions.
        upstream_ended: bool,
    },
}

/// One response stream's relay.
pub struct Relay {
    mode: Mode,
    phase: Phase,
    client: ApiFormat,
    /// What the recorder keeps of this stream.
    pub tap: Tap,
}

/// What names a converted stream for an OpenAI client.
pub struct ChatNaming<'a> {
    /// The model shown in chunks.
    pub model: &'a str,
    /// The `created` timestamp.
    pub created: u64,
    /// The client's `stream_options.include_usage`.
    pub include_usage: bool,
    /// For a Responses client: how the encoder names the response, and the request's tools.
    pub responses: Option<ResponsesNaming>,
}

/// What a Responses client's stream needs beyond the model and the time.
pub struct ResponsesNaming {
    /// The encoder's options (id, model, `created_at`, echoed request fields).
    pub encoder: responses_stream::EncoderOptions,
    /// The request's tools as the upstream saw them, when the upstream is not Responses.
    pub tools: Option<ToolMapping>,
}

impl Relay {
    /// A relay from `upstream` to `client`, through `executor` when a policy touches events.
    pub fn new(
        client: ApiFormat,
        upstream: ApiFormat,
        naming: ChatNaming<'_>,
        executor: Option<Executor>,
    ) -> Self {
        let source = Source::new(upstream);
        let responses = naming.responses;
        let mode = if client == upstream && executor.is_none() {
            Mode::Passthrough {
                source,
                saw_message_delta: false,
                owes_done: false,
            }
        } else {
            let sink = match client {
                ApiFormat::Anthropic => Sink::Anthropic {
                    encoder: anthropic_stream::Encoder::default(),
                    raw_ok: upstream == ApiFormat::Anthropic,
                },
                ApiFormat::OpenAiChat => Sink::Chat {
                    encoder: Box::new(chat_stream::Encoder::new(chat_stream::EncoderOptions {
                        id: format!("chatcmpl-{}", uuid::Uuid::now_v7().simple()),
                        model: naming.model.to_owned(),
                        created: naming.created,
                        include_usage: naming.include_usage,
                    })),
                    adopt: upstream == ApiFormat::OpenAiChat,
                },
                ApiFormat::OpenAiResponses => {
                    Sink::Responses(Box::new(responses_stream::Encoder::new(
                        responses
                            .as_ref()
                            .map(|r| r.encoder.clone())
                            .unwrap_or_default(),
                    )))
                }
            };
            Mode::Transcode {
                source,
                restorer: responses
                    .and_then(|r| r.tools)
                    .filter(|t| !t.is_identity())
                    .map(|t| Box::new(ToolCallRestorer::new(t))),
                executor: executor.map(Box::new),
                sink,
                upstream_ended: false,
            }
        };
        Self {
            mode,
            phase: Phase::Open,
            client,
            tap: Tap::default(),
        }
    }

    /// True once the stream has ended and nothing more will be written.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True while a policy decision holds the stream.
    pub fn is_waiting(&self) -> bool {
        matches!(&self.mode, Mode::Transcode { executor: Some(ex), .. } if ex.is_waiting())
    }

    /// The policy decisions made on this stream.
    pub fn decisions(&self) -> &[DecisionRecord] {
        match &self.mode {
            Mode::Transcode {
                executor: Some(ex), ..
            } => ex.records(),
            _ => &[],
        }
    }

    /// Handles one upstream frame, appending what the client receives to `out`.
    pub fn on_frame(&mut self, frame: &SseFrame, out: &mut BytesMut) {
        if self.phase == Phase::Done {
            // Anything after the end would break the client's stream; the upstream misbehaved.
            tracing::debug!("dropping an upstream frame after the end of the stream");
            return;
        }
        self.tap.raw_frame(&frame.raw);
        let result = match &mut self.mode {
            Mode::Passthrough {
                source,
                saw_message_delta,
                owes_done,
            } => source.decode(frame).map(|events| {
                out.extend_from_slice(&frame.raw);
                for ev in events {
                    match &ev {
                        StreamEvent::MessageDelta(_) => *saw_message_delta = true,
                        StreamEvent::MessageStop => self.phase = Phase::Done,
                        // OpenAI sends `[DONE]` after an error chunk, and a Responses `error`
                        // event may be followed by `response.failed`; Anthropic's error ends
                        // the stream.
                        StreamEvent::Error(_) if self.client.is_openai() => *owes_done = true,
                        StreamEvent::Error(_) => self.phase = Phase::Done,
                        _ => {}
                    }
                    self.tap.received.push(ev);
                }
                if *owes_done && frame.data.trim() == "[DONE]" {
                    self.phase = Phase::Done;
                }
            }),
            Mode::Transcode {
                source,
                restorer,
                executor,
                sink,
                ..
            } => source.decode(frame).map(|events| {
                if let Sink::Chat { encoder, adopt } = sink {
                    if *adopt {
                        if let Ok(chunk) = serde_json::from_str::<serde_json::Value>(&frame.data) {
                            encoder.adopt_identity(&chunk);
                            *adopt = false;
                        }
                    }
                }
                for ev in restore(restorer, events) {
                    if emit(ev, frame, executor, sink, &mut self.tap, out) {
                        self.phase = Phase::Done;
                    }
                }
            }),
        };
        match result {
            Ok(()) => {}
            // On a passthrough route the client reads the upstream's own bytes: an event only
            // the record could not model does not break the client's stream.
            Err(e)
                if matches!(self.mode, Mode::Passthrough { .. })
                    && !matches!(e, protocol::ProtocolError::InvalidJson { .. }) =>
            {
                out.extend_from_slice(&frame.raw);
                tracing::warn!(error = %e, "recording of this stream is incomplete");
                self.tap.record_note.get_or_insert_with(|| e.to_string());
            }
            Err(e) => self.fail(
                ErrorKind::UpstreamConnection,
                &format!("the upstream sent an unreadable stream event: {e}"),
                out,
            ),
        }
    }

    /// Waits for the pending decision and writes what it releases; ends the stream if the
    /// upstream already ended.
    pub async fn next_resolved(&mut self, out: &mut BytesMut) {
        let Mode::Transcode {
            executor: Some(executor),
            sink,
            upstream_ended,
            ..
        } = &mut self.mode
        else {
            return;
        };
        let outs = executor.next_resolved().await;
        for o in &outs {
            self.tap.delivered(&o.event);
        }
        let ended = *upstream_ended;
        if sink.write(&outs, out) {
            self.phase = Phase::Done;
        } else if ended && !self.is_waiting() {
            self.on_end(out);
        }
    }

    /// A keep-alive in the client's format, sent while a decision holds the stream.
    pub fn keepalive(&self, out: &mut BytesMut) {
        match self.client {
            ApiFormat::Anthropic => {
                out.extend_from_slice(&sse::encode(Some("ping"), r#"{"type": "ping"}"#))
            }
            ApiFormat::OpenAiChat | ApiFormat::OpenAiResponses => {
                out.extend_from_slice(&sse::comment("keep-alive"))
            }
        }
    }

    /// The upstream body ended. Completes the stream if only its terminator is missing,
    /// otherwise ends it with an error: a stream cut short is never presented as complete.
    pub fn on_end(&mut self, out: &mut BytesMut) {
        if self.phase == Phase::Done {
            return;
        }
        let closing = match &mut self.mode {
            Mode::Passthrough { source, .. } | Mode::Transcode { source, .. } => source.finish(),
        };
        let closing = match closing {
            Ok(events) => events,
            Err(e) => return self.fail(ErrorKind::UpstreamConnection, &e.to_string(), out),
        };
        match &mut self.mode {
            Mode::Passthrough {
                saw_message_delta,
                owes_done,
                ..
            } => {
                let anthropic_complete = self.client == ApiFormat::Anthropic && *saw_message_delta;
                // An OpenAI stream that reached its finish_reason decodes to closing events.
                let chat_complete =
                    self.client == ApiFormat::OpenAiChat && (!closing.is_empty() || *owes_done);
                // A Responses stream is complete at its terminal event (the phase is then Done)
                // or after an error event the client already received.
                let responses_complete = self.client == ApiFormat::OpenAiResponses && *owes_done;
                self.tap.received.extend(closing);
                if responses_complete {
                    self.phase = Phase::Done;
                } else if anthropic_complete {
                    out.extend_from_slice(&sse::encode(
                        Some("message_stop"),
                        r#"{"type":"message_stop"}"#,
                    ));
                    self.phase = Phase::Done;
                } else if chat_complete {
                    out.extend_from_slice(&sse::encode(None, "[DONE]"));
                    self.phase = Phase::Done;
                } else {
                    self.fail(
                        ErrorKind::UpstreamConnection,
                        "the upstream stream ended before the response was complete",
                        out,
                    );
                }
            }
            Mode::Transcode {
                restorer,
                executor,
                sink,
                upstream_ended,
                ..
            } => {
                *upstream_ended = true;
                let frame = SseFrame {
                    event: None,
                    data: String::new(),
                    raw: bytes::Bytes::new(),
                };
                for ev in restore(restorer, closing) {
                    if emit(ev, &frame, executor, sink, &mut self.tap, out) {
                        self.phase = Phase::Done;
                    }
                }
                if self.phase == Phase::Done || self.is_waiting() {
                    return;
                }
                self.fail(
                    ErrorKind::UpstreamConnection,
                    "the upstream stream ended before the response was complete",
                    out,
                );
            }
        }
    }

    /// Ends the stream with an error event in the client's format.
    pub fn fail(&mut self, kind: ErrorKind, message: &str, out: &mut BytesMut) {
        if self.phase == Phase::Done {
            return;
        }
        tracing::warn!(error = message, "stream ended with an error");
        self.tap.error = Some(message.to_owned());
        match self.client {
            ApiFormat::Anthropic => {
                let body = anthropic_error_body(kind, message).to_string();
                out.extend_from_slice(&sse::encode(Some("error"), &body));
            }
            ApiFormat::OpenAiChat => {
                let body = openai_error_body(kind, message, None).to_string();
                out.extend_from_slice(&sse::encode(None, &body));
                out.extend_from_slice(&sse::encode(None, "[DONE]"));
            }
            ApiFormat::OpenAiResponses => self.fail_responses(kind, message, out),
        }
        self.phase = Phase::Done;
    }

    /// Ends a Responses client's stream: through the encoder (`response.failed`, numbered in
    /// sequence) when the relay re-encodes, else with an `error` event numbered after the
    /// upstream's last event.
    fn fail_responses(&mut self, kind: ErrorKind, message: &str, out: &mut BytesMut) {
        match &mut self.mode {
            Mode::Transcode {
                sink: Sink::Responses(encoder),
                ..
            } => {
                let ev = StreamEvent::Error(protocol::events::StreamError {
                    kind,
                    message: message.to_owned(),
                });
                for b in encoder.encode(&ev) {
                    out.extend_from_slice(&b);
                }
            }
            Mode::Passthrough {
                source: Source::Responses(decoder),
                ..
            } => {
                let seq = decoder.last_sequence_number().map_or(0, |n| n + 1);
                let body = serde_json::json!({"type": "error", "code": kind.openai_type(),
                    "message": message, "param": null, "sequence_number": seq});
                out.extend_from_slice(&sse::encode(Some("error"), &body.to_string()));
            }
            _ => {
                let body = openai_error_body(kind, message, None).to_string();
                out.extend_from_slice(&sse::encode(Some("error"), &body));
            }
        }
    }
}

/// Runs decoded events through the tool-call restorer, when there is one.
fn restore(
    restorer: &mut Option<Box<ToolCallRestorer>>,
    events: Vec<StreamEvent>,
) -> Vec<StreamEvent> {
    match restorer {
        Some(r) => events.into_iter().flat_map(|ev| r.push(ev)).collect(),
        None => events,
    }
}

/// Records one decoded upstream event, runs it through the executor if any, and writes what
/// the client receives. True once the client's stream is complete.
fn emit(
    ev: StreamEvent,
    frame: &SseFrame,
    executor: &mut Option<Box<Executor>>,
    sink: &mut Sink,
    tap: &mut Tap,
    out: &mut BytesMut,
) -> bool {
    tap.received.push(ev.clone());
    let outs = match executor {
        Some(ex) => {
            let outs = ex.push(ev, Some(frame.raw.clone()).filter(|r| !r.is_empty()));
            for o in &outs {
                tap.delivered(&o.event);
            }
            outs
        }
        None => vec![Out {
            event: ev,
            raw: None,
        }],
    };
    sink.write(&outs, out)
}
