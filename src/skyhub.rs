//! The mapping to SkyHub: requests the core sends and the answers it reads.
//! Paths and bodies follow `reference/skyhub-api.md`; every choice made where the
//! reference says "unknown" is named in a comment and in the README.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::ids::{percent_encode, truncate, RemoteCode, SkyhubCode};
use crate::ports::{HttpRequest, HttpResponse};
use crate::record::InvoiceWork;

/// How B2W carries the parcel, from the SkyHub order's `calculation_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShipmentKind {
    /// B2W Entrega Direct: B2W's carrier collects at the warehouse (B2W Coleta).
    Direct,
    /// B2W Entrega Correios: the seller posts the parcel at a Correios agency.
    Correios,
    /// The seller's own logistics (and anything else that is not B2W Entrega).
    Own,
}

impl ShipmentKind {
    pub fn from_calculation_type(ct: Option<&str>) -> ShipmentKind {
        match ct.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("b2wentregadirect") => ShipmentKind::Direct,
            Some("b2wentregacorreios") => ShipmentKind::Correios,
            _ => ShipmentKind::Own,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentKind::Direct => "direct",
            ShipmentKind::Correios => "correios",
            ShipmentKind::Own => "own",
        }
    }
}

/// SkyHub limits requests per endpoint and method; these are the classes the core uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestClass {
    /// `GET /orders/{code}`: 1 request/s.
    OrdersGet,
    /// `GET /orders` (the list): 1 request/s, counted apart from single orders.
    OrdersList,
    /// `POST /orders/{code}/…`: 9 requests/s.
    OrdersWrite,
    /// `/shipments/b2w…`: 9 requests/s per method.
    Shipments,
    /// VTEX OMS order reads (not SkyHub): 6,000 a minute per account.
    Oms,
}

impl RequestClass {
    pub const ALL: [RequestClass; 4] = [
        RequestClass::OrdersGet,
        RequestClass::OrdersList,
        RequestClass::OrdersWrite,
        RequestClass::Shipments,
    ];
    pub fn name(self) -> &'static str {
        match self {
            RequestClass::OrdersGet => "orders_get",
            RequestClass::OrdersList => "orders_list",
            RequestClass::OrdersWrite => "orders_write",
            RequestClass::Shipments => "shipments",
            RequestClass::Oms => "oms",
        }
    }
    pub fn from_name(s: &str) -> Option<RequestClass> {
        RequestClass::ALL.into_iter().find(|c| c.name() == s)
    }
    /// The documented limit, requests per second.
    pub fn documented_limit(self) -> u32 {
        match self {
            RequestClass::OrdersGet | RequestClass::OrdersList => 1,
            RequestClass::OrdersWrite | RequestClass::Shipments => 9,
            RequestClass::Oms => 100,
        }
    }
}

/// SkyHub credentials and base URL. `Debug` never prints the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct SkyhubApi {
    pub base_url: String,
    pub user_email: String,
    pub api_key: String,
    pub account_manager_key: String,
}

impl std::fmt::Debug for SkyhubApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkyhubApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Most codes per `POST /shipments/b2w` (a PLP), as SkyHub's clients document it.
pub const PLP_MAX_ORDERS: usize = 25;
/// Most codes per `confirm_collection` call: not documented, the PLP limit is reused.
pub const CONFIRM_MAX_ORDERS: usize = 25;

impl SkyhubApi {
    fn request(
        &self,
        method: &'static str,
        path: &str,
        content_type: Option<String>,
        body: Option<String>,
    ) -> HttpRequest {
        let mut headers = vec![
            ("X-User-Email".to_string(), self.user_email.clone()),
            ("X-Api-Key".to_string(), self.api_key.clone()),
            (
                "X-Accountmanager-Key".to_string(),
                self.account_manager_key.clone(),
            ),
            ("Accept".to_string(), "application/json".to_string()),
        ];
        if let Some(ct) = content_type {
            headers.push(("Content-Type".to_string(), ct));
        }
        HttpRequest {
            method,
            url: format!("{}{}", self.base_url.trim_end_matches('/'), path),
            headers,
            body,
        }
    }

    fn post_json(&self, path: &str, body: Value) -> HttpRequest {
        self.request(
            "POST",
            path,
            Some("application/json".into()),
            Some(body.to_string()),
        )
    }

    pub fn get_order(&self, code: &SkyhubCode) -> HttpRequest {
        self.request(
            "GET",
            &format!("/orders/{}", code.path_segment()),
            None,
            None,
        )
    }

    /// `POST /orders/{code}/invoice`. Direct orders with the NF-e XML send it as multipart
    /// (`file`, `status`, `volume_qty`, `issue_date`), as SkyHub's own SDK does; every other
    /// case sends the JSON key, with `volume_qty` for Direct orders.
    pub fn invoice(&self, code: &SkyhubCode, inv: &InvoiceWork, kind: ShipmentKind) -> HttpRequest {
        let path = format!("/orders/{}/invoice", code.path_segment());
        let date = inv.issue_date.as_deref().and_then(skyhub_date);
        let volumes =
            (kind == ShipmentKind::Direct && inv.volumes > 0).then(|| inv.volumes.to_string());
        if let (ShipmentKind::Direct, Some(xml)) = (kind, inv.xml.as_deref()) {
            let boundary = format!("b2w-coleta-{}", inv.key);
            let mut body = String::with_capacity(xml.len() + 512);
            let mut field = |name: &str, value: &str| {
                body.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                ));
            };
            field("status", "order_invoiced");
            if let Some(v) = &volumes {
                field("volume_qty", v);
            }
            if let Some(d) = &date {
                field("issue_date", d);
            }
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}.xml\"\r\nContent-Type: text/xml\r\n\r\n{xml}\r\n--{boundary}--\r\n",
                inv.key
            ));
            return self.request(
                "POST",
                &path,
                Some(format!("multipart/form-data; boundary={boundary}")),
                Some(body),
            );
        }
        let mut invoice = json!({ "key": inv.key.as_str() });
        if let Some(d) = date {
            invoice["issue_date"] = json!(d);
        }
        if let Some(v) = volumes {
            invoice["volume_qty"] = json!(v);
        }
        self.post_json(
            &path,
            json!({ "status": "order_invoiced", "invoice": invoice }),
        )
    }

    /// `GET /orders` of approved orders (`payment_received`), the ones about to be invoiced.
    pub fn list_orders(&self, page: u32, per_page: u32) -> HttpRequest {
        self.request(
            "GET",
            &format!("/orders?page={page}&per_page={per_page}&filters%5Bstatuses%5D%5B%5D=payment_received"),
            None,
            None,
        )
    }

    /// `GET /shipments/b2w`: the PLPs of the account.
    pub fn plp_list(&self, offset: u32) -> HttpRequest {
        self.request(
            "GET",
            &format!("/shipments/b2w?offset={offset}"),
            None,
            None,
        )
    }

    /// `GET /shipments/b2w/view?plp_id=…` as a PDF: the PLP's labels, ready to print.
    pub fn plp_labels(&self, plp_id: &str) -> HttpRequest {
        let mut r = self.request(
            "GET",
            &format!("/shipments/b2w/view?plp_id={}", percent_encode(plp_id)),
            None,
            None,
        );
        for (k, v) in r.headers.iter_mut() {
            if k == "Accept" {
                *v = "application/pdf".into();
            }
        }
        r
    }

    pub fn to_group(&self, offset: u32) -> HttpRequest {
        self.request(
            "GET",
            &format!("/shipments/b2w/to_group?offset={offset}"),
            None,
            None,
        )
    }

    pub fn group(&self, codes: &[RemoteCode]) -> HttpRequest {
        self.post_json("/shipments/b2w", json!({ "order_remote_codes": codes }))
    }

    pub fn collectables(&self, requested: bool, offset: u32) -> HttpRequest {
        self.request(
            "GET",
            &format!("/shipments/b2w/collectables?requested={requested}&offset={offset}"),
            None,
            None,
        )
    }

    pub fn confirm_collection(&self, codes: &[String]) -> HttpRequest {
        self.post_json(
            "/shipments/b2w/confirm_collection",
            json!({ "order_codes": codes }),
        )
    }
}

/// The class a request counts against, from its method and URL.
pub fn classify_request(req: &HttpRequest) -> RequestClass {
    if req.url.contains("/shipments/") {
        RequestClass::Shipments
    } else if req.method == "GET" && req.url.contains("/orders?") {
        RequestClass::OrdersList
    } else if req.method == "GET" {
        RequestClass::OrdersGet
    } else {
        RequestClass::OrdersWrite
    }
}

/// What an answer means for the order that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// 429 or 5xx (or no answer): back off and try again.
    Retry(String),
    /// Any other 4xx: the order stops as `failed` with this message.
    Fatal(String),
}

pub fn outcome(what: &str, resp: &HttpResponse) -> Outcome {
    match resp.status {
        200..=299 => Outcome::Ok,
        429 => Outcome::Retry(format!(
            "{what}: SkyHub rate limit (429): {}",
            error_message(&resp.body)
        )),
        500..=599 => Outcome::Retry(format!(
            "{what}: SkyHub answered {}: {}",
            resp.status,
            error_message(&resp.body)
        )),
        s => Outcome::Fatal(format!(
            "{what}: SkyHub answered {s}: {}",
            error_message(&resp.body)
        )),
    }
}

/// SkyHub's error text: `{"error": …}` as documented, `{"message": …}` as seen, else the
/// body itself (plain text or an HTML error page), shortened.
pub fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        for k in ["error", "message", "errors"] {
            match v.get(k) {
                Some(Value::String(s)) => return truncate(s, 300),
                // VTEX's shape: {"error": {"code": …, "message": …}}
                Some(Value::Object(o)) if o.get("message").is_some_and(Value::is_string) => {
                    return truncate(o["message"].as_str().unwrap_or_default(), 300)
                }
                Some(other) if !other.is_null() => return truncate(&other.to_string(), 300),
                _ => {}
            }
        }
    }
    let text = body.trim();
    if text.is_empty() {
        "(empty body)".to_string()
    } else {
        truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), 300)
    }
}

/// The fields of `GET /orders/{code}` the core reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SkyhubOrder {
    #[serde(default)]
    pub calculation_type: Option<String>,
    #[serde(default)]
    pub invoices: Option<Vec<SkyhubInvoice>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SkyhubInvoice {
    #[serde(default)]
    pub key: Option<String>,
}

impl SkyhubOrder {
    pub fn parse(body: &str) -> Result<SkyhubOrder> {
        serde_json::from_str(body)
            .map_err(|e| Error::Parse(format!("SkyHub order is not in the expected shape: {e}")))
    }
    pub fn kind(&self) -> ShipmentKind {
        ShipmentKind::from_calculation_type(self.calculation_type.as_deref())
    }
    pub fn has_invoice(&self, key: &str) -> bool {
        self.invoices
            .iter()
            .flatten()
            .any(|i| i.key.as_deref().map(str::trim) == Some(key))
    }
}

/// One order of `GET /orders`: its code and how it ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOrder {
    pub code: String,
    pub calculation_type: Option<String>,
}

impl ListedOrder {
    pub fn kind(&self) -> ShipmentKind {
        ShipmentKind::from_calculation_type(self.calculation_type.as_deref())
    }
}

/// `{"total": N, "orders": [{"code": …, "calculation_type": …}, …]}`; entries without a
/// string `code` are skipped.
pub fn parse_order_list(body: &str) -> Result<Vec<ListedOrder>> {
    let page: ListingPage = serde_json::from_str(body).map_err(|e| {
        Error::Parse(format!(
            "SkyHub order list is not in the expected shape: {e}"
        ))
    })?;
    Ok(page
        .orders
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| {
            let code = v.get("code")?.as_str()?.to_string();
            let calculation_type = v
                .get("calculation_type")
                .and_then(|c| c.as_str())
                .map(str::to_string);
            Some(ListedOrder {
                code,
                calculation_type,
            })
        })
        .collect())
}

/// One order of a `to_group` or `collectables` page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Listed {
    pub code: String,
    #[serde(default)]
    pub shipping: Option<String>,
}

#[derive(Deserialize)]
struct ListingPage {
    #[serde(default)]
    orders: Option<Vec<Value>>,
}

/// A listing page: `{"orders":[{"code":…},…]}`. Entries without a string `code` are skipped;
/// a body that is not that shape is an error.
pub fn parse_listing(body: &str) -> Result<Vec<Listed>> {
    if body.trim().is_empty() {
        return Ok(Vec::new());
    }
    let page: ListingPage = serde_json::from_str(body)
        .map_err(|e| Error::Parse(format!("SkyHub listing is not in the expected shape: {e}")))?;
    Ok(page
        .orders
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| {
            let code = match v.get("code")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let shipping = v
                .get("shipping")
                .and_then(|s| s.as_str())
                .map(str::to_string);
            Some(Listed { code, shipping })
        })
        .collect())
}

/// The PLP id in `{"message":"Plp 98945320 agrupada com sucesso."}`.
pub fn parse_plp_id(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let msg = v.get("message")?.as_str()?;
    msg.split_whitespace()
        .nth(1)
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// VTEX dates (`2024-02-09T10:10:20.5322681+00:00`, `…Z`) in SkyHub's `Y-m-d\TH:i:sP` form.
/// `None` when the date is not of that shape: SkyHub then uses the time of the request.
pub fn skyhub_date(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digits = [0..4, 5..7, 8..10, 11..13, 14..16, 17..19];
    if !digits
        .iter()
        .all(|r| b[r.clone()].iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[n..];
    }
    let sign = |t: &str| t.starts_with('+') || t.starts_with('-');
    let digits_at = |t: &str, at: &[usize]| {
        at.iter()
            .all(|&i| t.as_bytes().get(i).is_some_and(u8::is_ascii_digit))
    };
    let tz = match rest {
        "" | "Z" | "z" => "+00:00".to_string(),
        t if t.len() == 6 && sign(t) && t.as_bytes()[3] == b':' && digits_at(t, &[1, 2, 4, 5]) => {
            t.to_string()
        }
        t if t.len() == 5 && sign(t) && digits_at(t, &[1, 2, 3, 4]) => {
            format!("{}:{}", &t[..3], &t[3..])
        }
        _ => return None,
    };
    Some(format!("{}{}", &s[..19], tz))
}

/// Path of an OMS order read, for the OMS client.
pub fn oms_order_path(order_id: &str) -> String {
    format!("/api/oms/pvt/orders/{}", percent_encode(order_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nfe::NfeKey;
    use crate::record::InvoiceStatus;

    fn api() -> SkyhubApi {
        SkyhubApi {
            base_url: "https://api.skyhub.com.br/".into(),
            user_email: "ops@seller.example".into(),
            api_key: "k".into(),
            account_manager_key: "am".into(),
        }
    }

    fn inv(xml: Option<&str>, volumes: u32) -> InvoiceWork {
        InvoiceWork {
            key: NfeKey::complete("3524010000000000000055001000000011000000001").unwrap(),
            issue_date: Some("2024-02-09T10:10:20.5322681+00:00".into()),
            xml: xml.map(str::to_string),
            volumes,
            status: InvoiceStatus::Pending,
        }
    }

    fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_request_carries_the_three_credentials() {
        let code = SkyhubCode::parse("Lojas Americanas-1-01").unwrap();
        let a = api();
        for r in [
            a.get_order(&code),
            a.invoice(&code, &inv(None, 1), ShipmentKind::Correios),
            a.to_group(1),
            a.group(&[code.remote()]),
            a.collectables(false, 1),
            a.confirm_collection(&["1-01".into()]),
        ] {
            assert_eq!(header(&r, "X-User-Email"), Some("ops@seller.example"));
            assert_eq!(header(&r, "X-Api-Key"), Some("k"));
            assert_eq!(header(&r, "X-Accountmanager-Key"), Some("am"));
            assert_eq!(header(&r, "Accept"), Some("application/json"));
            assert!(r.url.starts_with("https://api.skyhub.com.br/"), "{}", r.url);
            assert!(!r.url.contains(".br//"));
        }
    }

    #[test]
    fn invoice_json_for_correios_and_own() {
        let code = SkyhubCode::parse("Lojas Americanas-1517940500554-01").unwrap();
        for kind in [ShipmentKind::Correios, ShipmentKind::Own] {
            let r = api().invoice(&code, &inv(Some("<nfeProc/>"), 2), kind);
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.url,
                "https://api.skyhub.com.br/orders/Lojas%20Americanas-1517940500554-01/invoice"
            );
            assert_eq!(header(&r, "Content-Type"), Some("application/json"));
            let v: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            assert_eq!(
                v,
                json!({"status":"order_invoiced","invoice":{"key":inv(None,0).key.as_str(),"issue_date":"2024-02-09T10:10:20+00:00"}})
            );
        }
    }

    #[test]
    fn invoice_for_direct_sends_xml_as_multipart_with_volumes() {
        let code = SkyhubCode::parse("Lojas Americanas-1-01").unwrap();
        let r = api().invoice(
            &code,
            &inv(Some("<nfeProc>x</nfeProc>"), 3),
            ShipmentKind::Direct,
        );
        let ct = header(&r, "Content-Type").unwrap().to_string();
        assert!(ct.starts_with("multipart/form-data; boundary="));
        let boundary = ct.split("boundary=").nth(1).unwrap();
        let body = r.body.unwrap();
        assert!(body.ends_with(&format!("--{boundary}--\r\n")));
        for part in [
            "name=\"status\"\r\n\r\norder_invoiced\r\n",
            "name=\"volume_qty\"\r\n\r\n3\r\n",
            "name=\"issue_date\"\r\n\r\n2024-02-09T10:10:20+00:00\r\n",
            "filename=\"3524010000000000000055001000000011000000001",
            "Content-Type: text/xml\r\n\r\n<nfeProc>x</nfeProc>\r\n",
        ] {
            assert!(body.contains(part), "missing {part:?} in {body}");
        }
        // Direct without XML: JSON with volume_qty as a string; no volume_qty when VTEX has none.
        let r = api().invoice(&code, &inv(None, 2), ShipmentKind::Direct);
        let v: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["invoice"]["volume_qty"], json!("2"));
        let r = api().invoice(&code, &inv(None, 0), ShipmentKind::Direct);
        let v: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert!(v["invoice"].get("volume_qty").is_none());
    }

    #[test]
    fn shipment_requests() {
        let a = api();
        assert_eq!(
            a.to_group(2).url,
            "https://api.skyhub.com.br/shipments/b2w/to_group?offset=2"
        );
        assert_eq!(
            a.collectables(true, 1).url,
            "https://api.skyhub.com.br/shipments/b2w/collectables?requested=true&offset=1"
        );
        let g = a.group(&[RemoteCode("1-01".into()), RemoteCode("2".into())]);
        assert_eq!(
            g.body.as_deref(),
            Some(r#"{"order_remote_codes":["1-01","2"]}"#)
        );
        let c = a.confirm_collection(&["1-01".into()]);
        assert_eq!(
            c.url,
            "https://api.skyhub.com.br/shipments/b2w/confirm_collection"
        );
        assert_eq!(c.body.as_deref(), Some(r#"{"order_codes":["1-01"]}"#));
    }

    #[test]
    fn request_classes() {
        let a = api();
        let code = SkyhubCode::parse("X-1").unwrap();
        assert_eq!(
            classify_request(&a.get_order(&code)),
            RequestClass::OrdersGet
        );
        assert_eq!(
            classify_request(&a.list_orders(1, 100)),
            RequestClass::OrdersList
        );
        assert_eq!(
            classify_request(&a.invoice(&code, &inv(None, 0), ShipmentKind::Own)),
            RequestClass::OrdersWrite
        );
        assert_eq!(classify_request(&a.to_group(1)), RequestClass::Shipments);
        assert_eq!(
            classify_request(&a.confirm_collection(&[])),
            RequestClass::Shipments
        );
    }

    #[test]
    fn outcomes_and_error_bodies() {
        let r = |status, body: &str| HttpResponse {
            bytes: Vec::new(),
            status,
            body: body.into(),
        };
        assert_eq!(outcome("invoice", &r(201, "")), Outcome::Ok);
        assert_eq!(outcome("invoice", &r(204, "")), Outcome::Ok);
        assert!(
            matches!(outcome("invoice", &r(429, r#"{"error":"slow down"}"#)), Outcome::Retry(m) if m.contains("slow down"))
        );
        assert!(
            matches!(outcome("invoice", &r(503, "<html><body>504 Gateway Time-out</body></html>")), Outcome::Retry(m) if m.contains("504 Gateway"))
        );
        assert_eq!(
            outcome(
                "invoice",
                &r(422, r#"{"error":"Transição de status inválida"}"#)
            ),
            Outcome::Fatal("invoice: SkyHub answered 422: Transição de status inválida".into())
        );
        assert!(
            matches!(outcome("x", &r(404, "Account  not found")), Outcome::Fatal(m) if m.ends_with("Account not found"))
        );
        assert_eq!(error_message(r#"{"message":"erro"}"#), "erro");
        assert_eq!(
            error_message(r#"{"error":{"code":"1","message":"Unable to check address"}}"#),
            "Unable to check address"
        );
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(error_message(&"a".repeat(1000)).chars().count(), 301);
    }

    #[test]
    fn listings_and_plp_ids() {
        let l = parse_listing(r#"{"orders":[{"code":"266","customer":"A","value":1.5,"shipping":"DIRECT"},{"code":7},{"nocode":1}]}"#).unwrap();
        assert_eq!(
            l,
            vec![
                Listed {
                    code: "266".into(),
                    shipping: Some("DIRECT".into())
                },
                Listed {
                    code: "7".into(),
                    shipping: None
                }
            ]
        );
        assert!(parse_listing(r#"{"orders":[]}"#).unwrap().is_empty());
        assert!(parse_listing(r#"{}"#).unwrap().is_empty());
        assert!(parse_listing("").unwrap().is_empty());
        assert!(parse_listing(r#"{"orders":"x"}"#).is_err());
        assert!(parse_listing("<html>").is_err());
        assert_eq!(
            parse_plp_id(r#"{"message":"Plp 98945320 agrupada com sucesso."}"#).as_deref(),
            Some("98945320")
        );
        assert_eq!(parse_plp_id(r#"{"message":"ok"}"#), None);
        assert_eq!(parse_plp_id("x"), None);
    }

    #[test]
    fn skyhub_order_kind_and_invoices() {
        let o = SkyhubOrder::parse(
            r#"{"code":"X-1","calculation_type":"b2wentregadirect","invoices":[{"key":"123"}]}"#,
        )
        .unwrap();
        assert_eq!(o.kind(), ShipmentKind::Direct);
        assert!(o.has_invoice("123"));
        assert!(!o.has_invoice("124"));
        let o = SkyhubOrder::parse(r#"{"calculation_type":null,"invoices":null}"#).unwrap();
        assert_eq!(o.kind(), ShipmentKind::Own);
        assert_eq!(
            ShipmentKind::from_calculation_type(Some("B2WEntregaCorreios")),
            ShipmentKind::Correios
        );
        assert!(SkyhubOrder::parse(r#"{"calculation_type":5}"#).is_err());
    }

    #[test]
    fn plp_requests() {
        let l = api().plp_labels("98945320");
        assert_eq!(
            l.url,
            "https://api.skyhub.com.br/shipments/b2w/view?plp_id=98945320"
        );
        assert_eq!(header(&l, "Accept"), Some("application/pdf"));
        assert_eq!(header(&l, "X-Api-Key"), Some("k"));
        assert_eq!(classify_request(&l), RequestClass::Shipments);
        assert_eq!(
            api().plp_list(1).url,
            "https://api.skyhub.com.br/shipments/b2w?offset=1"
        );
    }

    #[test]
    fn order_lists() {
        let l = parse_order_list(r#"{"total":3,"orders":[{"code":"A-1","calculation_type":"b2wentregadirect"},{"code":"A-2","calculation_type":null},{"x":1}]}"#).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(
            (l[0].code.as_str(), l[0].kind()),
            ("A-1", ShipmentKind::Direct)
        );
        assert_eq!(l[1].kind(), ShipmentKind::Own);
        assert!(parse_order_list("<html>").is_err());
        assert_eq!(
            api().list_orders(2, 100).url,
            "https://api.skyhub.com.br/orders?page=2&per_page=100&filters%5Bstatuses%5D%5B%5D=payment_received"
        );
    }

    #[test]
    fn dates() {
        for (vtex, want) in [
            (
                "2024-02-09T10:10:20.5322681+00:00",
                Some("2024-02-09T10:10:20+00:00"),
            ),
            ("2024-02-09T10:10:20Z", Some("2024-02-09T10:10:20+00:00")),
            (
                "2024-02-09T10:10:20.1-0300",
                Some("2024-02-09T10:10:20-03:00"),
            ),
            (
                "2024-02-09T10:10:20-03:00",
                Some("2024-02-09T10:10:20-03:00"),
            ),
            ("2024-02-09", None),
            ("09/02/2024 10:10", None),
            ("2024-02-09T10:10:20+0", None),
        ] {
            assert_eq!(skyhub_date(vtex).as_deref(), want, "{vtex}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let s = format!("{:?}", api());
        assert!(!s.contains("am\"") && !s.contains("ops@"), "{s}");
    }
}
