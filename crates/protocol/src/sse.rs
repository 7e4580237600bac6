//! Server-sent-event framing: split a byte stream into complete frames without losing a byte.
//!
//! A frame keeps its raw bytes so a same-API proxy can forward the upstream's bytes unchanged
//! while still reading the event. We frame by hand rather than with an SSE crate because none
//! exposes the raw bytes of each frame, which byte-exact passthrough needs.

use bytes::{Bytes, BytesMut};

/// One complete SSE frame (everything up to and including its terminating blank line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`, as the SSE specification says.
    pub data: String,
    /// The frame exactly as it arrived, terminator included.
    pub raw: Bytes,
}

impl SseFrame {
    /// True when the frame carries no event and no data (a comment or keep-alive).
    pub fn is_comment(&self) -> bool {
        self.event.is_none() && self.data.is_empty()
    }
}

/// Incremental SSE decoder: feed bytes as they arrive, take complete frames out.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: BytesMut,
    /// How far `buf` has been scanned for a terminator, so a slow stream is not rescanned.
    scanned: usize,
}

impl SseDecoder {
    /// A decoder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `chunk` and returns every frame it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        self.buf.extend_from_slice(chunk);
        let mut frames = Vec::new();
        while let Some(end) = self.frame_end() {
            let raw = self.buf.split_to(end).freeze();
            self.scanned = 0;
            frames.push(parse_frame(raw));
        }
        frames
    }

    /// Bytes received that do not yet form a complete frame.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Finds the end (exclusive) of the first complete frame: a blank line in any of the
    /// three line-ending styles the SSE specification allows.
    fn frame_end(&mut self) -> Option<usize> {
        let b = &self.buf[..];
        let start = self.scanned.saturating_sub(3);
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'\n' => {
                    if b.get(i + 1) == Some(&b'\n') {
                        return Some(i + 2);
                    }
                    if b.get(i + 1) == Some(&b'\r') {
                        match b.get(i + 2) {
                            Some(b'\n') => return Some(i + 3),
                            Some(_) => return Some(i + 2),
                            None => break,
                        }
                    }
                }
                b'\r' => match (b.get(i + 1), b.get(i + 2), b.get(i + 3)) {
                    (Some(b'\n'), Some(b'\r'), Some(b'\n')) => return Some(i + 4),
                    (Some(b'\n'), Some(b'\r'), None) => break,
                    (Some(b'\n'), Some(b'\n'), _) => return Some(i + 3),
                    (Some(b'\r'), _, _) => return Some(i + 2),
                    (None, _, _) => break,
                    _ => {}
                },
                _ => {}
            }
            i += 1;
        }
        self.scanned = b.len();
        None
    }
}

fn parse_frame(raw: Bytes) -> SseFrame {
    let text = String::from_utf8_lossy(&raw);
    let mut event = None;
    let mut data: Option<String> = None;
    for line in text.split(['\n', '\r']) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    SseFrame {
        event,
        data: data.unwrap_or_default(),
        raw,
    }
}

/// Encodes one frame with an optional `event:` line (Anthropic style) and one `data:` line.
pub fn encode(event: Option<&str>, data: &str) -> Bytes {
    let mut s = String::with_capacity(data.len() + 32);
    if let Some(e) = event {
        s.push_str("event: ");
        s.push_str(e);
        s.push('\n');
    }
    for line in data.split('\n') {
        s.push_str("data: ");
        s.push_str(line);
        s.push('\n');
    }
    s.push('\n');
    Bytes::from(s)
}

/// An SSE comment frame; clients ignore it, proxies and load balancers see traffic.
pub fn comment(text: &str) -> Bytes {
    Bytes::from(format!(": {text}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks_are_reassembled_byte_exact() {
        let wire = b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\ndata: {}\n\n";
        for cut in 0..wire.len() {
            let mut d = SseDecoder::new();
            let mut frames = d.push(&wire[..cut]);
            frames.extend(d.push(&wire[cut..]));
            assert_eq!(frames.len(), 2, "cut at {cut}");
            let joined: Vec<u8> = frames.iter().flat_map(|f| f.raw.to_vec()).collect();
            assert_eq!(joined, wire.to_vec(), "cut at {cut}");
            assert_eq!(frames[0].event.as_deref(), Some("ping"));
            assert_eq!(frames[1].data, "{}");
        }
    }

    #[test]
    fn crlf_and_multiline_data_follow_the_spec() {
        let mut d = SseDecoder::new();
        let frames = d.push(b"data: a\r\ndata:b\r\n\r\n: comment\n\n");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, "a\nb");
        assert!(frames[1].is_comment());
    }

    #[test]
    fn an_incomplete_frame_stays_pending() {
        let mut d = SseDecoder::new();
        assert!(d.push(b"data: {\"half\":").is_empty());
        assert_eq!(d.pending(), b"data: {\"half\":");
    }

    #[test]
    fn encode_round_trips_through_the_decoder() {
        let bytes = encode(Some("message_start"), "{\"x\":1}");
        let frames = SseDecoder::new().push(&bytes);
        assert_eq!(frames[0].event.as_deref(), Some("message_start"));
        assert_eq!(frames[0].data, "{\"x\":1}");
    }
}
