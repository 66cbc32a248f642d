//! Booking integration tests: the real app on a random port (`testkit::Stack::booking`),
//! a fresh PostgreSQL database per test (`#[sqlx::test]`, needs DATABASE_URL) and a unique
//! Redis key prefix per test.

mod admin;
mod admission_end;
mod bad_input;
mod concurrency;
mod docs;
mod functions;
mod groups;
mod holds;
mod inventory;
mod operations;
mod orders;
mod payments;
mod points;
mod rooms;
mod tickets;
