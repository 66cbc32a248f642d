//! Room settings from the configuration file, live, on two gateways sharing the file: a
//! `[rooms."<id>"]` section written while they run applies on both within a tick or two of
//! the next file check; an operator's later change through the admin API stands when the
//! file is merely rewritten; a changed section wins again; a file that does not load is
//! refused whole; new `[queue]` defaults reach a room nobody configured.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use testkit::prelude::*;

/// Waits until both gateways report `field` = `want` for the room.
async fn both_see(stack: &Stack, concert: i64, field: &str, want: Value) {
    poll_until(
        Duration::from_secs(15),
        &format!("{field} = {want} on both gateways"),
        || async {
            let a = stack.room(0, concert).await;
            let b = stack.room(1, concert).await;
            (a[field] == want && b[field] == want).then_some(())
        },
    )
    .await;
}

fn write(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[sqlx::test(migrator = "booking::MIGRATOR")]
async fn room_sections_apply_live_on_every_gateway_and_the_latest_change_wins(
    opts: PgPoolOptions,
    c: PgConnectOptions,
) {
    let dir = std::env::temp_dir().join(format!("gw-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.toml");
    let queue = "[queue]\ncapacity = 50\nbatch_size = 5\ntick_ms = 100\n";
    write(&file, queue);
    let options = Options {
        gateways: 2,
        backend: Backend::Real(pool(opts, c).await),
        ..Options::default()
    };
    let stack = Stack::start(options, |gw, _| {
        set_queue(gw, 50, 5, 100);
        gw.source_file = Some(file.clone());
    })
    .await;
    let (concert, _) = stack.concert_with(10, 100).await;
    let (untouched, _) = stack.concert_with(10, 100).await;
    assert_eq!(stack.room(0, concert).await["rate_per_minute"], 3_000);
    stack.room(1, untouched).await;

    // A section appears: both gateways apply it.
    let section = format!("[rooms.\"{concert}\"]\nrate_per_minute = 600\n");
    write(&file, &format!("{queue}{section}"));
    both_see(&stack, concert, "rate_per_minute", json!(600)).await;
    let r = stack.room(1, concert).await;
    assert_eq!(
        (r["batch_size"].as_u64(), r["tick_ms"].as_u64()),
        (Some(1), Some(100)),
        "{r}"
    );

    // An operator changes the room; the file is rewritten with the same section (a
    // comment added): the operator's change stands.
    stack.configure(concert, json!({"capacity": 7})).await;
    write(&file, &format!("# touched\n{queue}{section}"));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let r = stack.room(1, concert).await;
    assert_eq!(
        (r["capacity"].as_u64(), r["rate_per_minute"].as_u64()),
        (Some(7), Some(600)),
        "{r}"
    );

    // The section changes: it is the latest change now.
    let section = format!("[rooms.\"{concert}\"]\nrate_per_minute = 1200\ncapacity = 40\n");
    write(&file, &format!("{queue}{section}"));
    both_see(&stack, concert, "capacity", json!(40)).await;
    both_see(&stack, concert, "rate_per_minute", json!(1_200)).await;

    // A file that does not load changes nothing.
    write(
        &file,
        &format!("{queue}[rooms.\"{concert}\"]\ncapacity = 0\n"),
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(stack.room(0, concert).await["capacity"], 40);

    // New defaults reach the room nobody configured (and not the configured one).
    write(
        &file,
        &format!("[queue]\ncapacity = 50\nbatch_size = 9\ntick_ms = 100\n{section}"),
    );
    both_see(&stack, untouched, "batch_size", json!(9)).await;
    assert_eq!(stack.room(0, concert).await["capacity"], 40);
    let (status, body) = stack.admin(Method::GET, concert, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stack.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
