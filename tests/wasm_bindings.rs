//! The JavaScript bindings for real, under `wasm-pack test --node`: the global `fetch`
//! against a local HTTP server, the store object, and the exported entry points.
#![cfg(target_arch = "wasm32")]

use b2w_coleta::error::Error;
use b2w_coleta::ids::OrderId;
use b2w_coleta::js::{JsHttp, JsStore, JsStoreAdapter};
use b2w_coleta::ports::{HttpClient, HttpRequest, Store};
use b2w_coleta::record::{OrderRecord, State};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function startServer() {
  const http = process.getBuiltinModule('node:http');
  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/slow') { setTimeout(() => { res.end('late'); }, 2000); return; }
    if (url.pathname === '/reset') { req.socket.destroy(); return; }
    const m = url.pathname.match(/^\/status\/(\d+)$/);
    const status = m ? Number(m[1]) : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body }));
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  })));
}

export function closedPort() {
  const http = process.getBuiltinModule('node:http');
  const server = http.createServer();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    server.close(() => resolve(port));
  }));
}

export function memoryStore(asPromises) {
  const rows = new Map();
  const wrap = (v) => (asPromises ? Promise.resolve(v) : v);
  return {
    get: (id) => wrap(rows.has(id) ? { data: rows.get(id).data, version: rows.get(id).version } : null),
    insert: (row) => wrap(rows.has(row.orderId) ? false : (rows.set(row.orderId, { ...row, version: 1 }), true)),
    update: (row, expected) => {
      const cur = rows.get(row.orderId);
      if (!cur || cur.version !== expected) return wrap(false);
      rows.set(row.orderId, { ...row, version: expected + 1 });
      return wrap(true);
    },
    due: (now, limit, collection) => wrap([...rows.values()]
      .filter((r) => r.nextAt !== null && r.nextAt <= now && (r.state === 'collection_pending') === collection).slice(0, limit)),
    list: (state, search, limit, offset) => wrap([...rows.values()]
      .filter((r) => (!state || r.state === state) && (!search || r.orderId.toLowerCase().includes(search.toLowerCase())))
      .reverse().slice(offset, offset + limit)),
    counts: () => { const c = {}; for (const r of rows.values()) c[r.state] = (c[r.state] || 0) + 1; return wrap(c); },
    dueStats: (now) => {
      const due = [...rows.values()].filter((r) => r.nextAt !== null && r.nextAt <= now).map((r) => r.nextAt);
      return wrap({ count: due.length, oldest: due.length ? Math.min(...due) : null });
    },
    ping: () => { if (asPromises === 'broken') throw new Error('disk gone'); return wrap(true); },
  };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = startServer)]
    fn start_server() -> js_sys::Promise;
    #[wasm_bindgen(js_name = closedPort)]
    fn closed_port() -> js_sys::Promise;
    #[wasm_bindgen(js_name = memoryStore)]
    fn memory_store(as_promises: JsValue) -> JsStore;
}

struct Server {
    url: String,
    handle: JsValue,
}

impl Drop for Server {
    fn drop(&mut self) {
        let close = js_sys::Reflect::get(&self.handle, &"close".into()).unwrap();
        let _ = close
            .unchecked_ref::<js_sys::Function>()
            .call0(&JsValue::NULL);
    }
}

async fn server() -> Server {
    let handle = JsFuture::from(start_server()).await.unwrap();
    let url = js_sys::Reflect::get(&handle, &"url".into())
        .unwrap()
        .as_string()
        .unwrap();
    Server { url, handle }
}

fn req(method: &'static str, url: String, body: Option<&str>) -> HttpRequest {
    HttpRequest {
        method,
        url,
        headers: vec![
            ("X-Api-Key".into(), "k1".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: body.map(str::to_string),
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

#[wasm_bindgen_test]
async fn fetch_sends_method_headers_and_body() {
    let s = server().await;
    let r = JsHttp
        .send(
            &req(
                "POST",
                format!("{}/orders/Lojas%20Americanas-1/invoice?x=1", s.url),
                Some("{\"a\":1}"),
            ),
            5000,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let echo = json(&r.body);
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/orders/Lojas%20Americanas-1/invoice");
    assert_eq!(echo["query"], "?x=1");
    assert_eq!(echo["headers"]["x-api-key"], "k1");
    assert_eq!(echo["headers"]["content-type"], "application/json");
    assert_eq!(echo["body"], "{\"a\":1}");
    let g = JsHttp
        .send(&req("GET", format!("{}/x", s.url), None), 5000)
        .await
        .unwrap();
    assert_eq!(json(&g.body)["method"], "GET");
}

#[wasm_bindgen_test]
async fn fetch_returns_error_statuses_with_their_bodies() {
    let s = server().await;
    for status in [201u16, 401, 422, 429, 503] {
        let r = JsHttp
            .send(
                &req("GET", format!("{}/status/{status}", s.url), None),
                5000,
            )
            .await
            .unwrap();
        assert_eq!(r.status, status);
        assert_eq!(json(&r.body)["path"], format!("/status/{status}"));
    }
}

#[wasm_bindgen_test]
async fn fetch_failures_are_network_errors() {
    let s = server().await;
    let timeout = JsHttp
        .send(&req("GET", format!("{}/slow", s.url), None), 200)
        .await
        .unwrap_err();
    assert_eq!(timeout, Error::Network("timed out".into()));
    let reset = JsHttp
        .send(&req("GET", format!("{}/reset", s.url), None), 5000)
        .await
        .unwrap_err();
    assert!(matches!(reset, Error::Network(_)), "{reset:?}");
    let port = JsFuture::from(closed_port())
        .await
        .unwrap()
        .as_f64()
        .unwrap();
    let refused = JsHttp
        .send(
            &req("GET", format!("http://127.0.0.1:{port}/x"), None),
            5000,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Network(m) if m.contains("ECONNREFUSED")),
        "{refused:?}"
    );
}

async fn exercise_store(store: JsStoreAdapter) {
    let mut r = OrderRecord::new(OrderId::parse("BWW-1-01").unwrap(), 1_000);
    assert!(store.insert(&r).await.unwrap());
    assert!(
        !store.insert(&r).await.unwrap(),
        "a second insert must not replace the record"
    );
    let got = store.get("BWW-1-01").await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.record, r);
    r.state = State::Invoiced;
    r.next_at = None;
    assert!(store.update(&r, 1).await.unwrap());
    assert!(
        !store.update(&r, 1).await.unwrap(),
        "a stale version must be refused"
    );
    assert_eq!(store.get("BWW-1-01").await.unwrap().unwrap().version, 2);
    assert!(store.get("nope").await.unwrap().is_none());
    let other = OrderRecord::new(OrderId::parse("BWW-2-01").unwrap(), 2_000);
    store.insert(&other).await.unwrap();
    let due = store.due(5_000, 10, false).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].record.order_id.as_str(), "BWW-2-01");
    assert!(store.due(1_500, 10, false).await.unwrap().is_empty());
    assert_eq!(
        store
            .list(Some(State::Invoiced), None, 10, 0)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.list(None, None, 10, 0).await.unwrap().len(), 2);
    assert_eq!(
        store.list(None, Some("bww-2"), 10, 0).await.unwrap().len(),
        1
    );
    let mut counts = store.counts().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![
            ("invoiced".to_string(), 1),
            ("waiting_invoice".to_string(), 1)
        ]
    );
    store.ping().await.unwrap();
}

#[wasm_bindgen_test]
async fn store_binding_with_plain_values() {
    exercise_store(JsStoreAdapter(memory_store(JsValue::FALSE))).await;
}

#[wasm_bindgen_test]
async fn store_binding_with_promises() {
    exercise_store(JsStoreAdapter(memory_store(JsValue::TRUE))).await;
}

#[wasm_bindgen_test]
async fn store_exceptions_become_store_errors() {
    let store = JsStoreAdapter(memory_store(JsValue::from_str("broken")));
    assert_eq!(
        store.ping().await.unwrap_err(),
        Error::Store("disk gone".into())
    );
}

fn env() -> JsValue {
    let env = js_sys::Object::new();
    for (k, v) in [("HOOK_SECRET", "s3cret"), ("ADMIN_TOKEN", "adm")] {
        js_sys::Reflect::set(&env, &k.into(), &v.into()).unwrap();
    }
    env.into()
}

async fn call(
    svc: &b2w_coleta::Service,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let h = web_sys::Headers::new().unwrap();
    for (k, v) in headers {
        h.set(k, v).unwrap();
    }
    init.set_headers(&h);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
    }
    let request =
        web_sys::Request::new_with_str_and_init(&format!("http://localhost{path}"), &init).unwrap();
    let resp: web_sys::Response = JsFuture::from(svc.fetch(request))
        .await
        .unwrap()
        .unchecked_into();
    let text = JsFuture::from(resp.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap();
    (resp.status(), text)
}

/// A hook through the exported `fetch`: its status.
async fn post_hook(svc: &b2w_coleta::Service, secret: Option<&str>, body: &str) -> u16 {
    let headers: Vec<(&str, &str)> = secret.map(|s| ("x-hook-secret", s)).into_iter().collect();
    call(svc, "POST", "/hooks/oms", &headers, Some(body))
        .await
        .0
}

#[wasm_bindgen_test]
async fn service_entry_point_answers_web_requests() {
    let svc = b2w_coleta::Service::new(env(), memory_store(JsValue::FALSE), None).unwrap();
    let order = "{\"OrderId\":\"BWW-1-01\"}";
    assert_eq!(
        post_hook(&svc, None, "{\"hookConfig\":\"ping\"}").await,
        200
    );
    assert_eq!(post_hook(&svc, None, order).await, 401);
    assert_eq!(post_hook(&svc, Some("s3cret"), order).await, 200);
    assert_eq!(post_hook(&svc, Some("s3cret"), "nope").await, 400);
    let big = format!(
        "{{\"OrderId\":\"BWW-1-01\",\"pad\":\"{}\"}}",
        "x".repeat(70_000)
    );
    assert_eq!(post_hook(&svc, Some("s3cret"), &big).await, 413);
    let (status, body) = call(
        &svc,
        "GET",
        "/api/orders/BWW-1-01",
        &[("authorization", "Bearer adm")],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["state"], "waiting_invoice");
    assert_eq!(
        call(&svc, "GET", "/api/orders/BWW-1-01", &[], None).await.0,
        401
    );
    assert_eq!(call(&svc, "GET", "/healthz", &[], None).await.0, 200);
}

#[wasm_bindgen_test]
fn parse_config_reports_the_setting() {
    let bad = js_sys::Object::new();
    js_sys::Reflect::set(&bad, &"PORT".into(), &"x".into()).unwrap();
    assert!(b2w_coleta::parse_config(bad.into()).is_err());
    let ok = b2w_coleta::parse_config(env()).unwrap();
    assert_eq!(
        js_sys::Reflect::get(&ok, &"sandbox".into()).unwrap(),
        JsValue::TRUE
    );
    assert_eq!(
        js_sys::Reflect::get(&ok, &"port".into()).unwrap().as_f64(),
        Some(8080.0)
    );
}

#[wasm_bindgen_test]
fn decide_order_on_the_published_example() {
    let fixture = include_str!("fixtures/vtex-oms-order-example.json");
    assert_eq!(
        json(&b2w_coleta::decide_order(fixture, "BWW").unwrap())["decision"],
        "not_b2w"
    );
    // GHB as the B2W affiliate: its only package is a return, so nothing is invoiced yet
    let v = json(&b2w_coleta::decide_order(fixture, "GHB").unwrap());
    assert_eq!(v["decision"], "waiting");
    assert_eq!(v["ordered"], 1);
    assert!(b2w_coleta::decide_order("{}", "BWW").is_err());
}
