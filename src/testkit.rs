//! Native fakes of the ports for engine tests: a virtual clock, an in-memory store with
//! compare-and-set, and one HTTP fake that plays OMS and SkyHub (auth, listings, faults),
//! recording every call so tests assert on what was sent.
#![cfg(test)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::ports::{HttpClient, HttpRequest, HttpResponse, Runtime, Store, Stored};
use crate::record::{OrderRecord, State};

pub struct Clock {
    pub now: Cell<u64>,
    seed: Cell<u64>,
}

impl Runtime for &Clock {
    fn now(&self) -> u64 {
        self.now.get()
    }
    async fn sleep(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
    fn random(&self) -> f64 {
        // a fixed LCG: runs are repeatable
        let s = self
            .seed
            .get()
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.seed.set(s);
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
    fn log(&self, _level: &str, _line: &str) {}
}

#[derive(Default)]
pub struct MemStore {
    pub rows: RefCell<BTreeMap<String, (OrderRecord, u64)>>,
}

impl Store for &MemStore {
    async fn get(&self, id: &str) -> Result<Option<Stored>> {
        Ok(self.rows.borrow().get(id).map(|(r, v)| Stored {
            record: r.clone(),
            version: *v,
        }))
    }
    async fn insert(&self, rec: &OrderRecord) -> Result<bool> {
        let mut rows = self.rows.borrow_mut();
        if rows.contains_key(rec.order_id.as_str()) {
            return Ok(false);
        }
        rows.insert(rec.order_id.to_string(), (rec.clone(), 1));
        Ok(true)
    }
    async fn update(&self, rec: &OrderRecord, expected: u64) -> Result<bool> {
        let mut rows = self.rows.borrow_mut();
        match rows.get_mut(rec.order_id.as_str()) {
            Some((r, v)) if *v == expected => {
                *r = rec.clone();
                *v += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn due(&self, now: u64, limit: u32, collection: bool) -> Result<Vec<Stored>> {
        let mut due: Vec<Stored> = self
            .rows
            .borrow()
            .values()
            .filter(|(r, _)| {
                r.next_at.is_some_and(|t| t <= now)
                    && (r.state == State::CollectionPending) == collection
            })
            .map(|(r, v)| Stored {
                record: r.clone(),
                version: *v,
            })
            .collect();
        due.sort_by_key(|s| (s.record.next_at, s.record.created_at));
        due.truncate(limit as usize);
        Ok(due)
    }
    async fn list(
        &self,
        state: Option<State>,
        search: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Stored>> {
        let found = |r: &OrderRecord| {
            search.is_none_or(|q| {
                let q = q.to_lowercase();
                r.order_id.as_str().to_lowercase().contains(&q)
                    || r.skyhub_code
                        .as_ref()
                        .is_some_and(|c| c.as_str().to_lowercase().contains(&q))
            })
        };
        let mut all: Vec<Stored> = self
            .rows
            .borrow()
            .values()
            .filter(|(r, _)| state.is_none_or(|s| r.state == s) && found(r))
            .map(|(r, v)| Stored {
                record: r.clone(),
                version: *v,
            })
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.record.created_at));
        Ok(all
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect())
    }
    async fn counts(&self) -> Result<Vec<(String, u64)>> {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for (r, _) in self.rows.borrow().values() {
            *m.entry(r.state.as_str().to_string()).or_default() += 1;
        }
        Ok(m.into_iter().collect())
    }
    async fn ping(&self) -> Result<()> {
        Ok(())
    }
    async fn due_stats(&self, now: u64) -> Result<(u64, Option<u64>)> {
        let rows = self.rows.borrow();
        let due: Vec<u64> = rows
            .values()
            .filter_map(|(r, _)| r.next_at.filter(|&t| t <= now))
            .collect();
        Ok((due.len() as u64, due.iter().min().copied()))
    }
}

#[derive(Debug, Clone)]
pub struct SkyOrder {
    pub kind: Option<&'static str>,
    pub status: &'static str,
    pub invoices: Vec<String>,
    pub invoiced_at: Option<u64>,
    pub grouped: bool,
    pub requested: bool,
}

/// What a fault does to the next matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Status(u16),
    /// No answer reaches the client, and the server never saw the request.
    Lost,
    /// The server processed the request, but the answer was lost.
    ProcessedThenLost,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub at: u64,
    pub method: &'static str,
    pub path: String,
    pub body: String,
    pub status: u16,
}

pub struct World {
    pub oms: RefCell<BTreeMap<String, String>>,
    pub sky: RefCell<BTreeMap<String, SkyOrder>>,
    pub faults: RefCell<VecDeque<(String, Fault)>>,
    pub calls: RefCell<Vec<Call>>,
    pub processing_ms: u64,
}

pub struct Http<'a>(pub &'a World, pub &'a Clock);

fn remote(code: &str) -> String {
    crate::ids::SkyhubCode::parse(code).unwrap().remote().0
}

fn decode(p: &str) -> String {
    let mut out = Vec::new();
    let b = p.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&p[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

impl HttpClient for Http<'_> {
    async fn send(&self, req: &HttpRequest, _timeout: u32) -> Result<HttpResponse> {
        let w = self.0;
        let now = self.1.now.get();
        let path_q = req
            .url
            .splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default();
        let (path, query) = path_q
            .split_once('?')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .unwrap_or((path_q.clone(), String::new()));
        let path = decode(&path);
        let key = format!("{} {}", req.method, path);
        let fault = {
            let mut f = w.faults.borrow_mut();
            let pos = f.iter().position(|(m, _)| key.contains(m.as_str()));
            pos.and_then(|p| f.remove(p)).map(|(_, x)| x)
        };
        let body = req.body.clone().unwrap_or_default();
        let record = |status: u16| {
            w.calls.borrow_mut().push(Call {
                at: now,
                method: req.method,
                path: path.clone(),
                body: body.clone(),
                status,
            })
        };
        match fault {
            Some(Fault::Lost) => {
                record(0);
                return Err(Error::Network("connection reset".into()));
            }
            Some(Fault::Status(s)) => {
                record(s);
                return Ok(HttpResponse {
                    bytes: Vec::new(),
                    status: s,
                    body: json!({ "error": format!("injected {s}") }).to_string(),
                });
            }
            _ => {}
        }
        let (status, out) = self.route(req, &path, &query, now);
        record(status);
        if fault == Some(Fault::ProcessedThenLost) {
            return Err(Error::Network("timed out".into()));
        }
        Ok(HttpResponse {
            status,
            body: out,
            bytes: Vec::new(),
        })
    }
}

impl Http<'_> {
    fn route(&self, req: &HttpRequest, path: &str, query: &str, now: u64) -> (u16, String) {
        let w = self.0;
        let h = |n: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        if path == "/api/oms/pvt/orders" {
            let page: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("page="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let ids: Vec<Value> = w
                .oms
                .borrow()
                .keys()
                .skip((page - 1) * 2)
                .take(2)
                .map(|id| json!({ "orderId": id }))
                .collect();
            let pages = w.oms.borrow().len().div_ceil(2);
            return (
                200,
                json!({ "list": ids, "paging": { "pages": pages } }).to_string(),
            );
        }
        if let Some(id) = path.strip_prefix("/api/oms/pvt/orders/") {
            if h("X-VTEX-API-AppKey") != Some("appkey")
                || h("X-VTEX-API-AppToken") != Some("apptoken")
            {
                return (401, "{}".into());
            }
            return match w.oms.borrow().get(id) {
                Some(o) => (200, o.clone()),
                None => (404, r#"{"error":{"message":"not found"}}"#.into()),
            };
        }
        if h("X-User-Email") != Some("e@x")
            || h("X-Api-Key") != Some("key")
            || h("X-Accountmanager-Key") != Some("am")
        {
            return (401, r#"{"error":"unauthorized"}"#.into());
        }
        let mut sky = w.sky.borrow_mut();
        let offset: usize = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("offset="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let page = |codes: Vec<String>| {
            let list: Vec<Value> = codes
                .into_iter()
                .skip((offset - 1) * 20)
                .take(20)
                .map(|c| json!({ "code": c }))
                .collect();
            (200, json!({ "orders": list }).to_string())
        };
        let offered = |o: &SkyOrder| {
            o.kind.is_some_and(|k| k.starts_with("b2wentrega"))
                && o.invoiced_at.is_some_and(|t| now >= t + w.processing_ms)
                && !o.grouped
        };
        match (req.method, path) {
            ("GET", "/orders") => {
                let per_page: usize = query.split('&').find_map(|kv| kv.strip_prefix("per_page=")).and_then(|v| v.parse().ok()).unwrap_or(30);
                let page: usize = query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|v| v.parse().ok()).unwrap_or(1);
                let approved: Vec<Value> = sky
                    .iter()
                    .filter(|(_, o)| o.status == "payment_received")
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(|(c, o)| json!({ "code": c, "calculation_type": o.kind }))
                    .collect();
                (200, json!({ "total": approved.len(), "orders": approved }).to_string())
            }
            ("GET", p) if p.starts_with("/orders/") => match sky.get(&p[8..]) {
                Some(o) => (
                    200,
                    json!({ "code": &p[8..], "calculation_type": o.kind, "invoices": o.invoices.iter().map(|k| json!({"key": k})).collect::<Vec<_>>() })
                        .to_string(),
                ),
                None => (404, r#"{"error":"Pedido não encontrado"}"#.into()),
            },
            ("POST", p) if p.starts_with("/orders/") && p.ends_with("/invoice") => {
                let code = &p[8..p.len() - 8];
                let Some(o) = sky.get_mut(code) else { return (404, r#"{"error":"Pedido não encontrado"}"#.into()) };
                if o.status != "payment_received" && o.status != "order_invoiced" {
                    return (422, r#"{"error":"Transição de status inválida"}"#.into());
                }
                let body = req.body.as_deref().unwrap_or("");
                let key = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|v| v["invoice"]["key"].as_str().map(str::to_string))
                    .or_else(|| body.find("<chNFe>").map(|i| body[i + 7..i + 51].to_string()))
                    .unwrap_or_default();
                o.invoices.push(key);
                o.status = "order_invoiced";
                o.invoiced_at.get_or_insert(now);
                (201, String::new())
            }
            ("GET", "/shipments/b2w/to_group") => {
                page(sky.iter().filter(|(_, o)| offered(o)).map(|(c, _)| remote(c)).collect())
            }
            ("POST", "/shipments/b2w") => {
                let v: Value = serde_json::from_str(req.body.as_deref().unwrap_or("")).unwrap();
                let codes: Vec<String> = v["order_remote_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
                if codes.len() > 25 {
                    return (422, r#"{"error":"limite de 25"}"#.into());
                }
                for rc in &codes {
                    match sky.iter_mut().find(|(c, _)| &remote(c) == rc) {
                        Some((_, o)) if offered(o) => o.grouped = true,
                        _ => return (422, format!(r#"{{"error":"{rc} não disponível"}}"#)),
                    }
                }
                (201, r#"{"message":"Plp 4242 agrupada com sucesso."}"#.into())
            }
            ("GET", "/shipments/b2w/collectables") => {
                let requested = query.contains("requested=true");
                page(
                    sky.iter()
                        .filter(|(_, o)| o.kind == Some("b2wentregadirect") && o.grouped && o.requested == requested)
                        .map(|(c, _)| remote(c))
                        .collect(),
                )
            }
            ("POST", "/shipments/b2w/confirm_collection") => {
                let v: Value = serde_json::from_str(req.body.as_deref().unwrap_or("")).unwrap();
                for rc in v["order_codes"].as_array().unwrap() {
                    match sky.iter_mut().find(|(c, _)| remote(c) == rc.as_str().unwrap()) {
                        Some((_, o)) if o.grouped && o.kind == Some("b2wentregadirect") => o.requested = true,
                        _ => return (422, r#"{"error":"não disponível"}"#.into()),
                    }
                }
                (201, "{}".into())
            }
            _ => (404, r#"{"error":"rota"}"#.into()),
        }
    }
}

impl World {
    pub fn new() -> World {
        World {
            oms: RefCell::default(),
            sky: RefCell::default(),
            faults: RefCell::default(),
            calls: RefCell::default(),
            processing_ms: 500,
        }
    }

    /// A B2W order in OMS (from the VTEX example) and at SkyHub.
    pub fn add(
        &self,
        n: u32,
        kind: Option<&'static str>,
        quantities: &[u32],
        packages: &[(&str, String, &[(usize, u32)])],
    ) -> (String, String) {
        let mut o = crate::readiness::tests::b2w_order_json(quantities, packages);
        let order_id = format!("BWW-{n}-01");
        let code = format!("Lojas Americanas-{n}-01");
        o["orderId"] = json!(order_id);
        o["marketplaceOrderId"] = json!(code);
        self.oms
            .borrow_mut()
            .insert(order_id.clone(), o.to_string());
        self.sky.borrow_mut().insert(
            code.clone(),
            SkyOrder {
                kind,
                status: "payment_received",
                invoices: vec![],
                invoiced_at: None,
                grouped: false,
                requested: false,
            },
        );
        (order_id, code)
    }

    pub fn calls_to(&self, method: &str, path_part: &str) -> Vec<Call> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.method == method && c.path.contains(path_part) && c.status != 0)
            .cloned()
            .collect()
    }

    pub fn fault(&self, pattern: &str, f: Fault) {
        self.faults.borrow_mut().push_back((pattern.to_string(), f));
    }
}

pub fn config() -> Config {
    let env: BTreeMap<String, String> = [
        ("SKYHUB_USER_EMAIL", "e@x"),
        ("SKYHUB_API_KEY", "key"),
        ("SKYHUB_ACCOUNT_MANAGER_KEY", "am"),
        ("SKYHUB_BASE_URL", "https://skyhub.test"),
        ("VTEX_BASE_URL", "https://oms.test"),
        ("VTEX_APP_KEY", "appkey"),
        ("VTEX_APP_TOKEN", "apptoken"),
        ("HOOK_SECRET", "hs"),
        ("COLLECTION_POLL_MS", "1000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Config::from_env(&env).unwrap()
}

pub fn clock() -> Clock {
    Clock {
        now: Cell::new(1_700_000_000_000),
        seed: Cell::new(7),
    }
}

pub type TestEngine<'a> = Engine<Http<'a>, &'a MemStore, &'a Clock>;

pub fn engine<'a>(w: &'a World, s: &'a MemStore, c: &'a Clock) -> TestEngine<'a> {
    Engine::new(config(), Http(w, c), s, c)
}

/// Ticks, advancing the virtual clock, until `done` holds or `max_ms` of virtual time passed.
pub fn run_until(e: &TestEngine, c: &Clock, max_ms: u64, done: impl Fn() -> bool) -> bool {
    let end = c.now.get() + max_ms;
    while c.now.get() < end {
        futures::executor::block_on(e.tick()).unwrap();
        if done() {
            return true;
        }
        c.now.set(c.now.get() + 100);
    }
    false
}
