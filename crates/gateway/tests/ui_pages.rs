//! The web UI: every page renders for the admin with its content, carries the CSP and the
//! hardening headers, escapes model and user content, and shows what policies did; history
//! search runs on the server; the login page keeps only same-site `next` targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

const SCRIPT_TAG: &str = "<script>alert(1)</script>";
const IMG_TAG: &str = "\"><img src=x onerror=alert(1)>";

/// A page as the admin sees it: status, headers, body.
async fn page(gw: &Gateway, path: &str) -> (u16, HeaderMap, String) {
    let resp = gw
        .http
        .get(format!("{}{path}", gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

/// Polls `path` until its body satisfies `ready` (the recorder writes a moment after the
/// response), and returns that body.
async fn page_when(gw: &Gateway, path: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, body) = page(gw, path).await;
        if status == 200 && ready(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never became ready (last status {status}):\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a streamed Anthropic request in `session` and returns its transaction id.
async fn send(h: &Harness, session: &str, text: &str) -> String {
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
                      "messages": [{"role": "user", "content": text}]});
    let resp = h
        .anthropic(&body)
        .header("x-session-id", session)
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-luthien-transaction-id"]
        .to_str()
        .unwrap()
        .to_owned();
    anthropic_stream(resp).await;
    id
}

/// HTML with the numeric character references askama writes (`&#60;`) spelled as the named
/// ones (`&lt;`), so assertions read the same whichever form the escaper picks.
fn named_entities(html: &str) -> String {
    html.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#34;", "&quot;")
        .replace("&#39;", "&#x27;")
        .replace("&#38;", "&amp;")
}

/// An attribute value as the browser reads it.
fn unescape_attr(value: &str) -> String {
    named_entities(value)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A path segment, percent-encoded.
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A policy file removed when dropped.
struct PolicyFile(std::path::PathBuf);

impl PolicyFile {
    fn new(yaml: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("luthien-ui-policy-{}-{n}.yaml", std::process::id()));
        std::fs::write(&path, yaml).unwrap();
        Self(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn blocking_harness() -> (Harness, PolicyFile) {
    let file = PolicyFile::new("policy:\n  class: block_dangerous_commands\n");
    let h = Harness::start(&["--policy-config", file.path()]).await;
    (h, file)
}

fn assert_chrome(path: &str, body: &str) {
    for nav in [
        "href=\"/\"",
        "href=\"/activity\"",
        "href=\"/history\"",
        "href=\"/policies\"",
    ] {
        assert!(body.contains(nav), "{path} has no nav link {nav}");
    }
    assert!(
        body.contains("<form class=\"sign-out\" method=\"post\" action=\"/logout\"")
            && body.contains("id=\"sign-out\"")
            && body.contains("name=\"csrf\""),
        "{path} has no sign-out form"
    );
    assert!(
        body.contains("<meta name=\"csrf-token\" content=\"\">"),
        "{path} has no (empty, key-authenticated) csrf meta tag"
    );
}

#[tokio::test]
async fn every_page_renders_for_the_admin_with_its_key_content() {
    let h = Harness::start(&[]).await;
    let port = h.gw.url.rsplit(':').next().unwrap().to_owned();
    let base = format!("http://127.0.0.1:{port}");

    let (status, headers, home) = page(&h.gw, "/").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_chrome("/", &home);
    let home = named_entities(&home);
    for expected in [
        "Database",
        "Recorder",
        "Activity bus",
        "id=\"landing-policy-name\">noop<",
        &format!("ANTHROPIC_BASE_URL={base} claude"),
        &format!("base_url = &quot;{base}/v1&quot;"),
        "wire_api = &quot;responses&quot;",
        &format!("Anthropic(base_url=&quot;{base}&quot;)"),
        &format!("OpenAI(base_url=&quot;{base}/v1&quot;)"),
    ] {
        assert!(
            home.contains(expected),
            "landing lacks {expected:?}:\n{home}"
        );
    }

    let (status, _, activity) = page(&h.gw, "/activity").await;
    assert_eq!(status, 200);
    assert_chrome("/activity", &activity);
    for id in [
        "id=\"feed\"",
        "id=\"pause\"",
        "id=\"filter-session\"",
        "id=\"filter-model\"",
        "id=\"filter-decision\"",
        "id=\"filter-kind\"",
        "<option value=\"transaction_finished\"",
        "src=\"/assets/activity.js?v=",
    ] {
        assert!(activity.contains(id), "activity lacks {id}");
    }

    let (status, _, history) = page(&h.gw, "/history").await;
    assert_eq!(status, 200);
    assert_chrome("/history", &history);
    assert!(history.contains("id=\"q\"") && history.contains("method=\"get\""));
    assert!(history.contains("No sessions yet"));

    let (status, _, policies) = page(&h.gw, "/policies").await;
    assert_eq!(status, 200);
    assert_chrome("/policies", &policies);
    for id in [
        "id=\"policy-list\"",
        "id=\"policy-form\"",
        "id=\"activate\"",
        "id=\"current-policy\"",
        "id=\"policy-history\"",
    ] {
        assert!(policies.contains(id), "policies lacks {id}");
    }
}

#[tokio::test]
async fn pages_carry_the_content_security_policy_and_the_hardening_headers() {
    let h = Harness::start(&[]).await;
    for path in [
        "/",
        "/activity",
        "/history",
        "/policies",
        "/login",
        "/transactions/unknown",
    ] {
        let (_, headers, body) = page(&h.gw, path).await;
        let get = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(get("content-security-policy"), CSP, "{path}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("cache-control"), "no-store", "{path}");
        // The CSP forbids inline code; the pages must not need any.
        assert!(
            !body.contains("style=\"") && !body.contains(" onclick=") && !body.contains("<script>"),
            "{path} has inline style, handler or script"
        );
    }
}

#[tokio::test]
async fn pages_need_sign_in() {
    let h = Harness::start(&[]).await;
    for path in ["/", "/activity", "/history", "/policies", "/transactions/x"] {
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{}{path}", h.gw.url))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            status == 401 || ((300..400).contains(&status) && location.starts_with("/login")),
            "{path} answered {status} {location:?} without credentials"
        );
    }
}

#[tokio::test]
async fn model_and_user_content_is_escaped_on_the_history_session_and_transaction_pages() {
    let h = Harness::start(&[]).await;
    let session = format!("xss-{IMG_TAG}");
    // The mock echoes the user text back, so the payload is in the prompt and the reply.
    let echoed = send(&h, &session, &format!("{SCRIPT_TAG} then {IMG_TAG}")).await;
    let tool = send(
        &h,
        &session,
        &format!(
            "mock:tool Bash {}",
            json!({"command": format!("echo '{SCRIPT_TAG}{IMG_TAG}'")})
        ),
    )
    .await;
    let session_path = format!("/history/{}", seg(&session));
    let pages = [
        page_when(&h.gw, "/history", |b| b.contains("session-row")).await,
        page_when(&h.gw, &session_path, |b| {
            b.matches("class=\"turn ").count() == 2
        })
        .await,
        page_when(&h.gw, &format!("{session_path}?fragment=1"), |b| {
            b.matches("class=\"turn ").count() == 2
        })
        .await,
        page_when(&h.gw, &format!("/transactions/{echoed}"), |_| true).await,
        page_when(&h.gw, &format!("/transactions/{tool}"), |_| true).await,
    ];
    let pages: Vec<String> = pages.iter().map(|p| named_entities(p)).collect();
    for (i, body) in pages.iter().enumerate() {
        assert!(
            !body.contains("<script>alert(1)") && !body.contains("<img src=x"),
            "page {i} contains a raw tag:\n{body}"
        );
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "page {i} lacks the escaped script tag:\n{body}"
        );
        assert!(
            body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "page {i} lacks the escaped img tag:\n{body}"
        );
    }
    // The session page shows the prompt, the reply and the tool call's arguments.
    let session_page = &pages[1];
    assert!(session_page.contains("class=\"msg msg-user\""));
    assert!(session_page.contains("class=\"msg msg-assistant\""));
    assert!(session_page.contains("class=\"msg msg-tool-call\""));
    assert!(session_page.contains("&quot;command&quot;: &quot;echo"));
    // The fragment is the conversation alone, for the live view to swap in.
    assert!(pages[2]
        .trim_start()
        .starts_with("<div id=\"conversation\""));
    assert!(!pages[2].contains("<html"));
}

#[tokio::test]
async fn the_session_page_marks_a_blocked_tool_call_with_what_the_policy_did() {
    let (h, _file) = blocking_harness().await;
    let session = "blocked-session-1";
    send(&h, session, "mock:text looking around").await;
    send(
        &h,
        session,
        &format!("mock:tool Bash {}", json!({"command": "rm -rf /"})),
    )
    .await;
    let body = page_when(&h.gw, &format!("/history/{session}"), |b| {
        b.matches("class=\"turn ").count() == 2
    })
    .await;
    let marker = body
        .split("class=\"policy-note policy-blocked\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no blocked marker:\n{body}"));
    let marker = marker.split("</article>").next().unwrap();
    assert!(
        marker.contains("Blocked by block_dangerous_commands"),
        "{marker}"
    );
    assert!(marker.contains("class=\"msg msg-tool-call\""), "{marker}");
    assert!(marker.contains("rm -rf /"), "{marker}");
    // Only the blocked turn is marked, and the list shows the session as blocked.
    assert_eq!(body.matches("policy-blocked").count(), 1);
    assert!(body.contains("looking around"));
    assert!(body.contains(&format!(
        "/api/history/sessions/{session}/export?format=markdown"
    )));
    assert!(body.contains(&format!(
        "/api/history/sessions/{session}/export?format=json"
    )));
    assert!(body.contains("src=\"/assets/session.js?v="));
    let list = page_when(&h.gw, "/history?decision=blocked", |b| {
        b.contains("session-row")
    })
    .await;
    assert!(list.contains("1 blocked"), "{list}");
}

#[tokio::test]
async fn history_search_finds_a_session_by_a_word_and_excludes_the_others() {
    let h = Harness::start(&[]).await;
    send(&h, "search-a", "please refactor the zanzibarquux module").await;
    send(&h, "search-b", "an unrelated conversation about teapots").await;
    page_when(&h.gw, "/history", |b| {
        b.matches("class=\"session-row\"").count() == 2
    })
    .await;
    let (status, _, found) = page(&h.gw, "/history?q=zanzibarquux").await;
    assert_eq!(status, 200);
    assert_eq!(found.matches("class=\"session-row\"").count(), 1, "{found}");
    assert!(found.contains("please refactor the zanzibarquux module"));
    assert!(!found.contains("teapots"));
    // The search box keeps the query; an unmatched search says so.
    assert!(found.contains("value=\"zanzibarquux\""));
    let (_, _, none) = page(&h.gw, "/history?q=nonexistentword").await;
    assert!(none.contains("No session matches this search."));
    // Sessions are grouped by day, newest first.
    let (_, _, all) = page(&h.gw, "/history").await;
    assert!(all.contains("<h2 class=\"day-label\">Today</h2>"));
    assert!(all.find("teapots").unwrap() < all.find("zanzibarquux").unwrap());
    // A date filter in the future excludes everything; a bad date is reported, not fatal.
    let (_, _, future) = page(&h.gw, "/history?from=2999-01-01").await;
    assert_eq!(future.matches("class=\"session-row\"").count(), 0);
    let (status, _, bad) = page(&h.gw, "/history?from=yesterday").await;
    assert_eq!(status, 200);
    assert!(bad.contains("is not a date"));
}

#[tokio::test]
async fn history_pages_forward_to_older_sessions_and_back_to_newer_ones() {
    let h = Harness::start(&[]).await;
    for s in ["page-one", "page-two", "page-three"] {
        send(&h, s, &format!("conversation {s}")).await;
        // Distinct last-seen times keep the order stable.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = page_when(&h.gw, "/history?limit=2", |b| {
        b.matches("class=\"session-row\"").count() == 2 && b.contains("id=\"page-older\"")
    })
    .await;
    assert!(first.contains("conversation page-three") && !first.contains("conversation page-one"));
    assert!(!first.contains("id=\"page-newer\""));
    let older = first
        .split("<a href=\"")
        .find_map(|s| s.split_once("\" id=\"page-older\"").map(|(href, _)| href))
        .map(unescape_attr)
        .unwrap();
    let (_, _, second) = page(&h.gw, &older).await;
    assert!(second.contains("conversation page-one"), "{second}");
    assert!(!second.contains("conversation page-three"));
    let newer = second
        .split("<a href=\"")
        .find_map(|s| s.split_once("\" id=\"page-newer\"").map(|(href, _)| href))
        .map(unescape_attr)
        .unwrap();
    let (_, _, back) = page(&h.gw, &newer).await;
    assert!(back.contains("conversation page-three") && back.contains("conversation page-two"));
    // A forged cursor is a 400 page, not a crash.
    let (status, _, _) = page(&h.gw, "/history?cursor=garbage").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_transaction_page_shows_decisions_timings_usage_and_the_received_vs_delivered_diff() {
    let (h, _file) = blocking_harness().await;
    let id = send(
        &h,
        "txn-page",
        &format!("mock:tool Bash {}", json!({"command": "rm -rf /"})),
    )
    .await;
    let body = page_when(&h.gw, &format!("/transactions/{id}"), |_| true).await;
    let decisions = body
        .split("id=\"decisions\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        decisions.contains("block_dangerous_commands"),
        "{decisions}"
    );
    assert!(
        decisions.contains("class=\"badge verdict-block\">block<"),
        "{decisions}"
    );
    assert!(decisions.contains("tooluse #"), "{decisions}");
    for expected in [
        "Time to first token",
        "Gateway overhead",
        "Input tokens",
        "Output tokens",
        "id=\"final-decision\">blocked<",
        "href=\"/history/txn-page\"",
    ] {
        assert!(body.contains(expected), "lacks {expected:?}");
    }
    // The response differs: the blocked tool call is on the received side only.
    let response = body.split("id=\"response\"").nth(1).unwrap();
    assert!(response.contains("<table class=\"diff\">"), "{response}");
    assert!(response.contains("class=\"diff-del\""));
    assert!(response.contains("tool_use"));
    // The request went upstream unchanged.
    let request = body.split("id=\"request\"").nth(1).unwrap();
    let request = request.split("id=\"response\"").next().unwrap();
    assert!(request.contains(">unchanged<") && !request.contains("<table class=\"diff\">"));

    let (status, headers, missing) = page(&h.gw, "/transactions/no-such-id").await;
    assert_eq!(status, 404);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(missing.contains("No such transaction"));
}

#[tokio::test]
async fn the_policies_page_lists_every_registered_policy_with_its_schema() {
    let h = Harness::start(&[]).await;
    let (_, _, body) = page(&h.gw, "/policies").await;
    let registered = policy::registry::list();
    assert!(registered.len() > 5);
    for p in &registered {
        assert!(
            body.contains(&format!("class=\"policy-card\" data-policy=\"{}\"", p.name))
                || body.contains(&format!(
                    "class=\"policy-card policy-active\" data-policy=\"{}\"",
                    p.name
                )),
            "no card for {}",
            p.name
        );
    }
    // The active policy is marked; the form's data block carries every schema.
    assert!(body.contains("class=\"policy-card policy-active\" data-policy=\"noop\""));
    let data = body
        .split("<script type=\"application/json\" id=\"policy-data\">")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["policies"].as_array().unwrap().len(), registered.len());
    assert_eq!(data["current"]["class"], "noop");
    assert!(data["policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "string_replacement" && p["schema"]["properties"].is_object()));
    assert!(body.contains("src=\"/assets/policies.js?v="));

    // An activation through the API shows up as the current policy and in the history.
    let resp =
        h.gw.http
            .post(format!("{}/api/admin/policy/set", h.gw.url))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"class": "all_caps", "config": {}}))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, _, after) = page(&h.gw, "/policies").await;
    let current = after.split("id=\"current-policy\"").nth(1).unwrap();
    assert!(current.contains("<code class=\"policy-name\">all_caps</code>"));
    let history = after.split("id=\"policy-history\"").nth(1).unwrap();
    assert!(history.contains("<code>all_caps</code>"));
}

#[tokio::test]
async fn assets_are_served_with_their_content_types_and_a_cache_policy() {
    let h = Harness::start(&[]).await;
    for (name, ct) in [
        ("app.css", "text/css"),
        ("activity.js", "text/javascript"),
        ("session.js", "text/javascript"),
        ("policies.js", "text/javascript"),
    ] {
        let resp =
            h.gw.http
                .get(format!("{}/assets/{name}", h.gw.url))
                .send()
                .await
                .unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(ct),
            "{name}"
        );
        assert!(resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age="));
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert!(!resp.text().await.unwrap().is_empty());
    }
    let resp =
        h.gw.http
            .get(format!("{}/assets/nope.js", h.gw.url))
            .send()
            .await
            .unwrap();
    assert_eq!(resp.status(), 404);
    // Pages link the stylesheet by its content version.
    let (_, _, login) = page(&h.gw, "/login").await;
    assert!(login.contains("<link rel=\"stylesheet\" href=\"/assets/app.css?v="));
}

#[tokio::test]
async fn the_login_page_keeps_a_relative_next_and_drops_other_hosts() {
    let h = Harness::start(&[]).await;
    let anonymous = reqwest::Client::new();
    let get = |path: &str| {
        let url = format!("{}{path}", h.gw.url);
        let client = anonymous.clone();
        async move {
            let resp = client.get(url).send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let (status, body) = get("/login?next=%2Fhistory%3Fq%3Dx").await;
    assert_eq!(status, 200, "the login page is public");
    assert!(body.contains("<form method=\"post\" action=\"/login\" id=\"login-form\""));
    assert!(body.contains("type=\"password\" id=\"key\" name=\"key\""));
    assert!(
        body.contains("name=\"next\" id=\"next\" value=\"/history?q=x\""),
        "{body}"
    );
    assert!(
        !body.contains("id=\"sign-out\""),
        "no sign-out before sign-in"
    );
    for evil in ["//evil.com", "https://evil.com", "/\\evil.com", "evil"] {
        let (_, body) = get(&format!("/login?next={}", seg(evil))).await;
        assert!(
            body.contains("name=\"next\" id=\"next\" value=\"/\""),
            "{evil}: {body}"
        );
        assert!(!body.contains("evil.com"), "{evil}");
    }
    for (code, text) in [
        ("invalid", "wrong key"),
        ("required", "Sign in to continue"),
        ("rate_limited", "wait a minute"),
        ("expired", "session expired"),
    ] {
        let (_, body) = get(&format!("/login?error={code}")).await;
        assert!(body.contains("id=\"login-error\""), "{code}");
        assert!(body.contains(text), "{code}: {body}");
    }
    let (_, body) = get("/login?error=%3Cscript%3E").await;
    assert!(
        !body.contains("id=\"login-error\""),
        "unknown codes show nothing"
    );
}

#[tokio::test]
async fn pages_embed_the_operators_csrf_token_in_the_meta_tag_and_the_sign_out_form() {
    use tower::ServiceExt;
    let h = Harness::start(&[]).await;
    let app = luthien_gateway::ui::pages_router()
        .layer(axum::Extension(luthien_gateway::admin::Operator {
            csrf_token: Some("tok-123\"<x>".into()),
            authenticated_by: luthien_gateway::admin::AuthenticatedBy::Session,
        }))
        .with_state(h.gw.app.clone());
    for path in ["/", "/activity", "/history", "/policies"] {
        let resp = app
            .clone()
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .unwrap();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        let body = named_entities(&body);
        let escaped = "tok-123&quot;&lt;x&gt;";
        assert!(
            body.contains(&format!("<meta name=\"csrf-token\" content=\"{escaped}\">")),
            "{path}: {body}"
        );
        assert!(
            body.contains(&format!("name=\"csrf\" value=\"{escaped}\"")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_signed_in_browser_gets_its_sessions_csrf_token_and_an_expired_cookie_goes_to_login() {
    let h = Harness::start(&[]).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let none = browser
        .get(format!("{}/history?q=x", h.gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 303);
    assert_eq!(
        none.headers()["location"],
        "/login?error=required&next=/history%3Fq%3Dx"
    );
    let login = browser
        .post(format!("{}/login", h.gw.url))
        .form(&[("key", ADMIN_KEY), ("next", "/history")])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session: serde_json::Value = browser
        .get(format!("{}/api/admin/session", h.gw.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = session["csrf_token"].as_str().unwrap();
    let page = browser
        .get(format!("{}/history", h.gw.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(
        body.contains(&format!("<meta name=\"csrf-token\" content=\"{csrf}\">")),
        "the page carries the session's own CSRF token"
    );
    let stale = browser
        .get(format!("{}/policies", h.gw.url))
        .header("cookie", "luthien_session=stale")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 303);
    assert_eq!(
        stale.headers()["location"],
        "/login?error=expired&next=/policies"
    );
    assert!(stale.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}
