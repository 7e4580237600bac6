//! The SSE body pump: sends rendered frames one body chunk each, sleeps where the script pauses,
//! and counts the stream as completed or cancelled through a guard that lives in the body.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;

use crate::record::MockState;

/// One step of a rendered stream.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Bytes sent as their own body chunk (one SSE frame).
    Frame(Bytes),
    /// Silence on the wire for this long.
    Pause(Duration),
}

/// Counts a stream as started when made; as completed if [`StreamGuard::finish`] runs, else as
/// cancelled when dropped. It is created before the pre-header wait and then moved into the
/// body, so a client that goes away at any point (hyper drops the handler future or the body)
/// is counted.
pub(crate) struct StreamGuard {
    state: MockState,
    finished: bool,
}

impl StreamGuard {
    /// Counts a new stream as started.
    pub(crate) fn start(state: &MockState) -> Self {
        state.stream_started();
        Self {
            state: state.clone(),
            finished: false,
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.state.stream_completed();
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.state.stream_cancelled();
        }
    }
}

/// A response body that yields `chunks` in order, honouring their pauses.
pub(crate) fn body(chunks: Vec<Chunk>, guard: StreamGuard) -> Body {
    let stream = futures::stream::unfold(
        (chunks.into_iter(), guard),
        |(mut chunks, mut guard)| async move {
            loop {
                match chunks.next() {
                    Some(Chunk::Frame(bytes)) => {
                        return Some((Ok::<Bytes, Infallible>(bytes), (chunks, guard)))
                    }
                    Some(Chunk::Pause(pause)) => tokio::time::sleep(pause).await,
                    None => {
                        // Hyper polls for the end after the last frame was written.
                        guard.finish();
                        return None;
                    }
                }
            }
        },
    );
    Body::from_stream(stream)
}
