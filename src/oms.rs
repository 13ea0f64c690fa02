//! The parts of a VTEX OMS order and of the OMS hook notification that the decision needs.
//! Parsed leniently: unknown fields are ignored, missing or `null` optional fields tolerated,
//! wrong types rejected with a message naming the field.

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::ids::{truncate, OrderId};

/// `GET /api/oms/pvt/orders/{orderId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmsOrder {
    pub order_id: String,
    #[serde(default)]
    pub marketplace_order_id: Option<String>,
    #[serde(default)]
    pub affiliate_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<OmsItem>,
    #[serde(default)]
    pub package_attachment: Option<PackageAttachment>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmsItem {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub quantity: u32,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PackageAttachment {
    #[serde(default, deserialize_with = "null_as_default")]
    pub packages: Vec<Package>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `Output` (a sale invoice) or `Input` (a return invoice).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub invoice_number: Option<String>,
    #[serde(default)]
    pub invoice_key: Option<String>,
    #[serde(default)]
    pub issuance_date: Option<String>,
    /// The NF-e XML, which B2W Entrega Direct requires.
    #[serde(default)]
    pub embedded_invoice: Option<String>,
    #[serde(default)]
    pub volumes: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<PackageItem>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageItem {
    pub item_index: usize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub quantity: u32,
}

impl OmsOrder {
    pub fn parse(body: &str) -> Result<OmsOrder> {
        serde_json::from_str(body)
            .map_err(|e| Error::Parse(format!("OMS order is not in the expected shape: {e}")))
    }

    pub fn packages(&self) -> &[Package] {
        self.package_attachment
            .as_ref()
            .map(|p| p.packages.as_slice())
            .unwrap_or(&[])
    }
}

impl Package {
    pub fn is_output(&self) -> bool {
        // VTEX writes `Output`; accept any case. A package with no type is a sale invoice
        // in older orders, which predate return invoices.
        self.kind
            .as_deref()
            .map(|k| k.eq_ignore_ascii_case("output"))
            .unwrap_or(true)
    }
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `GET /api/oms/pvt/orders` (the list): the order ids of a page and the number of pages,
/// from `{"list": [{"orderId": …}], "paging": {"pages": N}}`.
pub fn parse_order_list(body: &str) -> Result<(Vec<String>, u32)> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default, deserialize_with = "null_as_default")]
        list: Vec<serde_json::Value>,
        #[serde(default)]
        paging: Option<Paging>,
    }
    #[derive(Deserialize)]
    struct Paging {
        #[serde(default)]
        pages: u32,
    }
    let page: Page = serde_json::from_str(body)
        .map_err(|e| Error::Parse(format!("OMS order list is not in the expected shape: {e}")))?;
    let ids = page
        .list
        .iter()
        .filter_map(|o| o.get("orderId")?.as_str().map(str::to_string))
        .collect();
    Ok((ids, page.paging.map_or(1, |p| p.pages.max(1))))
}

/// What an OMS hook says: which order to read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// `{"hookConfig":"ping"}`, sent when the hook is configured.
    Ping,
    Notification {
        order_id: OrderId,
        state: Option<String>,
    },
}

impl Hook {
    pub fn parse(body: &str) -> Result<Hook> {
        let v: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| Error::Parse(format!("body is not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| Error::Parse("body is not a JSON object".into()))?;
        if obj.get("hookConfig").and_then(|p| p.as_str()) == Some("ping") {
            return Ok(Hook::Ping);
        }
        let id = match obj.get("OrderId") {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => {
                return Err(Error::Parse(format!(
                    "OrderId must be a string, got {}",
                    truncate(&other.to_string(), 40)
                )))
            }
            None => return Err(Error::Parse("OrderId is missing".into())),
        };
        let order_id = OrderId::parse(id)?;
        let state = obj
            .get("State")
            .and_then(|s| s.as_str())
            .map(str::to_string);
        Ok(Hook::Notification { order_id, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../tests/fixtures/vtex-oms-order-example.json");

    #[test]
    fn vtex_published_example_parses() {
        let o = OmsOrder::parse(FIXTURE).unwrap();
        assert_eq!(o.order_id, "1172452900788-01");
        assert_eq!(o.affiliate_id.as_deref(), Some("GHB"));
        assert_eq!(o.items.len(), 1);
        assert_eq!(o.packages().len(), 1);
        assert!(!o.packages()[0].is_output());
        assert_eq!(o.packages()[0].items[0].item_index, 0);
    }

    #[test]
    fn nulls_and_missing_fields_are_tolerated() {
        let o = OmsOrder::parse(
            r#"{"orderId":"x","items":null,"packageAttachment":{"packages":null},"extra":[1]}"#,
        )
        .unwrap();
        assert!(o.items.is_empty());
        assert!(o.packages().is_empty());
        let o = OmsOrder::parse(r#"{"orderId":"x"}"#).unwrap();
        assert!(o.package_attachment.is_none());
    }

    #[test]
    fn wrong_types_are_rejected_with_the_field() {
        let e = OmsOrder::parse(r#"{"orderId":"x","items":[{"quantity":"two"}]}"#).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
        assert!(OmsOrder::parse(r#"{"items":[]}"#)
            .unwrap_err()
            .to_string()
            .contains("orderId"));
        assert!(OmsOrder::parse("<html>").is_err());
    }

    #[test]
    fn order_lists() {
        let (ids, pages) = parse_order_list(
            r#"{"list":[{"orderId":"BWW-1-01","status":"invoiced"},{"orderId":7},{}],"paging":{"total":3,"pages":4,"currentPage":1,"perPage":100}}"#,
        )
        .unwrap();
        assert_eq!((ids, pages), (vec!["BWW-1-01".to_string()], 4));
        assert_eq!(parse_order_list(r#"{"list":null}"#).unwrap(), (vec![], 1));
        assert!(parse_order_list("<html>").is_err());
    }

    #[test]
    fn hooks() {
        assert_eq!(Hook::parse(r#"{"hookConfig":"ping"}"#).unwrap(), Hook::Ping);
        let n = Hook::parse(
            r#"{"Domain":"Fulfillment","OrderId":"BWW-1-01","State":"invoiced","Origin":{"Account":"a","Key":"k"}}"#,
        )
        .unwrap();
        assert_eq!(
            n,
            Hook::Notification {
                order_id: OrderId::parse("BWW-1-01").unwrap(),
                state: Some("invoiced".into())
            }
        );
        for (body, msg) in [
            ("not json", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"Domain":"x"}"#, "OrderId is missing"),
            (r#"{"OrderId":12}"#, "must be a string"),
            (r#"{"OrderId":"../etc"}"#, "not a VTEX order id"),
        ] {
            let e = Hook::parse(body).unwrap_err().to_string();
            assert!(e.contains(msg), "{body}: {e}");
        }
    }
}
