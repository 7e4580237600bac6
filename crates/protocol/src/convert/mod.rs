//! Conversions between Anthropic Messages and OpenAI Chat Completions bodies (requests and
//! non-streaming responses), used when a client's API differs from its upstream's.
//!
//! The rule for what cannot be carried: if dropping it would change what the model sees, what
//! it must do or what the client gets back, the conversion fails with
//! [`ProtocolError::Unsupported`](crate::ProtocolError::Unsupported) (an HTTP 400 for the
//! client) naming the field; if it is a hint, an optimisation or provider bookkeeping, it is
//! dropped. Malformed input fails with `InvalidField`, also naming the field. Paths are dotted
//! JSON paths (`messages.2.content.0.source`).
//!
//! # Anthropic request → Chat request ([`request::anthropic_to_chat`])
//!
//! | Anthropic | Chat Completions | Notes |
//! |---|---|---|
//! | `model` | `model` = `ToChatOptions::model` | the upstream name after routing |
//! | `system` (string or text blocks) | leading `{role:"system"}` message | blocks joined with `"\n\n"`; omitted when empty; a non-text block → `InvalidField system.N` |
//! | user `content` string | `content` string | an empty string drops the message |
//! | user `text` blocks | text parts; only text → one string joined with `"\n\n"` | empty text blocks skipped; `cache_control`, `citations` dropped |
//! | user `image`, source `base64` | `image_url` part, `data:<media_type>;base64,<data>` | |
//! | user `image`, source `url` | `image_url` part with the URL | |
//! | user `image`, other source (`file`) | **Unsupported** `…content.N.source.type` | Files API ids mean nothing to OpenAI |
//! | user `document` | **Unsupported** `messages.M.content.N` | PDFs/text files have no Chat form; dropping would hide the input |
//! | user `tool_result` | one `{role:"tool", tool_call_id, content}` per block, **before** the rest of the message, which follows as one user message | content: string, or text blocks joined with `"\n\n"`; absent → `""` (a tool message must answer every call, so it is never dropped); `is_error:true` → `"Error: "` prefix |
//! | `image` (or other non-text) inside `tool_result` | **Unsupported** `…content.N.content.K` | tool messages carry text only |
//! | any other user block type | **Unsupported** naming the block | a user message of only unknown blocks is an error, never a placeholder text |
//! | assistant `content` string | `content` string | empty → message dropped |
//! | assistant `text` blocks | `content`, concatenated without separator | one output split at block boundaries |
//! | assistant `tool_use` | `tool_calls: [{id, type:"function", function:{name, arguments}}]` | `arguments` = compact JSON of `input`; `content` is `null` when there is no text |
//! | assistant `thinking`, `redacted_thinking` | dropped | OpenAI accepts no reasoning input; the visible turn is whole without it. A message left empty is dropped |
//! | any other assistant block type (`server_tool_use`, `web_search_tool_result`, …) | **Unsupported** naming the block | server-tool history cannot be replayed |
//! | `max_tokens` | `max_completion_tokens` (`use_max_completion_tokens`) or `max_tokens` | the real OpenAI API rejects `max_tokens` on newer models; compatible servers may not know the other |
//! | `temperature`, `top_p` | same | both scales default to 1; Anthropic's 0–1 lies inside OpenAI's 0–2 |
//! | `top_k` | dropped | no Chat equivalent; a sampling hint |
//! | `stop_sequences` | `stop` | empty list omitted; OpenAI allows at most 4 (the upstream enforces it) |
//! | `tools[]` (no `type` or `type:"custom"`) | `{type:"function", function:{name, description, parameters: input_schema}}` | `cache_control`, `defer_loading` (every tool becomes visible), `input_examples`, `strict` dropped |
//! | `tools[]` with another `type` (`web_search_…`, `bash_…`, `text_editor_…`, `computer_…`, …) | **Unsupported** `tools.N` | Anthropic-defined/server tools cannot run elsewhere |
//! | `tool_choice` `auto` / `any` / `tool{name}` / `none` | `"auto"` / `"required"` / `{type:"function",function:{name}}` / `"none"` | omitted (with `parallel_tool_calls`) when there are no tools: OpenAI rejects them without tools |
//! | `tool_choice.disable_parallel_tool_use:true` | `parallel_tool_calls:false` | |
//! | `thinking {type:"enabled", budget_tokens:n}` | `reasoning_effort`: n < 4096 `low`, < 16384 `medium`, else `high` | |
//! | `thinking {type:"adaptive"}` | `reasoning_effort:"medium"` | `display` dropped |
//! | `thinking {type:"disabled"}` or unknown type | omitted | |
//! | `metadata.user_id` | `user` when ≤ 64 characters, else dropped | OpenAI limits `user` to 64 characters; cutting would forge a different id (Claude Code's JSON id is longer, so it is dropped) |
//! | `stream:true` | `stream:true, stream_options:{include_usage:true}` | the Anthropic client needs usage at the end |
//! | `stream:false` | `stream:false` | |
//! | `cache_control` (anywhere), `context_management`, `output_config`, `service_tier`, `container`, `mcp_servers`, `inference_geo`, other top-level fields | dropped | Anthropic-only features, hints or bookkeeping; `output_config.effort` is not read (adaptive thinking maps to `medium`) |
//!
//! # Chat request → Anthropic request ([`request::chat_to_anthropic`])
//!
//! | Chat Completions | Anthropic | Notes |
//! |---|---|---|
//! | `model` | `model` = `ToAnthropicOptions::model` | |
//! | `system` / `developer` messages, anywhere | `system` string, in order, joined with `"\n\n"` | Anthropic takes instructions only up front; non-text parts → `InvalidField` |
//! | user `content` string | `text` block | empty → message dropped |
//! | user `text` part | `text` block | `name` on messages dropped |
//! | user `image_url` with `data:<type>;base64,<data>` | `image` with `base64` source | `detail` dropped |
//! | user `image_url` with http(s) URL | `image` with `url` source | other schemes → **Unsupported** |
//! | user `input_audio`, `file`, other parts | **Unsupported** `messages.M.content.N` | Anthropic takes no audio; files need the Files API |
//! | assistant `content` (string, text or refusal parts) and `refusal` | `text` blocks | |
//! | assistant `tool_calls` (function) | `tool_use {id, name, input}` after the text | `input` = parsed `arguments`; `""` → `{}`; invalid JSON or not an object → `InvalidField messages.M.tool_calls.N.function.arguments`; `custom` calls → **Unsupported** |
//! | assistant legacy `function_call` | `tool_use` with id `call_function_<M>` | the next `function` message answers it |
//! | assistant `audio` | **Unsupported** | |
//! | assistant `reasoning_content` / `reasoning` | dropped | no signature, so Anthropic would reject it as thinking |
//! | `tool` message | `tool_result {tool_use_id, content}` in a user message | empty content omitted; ids made to match `^[a-zA-Z0-9_-]+$` (other characters → `_`, same on call and result) |
//! | `function` message (legacy) | `tool_result` for the latest `function_call` | none before it → `InvalidField` |
//! | consecutive same-role messages (tool, tool, user …) | merged into one message | Anthropic requires alternation; in a user message `tool_result` blocks go first. Empty messages are dropped; none left → `InvalidField messages` |
//! | one plain text block | string content | |
//! | `max_completion_tokens`, else `max_tokens` | `max_tokens` | absent → `ToAnthropicOptions::default_max_tokens` (Anthropic requires one) |
//! | `reasoning_effort` `none` / `minimal`,`low` / `medium` / `high` / `xhigh` | no thinking / `thinking {type:"enabled", budget_tokens}` 1024 / 4096 / 16384 / 32768 | when `max_tokens` ≤ budget, `max_tokens` += budget (Anthropic requires it larger; OpenAI's limit also covered reasoning). Thinking with `temperature` or a forced `tool_choice` is left for Anthropic to reject |
//! | `stop` (string or array) | `stop_sequences` | empty strings removed |
//! | `temperature` (0–2) | `temperature` clamped to ≤ 1 | Anthropic's range is 0–1 |
//! | `top_p` | `top_p` | |
//! | `tools` (function) / legacy `functions` | `{name, description, input_schema: parameters}` | no `parameters` → `{"type":"object","properties":{}}`; a schema without `type` gets `"type":"object"`; `strict` dropped; other tool types → **Unsupported** `tools.N` |
//! | `tool_choice` `"auto"` / `"required"` / `"none"` / `{type:"function",function:{name}}` (legacy `function_call` likewise) | `{type:"auto"}` / `{type:"any"}` / `{type:"none"}` / `{type:"tool",name}` | `allowed_tools`/`custom` → **Unsupported**; omitted without tools |
//! | `parallel_tool_calls:false` | `tool_choice.disable_parallel_tool_use:true` | creates `{type:"auto"}` when needed; not added to `none` |
//! | `user`, else `safety_identifier` | `metadata.user_id` | |
//! | `stream` | `stream` | `stream_options` dropped: Anthropic always reports usage; the client encoder honours `include_usage` |
//! | `n` > 1 | **Unsupported** `n` | one choice per Anthropic request |
//! | `logprobs:true`, `top_logprobs` > 0 | **Unsupported** | Anthropic returns no log probabilities |
//! | `response_format` `json_schema` / `json_object` | **Unsupported** `response_format` | the output would not be enforced; `text` is fine |
//! | `audio`, `modalities` with `"audio"` | **Unsupported** `modalities` | |
//! | `web_search_options` | **Unsupported** | |
//! | `seed`, `store`, `metadata`, `service_tier`, `prompt_cache_key`, `prompt_cache_retention`, `frequency_penalty`, `presence_penalty`, `logit_bias`, `modalities:["text"]`, `prediction`, `verbosity`, other fields | dropped | hints, caching keys and OpenAI bookkeeping |
//!
//! A trailing assistant message is a prefill for Anthropic (it continues it) but context for
//! OpenAI (it answers after it); it is carried as is.
//!
//! # Chat response → Anthropic message ([`response::chat_to_anthropic_response`])
//!
//! | Chat Completions | Anthropic | Notes |
//! |---|---|---|
//! | `id` | `id` | absent → `msg_unknown` |
//! | (argument) | `model` | the model the client asked for |
//! | `message.reasoning_content` / `reasoning` | first block `thinking` with `signature:""` | shown, but Anthropic would not accept it back |
//! | `message.content` (string or text parts) | `text` block, only when non-empty | |
//! | `message.refusal` | `text` block | |
//! | `message.tool_calls[]` / `function_call` | `tool_use` per call | `input` = parsed arguments; not a JSON object (e.g. cut by `length`) → `{"_raw_arguments": "<text>"}` instead of failing the whole answer; missing id → `call_<N>` |
//! | `finish_reason` | `stop_reason` via `StopReason::from_openai().as_anthropic()` | `stop`→`end_turn`, `length`→`max_tokens`, `tool_calls`→`tool_use`, `content_filter`→`refusal`; `null`/unknown → `end_turn`; `end_turn` becomes `tool_use` when a `tool_use` block exists and `tool_use` becomes `end_turn` when none does (clients run tools exactly on `tool_use`) |
//! | — | `stop_sequence: null` | OpenAI does not say which sequence matched |
//! | `usage.prompt_tokens` − `prompt_tokens_details.cached_tokens` | `usage.input_tokens` | |
//! | `usage.completion_tokens` | `usage.output_tokens` | |
//! | `prompt_tokens_details.cached_tokens` | `usage.cache_read_input_tokens` | only when reported |
//! | `choices[1..]`, `logprobs`, `system_fingerprint`, `annotations` | dropped | |
//!
//! # Anthropic message → Chat response ([`response::anthropic_to_chat_response`])
//!
//! | Anthropic | Chat Completions | Notes |
//! |---|---|---|
//! | `id`, `model` | `id`, `model` | `object:"chat.completion"`, `created` from the argument |
//! | `text` blocks | `message.content`, concatenated; `null` when none | `citations` dropped |
//! | `thinking` blocks | `message.reasoning_content` | signatures dropped |
//! | `tool_use` blocks | `message.tool_calls[]` | `arguments` = compact JSON of `input` |
//! | `redacted_thinking`, server tool blocks, unknown blocks | skipped | encrypted or already executed by Anthropic; no Chat form |
//! | `stop_reason` | `finish_reason` via `StopReason::from_anthropic().as_openai()` | `pause_turn`, `stop_sequence`, unknown → `stop`; `refusal` → `content_filter`; `null` → `stop`; `stop` becomes `tool_calls` when tool calls exist and `tool_calls` becomes `stop` when none do |
//! | `stop_sequence` | dropped | |
//! | `usage` | `prompt_tokens` = input + cache read + cache creation; `completion_tokens` = output; `total_tokens`; `prompt_tokens_details.cached_tokens` = cache read (when reported) | |

pub mod request;
pub mod response;
