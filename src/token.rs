//! The token layer (std): verify a JWT, map its claims to a [`Principal`], cache the result.
//!
//! Verification is done here, step by step, so each failure has its own stable [`Code`] and no
//! library text reaches a client:
//!
//! 1. size (`max_token_bytes`) → `token_too_large`; three base64url segments → `malformed_token`
//! 2. header: strict JSON object; `alg` `none` in any case → `disallowed_algorithm`; an
//!    unknown `crit` → `malformed_token`; `jwk`, `jku`, `x5u`, `x5c` are ignored, never used
//! 3. key: by `kid` (exact), or the only key when the token has no `kid` → `unknown_key`; the
//!    key's pinned algorithm must be the header's → `disallowed_algorithm`
//! 4. signature, by `jsonwebtoken`'s crypto → `invalid_signature`
//! 5. claims: strict JSON (a duplicate claim is `malformed_token`); `exp` required and numeric;
//!    `nbf`; `iat` not in the future; all with `leeway` → `token_expired`,
//!    `token_not_yet_valid`, `invalid_claim`; `iss`, `aud` → `wrong_issuer`, `wrong_audience`
//! 6. claim mapping ([`ClaimsConfig`]) → `invalid_claim` when a claim has the wrong type
//!
//! A verified token is cached (bounded, keyed by the whole token, until its `exp`), so a
//! signed-in user's repeated token skips step 4.
//!
//! The files: this one is the verifier (steps 1–5, [`TokenVerifier::authenticate`]) and its
//! cache; [`config`] the settings as written; [`keys`] configured keys and JWKS documents, each
//! with its algorithm pinned; [`claims`] step 6, the claim mapping.

use std::cell::RefCell;
use std::format;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::eval::{Code, Principal};

pub mod claims;
pub mod config;
pub mod keys;

pub use claims::map_claims;
pub use config::*;
pub use keys::*;

/// Why a token was refused: a stable code and a message safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The code.
    pub code: Code,
    /// One sentence, no library text.
    pub message: String,
}

pub(crate) fn fail<T>(code: Code, message: impl Into<String>) -> Result<T, TokenError> {
    Err(TokenError {
        code,
        message: message.into(),
    })
}

/// A verified token: the principal and when it expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Who.
    pub principal: Principal,
    /// `exp`, seconds since the epoch.
    pub expires_at: u64,
}

/// The verified-token cache: keyed by the whole token (stored once), bounded by
/// `cache_size` entries (quick_cache's S3-FIFO: a burst of one-off tokens does not push out
/// the tokens in steady use); an entry is dropped when found past its `exp`.
type Cache = quick_cache::unsync::Cache<String, Rc<Verified>>;

/// Counters the front-ends can export.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Tokens served from the cache.
    pub hits: u64,
    /// Tokens verified.
    pub misses: u64,
}

/// Verifies tokens and maps claims. One per configuration.
#[derive(Debug)]
pub struct TokenVerifier {
    cfg: TokenConfig,
    keys: Vec<VerifyKey>,
    remote: RefCell<Rc<Vec<VerifyKey>>>,
    no_keys: NoKeys,
    cache: Option<RefCell<Cache>>,
    stats: RefCell<CacheStats>,
}

/// What a configuration without a local key means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoKeys {
    /// A configuration error: tokens could never verify.
    Error,
    /// Keys will come from a remote JWKS (until then: `keys_unavailable`).
    AwaitRemote,
    /// Claims-only: the host passes claims it verified itself; a token is `unknown_key`.
    ClaimsOnly,
}

impl TokenVerifier {
    /// The claim settings in force (`role_order` completed with the policy's roles).
    pub fn claims(&self) -> &ClaimsConfig {
        &self.cfg.claims
    }

    /// Loads the keys; an error names the culprit. `no_keys` says what having no local key
    /// means.
    pub fn new(cfg: TokenConfig, no_keys: NoKeys) -> Result<TokenVerifier, String> {
        #[cfg(feature = "ring-verify")]
        crate::ring_verify::install();
        let mut keys = Vec::new();
        for (i, k) in cfg.keys.iter().enumerate() {
            let owner = match &k.kid {
                Some(kid) => format!("key `{kid}`"),
                None => format!("`token.keys[{i}]`"),
            };
            keys.push(load_key(k, &owner)?);
        }
        if let Some(jwks) = &cfg.jwks {
            let doc =
                serde_json::to_vec(jwks).map_err(|_| String::from("`token.jwks` is not JSON"))?;
            let (ks, skipped) = parse_jwks(&doc).map_err(|e| format!("`token.jwks`: {e}"))?;
            if let Some(s) = skipped.first() {
                return Err(format!("`token.jwks`: {s}"));
            }
            keys.extend(ks);
        }
        let mut kids: Vec<&str> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        crate::sort::sort_by(&mut kids, |a, b| a.cmp(b));
        if let Some(w) = kids.windows(2).find(|w| w.first() == w.get(1)) {
            return Err(format!(
                "two keys have `kid` `{}`",
                w.first().copied().unwrap_or("")
            ));
        }
        if keys.is_empty() && no_keys == NoKeys::Error && cfg.trusted_payload_header.is_none() {
            return Err(
                "`token` has no key: set `keys`, `jwks`, `remote_jwks` or `trusted_payload_header`"
                    .into(),
            );
        }
        if cfg.max_token_bytes == 0 {
            return Err("`token.max_token_bytes` must be more than 0".into());
        }
        Ok(TokenVerifier {
            cache: (cfg.cache_size > 0).then(|| RefCell::new(Cache::new(cfg.cache_size))),
            cfg,
            keys,
            remote: RefCell::new(Rc::new(Vec::new())),
            no_keys,
            stats: RefCell::new(CacheStats::default()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.cfg
    }

    /// Replaces the keys fetched from a remote JWKS; the cache is emptied.
    pub fn set_remote_keys(&self, keys: Vec<VerifyKey>) {
        *self.remote.borrow_mut() = Rc::new(keys);
        if let Some(cache) = &self.cache {
            cache.borrow_mut().clear();
        }
    }

    /// Whether remote keys have been loaded.
    pub fn has_remote_keys(&self) -> bool {
        !self.remote.borrow().is_empty()
    }

    /// Cache counters.
    pub fn stats(&self) -> CacheStats {
        *self.stats.borrow()
    }

    /// Turns the configured header's value into a principal, at `now`.
    pub fn authenticate(
        &self,
        header_value: Option<&str>,
        now: u64,
    ) -> Result<Rc<Verified>, TokenError> {
        // A credential is ASCII (base64url, `Bearer`): anything else is malformed, however it
        // reached us (bytes from Envoy, Latin-1 characters from Node's HTTP parser).
        if header_value.is_some_and(|v| !v.is_ascii()) {
            return fail(
                Code::MalformedToken,
                "the credential header has a byte outside ASCII",
            );
        }
        if self.cfg.trusted_payload_header.is_some() {
            let Some(v) = header_value else {
                return fail(Code::MissingToken, "the verified-claims header is missing");
            };
            return self.verify_trusted_payload(v, now).map(Rc::new);
        }
        let Some(raw) = header_value else {
            return fail(Code::MissingToken, "a bearer token is required");
        };
        // As HTTP parsers hand it over (RFC 9110 §5.5: no leading or trailing whitespace), so
        // `Bearer ` reads the same here as after Envoy or Node.
        let raw = raw.trim_matches([' ', '\t']);
        let token = if self.cfg.header.eq_ignore_ascii_case("authorization") {
            match raw.split_once(' ') {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
                _ => {
                    return fail(
                        Code::MissingToken,
                        "the Authorization header is not `Bearer <token>`",
                    )
                }
            }
        } else {
            raw.trim().strip_prefix("Bearer ").unwrap_or(raw.trim())
        };
        if token.is_empty() {
            return fail(Code::MissingToken, "the bearer token is empty");
        }
        if token.len() > self.cfg.max_token_bytes {
            return fail(
                Code::TokenTooLarge,
                format!(
                    "the token is larger than {} bytes",
                    self.cfg.max_token_bytes
                ),
            );
        }
        if let Some(hit) = self.cached(token, now) {
            self.stats.borrow_mut().hits += 1;
            return Ok(hit);
        }
        self.stats.borrow_mut().misses += 1;
        let verified = Rc::new(self.verify(token, now)?);
        if let Some(cache) = &self.cache {
            cache
                .borrow_mut()
                .insert(token.into(), Rc::clone(&verified));
        }
        Ok(verified)
    }

    /// A cached verification of `token` still valid at `now`; an expired one is dropped.
    fn cached(&self, token: &str, now: u64) -> Option<Rc<Verified>> {
        let mut cache = self.cache.as_ref()?.borrow_mut();
        let v = cache.get(token)?;
        if now <= v.expires_at.saturating_add(self.cfg.leeway) {
            return Some(Rc::clone(v));
        }
        cache.remove(token);
        None
    }

    /// Verifies a compact JWS (no cache). See the module docs for the steps.
    pub fn verify(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        let mut parts = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return fail(
                Code::MalformedToken,
                "the token is not three dot-separated segments",
            );
        };
        let header = decode_json(h64, "header")?;
        let alg_name = match header.get("alg") {
            Some(Value::String(a)) => a.as_str(),
            _ => return fail(Code::MalformedToken, "the token header has no `alg`"),
        };
        if alg_name.eq_ignore_ascii_case("none") {
            return fail(
                Code::DisallowedAlgorithm,
                "unsigned tokens (`alg: none`) are never accepted",
            );
        }
        if header.get("crit").is_some() {
            return fail(
                Code::MalformedToken,
                "the token header has a `crit` extension this verifier does not understand",
            );
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return fail(Code::MalformedToken, "the token's `kid` is not a string"),
        };
        let remote = self.remote.borrow().clone();
        let mut all = self.keys.iter().chain(remote.iter());
        let key = match kid {
            Some(kid) => all.find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let n = self.keys.len() + remote.len();
                if n == 1 {
                    all.next()
                } else {
                    None
                }
            }
        };
        let Some(key) = key else {
            if self.keys.is_empty() && remote.is_empty() {
                match self.no_keys {
                    NoKeys::AwaitRemote => {
                        return fail(
                            Code::KeysUnavailable,
                            "verification keys are not available yet",
                        )
                    }
                    NoKeys::ClaimsOnly => {
                        return fail(
                            Code::UnknownKey,
                            "this authorizer verifies no tokens (claims-only: no key configured); pass verified claims",
                        )
                    }
                    NoKeys::Error => {}
                }
            }
            return fail(Code::UnknownKey, "no configured key matches the token");
        };
        if parse_alg(alg_name) != Some(key.alg) {
            return fail(
                Code::DisallowedAlgorithm,
                "the token's algorithm is not the one pinned for its key",
            );
        }
        if s64.is_empty() {
            return fail(Code::InvalidSignature, "the token's signature is empty");
        }
        let signed_len = h64.len() + 1 + p64.len();
        let message = token.get(..signed_len).unwrap_or("");
        match jsonwebtoken::crypto::verify(s64, message.as_bytes(), &key.key, key.alg) {
            Ok(true) => {}
            Ok(false) => {
                return fail(
                    Code::InvalidSignature,
                    "the token's signature does not verify",
                )
            }
            Err(_) => {
                return fail(
                    Code::MalformedToken,
                    "the token's signature is not base64url",
                )
            }
        }
        let claims = decode_json(p64, "payload")?;
        let expires_at = self.check_times(&claims, now)?;
        self.check_issuer_audience(&claims)?;
        let principal = map_claims(&self.cfg.claims, &claims)?;
        Ok(Verified {
            principal,
            expires_at,
        })
    }

    fn check_times(
        &self,
        claims: &serde_json::Map<String, Value>,
        now: u64,
    ) -> Result<u64, TokenError> {
        let leeway = self.cfg.leeway as f64;
        let now_f = now as f64;
        let num = |name: &str| -> Result<Option<f64>, TokenError> {
            match claims.get(name) {
                None => Ok(None),
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(f) if (0.0..1e13).contains(&f) => Ok(Some(f)),
                    _ => fail(Code::InvalidClaim, format!("`{name}` is not a valid time")),
                },
                Some(_) => fail(
                    Code::InvalidClaim,
                    format!("`{name}` must be a number (NumericDate)"),
                ),
            }
        };
        let exp = num("exp")?.ok_or(TokenError {
            code: Code::InvalidClaim,
            message: "the token has no `exp`".into(),
        })?;
        let nbf = num("nbf")?;
        let iat = num("iat")?;
        if now_f > exp + leeway {
            return fail(Code::TokenExpired, "the token has expired");
        }
        if nbf.is_some_and(|nbf| now_f + leeway < nbf) {
            return fail(Code::TokenNotYetValid, "the token is not valid yet");
        }
        if iat.is_some_and(|iat| now_f + leeway < iat) {
            return fail(
                Code::InvalidClaim,
                "the token was issued in the future (`iat`)",
            );
        }
        Ok(exp as u64)
    }

    fn check_issuer_audience(
        &self,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<(), TokenError> {
        if !self.cfg.issuers.is_empty() {
            match claims.get("iss") {
                Some(Value::String(iss)) if self.cfg.issuers.iter().any(|i| i == iss) => {}
                _ => return fail(Code::WrongIssuer, "the token's issuer is not accepted"),
            }
        }
        if !self.cfg.audiences.is_empty() {
            let ok = match claims.get("aud") {
                Some(Value::String(a)) => self.cfg.audiences.iter().any(|x| x == a),
                Some(Value::Array(list)) => list.iter().any(|a| {
                    a.as_str()
                        .is_some_and(|a| self.cfg.audiences.iter().any(|x| x == a))
                }),
                _ => false,
            };
            if !ok {
                return fail(Code::WrongAudience, "the token's audience is not accepted");
            }
        }
        Ok(())
    }

    fn verify_trusted_payload(&self, value: &str, now: u64) -> Result<Verified, TokenError> {
        if value.len() > self.cfg.max_token_bytes {
            return fail(
                Code::TokenTooLarge,
                "the verified-claims header is too large",
            );
        }
        let claims = decode_json(value.trim().trim_end_matches('='), "payload")?;
        let expires_at = self.check_times(&claims, now)?;
        self.check_issuer_audience(&claims)?;
        Ok(Verified {
            principal: map_claims(&self.cfg.claims, &claims)?,
            expires_at,
        })
    }
}

fn decode_json(seg: &str, what: &str) -> Result<serde_json::Map<String, Value>, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(seg).map_err(|_| TokenError {
        code: Code::MalformedToken,
        message: format!("the token {what} is not base64url"),
    })?;
    match crate::body::parse_strict(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => fail(
            Code::MalformedToken,
            format!("the token {what} is not a JSON object"),
        ),
        Err(_) => fail(
            Code::MalformedToken,
            format!("the token {what} is not valid JSON (or repeats a name)"),
        ),
    }
}

/// The `WWW-Authenticate` value for a 401 (RFC 6750 §3).
pub fn www_authenticate(code: Code, message: &str) -> String {
    let esc: String = message
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect();
    match code {
        Code::MissingToken => String::from("Bearer realm=\"intercom-authz\""),
        _ => format!(
            "Bearer realm=\"intercom-authz\", error=\"invalid_token\", error_description=\"{esc}\""
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::keys::RawJwk;
    use super::*;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    impl TokenVerifier {
        fn cache_len(&self) -> usize {
            self.cache.as_ref().map_or(0, |c| c.borrow().len())
        }
    }

    /// `RawJwk::read` takes and refuses what `serde_json::from_value` with the derive does,
    /// except a JSON array, which the derive would read field by field.
    #[test]
    fn raw_jwk_reads_as_the_derive() {
        use serde_json::json;
        let base = json!({"kty": "RSA", "kid": "a", "alg": "RS256", "use": "sig", "crv": "P-256",
                          "n": "n", "e": "e", "x": "x", "y": "y", "k": "k", "other": [1]});
        let mut cases = alloc::vec![base.clone(), json!({}), json!("RSA"), json!(5), json!(null)];
        for f in [
            "kty", "kid", "alg", "use", "crv", "n", "e", "x", "y", "k", "other",
        ] {
            for r in [
                json!(null),
                json!(5),
                json!(true),
                json!([]),
                json!({}),
                json!("s"),
            ] {
                let mut c = base.clone();
                c[f] = r;
                cases.push(c);
            }
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove(f);
            cases.push(c);
        }
        let mut refused = 0;
        for c in &cases {
            let derived = serde_json::from_value::<RawJwk>(c.clone()).ok();
            refused += usize::from(derived.is_none());
            assert_eq!(RawJwk::read(c), derived, "{c}");
        }
        assert!(refused > 40, "{refused}");
        let array = json!(["RSA", "a", "RS256", "sig", "P-256", "n", "e", "x", "y", "k"]);
        assert!(serde_json::from_value::<RawJwk>(array.clone()).is_ok());
        assert_eq!(RawJwk::read(&array), None);
    }

    fn verifier(cache_size: usize) -> TokenVerifier {
        let cfg: TokenConfig = serde_json::from_value(serde_json::json!({
            "keys": [{"kid": "k", "alg": "HS256", "secret": SECRET}],
            "cache_size": cache_size
        }))
        .unwrap();
        TokenVerifier::new(cfg, NoKeys::Error).unwrap()
    }

    fn token(sub: &str, exp: u64) -> String {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k".into());
        let claims = serde_json::json!({"sub": sub, "role": "agent", "exp": exp, "iat": 1000});
        format!(
            "Bearer {}",
            encode(&h, &claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
        )
    }

    #[test]
    fn an_ed25519_key_of_the_wrong_length_is_refused_not_a_panic() {
        // 15 and 33 bytes: jsonwebtoken would panic on the first and cut the second.
        for x in [
            "tyEAGYi6fJKN6ox-I-VQ",
            "tyEAGYi6fJKN6ox-I-VxNjidrirM3_M1VDPUUxANTJsA",
        ] {
            let doc =
                format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"e","x":"{x}"}}]}}"#);
            let err = parse_jwks(doc.as_bytes()).unwrap_err();
            assert!(err.contains("32 bytes"), "{err}");
        }
        let ok = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"e","x":"tyEAGYi6fJKN6ox-I-VxNjidrirM3_M1VDPUUxANTJs"}]}"#;
        assert_eq!(parse_jwks(ok.as_bytes()).unwrap().0.len(), 1);
    }

    #[test]
    fn a_repeated_token_skips_verification() {
        let v = verifier(8);
        let t = token("a", 10_000);
        let first = v.authenticate(Some(&t), 2000).unwrap();
        let again = v.authenticate(Some(&t), 2001).unwrap();
        assert_eq!(first, again);
        assert_eq!(v.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn cached_entries_expire_with_the_token() {
        let v = verifier(8);
        let t = token("a", 3000);
        assert!(v.authenticate(Some(&t), 2000).is_ok());
        let err = v.authenticate(Some(&t), 3000 + 61).unwrap_err();
        assert_eq!(err.code, Code::TokenExpired);
        assert_eq!(v.stats().hits, 0);
        assert_eq!(v.cache_len(), 0, "the expired entry was dropped");
    }

    #[test]
    fn failures_are_not_cached_and_the_cache_is_bounded() {
        let v = verifier(2);
        let bad = format!("{}x", token("a", 10_000));
        for _ in 0..3 {
            assert_eq!(
                v.authenticate(Some(&bad), 2000).unwrap_err().code,
                Code::InvalidSignature
            );
        }
        assert_eq!(v.stats(), CacheStats { hits: 0, misses: 3 });
        for sub in ["a", "b", "c"] {
            v.authenticate(Some(&token(sub, 10_000)), 2000).unwrap();
        }
        assert!(v.cache_len() <= 2, "{} entries", v.cache_len());
        // A token seen once among many one-off tokens is evicted: verifying it again is a miss.
        let v = verifier(4);
        let steady = token("steady", 10_000);
        for _ in 0..3 {
            v.authenticate(Some(&steady), 2000).unwrap();
        }
        for i in 0..100 {
            v.authenticate(Some(&token(&format!("once{i}"), 10_000)), 2000)
                .unwrap();
            assert!(v.cache_len() <= 4, "{} entries", v.cache_len());
        }
        // The token in steady use survived the burst (S3-FIFO): a hit.
        let hits = v.stats().hits;
        v.authenticate(Some(&steady), 2000).unwrap();
        assert_eq!(v.stats().hits, hits + 1);
        // The one-off tokens did not stay: verifying them again is a miss (all but what fits).
        let misses = v.stats().misses;
        for i in 0..100 {
            v.authenticate(Some(&token(&format!("once{i}"), 10_000)), 2000)
                .unwrap();
        }
        assert!(
            v.stats().misses - misses >= 96,
            "{}",
            v.stats().misses - misses
        );
    }

    /// The cache grows with use: a huge `cache_size` allocates nothing up front.
    #[test]
    fn a_huge_cache_size_is_not_allocated_at_load() {
        let v = verifier(usize::MAX);
        let t = token("a", 10_000);
        v.authenticate(Some(&t), 2000).unwrap();
        v.authenticate(Some(&t), 2000).unwrap();
        assert_eq!(v.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn a_token_one_byte_longer_is_not_a_hit() {
        let v = verifier(8);
        let t = token("a", 10_000);
        v.authenticate(Some(&t), 2000).unwrap();
        let longer = format!("{t}A");
        assert!(v.authenticate(Some(&longer), 2000).is_err());
        assert_eq!(v.stats().hits, 0);
    }

    #[test]
    fn new_remote_keys_empty_the_cache() {
        let v = verifier(8);
        let t = token("a", 10_000);
        v.authenticate(Some(&t), 2000).unwrap();
        v.set_remote_keys(Vec::new());
        v.authenticate(Some(&t), 2000).unwrap();
        assert_eq!(v.stats(), CacheStats { hits: 0, misses: 2 });
    }

    #[test]
    fn claim_paths() {
        let claims: serde_json::Map<String, Value> = serde_json::from_str(
            r#"{"https://example.com/claims/role":"admin","realm_access":{"roles":["agent","owner"]},"scp":["a","b"]}"#,
        )
        .unwrap();
        let mut cfg = ClaimsConfig {
            role: "https://example.com/claims/role".into(),
            ..ClaimsConfig::default()
        };
        assert_eq!(
            map_claims(&cfg, &claims).unwrap().role.as_deref(),
            Some("admin")
        );
        cfg.role = "realm_access.roles".into();
        // Without an order, the array's first name; the authorizer completes the order with
        // the policy's roles (tests/cases/role-claims.json).
        assert_eq!(
            map_claims(&cfg, &claims).unwrap().role.as_deref(),
            Some("agent")
        );
        cfg.role_order = ["owner".into(), "agent".into()].into();
        let p = map_claims(&cfg, &claims).unwrap();
        assert_eq!(p.role.as_deref(), Some("owner"));
        assert_eq!(p.scopes, ["a", "b"]);
    }

    #[test]
    fn www_authenticate_follows_rfc6750() {
        assert_eq!(
            www_authenticate(Code::MissingToken, "x"),
            "Bearer realm=\"intercom-authz\""
        );
        assert_eq!(
            www_authenticate(Code::TokenExpired, "the \"token\" has expired"),
            "Bearer realm=\"intercom-authz\", error=\"invalid_token\", error_description=\"the token has expired\""
        );
    }
}
