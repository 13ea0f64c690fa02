//! The one module that touches JavaScript: the ports bound to the global `fetch` (never
//! `window`, which Node lacks), to the store object the host passes, and to timers.
//! JavaScript errors are decoded here, once, into `Error`.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::error::{Error, Result};
use crate::ports::{HttpClient, HttpRequest, HttpResponse, Runtime, Store, Stored};
use crate::record::{OrderRecord, State};
use crate::service::Incoming;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_request(req: &web_sys::Request) -> Promise;

    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout)]
    fn abort_signal_timeout(ms: u32) -> web_sys::AbortSignal;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;

    /// The store the host passes. Each method may return its value or a promise of it.
    pub type JsStore;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn js_get(this: &JsStore, order_id: &str) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = insert)]
    fn js_insert(this: &JsStore, row: &JsValue) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = update)]
    fn js_update(
        this: &JsStore,
        row: &JsValue,
        expected: f64,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = due)]
    fn js_due(
        this: &JsStore,
        now: f64,
        limit: u32,
        collection: bool,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = list)]
    fn js_list(
        this: &JsStore,
        state: Option<String>,
        search: Option<String>,
        limit: u32,
        offset: u32,
    ) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = counts)]
    fn js_counts(this: &JsStore) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = dueStats)]
    fn js_due_stats(this: &JsStore, now: f64) -> std::result::Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch, js_name = ping)]
    fn js_ping(this: &JsStore) -> std::result::Result<JsValue, JsValue>;
}

/// A JavaScript exception or rejection as text: `Error.message`, with Node's `cause`
/// (`ECONNREFUSED`, `UND_ERR_SOCKET` …) and the `TimeoutError` of an aborted fetch.
pub fn describe(e: &JsValue) -> String {
    let field = |v: &JsValue, k: &str| {
        Reflect::get(v, &JsValue::from_str(k))
            .ok()
            .and_then(|x| x.as_string())
    };
    if let Some(s) = e.as_string() {
        return s;
    }
    let name = field(e, "name").unwrap_or_default();
    let message = field(e, "message").unwrap_or_else(|| "unknown JavaScript error".into());
    if name == "TimeoutError" || name == "AbortError" {
        return "timed out".into();
    }
    match Reflect::get(e, &JsValue::from_str("cause")) {
        Ok(cause) if cause.is_object() => {
            let detail = field(&cause, "code")
                .or_else(|| field(&cause, "message"))
                .unwrap_or_default();
            if detail.is_empty() {
                message
            } else {
                format!("{message} ({detail})")
            }
        }
        _ => message,
    }
}

async fn settle(v: std::result::Result<JsValue, JsValue>) -> Result<JsValue> {
    let v = v.map_err(|e| Error::Store(describe(&e)))?;
    if v.has_type::<Promise>() {
        JsFuture::from(v.unchecked_into::<Promise>())
            .await
            .map_err(|e| Error::Store(describe(&e)))
    } else {
        Ok(v)
    }
}

fn set(o: &Object, k: &str, v: JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), &v);
}

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// The row the store keeps: the record as JSON plus the columns it indexes.
fn row(rec: &OrderRecord) -> Result<JsValue> {
    let o = Object::new();
    set(&o, "orderId", JsValue::from_str(rec.order_id.as_str()));
    set(&o, "state", JsValue::from_str(rec.state.as_str()));
    set(
        &o,
        "nextAt",
        rec.next_at
            .map(|t| JsValue::from_f64(t as f64))
            .unwrap_or(JsValue::NULL),
    );
    set(&o, "createdAt", JsValue::from_f64(rec.created_at as f64));
    set(&o, "updatedAt", JsValue::from_f64(rec.updated_at as f64));
    set(&o, "data", JsValue::from_str(&serde_json::to_string(rec)?));
    Ok(o.into())
}

fn stored(v: &JsValue) -> Result<Stored> {
    let data = get(v, "data")
        .as_string()
        .ok_or_else(|| Error::Store("row without data".into()))?;
    let version = get(v, "version")
        .as_f64()
        .ok_or_else(|| Error::Store("row without version".into()))? as u64;
    let record: OrderRecord = serde_json::from_str(&data)
        .map_err(|e| Error::Store(format!("stored record unreadable: {e}")))?;
    Ok(Stored { record, version })
}

fn stored_list(v: &JsValue) -> Result<Vec<Stored>> {
    Array::from(v).iter().map(|r| stored(&r)).collect()
}

pub struct JsStoreAdapter(pub JsStore);

impl Store for JsStoreAdapter {
    async fn get(&self, order_id: &str) -> Result<Option<Stored>> {
        let v = settle(self.0.js_get(order_id)).await?;
        if v.is_null() || v.is_undefined() {
            Ok(None)
        } else {
            stored(&v).map(Some)
        }
    }
    async fn insert(&self, rec: &OrderRecord) -> Result<bool> {
        Ok(settle(self.0.js_insert(&row(rec)?)).await?.is_truthy())
    }
    async fn update(&self, rec: &OrderRecord, expected: u64) -> Result<bool> {
        Ok(settle(self.0.js_update(&row(rec)?, expected as f64))
            .await?
            .is_truthy())
    }
    async fn due(&self, now: u64, limit: u32, collection: bool) -> Result<Vec<Stored>> {
        stored_list(&settle(self.0.js_due(now as f64, limit, collection)).await?)
    }
    async fn list(
        &self,
        state: Option<State>,
        search: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Stored>> {
        let state = state.map(|s| s.as_str().to_string());
        stored_list(
            &settle(
                self.0
                    .js_list(state, search.map(str::to_string), limit, offset),
            )
            .await?,
        )
    }
    async fn counts(&self) -> Result<Vec<(String, u64)>> {
        let v = settle(self.0.js_counts()).await?;
        let obj: Object = v
            .dyn_into()
            .map_err(|_| Error::Store("counts is not an object".into()))?;
        Ok(Object::entries(&obj)
            .iter()
            .filter_map(|e| {
                let pair = Array::from(&e);
                Some((pair.get(0).as_string()?, pair.get(1).as_f64()? as u64))
            })
            .collect())
    }
    async fn ping(&self) -> Result<()> {
        settle(self.0.js_ping()).await.map(|_| ())
    }
    async fn due_stats(&self, now: u64) -> Result<(u64, Option<u64>)> {
        let v = settle(self.0.js_due_stats(now as f64)).await?;
        let count = get(&v, "count").as_f64().unwrap_or(0.0) as u64;
        Ok((count, get(&v, "oldest").as_f64().map(|t| t as u64)))
    }
}

/// HTTP over the global `fetch`, each request bounded by `AbortSignal.timeout`.
pub struct JsHttp;

impl HttpClient for JsHttp {
    async fn send(&self, req: &HttpRequest, timeout_ms: u32) -> Result<HttpResponse> {
        let net = |e: JsValue| Error::Network(describe(&e));
        let headers = web_sys::Headers::new().map_err(net)?;
        for (k, v) in &req.headers {
            headers.append(k, v).map_err(net)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(req.method);
        init.set_headers(&headers);
        if let Some(b) = &req.body {
            init.set_body(&JsValue::from_str(b));
        }
        init.set_signal(Some(&abort_signal_timeout(timeout_ms)));
        let request = web_sys::Request::new_with_str_and_init(&req.url, &init).map_err(net)?;
        let resp: web_sys::Response = JsFuture::from(fetch_with_request(&request))
            .await
            .map_err(net)?
            .unchecked_into();
        let wants_pdf = req
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("accept") && v == "application/pdf");
        if wants_pdf && resp.ok() {
            let buf = JsFuture::from(resp.array_buffer().map_err(net)?)
                .await
                .map_err(net)?;
            let bytes = js_sys::Uint8Array::new(&buf).to_vec();
            return Ok(HttpResponse {
                status: resp.status(),
                body: String::new(),
                bytes,
            });
        }
        let text = JsFuture::from(resp.text().map_err(net)?)
            .await
            .map_err(net)?;
        Ok(HttpResponse {
            bytes: Vec::new(),
            status: resp.status(),
            body: text.as_string().unwrap_or_default(),
        })
    }
}

/// Clock, timers, randomness and logging from the JavaScript global scope.
pub struct JsRuntime {
    pub logger: Option<Function>,
}

impl Runtime for JsRuntime {
    fn now(&self) -> u64 {
        js_sys::Date::now() as u64
    }
    async fn sleep(&self, ms: u64) {
        let p = Promise::new(&mut |resolve, _| {
            set_timeout(&resolve, ms as f64);
        });
        let _ = JsFuture::from(p).await;
    }
    fn random(&self) -> f64 {
        js_sys::Math::random()
    }
    fn log(&self, level: &str, line: &str) {
        match &self.logger {
            Some(f) => {
                let _ = f.call2(
                    &JsValue::NULL,
                    &JsValue::from_str(level),
                    &JsValue::from_str(line),
                );
            }
            None => web_sys::console::log_1(&JsValue::from_str(line)),
        }
    }
}

/// A plain JavaScript object of strings (such as `process.env`) as a map.
pub fn string_map(v: &JsValue) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    if let Some(obj) = v.dyn_ref::<Object>() {
        for e in Object::entries(obj).iter() {
            let pair = Array::from(&e);
            if let (Some(k), Some(val)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                m.insert(k, val);
            }
        }
    }
    m
}

/// Reads a web-standard `Request`; `Err(413)` when its body is over `max_body` bytes.
pub async fn read_request(
    req: &web_sys::Request,
    max_body: usize,
) -> std::result::Result<Incoming, u16> {
    let url = req.url();
    let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let path_query = after_scheme
        .find('/')
        .map(|i| &after_scheme[i..])
        .unwrap_or("/");
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let h = req.headers();
    let header = |n: &str| h.get(n).ok().flatten();
    if header("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|l| l > max_body)
    {
        return Err(413);
    }
    let body = if req.method() == "GET" || req.method() == "HEAD" {
        String::new()
    } else {
        match req.text() {
            Ok(p) => JsFuture::from(p)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    };
    if body.len() > max_body {
        return Err(413);
    }
    Ok(Incoming {
        method: req.method(),
        path: path.to_string(),
        query: query.to_string(),
        authorization: header("authorization"),
        hook_secret: header("x-hook-secret"),
        body,
    })
}

pub fn response(
    status: u16,
    content_type: &str,
    reply: &crate::engine::Reply,
) -> std::result::Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", content_type)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    match &reply.bytes {
        Some(b) => web_sys::Response::new_with_opt_u8_array_and_init(Some(&mut b.clone()), &init),
        None => web_sys::Response::new_with_opt_str_and_init(Some(&reply.body), &init),
    }
}
