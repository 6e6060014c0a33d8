//! The one integration-test binary. Most listen tests run `hookctl::listen::run` in this
//! process (`support::Listen::start`); the rest, and a few end-to-end listen tests, drive the
//! real `hookctl` binary. Everything is on loopback, on ports the OS picks.

mod support;

mod basics;
mod broker;
mod ci;
mod completions;
mod config;
mod core;
mod delivery;
mod design;
mod hardening;
#[cfg(feature = "inspector")]
mod inspector;
mod kafka;
mod output;
#[cfg(any(feature = "amqp", feature = "kafka"))]
mod proxy;
mod routes;
mod samples;
mod serve;
mod signatures;
mod source;
mod truth;
