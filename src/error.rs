//! One error type for the crate; JavaScript errors are decoded once, at the boundary (`js.rs`).

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A setting is missing or malformed; the message names it.
    Config(String),
    /// Input from outside (a hook, an upstream answer) does not have the expected shape.
    Parse(String),
    /// The store did not answer or refused the operation.
    Store(String),
    /// A request could not be completed: connection refused, reset, timed out.
    Network(String),
    /// The service is shutting down: the request was not sent.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m) => write!(f, "configuration: {m}"),
            Error::Parse(m) => write!(f, "{m}"),
            Error::Store(m) => write!(f, "store: {m}"),
            Error::Network(m) => write!(f, "network: {m}"),
            Error::Stopped => write!(f, "not sent: the service is stopping"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Parse(e.to_string())
    }
}
