//! The per-order record: its state (CONTRACT.md), history, attempts and the work left to do.

use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, SkyhubCode};
use crate::nfe::NfeKey;
use crate::skyhub::ShipmentKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// B2W order, not every item invoiced yet; the next hook re-reads it.
    WaitingInvoice,
    /// Every item invoiced; NF-e keys being sent to SkyHub.
    InvoicePending,
    /// SkyHub has every key. Final for Correios and own logistics.
    Invoiced,
    /// Direct: invoiced, the pickup not yet requested (grouping into a PLP, then confirming).
    CollectionPending,
    /// Direct: the pickup is requested. Final.
    CollectionRequested,
    /// Not a B2W order. Final.
    Ignored,
    /// Canceled in OMS before anything was due. Final.
    Canceled,
    /// Stopped with `last_error`; `POST /api/orders/{id}/retry` puts it back.
    Failed,
}

impl State {
    pub const ALL: [State; 8] = [
        State::WaitingInvoice,
        State::InvoicePending,
        State::Invoiced,
        State::CollectionPending,
        State::CollectionRequested,
        State::Ignored,
        State::Canceled,
        State::Failed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            State::WaitingInvoice => "waiting_invoice",
            State::InvoicePending => "invoice_pending",
            State::Invoiced => "invoiced",
            State::CollectionPending => "collection_pending",
            State::CollectionRequested => "collection_requested",
            State::Ignored => "ignored",
            State::Canceled => "canceled",
            State::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }
    /// Nothing more is ever done for the order.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Invoiced | State::CollectionRequested | State::Ignored | State::Canceled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Pending,
    /// The POST may have left: after a crash, SkyHub's order is read before sending again.
    Sending,
    Sent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceWork {
    pub key: NfeKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
    #[serde(default)]
    pub volumes: u32,
    pub status: InvoiceStatus,
}

/// Where a failure came from: an OMS data failure reopens on the next hook (the seller may
/// have fixed the invoice); a SkyHub refusal waits for the operator's retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Oms,
    Invoice,
    Collection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub at: String,
    pub state: State,
    pub note: String,
}

pub const HISTORY_MAX: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRecord {
    pub order_id: OrderId,
    pub skyhub_code: Option<SkyhubCode>,
    pub state: State,
    pub delivery: Option<ShipmentKind>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// A hook arrived since the order was last read from OMS.
    #[serde(default)]
    pub refresh: bool,
    #[serde(default)]
    pub invoices: Vec<InvoiceWork>,
    #[serde(default)]
    pub plp_id: Option<String>,
    /// SkyHub accepted the order into a PLP.
    #[serde(default)]
    pub grouped: bool,
    /// `confirm_collection` may have left: SkyHub's `requested=true` list is checked first.
    #[serde(default)]
    pub confirming: bool,
    #[serde(default)]
    pub failed_stage: Option<Stage>,
    /// When the order is next due; `None` while it waits for a hook or is final.
    pub next_at: Option<u64>,
    /// The claim of the worker processing it, until `next_at`.
    #[serde(default)]
    pub lease: Option<String>,
    /// When the Direct order entered `collection_pending`, to bound the wait for SkyHub.
    #[serde(default)]
    pub collection_since: Option<u64>,
    pub created_at: u64,
    pub updated_at: u64,
}

impl OrderRecord {
    pub fn new(order_id: OrderId, now: u64) -> OrderRecord {
        let mut r = OrderRecord {
            order_id,
            skyhub_code: None,
            state: State::WaitingInvoice,
            delivery: None,
            attempts: 0,
            last_error: None,
            history: Vec::new(),
            refresh: true,
            invoices: Vec::new(),
            plp_id: None,
            grouped: false,
            confirming: false,
            failed_stage: None,
            next_at: Some(now),
            lease: None,
            collection_since: None,
            created_at: now,
            updated_at: now,
        };
        r.note(now, "hook received");
        r
    }

    /// Appends to the history, keeping the first entry and the latest ones.
    pub fn note(&mut self, now: u64, note: impl Into<String>) {
        let note = note.into();
        if let Some(last) = self.history.last() {
            if last.state == self.state && last.note == note {
                return; // a repeat says nothing new
            }
        }
        if self.history.len() >= HISTORY_MAX {
            self.history.remove(1);
        }
        self.history.push(HistoryEntry {
            at: iso8601(now),
            state: self.state,
            note,
        });
        self.updated_at = now;
    }

    /// Moves to `state`, noting why.
    pub fn transition(&mut self, now: u64, state: State, note: impl Into<String>) {
        self.state = state;
        if state.is_final() {
            self.next_at = None;
        }
        if state != State::Failed {
            self.failed_stage = None;
        }
        self.note(now, note);
    }

    pub fn fail(&mut self, now: u64, stage: Stage, message: String) {
        self.last_error = Some(message.clone());
        self.failed_stage = Some(stage);
        self.next_at = None;
        self.transition(now, State::Failed, message);
    }

    /// A retryable failure: count it and schedule the next attempt with backoff
    /// (at most `cap_ms`, at least `min_delay_ms`).
    pub fn retry_later(
        &mut self,
        now: u64,
        message: String,
        jitter: f64,
        min_delay_ms: u64,
        cap_ms: u64,
    ) {
        self.attempts += 1;
        self.last_error = Some(message.clone());
        let delay = backoff_ms(self.attempts, jitter, cap_ms).max(min_delay_ms);
        self.next_at = Some(now + delay);
        self.note(
            now,
            format!("will retry in {} s: {message}", delay.div_ceil(1000)),
        );
    }
}

/// Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at `cap_ms` (`RETRY_MAX_MS`,
/// 5 minutes by default), each scaled into [50 %, 100 %] of its value so that many orders
/// failing together spread out.
pub fn backoff_ms(attempts: u32, jitter: f64, cap_ms: u64) -> u64 {
    const BASE: u64 = 1_000;
    let exp = BASE
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
        .min(cap_ms);
    let j = jitter.clamp(0.0, 1.0);
    (exp as f64 * (0.5 + 0.5 * j)) as u64
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_796_300_000_123), "2026-12-03T12:13:20.123Z");
        assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert_eq!(backoff_ms(1, 1.0, 300_000), 1_000);
        assert_eq!(backoff_ms(1, 0.0, 300_000), 500);
        assert_eq!(backoff_ms(2, 1.0, 300_000), 2_000);
        assert_eq!(backoff_ms(5, 1.0, 300_000), 16_000);
        assert_eq!(backoff_ms(30, 1.0, 300_000), 300_000);
        assert_eq!(backoff_ms(u32::MAX, 0.0, 300_000), 150_000);
        for a in 1..40 {
            assert!(backoff_ms(a + 1, 1.0, 300_000) >= backoff_ms(a, 1.0, 300_000));
        }
    }

    #[test]
    fn states_round_trip_and_finality() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        let finals: Vec<_> = State::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .map(State::as_str)
            .collect();
        assert_eq!(
            finals,
            ["invoiced", "collection_requested", "ignored", "canceled"]
        );
    }

    #[test]
    fn history_is_bounded_and_skips_repeats() {
        let mut r = OrderRecord::new(OrderId::parse("o-1").unwrap(), 0);
        r.note(1, "hook received");
        assert_eq!(r.history.len(), 1);
        for i in 0..200 {
            r.note(i, format!("n{i}"));
        }
        assert_eq!(r.history.len(), HISTORY_MAX);
        assert_eq!(r.history[0].note, "hook received");
        assert_eq!(r.history.last().unwrap().note, "n199");
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut r = OrderRecord::new(OrderId::parse("o-1").unwrap(), 5);
        r.fail(6, Stage::Invoice, "x".into());
        let s = serde_json::to_string(&r).unwrap();
        let back: OrderRecord = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.failed_stage, Some(Stage::Invoice));
        assert_eq!(back.state, State::Failed);
        assert_eq!(back.next_at, None);
    }
}
