//! The connector's identity under the Decentralized Claims Protocol (DCP 1.0).
//!
//! Outbound, every DSP request carries a self-issued ID token (`iss` = `sub` = our DID, `aud` =
//! the partner's DID, a fresh `jti`, a short `exp`) whose `token` claim is an access token for
//! our credential service. Inbound, `DcpAuthenticator` verifies the caller's token against its
//! DID document, asks the caller's credential service for a presentation of its credentials
//! (`POST /presentations/query`), verifies the presentation and every credential in it (issuer
//! trusted for the type, not expired, not revoked), and turns them into the caller's
//! attributes. A caller without a valid membership credential is not authenticated.
//!
//! DID documents, status lists and verified presentations are cached with bounded lifetimes;
//! a revocation therefore takes effect within `PRESENTATION_TTL` + `STATUS_LIST_TTL`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tsunagu_engine::VerifiedCaller;
use tsunagu_trust::TrustError;
use tsunagu_trust::dcp::{
    PresentationQueryMessage, PresentationResponseMessage, ReplayCache, Scope,
};
use tsunagu_trust::did::{Did, DidDocument, DidResolver, Service};
use tsunagu_trust::keys::KeyRing;
use tsunagu_trust::status_list::StatusListSource;
use tsunagu_trust::vc::{TrustContext, TrustedIssuers};
use tsunagu_trust::vp::{PresentationExpectations, PresentationTarget};

use crate::auth::{AuthFailure, Authenticator};

/// How long a verified presentation stands for its holder.
pub const PRESENTATION_TTL: Duration = Duration::from_secs(60);
/// How long a fetched status list is used before it is fetched again.
pub const STATUS_LIST_TTL: Duration = Duration::from_secs(60);
/// How long a fetched DID document is used.
pub const DID_DOCUMENT_TTL: Duration = Duration::from_secs(300);
/// Lifetime of the self-issued tokens this connector makes.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::seconds(120);
/// Most cache entries kept, so a flood of distinct callers cannot grow memory without bound.
const CACHE_CAPACITY: usize = 10_000;

/// The credential types a verifier asks for, as DCP scopes.
pub const QUERIED_CREDENTIAL_TYPES: [&str; 4] = [
    "MembershipCredential",
    "BatteryChainRoleCredential",
    "SecurityProfileCredential",
    "LegalPersonCredential",
];

fn scope_for(credential_type: &str) -> String {
    format!("org.eclipse.dspace.dcp.vc.type:{credential_type}:read")
}

/// This connector's DID, keys and the credentials it holds.
pub struct ConnectorIdentity {
    did: String,
    parsed_did: Did,
    keys: RwLock<KeyRing>,
    /// The base URL of the credential service (`…/dcp`), published in the DID document.
    credential_service_url: String,
    dsp_url: String,
    credentials: RwLock<Vec<String>>,
    /// Access tokens for our credential service, per audience, reused while fresh: signing
    /// one per request would double the signatures every DSP call costs.
    access_tokens: Mutex<HashMap<String, (String, i64)>>,
}

impl std::fmt::Debug for ConnectorIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorIdentity")
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

impl ConnectorIdentity {
    pub fn new(
        did: String,
        keys: KeyRing,
        public_url: &str,
    ) -> Result<ConnectorIdentity, TrustError> {
        let public_url = public_url.trim_end_matches('/');
        Ok(ConnectorIdentity {
            parsed_did: Did::parse(&did)?,
            did,
            keys: RwLock::new(keys),
            credential_service_url: format!("{public_url}/dcp"),
            dsp_url: format!("{public_url}/dsp"),
            credentials: RwLock::new(Vec::new()),
            access_tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn did(&self) -> &str {
        &self.did
    }

    /// Replaces the credentials this connector presents.
    pub fn set_credentials(&self, credentials: Vec<String>) {
        *self.credentials.write().expect("credentials lock") = credentials;
    }

    pub fn credentials(&self) -> Vec<String> {
        self.credentials.read().expect("credentials lock").clone()
    }

    /// Rotates the signing key; the old key keeps verifying for `grace`.
    pub fn rotate_key(&self, now: DateTime<Utc>, grace: chrono::Duration) -> KeyRing {
        let mut keys = self.keys.write().expect("keys lock");
        keys.rotate(&mut rand::thread_rng(), now, grace);
        keys.clone()
    }

    pub fn did_document(&self, now: DateTime<Utc>) -> DidDocument {
        let keys = self.keys.read().expect("keys lock");
        DidDocument::for_key_ring(
            &self.parsed_did,
            &keys,
            now,
            vec![
                Service::new(
                    format!("{}#credential-service", self.did),
                    "CredentialService",
                    self.credential_service_url.clone(),
                ),
                Service::new(
                    format!("{}#dsp", self.did),
                    "DataService",
                    self.dsp_url.clone(),
                ),
            ],
        )
    }

    /// A self-issued ID token for a request to `audience`, carrying an access token that lets
    /// `audience` query our credential service.
    pub fn self_issued_token(
        &self,
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<String, TrustError> {
        let keys = self.keys.read().expect("keys lock");
        let access_token = self.access_token(&keys, audience, now);
        tsunagu_trust::dcp::issue_self_issued_token(
            keys.active(),
            &self.did,
            audience,
            Some(&access_token),
            now,
            TOKEN_LIFETIME,
            &mut rand::thread_rng(),
        )
    }

    /// An access token for `audience`: the cached one while it has more than half its
    /// lifetime left (and was signed by the active key), else a new one.
    fn access_token(&self, keys: &KeyRing, audience: &str, now: DateTime<Utc>) -> String {
        let kid = format!("{}#{}", self.did, keys.active().kid());
        let mut cache = self.access_tokens.lock().expect("token cache lock");
        if let Some((token, expires)) = cache.get(audience)
            && *expires - now.timestamp() > TOKEN_LIFETIME.num_seconds() / 2
            && tsunagu_trust::jws::decode_unverified(token)
                .is_ok_and(|(header, _)| header.kid.as_deref() == Some(kid.as_str()))
        {
            return token.clone();
        }
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        let token = tsunagu_trust::jws::sign(
            tsunagu_trust::jws::JwsHeader::new("JWT", kid),
            &json!({
                "iss": self.did,
                "sub": self.did,
                "aud": audience,
                "scope": QUERIED_CREDENTIAL_TYPES.map(scope_for).join(" "),
                "jti": uuid::Uuid::new_v4().to_string(),
                "iat": now.timestamp(),
                "exp": (now + TOKEN_LIFETIME).timestamp(),
            }),
            keys.active(),
        );
        cache.insert(
            audience.to_owned(),
            (token.clone(), (now + TOKEN_LIFETIME).timestamp()),
        );
        token
    }

    /// Checks an access token we issued and returns who may use it (its audience).
    fn check_access_token(&self, token: &str, now: DateTime<Utc>) -> Result<String, String> {
        let keys = self.keys.read().expect("keys lock");
        let (header, _) =
            tsunagu_trust::jws::decode_unverified(token).map_err(|error| error.to_string())?;
        let kid = header.kid.as_deref().unwrap_or_default();
        let fragment = kid.rsplit_once('#').map_or(kid, |(_, fragment)| fragment);
        let key = keys
            .verification_keys(now)
            .into_iter()
            .find(|key| key.kid.as_deref() == Some(fragment))
            .ok_or("the access token names no key of ours")?;
        let (_, claims) =
            tsunagu_trust::jws::verify(token, &key).map_err(|error| error.to_string())?;
        if claims["iss"] != self.did.as_str() {
            return Err("the access token was not issued by us".into());
        }
        let exp = claims["exp"].as_i64().unwrap_or(0);
        if exp <= now.timestamp() {
            return Err("the access token expired".into());
        }
        claims["aud"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "the access token has no audience".into())
    }

    /// A presentation of the credentials of the requested types, for `audience` only.
    fn presentation(&self, audience: &str, types: &[String], now: DateTime<Utc>) -> String {
        let credentials: Vec<String> = self
            .credentials()
            .into_iter()
            .filter(|jwt| {
                let Ok((_, payload)) = tsunagu_trust::jws::decode_unverified(jwt) else {
                    return false;
                };
                payload["type"].as_array().is_some_and(|have| {
                    have.iter()
                        .any(|t| types.iter().any(|want| t == want.as_str()))
                })
            })
            .collect();
        let keys = self.keys.read().expect("keys lock");
        tsunagu_trust::vp::make_vp_jwt(
            &self.did,
            keys.active(),
            &credentials,
            &PresentationTarget {
                audience,
                nonce: None,
                lifetime: TOKEN_LIFETIME,
            },
            now,
            &mut rand::thread_rng(),
        )
    }
}

/// Serves `/.well-known/did.json` and the credential service (`/dcp/presentations/query`).
pub fn identity_router(identity: Arc<ConnectorIdentity>) -> Router {
    Router::new()
        .route("/.well-known/did.json", get(did_document))
        // The path form (`did:web:host:company` → `https://host/company/did.json`), for a
        // connector published under a path prefix that its proxy strips.
        .route("/did.json", get(did_document))
        .route("/dcp/presentations/query", post(presentation_query))
        .with_state(identity)
}

async fn did_document(State(identity): State<Arc<ConnectorIdentity>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/did+json")],
        Json(identity.did_document(Utc::now())),
    )
        .into_response()
}

fn dcp_error(status: StatusCode, reason: &str) -> Response {
    // DCP leaves the error body open; this mirrors the shape of its other messages.
    (
        status,
        Json(json!({"type": "Error", "code": status.as_u16().to_string(), "reason": reason})),
    )
        .into_response()
}

async fn presentation_query(
    State(identity): State<Arc<ConnectorIdentity>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let now = Utc::now();
    let Some(token) = bearer(&headers) else {
        return dcp_error(StatusCode::UNAUTHORIZED, "an access token is required");
    };
    let audience = match identity.check_access_token(token, now) {
        Ok(audience) => audience,
        Err(reason) => return dcp_error(StatusCode::UNAUTHORIZED, &reason),
    };
    let query: PresentationQueryMessage = match serde_json::from_slice(&body) {
        Ok(query) => query,
        Err(error) => {
            return dcp_error(
                StatusCode::BAD_REQUEST,
                &format!("not a PresentationQueryMessage: {error}"),
            );
        }
    };
    let Some(scopes) = query.scope.as_ref() else {
        return dcp_error(
            StatusCode::NOT_IMPLEMENTED,
            "only scope-based queries are supported, not presentation definitions",
        );
    };
    let mut types = Vec::new();
    for scope in scopes {
        match Scope::parse(scope) {
            Ok(Scope::CredentialType(credential_type)) => types.push(credential_type),
            Ok(Scope::CredentialId(_)) => {
                return dcp_error(
                    StatusCode::BAD_REQUEST,
                    "only credential-type scopes are supported",
                );
            }
            Err(error) => return dcp_error(StatusCode::BAD_REQUEST, &error.to_string()),
        }
    }
    let presentation = identity.presentation(&audience, &types, now);
    Json(PresentationResponseMessage::new(vec![presentation])).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// A small time-bounded cache.
struct TtlCache<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

/// A cached DID document is refetched on demand (a token naming an unknown key) at most
/// this often per DID.
const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(2);

impl<V: Clone> TtlCache<V> {
    fn new() -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().expect("cache lock");
        entries
            .get(key)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, value)| value.clone())
    }

    /// Removes `key` if it was stored more than `min_age` ago (entries live `ttl` from their
    /// insertion, so their age is `ttl - remaining`).
    fn remove_older_than(&self, key: &str, ttl: Duration, min_age: Duration) {
        let mut entries = self.entries.lock().expect("cache lock");
        let old_enough = entries.get(key).is_some_and(|(until, _)| {
            let inserted = until.checked_sub(ttl).unwrap_or_else(Instant::now);
            inserted.elapsed() >= min_age
        });
        if old_enough {
            entries.remove(key);
        }
    }

    fn put(&self, key: String, value: V, ttl: Duration) {
        let mut entries = self.entries.lock().expect("cache lock");
        if entries.len() >= CACHE_CAPACITY {
            let now = Instant::now();
            entries.retain(|_, (until, _)| *until > now);
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now() + ttl, value));
    }
}

/// Resolves `did:web` over HTTP(S) (and `did:key` locally), caching documents.
pub struct HttpDidResolver {
    client: reqwest::Client,
    /// `did:web` says HTTPS. Plain HTTP is for development networks on loopback only.
    use_https: bool,
    cache: TtlCache<DidDocument>,
}

impl HttpDidResolver {
    pub fn new(client: reqwest::Client, use_https: bool) -> Self {
        HttpDidResolver {
            client,
            use_https,
            cache: TtlCache::new(),
        }
    }
}

#[async_trait]
impl DidResolver for HttpDidResolver {
    async fn resolve(&self, did: &str) -> Result<DidDocument, TrustError> {
        if did.starts_with("did:key:") {
            return tsunagu_trust::did::resolve_did_key(did);
        }
        if let Some(document) = self.cache.get(did) {
            return Ok(document);
        }
        let url = tsunagu_trust::did::did_web_document_url(did, self.use_https)?;
        let response = self
            .client
            .get(url.clone())
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|error| resolution(did, format!("cannot fetch {url}: {error}")))?;
        if !response.status().is_success() {
            return Err(resolution(
                did,
                format!("{url} answered {}", response.status()),
            ));
        }
        let document: DidDocument = response
            .json()
            .await
            .map_err(|error| resolution(did, format!("{url} is not a DID document: {error}")))?;
        if document.id != did {
            return Err(TrustError::DidDocumentMismatch {
                expected: did.to_owned(),
                found: document.id,
            });
        }
        self.cache
            .put(did.to_owned(), document.clone(), DID_DOCUMENT_TTL);
        Ok(document)
    }

    fn forget(&self, did: &str) {
        self.cache
            .remove_older_than(did, DID_DOCUMENT_TTL, FORCED_REFRESH_INTERVAL);
    }
}

/// Partners' signing keys for witnessing (see `tsunagu_engine::PartyKeys`): the Ed25519 keys
/// of their DID documents, through the same cached resolver as authentication.
pub struct DidPartyKeys {
    resolver: Arc<dyn DidResolver>,
}

impl DidPartyKeys {
    pub fn new(resolver: Arc<dyn DidResolver>) -> Self {
        DidPartyKeys { resolver }
    }
}

#[async_trait]
impl tsunagu_engine::PartyKeys for DidPartyKeys {
    async fn ed25519_keys(&self, participant_id: &str) -> Result<Vec<[u8; 32]>, String> {
        let document = self
            .resolver
            .resolve(participant_id)
            .await
            .map_err(|error| error.to_string())?;
        let keys: Vec<[u8; 32]> = document
            .verification_method
            .iter()
            .filter_map(|method| method.public_jwk(&document.id).ok())
            .filter_map(|jwk| match jwk.verifying_key() {
                Ok(tsunagu_trust::jwk::PublicKey::Ed25519(key)) => Some(key.to_bytes()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            return Err(format!(
                "the DID document of {participant_id} lists no Ed25519 key"
            ));
        }
        Ok(keys)
    }
}

/// The JWS `typ` of agreement signatures.
pub const AGREEMENT_JWS_TYPE: &str = "tsunagu-agreement+jws";

/// Signs agreements with the connector's active key and checks partners' agreement signatures
/// against the `assertionMethod` keys of their DID documents (see
/// `tsunagu_engine::AgreementSigner`).
pub struct DidAgreementSigner {
    identity: Arc<ConnectorIdentity>,
    resolver: Arc<dyn DidResolver>,
}

impl DidAgreementSigner {
    pub fn new(identity: Arc<ConnectorIdentity>, resolver: Arc<dyn DidResolver>) -> Self {
        DidAgreementSigner { identity, resolver }
    }
}

#[async_trait]
impl tsunagu_engine::AgreementSigner for DidAgreementSigner {
    fn sign(&self, payload: &Value) -> Result<String, String> {
        let keys = self.identity.keys.read().expect("keys lock");
        let kid = format!("{}#{}", self.identity.did, keys.active().kid());
        Ok(tsunagu_trust::jws::sign(
            tsunagu_trust::jws::JwsHeader::new(AGREEMENT_JWS_TYPE, kid),
            payload,
            keys.active(),
        ))
    }

    async fn verify(&self, signer: &str, jws: &str) -> Result<Value, String> {
        let (header, _) =
            tsunagu_trust::jws::decode_unverified(jws).map_err(|error| error.to_string())?;
        if header.typ.as_deref() != Some(AGREEMENT_JWS_TYPE) {
            return Err(format!("the JWS is not of type {AGREEMENT_JWS_TYPE}"));
        }
        let kid = header.kid.as_deref();
        let mut document = self
            .resolver
            .resolve(signer)
            .await
            .map_err(|error| error.to_string())?;
        let key = match document.key_for(kid, tsunagu_trust::did::Relationship::AssertionMethod) {
            Ok(key) => key,
            // A key rotated since the document was cached: fetch it once more.
            Err(TrustError::NoMatchingKey { .. }) => {
                self.resolver.forget(signer);
                document = self
                    .resolver
                    .resolve(signer)
                    .await
                    .map_err(|error| error.to_string())?;
                document
                    .key_for(kid, tsunagu_trust::did::Relationship::AssertionMethod)
                    .map_err(|error| error.to_string())?
            }
            Err(error) => return Err(error.to_string()),
        };
        let (_, payload) =
            tsunagu_trust::jws::verify(jws, &key).map_err(|error| error.to_string())?;
        Ok(payload)
    }
}

fn resolution(did: &str, reason: String) -> TrustError {
    TrustError::DidResolution {
        did: did.to_owned(),
        reason,
    }
}

fn status_list_error(url: &str, reason: String) -> TrustError {
    TrustError::StatusList {
        list: url.to_owned(),
        reason,
    }
}

/// Fetches status list credentials, caching them briefly.
pub struct HttpStatusLists {
    client: reqwest::Client,
    /// Status lists are fetched over HTTPS; plain HTTP only on development networks.
    allow_http: bool,
    cache: TtlCache<String>,
}

impl HttpStatusLists {
    pub fn new(client: reqwest::Client, allow_http: bool) -> Self {
        HttpStatusLists {
            client,
            allow_http,
            cache: TtlCache::new(),
        }
    }
}

#[async_trait]
impl StatusListSource for HttpStatusLists {
    async fn status_list_credential(&self, url: &str) -> Result<String, TrustError> {
        if let Some(jwt) = self.cache.get(url) {
            return Ok(jwt);
        }
        if !(url.starts_with("https://") || (self.allow_http && url.starts_with("http://"))) {
            return Err(status_list_error(
                url,
                "only https status lists are fetched".into(),
            ));
        }
        let response = self
            .client
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|error| status_list_error(url, format!("cannot fetch it: {error}")))?;
        if !response.status().is_success() {
            return Err(status_list_error(
                url,
                format!("answered {}", response.status()),
            ));
        }
        let jwt = response
            .text()
            .await
            .map_err(|error| status_list_error(url, error.to_string()))?;
        self.cache.put(url.to_owned(), jwt.clone(), STATUS_LIST_TTL);
        Ok(jwt)
    }
}

/// Authenticates DSP callers per DCP (see the module documentation).
pub struct DcpAuthenticator {
    identity: Arc<ConnectorIdentity>,
    resolver: Arc<dyn DidResolver>,
    status_lists: Arc<dyn StatusListSource>,
    trusted: TrustedIssuers,
    replay: ReplayCache,
    client: reqwest::Client,
    presentations: TtlCache<BTreeMap<String, Vec<String>>>,
}

impl DcpAuthenticator {
    pub fn new(
        identity: Arc<ConnectorIdentity>,
        resolver: Arc<dyn DidResolver>,
        status_lists: Arc<dyn StatusListSource>,
        trusted: TrustedIssuers,
        client: reqwest::Client,
    ) -> Self {
        DcpAuthenticator {
            identity,
            resolver,
            status_lists,
            trusted,
            replay: ReplayCache::new(100_000, TOKEN_LIFETIME),
            client,
            presentations: TtlCache::new(),
        }
    }

    /// Fetches and verifies the caller's credentials; returns its attributes.
    async fn attributes_of(
        &self,
        caller: &str,
        access_token: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, Vec<String>>, AuthFailure> {
        if let Some(attributes) = self.presentations.get(caller) {
            return Ok(attributes);
        }
        let access_token = access_token.ok_or_else(|| {
            AuthFailure(
                "the self-issued token carries no access token for the credential service".into(),
            )
        })?;
        let document = self
            .resolver
            .resolve(caller)
            .await
            .map_err(|error| AuthFailure(error.to_string()))?;
        let endpoint = document
            .service_endpoint("CredentialService")
            .map(|endpoint| endpoint.trim_end_matches('/').to_owned())
            .ok_or_else(|| AuthFailure(format!("{caller} publishes no CredentialService")))?;
        let scopes: Vec<Scope> = QUERIED_CREDENTIAL_TYPES
            .iter()
            .map(|t| Scope::CredentialType((*t).to_owned()))
            .collect();
        let query = PresentationQueryMessage::for_scopes(&scopes);
        let url = format!("{endpoint}/presentations/query");
        let response = self
            .client
            .post(&url)
            .bearer_auth(access_token)
            .json(&query)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|error| {
                AuthFailure(format!("credential service {url} unreachable: {error}"))
            })?;
        if !response.status().is_success() {
            return Err(AuthFailure(format!(
                "credential service {url} answered {}",
                response.status()
            )));
        }
        let answer: PresentationResponseMessage = response
            .json()
            .await
            .map_err(|error| AuthFailure(format!("credential service {url}: {error}")))?;
        let context = TrustContext {
            resolver: self.resolver.as_ref(),
            status_lists: self.status_lists.as_ref(),
            trusted_issuers: &self.trusted,
        };
        let expected = PresentationExpectations {
            audience: self.identity.did(),
            holder: caller,
            nonce: None,
        };
        let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for presentation in &answer.presentation {
            let verified = tsunagu_trust::vp::verify_vp_jwt(presentation, &expected, &context, now)
                .await
                .map_err(|error| AuthFailure(format!("presentation refused: {error}")))?;
            for (name, values) in tsunagu_trust::attributes::attributes(&verified) {
                let merged = attributes.entry(name).or_default();
                merged.extend(values);
                merged.sort();
                merged.dedup();
            }
        }
        if !attributes
            .get("membership")
            .is_some_and(|values| values.iter().any(|v| v == "active"))
        {
            return Err(AuthFailure(format!(
                "{caller} presented no valid membership credential from a trusted issuer"
            )));
        }
        self.presentations
            .put(caller.to_owned(), attributes.clone(), PRESENTATION_TTL);
        Ok(attributes)
    }
}

#[async_trait]
impl Authenticator for DcpAuthenticator {
    async fn authenticate(&self, parts: &Parts) -> Result<VerifiedCaller, AuthFailure> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            AuthFailure("a DCP self-issued ID token is required (Authorization: Bearer)".into())
        })?;
        let now = Utc::now();
        let verify = || {
            tsunagu_trust::dcp::verify_self_issued_token(
                token,
                self.identity.did(),
                self.resolver.as_ref(),
                &self.replay,
                now,
            )
        };
        let claims = match verify().await {
            // The caller may have rotated its key since we cached its DID document: fetch
            // the document again (the resolver limits how often) and try once more.
            Err(TrustError::NoMatchingKey { did, .. }) => {
                self.resolver.forget(&did);
                verify().await
            }
            other => other,
        }
        .map_err(|error| AuthFailure(error.to_string()))?;
        let attributes = self
            .attributes_of(&claims.iss, claims.token.as_deref(), now)
            .await?;
        Ok(VerifiedCaller::authenticated(claims.iss, attributes))
    }
}

/// How this connector identifies itself to partners.
#[derive(Clone)]
pub enum OutboundIdentity {
    /// Development headers, for partners that run the development authenticator.
    DevHeaders { attributes: Option<String> },
    /// DCP self-issued ID tokens.
    Dcp(Arc<ConnectorIdentity>),
}

impl std::fmt::Debug for OutboundIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundIdentity::DevHeaders { .. } => f.write_str("DevHeaders"),
            OutboundIdentity::Dcp(identity) => write!(f, "Dcp({})", identity.did()),
        }
    }
}

/// Used by `HttpPeer::fetch_credentials`: asks an operator for this connector's credentials.
pub async fn fetch_credentials_from_operator(
    client: &reqwest::Client,
    identity: &ConnectorIdentity,
    operator_url: &str,
    operator_did: &str,
) -> Result<Vec<String>, String> {
    let token = identity
        .self_issued_token(operator_did, Utc::now())
        .map_err(|error| error.to_string())?;
    let url = format!("{}/v1/credentials", operator_url.trim_end_matches('/'));
    let response = client
        .get(&url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|error| format!("operator {url} unreachable: {error}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|error| format!("operator {url}: {error}"))?;
    if !status.is_success() {
        return Err(format!(
            "operator {url} answered {status}: {}",
            body["detail"].as_str().unwrap_or("")
        ));
    }
    Ok(body["credentials"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Saves a rotated key ring (to the key file); called before the rotation is answered.
pub type PersistKeys = Arc<dyn Fn(&KeyRing) -> Result<(), String> + Send + Sync>;

#[derive(Clone)]
struct IdentityAdmin {
    identity: Arc<ConnectorIdentity>,
    api_key: Arc<str>,
    persist: PersistKeys,
}

/// The company's own view of its identity, under the management API (`X-Api-Key`):
/// `GET /management/v3/identity` (DID, keys, credentials held) and
/// `POST /management/v3/identity/keys/rotate` `{"graceSeconds": n}` (a new signing key; the old
/// one stays in the DID document, and verifies, for the grace period; default one day).
pub fn identity_management_router(
    identity: Arc<ConnectorIdentity>,
    api_key: &str,
    persist: PersistKeys,
) -> Router {
    Router::new()
        .route("/management/v3/identity", get(identity_view))
        .route("/management/v3/identity/keys/rotate", post(rotate_key))
        .with_state(IdentityAdmin {
            identity,
            api_key: Arc::from(api_key),
            persist,
        })
}

fn management_problem(status: StatusCode, detail: &str) -> Response {
    crate::management::error::ManagementError::new(status, detail).into_response()
}

fn api_key_ok(admin: &IdentityAdmin, headers: &HeaderMap) -> bool {
    crate::management::auth::api_key_matches(headers, &admin.api_key)
}

impl ConnectorIdentity {
    fn view(&self, now: DateTime<Utc>) -> Value {
        let keys = self.keys.read().expect("keys lock");
        let credentials: Vec<Value> = self
            .credentials()
            .iter()
            .filter_map(|jwt| tsunagu_trust::jws::decode_unverified(jwt).ok())
            .map(|(_, payload)| {
                json!({
                    "id": payload["id"],
                    "type": payload["type"],
                    "issuer": payload["issuer"],
                    "validUntil": payload["validUntil"],
                })
            })
            .collect();
        json!({
            "did": self.did,
            "activeKey": {"kid": keys.active().kid(), "since": keys.active_since()},
            "retiringKeys": keys.retiring().iter().filter(|k| k.retire_after > now)
                .map(|k| json!({"kid": k.kid, "retireAfter": k.retire_after})).collect::<Vec<_>>(),
            "credentials": credentials,
        })
    }
}

async fn identity_view(State(admin): State<IdentityAdmin>, headers: HeaderMap) -> Response {
    if !api_key_ok(&admin, &headers) {
        return management_problem(
            StatusCode::UNAUTHORIZED,
            "a valid X-Api-Key header is required",
        );
    }
    Json(admin.identity.view(Utc::now())).into_response()
}

async fn rotate_key(
    State(admin): State<IdentityAdmin>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !api_key_ok(&admin, &headers) {
        return management_problem(
            StatusCode::UNAUTHORIZED,
            "a valid X-Api-Key header is required",
        );
    }
    let grace_seconds = if body.is_empty() {
        86_400
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(value) => match value.get("graceSeconds") {
                None => 86_400,
                Some(seconds) => match seconds.as_i64() {
                    Some(seconds) if (0..=90 * 86_400).contains(&seconds) => seconds,
                    _ => {
                        return management_problem(
                            StatusCode::BAD_REQUEST,
                            "graceSeconds must be a whole number of seconds from 0 to 7776000 (90 days)",
                        );
                    }
                },
            },
            Err(error) => {
                return management_problem(
                    StatusCode::BAD_REQUEST,
                    &format!("body is not JSON: {error}"),
                );
            }
        }
    };
    let now = Utc::now();
    let rotated = admin
        .identity
        .rotate_key(now, chrono::Duration::seconds(grace_seconds));
    if let Err(error) = (admin.persist)(&rotated) {
        // The new key is in use already; say so plainly, the operator must fix the file.
        tracing::error!(%error, "the rotated key ring could not be saved");
        return management_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the key was rotated but could not be saved; it will be lost on restart",
        );
    }
    tracing::info!(
        kid = rotated.active().kid(),
        grace_seconds,
        "signing key rotated"
    );
    Json(admin.identity.view(now)).into_response()
}
