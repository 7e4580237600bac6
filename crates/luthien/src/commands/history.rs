//! `luthien history list | show | export`: recorded sessions, read through the gateway's
//! history API (`/api/history/sessions…`, admin key required).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use futures::StreamExt;
use serde_json::Value;

use crate::client::Client;
use crate::output::{self, cell, paint, Tone};
use crate::state::GatewayArgs;

use super::lifecycle::encode;

/// Filters of `history list`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ListArgs {
    /// Most sessions to show (newest first).
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: u32,
    /// Only sessions whose text or tool calls match all these words.
    #[arg(long, value_name = "TEXT")]
    pub q: Option<String>,
    /// Only sessions that used this model.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Only sessions with a blocked transaction.
    #[arg(long)]
    pub blocked: bool,
    /// Continue after a previous page (the cursor it printed).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// Print the page as JSON (`{items, next_cursor}`).
    #[arg(long)]
    pub json: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable conversation.
    Markdown,
    /// Every transaction with everything recorded.
    Json,
}

fn client(target: &GatewayArgs) -> anyhow::Result<Client> {
    let located = target.locate()?;
    Client::new(&located.url, located.admin_key())
}

/// `luthien history list`.
pub async fn list(target: &GatewayArgs, args: &ListArgs) -> anyhow::Result<()> {
    let client = client(target)?;
    let mut path = format!("/api/history/sessions?limit={}", args.limit);
    let mut add = |k: &str, v: &str| path.push_str(&format!("&{k}={}", encode(v)));
    if let Some(q) = &args.q {
        add("q", q);
    }
    if let Some(m) = &args.model {
        add("model", m);
    }
    if args.blocked {
        add("decision", "blocked");
    }
    if let Some(c) = &args.cursor {
        add("cursor", c);
    }
    let page = client.get(&path).await?;
    if args.json {
        return output::print_json(&page);
    }
    let items = page["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!(
            "No sessions recorded{}.",
            if args.cursor.is_some() {
                " after that cursor"
            } else {
                ""
            }
        );
        return Ok(());
    }
    let mut t = output::table(&[
        "SESSION",
        "LAST SEEN",
        "TURNS",
        "BLOCKED",
        "MODELS",
        "TITLE",
    ]);
    for s in &items {
        let blocked = s["blocked_count"].as_u64().unwrap_or(0);
        let models: Vec<&str> = s["models"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        t.add_row(vec![
            cell(s["id"].as_str().unwrap_or("?"), None),
            cell(
                output::time_ms(s["last_seen_ms"].as_i64().unwrap_or(-1)),
                None,
            ),
            cell(s["transaction_count"].as_u64().unwrap_or(0), None),
            cell(blocked, (blocked > 0).then_some(Tone::Bad)),
            cell(models.join(", "), None),
            cell(
                output::one_line(s["title"].as_str().unwrap_or("(untitled)"), 60),
                None,
            ),
        ]);
    }
    output::print_table(&t);
    if let Some(c) = page["next_cursor"].as_str() {
        eprintln!("More: luthien history list --cursor {c}");
    }
    Ok(())
}

/// `luthien history show ID`.
pub async fn show(target: &GatewayArgs, id: &str, json: bool) -> anyhow::Result<()> {
    let client = client(target)?;
    let detail = client
        .get(&format!("/api/history/sessions/{}", encode(id)))
        .await?;
    if json {
        return output::print_json(&detail);
    }
    let s = &detail["session"];
    println!(
        "{}",
        paint(s["title"].as_str().unwrap_or("(untitled)"), Tone::Strong)
    );
    println!(
        "session {} · {} transactions · {} blocked · {} → {}",
        s["id"].as_str().unwrap_or(id),
        s["transaction_count"],
        s["blocked_count"],
        output::time_ms(s["first_seen_ms"].as_i64().unwrap_or(-1)),
        output::time_ms(s["last_seen_ms"].as_i64().unwrap_or(-1)),
    );
    for entry in detail["conversation"].as_array().into_iter().flatten() {
        println!();
        print_entry(entry);
    }
    Ok(())
}

fn print_entry(entry: &Value) {
    let assistant = entry["role"] == "assistant";
    let heading = if assistant {
        let decision = entry["final_decision"].as_str().unwrap_or("");
        let tone = match decision {
            "blocked" | "error" => Tone::Bad,
            "modified" => Tone::Warn,
            _ => Tone::Faint,
        };
        format!(
            "{} {}",
            paint("Assistant", Tone::Strong),
            paint(
                &format!(
                    "({}, HTTP {}{})",
                    entry["model"].as_str().unwrap_or("?"),
                    entry["status"],
                    if decision.is_empty() {
                        String::new()
                    } else {
                        format!(", {decision}")
                    }
                ),
                tone
            )
        )
    } else {
        paint("User", Tone::Strong)
    };
    println!("── {heading}");
    let content = &entry["content"];
    let blocks = match content {
        Value::Array(b) => b.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    for b in &blocks {
        match (b["type"].as_str(), b) {
            (Some("text"), _) => println!("{}", b["text"].as_str().unwrap_or_default()),
            (Some("tool_use"), _) => println!(
                "{} {} {}",
                paint("[tool call]", Tone::Warn),
                b["name"].as_str().unwrap_or("?"),
                b["input"]
            ),
            // Codex's free-form tools (apply_patch): the input is text, shown as written.
            (Some("custom_tool_call"), _) => println!(
                "{} {}\n{}",
                paint("[tool call]", Tone::Warn),
                b["name"].as_str().unwrap_or("?"),
                b["input"].as_str().unwrap_or_default()
            ),
            (Some("tool_result"), _) => println!(
                "{} {}",
                paint("[tool result]", Tone::Faint),
                output::one_line(&text_of(&b["content"]), 400)
            ),
            (Some("thinking"), _) => println!(
                "{} {}",
                paint("[thinking]", Tone::Faint),
                output::one_line(b["thinking"].as_str().unwrap_or_default(), 200)
            ),
            (_, Value::String(s)) => println!("{s}"),
            // An OpenAI message recorded in its own format.
            (None, Value::Object(m))
                if m.contains_key("content") || m.contains_key("tool_calls") =>
            {
                if let Some(text) = m.get("content").and_then(Value::as_str) {
                    println!("{text}");
                }
                for call in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    println!(
                        "{} {} {}",
                        paint("[tool call]", Tone::Warn),
                        call["function"]["name"].as_str().unwrap_or("?"),
                        call["function"]["arguments"].as_str().unwrap_or_default()
                    );
                }
            }
            (_, other) => println!("{other}"),
        }
    }
    if let Some(err) = entry["error"].as_str() {
        println!("{} {err}", paint("[error]", Tone::Bad));
    }
    for d in entry["decisions"].as_array().into_iter().flatten() {
        println!(
            "{} {}: {}",
            paint("[policy]", Tone::Faint),
            d["policy"].as_str().unwrap_or("?"),
            d["verdict"].as_str().unwrap_or("?")
        );
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// `luthien history export ID`: streamed from the gateway to stdout or `output` as it arrives.
pub async fn export(
    target: &GatewayArgs,
    id: &str,
    format: Format,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let client = client(target)?;
    let format = match format {
        Format::Markdown => "markdown",
        Format::Json => "json",
    };
    let resp = client
        .get_stream(&format!(
            "/api/history/sessions/{}/export?format={format}",
            encode(id)
        ))
        .await?;
    let mut sink: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut body = resp.bytes_stream();
    let mut ends_with_newline = true;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the export was cut off")?;
        if let Some(last) = chunk.last() {
            ends_with_newline = *last == b'\n';
        }
        match sink.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e).context("cannot write the export"),
        }
    }
    if !ends_with_newline && output.is_none() {
        // A terminal prompt should not start on the export's last line.
        let _ = sink.write_all(b"\n");
    }
    sink.flush().context("cannot write the export")?;
    if let Some(p) = output {
        eprintln!("Wrote {}", p.display());
    }
    Ok(())
}
