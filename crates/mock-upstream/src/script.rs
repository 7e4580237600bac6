//! The format-neutral reply script: which content blocks to send, cut into which deltas, with
//! which pauses, ending how. `anthropic.rs`, `openai.rs` and `responses.rs` render the same
//! script into their wire formats, so one scenario means the same reply on every endpoint,
//! streamed or not.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{json, Value};

use crate::ids;
use crate::scenario::Scenario;

/// Words per text delta, roughly what real models stream.
const WORDS_PER_DELTA: usize = 3;

/// What the mock answers.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// A (possibly streamed) message.
    Script(Script),
    /// An HTTP error with the provider's error body.
    Error {
        /// HTTP status.
        status: u16,
        /// The error message.
        message: String,
    },
}

/// A message reply.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    /// Content blocks in order.
    pub blocks: Vec<Block>,
    /// How the message ends.
    pub end: End,
    /// Waits before and inside the stream.
    pub pacing: Pacing,
}

/// One content block.
#[derive(Clone, Debug)]
pub(crate) enum Block {
    /// Reasoning sent before the answer, sealed by a signature (Anthropic `signature`,
    /// Responses `encrypted_content`; Chat Completions has no place for it).
    Thinking {
        /// Thinking deltas.
        deltas: Vec<String>,
        /// The `signature_delta` value.
        signature: String,
    },
    /// Plain text.
    Text {
        /// Text deltas; their concatenation is the text.
        deltas: Vec<String>,
    },
    /// A tool call.
    ToolUse {
        /// Tool name.
        name: String,
        /// Parsed input, for non-streaming replies.
        input: Value,
        /// The compact JSON of `input`, in fragments.
        fragments: Vec<String>,
    },
    /// A call of a custom (free-form) tool: its input is text, not JSON.
    CustomToolUse {
        /// Tool name.
        name: String,
        /// The input text, in fragments (at least two when it has two characters).
        fragments: Vec<String>,
    },
}

/// How a message ends.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum End {
    /// Normally, with this stop reason.
    Stop(StopReason),
    /// The stream just stops after the last delta: no block stop, no message end.
    Truncate,
    /// An in-stream error after the last delta.
    MidstreamError {
        /// Responses only: a bare `error` event instead of `response.failed`.
        error_event: bool,
    },
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StopReason {
    /// `end_turn` / `stop`.
    EndTurn,
    /// `tool_use` / `tool_calls` (Responses: `completed`).
    ToolUse,
    /// `max_tokens` / `length` / `incomplete` with `max_output_tokens`.
    MaxTokens,
    /// `stop_sequence` (with the sequence) / `stop` / `completed`.
    StopSequence(String),
}

/// Waits of a reply. Streams sleep `before_headers`, then put `between_deltas` before every
/// delta but the first and `after_first_delta` once more before the second.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pacing {
    /// Wait before the response headers.
    pub before_headers: Duration,
    /// Wait between consecutive deltas.
    pub between_deltas: Duration,
    /// Extra silence after the first delta.
    pub after_first_delta: Duration,
}

impl Pacing {
    /// The wait before the `k`-th delta of the stream (counted over all blocks, from 0).
    pub(crate) fn before_delta(&self, k: usize) -> Duration {
        match k {
            0 => Duration::ZERO,
            1 => self.between_deltas + self.after_first_delta,
            _ => self.between_deltas,
        }
    }
}

impl Script {
    fn text(text: &str, end: End) -> Self {
        Self {
            blocks: vec![Block::Text {
                deltas: split_words(text),
            }],
            end,
            pacing: Pacing::default(),
        }
    }

    /// The concatenated text of the text blocks, `None` if there is no text block.
    pub(crate) fn text_content(&self) -> Option<String> {
        let mut text: Option<String> = None;
        for block in &self.blocks {
            if let Block::Text { deltas } = block {
                text.get_or_insert_with(String::new)
                    .extend(deltas.iter().map(String::as_str));
            }
        }
        text
    }

    /// The number of deltas a stream of this script carries (pacing counts these).
    pub(crate) fn delta_count(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| match b {
                Block::Thinking { deltas, .. } | Block::Text { deltas } => deltas.len(),
                Block::ToolUse { fragments, .. } | Block::CustomToolUse { fragments, .. } => {
                    fragments.len()
                }
            })
            .sum()
    }

    /// How long a non-streaming reply waits: as long as the stream would take.
    pub(crate) fn total_delay(&self) -> Duration {
        let deltas = self.delta_count();
        self.pacing.before_headers
            + (0..deltas)
                .map(|k| self.pacing.before_delta(k))
                .sum::<Duration>()
    }

    /// Output tokens: about four characters each, at least 1.
    pub(crate) fn output_tokens(&self) -> u64 {
        self.chars_of(|_| true)
    }

    /// Thinking tokens (OpenAI `reasoning_tokens`), same estimate.
    pub(crate) fn reasoning_tokens(&self) -> u64 {
        if self
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Thinking { .. }))
        {
            self.chars_of(|b| matches!(b, Block::Thinking { .. }))
        } else {
            0
        }
    }

    fn chars_of(&self, keep: impl Fn(&Block) -> bool) -> u64 {
        let bytes: usize = self
            .blocks
            .iter()
            .filter(|b| keep(b))
            .map(|b| match b {
                Block::Thinking { deltas, .. } | Block::Text { deltas } => {
                    deltas.iter().map(String::len).sum()
                }
                Block::ToolUse {
                    name, fragments, ..
                }
                | Block::CustomToolUse { name, fragments } => {
                    name.len() + fragments.iter().map(String::len).sum::<usize>()
                }
            })
            .sum();
        (bytes as u64 / 4).max(1)
    }
}

/// The reply script of a scenario.
pub(crate) fn reply(scenario: &Scenario) -> Reply {
    let stop = End::Stop(StopReason::EndTurn);
    let script = match scenario {
        Scenario::Echo(said) => Script::text(
            &format!("Hello from the Luthien mock upstream. You said: {said}"),
            stop,
        ),
        Scenario::ToolResult(result) => {
            Script::text(&format!("Tool result received: {result}"), stop)
        }
        Scenario::Text(text) => Script::text(text, stop),
        Scenario::Judge(args) => Script::text(&judge_reply(args), stop),
        Scenario::Invalid(problem) => Script::text(problem, stop),
        Scenario::Deltas(n) => numbered(*n, Pacing::default()),
        Scenario::Long => Script {
            blocks: vec![Block::Text {
                deltas: LONG_TEXT.clone(),
            }],
            end: stop,
            pacing: Pacing::default(),
        },
        Scenario::Tool { name, input } => Script {
            blocks: vec![
                Block::Text {
                    deltas: split_words(&format!("I'll use {name}.")),
                },
                tool_use(name, input.clone()),
            ],
            end: End::Stop(StopReason::ToolUse),
            pacing: Pacing::default(),
        },
        Scenario::Tools(n) => {
            let mut blocks = vec![Block::Text {
                deltas: split_words("I'll check the weather in each city."),
            }];
            blocks.extend((0..*n).map(|i| {
                tool_use(
                    "get_weather",
                    json!({"city": format!("City{i}"), "unit": "celsius"}),
                )
            }));
            Script {
                blocks,
                end: End::Stop(StopReason::ToolUse),
                pacing: Pacing::default(),
            }
        }
        Scenario::Custom { name, input } => Script {
            blocks: vec![Block::CustomToolUse {
                name: name.clone(),
                fragments: split_text(input),
            }],
            end: End::Stop(StopReason::ToolUse),
            pacing: Pacing::default(),
        },
        Scenario::Thinking => Script {
            blocks: vec![
                Block::Thinking {
                    deltas: split_words(
                        "The user wants me to think first. Let me reason step by step: \
                         restate the question, check what I know, then answer briefly.",
                    ),
                    signature: ids::SIGNATURE.clone(),
                },
                Block::Text {
                    deltas: split_words("Having thought it through, here is my answer."),
                },
            ],
            end: stop,
            pacing: Pacing::default(),
        },
        Scenario::Error(status) => {
            return Reply::Error {
                status: *status,
                message: format!("mock: simulated {status}"),
            }
        }
        Scenario::Slow {
            ttft_ms,
            deltas,
            gap_ms,
        } => numbered(
            *deltas,
            Pacing {
                before_headers: Duration::from_millis(*ttft_ms),
                between_deltas: Duration::from_millis(*gap_ms),
                after_first_delta: Duration::ZERO,
            },
        ),
        Scenario::Stall(ms) => Script {
            pacing: Pacing {
                before_headers: Duration::from_millis(*ms),
                ..Pacing::default()
            },
            ..Script::text(&format!("Sorry for the wait: I stalled for {ms} ms."), stop)
        },
        Scenario::StallMid(ms) => Script {
            pacing: Pacing {
                after_first_delta: Duration::from_millis(*ms),
                ..Pacing::default()
            },
            ..Script::text(
                &format!("Starting the reply, then a pause of {ms} ms, then the end."),
                stop,
            )
        },
        Scenario::Truncate => Script::text("This reply is cut off", End::Truncate),
        Scenario::MidstreamError { error_event } => Script::text(
            "This reply will fail part way through",
            End::MidstreamError {
                error_event: *error_event,
            },
        ),
        Scenario::MaxTokens => Script::text(
            "This reply stops early because it ran out of",
            End::Stop(StopReason::MaxTokens),
        ),
        Scenario::StopSequence(seq) => Script::text(
            "This reply ends at a stop sequence.",
            End::Stop(StopReason::StopSequence(seq.clone())),
        ),
    };
    Reply::Script(script)
}

/// A text block of `n` deltas `w0 `, `w1 `, ….
fn numbered(n: usize, pacing: Pacing) -> Script {
    Script {
        blocks: vec![Block::Text {
            deltas: (0..n).map(|i| format!("w{i} ")).collect(),
        }],
        end: End::Stop(StopReason::EndTurn),
        pacing,
    }
}

fn tool_use(name: &str, input: Value) -> Block {
    let json = input.to_string();
    Block::ToolUse {
        name: name.to_owned(),
        fragments: split_json(&json),
        input,
    }
}

/// Splits text into deltas of about three words; each delta keeps its trailing whitespace, so
/// the deltas concatenate to exactly the text.
pub(crate) fn split_words(text: &str) -> Vec<String> {
    let mut deltas = Vec::new();
    let mut start = 0;
    let mut words = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        let word_char = !c.is_whitespace();
        if word_char && !in_word {
            if words == WORDS_PER_DELTA {
                deltas.push(text[start..i].to_owned());
                start = i;
                words = 0;
            }
            words += 1;
        }
        in_word = word_char;
    }
    if start < text.len() {
        deltas.push(text[start..].to_owned());
    }
    deltas
}

/// Splits tool-input JSON into at least three fragments (about 12 characters each), as models
/// stream arguments. Short inputs get empty leading fragments, as Anthropic's first
/// `partial_json` often is.
pub(crate) fn split_json(json: &str) -> Vec<String> {
    split_chars(json, 12, 3)
}

/// Splits free-form tool input into pieces of about 16 characters, at least two (one for a
/// single character, none for no text).
fn split_text(text: &str) -> Vec<String> {
    let chars = text.chars().count();
    let mut pieces = split_chars(text, 16, 2.min(chars));
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// Cuts `text` into `max(ceil(chars / size), min_pieces)` pieces of near-equal character
/// counts, never splitting a UTF-8 character.
fn split_chars(text: &str, size: usize, min_pieces: usize) -> Vec<String> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let chars = bounds.len() - 1;
    let pieces = chars.div_ceil(size).max(min_pieces);
    (0..pieces)
        .map(|p| {
            let from = bounds[chars * p / pieces];
            let to = bounds[chars * (p + 1) / pieces];
            text[from..to].to_owned()
        })
        .collect()
}

/// About 2,000 words of lorem ipsum in sentences and paragraphs, cut into deltas once.
static LONG_TEXT: LazyLock<Vec<String>> = LazyLock::new(|| {
    const WORDS: &[&str] = &[
        "lorem",
        "ipsum",
        "dolor",
        "sit",
        "amet",
        "consectetur",
        "adipiscing",
        "elit",
        "sed",
        "do",
        "eiusmod",
        "tempor",
        "incididunt",
        "ut",
        "labore",
        "et",
        "dolore",
        "magna",
        "aliqua",
        "enim",
        "ad",
        "minim",
        "veniam",
        "quis",
        "nostrud",
        "exercitation",
        "ullamco",
        "laboris",
        "nisi",
        "aliquip",
        "ex",
        "ea",
        "commodo",
        "consequat",
    ];
    let mut text = String::new();
    for i in 0..2_000 {
        let word = WORDS[(i * 7 + i / 13) % WORDS.len()];
        let sentence_start = i % 12 == 0;
        if i > 0 {
            text.push(if sentence_start && i % 60 == 0 {
                '\n'
            } else {
                ' '
            });
            if sentence_start && i % 60 == 0 {
                text.push('\n');
            }
        }
        if sentence_start {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                text.extend(first.to_uppercase());
                text.push_str(chars.as_str());
            }
        } else {
            text.push_str(word);
        }
        if i % 12 == 11 {
            text.push('.');
        }
    }
    text.push('.');
    split_words(&text)
});

/// The reply of a mock LLM judge: `<P>`, `fenced <P>` or `garbage`.
fn judge_reply(args: &str) -> String {
    let (fenced, p) = match args.strip_prefix("fenced") {
        Some(rest) => (true, rest.trim()),
        None => (false, args),
    };
    if p.parse::<f64>().is_err() {
        return "I looked at it and it seems fine to me.".to_owned();
    }
    let json = format!(r#"{{"probability": {p}, "explanation": "mock judge verdict"}}"#);
    if fenced {
        format!("Here is my assessment:\n```json\n{json}\n```")
    } else {
        json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_deltas_concatenate_to_the_exact_text() {
        let text = "  one two three four\n\nfive  six seven ";
        let deltas = split_words(text);
        assert_eq!(deltas.concat(), text);
        assert_eq!(deltas[0], "  one two three ");
        assert_eq!(deltas.len(), 3);
    }

    #[test]
    fn json_is_streamed_in_at_least_three_fragments() {
        for json in ["{}", r#"{"command":"touch /tmp/x"}"#, &"x".repeat(100)] {
            let fragments = split_json(json);
            assert!(fragments.len() >= 3, "{json}");
            assert_eq!(fragments.concat(), json);
        }
    }

    #[test]
    fn custom_input_is_streamed_in_at_least_two_pieces() {
        for text in ["ab", "*** Begin Patch\n*** End Patch", &"é".repeat(50)] {
            let pieces = split_text(text);
            assert!(pieces.len() >= 2, "{text}");
            assert!(pieces.iter().all(|p| !p.is_empty()));
            assert_eq!(pieces.concat(), text);
        }
        assert_eq!(split_text("x"), ["x"]);
        assert!(split_text("").is_empty());
    }

    #[test]
    fn long_text_has_about_two_thousand_words() {
        let text = LONG_TEXT.concat();
        assert_eq!(text.split_whitespace().count(), 2_000);
    }

    #[test]
    fn slow_pacing_waits_between_deltas_only() {
        let Reply::Script(script) = reply(&Scenario::Slow {
            ttft_ms: 100,
            deltas: 3,
            gap_ms: 10,
        }) else {
            panic!("expected a script")
        };
        assert_eq!(script.pacing.before_delta(0), Duration::ZERO);
        assert_eq!(script.total_delay(), Duration::from_millis(120));
    }
}
