//! The one integration-test binary: every test drives the real `hookctl` binary on loopback,
//! on ports the OS picks.

mod support;

mod basics;
mod broker;
mod ci;
mod core;
mod delivery;
mod design;
mod signatures;
