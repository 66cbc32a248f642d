//! The buyer's page in a real browser (Debian's chromium through chromedriver) against the
//! real stack — booking on PostgreSQL, two gateways, Redis: a buyer joins a line and sees
//! the position fall live, is admitted, holds a seat and watches its countdown, lets the
//! hold expire and reads why, holds again, charges points, pays while booking is down
//! (the page retries by itself) and when it is back, sees the receipt and "my tickets";
//! a sold-out concert without a waiting list; the Korean page; a 375 px phone. In a hall of
//! sections and grades: a pair of seats held and paid as one order, a seat taken by
//! someone else under the buyer's hand, the ticket limit. Tickets: the QR code the page
//! draws is read back from its canvas and verified with the published keys; a ticket
//! cancelled in the page for its price less the fee; a buyer waiting through a sell-out
//! let in when another buyer's cancellation brings a seat back. Accessibility is checked
//! in the same runs with axe-core (0 serious or critical violations), and screenshots are
//! saved under `.run/screenshots/`.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::contract::tickets::Jwks;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::browser::{axe_source, Browser, Profile};
use testkit::prelude::*;
use testkit::proxy::Mode;

const SOON: Duration = Duration::from_secs(20);
/// A seat the page shows free.
const FREE_SEAT: &str = "[data-testid=seat-map] button[data-status=AVAILABLE]";

fn shot(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.run/screenshots")
        .join(name)
}

async fn stack(opts: PgPoolOptions, c: PgConnectOptions) -> Stack {
    stack_holding(opts, c, 4).await
}

/// Two gateways, booking behind a switchable proxy, a line that admits one buyer at a
/// time, and holds that last `hold_ttl_secs`.
async fn stack_holding(opts: PgPoolOptions, c: PgConnectOptions, hold_ttl_secs: u64) -> Stack {
    let options = Options {
        gateways: 2,
        backend: Backend::Real(pool(opts, c).await),
        booking_proxy: true,
        ..Options::default()
    };
    Stack::start(options, |gw, bk| {
        set_queue(gw, 1, 1, 100);
        bk.holds.ttl_secs = hold_ttl_secs;
        bk.holds.sweep_interval_ms = 200;
        bk.inventory.publish_interval_ms = 200;
    })
    .await
}

/// A concert in a hall of three grades, one schedule 10 days ahead: section A (VIP, 3,000
/// points: 2 rows of 4, seats 1–8), B (R, 2,000: 2 rows of 5, seats 9–18), C (S, 1,000:
/// 3 rows of 6, seats 19–36); seat numbers run through sections, rows and seats in that
/// order. Its id and the schedule's.
async fn concert_in_hall(stack: &Stack, max_tickets_per_user: i64) -> (i64, i64) {
    let admin = stack.booking_settings.admin.token.expose_secret();
    let row = |label: &str, seats: i64| json!({"label": label, "seats": seats});
    let hall = json!({"name": "Test hall", "sections": [
        {"name": "A", "grade": "VIP", "rows": [row("1", 4), row("2", 4)]},
        {"name": "B", "grade": "R", "rows": [row("1", 5), row("2", 5)]},
        {"name": "C", "grade": "S", "rows": [row("1", 6), row("2", 6), row("3", 6)]},
    ]});
    let (status, venue) = stack
        .post_json("/admin/venues", Some(admin), None, &hall)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{venue}");
    assert_eq!(venue["seats"], 36, "{venue}");
    let starts = chrono::Utc::now() + chrono::Duration::days(10);
    let concert = json!({
        "title": "Three grades",
        "max_tickets_per_user": max_tickets_per_user,
        "schedules": [{
            "starts_at": starts,
            "venue_id": venue["venue_id"],
            "prices": {"VIP": 3_000, "R": 2_000, "S": 1_000},
        }],
    });
    let (status, body) = stack.post_concert(&concert).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let schedule = body["schedule_ids"][0].as_i64().unwrap();
    (body["concert_id"].as_i64().unwrap(), schedule)
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

/// Clicks the first element matching `css` once it is there, scrolled to the middle of the
/// window first: the notice that sticks to the top of the page must not take the click.
async fn press(browser: &Browser, css: &str) {
    let el = browser.wait_for(css, SOON).await;
    browser
        .script(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
            json!([css]),
        )
        .await;
    browser.click(&el).await;
}

/// Opens `concert`'s page on gateway 0, joins as `user_id` and waits for the admission;
/// then chooses the (only) date.
async fn admitted_in_page(browser: &Browser, stack: &Stack, concert: i64, user_id: i64) {
    browser
        .goto(&format!("{}/concerts/{concert}", stack.url(0)))
        .await;
    let input = browser.wait_for("[data-testid=user-id-input]", SOON).await;
    browser.clear_and_type(&input, &user_id.to_string()).await;
    press(browser, "[data-testid=join-button]").await;
    wait_status(browser, "active").await;
    press(browser, "[data-testid=schedule-list] button").await;
}

/// Asserts the page does not scroll sideways (a seat row wider than a phone scrolls inside
/// the seat map, not the page).
async fn assert_no_sideways_scroll(browser: &Browser, what: &str) {
    let overflow = browser
        .script(
            "return document.documentElement.scrollWidth - window.innerWidth",
            json!([]),
        )
        .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{what}: scrolls sideways by {overflow}"
    );
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

    // A date, then the seat map (one section, GA: chosen at once); a seat picked, held.
    press(&browser, "[data-testid=schedule-list] button").await;
    browser
        .wait_for("[data-section=GA][aria-pressed=true]", SOON)
        .await;
    browser.wait_for(FREE_SEAT, SOON).await;
    accessible(&browser, "seat map").await;
    press(&browser, FREE_SEAT).await;
    press(&browser, "#hold-seats").await;
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
    press(&browser, FREE_SEAT).await;
    press(&browser, "#hold-seats").await;
    browser.wait_for("[data-testid=hold-countdown]", SOON).await;
    let amount = browser.wait_for("[data-testid=charge-amount]", SOON).await;
    browser.clear_and_type(&amount, "5000").await;
    press(&browser, "[data-testid=charge-button]").await;
    browser
        .wait_text("[data-testid=balance]", SOON, |t| t.contains("5,000"))
        .await;
    stack.booking_proxy.as_ref().unwrap().set(Mode::Down);
    press(&browser, "[data-testid=pay-button]").await;
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
        .wait_for("[data-testid=my-tickets] li[data-status=VALID]", SOON)
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
    // A concert whose only seat is sold, in a room without a waiting list.
    let (sold, schedule) = stack.concert_with(1, 1_000).await;
    stack.configure(sold, json!({"waitlist": false})).await;
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
    assert_no_sideways_scroll(&browser, "phone, waiting").await;
    accessible(&browser, "phone, Korean, waiting").await;
    browser.screenshot(&shot("phone-waiting-ko.png")).await;

    // The sold-out concert, whose room releases its line at the sell-out (no waiting
    // list): the page says it is over, in Korean, with a next step.
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

/// Issue 22, the whole new flow: the sections first (grade, price, seats left, the hall's
/// plan), then section B row by row; two neighbours picked and held as one order, with
/// one countdown and their total; paid at once: both seats sold to the buyer in one
/// payment.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_pair_of_seats_is_held_and_paid_as_one_order(opts: PgPoolOptions, c: PgConnectOptions) {
    let stack = stack_holding(opts, c, 120).await;
    let Some(browser) = Browser::start_or_skip(Profile::desktop("en-US")).await else {
        return;
    };
    let (concert, schedule) = concert_in_hall(&stack, 4).await;
    let (status, body) = stack.charge(42, 10_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    admitted_in_page(&browser, &stack, concert, 42).await;

    // Three sections, each with its grade, price and seats left.
    let b = browser
        .wait_for("[data-section=B][data-grade=R]", SOON)
        .await;
    let text = browser.text(&b).await;
    assert!(
        text.contains("Section B") && text.contains("2,000") && text.contains("10 of 10"),
        "{text}"
    );
    let blocks = browser
        .find_all("[data-testid=section-map] button[data-section]")
        .await;
    assert_eq!(blocks.len(), 3);
    accessible(&browser, "sections").await;
    browser.screenshot(&shot("desktop-sections.png")).await;

    // Section B, row 1, seats 2 and 3 (seat numbers 10 and 11): side by side.
    press(&browser, "[data-section=B]").await;
    browser
        .wait_for(
            "[data-testid=seat-map] [data-seat='10'][data-status=AVAILABLE]",
            SOON,
        )
        .await;
    press(&browser, "[data-seat='10']").await;
    press(&browser, "[data-seat='11']").await;
    browser
        .wait_text("#selection", SOON, |t| t.contains("4,000"))
        .await;
    let picked = browser
        .find_all("[data-testid=seat-map] button[aria-pressed=true]")
        .await;
    assert_eq!(picked.len(), 2);
    accessible(&browser, "seats of a section").await;
    browser.screenshot(&shot("desktop-seats.png")).await;
    press(&browser, "#hold-seats").await;

    // One order: one countdown for both seats, and their total.
    browser.wait_for("#order-countdown", SOON).await;
    let timers = browser.find_all("[data-testid=hold-countdown]").await;
    assert_eq!(timers.len(), 1, "one countdown for the order");
    let held = browser.find_all("#holds [data-held-seat]").await;
    assert_eq!(held.len(), 2);
    browser
        .wait_text("#order-total", SOON, |t| t.contains("4,000"))
        .await;
    accessible(&browser, "the held order").await;
    browser.screenshot(&shot("desktop-order.png")).await;
    press(&browser, "#pay-order").await;
    browser
        .wait_text("[data-testid=receipt]", SOON, |t| t.contains("4,000"))
        .await;

    // Both seats are the buyer's, sold in one payment of 4,000, and the order was one.
    let code = browser.wait_for("[data-payment-id]", SOON).await;
    let payment = browser.attr(&code, "data-payment-id").await.unwrap();
    let payment = uuid::Uuid::parse_str(&payment).expect("a payment id");
    let sold = stack
        .scalar(&format!(
            "SELECT count(*) FROM seats
             WHERE schedule_id = {schedule} AND seat_no IN (10, 11) AND status = 'SOLD'"
        ))
        .await;
    assert_eq!(sold, 2);
    let paid = stack
        .scalar(&format!(
            "SELECT count(*) FROM reservations
             WHERE payment_id = '{payment}' AND user_id = 42 AND status = 'CONFIRMED'
               AND schedule_id = {schedule} AND seat_no IN (10, 11)"
        ))
        .await;
    assert_eq!(paid, 2, "both seats in payment {payment}");
    let orders = stack
        .scalar(&format!(
            "SELECT count(DISTINCT order_id) FROM reservations WHERE payment_id = '{payment}'"
        ))
        .await;
    assert_eq!(orders, 1);
    let payments = stack
        .scalar("SELECT count(*) FROM payments WHERE user_id = 42")
        .await;
    assert_eq!(payments, 1);
    let amount = stack
        .scalar(&format!(
            "SELECT amount FROM payments WHERE id = '{payment}'"
        ))
        .await;
    assert_eq!(amount, 4_000);
    assert_eq!(stack.balance(42).await, 6_000);
    stack.audit().await;
    browser.quit().await;
    stack.stop().await;
}

/// The page drew section C; the buyer picks seats 2 and 3 of row 1 while another buyer
/// holds seat 2 through the API. Holding the pair is refused: the page names the taken
/// seat, marks it on the map, keeps only its neighbour picked, and nothing is held. On a
/// 375 px phone.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_seat_taken_under_the_buyers_hand_is_marked_and_nothing_is_held(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = stack_holding(opts, c, 120).await;
    let Some(browser) = Browser::start_or_skip(Profile::phone("en-US")).await else {
        return;
    };
    let (concert, schedule) = concert_in_hall(&stack, 4).await;
    admitted_in_page(&browser, &stack, concert, 42).await;
    browser.wait_for("[data-section=C]", SOON).await;
    accessible(&browser, "phone, sections").await;
    press(&browser, "[data-section=C]").await;
    browser
        .wait_for("[data-seat='20'][data-status=AVAILABLE]", SOON)
        .await;
    assert_no_sideways_scroll(&browser, "phone, seats").await;
    accessible(&browser, "phone, seats").await;
    browser.screenshot(&shot("phone-seats.png")).await;

    // Seats 20 and 21 (row 1, seats 2 and 3) picked; then another buyer takes 20.
    press(&browser, "[data-seat='20']").await;
    press(&browser, "[data-seat='21']").await;
    browser
        .wait_for("[data-seat='21'][aria-pressed=true]", SOON)
        .await;
    let other = stack.active_token(7, concert).await;
    let (status, body) = stack.hold(&other, schedule, 20).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The buyer holds the pair, in one step with the look at the map: the page refreshes
    // the map every 3 s, and a refresh that already showed seat 20 taken has already told
    // the buyer and dropped it (then there is no pair to hold, and the end is the same).
    let held_the_pair = browser
        .script(
            "const seat = document.querySelector('[data-seat=\"20\"]');
             if (seat.getAttribute('aria-pressed') !== 'true') return false;
             document.getElementById('hold-seats').click();
             return true;",
            json!([]),
        )
        .await;
    eprintln!("the pair was sent to be held: {held_the_pair}");

    let notice = browser
        .wait_for("[data-testid=error][data-code=SEAT_UNAVAILABLE]", SOON)
        .await;
    let text = browser.text(&notice).await;
    assert!(text.contains("Section C, row 1, seat 2"), "{text}");
    browser
        .wait_for("[data-seat='20'][data-taken=true]", SOON)
        .await;
    let taken = browser.find("[data-seat='20']").await.unwrap();
    assert_eq!(browser.attr(&taken, "aria-pressed").await, None);
    let neighbour = browser.find("[data-seat='21']").await.unwrap();
    assert_eq!(
        browser.attr(&neighbour, "aria-pressed").await.as_deref(),
        Some("true"),
        "the neighbour stays picked"
    );
    assert!(browser.find("#order-countdown").await.is_none());
    accessible(&browser, "phone, a seat taken").await;
    browser.screenshot(&shot("phone-seat-taken.png")).await;

    // Nothing held for the page's buyer; seat 20 is the other buyer's.
    let held = stack
        .scalar("SELECT count(*) FROM reservations WHERE user_id = 42 AND status = 'HELD'")
        .await;
    assert_eq!(held, 0);
    let theirs = stack
        .scalar(&format!(
            "SELECT count(*) FROM reservations
             WHERE user_id = 7 AND schedule_id = {schedule} AND seat_no = 20 AND status = 'HELD'"
        ))
        .await;
    assert_eq!(theirs, 1);
    browser.quit().await;
    stack.stop().await;
}

/// A concert of at most 2 tickets a buyer: the page lets the buyer pick 2 seats, not a
/// third; with a seat already held in another tab, "best available ×2" would make three:
/// the page says "at most 2 (you have 1)", and nothing more is held.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn the_ticket_limit_is_told_and_nothing_is_held(opts: PgPoolOptions, c: PgConnectOptions) {
    let stack = stack_holding(opts, c, 120).await;
    let Some(browser) = Browser::start_or_skip(Profile::desktop("en-US")).await else {
        return;
    };
    let (concert, schedule) = concert_in_hall(&stack, 2).await;
    admitted_in_page(&browser, &stack, concert, 42).await;
    press(&browser, "[data-section=A]").await;
    browser
        .wait_for("[data-seat='1'][data-status=AVAILABLE]", SOON)
        .await;

    // Two seats picked; the third is refused, with the reason.
    press(&browser, "[data-seat='1']").await;
    press(&browser, "[data-seat='2']").await;
    press(&browser, "[data-seat='3']").await;
    let notice = browser
        .wait_for("[data-testid=error][data-code=PICK_LIMIT]", SOON)
        .await;
    let text = browser.text(&notice).await;
    assert!(text.contains("at most 2 seats"), "{text}");
    let third = browser.find("[data-seat='3']").await.unwrap();
    assert_eq!(
        browser.attr(&third, "aria-pressed").await.as_deref(),
        Some("false")
    );
    let counts = browser.find_all("#best-count option").await;
    assert_eq!(counts.len(), 2, "best available: 1 or 2 seats");

    // The same buyer holds seat 30 in another tab (the page's own queue token) ...
    let token = browser
        .script(
            "return sessionStorage.getItem(arguments[0])",
            json!([format!("queue_token:{concert}")]),
        )
        .await;
    let token = token.as_str().expect("the page keeps its queue token");
    let (status, body) = stack.hold_at(0, token, schedule, 30).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // ... so the best two here would make three.
    press(&browser, "#clear-picks").await;
    press(&browser, "#best-count option[value='2']").await;
    browser
        .wait_text("#hold-best", SOON, |t| t.contains("×2"))
        .await;
    press(&browser, "#hold-best").await;
    let notice = browser
        .wait_for("[data-testid=error][data-code=TICKET_LIMIT]", SOON)
        .await;
    let text = browser.text(&notice).await;
    assert!(
        text.contains("You can have at most 2 tickets for this concert (you have 1)."),
        "{text}"
    );
    assert!(browser.find("#order-countdown").await.is_none());
    accessible(&browser, "the ticket limit").await;
    browser.screenshot(&shot("desktop-ticket-limit.png")).await;

    // Held for the buyer: the other tab's seat only.
    let held = stack
        .scalar("SELECT count(*) FROM reservations WHERE user_id = 42 AND status = 'HELD'")
        .await;
    assert_eq!(held, 1);
    let other_tab = stack
        .scalar(&format!(
            "SELECT count(*) FROM reservations
             WHERE user_id = 42 AND schedule_id = {schedule} AND seat_no = 30 AND status = 'HELD'"
        ))
        .await;
    assert_eq!(other_tab, 1);
    browser.quit().await;
    stack.stop().await;
}

/// `user`'s tickets as booking lists them (newest first).
async fn tickets_of(stack: &Stack, user: i64) -> Vec<Value> {
    let (status, list) = stack.read(&format!("/v1/users/{user}/tickets"), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["tickets"].as_array().unwrap().clone()
}

/// The admitted page holds the seat `seat` (CSS) and pays for it: the receipt shows
/// `amount`.
async fn hold_and_pay(browser: &Browser, seat: &str, amount: &str) {
    press(browser, seat).await;
    press(browser, "#hold-seats").await;
    browser.wait_for("#order-countdown", SOON).await;
    press(browser, "#pay-order").await;
    browser
        .wait_text("[data-testid=receipt]", SOON, |t| t.contains(amount))
        .await;
}

/// What the page shows of ticket `id` under `fact` (`section`, `row`, `number`, `grade`,
/// `price`, `status`).
async fn ticket_fact(browser: &Browser, id: &str, fact: &str) -> String {
    let css = format!("li[data-ticket-id='{id}'] [data-fact={fact}]");
    let el = browser.wait_for(&css, SOON).await;
    browser.text(&el).await.trim().to_owned()
}

/// The value of `name` (a number) on the element `css`, and the element's text.
async fn figure(browser: &Browser, css: &str, name: &str) -> (i64, String) {
    let el = browser.wait_for(css, SOON).await;
    let value = browser.attr(&el, name).await.unwrap_or_default();
    let value = value
        .parse()
        .unwrap_or_else(|_| panic!("{css} {name}={value:?}"));
    (value, browser.text(&el).await)
}

/// A canvas of the page (`css`) as the PNG `toDataURL` makes of it: width, height and
/// pixels as luminance (0 black, 255 white; transparency shows white).
async fn canvas_luma(browser: &Browser, css: &str) -> (usize, usize, Vec<u8>) {
    use base64::Engine;
    let url = browser
        .script(
            "return document.querySelector(arguments[0]).toDataURL('image/png')",
            json!([css]),
        )
        .await;
    let url = url.as_str().unwrap_or_default();
    let b64 = url
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a PNG data URL: {url:.40}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    png_luma(&bytes)
}

/// The text of the one QR code in a picture (as [`canvas_luma`] gives it), read the way a
/// door's scanner reads it, and its error correction level as rqrr numbers it (the format
/// information's two bits: 0 is M).
fn scan_qr(width: usize, height: usize, luma: &[u8]) -> (String, u16) {
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the canvas");
    let (meta, text) = grids[0].decode().expect("the QR code decodes");
    (text, meta.ecc_level)
}

/// A PNG's width, height and pixels as luminance (0 black, 255 white; transparency shows
/// white).
fn png_luma(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a PNG of sane size")];
    let frame = reader.next_frame(&mut pixels).expect("the PNG's pixels");
    let (width, height) = (frame.width as usize, frame.height as usize);
    let (line, samples) = (frame.line_size, frame.color_type.samples());
    let luma = |px: &[u8]| -> u8 {
        let v = |i: usize| u32::from(px[i]);
        let (grey, alpha) = match samples {
            1 => (v(0), 255),
            2 => (v(0), v(1)),
            3 => ((299 * v(0) + 587 * v(1) + 114 * v(2)) / 1000, 255),
            4 => ((299 * v(0) + 587 * v(1) + 114 * v(2)) / 1000, v(3)),
            n => panic!("{n} samples a pixel"),
        };
        u8::try_from((grey * alpha + 255 * (255 - alpha)) / 255).expect("at most 255")
    };
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let at = y * line + x * samples;
            out.push(luma(&pixels[at..at + samples]));
        }
    }
    (width, height, out)
}

/// A seat bought in the page is a ticket in "my tickets" with its section, row,
/// seat, grade, price and status, and a QR code the page drew itself on a canvas (byte
/// mode, error correction M, a quiet zone of 4 modules, 4 px a module). Read back from the
/// canvas as a door's scanner would, the code is the ticket's, and it verifies with the
/// keys the gateway publishes (`GET /v1/tickets/keys`) and names the ticket, the seat and
/// the buyer.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_ticket_bought_in_the_page_shows_a_qr_code_that_verifies_with_the_published_keys(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = stack_holding(opts, c, 120).await;
    let Some(browser) = Browser::start_or_skip(Profile::desktop("en-US")).await else {
        return;
    };
    let (concert, schedule) = concert_in_hall(&stack, 4).await;
    let (status, body) = stack.charge(42, 10_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Section B, row 1, seat 2 (seat number 10): grade R, 2,000 points.
    admitted_in_page(&browser, &stack, concert, 42).await;
    press(&browser, "[data-section=B]").await;
    browser
        .wait_for(
            "[data-testid=seat-map] [data-seat='10'][data-status=AVAILABLE]",
            SOON,
        )
        .await;
    hold_and_pay(&browser, "[data-seat='10']", "2,000").await;

    // "My tickets" follows the receipt: the ticket, as booking lists it.
    let listed = tickets_of(&stack, 42).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let ticket = &listed[0];
    let id = ticket["ticket_id"].as_str().unwrap();
    browser
        .wait_for(
            &format!("[data-testid=my-tickets] li[data-ticket-id='{id}'][data-status=VALID]"),
            SOON,
        )
        .await;
    for (fact, shown) in [
        ("section", "B"),
        ("row", "1"),
        ("number", "2"),
        ("grade", "R"),
        ("price", "2,000 P"),
        ("status", "Valid"),
    ] {
        assert_eq!(ticket_fact(&browser, id, fact).await, shown, "{fact}");
    }

    // The canvas: 4 px a module, 4 modules of white around the code.
    let canvas = format!("canvas[data-ticket-code='{id}']");
    let el = browser.wait_for(&canvas, SOON).await;
    let modules: usize = browser
        .attr(&el, "data-modules")
        .await
        .and_then(|m| m.parse().ok())
        .expect("the canvas says its module count");
    let (width, height, luma) = canvas_luma(&browser, &canvas).await;
    assert_eq!(width, height);
    assert_eq!(width % (modules + 8), 0, "{width} px for {modules} modules");
    let px = width / (modules + 8);
    assert!(px >= 4, "{px} px a module");
    let quiet = 4 * px;
    let white = |x: usize, y: usize| luma[y * width + x] > 200;
    assert!(
        (0..width).all(|i| (0..quiet).all(|q| white(i, q)
            && white(q, i)
            && white(i, width - 1 - q)
            && white(width - 1 - q, i))),
        "a quiet zone of 4 modules"
    );

    // Read as a scanner reads it: the ticket's code, error correction M.
    let (code, ecc_level) = scan_qr(width, height, &luma);
    assert_eq!(code, ticket["code"].as_str().unwrap());
    assert_eq!(ecc_level, 0, "error correction M");

    // It verifies with the keys the gateway publishes, and names this ticket and buyer.
    let (status, keys) = stack
        .call(0, Method::GET, "/v1/tickets/keys", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let jwks: Jwks = serde_json::from_value(keys).expect("a JWKS");
    let claims = booking::tickets::signing::verify_with(&code, |kid| {
        jwks.keys
            .iter()
            .find(|k| k.kid == kid)
            .and_then(booking::tickets::signing::jwk_key)
    })
    .expect("the code verifies with the published keys");
    assert_eq!(claims.tid.to_string(), id);
    assert_eq!((claims.sch, claims.seat), (schedule, 10));
    assert_eq!(claims.sub, "42");
    accessible(&browser, "my tickets").await;
    browser
        .script(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
            json!([canvas]),
        )
        .await;
    browser.screenshot(&shot("desktop-ticket-qr.png")).await;
    browser.quit().await;
    stack.stop().await;
}

/// A ticket of 1,999 points cancelled in the page, on a 375 px phone. Before
/// anything is done the confirmation shows the fee (floor(10 %) = 199) and the refund
/// (1,800 = price − fee); confirmed, the ticket shows CANCELLED and the new balance, grown
/// by the refund, as booking has it: the refund made once, the seat for sale again.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_ticket_cancelled_in_the_page_is_refunded_its_price_less_the_fee(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    const PRICE: i64 = 1_999;
    let stack = stack_holding(opts, c, 120).await;
    let Some(browser) = Browser::start_or_skip(Profile::phone("en-US")).await else {
        return;
    };
    let (concert, schedule) = stack.concert_with(4, PRICE).await;
    let (status, body) = stack.charge(42, 10_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    admitted_in_page(&browser, &stack, concert, 42).await;
    hold_and_pay(&browser, FREE_SEAT, "1,999").await;
    let paid = stack.balance(42).await;
    assert_eq!(paid, 10_000 - PRICE);
    let listed = tickets_of(&stack, 42).await;
    let id = listed[0]["ticket_id"].as_str().unwrap().to_owned();

    // The refund, before confirming.
    press(&browser, &format!("[data-cancel-ticket='{id}']")).await;
    browser.wait_for("#cancel-dialog[open]", SOON).await;
    let (fee, fee_text) = figure(&browser, "#cancel-fee", "data-fee").await;
    let (refund, refund_text) = figure(&browser, "#cancel-refund", "data-refund").await;
    assert_eq!(fee, PRICE * 10 / 100);
    assert_eq!(refund, PRICE - fee);
    assert!(
        fee_text.contains("199") && refund_text.contains("1,800"),
        "{fee_text} / {refund_text}"
    );
    let confirm = browser.wait_for("#cancel-confirm", SOON).await;
    assert!(browser.text(&confirm).await.contains("1,800"));
    assert_eq!(
        stack.balance(42).await,
        paid,
        "nothing done before confirming"
    );
    accessible(&browser, "phone, the cancellation to confirm").await;
    browser.screenshot(&shot("phone-cancel-confirm.png")).await;

    // Confirmed: CANCELLED, the new balance shown, the code gone.
    press(&browser, "#cancel-confirm").await;
    browser
        .wait_for(
            &format!("li[data-ticket-id='{id}'][data-status=CANCELLED]"),
            SOON,
        )
        .await;
    let result = browser
        .wait_text("#cancel-result", SOON, |t| t.contains("1,800"))
        .await;
    let (shown, _) = figure(&browser, "#cancel-result", "data-balance").await;
    assert_eq!(shown, paid + refund, "{result}");
    assert_eq!(ticket_fact(&browser, &id, "status").await, "Cancelled");
    assert!(browser.find("#cancel-dialog").await.is_none());
    assert!(browser
        .find(&format!("canvas[data-ticket-code='{id}']"))
        .await
        .is_none());
    assert_no_sideways_scroll(&browser, "phone, a ticket cancelled").await;
    accessible(&browser, "phone, a ticket cancelled").await;
    browser
        .screenshot(&shot("phone-ticket-cancelled.png"))
        .await;

    // As booking has it: refunded once, the seat for sale again.
    assert_eq!(stack.balance(42).await, paid + refund);
    let now = tickets_of(&stack, 42).await;
    assert_eq!(now[0]["status"], "CANCELLED");
    assert_eq!(now[0]["refund_if_cancelled"], Value::Null);
    let stored = stack
        .scalar(&format!(
            "SELECT count(*) FROM reservations
             WHERE id = '{id}' AND status = 'CANCELLED' AND refund = {refund} AND fee = {fee}"
        ))
        .await;
    assert_eq!(stored, 1);
    let refunds = stack
        .scalar(
            "SELECT COALESCE(sum(amount), 0)::BIGINT FROM point_history
             WHERE user_id = 42 AND kind = 'REFUND'",
        )
        .await;
    assert_eq!(refunds, refund, "refunded once");
    let free = stack
        .scalar(&format!(
            "SELECT count(*) FROM seats WHERE schedule_id = {schedule} AND status = 'AVAILABLE'"
        ))
        .await;
    assert_eq!(free, 4);
    stack.audit().await;
    browser.quit().await;
    stack.stop().await;
}

/// The waiting list: a concert of one seat, sold. A buyer who joins then keeps a
/// place and the page says so ("sold out — you keep your place (#1)"), not the end. The
/// seat's buyer cancels: the page says a seat came back, the buyer is let in and holds it.
#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn a_buyer_waiting_through_a_sell_out_gets_the_seat_another_buyer_cancels(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let stack = stack_holding(opts, c, 120).await;
    let Some(browser) = Browser::start_or_skip(Profile::desktop("en-US")).await else {
        return;
    };
    let (concert, schedule) = stack.concert_with(1, 1_000).await;
    for user in [7, 42] {
        let (status, body) = stack.charge(user, 5_000).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Buyer 7 buys the only seat through the API.
    let first = stack.join(0, concert, 7).await;
    assert_eq!(first.state(), "active");
    let (status, held) = stack.hold_at(0, &first.token, schedule, 1).await;
    assert_eq!(status, StatusCode::CREATED, "{held}");
    let held = held["reservation_id"].as_str().unwrap();
    let (status, paid) = stack.pay_at(0, &first.token, &[held], None).await;
    assert_eq!(status, StatusCode::CREATED, "{paid}");
    poll_until(SOON, "the sell-out published", || async {
        let (_, room) = stack.public_room(concert).await;
        (room["sold_out"] == true).then_some(())
    })
    .await;

    // Buyer 42 joins in the page: sold out, the place kept.
    browser
        .goto(&format!("{}/concerts/{concert}", stack.url(0)))
        .await;
    let input = browser.wait_for("[data-testid=user-id-input]", SOON).await;
    browser.clear_and_type(&input, "42").await;
    press(&browser, "[data-testid=join-button]").await;
    wait_status(&browser, "waitlist").await;
    let line = browser
        .wait_text("[data-testid=waitlist]", SOON, |t| {
            t.contains("you keep your place")
        })
        .await;
    assert!(line.contains("(#1)"), "{line}");
    assert!(browser
        .find("[data-testid=error][data-code=SOLD_OUT]")
        .await
        .is_none());
    accessible(&browser, "the waiting list").await;
    browser.screenshot(&shot("desktop-waitlist.png")).await;

    // Buyer 7 cancels (on booking, as the gateway passes it on): the seat comes back.
    let id = tickets_of(&stack, 7).await[0]["ticket_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = stack
        .post(&format!("/v1/tickets/{id}/cancel"))
        .header("X-User-Id", "7")
        .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
        .send()
        .await
        .unwrap();
    let (status, cancelled) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");

    // The page says so (while still waiting, or once let in: the line may move within a
    // tick); buyer 42 is let in and holds the seat.
    browser
        .wait_text("[data-testid=seats-back][data-seats='1']", SOON, |t| {
            t.contains("1 seat came back")
        })
        .await;
    wait_status(&browser, "active").await;
    browser
        .screenshot(&shot("desktop-waitlist-admitted.png"))
        .await;
    press(&browser, "[data-testid=schedule-list] button").await;
    press(&browser, FREE_SEAT).await;
    press(&browser, "#hold-seats").await;
    browser.wait_for("[data-testid=hold-countdown]", SOON).await;
    let theirs = stack
        .scalar(&format!(
            "SELECT count(*) FROM reservations
             WHERE user_id = 42 AND schedule_id = {schedule} AND seat_no = 1 AND status = 'HELD'"
        ))
        .await;
    assert_eq!(theirs, 1);
    stack.audit().await;
    browser.quit().await;
    stack.stop().await;
}
