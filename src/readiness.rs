//! The readiness decision: is this OMS order a B2W order whose every item is invoiced,
//! and which NF-e keys must SkyHub receive?

use std::collections::BTreeMap;

use crate::ids::SkyhubCode;
use crate::nfe::NfeKey;
use crate::oms::OmsOrder;

/// One NF-e to send to SkyHub, merged over the packages that carry the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceToSend {
    pub key: NfeKey,
    pub issue_date: Option<String>,
    pub xml: Option<String>,
    pub volumes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// `affiliateId` is not one of `B2W_AFFILIATE_IDS`.
    NotB2w,
    /// The order is canceled in OMS: nothing is ever sent.
    Canceled,
    /// A cancellation was requested and not yet decided: hold until OMS settles it.
    CancellationRequested,
    /// Some units are not invoiced yet.
    Waiting { invoiced: u32, ordered: u32 },
    /// Every unit is invoiced; these keys go to SkyHub.
    Ready {
        code: SkyhubCode,
        invoices: Vec<InvoiceToSend>,
    },
    /// Ready by quantities, but the data cannot be sent; the reason names the cause.
    Invalid(String),
}

const CANCELED: [&str; 2] = ["canceled", "cancel"];
const CANCEL_REQUESTED: [&str; 2] = ["request-cancel", "cancellation-requested"];

pub fn decide(order: &OmsOrder, b2w_affiliates: &[String]) -> Readiness {
    let affiliate = order.affiliate_id.as_deref().unwrap_or("").trim();
    if !b2w_affiliates
        .iter()
        .any(|a| a.eq_ignore_ascii_case(affiliate))
    {
        return Readiness::NotB2w;
    }
    let status = order.status.as_deref().unwrap_or("");
    if CANCELED.contains(&status) {
        return Readiness::Canceled;
    }
    if CANCEL_REQUESTED.contains(&status) {
        return Readiness::CancellationRequested;
    }

    // Units invoiced per itemIndex, over sale (`Output`) packages only.
    let mut invoiced_by_index: BTreeMap<usize, u32> = BTreeMap::new();
    for p in order.packages().iter().filter(|p| p.is_output()) {
        for it in &p.items {
            *invoiced_by_index.entry(it.item_index).or_default() += it.quantity;
        }
    }
    let ordered: u32 = order.items.iter().map(|i| i.quantity).sum();
    let invoiced: u32 = order
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            invoiced_by_index
                .get(&i)
                .copied()
                .unwrap_or(0)
                .min(item.quantity)
        })
        .sum();
    if order.items.is_empty() || invoiced < ordered {
        return Readiness::Waiting { invoiced, ordered };
    }

    let code = match order.marketplace_order_id.as_deref().map(SkyhubCode::parse) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Readiness::Invalid(e.to_string()),
        None => {
            return Readiness::Invalid(
                "the order has no marketplaceOrderId (the SkyHub code)".into(),
            )
        }
    };

    let mut invoices: Vec<InvoiceToSend> = Vec::new();
    for p in order.packages().iter().filter(|p| p.is_output()) {
        let raw = match p.invoice_key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => k,
            _ => {
                let n = p.invoice_number.as_deref().unwrap_or("?");
                return Readiness::Invalid(format!(
                    "invoice {n} has no invoiceKey: SkyHub needs the 44-digit NF-e access key"
                ));
            }
        };
        let key = match NfeKey::parse(raw) {
            Ok(k) => k,
            Err(e) => return Readiness::Invalid(e),
        };
        let volumes = p.volumes.unwrap_or(0);
        match invoices.iter_mut().find(|i| i.key == key) {
            Some(existing) => {
                existing.volumes += volumes;
                existing.xml = existing
                    .xml
                    .take()
                    .or_else(|| nonempty(&p.embedded_invoice));
                existing.issue_date = existing
                    .issue_date
                    .take()
                    .or_else(|| nonempty(&p.issuance_date));
            }
            None => invoices.push(InvoiceToSend {
                key,
                issue_date: nonempty(&p.issuance_date),
                xml: nonempty(&p.embedded_invoice),
                volumes,
            }),
        }
    }
    Readiness::Ready { code, invoices }
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{json, Value};

    pub const FIXTURE: &str = include_str!("../tests/fixtures/vtex-oms-order-example.json");

    pub fn key(n: u32) -> String {
        NfeKey::complete(&format!(
            "3524010000000000000055001{n:09}1{:08}",
            n % 100_000_000
        ))
        .unwrap()
        .as_str()
        .to_string()
    }

    /// The VTEX example order turned into a B2W order with the given item quantities
    /// and packages `(type, key, [(itemIndex, quantity)])`.
    pub fn b2w_order(quantities: &[u32], packages: &[(&str, String, &[(usize, u32)])]) -> OmsOrder {
        serde_json::from_value(b2w_order_json(quantities, packages)).unwrap()
    }

    pub fn b2w_order_json(
        quantities: &[u32],
        packages: &[(&str, String, &[(usize, u32)])],
    ) -> Value {
        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["affiliateId"] = json!("BWW");
        v["marketplaceOrderId"] = json!("Lojas Americanas-1517940500554-01");
        let item = v["items"][0].clone();
        v["items"] = Value::Array(
            quantities
                .iter()
                .map(|q| {
                    let mut i = item.clone();
                    i["quantity"] = json!(q);
                    i
                })
                .collect(),
        );
        let pkg = v["packageAttachment"]["packages"][0].clone();
        v["packageAttachment"]["packages"] = Value::Array(
            packages
                .iter()
                .map(|(kind, k, items)| {
                    let mut p = pkg.clone();
                    p["type"] = json!(kind);
                    p["embeddedInvoice"] = json!(format!("<nfeProc><protNFe><infProt><chNFe>{k}</chNFe></infProt></protNFe></nfeProc>"));
                    p["invoiceKey"] = json!(k);
                    p["items"] = Value::Array(
                        items
                            .iter()
                            .map(|(i, q)| json!({"itemIndex": i, "quantity": q}))
                            .collect(),
                    );
                    p
                })
                .collect(),
        );
        v
    }

    fn b2w() -> Vec<String> {
        vec!["BWW".into()]
    }

    fn ready_keys(r: &Readiness) -> Vec<String> {
        match r {
            Readiness::Ready { invoices, .. } => {
                invoices.iter().map(|i| i.key.to_string()).collect()
            }
            other => panic!("not ready: {other:?}"),
        }
    }

    #[test]
    fn the_published_example_is_not_b2w() {
        let o = OmsOrder::parse(FIXTURE).unwrap();
        assert_eq!(decide(&o, &b2w()), Readiness::NotB2w);
        assert_ne!(decide(&o, &["GHB".to_string()]), Readiness::NotB2w);
    }

    #[test]
    fn decision_table() {
        let k1 = key(1);
        let k2 = key(2);
        let k3 = key(3);
        type Case<'a> = (
            &'a str,
            Vec<u32>,
            Vec<(&'a str, String, &'a [(usize, u32)])>,
            Result<usize, (u32, u32)>,
        );
        let cases: Vec<Case> = vec![
            ("single item, no invoice", vec![1], vec![], Err((0, 1))),
            (
                "single item invoiced",
                vec![1],
                vec![("Output", k1.clone(), &[(0, 1)])],
                Ok(1),
            ),
            (
                "return package does not count",
                vec![1],
                vec![("Input", k1.clone(), &[(0, 1)])],
                Err((0, 1)),
            ),
            (
                "two items, first invoiced",
                vec![1, 1],
                vec![("Output", k1.clone(), &[(0, 1)])],
                Err((1, 2)),
            ),
            (
                "two items, both invoiced separately",
                vec![1, 1],
                vec![
                    ("Output", k1.clone(), &[(0, 1)]),
                    ("Output", k2.clone(), &[(1, 1)]),
                ],
                Ok(2),
            ),
            (
                "quantity 3, two units invoiced",
                vec![3],
                vec![("Output", k1.clone(), &[(0, 2)])],
                Err((2, 3)),
            ),
            (
                "quantity 3 over two invoices",
                vec![3],
                vec![
                    ("Output", k1.clone(), &[(0, 2)]),
                    ("Output", k2.clone(), &[(0, 1)]),
                ],
                Ok(2),
            ),
            (
                "one invoice covers three items",
                vec![1, 2, 1],
                vec![("Output", k1.clone(), &[(0, 1), (1, 2), (2, 1)])],
                Ok(1),
            ),
            (
                "same key in two packages is sent once",
                vec![1, 1],
                vec![
                    ("Output", k1.clone(), &[(0, 1)]),
                    ("Output", k1.clone(), &[(1, 1)]),
                ],
                Ok(1),
            ),
            (
                "a return does not undo a sale invoice",
                vec![1, 1],
                vec![
                    ("Output", k1.clone(), &[(0, 1)]),
                    ("Input", k3.clone(), &[(0, 1)]),
                    ("Output", k2.clone(), &[(1, 1)]),
                ],
                Ok(2),
            ),
            (
                "index out of range counts for nothing",
                vec![1],
                vec![("Output", k1.clone(), &[(5, 1)])],
                Err((0, 1)),
            ),
            (
                "over-invoicing one item does not cover another",
                vec![1, 1],
                vec![("Output", k1.clone(), &[(0, 2)])],
                Err((1, 2)),
            ),
            ("no items at all waits", vec![], vec![], Err((0, 0))),
        ];
        for (name, qty, pkgs, want) in cases {
            let o = b2w_order(&qty, &pkgs);
            let got = decide(&o, &b2w());
            match want {
                Ok(n) => assert_eq!(ready_keys(&got).len(), n, "{name}"),
                Err((inv, ord)) => {
                    assert_eq!(
                        got,
                        Readiness::Waiting {
                            invoiced: inv,
                            ordered: ord
                        },
                        "{name}"
                    )
                }
            }
        }
    }

    #[test]
    fn canceled_and_cancel_requested() {
        let mut o = b2w_order(&[1], &[("Output", key(1), &[(0, 1)])]);
        for (status, want) in [
            ("canceled", Readiness::Canceled),
            ("cancel", Readiness::Canceled),
            ("request-cancel", Readiness::CancellationRequested),
            ("cancellation-requested", Readiness::CancellationRequested),
        ] {
            o.status = Some(status.into());
            assert_eq!(decide(&o, &b2w()), want, "{status}");
        }
        o.status = Some("invoiced".into());
        assert!(matches!(decide(&o, &b2w()), Readiness::Ready { .. }));
    }

    #[test]
    fn affiliate_match_is_listed_and_case_insensitive() {
        let o = b2w_order(&[1], &[("Output", key(1), &[(0, 1)])]);
        assert_eq!(decide(&o, &["SCP".into()]), Readiness::NotB2w);
        assert!(matches!(
            decide(&o, &["SCP".into(), "bww".into()]),
            Readiness::Ready { .. }
        ));
    }

    #[test]
    fn invalid_keys_and_missing_code_are_reasons() {
        let mut bad = key(1);
        bad.replace_range(43.., if bad.ends_with('0') { "1" } else { "0" });
        let o = b2w_order(&[1], &[("Output", bad, &[(0, 1)])]);
        assert!(matches!(decide(&o, &b2w()), Readiness::Invalid(r) if r.contains("check digit")));

        let o = b2w_order(&[1], &[("Output", "".into(), &[(0, 1)])]);
        assert!(matches!(decide(&o, &b2w()), Readiness::Invalid(r) if r.contains("no invoiceKey")));

        let mut o = b2w_order(&[1], &[("Output", key(1), &[(0, 1)])]);
        o.marketplace_order_id = None;
        assert!(
            matches!(decide(&o, &b2w()), Readiness::Invalid(r) if r.contains("marketplaceOrderId"))
        );
    }

    #[test]
    fn ready_carries_code_xml_date_and_summed_volumes() {
        let k = key(7);
        let o = b2w_order(
            &[1, 1],
            &[
                ("Output", format!("NFe{k}"), &[(0, 1)]),
                ("Output", k.clone(), &[(1, 1)]),
            ],
        );
        match decide(&o, &b2w()) {
            Readiness::Ready { code, invoices } => {
                assert_eq!(code.as_str(), "Lojas Americanas-1517940500554-01");
                assert_eq!(invoices.len(), 1);
                assert_eq!(invoices[0].key.as_str(), k);
                assert_eq!(invoices[0].volumes, 2);
                assert!(invoices[0].xml.as_deref().unwrap().contains("<chNFe>"));
                assert_eq!(
                    invoices[0].issue_date.as_deref(),
                    Some("2024-02-09T10:10:20.5322681+00:00")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    /// Exhaustive over small orders: ready exactly when every item's Output units reach its
    /// quantity, and adding a package never makes a ready order unready.
    #[test]
    fn exhaustive_small_orders() {
        let keys: Vec<String> = (0..4).map(key).collect();
        for q0 in 0..=2u32 {
            for q1 in 0..=2u32 {
                // every assignment of up to 3 packages, each covering (index, qty) with qty 0..=2
                for mask in 0..(3u32 * 3 * 2).pow(2) {
                    let mut m = mask;
                    let mut pk: Vec<(&str, String, Vec<(usize, u32)>)> = Vec::new();
                    for p in 0..2 {
                        let a = m % 3;
                        m /= 3;
                        let b = m % 3;
                        m /= 3;
                        let kind = if m % 2 == 0 { "Output" } else { "Input" };
                        m /= 2;
                        pk.push((kind, keys[p].clone(), vec![(0, a), (1, b)]));
                    }
                    let refs: Vec<(&str, String, &[(usize, u32)])> = pk
                        .iter()
                        .map(|(k, key, it)| (*k, key.clone(), it.as_slice()))
                        .collect();
                    let o = b2w_order(&[q0, q1], &refs);
                    let out = |i: usize| -> u32 {
                        pk.iter()
                            .filter(|p| p.0 == "Output")
                            .map(|p| p.2[i].1)
                            .sum()
                    };
                    let expect_ready = out(0) >= q0 && out(1) >= q1;
                    let got = decide(&o, &b2w());
                    assert_eq!(
                        matches!(got, Readiness::Ready { .. }),
                        expect_ready,
                        "{q0} {q1} {pk:?}: {got:?}"
                    );
                    if expect_ready {
                        let mut more = refs.clone();
                        more.push(("Output", keys[3].clone(), &[(0, 1)]));
                        assert!(matches!(
                            decide(&b2w_order(&[q0, q1], &more), &b2w()),
                            Readiness::Ready { .. }
                        ));
                    }
                }
            }
        }
    }
}
