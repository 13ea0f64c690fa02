//! A sliding-window rate limiter per SkyHub request class: never more than `limit` requests
//! in any window of one second plus a margin for network jitter, counted at send time.

use std::collections::{BTreeMap, VecDeque};

use crate::skyhub::RequestClass;

#[derive(Debug, Clone)]
pub struct RateLimiter {
    window_ms: u64,
    classes: BTreeMap<RequestClass, (u32, VecDeque<u64>)>,
}

impl RateLimiter {
    /// `limits`: requests per second per class. `margin_ms` widens the window so that
    /// requests that leave one second apart still arrive one second apart.
    pub fn new(limits: &[(RequestClass, u32)], margin_ms: u64) -> RateLimiter {
        RateLimiter {
            window_ms: 1_000 + margin_ms,
            classes: limits
                .iter()
                .map(|&(c, n)| (c, (n.max(1), VecDeque::new())))
                .collect(),
        }
    }

    /// Milliseconds to wait before a request of `class` may be sent at `now`.
    pub fn delay(&mut self, class: RequestClass, now: u64) -> u64 {
        let window = self.window_ms;
        let Some((limit, sent)) = self.classes.get_mut(&class) else {
            return 0;
        };
        while sent.front().is_some_and(|&t| t + window <= now) {
            sent.pop_front();
        }
        if sent.len() < *limit as usize {
            0
        } else {
            sent[sent.len() - *limit as usize] + window - now
        }
    }

    /// Records a request of `class` sent at `now`; call only when `delay` said 0.
    pub fn record(&mut self, class: RequestClass, now: u64) {
        if let Some((_, sent)) = self.classes.get_mut(&class) {
            sent.push_back(now);
        }
    }

    /// SkyHub answered 429: treat the class's window as spent from `now`.
    pub fn penalize(&mut self, class: RequestClass, now: u64) {
        if let Some((limit, sent)) = self.classes.get_mut(&class) {
            sent.clear();
            sent.extend(std::iter::repeat(now).take(*limit as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the limiter with a virtual clock and checks every window of the sends.
    fn simulate(limit: u32, margin: u64, requests: usize, arrival_gap: u64) -> Vec<u64> {
        let mut l = RateLimiter::new(&[(RequestClass::OrdersWrite, limit)], margin);
        let mut now = 0;
        let mut sent = Vec::new();
        for i in 0..requests {
            now = now.max(i as u64 * arrival_gap);
            loop {
                let d = l.delay(RequestClass::OrdersWrite, now);
                if d == 0 {
                    break;
                }
                now += d;
            }
            l.record(RequestClass::OrdersWrite, now);
            sent.push(now);
        }
        sent
    }

    #[test]
    fn never_exceeds_the_limit_in_any_window() {
        for limit in [1, 2, 9] {
            for margin in [0, 50, 100] {
                for gap in [0, 1, 37, 250] {
                    let sent = simulate(limit, margin, 200, gap);
                    for (i, &t) in sent.iter().enumerate() {
                        let in_window = sent[i..]
                            .iter()
                            .take_while(|&&u| u < t + 1000 + margin)
                            .count();
                        assert!(
                            in_window <= limit as usize,
                            "limit {limit} margin {margin} gap {gap} at {t}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_backlog_drains_at_the_bound() {
        // 90 requests at 9/s with 100 ms margin: the last leaves after 9 full windows.
        let sent = simulate(9, 100, 90, 0);
        assert_eq!(*sent.last().unwrap(), 9 * 1100);
        assert_eq!(sent.iter().filter(|&&t| t == 0).count(), 9);
    }

    #[test]
    fn classes_are_independent_and_unknown_classes_unlimited() {
        let mut l = RateLimiter::new(
            &[(RequestClass::OrdersGet, 1), (RequestClass::Shipments, 9)],
            0,
        );
        l.record(RequestClass::OrdersGet, 0);
        assert_eq!(l.delay(RequestClass::OrdersGet, 0), 1000);
        assert_eq!(l.delay(RequestClass::OrdersGet, 400), 600);
        assert_eq!(l.delay(RequestClass::Shipments, 0), 0);
        assert_eq!(l.delay(RequestClass::OrdersWrite, 0), 0);
        assert_eq!(l.delay(RequestClass::OrdersGet, 1000), 0);
        l.penalize(RequestClass::Shipments, 5000);
        assert_eq!(l.delay(RequestClass::Shipments, 5000), 1000);
        assert_eq!(l.delay(RequestClass::Shipments, 6000), 0);
    }
}
