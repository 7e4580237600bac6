//! `luthien demo`: the gateway in front of the built-in mock upstream, so a new user with no API
//! key sees the whole path work. It sends a few requests through itself, prints what came back,
//! then keeps serving for the user's own clients until Ctrl-C.

use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use gateway::{App, Server, Settings};
use mock_upstream::MockUpstream;
use serde_json::{json, Value};

/// Runs the demo.
pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    // The demo's own output is the show; only warnings and errors interleave with it.
    crate::logging::init_with_default(settings.log_format, "warn");
    let mock = MockUpstream::start()
        .await
        .context("cannot start the mock upstream")?;
    settings.anthropic_upstream_url = mock.base_url();
    settings.openai_upstream_url = format!("{}/v1", mock.base_url());
    let addr = super::serve::listen_addr(&settings)?;
    let server = Server::bind(App::new(settings).await?, addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set GATEWAY_PORT to another port)"))?;
    let url = format!("http://{}", server.local_addr()?);
    let serving = tokio::spawn(server.serve(super::serve::shutdown_signal()));

    println!(
        "Luthien demo: gateway on {url}, mock upstream on {}\n",
        mock.base_url()
    );
    if let Err(e) = show(&url).await {
        println!("(the self-demonstration failed: {e:#})");
    }
    println!(
        "\nThe gateway keeps running. Try it yourself (any key works against the mock):\n\
         \n  curl -s {url}/v1/messages -H 'x-api-key: demo' -H 'anthropic-version: 2023-06-01' \\\n\
         \x20   -H 'content-type: application/json' \\\n\
         \x20   -d '{{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,\"messages\":[{{\"role\":\"user\",\"content\":\"mock:tools 2\"}}]}}'\n\
         \n  Claude Code:  ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=demo claude -p 'mock:text hi'\n\
         \nPress Ctrl-C to stop."
    );
    serving.await??;
    mock.shutdown().await;
    Ok(())
}

async fn show(url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;

    println!(
        "1. An Anthropic client, streaming, to a Claude model (bytes passed through unchanged):"
    );
    let text = stream_text(
        http.post(format!("{url}/v1/messages"))
            .header("x-api-key", "demo")
            .header("anthropic-version", "2023-06-01")
            .json(
                &json!({"model": "claude-sonnet-4-5", "max_tokens": 200, "stream": true,
                "messages": [{"role": "user", "content": "Hello, Luthien!"}]}),
            ),
        |v| v["delta"]["text"].as_str().map(str::to_owned),
    )
    .await?;
    println!("   assistant: {text}\n");

    println!("2. An OpenAI client to the same Claude model (converted both ways):");
    let resp: Value = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth("demo")
        .json(&json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "mock:tools 2"}]}))
        .send()
        .await?
        .json()
        .await?;
    let msg = &resp["choices"][0]["message"];
    println!(
        "   assistant: {}",
        msg["content"].as_str().unwrap_or_default()
    );
    for call in msg["tool_calls"].as_array().into_iter().flatten() {
        let f = &call["function"];
        println!(
            "   tool call: {}({})",
            f["name"].as_str().unwrap_or_default(),
            f["arguments"].as_str().unwrap_or_default()
        );
    }
    println!(
        "   finish_reason: {}\n",
        resp["choices"][0]["finish_reason"]
    );

    println!("3. An upstream error keeps its status and reaches the client in its own format:");
    let resp = http
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", "demo")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "mock:error 429"}]}))
        .send()
        .await?;
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    println!(
        "   HTTP {status}, retry-after: {retry}, body: {}",
        resp.text().await?
    );
    Ok(())
}

/// Sends a streaming request and joins the text the `pick` function finds in each event.
async fn stream_text(
    req: reqwest::RequestBuilder,
    pick: impl Fn(&Value) -> Option<String>,
) -> anyhow::Result<String> {
    let resp = req.send().await?.error_for_status()?;
    let mut decoder = protocol::sse::SseDecoder::new();
    let mut text = String::new();
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        for frame in decoder.push(&chunk?) {
            if let Ok(v) = serde_json::from_str::<Value>(&frame.data) {
                if let Some(t) = pick(&v) {
                    text.push_str(&t);
                }
            }
        }
    }
    Ok(text)
}
