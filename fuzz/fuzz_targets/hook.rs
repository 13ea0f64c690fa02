//! The OMS hook body: never a panic; an accepted order id is safe in a URL path.
#![no_main]
use b2w_coleta::ids::percent_encode;
use b2w_coleta::oms::Hook;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else { return };
    if let Ok(Hook::Notification { order_id, .. }) = Hook::parse(body) {
        assert_eq!(percent_encode(order_id.as_str()), order_id.as_str());
    }
});
