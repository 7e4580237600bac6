//! Stream accounting: a stream read to its end is completed; a client that goes away mid-stream
//! (or while the reply is still withheld) is counted as cancelled. Gateway tests rely on this to
//! prove they cancel the upstream call when their own client disconnects.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use luthien_mock_upstream::StreamStats;

#[tokio::test]
async fn a_stream_read_to_the_end_is_completed() {
    let mock = mock().await;
    let _ = anthropic_stream(&mock, "mock:deltas 5").await;
    let _ = openai_stream(&mock, "mock:deltas 5").await;
    assert!(
        eventually(|| mock.stats()
            == StreamStats {
                started: 2,
                completed: 2,
                cancelled: 0
            })
        .await,
        "{:?}",
        mock.stats()
    );
}

#[tokio::test]
async fn a_truncated_stream_is_still_completed_by_the_mock() {
    let mock = mock().await;
    let _ = anthropic_stream(&mock, "mock:truncate").await;
    assert!(eventually(|| mock.stats().completed == 1).await);
}

#[tokio::test]
async fn a_client_dropping_a_slow_stream_midway_is_counted_as_cancelled() {
    let mock = mock().await;
    let mut response = anthropic(&mock, &anthropic_body("mock:slow 0 200 20", true))
        .send()
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    assert_eq!(mock.stats().started, 1);
    drop(response);
    assert!(
        eventually(|| mock.stats()
            == StreamStats {
                started: 1,
                completed: 0,
                cancelled: 1
            })
        .await,
        "{:?}",
        mock.stats()
    );
}

#[tokio::test]
async fn a_client_leaving_during_a_mid_stream_stall_is_counted_as_cancelled() {
    let mock = mock().await;
    let mut response = openai(&mock, &openai_body("mock:stall_mid 10000", true))
        .send()
        .await
        .unwrap();
    let _ = response.chunk().await.unwrap();
    drop(response);
    assert!(
        eventually(|| mock.stats().cancelled == 1).await,
        "{:?}",
        mock.stats()
    );
}

#[tokio::test]
async fn a_client_leaving_before_the_headers_is_counted_as_cancelled() {
    let mock = mock().await;
    let request = anthropic(&mock, &anthropic_body("mock:stall 10000", true));
    let pending = tokio::spawn(request.send());
    assert!(eventually(|| mock.stats().started == 1).await);
    pending.abort();
    assert!(
        eventually(|| mock.stats().cancelled == 1).await,
        "{:?}",
        mock.stats()
    );
    assert_eq!(mock.stats().completed, 0);
}

#[tokio::test]
async fn non_streaming_replies_are_not_counted_as_streams() {
    let mock = mock().await;
    let _ = anthropic_message(&mock, "hi").await;
    let _ = openai_completion(&mock, "hi").await;
    assert_eq!(mock.stats(), StreamStats::default());
}
