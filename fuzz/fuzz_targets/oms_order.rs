//! The OMS order: parsing, the readiness decision and the SkyHub request built from it.
#![no_main]
use b2w_coleta::oms::OmsOrder;
use b2w_coleta::readiness::{decide, Readiness};
use b2w_coleta::record::{InvoiceStatus, InvoiceWork};
use b2w_coleta::skyhub::{ShipmentKind, SkyhubApi};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let Ok(order) = OmsOrder::parse(body) else { return };
    let affiliates = vec![order.affiliate_id.clone().unwrap_or_default(), "BWW".to_string()];
    if let Readiness::Ready { code, invoices } = decide(&order, &affiliates) {
        let api = SkyhubApi {
            base_url: "https://api.skyhub.com.br".into(),
            user_email: "e".into(),
            api_key: "k".into(),
            account_manager_key: "a".into(),
        };
        for inv in invoices {
            assert_eq!(inv.key.as_str().len(), 44);
            let work = InvoiceWork { key: inv.key, issue_date: inv.issue_date, xml: inv.xml, volumes: inv.volumes, status: InvoiceStatus::Pending };
            for kind in [ShipmentKind::Direct, ShipmentKind::Correios] {
                let req = api.invoice(&code, &work, kind);
                assert!(req.url.starts_with("https://api.skyhub.com.br/orders/"));
                assert!(!req.url[34..].contains(['?', '#', ' ']));
            }
        }
    }
});
