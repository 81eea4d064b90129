//! The requestor side of GS1 LMS: a client that presents our certificate to another responder.
//! The server forwards requests for GTINs its lookup directory names through one
//! ([`relay`]); `dscsa-exchange verify` asks a responder with one.

use std::time::Duration;

use super::{Verdict, VerifyError};
use crate::gs1::Gtin;

/// How a requestor client is set up.
pub struct ClientOptions {
    /// Our client certificate and key (`reqwest::Identity::from_pkcs8_pem`).
    pub identity: Option<reqwest::Identity>,
    /// The only CA certificates a responder's certificate may chain to; the system's when
    /// None.
    pub ca: Option<Vec<reqwest::Certificate>>,
    pub timeout: Duration,
    pub connect_timeout: Option<Duration>,
    /// Follow redirects (reqwest's default policy). A forwarding server does not: the
    /// directory names the responder, and a redirect elsewhere is not one.
    pub follow_redirects: bool,
}

pub fn client(options: ClientOptions) -> reqwest::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder().timeout(options.timeout);
    if let Some(connect) = options.connect_timeout {
        b = b.connect_timeout(connect);
    }
    if !options.follow_redirects {
        b = b.redirect(reqwest::redirect::Policy::none());
    }
    if let Some(identity) = options.identity {
        b = b.identity(identity);
    }
    if let Some(ca) = options.ca {
        b = b.tls_certs_only(ca);
    }
    b.build()
}

/// A forwarded request: the status to log, the verdict when the answer was a verification
/// answer, and the answer to pass on or why there is none.
pub(super) struct Relayed {
    pub status: u16,
    pub verdict: Option<Verdict>,
    pub answer: Result<serde_json::Value, VerifyError>,
}

impl Relayed {
    fn failed(status: u16, error: VerifyError) -> Relayed {
        Relayed {
            status,
            verdict: None,
            answer: Err(error),
        }
    }
}

/// Asks the responder at `url` (under `base`, the directory's entry for `gtin`). A 200 with a
/// `data` member is passed on; 4xx answers are the upstream's verdict on the request and are
/// passed on as such; anything else means it is down.
pub(super) async fn relay(client: &reqwest::Client, url: &str, gtin: &Gtin, base: &str) -> Relayed {
    let upstream = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Relayed::failed(504, VerifyError::UpstreamTimeout(*gtin));
        }
        Err(e) => {
            log::warn!("forwarding to {base} failed: {e}");
            return Relayed::failed(502, VerifyError::UpstreamUnavailable(*gtin));
        }
    };
    let status = upstream.status();
    if status == reqwest::StatusCode::OK {
        let body: Result<serde_json::Value, _> = upstream.json().await;
        return match body {
            Ok(json) if json.get("data").is_some() => Relayed {
                status: 200,
                verdict: serde_json::from_value::<ForwardedData>(json["data"].clone())
                    .ok()
                    .map(ForwardedData::into_verdict),
                answer: Ok(json),
            },
            _ => Relayed::failed(502, VerifyError::UpstreamUnavailable(*gtin)),
        };
    }
    if status.is_client_error() {
        let refused = VerifyError::UpstreamRefused {
            gtin: *gtin,
            status,
        };
        return Relayed::failed(status.as_u16(), refused);
    }
    Relayed::failed(502, VerifyError::UpstreamUnavailable(*gtin))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForwardedData {
    verified: bool,
    verification_failure_reason: Option<String>,
    additional_info: Option<String>,
}

impl ForwardedData {
    /// Only the standard codes are kept in the log; anything else is logged as absent.
    fn into_verdict(self) -> Verdict {
        const REASONS: [&str; 7] = [
            "No_match_GTIN_Serial",
            "No_match_GTIN_Serial_Lot_Expiry",
            "No_match_GTIN_Serial_Lot",
            "No_match_GTIN_Serial_Expiry",
            "No_reason_provided",
            "Manufacturer_policy",
            "Not_for_re-distribution",
        ];
        const INFO: [&str; 5] = [
            "Expired",
            "ExpirationExtended",
            "Recalled",
            "Suspect",
            "Illegitimate",
        ];
        Verdict {
            verified: self.verified,
            verification_failure_reason: self
                .verification_failure_reason
                .and_then(|r| REASONS.iter().find(|s| **s == r).copied()),
            additional_info: self
                .additional_info
                .and_then(|a| INFO.iter().find(|s| s.eq_ignore_ascii_case(&a)).copied()),
        }
    }
}
