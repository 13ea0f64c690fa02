//! b2w-coleta: sends the NF-e of B2W orders from VTEX OMS to SkyHub and requests the
//! B2W Entrega Direct pickup (B2W Coleta), exactly once per order.
//!
//! The decision and mapping logic is plain Rust, tested natively; `js` binds the ports to
//! JavaScript and this file carries the only `#[wasm_bindgen]` exports.

pub mod config;
pub mod engine;
pub mod error;
pub mod ids;
pub mod js;
pub mod limiter;
pub mod nfe;
pub mod oms;
pub mod ports;
pub mod readiness;
pub mod record;
pub mod service;
pub mod skyhub;

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod testkit;

pub use error::{Error, Result};

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::engine::Engine;
use crate::js::{JsHttp, JsRuntime, JsStore, JsStoreAdapter};

type JsEngine = Engine<JsHttp, JsStoreAdapter, JsRuntime>;

/// Parses the environment (`process.env`) and returns what the host needs to start:
/// `{sandbox, port, host, databaseUrl, tickMs, warnings}`. Throws one line naming the setting.
#[wasm_bindgen(js_name = parseConfig)]
pub fn parse_config(env: JsValue) -> std::result::Result<JsValue, JsError> {
    let cfg = config::Config::from_env(&js::string_map(&env))
        .map_err(|e| JsError::new(&e.to_string()))?;
    let out = serde_json::json!({
        "sandbox": cfg.sandbox,
        "port": cfg.port,
        "host": cfg.host,
        "databaseUrl": cfg.database_url,
        "tickMs": cfg.tick_ms,
        "reconcileMs": cfg.reconcile_interval_ms,
        "hookCheckMs": if cfg.hook_url.is_some() { cfg.hook_check_ms } else { 0 },
        "hookSecretSet": cfg.hook_secret.is_some(),
        "adminTokenSet": cfg.admin_token.is_some(),
        "warnings": cfg.warnings,
    });
    js_sys::JSON::parse(&out.to_string()).map_err(|_| JsError::new("internal: config JSON"))
}

/// The service: HTTP routes and the work loop, over the store and logger the host passes.
#[wasm_bindgen]
pub struct Service {
    engine: Rc<JsEngine>,
}

#[wasm_bindgen]
impl Service {
    #[wasm_bindgen(constructor)]
    pub fn new(
        env: JsValue,
        store: JsStore,
        logger: Option<js_sys::Function>,
    ) -> std::result::Result<Service, JsError> {
        let cfg = config::Config::from_env(&js::string_map(&env))
            .map_err(|e| JsError::new(&e.to_string()))?;
        let engine = Engine::new(cfg, JsHttp, JsStoreAdapter(store), JsRuntime { logger });
        Ok(Service {
            engine: Rc::new(engine),
        })
    }

    /// Answers one web-standard `Request` with a `Response`.
    pub fn fetch(&self, request: web_sys::Request) -> js_sys::Promise {
        let engine = self.engine.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let reply = match js::read_request(&request, engine::HOOK_MAX_BYTES).await {
                Ok(incoming) => service::handle(&engine, &incoming).await,
                Err(status) => engine::Reply::error(
                    status,
                    format!("body over {} bytes", engine::HOOK_MAX_BYTES),
                ),
            };
            js::response(reply.status, reply.content_type, &reply).map(JsValue::from)
        })
    }

    /// The same routes without building web-standard objects: the Node host's fast path.
    /// Resolves to `{status, contentType, body}`.
    pub fn handle(
        &self,
        method: String,
        path: String,
        query: String,
        authorization: Option<String>,
        hook_secret: Option<String>,
        body: String,
    ) -> js_sys::Promise {
        let engine = self.engine.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let incoming = service::Incoming {
                method,
                path,
                query,
                authorization,
                hook_secret,
                body,
            };
            let reply = service::handle(&engine, &incoming).await;
            let o = js_sys::Object::new();
            js_sys::Reflect::set(&o, &"status".into(), &JsValue::from(reply.status))?;
            js_sys::Reflect::set(
                &o,
                &"contentType".into(),
                &JsValue::from_str(reply.content_type),
            )?;
            let body = match &reply.bytes {
                Some(b) => js_sys::Uint8Array::from(b.as_slice()).into(),
                None => JsValue::from_str(&reply.body),
            };
            js_sys::Reflect::set(&o, &"body".into(), &body)?;
            Ok(o.into())
        })
    }

    /// Lists the orders OMS invoiced in the last `hours` and records those no hook brought;
    /// resolves to `{hours, listed, added}`.
    pub fn reconcile(&self, hours: u32) -> js_sys::Promise {
        let engine = self.engine.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let v = engine
                .reconcile(u64::from(hours))
                .await
                .map_err(|e| JsValue::from(JsError::new(&e)))?;
            js_sys::JSON::parse(&v.to_string())
        })
    }

    /// The hook keeper: checks the OMS hook configuration and re-creates it when VTEX dropped
    /// it; resolves to the configuration's status.
    #[wasm_bindgen(js_name = ensureHook)]
    pub fn ensure_hook(&self) -> js_sys::Promise {
        let engine = self.engine.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let v = engine
                .ensure_hook()
                .await
                .map_err(|e| JsValue::from(JsError::new(&e)))?;
            js_sys::JSON::parse(&v.to_string())
        })
    }

    /// Stops taking work (graceful shutdown): a tick under way finishes the order in hand.
    pub fn stop(&self) {
        self.engine.stop();
    }

    /// Works through the due orders once; resolves to `{due, claimed}`. `lane` is `"orders"`
    /// or `"collection"` (the host runs one loop for each), or omitted for both.
    pub fn tick(&self, lane: Option<String>) -> js_sys::Promise {
        let engine = self.engine.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let r = match lane.as_deref() {
                Some("orders") => engine.tick_lane(engine::Lane::Orders).await,
                Some("collection") => engine.tick_lane(engine::Lane::Collection).await,
                None => engine.tick().await,
                Some(other) => return Err(JsError::new(&format!("unknown lane {other:?}")).into()),
            }
            .map_err(|e| JsValue::from(JsError::new(&e.to_string())))?;
            let o = js_sys::Object::new();
            js_sys::Reflect::set(&o, &"due".into(), &JsValue::from(r.due as u32))?;
            js_sys::Reflect::set(&o, &"claimed".into(), &JsValue::from(r.claimed as u32))?;
            Ok(o.into())
        })
    }
}

/// The readiness decision alone, for benchmarks and binding tests: the OMS order JSON and
/// the B2W affiliate ids in, `{"decision": …}` out.
#[wasm_bindgen(js_name = decideOrder)]
pub fn decide_order(order_json: &str, affiliates: &str) -> std::result::Result<String, JsError> {
    let order = oms::OmsOrder::parse(order_json).map_err(|e| JsError::new(&e.to_string()))?;
    let affiliates: Vec<String> = affiliates
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let out = match readiness::decide(&order, &affiliates) {
        readiness::Readiness::NotB2w => serde_json::json!({ "decision": "not_b2w" }),
        readiness::Readiness::Canceled => serde_json::json!({ "decision": "canceled" }),
        readiness::Readiness::CancellationRequested => {
            serde_json::json!({ "decision": "cancellation_requested" })
        }
        readiness::Readiness::Waiting { invoiced, ordered } => {
            serde_json::json!({ "decision": "waiting", "invoiced": invoiced, "ordered": ordered })
        }
        readiness::Readiness::Invalid(reason) => {
            serde_json::json!({ "decision": "invalid", "reason": reason })
        }
        readiness::Readiness::Ready { code, invoices } => serde_json::json!({
            "decision": "ready",
            "skyhubCode": code.as_str(),
            "keys": invoices.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        }),
    };
    Ok(out.to_string())
}
