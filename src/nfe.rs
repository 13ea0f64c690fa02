//! The NF-e access key ("chave de acesso"): 44 digits whose last is a mod-11 check digit.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ids::truncate;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NfeKey(String);

impl NfeKey {
    /// Normalises what VTEX holds in `invoiceKey` (an `NFe` prefix, spaces, dots, dashes,
    /// slashes) and validates it: 44 digits, model 55 (NF-e), right check digit.
    pub fn parse(raw: &str) -> Result<NfeKey, String> {
        let shown = truncate(raw, 60);
        let mut s = raw.trim();
        if s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("nfe")) {
            s = &s[3..];
        }
        let mut digits = String::with_capacity(44);
        for c in s.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '/' | '\t' => {}
                _ => {
                    return Err(format!(
                        "invoice key {shown:?} is not an NF-e access key: it holds {c:?}"
                    ))
                }
            }
        }
        if digits.len() != 44 {
            return Err(format!(
                "invoice key {shown:?} is not an NF-e access key: {} digits, 44 expected",
                digits.len()
            ));
        }
        if &digits[20..22] != "55" {
            return Err(format!(
                "invoice key {shown:?} is not an NF-e access key: model {}, 55 expected",
                &digits[20..22]
            ));
        }
        let expected = check_digit(&digits[..43]);
        let got = digits.as_bytes()[43] - b'0';
        if expected != got {
            return Err(format!(
                "invoice key {shown:?} fails the check digit: {got}, {expected} expected"
            ));
        }
        Ok(NfeKey(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Completes 43 digits with their check digit (for fixtures and simulators).
    pub fn complete(first43: &str) -> Option<NfeKey> {
        if first43.len() != 43 || !first43.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(NfeKey(format!("{first43}{}", check_digit(first43))))
    }
}

impl fmt::Display for NfeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Weights 2..=9 from the rightmost digit, repeating; remainder 0 or 1 gives 0.
fn check_digit(first43: &str) -> u8 {
    let sum: u32 = first43
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (2 + (i as u32 % 8)))
        .sum();
    let r = sum % 11;
    if r < 2 {
        0
    } else {
        (11 - r) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A published example key (SEFAZ manual layout): UF 35, AAMM 1102, CNPJ, model 55.
    const BASE: &str = "3511020000000000000055001000000001100000001";

    fn valid() -> String {
        NfeKey::complete(BASE).unwrap().0
    }

    #[test]
    fn accepts_valid_key_in_every_spelling() {
        let k = valid();
        let spaced: String = k
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        let dotted = format!("{}.{}", &k[..20], &k[20..]);
        for raw in [
            k.clone(),
            format!("NFe{k}"),
            format!("nfe{k}"),
            spaced,
            dotted,
            format!(" {k} "),
        ] {
            assert_eq!(NfeKey::parse(&raw).unwrap().as_str(), k, "{raw}");
        }
    }

    #[test]
    fn every_wrong_check_digit_is_rejected() {
        let k = valid();
        let good = k.as_bytes()[43];
        for d in b'0'..=b'9' {
            let mut v = k.clone().into_bytes();
            v[43] = d;
            let s = String::from_utf8(v).unwrap();
            assert_eq!(NfeKey::parse(&s).is_ok(), d == good, "{s}");
        }
    }

    #[test]
    fn every_single_digit_change_is_caught() {
        let k = valid();
        for pos in 0..43 {
            if pos == 20 || pos == 21 {
                continue; // the model digits fail on their own rule
            }
            let mut v = k.clone().into_bytes();
            v[pos] = if v[pos] == b'9' { b'0' } else { v[pos] + 1 };
            let s = String::from_utf8(v).unwrap();
            assert!(NfeKey::parse(&s).is_err(), "change at {pos} not caught");
        }
    }

    #[test]
    fn rejects_wrong_length_model_and_characters() {
        let k = valid();
        assert!(NfeKey::parse(&k[..43]).unwrap_err().contains("43 digits"));
        assert!(NfeKey::parse(&format!("{k}1"))
            .unwrap_err()
            .contains("45 digits"));
        assert!(NfeKey::parse("").unwrap_err().contains("0 digits"));
        let cfe = "CFe35201100063960001504590006629690333214542150";
        assert!(NfeKey::parse(cfe).unwrap_err().contains("'C'"));
        let model59 = NfeKey::complete(&format!("{}59{}", &BASE[..20], &BASE[22..])).unwrap();
        assert!(NfeKey::parse(model59.as_str())
            .unwrap_err()
            .contains("model 59"));
        assert!(NfeKey::parse(&format!("{}x", &k[..43])).is_err());
    }

    #[test]
    fn check_digit_known_values() {
        // remainder 0 and 1 both give 0
        for base in ["0000000000000000000055000000000000000000000", BASE] {
            let k = NfeKey::complete(base).unwrap();
            assert!(NfeKey::parse(k.as_str()).is_ok());
        }
        assert_eq!(
            check_digit("0000000000000000000000000000000000000000000"),
            0
        );
        // 1 at the rightmost position: weight 2, sum 2, 11 - 2 = 9
        assert_eq!(
            check_digit("0000000000000000000000000000000000000000001"),
            9
        );
        // 1 at the 9th position from the right: weight cycles back to 2
        assert_eq!(
            check_digit("0000000000000000000000000000000000100000000"),
            9
        );
    }
}
