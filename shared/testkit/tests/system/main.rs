//! System tests: the whole stack — the real booking service on a test database, gateways
//! in front, real Redis — started in-process by `testkit::Stack`. One binary, one module
//! per topic.

mod browser;
mod catalogue;
mod cluster;
mod config_reload;
mod conformance;
mod connections;
mod deploy;
mod e2e;
mod faults;
mod inventory;
mod orders;
mod readme;
mod redis_restart;
mod trust;
