//! Property tests on seeded random inputs: parsers never panic, the decision is monotone,
//! NF-e keys round-trip, path encoding is reversible. Repeatable: a fixed generator.

use crate::ids::{percent_encode, OrderId, SkyhubCode};
use crate::nfe::NfeKey;
use crate::oms::{Hook, OmsOrder};
use crate::readiness::tests::{b2w_order, key, FIXTURE};
use crate::readiness::{decide, Readiness};
use crate::skyhub::{error_message, parse_listing, parse_plp_id, skyhub_date, SkyhubOrder};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Truncations, byte flips, insertions and deletions of a valid input.
fn mutate(r: &mut Rng, base: &str) -> String {
    let mut b = base.as_bytes().to_vec();
    for _ in 0..=r.below(4) {
        if b.is_empty() {
            break;
        }
        let i = r.below(b.len() as u64) as usize;
        match r.below(5) {
            0 => b.truncate(i),
            1 => b[i] = r.below(256) as u8,
            2 => {
                let alphabet = b"{}[]\",:0-9nulltrue\\";
                b.insert(i, alphabet[r.below(alphabet.len() as u64) as usize]);
            }
            3 => {
                b.remove(i);
            }
            _ => b[i] = b"0\"}]"[r.below(4) as usize],
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn inputs(seed: u64, seeds: &[&str], n: usize) -> Vec<String> {
    let mut r = Rng(seed);
    (0..n)
        .map(|i| {
            if i % 10 == 0 {
                (0..r.below(64))
                    .map(|_| char::from(r.below(128) as u8))
                    .collect()
            } else {
                let s = seeds[r.below(seeds.len() as u64) as usize];
                mutate(&mut r, s)
            }
        })
        .collect()
}

#[test]
fn parsers_never_panic() {
    let hook = r#"{"Domain":"Fulfillment","OrderId":"BWW-1-01","State":"invoiced","Origin":{"Account":"a"}}"#;
    let listing = r#"{"orders":[{"code":"266","customer":"A","value":1.5,"shipping":"DIRECT"}]}"#;
    let order = r#"{"code":"X-1","calculation_type":"b2wentregadirect","invoices":[{"key":"1"}]}"#;
    let seeds = [
        hook,
        listing,
        order,
        r#"{"message":"Plp 1 agrupada com sucesso."}"#,
        "2024-02-09T10:10:20.5+00:00",
        FIXTURE,
    ];
    let b2w = vec!["BWW".to_string(), "GHB".to_string()];
    for s in inputs(0x5eed, &seeds, 20_000) {
        let _ = Hook::parse(&s);
        let _ = parse_listing(&s);
        let _ = SkyhubOrder::parse(&s).map(|o| (o.kind(), o.has_invoice("1")));
        let _ = parse_plp_id(&s);
        assert!(error_message(&s).chars().count() <= 301);
        if let Some(d) = skyhub_date(&s) {
            assert_eq!(d.len(), 25, "{d}");
        }
        let _ = NfeKey::parse(&s);
        let _ = crate::ids::percent_decode(&s);
        if let Ok(id) = OrderId::parse(&s) {
            assert_eq!(
                percent_encode(id.as_str()),
                id.as_str(),
                "an accepted id needs no escaping"
            );
        }
        if let Ok(c) = SkyhubCode::parse(&s) {
            let _ = c.remote();
            assert!(!c.path_segment().contains(['/', '?', '#', ' ']));
        }
        if let Ok(o) = OmsOrder::parse(&s) {
            let _ = decide(&o, &b2w);
        }
    }
}

#[test]
fn adding_an_invoice_never_makes_a_ready_order_unready() {
    let mut r = Rng(42);
    let mut ready_seen = 0;
    for case in 0..3_000u32 {
        let items: Vec<u32> = (0..1 + r.below(4)).map(|_| 1 + r.below(3) as u32).collect();
        let mut pk: Vec<(&str, String, Vec<(usize, u32)>)> = Vec::new();
        for p in 0..r.below(5) {
            let kind = if r.below(4) == 0 { "Input" } else { "Output" };
            let lines = (0..1 + r.below(3))
                .map(|_| (r.below(items.len() as u64 + 1) as usize, r.below(3) as u32))
                .collect();
            pk.push((kind, key(case * 10 + p as u32), lines));
        }
        let refs: Vec<(&str, String, &[(usize, u32)])> = pk
            .iter()
            .map(|(k, key, l)| (*k, key.clone(), l.as_slice()))
            .collect();
        let before = decide(&b2w_order(&items, &refs), &["BWW".into()]);
        let mut more = refs.clone();
        let extra = [(r.below(items.len() as u64) as usize, 1 + r.below(2) as u32)];
        let kind = if r.below(2) == 0 { "Input" } else { "Output" };
        more.push((kind, key(case * 10 + 9), &extra));
        let after = decide(&b2w_order(&items, &more), &["BWW".into()]);
        if matches!(before, Readiness::Ready { .. }) {
            ready_seen += 1;
            assert!(
                matches!(after, Readiness::Ready { .. }),
                "case {case}: {before:?} then {after:?}"
            );
        }
        if let (Readiness::Waiting { invoiced: a, .. }, Readiness::Waiting { invoiced: b, .. }) =
            (&before, &after)
        {
            assert!(b >= a, "case {case}: invoiced units went down");
        }
    }
    assert!(
        ready_seen > 100,
        "only {ready_seen} ready cases: the generator is too weak"
    );
}

#[test]
fn nfe_keys_round_trip_in_every_spelling() {
    let mut r = Rng(7);
    for _ in 0..5_000 {
        let mut d: Vec<u8> = (0..43).map(|_| b'0' + r.below(10) as u8).collect();
        d[20] = b'5';
        d[21] = b'5';
        let k = NfeKey::complete(std::str::from_utf8(&d).unwrap()).unwrap();
        let s = k.as_str();
        let spelled = match r.below(4) {
            0 => format!("NFe{s}"),
            1 => s
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(" "),
            2 => format!("{}.{}-{}", &s[..10], &s[10..30], &s[30..]),
            _ => s.to_string(),
        };
        assert_eq!(NfeKey::parse(&spelled).unwrap(), k, "{spelled}");
    }
}

#[test]
fn path_encoding_is_reversible() {
    let mut r = Rng(99);
    for _ in 0..5_000 {
        let s: String = (0..r.below(30))
            .map(|_| char::from_u32(32 + r.below(300) as u32).unwrap_or('x'))
            .collect();
        let enc = percent_encode(&s);
        assert!(
            enc.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{enc}"
        );
        let mut out = Vec::new();
        let b = enc.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&enc[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        assert_eq!(String::from_utf8(out).unwrap(), s);
    }
}
