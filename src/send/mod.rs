//! `hookctl send`: building outgoing events from samples or bodies ([`compose`]), and the
//! built-in samples ([`samples`]).

pub mod compose;
pub mod samples;
