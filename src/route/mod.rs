//! Routes (`listen --route EXPR TARGET`): each event goes to the targets whose expression it
//! matches: an app over HTTP (with retries), RabbitMQ, Kafka, a capture file, or nowhere.
//! [`spec`] parses a route from the command line, [`router`] runs them and decides the answer.

pub mod router;
pub mod spec;

pub use router::{Router, RouterConfig};
pub use spec::{RouteSpec, TargetSpec};
