//! Page tokens (`nextPageToken`): opaque to the client, signed by the server. A token carries
//! where the next page starts (the last event's time and id: a keyset, never an offset), the
//! first page's snapshot (so captures between pages neither shift nor duplicate events), how
//! many events were served (for `eventCountLimit`), when it expires, and a digest of the query
//! and caller it was made for. HMAC-SHA256 with a key every server process on the database
//! shares (`store::query::secret`): a token changed by one bit, made for another query or
//! another caller, or expired, is refused.

use chrono::{DateTime, Utc};
use openssl::hash::MessageDigest;
use openssl::memcmp;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::{Deserialize, Serialize};

use crate::store::query::After;

/// How long a token stays valid (`GS1-Next-Page-Token-Expires`).
pub const LIFETIME: chrono::Duration = chrono::Duration::minutes(30);

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    /// Digest (hex) of the query's defining parameters and the caller.
    pub q: String,
    /// Time (microseconds since the epoch) and id of the last event served.
    pub t: i64,
    pub i: i64,
    /// The first page's snapshot.
    pub s: String,
    /// Events served so far.
    pub n: u64,
    /// Expiry, seconds since the epoch.
    pub x: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the page token is not one this server made (altered, truncated or from elsewhere)")]
    Forged,
    #[error("the page token expired at {0}; run the query again from its first page")]
    Expired(DateTime<Utc>),
    #[error("the page token was made for another query or caller; send the same parameters as for the first page")]
    OtherQuery,
}

impl PageToken {
    pub fn after(&self) -> Option<After> {
        Some(After {
            time: DateTime::from_timestamp_micros(self.t)?,
            id: self.i,
        })
    }

    pub fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.x, 0).unwrap_or_default()
    }
}

/// Digest of what a token is bound to.
pub fn query_digest(fingerprint: &str, caller: &str) -> String {
    let mut h = openssl::sha::Sha256::new();
    h.update(caller.as_bytes());
    h.update(b"\n");
    h.update(fingerprint.as_bytes());
    hex(&h.finish()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(key: &[u8], payload: &[u8]) -> Vec<u8> {
    // HMAC-SHA256 cannot fail with a valid key and digest; an OpenSSL error here is a bug.
    let pkey = PKey::hmac(key).expect("an HMAC key");
    let mut signer = Signer::new(MessageDigest::sha256(), &pkey).expect("an HMAC signer");
    signer.update(payload).expect("HMAC update");
    signer.sign_to_vec().expect("HMAC sign")
}

/// URL-safe base64 without padding (RFC 4648 §5): the token goes in a query string.
fn b64(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    let mut std: String = s.replace('-', "+").replace('_', "/");
    while std.len() % 4 != 0 {
        std.push('=');
    }
    openssl::base64::decode_block(&std).ok()
}

/// The token, signed.
pub fn sign(key: &[u8], token: &PageToken) -> String {
    let payload = serde_json::to_vec(token).expect("a token serialises");
    let tag = mac(key, &payload);
    format!("{}.{}", b64(&payload), b64(&tag))
}

/// The token, if it is one of ours, unexpired, for this query and caller.
pub fn verify(
    key: &[u8],
    text: &str,
    digest: &str,
    now: DateTime<Utc>,
) -> Result<PageToken, TokenError> {
    let (payload, tag) = text.split_once('.').ok_or(TokenError::Forged)?;
    let payload = unb64(payload).ok_or(TokenError::Forged)?;
    let tag = unb64(tag).ok_or(TokenError::Forged)?;
    let expected = mac(key, &payload);
    if tag.len() != expected.len() || !memcmp::eq(&tag, &expected) {
        return Err(TokenError::Forged);
    }
    let token: PageToken = serde_json::from_slice(&payload).map_err(|_| TokenError::Forged)?;
    if token.q != digest {
        return Err(TokenError::OtherQuery);
    }
    if token.x <= now.timestamp() {
        return Err(TokenError::Expired(token.expires()));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(now: DateTime<Utc>) -> PageToken {
        PageToken {
            q: query_digest("EQ_bizStep=shipping", "partner 7"),
            t: 1_700_000_000_123_456,
            i: 42,
            s: "800:810:805".into(),
            n: 30,
            x: (now + LIFETIME).timestamp(),
        }
    }

    #[test]
    fn a_token_reads_back_as_signed() {
        let now = Utc::now();
        let key = [7u8; 32];
        let t = token(now);
        let text = sign(&key, &t);
        assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(verify(&key, &text, &t.q, now), Ok(t.clone()));
        assert_eq!(t.after().unwrap().id, 42);
    }

    #[test]
    fn altered_foreign_expired_and_misbound_tokens_are_refused() {
        let now = Utc::now();
        let key = [7u8; 32];
        let t = token(now);
        let text = sign(&key, &t);
        // Every single-character change of the payload is caught.
        for i in 0..text.find('.').unwrap() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(b).unwrap();
            if altered != text {
                assert!(verify(&key, &altered, &t.q, now).is_err(), "position {i}");
            }
        }
        assert_eq!(
            verify(&[8u8; 32], &text, &t.q, now),
            Err(TokenError::Forged)
        );
        assert_eq!(verify(&key, "garbage", &t.q, now), Err(TokenError::Forged));
        assert_eq!(
            verify(
                &key,
                &text,
                &query_digest("EQ_bizStep=receiving", "partner 7"),
                now
            ),
            Err(TokenError::OtherQuery)
        );
        assert!(matches!(
            verify(
                &key,
                &text,
                &t.q,
                now + LIFETIME + chrono::Duration::seconds(1)
            ),
            Err(TokenError::Expired(_))
        ));
    }
}
