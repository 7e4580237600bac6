//! Which reply a request asks for. The directive comes from the `x-mock-scenario` header if
//! present, else from the first `mock:` in the text of the last user turn (its arguments run to
//! the end of that line, except `mock:custom`'s, which run to the end of the text). Without a
//! directive, a turn carrying a tool result gets an acknowledgement and any other turn an echo.
//! See the crate docs for the directive list.

use serde_json::Value;

/// The request header that overrides the directive found in the conversation.
pub const SCENARIO_HEADER: &str = "x-mock-scenario";

/// Caps keep a typo (`mock:deltas 10000000000`) from exhausting memory.
const MAX_DELTAS: usize = 100_000;
const MAX_TOOLS: usize = 100;
/// How much of the user text or tool result is echoed back.
const ECHO_CHARS: usize = 200;

/// A parsed directive (or the default when there is none).
#[derive(Clone, Debug, PartialEq)]
pub enum Scenario {
    /// No directive: echo the first 200 characters of the user text.
    Echo(String),
    /// No directive, tool result in the last turn: acknowledge its first 200 characters.
    ToolResult(String),
    /// `mock:text <TEXT>`: exactly TEXT.
    Text(String),
    /// `mock:deltas <N>`: N text deltas `w0 `, `w1 `, ….
    Deltas(usize),
    /// `mock:long`: about 2,000 words.
    Long,
    /// `mock:tool <NAME> <JSON>`: a short text, then one call of NAME with input JSON.
    Tool {
        /// Tool name.
        name: String,
        /// Tool input (a JSON object).
        input: Value,
    },
    /// `mock:tools <N>`: a short text, then N `get_weather` calls.
    Tools(usize),
    /// `mock:custom <NAME> <TEXT…>`: one call of the custom (free-form) tool NAME with input
    /// TEXT, which runs to the end of the user text (several lines, e.g. a patch).
    Custom {
        /// Tool name.
        name: String,
        /// The free-form input.
        input: String,
    },
    /// `mock:thinking`: a thinking block with a signature, then text.
    Thinking,
    /// `mock:error <STATUS>`: that HTTP error in the provider's format.
    Error(u16),
    /// `mock:slow <TTFT_MS> <N> <GAP_MS>`: first byte after TTFT, then N deltas GAP apart.
    Slow {
        /// Wait before the response headers.
        ttft_ms: u64,
        /// Number of text deltas.
        deltas: usize,
        /// Wait between consecutive deltas.
        gap_ms: u64,
    },
    /// `mock:stall <MS>`: no response headers for MS.
    Stall(u64),
    /// `mock:stall_mid <MS>`: one delta, then MS of silence, then the rest.
    StallMid(u64),
    /// `mock:truncate`: the stream stops before its end.
    Truncate,
    /// `mock:midstream_error [event]`: some text, then an in-stream error. On the Responses API
    /// the error is `response.failed`, or with `event` a bare `error` event; the other APIs
    /// ignore the argument.
    MidstreamError {
        /// `event`: end a Responses stream with an `error` event rather than `response.failed`.
        error_event: bool,
    },
    /// `mock:max_tokens`: text, then stop reason `max_tokens` / `length`.
    MaxTokens,
    /// `mock:stop_sequence <SEQ>`: text, then stop reason `stop_sequence` with SEQ.
    StopSequence(String),
    /// `mock:judge <P>`: plays an LLM judge, replying `{"probability": P, "explanation": …}`.
    /// `mock:judge fenced <P>` wraps it in a ```json fence; `mock:judge garbage` replies prose.
    Judge(String),
    /// A directive that could not be parsed: the reply text explains why.
    Invalid(String),
}

/// What the scenario choice needs from the last user turn of a conversation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LastTurn {
    /// All the text of the turn (text blocks joined with newlines).
    pub text: String,
    /// The text of the turn's first tool result, if it carries one.
    pub tool_result: Option<String>,
}

/// Picks the scenario for a request.
pub fn choose(header: Option<&str>, turn: &LastTurn) -> Scenario {
    if let Some(header) = header.map(str::trim).filter(|h| !h.is_empty()) {
        return parse_directive(header.strip_prefix("mock:").unwrap_or(header));
    }
    if let Some(at) = turn.text.find("mock:") {
        let rest = &turn.text[at + "mock:".len()..];
        if let Some(args) = rest
            .strip_prefix("custom")
            .filter(|args| args.starts_with(char::is_whitespace))
        {
            // A free-form input (a patch) spans lines: it runs to the end of the text.
            return parse_custom(args);
        }
        let line = rest.split('\n').next().unwrap_or_default();
        return parse_directive(line);
    }
    match &turn.tool_result {
        Some(result) => Scenario::ToolResult(first_chars(result, ECHO_CHARS)),
        None => Scenario::Echo(first_chars(&turn.text, ECHO_CHARS)),
    }
}

/// Parses what follows `mock:` (the scenario name and its arguments).
pub fn parse_directive(directive: &str) -> Scenario {
    let directive = directive.trim();
    let (name, args) = match directive.split_once(char::is_whitespace) {
        Some((name, args)) => (name, args.trim()),
        None => (directive, ""),
    };
    // A directive quoted inside a JSON line (a judge prompt shows tool arguments as pretty JSON)
    // ends with the string's closing quote and maybe a comma: those are not arguments.
    let args = if matches!(name, "text" | "tool" | "custom") {
        args
    } else {
        args.trim_end_matches([',', '"']).trim()
    };
    let numbers = || -> Option<Vec<u64>> {
        args.split_whitespace()
            .map(|n| n.parse::<u64>().ok())
            .collect()
    };
    let parsed = match name {
        "text" if !args.is_empty() => Some(Scenario::Text(args.to_owned())),
        "deltas" => count(args, 0, MAX_DELTAS).map(Scenario::Deltas),
        "long" => Some(Scenario::Long),
        "tool" => return parse_tool(args),
        "custom" => return parse_custom(args),
        "tools" => count(args, 1, MAX_TOOLS).map(Scenario::Tools),
        "thinking" => Some(Scenario::Thinking),
        "error" => args
            .parse::<u16>()
            .ok()
            .filter(|s| (400..=599).contains(s))
            .map(Scenario::Error),
        "slow" => match numbers().as_deref() {
            Some(&[ttft_ms, deltas, gap_ms]) => usize::try_from(deltas)
                .ok()
                .filter(|d| *d <= MAX_DELTAS)
                .map(|deltas| Scenario::Slow {
                    ttft_ms,
                    deltas,
                    gap_ms,
                }),
            _ => None,
        },
        "stall" => args.parse().ok().map(Scenario::Stall),
        "stall_mid" => args.parse().ok().map(Scenario::StallMid),
        "truncate" => Some(Scenario::Truncate),
        "midstream_error" => match args {
            "" => Some(Scenario::MidstreamError { error_event: false }),
            "event" => Some(Scenario::MidstreamError { error_event: true }),
            _ => None,
        },
        "max_tokens" => Some(Scenario::MaxTokens),
        "stop_sequence" if !args.is_empty() => Some(Scenario::StopSequence(args.to_owned())),
        "judge" if !args.is_empty() => Some(Scenario::Judge(args.to_owned())),
        _ => None,
    };
    parsed.unwrap_or_else(|| Scenario::Invalid(usage_error(name, args)))
}

fn parse_tool(args: &str) -> Scenario {
    let (name, json) = match args.split_once(char::is_whitespace) {
        Some((name, json)) => (name, json.trim()),
        None => (args, ""),
    };
    if name.is_empty() {
        return Scenario::Invalid(usage_error("tool", args));
    }
    if json.is_empty() {
        return Scenario::Tool {
            name: name.to_owned(),
            input: Value::Object(serde_json::Map::new()),
        };
    }
    match serde_json::from_str::<Value>(json) {
        Ok(input @ Value::Object(_)) => Scenario::Tool {
            name: name.to_owned(),
            input,
        },
        Ok(_) => Scenario::Invalid(format!(
            "mock:tool input must be a JSON object, got `{json}`"
        )),
        Err(err) => Scenario::Invalid(format!(
            "mock:tool input is not valid JSON ({err}): `{json}`"
        )),
    }
}

/// `<NAME> <TEXT…>`: the name ends at the first whitespace, the input is the rest, trimmed.
fn parse_custom(args: &str) -> Scenario {
    let args = args.trim();
    match args.split_once(char::is_whitespace) {
        Some((name, input)) if !input.trim().is_empty() => Scenario::Custom {
            name: name.to_owned(),
            input: input.trim().to_owned(),
        },
        _ => Scenario::Invalid(usage_error("custom", args)),
    }
}

fn count(args: &str, min: usize, max: usize) -> Option<usize> {
    args.parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

fn usage_error(name: &str, args: &str) -> String {
    let usage = match name {
        "text" => "mock:text <TEXT>",
        "deltas" => "mock:deltas <N> (0 to 100000)",
        "tool" => "mock:tool <NAME> <JSON object>",
        "tools" => "mock:tools <N> (1 to 100)",
        "error" => "mock:error <STATUS> (400 to 599)",
        "slow" => "mock:slow <TTFT_MS> <N> <GAP_MS>",
        "stall" => "mock:stall <MS>",
        "stall_mid" => "mock:stall_mid <MS>",
        "stop_sequence" => "mock:stop_sequence <SEQ>",
        "custom" => "mock:custom <NAME> <TEXT>",
        "midstream_error" => "mock:midstream_error [event]",
        "judge" => "mock:judge <P> | fenced <P> | garbage",
        _ => {
            return format!(
                "Unknown mock scenario `mock:{name}`. Known: text, deltas, long, tool, tools, \
                 custom, thinking, error, slow, stall, stall_mid, truncate, midstream_error, \
                 max_tokens, stop_sequence, judge."
            )
        }
    };
    format!("Bad mock directive `mock:{name} {args}`. Usage: {usage}.")
}

/// The first `n` characters of `text` (not bytes: never splits a UTF-8 character).
pub(crate) fn first_chars(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn turn(text: &str) -> LastTurn {
        LastTurn {
            text: text.to_owned(),
            tool_result: None,
        }
    }

    #[test]
    fn no_directive_echoes_the_first_200_characters() {
        let long = "é".repeat(300);
        assert_eq!(choose(None, &turn(&long)), Scenario::Echo("é".repeat(200)));
    }

    #[test]
    fn directive_arguments_run_to_the_end_of_the_line() {
        let t = turn("please\nmock:text Hello there, world  \nand more");
        assert_eq!(
            choose(None, &t),
            Scenario::Text("Hello there, world".into())
        );
    }

    #[test]
    fn the_header_wins_over_the_message_with_or_without_prefix() {
        let t = turn("mock:long");
        assert_eq!(choose(Some("deltas 3"), &t), Scenario::Deltas(3));
        assert_eq!(choose(Some("mock:deltas 4"), &t), Scenario::Deltas(4));
        assert_eq!(choose(Some("  "), &t), Scenario::Long);
    }

    #[test]
    fn a_tool_result_without_directive_is_acknowledged() {
        let t = LastTurn {
            text: String::new(),
            tool_result: Some("done".into()),
        };
        assert_eq!(choose(None, &t), Scenario::ToolResult("done".into()));
    }

    #[test]
    fn tool_directive_parses_name_and_json_input() {
        assert_eq!(
            parse_directive(r#"tool Bash {"command":"touch /tmp/x"}"#),
            Scenario::Tool {
                name: "Bash".into(),
                input: json!({"command": "touch /tmp/x"})
            }
        );
        assert_eq!(
            parse_directive("tool Read"),
            Scenario::Tool {
                name: "Read".into(),
                input: json!({})
            }
        );
        assert!(matches!(
            parse_directive("tool Bash {oops"),
            Scenario::Invalid(_)
        ));
    }

    #[test]
    fn custom_directive_input_runs_to_the_end_of_the_text() {
        let t = turn(
            "Fix it.\nmock:custom apply_patch *** Begin Patch\n*** Add File: a\n+x\n*** End Patch\n",
        );
        assert_eq!(
            choose(None, &t),
            Scenario::Custom {
                name: "apply_patch".into(),
                input: "*** Begin Patch\n*** Add File: a\n+x\n*** End Patch".into()
            }
        );
        assert_eq!(
            choose(Some("custom shell ls -la"), &turn("")),
            Scenario::Custom {
                name: "shell".into(),
                input: "ls -la".into()
            }
        );
        assert!(matches!(
            parse_directive("custom apply_patch"),
            Scenario::Invalid(_)
        ));
        // `mock:customer` is not `mock:custom`.
        assert!(matches!(
            choose(None, &turn("mock:customer x y")),
            Scenario::Invalid(_)
        ));
    }

    #[test]
    fn midstream_error_takes_an_optional_event_argument() {
        assert_eq!(
            parse_directive("midstream_error"),
            Scenario::MidstreamError { error_event: false }
        );
        assert_eq!(
            parse_directive("midstream_error event"),
            Scenario::MidstreamError { error_event: true }
        );
        assert!(matches!(
            parse_directive("midstream_error soon"),
            Scenario::Invalid(_)
        ));
    }

    #[test]
    fn numeric_directives_parse_and_reject_bad_numbers() {
        assert_eq!(
            parse_directive("slow 200 50 10"),
            Scenario::Slow {
                ttft_ms: 200,
                deltas: 50,
                gap_ms: 10
            }
        );
        assert_eq!(parse_directive("error 529"), Scenario::Error(529));
        assert_eq!(parse_directive("stall 1500"), Scenario::Stall(1500));
        assert_eq!(parse_directive("stall_mid 100"), Scenario::StallMid(100));
        assert!(matches!(parse_directive("error 200"), Scenario::Invalid(_)));
        assert!(matches!(parse_directive("slow 1 2"), Scenario::Invalid(_)));
        assert!(matches!(parse_directive("tools 0"), Scenario::Invalid(_)));
    }

    #[test]
    fn unknown_scenarios_are_reported_not_ignored() {
        match parse_directive("dance fast") {
            Scenario::Invalid(msg) => assert!(msg.contains("mock:dance"), "{msg}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_judge_directive_quoted_inside_json_arguments_parses() {
        assert_eq!(
            parse_directive("judge 0.9\","),
            Scenario::Judge("0.9".into())
        );
        assert_eq!(
            parse_directive("judge fenced 0.2\""),
            Scenario::Judge("fenced 0.2".into())
        );
        assert_eq!(parse_directive("error 500\""), Scenario::Error(500));
    }
}
