//! Conversions between Anthropic Messages, OpenAI Chat Completions and OpenAI Responses bodies
//! (requests and non-streaming responses), used when a client's API differs from its
//! upstream's. Responses is converted *from* (a Codex client served by an Anthropic or
//! Chat-only upstream) and its responses both ways; streams convert through the canonical
//! events (`openai::responses_stream`), with [`responses_tools::ToolCallRestorer`] between the
//! upstream decoder and the Responses encoder.
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
//! | `message.tool_calls[]` / `function_call` | `tool_use` per call | `input` = parsed arguments; not a JSON object (e.g. cut by `length`) → `{"_raw_arguments": "<text>"}` instead of failing the whole answer; missing id → `call_<N>`; a `custom` (free-form) call → **Unsupported** (no Anthropic form) |
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
//!
//! # Responses request → Anthropic request ([`responses_request::responses_to_anthropic`])
//!
//! | Responses | Anthropic | Notes |
//! |---|---|---|
//! | `model` | `model` = `ResponsesToAnthropicOptions::model` | |
//! | `instructions`, then `system` / `developer` messages anywhere | `system` string, in order, joined with `"\n\n"` | non-text parts → `InvalidField` |
//! | `input` string | one user `text` block | |
//! | user `input_text` (also `output_text`, `refusal`) | `text` block | empty text skipped |
//! | user `input_image` with `data:` / http(s) `image_url` | `image` with `base64` / `url` source | `detail` dropped; other schemes → **Unsupported**; `file_id` → **Unsupported** (OpenAI Files API) |
//! | `input_file`, other part types | **Unsupported** naming the part | |
//! | assistant `output_text` / `refusal` | `text` blocks | other parts → **Unsupported** |
//! | `function_call` | assistant `tool_use {id: call_id, name, input}` | `input` = parsed `arguments` (`""` → `{}`; invalid or not an object → `InvalidField …arguments`); ids sanitised as in Chat → Anthropic; namespaced → `namespace__name` |
//! | `custom_tool_call` | assistant `tool_use` with `input: {"input": <text>}` | the wrapped form of the custom tool (below) |
//! | `function_call_output` / `custom_tool_call_output` | user `tool_result {tool_use_id, content}` | string output, or text and image parts; empty output → no `content` |
//! | `reasoning` whose `encrypted_content` came from Anthropic | `thinking {thinking: summary parts joined by "\n\n", signature: encrypted_content}` | how Anthropic's thinking round-trips through Codex (Anthropic requires it back before tool results) |
//! | `reasoning` with OpenAI's encrypted content (`gAAAAA…`) or none | dropped | Anthropic cannot read it; the visible turn is whole without it |
//! | `item_reference` | **Unsupported** | refers to OpenAI's stored state |
//! | other item types (`web_search_call`, `compaction`, `tool_search_call`, …) | **Unsupported** naming the item | |
//! | consecutive same-role items | merged into one message | as Chat → Anthropic: alternation, `tool_result` first in a user message |
//! | `max_output_tokens`, else `ResponsesToAnthropicOptions::default_max_tokens` | `max_tokens` | `0` → `InvalidField` |
//! | `reasoning.effort` | `thinking {type:"enabled", budget_tokens}` as Chat's `reasoning_effort` | `none` → no thinking; budget added to `max_tokens` when it does not fit; `reasoning.summary` dropped (Anthropic returns the thinking itself) |
//! | `temperature` (0–2) / `top_p` | `temperature` clamped to ≤ 1 / `top_p` | |
//! | `tools[]` `function` | `{name, description, input_schema: parameters}` | schema completed as in Chat → Anthropic; `strict`, `defer_loading` dropped (every tool is sent) |
//! | `tools[]` `custom` | `{name, input_schema: {input: string}}` | the grammar (`format.definition`) goes into the `input` description; calls come back as `custom_tool_call` through [`responses_tools::ToolCallRestorer`] |
//! | `tools[]` `namespace` | one tool per inner function/custom tool, named `namespace__name` | the namespace description is prepended; other inner types → **Unsupported**; calls come back with `namespace` |
//! | `tools[]` `tool_search` | dropped | deferred tools are all sent, so there is nothing to search |
//! | `tools[]` hosted (`web_search`, `file_search`, `code_interpreter`, `image_generation`, `mcp`, `computer_use_preview`, `local_shell`, …) | **Unsupported** `tools.N`, or dropped with `HostedTools::Drop` | OpenAI runs them; Codex sends `web_search` on every request, so a gateway serving Codex from Anthropic opts into `Drop` (the model then answers without searching) |
//! | `tool_choice` `auto` / `required` / `none` / `{type:"function"\|"custom", name}` | `{type:"auto"}` / `{type:"any"}` / `{type:"none"}` / `{type:"tool", name}` | `allowed_tools`, hosted types → **Unsupported**; omitted without tools |
//! | `parallel_tool_calls:false` | `tool_choice.disable_parallel_tool_use:true` | |
//! | `text.format` `json_schema` / `json_object` | **Unsupported** `text.format` | not enforced by Anthropic; `text` is fine; `text.verbosity` dropped (a hint) |
//! | `user`, else `safety_identifier` | `metadata.user_id` | |
//! | `stream` | `stream` | |
//! | `previous_response_id`, `conversation`, `prompt`, `background:true` | **Unsupported** | they need OpenAI's stored state; a conversation must be sent whole in `input` |
//! | `top_logprobs` > 0 | **Unsupported** | not carried back |
//! | `store` | dropped | storage is OpenAI bookkeeping for later retrieval; the answer is the same without it, and any later use of the stored response (`previous_response_id`, `item_reference`) fails explicitly |
//! | `include`, `metadata`, `prompt_cache_key`, `prompt_cache_retention`, `service_tier`, `truncation`, `max_tool_calls`, `client_metadata`, `stream_options`, other fields | dropped | hints, caching keys and bookkeeping; `include: ["reasoning.encrypted_content"]` needs nothing (Anthropic signatures always come back) |
//!
//! # Responses request → Chat request ([`responses_request::responses_to_chat`])
//!
//! | Responses | Chat Completions | Notes |
//! |---|---|---|
//! | `model` | `model` = `ResponsesToChatOptions::model` | |
//! | `instructions`; `system` / `developer` messages | `{role:"system"}` messages in place | `developer` becomes `system`: compatible servers' chat templates may not know it |
//! | user `input_text` | text; only text → one string joined with `"\n\n"` | |
//! | user `input_image` (`image_url`) | `image_url` part with `detail` | `file_id` → **Unsupported** |
//! | user `input_file` (`file_id` / `file_data` / `filename`) | `file` part | `file_url` → **Unsupported** |
//! | assistant `output_text` / `refusal` | `content`, concatenated | |
//! | `function_call` | `tool_calls[]` entry of the preceding assistant message (or a new one) | parallel calls stay in one message, as Chat requires; `arguments` checked as JSON; namespaced → `namespace__name` |
//! | `custom_tool_call` | function `tool_calls[]` entry with `arguments: {"input": <text>}` | |
//! | `function_call_output` / `custom_tool_call_output` | `{role:"tool", tool_call_id, content}` | text parts joined; other parts → **Unsupported**; kept even when empty |
//! | `reasoning` | dropped | compatible servers take no reasoning input (DeepSeek rejects it) |
//! | `item_reference`, other item types | **Unsupported** | |
//! | `max_output_tokens` | `max_completion_tokens` or `max_tokens` (`use_max_completion_tokens`) | |
//! | `temperature`, `top_p` | same | |
//! | `tools[]` `function` / `custom` / `namespace` / `tool_search` / hosted | `{type:"function", function:{name, description, parameters, strict}}` / wrapped as for Anthropic / flattened / dropped / **Unsupported** or dropped (`HostedTools`) | custom tools are wrapped even though OpenAI's Chat has them, because a Chat-only upstream is a compatible server that does not |
//! | `tool_choice` | `"auto"` / `"required"` / `"none"` / `{type:"function", function:{name}}` | `allowed_tools`, hosted → **Unsupported** |
//! | `parallel_tool_calls` | same, only with tools | |
//! | `reasoning.effort` | `reasoning_effort` | checked against the same vocabulary |
//! | `text.format` `json_schema {name, schema, strict, description}` / `json_object` | `response_format {type:"json_schema", json_schema:{…}}` / `{type:"json_object"}` | |
//! | `user`, else `safety_identifier` | `user` when ≤ 64 characters | |
//! | `stream:true` | `stream:true, stream_options:{include_usage:true}` | the Responses client needs usage at the end |
//! | stateful fields, `top_logprobs`, `store`, hints | as for Anthropic | |
//!
//! # Responses response → Anthropic message ([`responses_response::responses_to_anthropic_response`])
//!
//! | Responses | Anthropic | Notes |
//! |---|---|---|
//! | `id` | `id` | absent → `msg_unknown`; `model` from the argument |
//! | `reasoning` summary (or raw reasoning) | `thinking` with `signature:""` | shown, but Anthropic would not accept it back |
//! | `message` `output_text` / `refusal` parts | `text` blocks | |
//! | `function_call` | `tool_use {id: call_id, name, input}` | arguments not a JSON object → `{"_raw_arguments": …}` as for Chat |
//! | `custom_tool_call` | **Unsupported** `output.N` | no Anthropic form |
//! | hosted-tool items (`web_search_call`, …) | dropped | run by OpenAI; their effect is in the text |
//! | `status` `completed` / `incomplete` (`max_output_tokens` / `content_filter`) / `failed` | `end_turn` or `tool_use` / `max_tokens` / `refusal` / `InvalidField status` | `tool_use` exactly when a `tool_use` block exists |
//! | `usage.input_tokens` − cached − cache writes / `cache_write_tokens` / `cached_tokens` / `output_tokens` | `input_tokens` / `cache_creation_input_tokens` / `cache_read_input_tokens` / `output_tokens` | |
//!
//! # Responses response → Chat response ([`responses_response::responses_to_chat_response`])
//!
//! | Responses | Chat Completions | Notes |
//! |---|---|---|
//! | `output_text` / `refusal` | `message.content` / `message.refusal` | concatenated |
//! | `reasoning` | `message.reasoning_content` | |
//! | `function_call` / `custom_tool_call` | `tool_calls[]` `function` / `custom {name, input}` | Chat has custom tool calls of its own |
//! | hosted-tool items | dropped | |
//! | `status` | `finish_reason` `stop` or `tool_calls` / `length` / `content_filter` | |
//! | `usage` | `prompt_tokens` = `input_tokens`, `completion_tokens`, `total_tokens`, `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens` | |
//!
//! # Anthropic message / Chat response → Responses response ([`responses_response`])
//!
//! Both go through the canonical events and the Responses encoder, so the object is the one a
//! stream would end with: Anthropic `message::to_events` (a Chat response is first converted to
//! an Anthropic message by [`response::chat_to_anthropic_response`], its native custom calls
//! carried as wrapped ones), then [`responses_tools::ToolCallRestorer`], then the encoder.
//!
//! | canonical | Responses | Notes |
//! |---|---|---|
//! | `thinking` text + signature | `reasoning {summary:[summary_text], encrypted_content: signature}` | an empty signature (Chat reasoning) is left out |
//! | `text` | `message` with one `output_text` part | `annotations: []`, `logprobs: []` |
//! | `tool_use` | `function_call {call_id: id, name, arguments}` | `namespace.name` → `namespace` + `name` |
//! | call of a wrapped custom tool | `custom_tool_call {call_id, name, input}` | input = the `input` string of the arguments (malformed → raw text) |
//! | `redacted_thinking`, Anthropic server-tool blocks | dropped | encrypted for Anthropic / run by Anthropic; no Responses form |
//! | stop reason `max_tokens` / `refusal` / other | `status:"incomplete"` + `incomplete_details.reason` `max_output_tokens` / `content_filter` / `status:"completed"` | |
//! | usage | `input_tokens` = input + cache reads + cache writes, `input_tokens_details {cached_tokens, cache_write_tokens}`, `output_tokens`, `output_tokens_details.reasoning_tokens`, `total_tokens` | every counter present: Codex and the SDK models reject a partial usage |
//! | (options) | `id`, `model`, `created_at`, echoed request fields | [`EncoderOptions`](crate::openai::responses_stream::EncoderOptions) |

pub mod request;
pub mod response;
pub mod responses_request;
pub mod responses_response;
pub mod responses_tools;
