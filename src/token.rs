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

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::format;
use std::rc::Rc;
use std::string::{String, ToString};
use std::vec::Vec;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::{Code, Principal};

/// Where tokens come from and how they are checked.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenConfig {
    /// The request header that carries the token (default `authorization`, `Bearer <jwt>`).
    #[serde(default = "default_header")]
    pub header: String,
    /// Keys configured one by one.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// An inline JWKS document (`{"keys":[…]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// Accepted issuers (`iss`); empty: any.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Accepted audiences (`aud`, any of); empty: any.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`, in seconds (default 60, like Envoy).
    #[serde(default = "default_leeway")]
    pub leeway: u64,
    /// The largest token accepted, in bytes (default 8 KiB).
    #[serde(default = "default_max_token")]
    pub max_token_bytes: usize,
    /// How many verified tokens to remember (default 1,024; 0 disables the cache).
    #[serde(default = "default_cache")]
    pub cache_size: usize,
    /// Where the claims are.
    #[serde(default)]
    pub claims: ClaimsConfig,
    /// Trusted-payload mode: read claims already verified by Envoy `jwt_authn`
    /// (`forward_payload_header`) or Istio (`outputPayloadToHeader`) from this header, as
    /// base64url JSON, without verifying again. CAUTION: only safe when that filter runs first
    /// and overwrites the header on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_payload_header: Option<String>,
    /// With `trusted_payload_header`: refuse the claims header when the request lacks
    /// `header` (default `true`). The JWT filters write it only for a token they verified and
    /// leave a client's copy alone when there is none, so without the token it is the client's.
    /// Turn off only when that filter reads the token from elsewhere (a cookie, a query
    /// parameter) and removes client copies itself.
    #[serde(default = "yes")]
    pub trusted_payload_requires_token: bool,
}

fn yes() -> bool {
    true
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            header: default_header(),
            keys: Vec::new(),
            jwks: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: default_leeway(),
            max_token_bytes: default_max_token(),
            cache_size: default_cache(),
            claims: ClaimsConfig::default(),
            trusted_payload_header: None,
            trusted_payload_requires_token: true,
        }
    }
}

fn default_header() -> String {
    "authorization".into()
}
fn default_leeway() -> u64 {
    60
}
fn default_max_token() -> usize {
    8192
}
fn default_cache() -> usize {
    1024
}

/// One verification key. Exactly one of `secret`, `secret_env`, `secret_base64`, `pem`, `jwk`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct KeyConfig {
    /// The key id tokens name in `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm this key verifies (pinned; required for `secret*` and `pem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// An HMAC secret, inline (UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The name of an environment variable holding the HMAC secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// An HMAC secret, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_base64: Option<String>,
    /// A public key in PEM (RSA, EC or Ed25519).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// One JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
}

/// Claim names (or paths). A path is tried first as one claim name (so
/// `https://example.com/claims/role` works), then as `.`-separated nested names
/// (`realm_access.roles`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClaimsConfig {
    /// The role: a string, or an array picked by `role_order`.
    pub role: String,
    /// When the role claim is an array (Keycloak's `realm_access.roles`, Okta or Entra
    /// `groups`/`roles`): the first of these it contains wins; then the policy's other roles,
    /// custom ones first (by name), then the built-in ones, most powerful first. Names the policy
    /// does not know are skipped; only an array with no known role is `unknown_role` (naming its
    /// first entry).
    pub role_order: Vec<String>,
    /// Extra permissions: an array or a space-delimited string.
    pub permissions: String,
    /// OAuth scopes: a space-delimited string (`scope`) or an array (`scp`); both names are
    /// tried when left at the default.
    pub scopes: String,
    /// The caller's Intercom admin id.
    pub subject: String,
    /// Teams: an array.
    pub teams: String,
    /// The workspace id.
    pub workspace: String,
    /// Authentication methods: an array.
    pub amr: String,
    /// Email.
    pub email: String,
    /// IdP values of the role claim → policy roles: Keycloak group paths (`/support/tier1`),
    /// Okta group names, Entra ID group object ids. A value not listed is taken as it is.
    pub role_map: BTreeMap<String, String>,
    /// `one` (default): `role_order` picks one role of an array claim. `all`: the caller holds
    /// every role of the policy the claim names, and gets the union of their grants, each with
    /// its own conditions (MFA, IP allowlist, session age).
    pub roles: RoleSelection,
    /// The authentication context class, for `policy.mfa.acr_values` (default `acr`).
    pub acr: String,
}

/// How an array role claim becomes the caller's role(s).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RoleSelection {
    /// One role: the first of `role_order` the claim names.
    #[default]
    One,
    /// Every role of the policy the claim names: the union of their grants.
    All,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        ClaimsConfig {
            role: "role".into(),
            role_order: Vec::new(),
            permissions: "permissions".into(),
            scopes: "scope".into(),
            subject: "sub".into(),
            teams: "teams".into(),
            workspace: "workspace_id".into(),
            amr: "amr".into(),
            email: "email".into(),
            role_map: BTreeMap::new(),
            roles: RoleSelection::One,
            acr: "acr".into(),
        }
    }
}

/// Why a token was refused: a stable code and a message safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The code.
    pub code: Code,
    /// One sentence, no library text.
    pub message: String,
}

fn fail<T>(code: Code, message: impl Into<String>) -> Result<T, TokenError> {
    Err(TokenError {
        code,
        message: message.into(),
    })
}

/// A key ready to verify.
#[derive(Clone)]
pub struct VerifyKey {
    /// The key id.
    pub kid: Option<String>,
    /// The pinned algorithm.
    pub alg: Algorithm,
    key: DecodingKey,
}

impl core::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VerifyKey({:?}, {:?})", self.kid, self.alg)
    }
}

fn parse_alg(s: &str) -> Option<Algorithm> {
    Some(match s {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// An HMAC key, refused when shorter than the hash: RFC 7518 §3.2 says a key "of the same
/// size as the hash output … or larger MUST be used" (32 bytes for HS256, 48, 64).
fn hmac_key(secret: &[u8], alg: Algorithm, owner: &str) -> Result<DecodingKey, String> {
    let need = match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    };
    if secret.len() < need {
        return Err(format!(
            "{owner} has a {}-byte secret; `{alg:?}` needs at least {need} bytes (RFC 7518 §3.2)",
            secret.len()
        ));
    }
    Ok(DecodingKey::from_secret(secret))
}

/// Checks a key against its algorithm once, at load, so a bad key is a configuration error
/// and not a 401 on every request.
fn probe(key: &DecodingKey, alg: Algorithm) -> Result<(), String> {
    #[cfg(feature = "ring-verify")]
    crate::ring_verify::install();
    // jsonwebtoken slices an Ed25519 key with `[..32]`: a shorter one panics (a trapped VM in
    // the filter, from a JWKS document), a longer one is silently cut. Found by `fuzz/config`.
    if alg == Algorithm::EdDSA && key.try_get_as_bytes().map_or(true, |k| k.len() != 32) {
        return Err("an Ed25519 public key is 32 bytes".into());
    }
    match jsonwebtoken::crypto::verify("AAAA", b"probe", key, alg) {
        Ok(_) => Ok(()),
        Err(e) => match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::Base64(_) => Ok(()),
            _ => Err(format!("the key does not fit `{alg:?}`")),
        },
    }
}

/// Parses one key of the configuration; `owner` names it in errors.
pub fn load_key(k: &KeyConfig, owner: &str) -> Result<VerifyKey, String> {
    if let Some(jwk) = &k.jwk {
        let mut key = parse_jwk(jwk, owner)?;
        if k.kid.is_some() {
            key.kid = k.kid.clone();
        }
        return Ok(key);
    }
    let alg_name = k
        .alg
        .as_deref()
        .ok_or_else(|| format!("{owner} needs `alg` (the algorithm is pinned per key)"))?;
    let alg =
        parse_alg(alg_name).ok_or_else(|| format!("unknown algorithm `{alg_name}` in {owner}"))?;
    let sources = [
        k.secret.is_some(),
        k.secret_env.is_some(),
        k.secret_base64.is_some(),
        k.pem.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err(format!(
            "{owner} needs exactly one of `secret`, `secret_env`, `secret_base64`, `pem`, `jwk`"
        ));
    }
    let key = if is_hmac(alg) {
        let secret: Vec<u8> = if let Some(s) = &k.secret {
            s.as_bytes().to_vec()
        } else if let Some(var) = &k.secret_env {
            std::env::var(var)
                .map_err(|_| format!("environment variable `{var}` named by {owner} is not set"))?
                .into_bytes()
        } else if let Some(b) = &k.secret_base64 {
            STANDARD
                .decode(b.trim())
                .map_err(|_| format!("`secret_base64` of {owner} is not base64"))?
        } else {
            return Err(format!(
                "{owner}: `{alg_name}` needs a secret, not a PEM key"
            ));
        };
        hmac_key(&secret, alg, owner)?
    } else {
        let pem = k.pem.as_deref().ok_or_else(|| {
            format!("{owner}: `{alg_name}` needs a `pem` public key, not a secret")
        })?;
        crate::pem::decoding_key(pem, alg)
            .ok_or_else(|| format!("the `pem` of {owner} is not a valid {alg_name} public key"))?
    };
    probe(&key, alg).map_err(|e| format!("{owner}: {e}"))?;
    Ok(VerifyKey {
        kid: k.kid.clone(),
        alg,
        key,
    })
}

/// A JWK's fields, as read: each absent, `null` or a string (anything else, or a JWK that is not
/// an object, is refused); other members are ignored.
#[cfg_attr(test, derive(Deserialize, Debug, PartialEq))]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[cfg_attr(test, serde(rename = "use"))]
    use_: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    k: Option<String>,
}

impl RawJwk {
    /// Read by hand rather than through `serde_json::from_value` (a derived visitor and a copy
    /// of the value); held to the derive by `tests::raw_jwk_reads_as_the_derive`.
    fn read(v: &Value) -> Option<RawJwk> {
        let m = v.as_object()?;
        let field = |name: &str| match m.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        };
        Some(RawJwk {
            kty: field("kty")?,
            kid: field("kid")?,
            alg: field("alg")?,
            use_: field("use")?,
            crv: field("crv")?,
            n: field("n")?,
            e: field("e")?,
            x: field("x")?,
            y: field("y")?,
            k: field("k")?,
        })
    }
}

/// Parses one JWK. The algorithm is the JWK's `alg`, or follows from `kty`/`crv` (RSA: RS256,
/// EC P-256: ES256, EC P-384: ES384, OKP Ed25519: EdDSA, oct: HS256).
pub fn parse_jwk(v: &Value, owner: &str) -> Result<VerifyKey, String> {
    let raw = RawJwk::read(v).ok_or_else(|| format!("{owner} is not a JWK object"))?;
    if raw.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err(format!(
            "{owner} is not a signature key (`use` is not `sig`)"
        ));
    }
    let kty = raw
        .kty
        .as_deref()
        .ok_or_else(|| format!("{owner} has no `kty`"))?;
    let alg = match raw.alg.as_deref() {
        Some(a) => parse_alg(a).ok_or_else(|| format!("unsupported `alg` `{a}` in {owner}"))?,
        None => match (kty, raw.crv.as_deref()) {
            ("RSA", _) => Algorithm::RS256,
            ("EC", Some("P-256")) => Algorithm::ES256,
            ("EC", Some("P-384")) => Algorithm::ES384,
            ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
            ("oct", _) => Algorithm::HS256,
            _ => {
                return Err(format!(
                    "{owner}: cannot tell the algorithm of a `{kty}` key"
                ))
            }
        },
    };
    let need = |f: &Option<String>, name: &str| -> Result<String, String> {
        f.clone().ok_or_else(|| format!("{owner} has no `{name}`"))
    };
    let key = match (kty, alg) {
        (
            "RSA",
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512,
        ) => DecodingKey::from_rsa_components(&need(&raw.n, "n")?, &need(&raw.e, "e")?),
        ("EC", Algorithm::ES256 | Algorithm::ES384) => {
            let want = if alg == Algorithm::ES256 {
                "P-256"
            } else {
                "P-384"
            };
            if raw.crv.as_deref() != Some(want) {
                return Err(format!("{owner}: curve does not match `{alg:?}`"));
            }
            DecodingKey::from_ec_components(&need(&raw.x, "x")?, &need(&raw.y, "y")?)
        }
        ("OKP", Algorithm::EdDSA) => DecodingKey::from_ed_components(&need(&raw.x, "x")?),
        ("oct", Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => {
            let k = URL_SAFE_NO_PAD
                .decode(need(&raw.k, "k")?)
                .map_err(|_| format!("{owner}: `k` is not base64url"))?;
            Ok(hmac_key(&k, alg, owner)?)
        }
        _ => {
            return Err(format!(
                "{owner}: `alg` `{alg:?}` does not fit a `{kty}` key"
            ))
        }
    }
    .map_err(|_| format!("{owner} has invalid key material"))?;
    probe(&key, alg).map_err(|e| format!("{owner}: {e}"))?;
    Ok(VerifyKey {
        kid: raw.kid,
        alg,
        key,
    })
}

/// Parses a JWKS document. Keys that cannot verify signatures (encryption keys, unsupported
/// types) are skipped and reported in the second value; a document with no usable key is an
/// error.
pub fn parse_jwks(doc: &[u8]) -> Result<(Vec<VerifyKey>, Vec<String>), String> {
    let v: Value = serde_json::from_slice(doc).map_err(|_| String::from("the JWKS is not JSON"))?;
    let keys = v
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| String::from("the JWKS has no `keys` array"))?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        match parse_jwk(k, &format!("JWKS key {i}")) {
            Ok(key) => out.push(key),
            Err(e) => skipped.push(e),
        }
    }
    if out.is_empty() {
        return Err(format!(
            "the JWKS has no usable signature key ({})",
            skipped.join("; ")
        ));
    }
    Ok((out, skipped))
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

fn lookup<'v>(claims: &'v serde_json::Map<String, Value>, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return None;
    }
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = claims.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

fn string_claim(
    claims: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<Option<String>, TokenError> {
    match lookup(claims, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => fail(
            Code::InvalidClaim,
            format!("claim `{path}` must be a string"),
        ),
    }
}

fn list_claim(
    claims: &serde_json::Map<String, Value>,
    path: &str,
    split: bool,
) -> Result<Vec<String>, TokenError> {
    match lookup(claims, path) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if split => {
            Ok(s.split_ascii_whitespace().map(str::to_string).collect())
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                _ => fail(
                    Code::InvalidClaim,
                    format!("claim `{path}` must be a list of strings"),
                ),
            })
            .collect(),
        Some(_) => fail(
            Code::InvalidClaim,
            format!("claim `{path}` must be a list of strings"),
        ),
    }
}

/// Maps verified claims to a principal. A claim of the wrong type is an error, not absent.
pub fn map_claims(
    cfg: &ClaimsConfig,
    claims: &serde_json::Map<String, Value>,
) -> Result<Principal, TokenError> {
    let (role, roles) = role_claim(cfg, claims)?;
    let scopes = if cfg.scopes == "scope" && lookup(claims, "scope").is_none() {
        list_claim(claims, "scp", true)?
    } else {
        list_claim(claims, &cfg.scopes, true)?
    };
    let issued_at = match claims.get("iat") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64),
        None => None,
        Some(_) => return fail(Code::InvalidClaim, "`iat` must be a number (NumericDate)"),
    };
    Ok(Principal {
        role,
        roles,
        acr: string_claim(claims, &cfg.acr)?,
        subject: string_claim(claims, &cfg.subject)?,
        email: string_claim(claims, &cfg.email)?,
        workspace: string_claim(claims, &cfg.workspace)?,
        scopes,
        permissions: list_claim(claims, &cfg.permissions, true)?,
        teams: list_claim(claims, &cfg.teams, false)?,
        amr: list_claim(claims, &cfg.amr, false)?,
        issued_at,
    })
}

/// The role claim, through `role_map`: the caller's role and, with `roles: "all"`, every role
/// of the policy it names (in `role_order`, which the authorizer fills with the policy's roles).
fn role_claim(
    cfg: &ClaimsConfig,
    claims: &serde_json::Map<String, Value>,
) -> Result<(Option<String>, Vec<String>), TokenError> {
    let mapped = |s: &str| cfg.role_map.get(s).map_or(s, String::as_str).to_string();
    let names: Vec<String> = match lookup(claims, &cfg.role) {
        None | Some(Value::Null) => return Ok((None, Vec::new())),
        Some(Value::String(s)) => vec![mapped(s)],
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            list.iter().filter_map(Value::as_str).map(mapped).collect()
        }
        Some(_) => {
            return fail(
                Code::InvalidClaim,
                format!("claim `{}` must be a string or a list of strings", cfg.role),
            )
        }
    };
    let known: Vec<String> = cfg
        .role_order
        .iter()
        .filter(|r| names.contains(r))
        .cloned()
        .collect();
    let role = known.first().or(names.first()).cloned();
    let roles = match cfg.roles {
        RoleSelection::All if known.len() > 1 => known,
        _ => Vec::new(),
    };
    Ok((role, roles))
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
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

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
