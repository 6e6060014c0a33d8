//! `hookctl serve` and `hookctl channel new`: the relay, driven through the real binary over
//! loopback.

#[path = "serve/access.rs"]
mod access;
#[path = "serve/harness.rs"]
pub mod harness;
#[path = "serve/lean.rs"]
mod lean;
#[path = "serve/operations.rs"]
mod operations;
#[path = "serve/relay.rs"]
mod relay;
#[path = "serve/smee.rs"]
mod smee;
#[path = "serve/stall.rs"]
mod stall;
