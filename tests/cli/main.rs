//! The one integration-test binary: every test drives the real `hookctl` binary on loopback,
//! on ports the OS picks.

mod support;

mod basics;
mod ci;
mod core;
mod delivery;
mod signatures;
mod design;
