//! Admin authentication from a browser: login sessions (HttpOnly, SameSite=Strict, Secure behind
//! TLS, revoked at logout), CSRF protection of cookie-authenticated state changes, login rate
//! limiting, and the opt-in localhost bypass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{Harness, ADMIN_KEY};
use serde_json::{json, Value};

/// A client that, like a browser form post, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in with `key`; returns the response.
async fn login(h: &Harness, key: &str, next: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/login", h.gw.url))
        .form(&[("key", key), ("next", next)])
        .send()
        .await
        .unwrap()
}

/// The `luthien_session=…` pair of a successful login.
fn cookie_of(resp: &reqwest::Response) -> String {
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn csrf_of(h: &Harness, cookie: &str) -> String {
    let v: Value = browser()
        .get(format!("{}/api/admin/session", h.gw.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["authenticated_by"], "session", "{v}");
    v["csrf_token"].as_str().unwrap().to_owned()
}

fn set_body() -> Value {
    json!({"class": "all_caps", "config": {}})
}

#[tokio::test]
async fn a_wrong_key_is_sent_back_to_the_login_page_without_a_cookie() {
    let h = Harness::start(&[]).await;
    let resp = login(&h, "not-the-key", "/history").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        "/login?error=invalid&next=/history"
    );
    assert!(resp.headers().get("set-cookie").is_none());
    let empty = login(&h, "", "/").await;
    assert_eq!(empty.status(), 303);
    assert!(empty.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn login_issues_an_http_only_strict_cookie_that_opens_the_admin_api() {
    let h = Harness::start(&[]).await;
    let resp = login(&h, ADMIN_KEY, "/history?q=x").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/history?q=x");
    let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.starts_with("luthien_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} missing in {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP cannot use a Secure cookie: {set}"
    );
    assert!(!set.contains(ADMIN_KEY), "the cookie is not the key");
    let cookie = cookie_of(&resp);
    let sessions = browser()
        .get(format!("{}/api/history/sessions", h.gw.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.status(), 200);
    // A forged cookie opens nothing.
    let forged = browser()
        .get(format!("{}/api/history/sessions", h.gw.url))
        .header("cookie", "luthien_session=0000")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

#[tokio::test]
async fn an_open_redirect_in_next_is_replaced_by_the_home_page() {
    let h = Harness::start(&[]).await;
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let resp = login(&h, ADMIN_KEY, next).await;
        assert_eq!(resp.status(), 303);
        assert_eq!(resp.headers()["location"], "/", "{next}");
    }
}

#[tokio::test]
async fn behind_tls_the_cookie_is_secure() {
    let h = Harness::start(&[]).await;
    let resp = browser()
        .post(format!("{}/login", h.gw.url))
        .header("x-forwarded-proto", "https")
        .form(&[("key", ADMIN_KEY), ("next", "/")])
        .send()
        .await
        .unwrap();
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

#[tokio::test]
async fn cookie_state_changes_need_the_csrf_token_and_this_origin() {
    let h = Harness::start(&[]).await;
    let cookie = cookie_of(&login(&h, ADMIN_KEY, "/").await);
    let url = format!("{}/api/admin/policy/set", h.gw.url);

    let without = browser()
        .post(&url)
        .header("cookie", &cookie)
        .json(&set_body())
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    let v: Value = without.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-csrf-token"),
        "{v}"
    );

    let wrong = browser()
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", "guess")
        .json(&set_body())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert_eq!(h.gw.app.policy().name(), "noop", "nothing changed");

    let csrf = csrf_of(&h, &cookie).await;
    let cross_site = browser()
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", "http://evil.example")
        .json(&set_body())
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(h.gw.app.policy().name(), "noop");

    let origin = h.gw.url.clone();
    let ok = browser()
        .post(&url)
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", origin)
        .json(&set_body())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    assert_eq!(h.gw.app.policy().name(), "all_caps");
}

#[tokio::test]
async fn the_admin_key_needs_no_csrf_token_and_a_wrong_key_is_not_rescued_by_a_cookie() {
    let h = Harness::start(&[]).await;
    let cookie = cookie_of(&login(&h, ADMIN_KEY, "/").await);
    let url = format!("{}/api/admin/policy/set", h.gw.url);
    let key = browser()
        .post(&url)
        .bearer_auth(ADMIN_KEY)
        .json(&set_body())
        .send()
        .await
        .unwrap();
    assert_eq!(key.status(), 200);
    let wrong_key = browser()
        .get(format!("{}/api/history/sessions", h.gw.url))
        .header("cookie", &cookie)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_key.status(), 401);
}

#[tokio::test]
async fn logout_revokes_the_session_server_side_and_needs_the_csrf_token() {
    let h = Harness::start(&[]).await;
    let cookie = cookie_of(&login(&h, ADMIN_KEY, "/").await);
    let csrf = csrf_of(&h, &cookie).await;

    let forged = browser()
        .post(format!("{}/logout", h.gw.url))
        .header("cookie", &cookie)
        .form(&[("csrf", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        403,
        "another site cannot sign the operator out"
    );

    let out = browser()
        .post(format!("{}/logout", h.gw.url))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], "/login");
    let cleared = out.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // The old cookie, replayed, is dead: revocation is server-side, not just a deleted cookie.
    let replay = browser()
        .get(format!("{}/api/history/sessions", h.gw.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let v: Value = replay.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired or was signed out"),
        "{v}"
    );
}

#[tokio::test]
async fn a_session_survives_a_restart_and_works_on_another_instance_sharing_the_database() {
    let h = Harness::start(&[]).await;
    let cookie = cookie_of(&login(&h, ADMIN_KEY, "/").await);
    let db = h.gw.app.settings.database_url();
    let other = common::start_gateway(
        common::settings_for(&h.mock.base_url(), &["--database-url", &db]),
        None,
    )
    .await;
    let resp = browser()
        .get(format!("{}/api/history/sessions", other.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let h = Harness::start(&["--login-attempts-per-minute", "3"]).await;
    for _ in 0..3 {
        assert_eq!(login(&h, "wrong", "/").await.status(), 303);
    }
    // Even the right key is refused once the budget is spent: guessing cannot continue.
    let limited = login(&h, ADMIN_KEY, "/").await;
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert!(limited.headers().get("set-cookie").is_none());
    // The API with the key is not affected by the login limit.
    let api = browser()
        .get(format!("{}/api/history/sessions", h.gw.url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
}

#[tokio::test]
async fn a_login_posted_from_another_site_is_refused() {
    let h = Harness::start(&[]).await;
    let resp = browser()
        .post(format!("{}/login", h.gw.url))
        .header("origin", "http://evil.example")
        .form(&[("key", ADMIN_KEY), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn there_is_no_localhost_bypass_unless_opted_in() {
    let off = Harness::start(&[]).await;
    let resp = browser()
        .get(format!("{}/api/history/sessions", off.gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        401,
        "the agent on this machine is not an admin"
    );

    let on = Harness::start(&["--admin-localhost-bypass", "true"]).await;
    let resp = browser()
        .get(format!("{}/api/admin/session", on.gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["authenticated_by"], "localhost_bypass");
    // Even with the bypass, another site cannot drive the operator's browser to change policy.
    let cross = browser()
        .post(format!("{}/api/admin/policy/set", on.gw.url))
        .header("origin", "http://evil.example")
        .json(&set_body())
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert_eq!(on.gw.app.policy().name(), "noop");
}
