//! The buyer's page in a real browser (Debian's chromium through chromedriver) against the
//! real stack — booking on PostgreSQL, two gateways, Redis: a buyer joins a line and sees
//! the position fall live, is admitted, holds a seat and watches its countdown, lets the
//! hold expire and reads why, holds again, charges points, pays while booking is down
//! (the page retries by itself) and when it is back, sees the receipt and "my tickets";
//! a sold-out concert; the Korean page; a 375 px phone. Accessibility is checked in the
//! same runs with axe-core (0 serious or critical violations), and screenshots are saved
//! under `.run/screenshots/`.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::browser::{axe_source, Browser, Profile};
use testkit::prelude::*;
use testkit::proxy::Mode;

const SOON: Duration = Duration::from_secs(20);

fn shot(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.run/screenshots")
        .join(name)
}

async fn stack(opts: PgPoolOptions, c: PgConnectOptions) -> Stack {
    let options = Options {
        gateways: 2,
        backend: Backend::Real(pool(opts, c).await),
        booking_proxy: true,
        ..Options::default()
    };
    Stack::start(options, |gw, bk| {
        set_queue(gw, 1, 1, 100);
        bk.holds.ttl_secs = 4;
        bk.holds.sweep_interval_ms = 200;
        bk.inventory.publish_interval_ms = 200;
    })
    .await
}

/// Asserts the page has no serious or critical accessibility violation right now.
async fn accessible(browser: &Browser, what: &str) {
    let Some(axe) = axe_source() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "axe-core is required in CI (scripts/test installs it under .run/axe)"
        );
        eprintln!("note: axe-core not installed; accessibility not checked");
        return;
    };
    let violations = browser.axe_violations(&axe).await;
    assert!(violations.is_empty(), "{what}: {violations:#?}");
}

async fn status_of(browser: &Browser) -> String {
    let el = browser.wait_for("[data-testid=status-text]", SOON).await;
    browser.attr(&el, "data-status").await.unwrap_or_default()
}

async fn wait_status(browser: &Browser, want: &str) {
    let deadline = std::time::Instant::now() + SOON;
    loop {
        if status_of(browser).await == want {
            return;
        }
        if std::time::Instant::now() > deadline {
            let body = browser
                .script("return document.body.innerText", json!([]))
                .await;
            panic!("the page never said {want}: {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_buyer_buys_a_ticket_with_the_browser_alone(opts: PgPoolOptions, c: PgConnectOptions) {
    let stack = stack(opts, c).await;
    let Some(browser) = Browser::start_or_skip(Profile::desktop("en-US")).await else {
        return;
    };
    let (concert, _) = stack.concert_with(4, 1_000).await;
    // Someone is admitted and two wait ahead of the buyer: a line to watch.
    let first = stack.join(0, concert, 9_001).await;
    let second = stack.join(0, concert, 9_002).await;
    let third = stack.join(1, concert, 9_003).await;
    assert_eq!(first.state(), "active");

    // The home page lists the concert; its link opens the concert's page.
    browser.goto(&stack.url(0)).await;
    let link = browser
        .wait_for(&format!("a[href=\"/concerts/{concert}\"]"), SOON)
        .await;
    browser.click(&link).await;
    let input = browser.wait_for("[data-testid=user-id-input]", SOON).await;
    browser.clear_and_type(&input, "42").await;
    let join = browser.wait_for("[data-testid=join-button]", SOON).await;
    browser.click(&join).await;
    wait_status(&browser, "waiting").await;
    browser
        .wait_text("[data-testid=position]", SOON, |t| t.trim() == "3")
        .await;
    accessible(&browser, "waiting").await;
    browser.screenshot(&shot("desktop-waiting.png")).await;

    // The line moves: the page follows without a reload.
    stack.leave(0, &second.token).await;
    browser
        .wait_text("[data-testid=position]", SOON, |t| t.trim() == "2")
        .await;
    stack.leave(0, &third.token).await;
    browser
        .wait_text("[data-testid=position]", SOON, |t| t.trim() == "1")
        .await;
    stack.leave(0, &first.token).await;
    wait_status(&browser, "active").await;
    browser
        .wait_for("[data-testid=admission-remaining]", SOON)
        .await;

    // A date, then the seat map.
    let list = browser
        .wait_for("[data-testid=schedule-list] button", SOON)
        .await;
    browser.click(&list).await;
    let seat = browser
        .wait_for("[data-testid=seat-map] button[data-status=AVAILABLE]", SOON)
        .await;
    accessible(&browser, "seat map").await;
    browser.click(&seat).await;
    browser.wait_for("[data-testid=hold-countdown]", SOON).await;
    browser.screenshot(&shot("desktop-hold.png")).await;

    // The hold runs out (4 s here): the page says so and what to do.
    browser
        .wait_text("[data-testid=error]", Duration::from_secs(30), |t| {
            t.to_lowercase().contains("expired")
        })
        .await;
    let notice = browser.wait_for("[data-testid=error]", SOON).await;
    assert_eq!(
        browser.attr(&notice, "data-code").await.as_deref(),
        Some("HOLD_EXPIRED")
    );

    // Hold again, add points, pay — with booking down first: the page retries by itself.
    let seat = browser
        .wait_for("[data-testid=seat-map] button[data-status=AVAILABLE]", SOON)
        .await;
    browser.click(&seat).await;
    browser.wait_for("[data-testid=hold-countdown]", SOON).await;
    let amount = browser.wait_for("[data-testid=charge-amount]", SOON).await;
    browser.clear_and_type(&amount, "5000").await;
    let charge = browser.wait_for("[data-testid=charge-button]", SOON).await;
    browser.click(&charge).await;
    browser
        .wait_text("[data-testid=balance]", SOON, |t| t.contains("5,000"))
        .await;
    stack.booking_proxy.as_ref().unwrap().set(Mode::Down);
    let pay = browser.wait_for("[data-testid=pay-button]", SOON).await;
    browser.click(&pay).await;
    browser
        .wait_text("[data-testid=retry-countdown]", SOON, |t| {
            !t.trim().is_empty()
        })
        .await;
    stack.booking_proxy.as_ref().unwrap().set(Mode::Up);
    browser
        .wait_text("[data-testid=receipt]", Duration::from_secs(40), |t| {
            t.contains("1,000")
        })
        .await;
    browser
        .wait_for("[data-testid=my-tickets] li[data-status=CONFIRMED]", SOON)
        .await;
    accessible(&browser, "receipt").await;
    browser.screenshot(&shot("desktop-receipt.png")).await;
    assert_eq!(stack.balance(42).await, 4_000, "charged once");
    stack.audit().await;
    browser.quit().await;
    stack.stop().await;
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn sold_out_korean_and_a_phone(opts: PgPoolOptions, c: PgConnectOptions) {
    let stack = stack(opts, c).await;
    let Some(browser) = Browser::start_or_skip(Profile::phone("ko-KR")).await else {
        return;
    };
    // A concert whose only seat is sold.
    let (sold, schedule) = stack.concert_with(1, 1_000).await;
    stack.charge(7, 5_000).await;
    let t = stack.join(0, sold, 7).await;
    let (_, held) = stack
        .call(
            0,
            Method::POST,
            "/v1/reservations",
            Some(&t.token),
            Some(json!({"schedule_id": schedule, "seat_no": 1})),
        )
        .await;
    let (status, _) = stack
        .call(
            0,
            Method::POST,
            "/v1/payments",
            Some(&t.token),
            Some(json!({"reservation_ids": [held["reservation_id"]]})),
        )
        .await;
    assert_eq!(status.as_u16(), 201);
    let (open, _) = stack.concert_with(10, 1_000).await;
    stack.join(0, open, 8_001).await;

    // The Korean page on a 375 px phone: the line, no horizontal scroll.
    browser
        .goto(&format!("{}/concerts/{open}", stack.url(1)))
        .await;
    let lang = browser
        .script("return document.documentElement.lang", json!([]))
        .await;
    assert_eq!(lang, "ko");
    let input = browser.wait_for("[data-testid=user-id-input]", SOON).await;
    browser.clear_and_type(&input, "77").await;
    let join = browser.wait_for("[data-testid=join-button]", SOON).await;
    assert!(
        browser
            .text(&join)
            .await
            .chars()
            .any(|c| ('가'..='힣').contains(&c)),
        "a Korean label"
    );
    browser.click(&join).await;
    wait_status(&browser, "waiting").await;
    let overflow = browser
        .script(
            "return document.documentElement.scrollWidth - window.innerWidth",
            json!([]),
        )
        .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "scrolls sideways: {overflow}"
    );
    accessible(&browser, "phone, Korean, waiting").await;
    browser.screenshot(&shot("phone-waiting-ko.png")).await;

    // The sold-out concert: the page says it, in Korean, with a next step.
    browser
        .goto(&format!("{}/concerts/{sold}", stack.url(1)))
        .await;
    poll_until(SOON, "the sell-out published", || async {
        let (_, room) = stack.public_room(sold).await;
        (room["sold_out"] == true).then_some(())
    })
    .await;
    let input = browser.wait_for("[data-testid=user-id-input]", SOON).await;
    browser.clear_and_type(&input, "78").await;
    let join = browser.wait_for("[data-testid=join-button]", SOON).await;
    browser.click(&join).await;
    let notice = browser
        .wait_for("[data-testid=error][data-code=SOLD_OUT]", SOON)
        .await;
    assert!(!browser.text(&notice).await.trim().is_empty());
    accessible(&browser, "phone, Korean, sold out").await;
    browser.screenshot(&shot("phone-sold-out-ko.png")).await;
    browser.quit().await;
    stack.stop().await;
}

/// With a verified identity (`identity.mode = jwt`) the page asks for no user id: it takes
/// the site's user token from the link's fragment (`#user_token=`), moves it out of the
/// address bar, and joins as that user.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn the_page_takes_the_sites_identity(opts: PgPoolOptions, c: PgConnectOptions) {
    const SECRET: &str = "browser-test-user-secret-0123456789abcdef";
    let options = Options {
        gateways: 1,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    let stack = Stack::start(options, |gw, _| {
        gw.identity.mode = gateway::settings::IdentityMode::Jwt;
        gw.identity.secret = Some(SECRET.to_string().into());
    })
    .await;
    let Some(browser) = Browser::start_or_skip(Profile::desktop("en-US")).await else {
        return;
    };
    let (concert, _) = stack.concert_with(4, 1_000).await;
    let token = testkit::tokens::user_token(
        testkit::tokens::UserKey::Hs256(SECRET),
        &testkit::tokens::user_claims(314, 600),
    );
    browser
        .goto(&format!(
            "{}/concerts/{concert}#user_token={token}",
            stack.url(0)
        ))
        .await;
    let join = browser.wait_for("[data-testid=join-button]", SOON).await;
    assert!(
        browser.find("[data-testid=user-id-input]").await.is_none(),
        "no user id field with a verified identity"
    );
    let url = browser.script("return location.href", json!([])).await;
    assert!(!url.as_str().unwrap().contains("user_token"), "{url}");
    browser.click(&join).await;
    wait_status(&browser, "active").await;
    // The gateway placed user 314: the one the site signed for.
    let (_, room) = stack.admin(Method::GET, concert, None).await;
    assert_eq!(room["active"], 1, "{room}");
    let active: Vec<String> = redis::cmd("ZRANGE")
        .arg(stack.keys.active(concert))
        .arg(0)
        .arg(-1)
        .query_async(&mut stack.redis.clone())
        .await
        .unwrap();
    assert_eq!(active, vec!["314".to_string()]);
    browser.quit().await;
    stack.stop().await;
}
