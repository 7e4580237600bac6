//! A client that disconnects mid-stream cancels the upstream request; the gateway carries on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;

async fn disconnect_mid_stream(resp: reqwest::Response) {
    let mut body = resp.bytes_stream();
    body.next().await.unwrap().unwrap();
    drop(body);
}

async fn wait_for_cancel(h: &Harness, expected: u64) {
    for _ in 0..100 {
        if h.mock.stats().cancelled >= expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("upstream stream was not cancelled: {:?}", h.mock.stats());
}

#[tokio::test]
async fn a_disconnecting_client_cancels_the_upstream_stream_on_every_route() {
    let h = Harness::start(&[]).await;
    let slow = "mock:slow 0 100 100";
    disconnect_mid_stream(
        h.anthropic(&anthropic_body("claude-sonnet-4-5", slow, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    wait_for_cancel(&h, 1).await;
    disconnect_mid_stream(
        h.chat(&chat_body("gpt-4o", slow, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    wait_for_cancel(&h, 2).await;
    disconnect_mid_stream(
        h.chat(&chat_body("claude-sonnet-4-5", slow, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    wait_for_cancel(&h, 3).await;
    disconnect_mid_stream(
        h.anthropic(&anthropic_body("gpt-4o", slow, true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    wait_for_cancel(&h, 4).await;
    assert_eq!(h.mock.stats().completed, 0);
    // And it keeps serving.
    anthropic_stream(
        h.anthropic(&anthropic_body("claude-sonnet-4-5", "hi", true))
            .send()
            .await
            .unwrap(),
    )
    .await;
}
