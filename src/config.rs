//! Configuration from environment variables (CONTRACT.md). Parsing lives here, not in the
//! host, so every rule is tested natively; the host prints the one-line error and exits.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::skyhub::{RequestClass, SkyhubApi};

#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    pub host: String,
    pub database_url: String,
    /// No SkyHub credentials were given: the host runs its simulators.
    pub sandbox: bool,
    pub hook_secret: Option<Secret>,
    pub admin_token: Option<Secret>,
    pub vtex_base_url: String,
    pub vtex_app_key: Option<Secret>,
    pub vtex_app_token: Option<Secret>,
    pub skyhub: SkyhubApi,
    pub b2w_affiliates: Vec<String>,
    pub rate_limits: Vec<(RequestClass, u32)>,
    pub rate_limit_margin_ms: u64,
    pub http_timeout_ms: u32,
    pub tick_ms: u64,
    pub collection_poll_ms: u64,
    pub collection_max_wait_ms: u64,
    /// The longest wait between two retries of an order.
    pub retry_max_ms: u64,
    /// How long a worker's claim on an order lasts: after a crash its orders come back then.
    pub lease_ms: u64,
    /// The service's public hook URL, as VTEX calls it; the keeper checks the hook when set.
    pub hook_url: Option<String>,
    /// How often the keeper checks the hook configuration; 0: never.
    pub hook_check_ms: u64,
    /// How often the host runs a reconciliation; 0: never.
    pub reconcile_interval_ms: u64,
    /// `LOG_LEVEL=debug`: also a line per hook received.
    pub debug: bool,
    /// Things worth a line at start-up that do not stop it.
    pub warnings: Vec<String>,
}

/// A secret value: compared, sent upstream, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Compares without an early exit, so timing does not tell how much of a guess matched.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        let mut diff = (a.len() != b.len()) as u8;
        for i in 0..a.len().max(b.len()) {
            diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

const SKYHUB_CREDENTIALS: [&str; 3] = [
    "SKYHUB_USER_EMAIL",
    "SKYHUB_API_KEY",
    "SKYHUB_ACCOUNT_MANAGER_KEY",
];

impl Config {
    /// `env`: the process environment. In sandbox mode the host calls this a second time
    /// with `B2W_COLETA_SANDBOX=1`, the simulators' URLs and their credentials.
    pub fn from_env(env: &BTreeMap<String, String>) -> Result<Config> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut warnings = Vec::new();

        let given: Vec<&str> = SKYHUB_CREDENTIALS
            .iter()
            .copied()
            .filter(|k| get(k).is_some())
            .collect();
        let sandbox = get("B2W_COLETA_SANDBOX") == Some("1") || given.is_empty();
        if !given.is_empty() && given.len() < 3 {
            let missing: Vec<&str> = SKYHUB_CREDENTIALS
                .iter()
                .copied()
                .filter(|k| get(k).is_none())
                .collect();
            return Err(Error::Config(format!(
                "{} is missing: SkyHub needs all three of {} (set none of them for sandbox mode)",
                missing.join(", "),
                SKYHUB_CREDENTIALS.join(", ")
            )));
        }

        let port = match get("PORT") {
            None => 8080,
            Some(p) => p.parse::<u16>().map_err(|_| {
                Error::Config(format!("PORT must be a number from 0 to 65535, got {p:?}"))
            })?,
        };
        let host = get("HOST").unwrap_or("127.0.0.1").to_string();

        let database_url = get("DATABASE_URL")
            .unwrap_or("sqlite:data/b2w-coleta.db")
            .to_string();
        if let Some(path) = database_url.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(Error::Config(
                    "DATABASE_URL sqlite: needs a path, e.g. sqlite:data/b2w-coleta.db".into(),
                ));
            }
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            return Err(Error::Config(
                "DATABASE_URL: postgres is not supported by this version yet; use sqlite:PATH (one process)".into(),
            ));
        } else {
            return Err(Error::Config(
                "DATABASE_URL must be sqlite:PATH or postgres://…".into(),
            ));
        }

        let secret = |k: &str| get(k).map(|v| Secret(v.to_string()));
        let hook_secret = secret("HOOK_SECRET");
        if hook_secret.is_none() && !sandbox {
            return Err(Error::Config(
                "HOOK_SECRET is missing: the OMS hook must send it in X-Hook-Secret (required outside sandbox mode)".into(),
            ));
        }
        let admin_token = secret("ADMIN_TOKEN");
        if admin_token.is_none() && !sandbox {
            warnings.push(
                "ADMIN_TOKEN is not set: /api/* and the admin page stay closed until it is".into(),
            );
        }

        let vtex_base_url = match (get("VTEX_BASE_URL"), get("VTEX_ACCOUNT")) {
            (Some(url), _) => url_setting("VTEX_BASE_URL", url)?,
            (None, Some(acc)) => {
                if !acc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(Error::Config(format!(
                        "VTEX_ACCOUNT {acc:?} is not a VTEX account name"
                    )));
                }
                format!("https://{acc}.vtexcommercestable.com.br")
            }
            (None, None) if sandbox => String::new(),
            (None, None) => {
                return Err(Error::Config(
                    "VTEX_ACCOUNT is missing (or set VTEX_BASE_URL)".into(),
                ));
            }
        };
        let vtex_app_key = secret("VTEX_APP_KEY");
        let vtex_app_token = secret("VTEX_APP_TOKEN");
        match (&vtex_app_key, &vtex_app_token) {
            (Some(_), None) => return Err(Error::Config("VTEX_APP_TOKEN is missing (VTEX_APP_KEY is set)".into())),
            (None, Some(_)) => return Err(Error::Config("VTEX_APP_KEY is missing (VTEX_APP_TOKEN is set)".into())),
            (None, None) if !sandbox => {
                warnings.push("VTEX_APP_KEY and VTEX_APP_TOKEN are not set: OMS reads are sent without credentials".into())
            }
            _ => {}
        }

        let skyhub = SkyhubApi {
            base_url: url_setting(
                "SKYHUB_BASE_URL",
                get("SKYHUB_BASE_URL").unwrap_or("https://api.skyhub.com.br"),
            )?,
            user_email: get("SKYHUB_USER_EMAIL").unwrap_or("").to_string(),
            api_key: get("SKYHUB_API_KEY").unwrap_or("").to_string(),
            account_manager_key: get("SKYHUB_ACCOUNT_MANAGER_KEY").unwrap_or("").to_string(),
        };

        let b2w_affiliates: Vec<String> = get("B2W_AFFILIATE_IDS")
            .unwrap_or("BWW")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if b2w_affiliates.is_empty()
            || b2w_affiliates
                .iter()
                .any(|a| !a.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(Error::Config(
                "B2W_AFFILIATE_IDS must be comma-separated affiliate ids, e.g. BWW or BWW,SUB"
                    .into(),
            ));
        }

        let mut rate_limits = parse_rate_limits(get("SKYHUB_RATE_LIMITS"))?;
        rate_limits.push((
            RequestClass::Oms,
            number(get("OMS_RATE_LIMIT"), "OMS_RATE_LIMIT", 100, 1, 10_000)? as u32,
        ));
        let http_timeout_ms = number(
            get("HTTP_TIMEOUT_MS"),
            "HTTP_TIMEOUT_MS",
            10_000,
            100,
            120_000,
        )?;
        let lease_ms = number(get("LEASE_MS"), "LEASE_MS", 60_000, 500, 3_600_000)?;
        if lease_ms < 3 * http_timeout_ms {
            return Err(Error::Config(format!(
                "LEASE_MS ({lease_ms}) must be at least 3 × HTTP_TIMEOUT_MS ({http_timeout_ms}): a claim must outlive a request"
            )));
        }

        Ok(Config {
            port,
            host,
            database_url,
            sandbox,
            hook_secret,
            admin_token,
            vtex_base_url,
            vtex_app_key,
            vtex_app_token,
            skyhub,
            b2w_affiliates,
            rate_limits,
            rate_limit_margin_ms: number(
                get("SKYHUB_RATE_LIMIT_MARGIN_MS"),
                "SKYHUB_RATE_LIMIT_MARGIN_MS",
                100,
                0,
                10_000,
            )?,
            http_timeout_ms: http_timeout_ms as u32,
            tick_ms: number(get("TICK_MS"), "TICK_MS", 500, 10, 60_000)?,
            collection_poll_ms: number(
                get("COLLECTION_POLL_MS"),
                "COLLECTION_POLL_MS",
                2_000,
                10,
                3_600_000,
            )?,
            collection_max_wait_ms: number(
                get("COLLECTION_MAX_WAIT_HOURS"),
                "COLLECTION_MAX_WAIT_HOURS",
                72,
                1,
                24 * 30,
            )? * 3_600_000,
            retry_max_ms: number(
                get("RETRY_MAX_MS"),
                "RETRY_MAX_MS",
                300_000,
                1_000,
                86_400_000,
            )?,
            lease_ms,
            hook_url: match get("HOOK_URL") {
                None => None,
                Some(u)
                    if (u.starts_with("https://") || u.starts_with("http://"))
                        && !u.contains(char::is_whitespace) =>
                {
                    Some(u.to_string())
                }
                Some(u) => {
                    return Err(Error::Config(format!(
                        "HOOK_URL must be the http(s) URL VTEX calls, got {u:?}"
                    )))
                }
            },
            hook_check_ms: number(
                get("HOOK_CHECK_MINUTES"),
                "HOOK_CHECK_MINUTES",
                60,
                0,
                24 * 60,
            )? * 60_000,
            reconcile_interval_ms: number(
                get("RECONCILE_INTERVAL_MINUTES"),
                "RECONCILE_INTERVAL_MINUTES",
                15,
                0,
                24 * 60,
            )? * 60_000,
            debug: match get("LOG_LEVEL").unwrap_or("info") {
                "info" => false,
                "debug" => true,
                other => {
                    return Err(Error::Config(format!(
                        "LOG_LEVEL must be info or debug, got {other:?}"
                    )))
                }
            },
            warnings,
        })
    }
}

/// An upstream base URL: https, or http to a loopback address (simulators, a local proxy).
fn url_setting(name: &str, v: &str) -> Result<String> {
    let bad = || Error::Config(format!("{name} must be an https:// URL, got {v:?}"));
    if v.contains(char::is_whitespace) || v.contains('?') || v.contains('#') {
        return Err(bad());
    }
    let (rest, https) = match (v.strip_prefix("https://"), v.strip_prefix("http://")) {
        (Some(r), _) => (r, true),
        (None, Some(r)) => (r, false),
        _ => return Err(bad()),
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    if host.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    let loopback = host == "localhost" || host == "::1" || host.starts_with("127.");
    if !https && !loopback {
        return Err(Error::Config(format!(
            "{name} must use https:// (plain http is allowed only to a loopback address), got {v:?}"
        )));
    }
    Ok(v.trim_end_matches('/').to_string())
}

fn number(v: Option<&str>, name: &str, default: u64, min: u64, max: u64) -> Result<u64> {
    match v {
        None => Ok(default),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(Error::Config(format!(
                "{name} must be a whole number from {min} to {max}, got {s:?}"
            ))),
        },
    }
}

/// `orders_get=1,orders_write=9,shipments=9`; classes not named keep the documented limit.
pub fn parse_rate_limits(v: Option<&str>) -> Result<Vec<(RequestClass, u32)>> {
    let mut limits: BTreeMap<RequestClass, u32> = RequestClass::ALL
        .iter()
        .map(|&c| (c, c.documented_limit()))
        .collect();
    let bad = |why: String| {
        Error::Config(format!(
            "SKYHUB_RATE_LIMITS {why}; expected e.g. orders_get=1,orders_write=9,shipments=9"
        ))
    };
    for part in v
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (name, n) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("has {part:?} without '='")))?;
        let class = RequestClass::from_name(name.trim())
            .ok_or_else(|| bad(format!("names an unknown class {name:?}")))?;
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|&n| (1..=1000).contains(&n))
            .ok_or_else(|| {
                bad(format!(
                    "gives {part:?}: the limit must be 1 to 1000 requests per second"
                ))
            })?;
        limits.insert(class, n);
    }
    Ok(limits.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn production() -> Vec<(&'static str, &'static str)> {
        vec![
            ("SKYHUB_USER_EMAIL", "ops@seller.example"),
            ("SKYHUB_API_KEY", "sk-secret"),
            ("SKYHUB_ACCOUNT_MANAGER_KEY", "am-secret"),
            ("HOOK_SECRET", "hook-secret"),
            ("VTEX_ACCOUNT", "luxstore"),
            ("VTEX_APP_KEY", "vtexappkey-luxstore-X"),
            ("VTEX_APP_TOKEN", "apptok-secret"),
        ]
    }

    #[test]
    fn defaults_in_sandbox() {
        let c = Config::from_env(&env(&[])).unwrap();
        assert!(c.sandbox);
        assert_eq!((c.port, c.host.as_str()), (8080, "127.0.0.1"));
        assert_eq!(c.database_url, "sqlite:data/b2w-coleta.db");
        assert_eq!(c.b2w_affiliates, ["BWW"]);
        assert_eq!(c.skyhub.base_url, "https://api.skyhub.com.br");
        assert_eq!(
            c.rate_limits,
            [
                (RequestClass::OrdersGet, 1),
                (RequestClass::OrdersList, 1),
                (RequestClass::OrdersWrite, 9),
                (RequestClass::Shipments, 9),
                (RequestClass::Oms, 100)
            ]
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn production_settings() {
        let c = Config::from_env(&env(&production())).unwrap();
        assert!(!c.sandbox);
        assert_eq!(
            c.vtex_base_url,
            "https://luxstore.vtexcommercestable.com.br"
        );
        assert_eq!(
            c.warnings,
            ["ADMIN_TOKEN is not set: /api/* and the admin page stay closed until it is"]
        );
        let mut e = production();
        e.push(("VTEX_BASE_URL", "http://127.0.0.1:9000/"));
        e.push(("B2W_AFFILIATE_IDS", "BWW, SUB"));
        e.push(("SKYHUB_RATE_LIMITS", "orders_get=2"));
        let c = Config::from_env(&env(&e)).unwrap();
        assert_eq!(c.vtex_base_url, "http://127.0.0.1:9000");
        for ok in [
            "http://localhost:1",
            "http://[::1]:8080",
            "https://oms.example/base/",
        ] {
            assert!(url_setting("X", ok).is_ok(), "{ok}");
        }
        assert_eq!(c.b2w_affiliates, ["BWW", "SUB"]);
        assert_eq!(c.rate_limits[0], (RequestClass::OrdersGet, 2));
        assert_eq!(c.rate_limits[1], (RequestClass::OrdersList, 1));
        assert_eq!(c.rate_limits[2], (RequestClass::OrdersWrite, 9));
    }

    #[test]
    fn each_error_names_its_setting_and_no_secret() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("PORT", "http")], "PORT"),
            (vec![("PORT", "70000")], "PORT"),
            (vec![("DATABASE_URL", "mysql://x")], "DATABASE_URL"),
            (vec![("DATABASE_URL", "sqlite:")], "DATABASE_URL"),
            (
                vec![("DATABASE_URL", "postgres://u:p@h/db")],
                "postgres is not supported",
            ),
            (
                vec![("SKYHUB_RATE_LIMITS", "orders_get=0")],
                "SKYHUB_RATE_LIMITS",
            ),
            (vec![("SKYHUB_RATE_LIMITS", "orders=1")], "unknown class"),
            (vec![("SKYHUB_RATE_LIMITS", "orders_get")], "without '='"),
            (vec![("B2W_AFFILIATE_IDS", " , ")], "B2W_AFFILIATE_IDS"),
            (vec![("SKYHUB_BASE_URL", "ftp://x")], "SKYHUB_BASE_URL"),
            (vec![("HTTP_TIMEOUT_MS", "5")], "HTTP_TIMEOUT_MS"),
            (
                vec![("SKYHUB_BASE_URL", "http://api.skyhub.com.br")],
                "plain http is allowed only to a loopback",
            ),
            (
                vec![("VTEX_BASE_URL", "http://10.0.0.5:8080")],
                "plain http is allowed only to a loopback",
            ),
            (
                vec![("VTEX_BASE_URL", "https://user:pw@evil.example")],
                "VTEX_BASE_URL",
            ),
            (vec![("SKYHUB_BASE_URL", "https://")], "SKYHUB_BASE_URL"),
        ];
        for (pairs, want) in cases {
            let e = Config::from_env(&env(&pairs)).unwrap_err().to_string();
            assert!(e.contains(want), "{pairs:?}: {e}");
        }
        let drop = |k: &str| -> Vec<(&str, &str)> {
            production().into_iter().filter(|(n, _)| *n != k).collect()
        };
        for (missing, want) in [
            ("HOOK_SECRET", "HOOK_SECRET is missing"),
            ("VTEX_ACCOUNT", "VTEX_ACCOUNT is missing"),
            ("SKYHUB_API_KEY", "SKYHUB_API_KEY is missing"),
            ("VTEX_APP_TOKEN", "VTEX_APP_TOKEN is missing"),
        ] {
            let e = Config::from_env(&env(&drop(missing)))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{missing}: {e}");
            for (_, secret) in production() {
                if secret.contains("secret") {
                    assert!(!e.contains(secret), "{e}");
                }
            }
        }
    }

    #[test]
    fn secrets_compare_exactly_and_never_print() {
        let s = Secret("abc".into());
        assert!(s.matches("abc"));
        for other in ["", "ab", "abd", "abcd", "ABC"] {
            assert!(!s.matches(other), "{other}");
        }
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let c = Config::from_env(&env(&production())).unwrap();
        let dump = format!("{c:?}");
        for secret in ["sk-secret", "am-secret", "hook-secret", "apptok-secret"] {
            assert!(!dump.contains(secret), "{secret} in {dump}");
        }
    }
}
