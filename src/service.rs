//! The service's HTTP routes, independent of the platform: the host hands over method,
//! path, the two auth headers and the body; the answer is a `Reply`.

use serde_json::json;

use crate::engine::{view, Engine, Reply};
use crate::ids::OrderId;
use crate::ports::{HttpClient, Runtime, Store};
use crate::record::State;

#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub method: String,
    /// The path without the query, e.g. `/api/orders/v1-01`.
    pub path: String,
    /// The query without `?`.
    pub query: String,
    pub authorization: Option<String>,
    pub hook_secret: Option<String>,
    pub body: String,
}

pub const PER_PAGE_DEFAULT: u32 = 50;
pub const PER_PAGE_MAX: u32 = 500;

pub async fn handle<H: HttpClient, S: Store, R: Runtime>(
    engine: &Engine<H, S, R>,
    req: &Incoming,
) -> Reply {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["hooks", "oms"]) => engine.hook(req.hook_secret.as_deref(), &req.body).await,
        (_, ["hooks", "oms"]) => Reply::error(405, "use POST"),
        ("GET", ["healthz"]) => match engine.store().ping().await {
            Ok(()) => Reply::json(200, json!({ "ok": true })),
            Err(e) => Reply::error(503, format!("store does not answer: {e}")),
        },
        ("GET", ["metrics"]) => match engine.metrics().await {
            Ok(text) => Reply {
                status: 200,
                content_type: "text/plain; version=0.0.4",
                body: text,
                bytes: None,
            },
            Err(e) => Reply::error(503, format!("store does not answer: {e}")),
        },
        (_, ["api", rest @ ..]) => {
            match &engine.cfg.admin_token {
                Some(token) => {
                    let given = req
                        .authorization
                        .as_deref()
                        .and_then(|a| a.strip_prefix("Bearer "))
                        .map(str::trim);
                    if !given.is_some_and(|g| token.matches(g)) {
                        return Reply::error(
                            401,
                            "missing or wrong Authorization: Bearer token (ADMIN_TOKEN)",
                        );
                    }
                }
                // Open only in sandbox mode, where the data is the simulators'.
                None if !engine.cfg.sandbox => {
                    return Reply::error(
                        401,
                        "ADMIN_TOKEN is not set: the API is closed until it is",
                    );
                }
                None => {}
            }
            api(engine, &req.method, rest, &req.query).await
        }
        _ => Reply::error(
            404,
            format!(
                "no route {} {}",
                req.method,
                crate::ids::truncate(&req.path, 100)
            ),
        ),
    }
}

async fn api<H: HttpClient, S: Store, R: Runtime>(
    engine: &Engine<H, S, R>,
    method: &str,
    rest: &[&str],
    query: &str,
) -> Reply {
    let store_error = |e: crate::Error| Reply::error(503, format!("store does not answer: {e}"));
    match (method, rest) {
        ("GET", ["orders"]) => {
            let mut state = None;
            let mut search = None;
            let mut page = 1u32;
            let mut per_page = PER_PAGE_DEFAULT;
            for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
                match k {
                    "state" if !v.is_empty() => match State::parse(v) {
                        Some(s) => state = Some(s),
                        None => {
                            return Reply::error(
                                400,
                                format!("unknown state {:?}", crate::ids::truncate(v, 40)),
                            )
                        }
                    },
                    "q" if !v.is_empty() => search = Some(crate::ids::percent_decode(v)),
                    "page" => match v.parse::<u32>() {
                        Ok(p) if p >= 1 => page = p,
                        _ => return Reply::error(400, "page must be a whole number from 1"),
                    },
                    "perPage" | "per_page" => match v.parse::<u32>() {
                        Ok(p) if (1..=PER_PAGE_MAX).contains(&p) => per_page = p,
                        _ => {
                            return Reply::error(
                                400,
                                format!("perPage must be a whole number from 1 to {PER_PAGE_MAX}"),
                            )
                        }
                    },
                    _ => {}
                }
            }
            let offset = (page - 1).saturating_mul(per_page);
            let listed = engine
                .list(state, search.as_deref(), per_page, offset)
                .await;
            let counts = engine.store().counts().await.map(|c| {
                State::ALL
                    .iter()
                    .map(|s| {
                        (
                            s.as_str(),
                            c.iter()
                                .find(|(k, _)| k == s.as_str())
                                .map_or(0, |(_, n)| *n),
                        )
                    })
                    .collect::<std::collections::BTreeMap<_, _>>()
            });
            match listed.and_then(|l| Ok((l, counts?))) {
                Ok((list, counts)) => Reply::json(
                    200,
                    json!({
                        "orders": list.iter().map(view).collect::<Vec<_>>(),
                        "page": page,
                        "perPage": per_page,
                        "state": state.map(State::as_str),
                        "q": search,
                        "counts": counts,
                    }),
                ),
                Err(e) => store_error(e),
            }
        }
        (_, ["orders", id, ..]) if OrderId::parse(id).is_err() => Reply::error(
            400,
            format!("{:?} is not a VTEX order id", crate::ids::truncate(id, 80)),
        ),
        ("GET", ["orders", id]) => match engine.order(id).await {
            Ok(Some(r)) => Reply::json(200, view(&r)),
            Ok(None) => Reply::error(404, format!("no order {id}")),
            Err(e) => store_error(e),
        },
        ("POST", ["orders", id, "retry"]) => match engine.retry_order(id).await {
            Ok(Ok(r)) => Reply::json(200, view(&r)),
            Ok(Err(msg)) if msg.starts_with("no order") => Reply::error(404, msg),
            Ok(Err(msg)) => Reply::error(409, msg),
            Err(e) => store_error(e),
        },
        ("GET", ["hook"]) | ("POST", ["hook"]) => {
            let param = |k: &str| {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(k))
                    .map(crate::ids::percent_decode)
            };
            let Some(url) = param("url=").or_else(|| engine.cfg.hook_url.clone()) else {
                return Reply::error(400, "give url=… or set HOOK_URL: the URL VTEX calls");
            };
            let result = if method == "GET" {
                engine.hook_status(&url).await
            } else {
                engine
                    .hook_setup(
                        &url,
                        param("partial=").is_some_and(|p| p == "1" || p == "true"),
                    )
                    .await
            };
            match result {
                Ok(v) => Reply::json(200, v),
                Err(msg) => Reply::error(502, msg),
            }
        }
        ("GET", ["plps"]) => match engine.plps().await {
            Ok(v) => Reply::json(200, v),
            Err(msg) => Reply::error(502, msg),
        },
        ("GET", ["plps", id, "labels"]) => {
            if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Reply::error(400, "a PLP id is a number");
            }
            match engine.plp_labels(id).await {
                Ok(pdf) => Reply {
                    status: 200,
                    content_type: "application/pdf",
                    body: String::new(),
                    bytes: Some(pdf),
                },
                Err((status, msg)) => Reply::error(status, msg),
            }
        }
        ("POST", ["reconcile"]) => {
            let hours = match query.split('&').find_map(|kv| kv.strip_prefix("hours=")) {
                None => RECONCILE_HOURS_DEFAULT,
                Some(h) => match h.parse::<u64>() {
                    Ok(h) if (1..=24 * 60).contains(&h) => h,
                    _ => return Reply::error(400, "hours must be a whole number from 1 to 1440"),
                },
            };
            match engine.reconcile(hours).await {
                Ok(v) => Reply::json(200, v),
                Err(msg) => Reply::error(502, msg),
            }
        }
        _ => Reply::error(404, "no such API route"),
    }
}

/// How far back a reconciliation looks unless told.
pub const RECONCILE_HOURS_DEFAULT: u64 = 48;
