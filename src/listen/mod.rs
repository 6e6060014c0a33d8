//! `hookctl listen`: the HTTP receiver ([`server`]), what it does with each delivery
//! ([`handler`]), simulated answers ([`respond`]), CI expectations ([`expect`]) and the
//! capture writer ([`capture`]).

pub mod capture;
pub mod expect;
pub mod handler;
pub mod respond;
pub mod server;
