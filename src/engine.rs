//! The engine: takes hooks, works through due orders and answers the operator's API.
//! It owns no I/O: everything goes through the ports, so native tests drive it with fakes
//! and a virtual clock, and the same code runs in WebAssembly over JavaScript.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ids::{OrderId, SkyhubCode};
use crate::limiter::RateLimiter;
use crate::oms::{Hook, OmsOrder};
use crate::ports::{HttpClient, HttpRequest, HttpResponse, Runtime, Store, Stored};
use crate::readiness::{decide, Readiness};
use crate::record::{InvoiceStatus, InvoiceWork, OrderRecord, Stage, State};
use crate::skyhub::{
    self, classify_request, outcome, Listed, Outcome, RequestClass, ShipmentKind, SkyhubOrder,
};

/// Hook bodies above this size are refused with 413.
pub const HOOK_MAX_BYTES: usize = 64 * 1024;
/// Orders taken per pass of the orders lane.
pub const BATCH: u32 = 100;
/// Orders taken per pass of the collection lane: one listing scan serves them all.
pub const COLLECTION_BATCH: u32 = 2_000;
/// Orders worked on at once in the orders lane (their requests still go out at the rate limit).
pub const CONCURRENCY: usize = 16;
/// From this many orders of unknown delivery kind on, the list of approved orders is read.
pub const KIND_LISTING_MIN_ORDERS: usize = 3;
/// Pages of the approved-orders list read at most, and their size.
pub const MAX_ORDER_LIST_PAGES: u32 = 20;
pub const ORDER_LIST_PER_PAGE: u32 = 100;
/// Retries of an OMS 404 before the order is marked failed.
pub const OMS_NOT_FOUND_TRIES: u32 = 3;
/// Orders per `to_group` / `collectables` page, as SkyHub's clients document it: a shorter
/// page is the last.
pub const LISTING_PAGE_SIZE: usize = 20;
/// Pages of 100 orders read at most by one reconciliation.
pub const RECONCILE_MAX_PAGES: u32 = 30;
/// Tries of one listing page within a scan.
pub const LISTING_PAGE_TRIES: u32 = 3;
/// Listing pages read per scan, at most (20 orders a page).
pub const MAX_LISTING_PAGES: u32 = 250;

/// An HTTP answer of the service, before the platform turns it into a `Response`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// A binary body (a PDF), sent instead of `body`.
    pub bytes: Option<Vec<u8>>,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: v.to_string(),
            bytes: None,
        }
    }
    pub fn error(status: u16, msg: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "error": msg.into() }))
    }
}

/// How long a retry waits at least, beyond the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Backoff,
    /// SkyHub answered 429: not before its window is over.
    RateLimited,
    /// The request may have been processed: leave SkyHub time to finish it before checking.
    InDoubt,
}

/// A record this worker holds the lease of. In memory `rec.next_at` is the schedule being
/// decided; the store keeps the lease's end until the release, so that a crash mid-work
/// brings the order back only after the lease.
struct Claimed {
    rec: OrderRecord,
    version: u64,
    token: String,
    lease_until: u64,
    /// The lease was lost to another worker: stop touching the order.
    lost: bool,
}

/// The two kinds of work, each with its own loop in the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Orders to read from OMS and invoice at SkyHub.
    Orders,
    /// Direct orders waiting for their PLP and pickup request.
    Collection,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub due: usize,
    pub claimed: usize,
}

pub struct Engine<H, S, R> {
    pub cfg: Config,
    http: H,
    store: S,
    rt: R,
    limiter: RefCell<RateLimiter>,
    metrics: RefCell<BTreeMap<String, u64>>,
    stopping: Cell<bool>,
    next_collection_pass: Cell<u64>,
    hook_latency: RefCell<Histogram>,
}

/// Hook latency, in milliseconds, in Prometheus histogram buckets.
#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; HOOK_BUCKETS_MS.len()],
    sum_ms: u64,
    total: u64,
}

const HOOK_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1_000, 5_000];

impl Histogram {
    fn observe(&mut self, ms: u64) {
        for (i, b) in HOOK_BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum_ms += ms;
        self.total += 1;
    }

    fn render(&self, name: &str, out: &mut String) {
        out.push_str(&format!(
            "# HELP {name} Time to answer a hook, recording included.\n# TYPE {name} histogram\n"
        ));
        for (b, n) in HOOK_BUCKETS_MS.iter().zip(self.counts) {
            out.push_str(&format!(
                "{name}_bucket{{le=\"{}\"}} {n}\n",
                *b as f64 / 1000.0
            ));
        }
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {}\n", self.total));
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {}\n",
            self.sum_ms as f64 / 1000.0,
            self.total
        ));
    }
}

impl<H: HttpClient, S: Store, R: Runtime> Engine<H, S, R> {
    pub fn new(cfg: Config, http: H, store: S, rt: R) -> Self {
        let mut limiter = RateLimiter::new(&cfg.rate_limits, cfg.rate_limit_margin_ms);
        // A process that just (re)started does not know what its predecessor sent in the
        // last second: every class starts with its window spent.
        for &(class, _) in &cfg.rate_limits {
            limiter.penalize(class, rt.now());
        }
        Engine {
            cfg,
            http,
            store,
            rt,
            limiter: RefCell::new(limiter),
            metrics: RefCell::new(BTreeMap::new()),
            stopping: Cell::new(false),
            next_collection_pass: Cell::new(0),
            hook_latency: RefCell::new(Histogram::default()),
        }
    }

    /// Stops taking work: the tick under way finishes the order in hand and returns.
    pub fn stop(&self) {
        self.stopping.set(true);
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    fn count(&self, series: String) {
        *self.metrics.borrow_mut().entry(series).or_default() += 1;
    }

    fn log(&self, level: &str, msg: &str, rec: Option<&OrderRecord>, extra: Value) {
        if level == "debug" && !self.cfg.debug {
            return; // built only when asked for: hooks can come by the thousand
        }
        let mut line =
            json!({ "ts": crate::record::iso8601(self.rt.now()), "level": level, "msg": msg });
        if let Some(r) = rec {
            line["orderId"] = json!(r.order_id.as_str());
            if let Some(c) = &r.skyhub_code {
                line["skyhubCode"] = json!(c.as_str());
            }
            line["state"] = json!(r.state.as_str());
        }
        if let Value::Object(m) = extra {
            for (k, v) in m {
                line[k] = v;
            }
        }
        self.rt.log(level, &line.to_string());
    }

    // ---------------------------------------------------------------- hooks

    /// `POST /hooks/oms`. 200 once the notification is durably recorded.
    pub async fn hook(&self, secret_header: Option<&str>, body: &str) -> Reply {
        let started = self.rt.now();
        let (outcome, reply) = self.hook_inner(secret_header, body).await;
        self.hook_latency
            .borrow_mut()
            .observe(self.rt.now().saturating_sub(started));
        self.count(format!("b2w_coleta_hooks_total{{outcome=\"{outcome}\"}}"));
        reply
    }

    /// The answer and its outcome label for the metrics.
    async fn hook_inner(&self, secret_header: Option<&str>, body: &str) -> (&'static str, Reply) {
        if body.len() > HOOK_MAX_BYTES {
            return (
                "too_large",
                Reply::error(413, format!("body over {HOOK_MAX_BYTES} bytes")),
            );
        }
        let parsed = Hook::parse(body);
        if matches!(parsed, Ok(Hook::Ping)) {
            return ("ping", Reply::json(200, json!({ "ok": true })));
        }
        if let Some(secret) = &self.cfg.hook_secret {
            if !secret_header.is_some_and(|h| secret.matches(h)) {
                return (
                    "unauthorized",
                    Reply::error(401, "missing or wrong X-Hook-Secret"),
                );
            }
        }
        let order_id = match parsed {
            Ok(Hook::Notification { order_id, .. }) => order_id,
            Ok(Hook::Ping) => unreachable!("answered above"),
            Err(e) => return ("bad_request", Reply::error(400, e.to_string())),
        };
        match self.record_hook(&order_id).await {
            Ok(state) => (
                "recorded",
                Reply::json(
                    200,
                    json!({ "ok": true, "orderId": order_id.as_str(), "state": state.as_str() }),
                ),
            ),
            Err(e) => {
                self.log(
                    "error",
                    "hook not recorded: store failed",
                    None,
                    json!({ "orderId": order_id.as_str(), "error": e.to_string() }),
                );
                (
                    "store_error",
                    Reply::error(
                        503,
                        "the order could not be recorded; VTEX will send the hook again",
                    ),
                )
            }
        }
    }

    /// Creates the order's record, or marks it to be read again from OMS.
    async fn record_hook(&self, order_id: &OrderId) -> Result<State> {
        for _ in 0..20 {
            let now = self.rt.now();
            let Some(Stored {
                mut record,
                version,
            }) = self.store.get(order_id.as_str()).await?
            else {
                let rec = OrderRecord::new(order_id.clone(), now);
                if self.store.insert(&rec).await? {
                    self.log("debug", "hook received: new order", Some(&rec), json!({}));
                    return Ok(rec.state);
                }
                continue; // created meanwhile by a concurrent hook
            };
            let reopens = record.state == State::WaitingInvoice
                || (record.state == State::Failed && record.failed_stage == Some(Stage::Oms));
            if !reopens {
                return Ok(record.state);
            }
            let due_now = record.next_at.is_some_and(|t| t <= now);
            if record.refresh && (due_now || record.lease.is_some()) {
                return Ok(record.state); // already marked: a duplicate hook changes nothing
            }
            record.refresh = true;
            if record.lease.is_none() {
                record.next_at = Some(now);
            }
            if record.state == State::Failed {
                record.transition(
                    now,
                    State::WaitingInvoice,
                    "hook received: reading the order again",
                );
            } else {
                record.note(now, "hook received");
            }
            if self.store.update(&record, version).await? {
                return Ok(record.state);
            }
        }
        Err(Error::Store(format!(
            "order {order_id}: too many concurrent updates"
        )))
    }

    // ---------------------------------------------------------------- work

    /// Works through the orders that are due, both lanes side by side.
    pub async fn tick(&self) -> Result<TickReport> {
        let (a, b) = futures::future::join(
            self.tick_lane(Lane::Orders),
            self.tick_lane(Lane::Collection),
        )
        .await;
        let (a, b) = (a?, b?);
        Ok(TickReport {
            due: a.due + b.due,
            claimed: a.claimed + b.claimed,
        })
    }

    /// One pass over one lane's due orders. The host runs each lane in its own loop, so
    /// that invoices and pickups never wait on each other; one pass of a lane at a time.
    pub async fn tick_lane(&self, lane: Lane) -> Result<TickReport> {
        let now = self.rt.now();
        let limit = match lane {
            Lane::Orders => BATCH,
            Lane::Collection => COLLECTION_BATCH,
        };
        // One pickup pass per COLLECTION_POLL_MS at most: each pass scans SkyHub's listings
        // once for every waiting order, so fewer, larger passes spend fewer requests.
        if lane == Lane::Collection {
            if now < self.next_collection_pass.get() {
                return Ok(TickReport::default());
            }
            self.next_collection_pass
                .set(now + self.cfg.collection_poll_ms);
        }
        let due = self.store.due(now, limit, lane == Lane::Collection).await?;
        let mut report = TickReport {
            due: due.len(),
            claimed: 0,
        };
        if self.stopping.get() {
            return Ok(report); // orders not claimed stay due for the next start
        }
        // Claims (and releases below) go out together: the store commits them as one.
        let mut claimed = Vec::with_capacity(due.len());
        for c in futures::future::join_all(due.into_iter().map(|s| self.claim(s))).await {
            if let Some(c) = c? {
                claimed.push(c);
            }
        }
        report.claimed = claimed.len();
        if claimed.is_empty() {
            return Ok(report);
        }
        let worked = match lane {
            Lane::Orders => self.work_orders(&mut claimed).await,
            Lane::Collection if self.stopping.get() => Ok(()),
            Lane::Collection => self.collect(&mut claimed).await,
        };
        // Every claim is released, even after a store error, so nothing waits for its lease.
        let released = futures::future::join_all(claimed.iter_mut().map(|c| self.release(c))).await;
        worked
            .and(released.into_iter().collect::<Result<()>>())
            .map(|()| report)
    }

    /// The orders lane: OMS reads, then the delivery kinds in one listing, then invoices;
    /// each step runs `CONCURRENCY` orders at a time, paced by the rate limiter.
    async fn work_orders(&self, claimed: &mut [Claimed]) -> Result<()> {
        let first_error: RefCell<Option<Error>> = RefCell::new(None);
        let keep = |r: Result<()>| {
            if let Err(e) = r {
                first_error.borrow_mut().get_or_insert(e);
            }
        };
        futures::stream::iter(claimed.iter_mut())
            .for_each_concurrent(CONCURRENCY, |c| async {
                if self.stopping.get() || c.lost {
                    return;
                }
                let needs_read = c.rec.state == State::WaitingInvoice
                    || (c.rec.refresh && c.rec.state == State::InvoicePending);
                c.rec.refresh = false;
                if needs_read {
                    keep(self.read_oms(c).await);
                }
            })
            .await;
        if !self.stopping.get() {
            self.learn_kinds(claimed).await;
        }
        futures::stream::iter(claimed.iter_mut())
            .for_each_concurrent(CONCURRENCY, |c| async {
                if self.stopping.get() || c.lost || c.rec.state != State::InvoicePending {
                    return;
                }
                if c.rec.next_at.is_some_and(|t| t <= self.rt.now()) {
                    keep(self.send_invoices(c).await);
                }
            })
            .await;
        match first_error.into_inner() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Learns the delivery kind of the orders about to be invoiced from SkyHub's list of
    /// approved orders (many orders a request) instead of one `GET /orders/{code}` each.
    /// Orders the list does not show are read one by one later.
    async fn learn_kinds(&self, claimed: &mut [Claimed]) {
        let mut unknown: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, c) in claimed.iter().enumerate() {
            if c.rec.state == State::InvoicePending && c.rec.delivery.is_none() && !c.lost {
                if let Some(code) = &c.rec.skyhub_code {
                    unknown
                        .entry(code.as_str().to_string())
                        .or_default()
                        .push(i);
                }
            }
        }
        // A handful of orders is cheaper read one by one than by paging a long list.
        if unknown.len() < KIND_LISTING_MIN_ORDERS {
            return;
        }
        for page in 1..=MAX_ORDER_LIST_PAGES {
            let resp = match self
                .skyhub(&self.cfg.skyhub.list_orders(page, ORDER_LIST_PER_PAGE))
                .await
            {
                Ok(r) if (200..300).contains(&r.status) => r,
                _ => return, // the orders are read one by one instead
            };
            let Ok(listed) = skyhub::parse_order_list(&resp.body) else {
                return;
            };
            if listed.is_empty() {
                return;
            }
            let now = self.rt.now();
            for o in listed {
                if let Some(idx) = unknown.remove(&o.code) {
                    for i in idx {
                        let kind = o.kind();
                        claimed[i].rec.delivery = Some(kind);
                        claimed[i]
                            .rec
                            .note(now, format!("SkyHub delivery: {}", kind.as_str()));
                    }
                }
            }
            if unknown.is_empty() {
                return;
            }
        }
    }

    async fn claim(&self, stored: Stored) -> Result<Option<Claimed>> {
        let now = self.rt.now();
        let token = format!("{:016x}", (self.rt.random() * u64::MAX as f64) as u64);
        let mut c = Claimed {
            rec: stored.record,
            version: stored.version,
            token,
            lease_until: now + self.cfg.lease_ms,
            lost: false,
        };
        if self.store.update(&self.leased(&c), c.version).await? {
            c.version += 1;
            Ok(Some(c))
        } else {
            Ok(None) // another worker, or a hook, got there first; it comes back next tick
        }
    }

    /// The record as stored while the lease holds.
    fn leased(&self, c: &Claimed) -> OrderRecord {
        let mut r = c.rec.clone();
        r.lease = Some(c.token.clone());
        r.next_at = Some(c.lease_until);
        r
    }

    /// Writes the claimed record, still leased. A concurrent hook's mark to read OMS again is kept.
    async fn commit(&self, c: &mut Claimed) -> Result<()> {
        self.write(c, true).await
    }

    async fn write(&self, c: &mut Claimed, keep_lease: bool) -> Result<()> {
        if c.lost {
            return Ok(());
        }
        for _ in 0..20 {
            c.rec.updated_at = self.rt.now();
            if keep_lease {
                c.lease_until = c.rec.updated_at + self.cfg.lease_ms; // every write renews the lease
            }
            let row = if keep_lease {
                self.leased(c)
            } else {
                c.rec.clone()
            };
            if self.store.update(&row, c.version).await? {
                c.version += 1;
                return Ok(());
            }
            let Some(current) = self.store.get(c.rec.order_id.as_str()).await? else {
                c.lost = true;
                return Ok(());
            };
            if current.record.lease.as_deref() != Some(c.token.as_str()) {
                self.log(
                    "warn",
                    "lease lost: another worker took the order",
                    Some(&c.rec),
                    json!({}),
                );
                c.lost = true;
                return Ok(());
            }
            c.rec.refresh |= current.record.refresh;
            c.version = current.version;
        }
        Err(Error::Store(format!(
            "order {}: too many concurrent updates",
            c.rec.order_id
        )))
    }

    /// Writes the decided schedule and gives the lease up.
    async fn release(&self, c: &mut Claimed) -> Result<()> {
        c.rec.lease = None;
        self.write(c, false).await?;
        if c.rec.refresh && c.rec.state == State::WaitingInvoice && !c.lost {
            // a hook came in while the order was read: read it again
            c.rec.next_at = Some(self.rt.now());
            self.write(c, false).await?;
        }
        Ok(())
    }

    fn retry(&self, c: &mut Claimed, msg: String) {
        self.retry_after(c, msg, Wait::Backoff);
    }

    fn retry_after(&self, c: &mut Claimed, msg: String, wait: Wait) {
        let now = self.rt.now();
        let min = match wait {
            Wait::Backoff => 0,
            Wait::RateLimited => 1_000,
            // A request SkyHub may still be processing is checked no sooner than this.
            Wait::InDoubt => 3 * u64::from(self.cfg.http_timeout_ms),
        };
        c.rec.retry_later(
            now,
            msg.clone(),
            self.rt.random(),
            min,
            self.cfg.retry_max_ms,
        );
        self.count("b2w_coleta_retries_total".into());
        self.log(
            "warn",
            "retryable failure",
            Some(&c.rec),
            json!({ "error": msg, "attempts": c.rec.attempts }),
        );
    }

    fn fail(&self, c: &mut Claimed, stage: Stage, msg: String) {
        self.count("b2w_coleta_transitions_total{to=\"failed\"}".into());
        c.rec.fail(self.rt.now(), stage, msg.clone());
        self.log(
            "error",
            "order failed",
            Some(&c.rec),
            json!({ "error": msg }),
        );
    }

    fn transition(&self, c: &mut Claimed, state: State, note: String) {
        if c.rec.state != state {
            self.count(format!(
                "b2w_coleta_transitions_total{{to=\"{}\"}}",
                state.as_str()
            ));
        }
        c.rec.transition(self.rt.now(), state, note.clone());
        self.log("info", &note, Some(&c.rec), json!({}));
    }

    fn oms_headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
        if let (Some(k), Some(t)) = (&self.cfg.vtex_app_key, &self.cfg.vtex_app_token) {
            headers.push(("X-VTEX-API-AppKey".into(), k.expose().to_string()));
            headers.push(("X-VTEX-API-AppToken".into(), t.expose().to_string()));
        }
        headers
    }

    async fn read_oms(&self, c: &mut Claimed) -> Result<()> {
        let id = c.rec.order_id.clone();
        let headers = self.oms_headers();
        let req = HttpRequest {
            method: "GET",
            url: format!(
                "{}{}",
                self.cfg.vtex_base_url,
                skyhub::oms_order_path(id.as_str())
            ),
            headers,
            body: None,
        };
        // VTEX allows 6,000 order reads a minute per account: a burst of hooks becomes a
        // backlog in the store, read at that pace, never a flood of OMS requests.
        if self.pace(RequestClass::Oms).await.is_err() {
            return Ok(()); // stopping: the order is read at the next start
        }
        let resp = self.http.send(&req, self.cfg.http_timeout_ms).await;
        let resp = match resp {
            Ok(r) => {
                self.count(format!(
                    "b2w_coleta_oms_requests_total{{status=\"{}\"}}",
                    r.status
                ));
                r
            }
            Err(e) => {
                self.count("b2w_coleta_oms_requests_total{status=\"network_error\"}".into());
                self.retry(c, format!("reading order {id} from OMS: {e}"));
                return Ok(());
            }
        };
        let order = match resp.status {
            200..=299 => match OmsOrder::parse(&resp.body) {
                Ok(o) => o,
                Err(e) => {
                    self.retry(c, format!("reading order {id} from OMS: {e}"));
                    return Ok(());
                }
            },
            429 | 500..=599 => {
                self.retry(
                    c,
                    format!("reading order {id} from OMS: OMS answered {}", resp.status),
                );
                return Ok(());
            }
            // Read just after the hook, an order can be missing for a moment: a few tries first.
            404 if c.rec.attempts < OMS_NOT_FOUND_TRIES => {
                self.retry(c, format!("OMS has no order {id} (404) yet"));
                return Ok(());
            }
            404 => {
                self.fail(
                    c,
                    Stage::Oms,
                    format!("OMS has no order {id} (404); a later hook or a retry reads it again"),
                );
                return Ok(());
            }
            401 | 403 => {
                self.fail(
                    c,
                    Stage::Oms,
                    format!("OMS refused to show order {id} ({}): check VTEX_APP_KEY and VTEX_APP_TOKEN", resp.status),
                );
                return Ok(());
            }
            s => {
                self.fail(
                    c,
                    Stage::Oms,
                    format!(
                        "OMS answered {s} for order {id}: {}",
                        skyhub::error_message(&resp.body)
                    ),
                );
                return Ok(());
            }
        };
        let already_sent = c
            .rec
            .invoices
            .iter()
            .filter(|i| i.status == InvoiceStatus::Sent)
            .count();
        match decide(&order, &self.cfg.b2w_affiliates) {
            Readiness::NotB2w => {
                let aff = order.affiliate_id.as_deref().unwrap_or("none");
                self.transition(
                    c,
                    State::Ignored,
                    format!("affiliateId {aff} is not in B2W_AFFILIATE_IDS: not a B2W order"),
                );
            }
            Readiness::Canceled => {
                let note = if already_sent > 0 {
                    format!("canceled in OMS after {already_sent} invoice(s) reached SkyHub: no pickup is requested")
                } else {
                    "canceled in OMS: nothing is sent to SkyHub".to_string()
                };
                self.transition(c, State::Canceled, note);
            }
            Readiness::CancellationRequested => {
                c.rec.next_at = None;
                self.transition(
                    c,
                    State::WaitingInvoice,
                    "cancellation requested in OMS: waiting for OMS to decide".into(),
                );
            }
            Readiness::Waiting { invoiced, ordered } => {
                c.rec.next_at = None;
                self.transition(
                    c,
                    State::WaitingInvoice,
                    format!("{invoiced} of {ordered} units invoiced: waiting for the rest"),
                );
            }
            Readiness::Invalid(reason) => self.fail(c, Stage::Oms, format!("order {id}: {reason}")),
            Readiness::Ready { code, invoices } => {
                c.rec.skyhub_code = Some(code);
                for inv in invoices {
                    if !c.rec.invoices.iter().any(|w| w.key == inv.key) {
                        c.rec.invoices.push(InvoiceWork {
                            key: inv.key,
                            issue_date: inv.issue_date,
                            xml: inv.xml,
                            volumes: inv.volumes,
                            status: InvoiceStatus::Pending,
                        });
                    }
                }
                c.rec.last_error = None;
                let n = c.rec.invoices.len();
                c.rec.next_at = Some(self.rt.now());
                self.transition(
                    c,
                    State::InvoicePending,
                    format!("every item invoiced: {n} NF-e key(s) for SkyHub"),
                );
            }
        }
        Ok(())
    }

    /// Sends a SkyHub request within the class's rate limit.
    async fn skyhub(&self, req: &HttpRequest) -> Result<HttpResponse> {
        self.pace(classify_request(req)).await?;
        self.call(req).await
    }

    /// Waits until a request of `class` may leave, and takes its place in the window.
    /// `Err(Stopped)` when the service stops meanwhile: nothing was sent.
    async fn pace(&self, class: RequestClass) -> Result<()> {
        loop {
            if self.stopping.get() {
                return Err(Error::Stopped); // not sent: the order resumes at the next start
            }
            let now = self.rt.now();
            let wait = self.limiter.borrow_mut().delay(class, now);
            if wait == 0 {
                self.limiter.borrow_mut().record(class, now);
                break;
            }
            self.rt.sleep(wait).await;
        }
        Ok(())
    }

    /// Sends a request whose place in the rate limit `pace` already took.
    async fn call(&self, req: &HttpRequest) -> Result<HttpResponse> {
        let class = classify_request(req);
        let r = self.http.send(req, self.cfg.http_timeout_ms).await;
        let status = match &r {
            Ok(resp) => resp.status.to_string(),
            Err(_) => "network_error".into(),
        };
        self.count(format!(
            "b2w_coleta_skyhub_requests_total{{class=\"{}\",status=\"{status}\"}}",
            class.name()
        ));
        if let Ok(resp) = &r {
            if resp.status == 429 {
                // SkyHub says the window is spent: let the class rest for a whole window.
                self.limiter.borrow_mut().penalize(class, self.rt.now());
            }
        }
        r
    }

    async fn send_invoices(&self, c: &mut Claimed) -> Result<()> {
        let Some(code) = c.rec.skyhub_code.clone() else {
            self.fail(
                c,
                Stage::Oms,
                "no SkyHub code recorded for the order".into(),
            );
            return Ok(());
        };
        let in_doubt = c
            .rec
            .invoices
            .iter()
            .any(|i| i.status == InvoiceStatus::Sending);
        if c.rec.delivery.is_none() || in_doubt {
            // One read gives the delivery kind and, after a crash, which keys SkyHub already has.
            let resp = match self.skyhub(&self.cfg.skyhub.get_order(&code)).await {
                Ok(r) => r,
                Err(e) => {
                    self.retry(c, format!("reading SkyHub order {code}: {e}"));
                    return Ok(());
                }
            };
            match outcome(&format!("reading SkyHub order {code}"), &resp) {
                Outcome::Ok => {}
                Outcome::Retry(m) => {
                    self.retry(c, m);
                    return Ok(());
                }
                Outcome::Fatal(m) => {
                    self.fail(c, Stage::Invoice, m);
                    return Ok(());
                }
            }
            let sky = match SkyhubOrder::parse(&resp.body) {
                Ok(o) => o,
                Err(e) => {
                    self.retry(c, format!("reading SkyHub order {code}: {e}"));
                    return Ok(());
                }
            };
            let kind = sky.kind();
            if c.rec.delivery != Some(kind) {
                c.rec.delivery = Some(kind);
                c.rec
                    .note(self.rt.now(), format!("SkyHub delivery: {}", kind.as_str()));
            }
            let now = self.rt.now();
            for inv in c
                .rec
                .invoices
                .iter_mut()
                .filter(|i| i.status == InvoiceStatus::Sending)
            {
                inv.status = if sky.has_invoice(inv.key.as_str()) {
                    InvoiceStatus::Sent
                } else {
                    InvoiceStatus::Pending
                };
            }
            if in_doubt {
                c.rec.note(
                    now,
                    "checked SkyHub for invoices whose answer was lost (a timeout, an error, a restart)",
                );
            }
            self.commit(c).await?;
        }
        let kind = c.rec.delivery.unwrap_or(ShipmentKind::Own);
        for i in 0..c.rec.invoices.len() {
            if c.rec.invoices[i].status == InvoiceStatus::Sent || c.lost {
                continue;
            }
            // The wait for the rate limit comes first; then the key is marked "sending", which
            // also renews the lease, so no other worker takes the order while it waits.
            if self.pace(RequestClass::OrdersWrite).await.is_err() {
                return Ok(()); // stopping: not sent, the order resumes at the next start
            }
            c.rec.invoices[i].status = InvoiceStatus::Sending;
            self.commit(c).await?;
            if c.lost {
                return Ok(());
            }
            let key = c.rec.invoices[i].key.clone();
            let req = self.cfg.skyhub.invoice(&code, &c.rec.invoices[i], kind);
            let what = format!("sending NF-e {key} of {code}");
            match self.call(&req).await {
                Err(e) => {
                    // It may have arrived: the key stays "sending" and is checked before resending.
                    self.retry_after(c, format!("{what}: {e}"), Wait::InDoubt);
                    return Ok(());
                }
                Ok(resp) => match outcome(&what, &resp) {
                    Outcome::Ok => {
                        c.rec.invoices[i].status = InvoiceStatus::Sent;
                        c.rec.note(
                            self.rt.now(),
                            format!("NF-e {key} sent to SkyHub ({})", resp.status),
                        );
                        self.log(
                            "info",
                            "invoice sent",
                            Some(&c.rec),
                            json!({ "key": key.as_str() }),
                        );
                        self.commit(c).await?;
                    }
                    Outcome::Retry(m) => {
                        if resp.status == 429 {
                            c.rec.invoices[i].status = InvoiceStatus::Pending; // refused, not processed
                            self.retry_after(c, m, Wait::RateLimited);
                        } else {
                            self.retry_after(c, m, Wait::InDoubt);
                        }
                        return Ok(());
                    }
                    Outcome::Fatal(m) => {
                        c.rec.invoices[i].status = InvoiceStatus::Pending;
                        self.fail(c, Stage::Invoice, m);
                        return Ok(());
                    }
                },
            }
        }
        if c.lost {
            return Ok(());
        }
        let now = self.rt.now();
        c.rec.attempts = 0;
        c.rec.last_error = None;
        if kind == ShipmentKind::Direct {
            c.rec.collection_since = Some(now);
            c.rec.next_at = Some(now);
            self.transition(
                c,
                State::CollectionPending,
                "invoiced at SkyHub (Direct): pickup to be requested".into(),
            );
        } else {
            self.transition(
                c,
                State::Invoiced,
                format!("invoiced at SkyHub ({}): nothing more to do", kind.as_str()),
            );
        }
        Ok(())
    }

    /// Reads every page of a listing (until an empty page, a repeated page or the cap).
    /// Stops early once every code of `wanted` was seen.
    async fn scan(
        &self,
        what: &str,
        wanted: &BTreeSet<String>,
        page: impl Fn(u32) -> HttpRequest,
    ) -> std::result::Result<Vec<Listed>, String> {
        let mut all: Vec<Listed> = Vec::new();
        let mut seen = BTreeSet::new();
        for offset in 1..=MAX_LISTING_PAGES {
            // A listing read is safe to repeat: a page that fails is asked again a few times
            // before the whole batch of orders waits for the next round.
            let mut tries = 0;
            let orders = loop {
                tries += 1;
                let err = match self.skyhub(&page(offset)).await {
                    Err(e) => format!("{what}: {e}"),
                    Ok(resp) => match outcome(what, &resp) {
                        Outcome::Ok => match skyhub::parse_listing(&resp.body) {
                            Ok(orders) => break orders,
                            Err(e) => format!("{what}: {e}"),
                        },
                        Outcome::Fatal(m) => return Err(m),
                        Outcome::Retry(m) => m,
                    },
                };
                if tries >= LISTING_PAGE_TRIES {
                    return Err(err);
                }
            };
            let full_page = orders.len() >= LISTING_PAGE_SIZE;
            let fresh: Vec<Listed> = orders
                .into_iter()
                .filter(|o| seen.insert(o.code.clone()))
                .collect();
            // A short page is the last one; a page of codes already seen means SkyHub
            // ignored the offset.
            if fresh.is_empty() {
                break;
            }
            all.extend(fresh);
            if !full_page || wanted.iter().all(|w| seen.contains(w)) {
                break;
            }
        }
        Ok(all)
    }

    /// Scans a listing for the orders `among` of the batch; the scan may stop once every one of
    /// `wanted` is seen. `Some` of those listed, with their code as listed; `None` when the scan
    /// failed, every order of `among` then retried.
    async fn find_listed(
        &self,
        batch: &mut [Claimed],
        among: &[usize],
        wanted: &[usize],
        what: &str,
        page: impl Fn(u32) -> HttpRequest,
    ) -> Option<Vec<(usize, String)>> {
        let want: BTreeSet<String> = wanted
            .iter()
            .filter_map(|&i| batch[i].rec.skyhub_code.as_ref().map(|c| c.remote().0))
            .collect();
        match self.scan(what, &want, page).await {
            Ok(list) => Some(
                among
                    .iter()
                    .filter_map(|&i| {
                        let code = batch[i].rec.skyhub_code.as_ref()?;
                        let remote = code.remote();
                        let listed = list
                            .iter()
                            .find(|l| l.code == remote.as_str() || l.code == code.as_str())?;
                        Some((i, listed.code.clone()))
                    })
                    .collect(),
            ),
            Err(m) => {
                for &i in among {
                    self.retry(&mut batch[i], m.clone());
                }
                None
            }
        }
    }

    /// The Direct pickup for a batch of `collection_pending` orders: one scan of each listing
    /// serves them all; grouping and confirming go out in batches.
    async fn collect(&self, batch: &mut [Claimed]) -> Result<()> {
        let still_open = |c: &Claimed, now: u64| {
            !c.lost
                && c.rec.state == State::CollectionPending
                && c.rec.next_at.is_some_and(|t| t <= now)
        };
        let now = self.rt.now();
        let mut open: Vec<usize> = (0..batch.len())
            .filter(|&i| still_open(&batch[i], now))
            .collect();

        // 1. Group the orders SkyHub offers for grouping into PLPs.
        // The scan stops once every order not yet grouped is seen; any open order it lists
        // (one an operator ungrouped, say) is grouped again.
        let ungrouped: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| !batch[i].rec.grouped)
            .collect();
        let to_group = |o| self.cfg.skyhub.to_group(o);
        let Some(groupable) = self
            .find_listed(
                batch,
                &open,
                &ungrouped,
                "listing orders to group",
                to_group,
            )
            .await
        else {
            return Ok(());
        };
        for chunk in groupable.chunks(skyhub::PLP_MAX_ORDERS) {
            let codes: Vec<_> = chunk
                .iter()
                .map(|(_, c)| crate::ids::RemoteCode(c.clone()))
                .collect();
            let what = format!("grouping {} order(s) into a PLP", codes.len());
            let res = self.skyhub(&self.cfg.skyhub.group(&codes)).await;
            let out = match &res {
                Ok(resp) => outcome(&what, resp),
                Err(e) => Outcome::Retry(format!("{what}: {e}")),
            };
            for &(i, _) in chunk {
                match &out {
                    Outcome::Ok => {
                        let plp = res
                            .as_ref()
                            .ok()
                            .and_then(|r| skyhub::parse_plp_id(&r.body));
                        let note = match &plp {
                            Some(id) => format!("grouped into PLP {id}"),
                            None => "grouped into a PLP".to_string(),
                        };
                        batch[i].rec.plp_id = plp;
                        batch[i].rec.grouped = true;
                        batch[i].rec.attempts = 0;
                        batch[i].rec.note(self.rt.now(), note);
                        self.commit(&mut batch[i]).await?;
                    }
                    Outcome::Retry(m) => self.retry(&mut batch[i], m.clone()),
                    Outcome::Fatal(m) => self.fail(&mut batch[i], Stage::Collection, m.clone()),
                }
            }
        }
        let now = self.rt.now();
        open.retain(|&i| still_open(&batch[i], now));
        if open.is_empty() {
            return Ok(());
        }

        // 2. Confirm the pickup of the orders SkyHub lists as ready to collect.
        let collectables = |o| self.cfg.skyhub.collectables(false, o);
        let Some(confirmable) = self
            .find_listed(batch, &open, &open, "listing collectables", collectables)
            .await
        else {
            return Ok(());
        };
        for chunk in confirmable.chunks(skyhub::CONFIRM_MAX_ORDERS) {
            if self.pace(RequestClass::Shipments).await.is_err() {
                return Ok(()); // stopping: nothing sent
            }
            for &(i, _) in chunk {
                batch[i].rec.confirming = true;
                self.commit(&mut batch[i]).await?;
            }
            let chunk: Vec<(usize, String)> = chunk
                .iter()
                .filter(|(i, _)| !batch[*i].lost)
                .cloned()
                .collect();
            if chunk.is_empty() {
                continue;
            }
            let codes: Vec<String> = chunk.iter().map(|(_, c)| c.clone()).collect();
            let what = format!("requesting the pickup of {} order(s)", codes.len());
            let res = self.call(&self.cfg.skyhub.confirm_collection(&codes)).await;
            let (out, refused) = match &res {
                Ok(resp) => (
                    outcome(&what, resp),
                    resp.status == 429 || (400..500).contains(&resp.status),
                ),
                Err(e) => (Outcome::Retry(format!("{what}: {e}")), false),
            };
            for &(i, _) in &chunk {
                match &out {
                    Outcome::Ok => {
                        batch[i].rec.confirming = false;
                        batch[i].rec.attempts = 0;
                        batch[i].rec.last_error = None;
                        self.transition(
                            &mut batch[i],
                            State::CollectionRequested,
                            "pickup requested at SkyHub (B2W Coleta)".into(),
                        );
                    }
                    Outcome::Retry(m) => {
                        // A refused request was not processed; anything else may have been.
                        if refused {
                            batch[i].rec.confirming = false;
                            self.retry_after(&mut batch[i], m.clone(), Wait::RateLimited);
                        } else {
                            self.retry_after(&mut batch[i], m.clone(), Wait::InDoubt);
                        }
                    }
                    Outcome::Fatal(m) => {
                        batch[i].rec.confirming = false;
                        self.fail(&mut batch[i], Stage::Collection, m.clone());
                    }
                }
            }
        }
        let now = self.rt.now();
        open.retain(|&i| still_open(&batch[i], now));

        // 3. Orders in neither list: after a possible earlier confirm, SkyHub's list of
        //    requested pickups says whether it went through.
        let in_doubt: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| batch[i].rec.confirming || batch[i].rec.grouped)
            .collect();
        if !in_doubt.is_empty() {
            let requested = |o| self.cfg.skyhub.collectables(true, o);
            if let Some(found) = self
                .find_listed(
                    batch,
                    &in_doubt,
                    &in_doubt,
                    "listing requested pickups",
                    requested,
                )
                .await
            {
                for (i, _) in found {
                    batch[i].rec.confirming = false;
                    self.transition(
                        &mut batch[i],
                        State::CollectionRequested,
                        "SkyHub lists the pickup as requested".into(),
                    );
                }
            }
        }
        let now = self.rt.now();
        for &i in &open {
            if !still_open(&batch[i], now) {
                continue;
            }
            let c = &mut batch[i];
            let since = c.rec.collection_since.unwrap_or(c.rec.created_at);
            if now.saturating_sub(since) > self.cfg.collection_max_wait_ms {
                let hours = self.cfg.collection_max_wait_ms / 3_600_000;
                self.fail(
                    c,
                    Stage::Collection,
                    format!(
                        "SkyHub did not offer the order for grouping or pickup within {hours} h"
                    ),
                );
            } else {
                c.rec.next_at = Some(now + self.cfg.collection_poll_ms);
                let note = if c.rec.grouped {
                    "grouped: waiting for SkyHub to list the order as collectable"
                } else {
                    "waiting for SkyHub to list the order for grouping (its label comes after the invoice is processed)"
                };
                c.rec.note(now, note);
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- operator API

    pub async fn order(&self, id: &str) -> Result<Option<OrderRecord>> {
        Ok(self.store.get(id).await?.map(|s| s.record))
    }

    pub async fn list(
        &self,
        state: Option<State>,
        search: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<OrderRecord>> {
        Ok(self
            .store
            .list(state, search, limit, offset)
            .await?
            .into_iter()
            .map(|s| s.record)
            .collect())
    }

    /// The OMS hook configuration (Orders Feed v3): whether VTEX calls `url` with the current
    /// `X-Hook-Secret`. `{ok, url?, filter?, problem?}`; `Err` when VTEX cannot be asked.
    pub async fn hook_status(&self, url: &str) -> std::result::Result<Value, String> {
        let req = HttpRequest {
            method: "GET",
            url: format!("{}/api/orders/hook/config", self.cfg.vtex_base_url),
            headers: self.oms_headers(),
            body: None,
        };
        let resp = self
            .http
            .send(&req, self.cfg.http_timeout_ms)
            .await
            .map_err(|e| format!("reading the hook configuration: {e}"))?;
        let cfg: Value = match resp.status {
            200 => serde_json::from_str(&resp.body).unwrap_or(Value::Null),
            404 => Value::Null,
            s => {
                return Err(format!(
                    "reading the hook configuration: VTEX answered {s}: {}",
                    skyhub::error_message(&resp.body)
                ))
            }
        };
        let Some(hook) = cfg.get("hook").filter(|h| h.is_object()) else {
            return Ok(json!({ "ok": false, "problem": "no hook configured on VTEX" }));
        };
        let configured = hook.get("url").and_then(Value::as_str).unwrap_or("");
        let secret = hook
            .get("headers")
            .and_then(Value::as_object)
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("x-hook-secret"))
                    .and_then(|(_, v)| v.as_str())
            });
        let problem = if configured != url {
            Some(format!("the hook points at {configured}, not {url}"))
        } else if !self
            .cfg
            .hook_secret
            .as_ref()
            .is_some_and(|s| secret.is_some_and(|v| s.matches(v)))
        {
            Some("the hook does not send the current HOOK_SECRET".to_string())
        } else {
            None
        };
        Ok(
            json!({ "ok": problem.is_none(), "url": configured, "filter": cfg.get("filter"), "problem": problem }),
        )
    }

    /// Configures the OMS hook to call `url` with `X-Hook-Secret`: `FromWorkflow` on
    /// `invoiced`, or with `partial` the `FromOrders` expression that also reports each
    /// partial invoice. VTEX pings `url` while saving and keeps the configuration only on a 200.
    pub async fn hook_setup(&self, url: &str, partial: bool) -> std::result::Result<Value, String> {
        let Some(secret) = &self.cfg.hook_secret else {
            return Err("HOOK_SECRET is not set: the hook would be open to anyone".into());
        };
        let filter = if partial {
            json!({ "type": "FromOrders", "expression": "$count(packageAttachment.packages) > 0", "disableSingleFire": true })
        } else {
            json!({ "type": "FromWorkflow", "status": ["invoiced"] })
        };
        let body = json!({ "filter": filter, "hook": { "url": url, "headers": { "X-Hook-Secret": secret.expose() } } });
        let mut headers = self.oms_headers();
        headers.push(("Content-Type".into(), "application/json".into()));
        let req = HttpRequest {
            method: "POST",
            url: format!("{}/api/orders/hook/config", self.cfg.vtex_base_url),
            headers,
            body: Some(body.to_string()),
        };
        let resp = self
            .http
            .send(&req, self.cfg.http_timeout_ms)
            .await
            .map_err(|e| format!("configuring the hook: {e}"))?;
        if !(200..300).contains(&resp.status) {
            return Err(format!(
                "VTEX refused the hook ({}): {}",
                resp.status,
                skyhub::error_message(&resp.body)
            ));
        }
        self.log(
            "info",
            "OMS hook configured",
            None,
            json!({ "url": url, "filter": filter["type"] }),
        );
        Ok(json!({ "ok": true, "url": url, "filter": filter }))
    }

    /// The keeper: re-creates the hook when VTEX dropped it or it points elsewhere.
    pub async fn ensure_hook(&self) -> std::result::Result<Value, String> {
        let Some(url) = self.cfg.hook_url.clone() else {
            return Err("HOOK_URL is not set".into());
        };
        let status = self.hook_status(&url).await?;
        if status["ok"] == json!(true) {
            return Ok(status);
        }
        self.log(
            "warn",
            "OMS hook missing or stale: configuring it again",
            None,
            json!({ "problem": status["problem"] }),
        );
        self.hook_setup(&url, false).await
    }

    /// The PLPs SkyHub holds for the account (first page): `{"plps": [{id, type, expirationDate, orders}]}`.
    pub async fn plps(&self) -> std::result::Result<Value, String> {
        let what = "listing PLPs";
        let resp = self
            .skyhub(&self.cfg.skyhub.plp_list(1))
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if let Outcome::Retry(m) | Outcome::Fatal(m) = outcome(what, &resp) {
            return Err(m);
        }
        let v: Value =
            serde_json::from_str(&resp.body).map_err(|e| format!("{what}: SkyHub answered {e}"))?;
        let plps: Vec<Value> = v
            .get("plp")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|p| {
                        json!({
                            "id": p.get("id").map(|id| id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string())),
                            "type": p.get("type"),
                            "expirationDate": p.get("expiration_date"),
                            "orders": p.get("orders").and_then(Value::as_array).map_or(0, Vec::len),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({ "plps": plps }))
    }

    /// A PLP's labels as SkyHub renders them, a PDF to print; `Err((status, message))`.
    pub async fn plp_labels(&self, plp_id: &str) -> std::result::Result<Vec<u8>, (u16, String)> {
        let what = format!("labels of PLP {plp_id}");
        let resp = self
            .skyhub(&self.cfg.skyhub.plp_labels(plp_id))
            .await
            .map_err(|e| (502, format!("{what}: {e}")))?;
        match outcome(&what, &resp) {
            Outcome::Ok if resp.bytes.starts_with(b"%PDF") => Ok(resp.bytes),
            Outcome::Ok => Err((502, format!("{what}: SkyHub did not answer a PDF"))),
            Outcome::Fatal(m) if resp.status == 404 => Err((404, m)),
            Outcome::Retry(m) | Outcome::Fatal(m) => Err((502, m)),
        }
    }

    /// Reconciliation: lists the orders OMS invoiced in the last `hours` and records those
    /// no hook brought (VTEX drops an idle hook configuration; the service may have been
    /// down). Orders already known are left as they are.
    pub async fn reconcile(&self, hours: u64) -> std::result::Result<Value, String> {
        let now = self.rt.now();
        let from = crate::record::iso8601(now.saturating_sub(hours * 3_600_000));
        let to = crate::record::iso8601(now);
        let (mut listed, mut added) = (0u64, 0u64);
        for page in 1..=RECONCILE_MAX_PAGES {
            let filter = crate::ids::percent_encode(&format!("creationDate:[{from} TO {to}]"));
            let req = HttpRequest {
                method: "GET",
                url: format!(
                    "{}/api/oms/pvt/orders?f_creationDate={filter}&f_status=invoiced&per_page=100&page={page}",
                    self.cfg.vtex_base_url
                ),
                headers: self.oms_headers(),
                body: None,
            };
            self.pace(RequestClass::Oms)
                .await
                .map_err(|e| e.to_string())?;
            let resp = self
                .http
                .send(&req, self.cfg.http_timeout_ms)
                .await
                .map_err(|e| format!("listing OMS orders: {e}"))?;
            if resp.status != 200 {
                return Err(format!(
                    "listing OMS orders: OMS answered {}: {}",
                    resp.status,
                    skyhub::error_message(&resp.body)
                ));
            }
            let (ids, pages) = crate::oms::parse_order_list(&resp.body)
                .map_err(|e| format!("listing OMS orders: {e}"))?;
            for id in ids {
                listed += 1;
                let Ok(order_id) = OrderId::parse(&id) else {
                    continue;
                };
                if self
                    .store
                    .get(order_id.as_str())
                    .await
                    .map_err(|e| e.to_string())?
                    .is_none()
                {
                    let mut rec = OrderRecord::new(order_id, self.rt.now());
                    rec.history[0].note = "found by reconciliation (no hook came)".into();
                    if self.store.insert(&rec).await.map_err(|e| e.to_string())? {
                        added += 1;
                        self.log("info", "found by reconciliation", Some(&rec), json!({}));
                    }
                }
            }
            if page >= pages {
                break;
            }
        }
        self.count("b2w_coleta_reconciliations_total".into());
        Ok(json!({ "hours": hours, "listed": listed, "added": added }))
    }

    /// Puts a failed order back in the queue at the stage it failed.
    pub async fn retry_order(&self, id: &str) -> Result<std::result::Result<OrderRecord, String>> {
        for _ in 0..20 {
            let Some(Stored {
                mut record,
                version,
            }) = self.store.get(id).await?
            else {
                return Ok(Err(format!("no order {id}")));
            };
            if record.state != State::Failed {
                return Ok(Err(format!(
                    "order {id} is {}: only failed orders can be retried",
                    record.state.as_str()
                )));
            }
            let now = self.rt.now();
            let (state, refresh) = match record.failed_stage {
                Some(Stage::Invoice) => (State::InvoicePending, false),
                Some(Stage::Collection) => (State::CollectionPending, false),
                Some(Stage::Oms) | None => (State::WaitingInvoice, true),
            };
            record.refresh = refresh;
            record.attempts = 0;
            record.next_at = Some(now);
            if state == State::CollectionPending {
                record.collection_since = Some(now);
            }
            record.transition(now, state, "retry requested by the operator");
            if self.store.update(&record, version).await? {
                self.log(
                    "info",
                    "retry requested by the operator",
                    Some(&record),
                    json!({}),
                );
                return Ok(Ok(record));
            }
        }
        Err(Error::Store(format!(
            "order {id}: too many concurrent updates"
        )))
    }

    /// Prometheus text format.
    pub async fn metrics(&self) -> Result<String> {
        let mut out = String::new();
        let counts = self.store.counts().await?;
        out.push_str("# HELP b2w_coleta_orders Orders by state.\n# TYPE b2w_coleta_orders gauge\n");
        for s in State::ALL {
            let n = counts
                .iter()
                .find(|(k, _)| k == s.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            out.push_str(&format!(
                "b2w_coleta_orders{{state=\"{}\"}} {n}\n",
                s.as_str()
            ));
        }
        let now = self.rt.now();
        let (due, oldest) = self.store.due_stats(now).await?;
        out.push_str("# HELP b2w_coleta_due_orders Orders due for work now (the queue).\n# TYPE b2w_coleta_due_orders gauge\n");
        out.push_str(&format!("b2w_coleta_due_orders {due}\n"));
        out.push_str("# HELP b2w_coleta_oldest_due_age_seconds How long the oldest due order has waited.\n# TYPE b2w_coleta_oldest_due_age_seconds gauge\n");
        let age = oldest.map_or(0.0, |t| now.saturating_sub(t) as f64 / 1000.0);
        out.push_str(&format!("b2w_coleta_oldest_due_age_seconds {age}\n"));
        self.hook_latency
            .borrow()
            .render("b2w_coleta_hook_duration_seconds", &mut out);
        let m = self.metrics.borrow();
        let mut typed = BTreeSet::new();
        for (series, n) in m.iter() {
            let name = series.split('{').next().unwrap_or(series);
            if typed.insert(name.to_string()) {
                out.push_str(&format!("# TYPE {name} counter\n"));
            }
            out.push_str(&format!("{series} {n}\n"));
        }
        Ok(out)
    }
}

/// The JSON the API shows for an order: never the NF-e XML.
pub fn view(r: &OrderRecord) -> Value {
    json!({
        "orderId": r.order_id.as_str(),
        "skyhubCode": r.skyhub_code.as_ref().map(SkyhubCode::as_str),
        "state": r.state.as_str(),
        "delivery": r.delivery.map(ShipmentKind::as_str),
        "attempts": r.attempts,
        "lastError": r.last_error,
        "history": r.history,
        "invoices": r.invoices.iter().map(|i| json!({ "key": i.key.as_str(), "status": i.status })).collect::<Vec<_>>(),
        "plpId": r.plp_id,
        "nextAttemptAt": r.next_at.filter(|_| !r.state.is_final()).map(crate::record::iso8601),
        "createdAt": crate::record::iso8601(r.created_at),
        "updatedAt": crate::record::iso8601(r.updated_at),
    })
}
