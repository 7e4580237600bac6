"""Client factories and normalisers shared by the tests.

Normalisers reduce a reply to what must survive the gateway: text, tool names and inputs,
thinking and its signature, stop reason, usage. Ids are left out: the mock draws fresh ones for
every reply, so a direct call and a call through the gateway never share them.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import anthropic
import openai

CLAUDE_MODEL = "claude-sonnet-5-5"
GPT_MODEL = "gpt-4.1-mini"
KEY = "test-key"
MAX_TOKENS = 1024

# Anthropic stop_reason <-> OpenAI finish_reason, for the replies the mock produces.
ANTHROPIC_TO_OPENAI_STOP = {"end_turn": "stop", "tool_use": "tool_calls",
                            "max_tokens": "length", "stop_sequence": "stop"}
OPENAI_TO_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}

WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": WEATHER_TOOL_ANTHROPIC["input_schema"],
    },
}


def anthropic_client(base_url: str, api_key: str = KEY, **kw: Any) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 30.0)
    return anthropic.Anthropic(base_url=base_url, api_key=api_key, **kw)


def openai_client(base_url: str, api_key: str = KEY, **kw: Any) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    kw.setdefault("timeout", 30.0)
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, **kw)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# ---------------------------------------------------------------- Anthropic replies


def anthropic_blocks(message: anthropic.types.Message) -> list[dict]:
    """Content blocks without tool-use ids."""
    out = []
    for block in message.content:
        d = block.model_dump(exclude_none=True)
        if d.get("type") == "tool_use":
            d.pop("id", None)
        out.append(d)
    return out


def anthropic_without_ids(message: anthropic.types.Message) -> dict:
    """The whole message as JSON, ids removed."""
    d = message.model_dump(exclude_none=True)
    d.pop("id", None)
    d["content"] = anthropic_blocks(message)
    return d


def anthropic_essentials(message: anthropic.types.Message) -> dict:
    """Text (all text blocks joined), tool calls in order, stop reason."""
    text = "".join(b.text for b in message.content if b.type == "text")
    tools = [(b.name, b.input) for b in message.content if b.type == "tool_use"]
    return {"text": text, "tools": tools, "stop": message.stop_reason}


# ---------------------------------------------------------------- OpenAI replies


def openai_essentials(completion: openai.types.chat.ChatCompletion) -> dict:
    """Text, tool calls (name, parsed arguments) in order, finish reason."""
    assert len(completion.choices) == 1, completion
    choice = completion.choices[0]
    tools = [(c.function.name, json.loads(c.function.arguments))
             for c in (choice.message.tool_calls or [])]
    return {"text": choice.message.content or "", "tools": tools,
            "stop": choice.finish_reason}


def openai_without_ids(completion: openai.types.chat.ChatCompletion) -> dict:
    """The whole completion as JSON without ids and the creation time."""
    d = completion.model_dump(exclude_none=True)
    for key in ("id", "created"):
        d.pop(key, None)
    for choice in d.get("choices", []):
        for call in choice.get("message", {}).get("tool_calls") or []:
            call.pop("id", None)
    return d


class AssembledStream:
    """What an OpenAI SDK user reconstructs from `stream=True` chunks."""

    def __init__(self, chunks: Iterable[openai.types.chat.ChatCompletionChunk]):
        self.chunks = list(chunks)
        self.text = ""
        self.calls: dict[int, dict] = {}
        self.finish_reasons: list[str] = []
        self.usage_chunks = []
        for chunk in self.chunks:
            if chunk.usage is not None:
                self.usage_chunks.append(chunk)
            for choice in chunk.choices:
                assert choice.index == 0, chunk
                delta = choice.delta
                if delta.content:
                    self.text += delta.content
                for tc in delta.tool_calls or []:
                    call = self.calls.setdefault(tc.index, {"id": None, "name": "", "args": ""})
                    if tc.id:
                        assert call["id"] in (None, tc.id), f"tool call {tc.index} changed id"
                        call["id"] = tc.id
                    if tc.function is not None:
                        call["name"] += tc.function.name or ""
                        call["args"] += tc.function.arguments or ""
                if choice.finish_reason is not None:
                    self.finish_reasons.append(choice.finish_reason)

    @property
    def tools(self) -> list[tuple[str, Any]]:
        assert sorted(self.calls) == list(range(len(self.calls))), self.calls
        for i, call in self.calls.items():
            assert call["id"], f"tool call {i} has no id"
        return [(self.calls[i]["name"], json.loads(self.calls[i]["args"]))
                for i in sorted(self.calls)]

    def essentials(self) -> dict:
        assert len(self.finish_reasons) == 1, f"finish_reason sent {self.finish_reasons}"
        return {"text": self.text, "tools": self.tools, "stop": self.finish_reasons[0]}


# ---------------------------------------------------------------- the mock's records


def header(record: dict, name: str) -> str | None:
    """The value of a recorded request's header (names compared case-insensitively)."""
    values = [v for n, v in record["headers"] if n.lower() == name.lower()]
    assert len(values) <= 1, f"header {name} sent {len(values)} times: {values}"
    return values[0] if values else None


def completion_calls(records: list[dict]) -> list[dict]:
    return [r for r in records
            if r["method"] == "POST" and r["path"] in ("/v1/messages", "/v1/chat/completions")]


def only_call(records: list[dict], path: str) -> dict:
    calls = completion_calls(records)
    assert [c["path"] for c in calls] == [path], \
        f"expected exactly one upstream call to {path}, got {[c['path'] for c in calls]}"
    return calls[0]
