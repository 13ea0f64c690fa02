//! Identifiers of the two systems. Each is a newtype, so mixing them is a compile error.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{Error, Result};

/// A VTEX OMS order id, e.g. `v502556llux-01` or `BWW-1517940500554-01`.
/// Validated before it reaches any URL: letters, digits, `-` and `_`, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(OrderId(s.to_string()))
        } else {
            Err(Error::Parse(format!(
                "OrderId {:?} is not a VTEX order id (1 to 64 letters, digits, '-' or '_')",
                truncate(s, 80)
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        OrderId::parse(&s)
    }
}
impl From<OrderId> for String {
    fn from(o: OrderId) -> String {
        o.0
    }
}
impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SkyHub order code: `{channel}-{number}`, e.g. `Lojas Americanas-1517940500554-01`.
/// In VTEX it is the order's `marketplaceOrderId`. It may hold a space, so paths encode it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SkyhubCode(String);

impl SkyhubCode {
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim();
        if t.is_empty() || t.len() > 128 || t.chars().any(|c| c.is_control()) {
            return Err(Error::Parse(format!(
                "marketplaceOrderId {:?} is not a SkyHub order code",
                truncate(s, 80)
            )));
        }
        Ok(SkyhubCode(t.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The code as `/shipments/b2w` lists it: without the channel prefix.
    /// `Lojas Americanas-1517940500554-01` → `1517940500554-01`; a code that starts
    /// with a digit has no channel prefix and is its own remote code.
    pub fn remote(&self) -> RemoteCode {
        let s = self.0.as_str();
        match s.split_once('-') {
            Some((channel, rest))
                if !rest.is_empty() && !channel.chars().all(|c| c.is_ascii_digit()) =>
            {
                RemoteCode(rest.to_string())
            }
            _ => RemoteCode(s.to_string()),
        }
    }
    /// The code for a URL path segment: every byte but the unreserved ones percent-encoded.
    pub fn path_segment(&self) -> String {
        percent_encode(&self.0)
    }
}

impl fmt::Display for SkyhubCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The order code in B2W Entrega listings (`to_group`, `collectables`): no channel prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RemoteCode(pub String);

impl RemoteCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RemoteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` sequences and `+` (a query string's space); invalid sequences stay as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 3;
                continue;
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Cuts a string for an error message, on a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids() {
        for ok in [
            "v502556llux-01",
            "BWW-1517940500554-01",
            "1172452900788-01",
            "a_b",
        ] {
            assert!(OrderId::parse(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(65);
        for bad in [
            "",
            "a/b",
            "..",
            "a?b",
            "a%2F",
            "pedido ção",
            "a b",
            long.as_str(),
        ] {
            assert!(OrderId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn remote_codes() {
        let cases = [
            ("Lojas Americanas-266580617301", "266580617301"),
            ("Lojas Americanas-1517940500554-01", "1517940500554-01"),
            ("Submarino-123", "123"),
            ("266580617301", "266580617301"),
            ("1517940500554-01", "1517940500554-01"),
        ];
        for (code, remote) in cases {
            assert_eq!(
                SkyhubCode::parse(code).unwrap().remote().as_str(),
                remote,
                "{code}"
            );
        }
    }

    #[test]
    fn path_segments_encode_spaces_and_reserved_bytes() {
        let c = SkyhubCode::parse("Lojas Americanas-1517940500554-01").unwrap();
        assert_eq!(c.path_segment(), "Lojas%20Americanas-1517940500554-01");
        assert_eq!(percent_encode("a/b?c#d%ç"), "a%2Fb%3Fc%23d%25%C3%A7");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("Lojas%20Americanas-1"), "Lojas Americanas-1");
        assert_eq!(percent_decode("a+b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A7"), "ç");
        assert_eq!(percent_decode("%çx%é"), "%çx%é");
        assert_eq!(
            percent_decode(&percent_encode("Shoptime 1/ç")),
            "Shoptime 1/ç"
        );
    }

    #[test]
    fn skyhub_code_rejects_empty_and_control_characters() {
        assert!(SkyhubCode::parse("  ").is_err());
        assert!(SkyhubCode::parse("a\nb").is_err());
        assert_eq!(SkyhubCode::parse(" X-1 ").unwrap().as_str(), "X-1");
    }
}
