//! Timing scenarios: `mock:slow` (TTFT before headers, gaps between deltas), `mock:stall`
//! (no headers for a while) and `mock:stall_mid` (silence after the first delta). Only lower
//! bounds are asserted, except where a scenario promises something arrives before a wait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn slow_waits_the_ttft_before_headers_then_spaces_the_deltas() {
    let mock = mock().await;
    let started = Instant::now();
    let response = anthropic(&mock, &anthropic_body("mock:slow 200 5 50", true))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= ms(200), "headers came before the TTFT");
    let frames = timed_frames(response, started).await;
    let deltas: Vec<Duration> = frames
        .iter()
        .filter(|(_, f)| f.event.as_deref() == Some("content_block_delta"))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(deltas.len(), 5);
    for pair in deltas.windows(2) {
        assert!(
            pair[1] - pair[0] >= ms(40),
            "deltas {pair:?} are not spaced"
        );
    }
    assert!(deltas[4] - deltas[0] >= ms(200));
    assert_eq!(
        frames.last().unwrap().1.event.as_deref(),
        Some("message_stop")
    );
}

#[tokio::test]
async fn slow_on_openai_spaces_the_content_deltas_too() {
    let mock = mock().await;
    let started = Instant::now();
    let response = openai(&mock, &openai_body("mock:slow 100 3 60", true))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= ms(100));
    let frames = timed_frames(response, started).await;
    let content: Vec<Duration> = frames
        .iter()
        .filter(|(_, f)| f.data.contains(r#""delta":{"content":"w"#))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(content.len(), 3);
    assert!(content[2] - content[0] >= ms(110));
    assert_eq!(frames.last().unwrap().1.data, "[DONE]");
}

#[tokio::test]
async fn a_non_streaming_slow_reply_takes_as_long_as_the_stream_would() {
    let mock = mock().await;
    let started = Instant::now();
    let completion = openai_completion(&mock, "mock:slow 100 3 50").await;
    assert!(started.elapsed() >= ms(200));
    assert_eq!(completion["choices"][0]["message"]["content"], "w0 w1 w2 ");
}

#[tokio::test]
async fn stall_withholds_the_response_headers() {
    let mock = mock().await;
    let started = Instant::now();
    let response = anthropic(&mock, &anthropic_body("mock:stall 300", true))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= ms(300));
    let frames = frames(&response.text().await.unwrap());
    assert_eq!(
        frames.last().unwrap().event.as_deref(),
        Some("message_stop")
    );

    let started = Instant::now();
    let completion = openai_completion(&mock, "mock:stall 200").await;
    assert!(started.elapsed() >= ms(200));
    assert_eq!(completion["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn stall_mid_sends_the_first_delta_then_goes_silent_then_finishes() {
    let mock = mock().await;
    let started = Instant::now();
    let response = anthropic(&mock, &anthropic_body("mock:stall_mid 800", true))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < ms(800),
        "headers must not wait for the stall"
    );
    let frames = timed_frames(response, started).await;
    let deltas: Vec<Duration> = frames
        .iter()
        .filter(|(_, f)| f.event.as_deref() == Some("content_block_delta"))
        .map(|(at, _)| *at)
        .collect();
    assert!(deltas.len() >= 2);
    assert!(
        deltas[0] < ms(800),
        "the first delta comes before the stall"
    );
    assert!(deltas[1] - deltas[0] >= ms(750), "{deltas:?}");
    assert_eq!(
        frames.last().unwrap().1.event.as_deref(),
        Some("message_stop")
    );
}

#[tokio::test]
async fn stall_mid_on_openai_stalls_after_the_first_content_delta() {
    let mock = mock().await;
    let started = Instant::now();
    let response = openai(&mock, &openai_body("mock:stall_mid 300", true))
        .send()
        .await
        .unwrap();
    let frames = timed_frames(response, started).await;
    let content: Vec<Duration> = frames
        .iter()
        .filter(|(_, f)| f.data.contains(r#""delta":{"content":"#))
        .map(|(at, _)| *at)
        .collect();
    assert!(content[1] - content[0] >= ms(280), "{content:?}");
    assert_eq!(frames.last().unwrap().1.data, "[DONE]");
}
