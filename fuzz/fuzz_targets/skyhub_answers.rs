//! SkyHub answers: listings, orders, group messages, error bodies and dates never panic.
#![no_main]
use b2w_coleta::skyhub::{error_message, parse_listing, parse_plp_id, skyhub_date, SkyhubOrder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    let _ = parse_listing(body);
    if let Ok(o) = SkyhubOrder::parse(body) {
        let _ = o.kind();
        let _ = o.has_invoice("x");
    }
    let _ = parse_plp_id(body);
    assert!(error_message(body).chars().count() <= 301);
    if let Some(d) = skyhub_date(body) {
        assert_eq!(d.len(), 25);
    }
});
