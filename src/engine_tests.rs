//! The engine against the native fakes: effects at SkyHub, retries, crash recovery, limits.

use crate::readiness::tests::key;
use crate::record::State;
use crate::testkit::*;
use futures::executor::block_on;

const DIRECT: Option<&str> = Some("b2wentregadirect");
const CORREIOS: Option<&str> = Some("b2wentregacorreios");

fn state(s: &MemStore, id: &str) -> State {
    s.rows.borrow()[id].0.state
}

fn hook(e: &TestEngine, id: &str) -> u16 {
    block_on(e.hook(Some("hs"), &format!(r#"{{"OrderId":"{id}"}}"#))).status
}

#[test]
fn direct_order_is_invoiced_grouped_and_collected_once() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, code) = w.add(1, DIRECT, &[1], &[("Output", key(1), &[(0, 1)])]);
    assert_eq!(hook(&e, &id), 200);
    assert!(run_until(&e, &c, 30_000, || state(&s, &id)
        == State::CollectionRequested));
    assert_eq!(w.calls_to("POST", "/invoice").len(), 1);
    assert_eq!(
        w.calls_to("POST", "/shipments/b2w")
            .iter()
            .filter(|c| c.path == "/shipments/b2w")
            .count(),
        1
    );
    assert_eq!(w.calls_to("POST", "confirm_collection").len(), 1);
    assert_eq!(w.sky.borrow()[&code].invoices, vec![key(1)]);
    let rec = s.rows.borrow()[&id].0.clone();
    assert_eq!(rec.plp_id.as_deref(), Some("4242"));
    assert!(rec.next_at.is_none() && rec.lease.is_none());
    // nothing more happens, whatever comes later
    let before = w.calls.borrow().len();
    assert_eq!(hook(&e, &id), 200);
    run_until(&e, &c, 5_000, || false);
    assert_eq!(w.calls.borrow().len(), before);
}

#[test]
fn correios_and_own_end_at_invoiced_without_shipments_calls() {
    for kind in [CORREIOS, None] {
        let (w, s, c) = (World::new(), MemStore::default(), clock());
        let e = engine(&w, &s, &c);
        let (id, _) = w.add(2, kind, &[1], &[("Output", key(2), &[(0, 1)])]);
        hook(&e, &id);
        assert!(run_until(&e, &c, 10_000, || state(&s, &id) == State::Invoiced));
        run_until(&e, &c, 5_000, || false);
        assert_eq!(w.calls_to("POST", "/invoice").len(), 1);
        assert!(
            w.calls
                .borrow()
                .iter()
                .all(|c| !c.path.starts_with("/shipments")),
            "{kind:?}"
        );
    }
}

#[test]
fn partial_invoices_wait_for_the_last_unit() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, _) = w.add(3, DIRECT, &[1, 1], &[("Output", key(3), &[(0, 1)])]);
    hook(&e, &id);
    run_until(&e, &c, 3_000, || false);
    assert_eq!(state(&s, &id), State::WaitingInvoice);
    assert!(
        s.rows.borrow()[&id].0.next_at.is_none(),
        "waits for a hook, not a timer"
    );
    assert!(w.calls_to("POST", "/invoice").is_empty());
    let (id2, _) = w.add(
        3,
        DIRECT,
        &[1, 1],
        &[("Output", key(3), &[(0, 1)]), ("Output", key(4), &[(1, 1)])],
    );
    assert_eq!(id, id2);
    hook(&e, &id);
    assert!(run_until(&e, &c, 30_000, || state(&s, &id)
        == State::CollectionRequested));
    assert_eq!(w.calls_to("POST", "/invoice").len(), 2);
}

#[test]
fn an_invoice_whose_answer_was_lost_is_not_sent_again() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, code) = w.add(5, DIRECT, &[1], &[("Output", key(5), &[(0, 1)])]);
    w.fault("/invoice", Fault::ProcessedThenLost);
    hook(&e, &id);
    assert!(run_until(&e, &c, 120_000, || state(&s, &id)
        == State::CollectionRequested));
    assert_eq!(w.sky.borrow()[&code].invoices.len(), 1, "sent twice");
    let reads = w
        .calls_to("GET", "/orders/")
        .iter()
        .filter(|c| c.path.starts_with("/orders/"))
        .count();
    assert_eq!(reads, 2, "a second read checked SkyHub");
}

#[test]
fn a_lost_confirm_is_checked_against_requested_pickups() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, _) = w.add(6, DIRECT, &[1], &[("Output", key(6), &[(0, 1)])]);
    w.fault("confirm_collection", Fault::ProcessedThenLost);
    hook(&e, &id);
    assert!(run_until(&e, &c, 120_000, || state(&s, &id)
        == State::CollectionRequested));
    assert_eq!(w.calls_to("POST", "confirm_collection").len(), 1);
    let h = &s.rows.borrow()[&id].0.history;
    assert!(
        h.iter()
            .any(|e| e.note.contains("lists the pickup as requested")),
        "{h:?}"
    );
}

#[test]
fn retryable_failures_back_off_and_succeed() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, _) = w.add(7, DIRECT, &[1], &[("Output", key(7), &[(0, 1)])]);
    for (p, f) in [
        ("/api/oms", Fault::Status(503)),
        ("/api/oms", Fault::Lost),
        ("GET /orders/", Fault::Status(429)),
        ("/invoice", Fault::Status(500)),
        ("to_group", Fault::Status(502)),
        ("POST /shipments/b2w", Fault::Status(429)),
        ("collectables", Fault::Lost),
        ("confirm_collection", Fault::Status(503)),
    ] {
        w.fault(p, f);
    }
    hook(&e, &id);
    assert!(run_until(&e, &c, 120_000, || state(&s, &id)
        == State::CollectionRequested));
    let rec = s.rows.borrow()[&id].0.clone();
    assert!(rec.attempts == 0 && rec.last_error.is_none(), "{rec:?}");
    assert!(w.faults.borrow().is_empty());
    assert_eq!(
        w.calls_to("POST", "confirm_collection").len(),
        2,
        "the 503 and the one that went through"
    );
}

#[test]
fn a_refusal_fails_the_order_with_skyhubs_message_and_retry_resumes() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, code) = w.add(8, DIRECT, &[1], &[("Output", key(8), &[(0, 1)])]);
    w.sky.borrow_mut().get_mut(&code).unwrap().status = "order_canceled";
    hook(&e, &id);
    assert!(run_until(&e, &c, 10_000, || state(&s, &id) == State::Failed));
    let err = s.rows.borrow()[&id].0.last_error.clone().unwrap();
    assert!(
        err.contains("422") && err.contains("Transição de status inválida") && err.contains(&code),
        "{err}"
    );
    // a hook does not reopen a SkyHub refusal
    hook(&e, &id);
    run_until(&e, &c, 3_000, || false);
    assert_eq!(state(&s, &id), State::Failed);
    w.sky.borrow_mut().get_mut(&code).unwrap().status = "payment_received";
    let r = block_on(e.retry_order(&id)).unwrap().unwrap();
    assert_eq!(r.state, State::InvoicePending);
    assert!(run_until(&e, &c, 30_000, || state(&s, &id)
        == State::CollectionRequested));
    assert!(
        block_on(e.retry_order(&id)).unwrap().is_err(),
        "only failed orders are retried"
    );
}

#[test]
fn a_crash_mid_work_comes_back_after_the_lease() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, _) = w.add(9, DIRECT, &[1], &[("Output", key(9), &[(0, 1)])]);
    hook(&e, &id);
    // a worker claimed the order and died: its lease is in the store
    {
        let mut rows = s.rows.borrow_mut();
        let (r, v) = rows.get_mut(&id).unwrap();
        r.lease = Some("dead-worker".into());
        r.next_at = Some(c.now.get() + 60_000);
        *v += 1;
    }
    run_until(&e, &c, 30_000, || false);
    assert!(
        w.calls.borrow().is_empty(),
        "touched before the lease ran out"
    );
    assert!(run_until(&e, &c, 90_000, || state(&s, &id)
        == State::CollectionRequested));
}

#[test]
fn a_backlog_never_exceeds_the_limits_and_batches_the_pickups() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let ids: Vec<String> = (100..160)
        .map(|n| {
            w.add(
                n,
                if n % 5 == 0 { CORREIOS } else { DIRECT },
                &[1],
                &[("Output", key(n), &[(0, 1)])],
            )
            .0
        })
        .collect();
    for id in &ids {
        hook(&e, id);
    }
    let done = || {
        ids.iter()
            .all(|id| matches!(state(&s, id), State::CollectionRequested | State::Invoiced))
    };
    assert!(run_until(&e, &c, 600_000, done));
    let calls = w.calls.borrow();
    for (method, class, limit) in [
        ("GET", "/orders/", 1usize),
        ("POST", "/orders/", 9),
        ("GET", "/shipments/", 9),
        ("POST", "/shipments/", 9),
    ] {
        let times: Vec<u64> = calls
            .iter()
            .filter(|x| x.method == method && x.path.starts_with(class))
            .map(|x| x.at)
            .collect();
        for (i, t) in times.iter().enumerate() {
            let n = times[i..].iter().take_while(|&&u| u < t + 1000).count();
            assert!(n <= limit, "{method} {class}: {n} in one second");
        }
    }
    assert_eq!(
        calls
            .iter()
            .filter(|x| x.path.ends_with("/invoice"))
            .count(),
        60
    );
    let single_reads = calls
        .iter()
        .filter(|x| x.method == "GET" && x.path.starts_with("/orders/"))
        .count();
    let list_reads = calls.iter().filter(|x| x.path == "/orders").count();
    assert!(
        single_reads < 10 && list_reads >= 1,
        "{single_reads} single reads, {list_reads} list reads: kinds not learnt from the list"
    );
    let groups = calls
        .iter()
        .filter(|x| x.method == "POST" && x.path == "/shipments/b2w")
        .count();
    let confirms = calls
        .iter()
        .filter(|x| x.path.ends_with("confirm_collection"))
        .count();
    assert!(
        groups < 48 && confirms < 48,
        "groups {groups}, confirms {confirms}: not batched"
    );
}

/// Seeded random faults over many orders: every eligible order ends, nothing is doubled,
/// ineligible orders get nothing.
#[test]
fn random_faults_lose_nothing_and_double_nothing() {
    for seed in 1..=6u64 {
        let (w, s, c) = (World::new(), MemStore::default(), clock());
        let e = engine(&w, &s, &c);
        let mut rng = seed;
        let mut next = move || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as u32
        };
        let mut expect = Vec::new();
        for n in 0..40u32 {
            let kind = [DIRECT, DIRECT, CORREIOS, None][next() as usize % 4];
            let (id, _) = match next() % 6 {
                0 => {
                    let r = w.add(n, kind, &[1, 1], &[("Output", key(n), &[(0, 1)])]);
                    expect.push((r.0.clone(), State::WaitingInvoice));
                    r
                }
                1 => {
                    let r = w.add(n, kind, &[1], &[("Input", key(n), &[(0, 1)])]);
                    expect.push((r.0.clone(), State::WaitingInvoice));
                    r
                }
                _ => {
                    let r = w.add(
                        n,
                        kind,
                        &[2],
                        &[
                            ("Output", key(n), &[(0, 1)]),
                            ("Output", key(n + 1000), &[(0, 1)]),
                        ],
                    );
                    let end = if kind == DIRECT {
                        State::CollectionRequested
                    } else {
                        State::Invoiced
                    };
                    expect.push((r.0.clone(), end));
                    r
                }
            };
            for _ in 0..(1 + next() % 3) {
                hook(&e, &id);
            }
        }
        let patterns = [
            "/api/oms",
            "GET /orders/",
            "/invoice",
            "to_group",
            "POST /shipments/b2w",
            "collectables",
            "confirm_collection",
        ];
        for _ in 0..40 {
            let f = match next() % 4 {
                0 => Fault::Status(500),
                1 => Fault::Status(429),
                2 => Fault::Lost,
                _ => Fault::ProcessedThenLost,
            };
            w.fault(patterns[next() as usize % patterns.len()], f);
        }
        let done = || expect.iter().all(|(id, st)| state(&s, id) == *st);
        assert!(
            run_until(&e, &c, 1_800_000, done),
            "seed {seed}: {:?}",
            expect
                .iter()
                .map(|(id, st)| (id, st, state(&s, id)))
                .filter(|x| *x.1 != x.2)
                .collect::<Vec<_>>()
        );
        for (code, o) in w.sky.borrow().iter() {
            let mut keys = o.invoices.clone();
            keys.sort();
            keys.dedup();
            assert_eq!(
                keys.len(),
                o.invoices.len(),
                "seed {seed}: {code} got a key twice"
            );
        }
        let confirmed: Vec<String> = w
            .calls
            .borrow()
            .iter()
            .filter(|x| x.path.ends_with("confirm_collection") && x.status == 201)
            .flat_map(|x| {
                serde_json::from_str::<serde_json::Value>(&x.body).unwrap()["order_codes"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let mut unique = confirmed.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            confirmed.len(),
            "seed {seed}: a pickup was requested twice"
        );
        for (id, st) in &expect {
            if *st == State::WaitingInvoice {
                let code = id.replace("BWW-", "Lojas Americanas-");
                assert!(
                    w.calls.borrow().iter().all(|x| !x.path.contains(&code)),
                    "seed {seed}: {id} is not ready"
                );
            }
        }
    }
}

#[test]
fn metrics_show_the_queue_transitions_and_hook_latency() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (id, _) = w.add(70, DIRECT, &[1], &[("Output", key(70), &[(0, 1)])]);
    hook(&e, &id);
    c.now.set(c.now.get() + 4_000);
    let before = block_on(e.metrics()).unwrap();
    assert!(before.contains("b2w_coleta_due_orders 1\n"), "{before}");
    assert!(
        before.contains("b2w_coleta_oldest_due_age_seconds 4\n"),
        "{before}"
    );
    assert!(
        before.contains("b2w_coleta_hook_duration_seconds_count 1\n"),
        "{before}"
    );
    assert!(
        before.contains("b2w_coleta_hook_duration_seconds_bucket{le=\"+Inf\"} 1\n"),
        "{before}"
    );
    assert!(
        before.contains("b2w_coleta_hooks_total{outcome=\"recorded\"} 1\n"),
        "{before}"
    );
    assert!(run_until(&e, &c, 30_000, || state(&s, &id)
        == State::CollectionRequested));
    let after = block_on(e.metrics()).unwrap();
    for line in [
        "b2w_coleta_due_orders 0\n",
        "b2w_coleta_orders{state=\"collection_requested\"} 1\n",
        "b2w_coleta_transitions_total{to=\"invoice_pending\"} 1\n",
        "b2w_coleta_transitions_total{to=\"collection_pending\"} 1\n",
        "b2w_coleta_transitions_total{to=\"collection_requested\"} 1\n",
        "b2w_coleta_skyhub_requests_total{class=\"orders_write\",status=\"201\"} 1\n",
        "b2w_coleta_oms_requests_total{status=\"200\"} 1\n",
    ] {
        assert!(after.contains(line), "missing {line:?} in\n{after}");
    }
}

#[test]
fn reconciliation_records_the_orders_no_hook_brought_once() {
    let (w, s, c) = (World::new(), MemStore::default(), clock());
    let e = engine(&w, &s, &c);
    let (heard, _) = w.add(80, DIRECT, &[1], &[("Output", key(80), &[(0, 1)])]);
    let missed: Vec<String> = (81..86)
        .map(|n| w.add(n, CORREIOS, &[1], &[("Output", key(n), &[(0, 1)])]).0)
        .collect();
    hook(&e, &heard);
    let r = block_on(e.reconcile(48)).unwrap();
    assert_eq!(
        (r["listed"].as_u64(), r["added"].as_u64()),
        (Some(6), Some(5)),
        "three pages of two"
    );
    assert!(run_until(&e, &c, 60_000, || missed
        .iter()
        .all(|id| state(&s, id) == State::Invoiced)));
    let again = block_on(e.reconcile(48)).unwrap();
    assert_eq!(again["added"].as_u64(), Some(0));
    assert_eq!(
        s.rows.borrow()[&missed[0]].0.history[0].note,
        "found by reconciliation (no hook came)"
    );
}
