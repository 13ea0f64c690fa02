//! What the core needs from the platform, as small traits. JavaScript implements them in
//! `js.rs`; native tests implement them with fakes. Futures from JS promises are not `Send`,
//! so these traits are used through generics, never across threads.
#![allow(async_fn_in_trait)]

use crate::error::Result;
use crate::record::{OrderRecord, State};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
    /// The body's bytes, for a request that accepts `application/pdf`; empty otherwise.
    pub bytes: Vec<u8>,
}

pub trait HttpClient {
    /// Sends one request; `Err(Error::Network)` when no HTTP answer came (refused, reset,
    /// timed out after `timeout_ms`).
    async fn send(&self, req: &HttpRequest, timeout_ms: u32) -> Result<HttpResponse>;
}

/// A stored record and the version it was read at, for compare-and-set.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: OrderRecord,
    pub version: u64,
}

pub trait Store {
    async fn get(&self, order_id: &str) -> Result<Option<Stored>>;
    /// Inserts a new record at version 1; `false` if the order already has one.
    async fn insert(&self, rec: &OrderRecord) -> Result<bool>;
    /// Replaces the record if it is still at `expected`; the new version is `expected + 1`.
    async fn update(&self, rec: &OrderRecord, expected: u64) -> Result<bool>;
    /// Records whose `next_at` has come, oldest first: those in `collection_pending` when
    /// `collection`, the others otherwise.
    async fn due(&self, now: u64, limit: u32, collection: bool) -> Result<Vec<Stored>>;
    /// Records, newest first, optionally of one state and whose order id or SkyHub code
    /// contains `search` (case-insensitive).
    async fn list(
        &self,
        state: Option<State>,
        search: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Stored>>;
    /// Number of records per state.
    async fn counts(&self) -> Result<Vec<(String, u64)>>;
    async fn ping(&self) -> Result<()>;
    /// The work queue: how many records are due at `now`, and the oldest `next_at` among them.
    async fn due_stats(&self, now: u64) -> Result<(u64, Option<u64>)>;
}

pub trait Runtime {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> u64;
    async fn sleep(&self, ms: u64);
    /// Uniform in [0, 1), for backoff jitter and lease tokens.
    fn random(&self) -> f64;
    /// One structured log line. Callers never pass secrets.
    fn log(&self, level: &str, line: &str);
}
