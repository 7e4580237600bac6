//! `GET /api/activity/stream` over a real socket: event framing, filters, replay on connect,
//! resuming from `Last-Event-ID`, heartbeats, and a lagging client being cut off.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::StreamExt;
use luthien_gateway::activity::{
    router, router_with, ActivityBus, ActivityEvent, ActivityState, BusConfig, Envelope,
};
use std::time::Duration;

/// One parsed SSE frame.
#[derive(Debug, Default, Clone)]
struct Frame {
    event: Option<String>,
    id: Option<String>,
    data: Option<String>,
    comment: Option<String>,
}

impl Frame {
    fn envelope(&self) -> Envelope {
        serde_json::from_str(self.data.as_deref().unwrap()).unwrap()
    }
}

/// Reads SSE frames from a streaming response body.
struct SseClient {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
}

impl SseClient {
    async fn connect(base: &str, query: &str) -> Self {
        Self::connect_with(base, query, None).await
    }

    async fn connect_with(base: &str, query: &str, last_event_id: Option<&str>) -> Self {
        let mut req = reqwest::Client::new().get(format!("{base}/api/activity/stream{query}"));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.unwrap();
        Self {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    /// The next frame, or `None` when the stream ends; panics after `within`.
    async fn next_frame(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                return Some(parse_frame(&raw));
            }
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Ok(Some(chunk)) => self
                    .buf
                    .push_str(std::str::from_utf8(&chunk.unwrap()).unwrap()),
                Ok(None) => return None,
                Err(_) => panic!("no SSE frame within {within:?}; buffered {:?}", self.buf),
            }
        }
    }

    /// The next frame that is an event (heartbeats skipped).
    async fn next_event(&mut self) -> Frame {
        loop {
            let frame = self
                .next_frame(Duration::from_secs(2))
                .await
                .expect("stream ended");
            if frame.event.is_some() {
                return frame;
            }
        }
    }

    /// Asserts no event (only heartbeats, if anything) arrives for a while.
    async fn assert_no_event(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let frame = parse_frame(&raw);
                assert!(frame.event.is_none(), "unexpected event {frame:?}");
                continue;
            }
            match tokio::time::timeout(left, self.body.next()).await {
                Ok(Some(chunk)) => self
                    .buf
                    .push_str(std::str::from_utf8(&chunk.unwrap()).unwrap()),
                Ok(None) => panic!("stream ended"),
                Err(_) => return,
            }
        }
    }
}

fn parse_frame(raw: &str) -> Frame {
    let mut frame = Frame::default();
    for line in raw.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            frame.comment = Some(rest.trim().to_owned());
        } else if let Some((field, value)) = line.split_once(':') {
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "event" => frame.event = Some(value),
                "id" => frame.id = Some(value),
                "data" => frame.data = Some(value),
                _ => {}
            }
        }
    }
    frame
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn started(tx: &str, session: &str) -> ActivityEvent {
    ActivityEvent::TransactionStarted {
        transaction_id: tx.to_owned(),
        session_id: Some(session.to_owned()),
        model: "claude-haiku".into(),
        client_api: "anthropic_messages".into(),
        stream: true,
        at_ms: 1,
    }
}

fn decision(tx: &str, session: &str) -> ActivityEvent {
    ActivityEvent::Decision {
        transaction_id: tx.to_owned(),
        session_id: Some(session.to_owned()),
        policy: "tool_call_judge".into(),
        block_index: 0,
        verdict: "allow".into(),
        status: "ok".into(),
        score: Some(0.1),
        at_ms: 2,
    }
}

#[tokio::test]
async fn each_event_is_named_by_kind_identified_by_instance_and_sequence_and_carries_the_envelope()
{
    let bus = ActivityBus::in_process();
    let base = serve(router(bus.clone())).await;
    let mut client = SseClient::connect(&base, "?replay=0").await;
    assert_eq!(client.status, 200);
    assert_eq!(
        client.headers["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    assert_eq!(client.headers["x-accel-buffering"], "no");
    assert_eq!(client.headers["cache-control"], "no-cache");

    bus.publish(started("tx-1", "s1"));
    let frame = client.next_event().await;
    assert_eq!(frame.event.as_deref(), Some("transaction_started"));
    assert_eq!(frame.id, Some(format!("{}-1", bus.instance_id())));
    let env = frame.envelope();
    assert_eq!(env.transaction_id(), Some("tx-1"));
    assert_eq!(env.instance, bus.instance_id());
}

#[tokio::test]
async fn the_stream_only_carries_events_matching_the_session_and_kind_filters() {
    let bus = ActivityBus::in_process();
    let base = serve(router(bus.clone())).await;
    let mut client = SseClient::connect(
        &base,
        "?session=s1&kind=decision,transaction_finished&replay=0",
    )
    .await;
    let mut by_tx = SseClient::connect(&base, "?transaction=tx-b&replay=0").await;

    bus.publish(started("tx-a", "s1"));
    bus.publish(decision("tx-b", "s2"));
    bus.publish(decision("tx-a", "s1"));
    bus.publish(started("tx-b", "s2"));

    let frame = client.next_event().await;
    assert_eq!(frame.event.as_deref(), Some("decision"));
    assert_eq!(frame.envelope().session_id(), Some("s1"));
    client.assert_no_event().await;

    let kinds = [
        by_tx.next_event().await.event.unwrap(),
        by_tx.next_event().await.event.unwrap(),
    ];
    assert_eq!(kinds, ["decision", "transaction_started"]);
    by_tx.assert_no_event().await;
}

#[tokio::test]
async fn an_unknown_kind_filter_is_a_bad_request() {
    let base = serve(router(ActivityBus::in_process())).await;
    let resp = reqwest::get(format!("{base}/api/activity/stream?kind=decision,bogus"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("bogus"));
    assert_eq!(body["valid_kinds"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn on_connect_the_last_matching_events_are_replayed_before_live_ones() {
    let bus = ActivityBus::in_process();
    let base = serve(router(bus.clone())).await;
    for n in 0..10 {
        bus.publish(started(&format!("a-{n}"), "a"));
        bus.publish(started(&format!("b-{n}"), "b"));
    }
    let mut client = SseClient::connect(&base, "?session=a&replay=3").await;
    bus.publish(started("a-live", "a"));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let env = client.next_event().await.envelope();
        seen.push(env.transaction_id().unwrap().to_owned());
    }
    assert_eq!(seen, ["a-7", "a-8", "a-9", "a-live"]);
    client.assert_no_event().await;
}

#[tokio::test]
async fn replay_defaults_to_fifty_and_zero_disables_it() {
    let bus = ActivityBus::in_process();
    let base = serve(router(bus.clone())).await;
    for n in 0..60 {
        bus.publish(started(&format!("tx-{n}"), "s"));
    }
    let mut default = SseClient::connect(&base, "").await;
    let first = default.next_event().await.envelope();
    assert_eq!(first.transaction_id(), Some("tx-10"));

    let mut none = SseClient::connect(&base, "?replay=0").await;
    none.assert_no_event().await;
    bus.publish(started("live", "s"));
    assert_eq!(
        none.next_event().await.envelope().transaction_id(),
        Some("live")
    );
}

#[tokio::test]
async fn a_last_event_id_resumes_right_after_that_event() {
    let bus = ActivityBus::in_process();
    let base = serve(router(bus.clone())).await;
    for n in 0..5 {
        bus.publish(started(&format!("tx-{n}"), "s"));
    }
    let resume_from = format!("{}-2", bus.instance_id());
    let mut client = SseClient::connect_with(&base, "?replay=1", Some(&resume_from)).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(client.next_event().await.id.unwrap());
    }
    let instance = bus.instance_id();
    // Everything after event 2 is sent, regardless of `replay=1`.
    assert_eq!(
        ids,
        [
            format!("{instance}-3"),
            format!("{instance}-4"),
            format!("{instance}-5")
        ]
    );
    client.assert_no_event().await;
}

#[tokio::test]
async fn an_idle_stream_gets_heartbeat_comments_at_the_configured_interval() {
    let bus = ActivityBus::in_process();
    let state = ActivityState::new(bus.clone()).with_heartbeat(Duration::from_millis(100));
    let base = serve(router_with(state)).await;
    let mut client = SseClient::connect(&base, "?replay=0").await;
    for _ in 0..3 {
        let frame = client
            .next_frame(Duration::from_millis(600))
            .await
            .expect("stream open");
        assert_eq!(frame.comment.as_deref(), Some("heartbeat"), "{frame:?}");
        assert!(frame.event.is_none());
    }
}

#[tokio::test]
async fn a_client_that_falls_behind_gets_a_lagged_event_and_the_stream_ends() {
    let bus = ActivityBus::in_process_with(BusConfig {
        broadcast_capacity: 8,
        ..BusConfig::default()
    });
    let base = serve(router(bus.clone())).await;
    let mut client = SseClient::connect(&base, "?replay=0").await;
    // The test runtime is single-threaded: the server cannot forward anything while this loop
    // runs, so the stream's subscription overflows.
    for n in 0..100 {
        bus.publish(started(&format!("tx-{n}"), "s"));
    }
    let lagged = loop {
        let frame = client.next_event().await;
        if frame.event.as_deref() == Some("lagged") {
            break frame;
        }
    };
    let data: serde_json::Value = serde_json::from_str(lagged.data.as_deref().unwrap()).unwrap();
    assert!(data["missed"].as_u64().unwrap() > 0, "{data}");
    assert!(
        client.next_frame(Duration::from_secs(2)).await.is_none(),
        "the stream ends after the lagged event"
    );
    // The bus itself is fine: a new client streams normally.
    let mut again = SseClient::connect(&base, "?replay=0").await;
    bus.publish(started("after", "s"));
    assert_eq!(
        again.next_event().await.envelope().transaction_id(),
        Some("after")
    );
}
