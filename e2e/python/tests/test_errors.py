"""Errors reach SDK users as the SDKs' own typed exceptions, with the status kept.

Each case runs on the same-API route and on the cross-API route. Upstream errors are compared
with the error the same SDK gets from the mock directly (in the upstream's format), so the test
checks that the status, the message and `retry-after` survive the gateway (and the conversion).
"""

from __future__ import annotations

import anthropic
import openai
import pytest

from helpers import (CLAUDE_MODEL, GPT_MODEL, MAX_TOKENS, anthropic_client, completion_calls,
                     openai_client, user)

ANTHROPIC_ROUTES = pytest.mark.parametrize("model", [CLAUDE_MODEL, GPT_MODEL],
                                           ids=["same_api", "cross_api"])
OPENAI_ROUTES = pytest.mark.parametrize("model", [GPT_MODEL, CLAUDE_MODEL],
                                        ids=["same_api", "cross_api"])
STREAMING = pytest.mark.parametrize("streaming", [False, True], ids=["create", "stream"])
UPSTREAM_STATUSES = pytest.mark.parametrize("status", [429, 500, 529])

ANTHROPIC_CLASS = {429: anthropic.RateLimitError, 500: anthropic.InternalServerError,
                   529: anthropic.InternalServerError}
OPENAI_CLASS = {429: openai.RateLimitError, 500: openai.InternalServerError,
                529: openai.InternalServerError}


def upstream_message(mock_url: str, model: str, prompt: str, api_key: str = "test-key") -> str:
    """The error message the upstream serving `model` sends, asked directly in its own API."""
    try:
        if model.startswith("claude"):
            anthropic_client(mock_url, api_key).messages.create(
                model=model, max_tokens=MAX_TOKENS, messages=user(prompt))
        else:
            openai_client(mock_url, api_key).chat.completions.create(
                model=model, messages=user(prompt))
    except anthropic.APIStatusError as e:
        return e.api_message
    except openai.APIStatusError as e:
        return e.body["message"]
    raise AssertionError(f"the mock did not fail for {prompt!r}")


def anthropic_call(base_url: str, model: str, prompt: str, streaming: bool,
                   api_key: str = "test-key", **kw):
    client = anthropic_client(base_url, api_key)
    if streaming:
        with client.messages.stream(model=model, max_tokens=MAX_TOKENS, messages=user(prompt),
                                    **kw) as s:
            return s.get_final_message()
    return client.messages.create(model=model, max_tokens=MAX_TOKENS, messages=user(prompt), **kw)


def openai_call(base_url: str, model: str, prompt: str, streaming: bool,
                api_key: str = "test-key", **kw):
    client = openai_client(base_url, api_key)
    if streaming:
        return list(client.chat.completions.create(model=model, messages=user(prompt),
                                                   stream=True, **kw))
    return client.chat.completions.create(model=model, messages=user(prompt), **kw)


# ---------------------------------------------------------------- Anthropic SDK


@ANTHROPIC_ROUTES
def test_anthropic_missing_max_tokens_is_a_bad_request_error(gateway_url, mock, model):
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client(gateway_url).messages.create(
            model=model, max_tokens=anthropic.omit, messages=user("hi"))
    assert err.value.status_code == 400
    assert err.value.type == "invalid_request_error"
    assert "max_tokens" in err.value.api_message


def test_anthropic_unknown_model_is_a_bad_request_error(gateway_url, mock):
    with pytest.raises(anthropic.BadRequestError) as err:
        anthropic_client(gateway_url).messages.create(
            model="no-such-model-7", max_tokens=MAX_TOKENS, messages=user("hi"))
    assert err.value.status_code == 400
    assert err.value.type == "invalid_request_error"
    assert "no-such-model-7" in err.value.api_message
    assert completion_calls(mock.requests()) == []


@ANTHROPIC_ROUTES
@STREAMING
def test_anthropic_upstream_401_is_an_authentication_error(gateway_url, mock_url, mock, model,
                                                           streaming):
    with pytest.raises(anthropic.AuthenticationError) as err:
        anthropic_call(gateway_url, model, "hi", streaming, api_key="mock-invalid-key")
    assert len(completion_calls(mock.requests())) == 1, "the 401 must come from the upstream"
    assert err.value.status_code == 401
    assert err.value.type == "authentication_error"
    assert err.value.api_message == upstream_message(mock_url, model, "hi", "mock-invalid-key")


@ANTHROPIC_ROUTES
@STREAMING
@UPSTREAM_STATUSES
def test_anthropic_upstream_error_status_is_kept_in_a_typed_error(gateway_url, mock_url, mock,
                                                                  model, streaming, status):
    prompt = f"mock:error {status}"
    with pytest.raises(ANTHROPIC_CLASS[status]) as err:
        anthropic_call(gateway_url, model, prompt, streaming)
    assert err.value.status_code == status
    assert err.value.api_message == upstream_message(mock_url, model, prompt)
    if status == 429:
        assert err.value.response.headers.get("retry-after") == "1"
    if status == 529:
        assert isinstance(err.value, anthropic.OverloadedError)


@ANTHROPIC_ROUTES
def test_anthropic_midstream_error_raises_api_status_error(gateway_url, mock, model):
    received = []
    with pytest.raises(anthropic.APIStatusError) as err:
        with anthropic_client(gateway_url).messages.stream(
                model=model, max_tokens=MAX_TOKENS, messages=user("mock:midstream_error")) as s:
            for text in s.text_stream:
                received.append(text)
    # The SDK turns an SSE `error` event into APIStatusError carrying the event's error object.
    assert err.value.body["type"] == "error"
    assert err.value.type and err.value.api_message
    if model == CLAUDE_MODEL:
        assert err.value.type == "overloaded_error"  # the upstream's event, forwarded as is
    assert "".join(received), "the text before the failure should have been streamed"
    assert "This reply will fail part way through".startswith("".join(received))


# ---------------------------------------------------------------- OpenAI SDK


@OPENAI_ROUTES
def test_openai_missing_messages_is_a_bad_request_error(gateway_url, mock, model):
    with pytest.raises(openai.BadRequestError) as err:
        openai_client(gateway_url).chat.completions.create(model=model, messages=openai.omit)
    assert err.value.status_code == 400
    assert err.value.type == "invalid_request_error"
    assert "messages" in err.value.message


def test_openai_unknown_model_is_a_bad_request_error(gateway_url, mock):
    with pytest.raises(openai.BadRequestError) as err:
        openai_client(gateway_url).chat.completions.create(
            model="no-such-model-7", messages=user("hi"))
    assert err.value.status_code == 400
    assert "no-such-model-7" in err.value.message
    assert completion_calls(mock.requests()) == []


@OPENAI_ROUTES
@STREAMING
def test_openai_upstream_401_is_an_authentication_error(gateway_url, mock_url, mock, model,
                                                        streaming):
    with pytest.raises(openai.AuthenticationError) as err:
        openai_call(gateway_url, model, "hi", streaming, api_key="mock-invalid-key")
    assert len(completion_calls(mock.requests())) == 1, "the 401 must come from the upstream"
    assert err.value.status_code == 401
    assert err.value.body["message"] == upstream_message(mock_url, model, "hi",
                                                         "mock-invalid-key")


@OPENAI_ROUTES
@STREAMING
@UPSTREAM_STATUSES
def test_openai_upstream_error_status_is_kept_in_a_typed_error(gateway_url, mock_url, mock, model,
                                                               streaming, status):
    prompt = f"mock:error {status}"
    with pytest.raises(OPENAI_CLASS[status]) as err:
        openai_call(gateway_url, model, prompt, streaming)
    assert err.value.status_code == status
    assert err.value.body["message"] == upstream_message(mock_url, model, prompt)
    if status == 429:
        assert err.value.response.headers.get("retry-after") == "1"


@OPENAI_ROUTES
def test_openai_midstream_error_raises_api_error(gateway_url, mock, model):
    received = []
    with pytest.raises(openai.APIError) as err:
        for chunk in openai_client(gateway_url).chat.completions.create(
                model=model, messages=user("mock:midstream_error"), stream=True):
            for choice in chunk.choices:
                received.append(choice.delta.content or "")
    # The SDK raises a plain APIError (no HTTP status: the stream had begun with 200) when a
    # chunk carries an `error` object.
    assert not isinstance(err.value, openai.APIStatusError)
    assert err.value.message and err.value.body["message"] == err.value.message
    assert "".join(received), "the text before the failure should have been streamed"
    assert "This reply will fail part way through".startswith("".join(received))
