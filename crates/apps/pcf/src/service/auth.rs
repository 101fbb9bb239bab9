//! Who may use the company's Ouranos API: application keys, operator accounts with
//! passwords, and the access and refresh tokens a login hands out.
//!
//! As in Ouranos, every call carries an API key (which application) and, except the login
//! itself, an access token (which account). Secrets are never stored: API keys and passwords
//! as SHA-256 over a random per-secret salt, tokens (32 random bytes, unguessable) as their
//! SHA-256. Repeated failed logins lock an account for a while, as Ouranos does.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::records::Collection;
use super::{PcfService, Result, ServiceError};

const ACCOUNTS: Collection = Collection("pcf.accounts");
const API_KEYS: Collection = Collection("pcf.api_keys");
const TOKENS: Collection = Collection("pcf.tokens");

/// Why a caller is not let in. The HTTP edge turns these into the Ouranos 401 and 403
/// answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no API key")]
    MissingApiKey,
    #[error("unknown API key")]
    InvalidApiKey,
    #[error("no access token")]
    MissingToken,
    #[error("unknown or expired token")]
    InvalidToken,
    /// Wrong account or password, or an account locked after failed attempts; the caller
    /// is not told which.
    #[error("invalid credentials")]
    InvalidCredentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Failed logins in a row that lock an account.
    pub max_failed_logins: u32,
    pub lockout: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            access_token_lifetime: Duration::hours(1),
            refresh_token_lifetime: Duration::days(30),
            max_failed_logins: 5,
            lockout: Duration::minutes(15),
        }
    }
}

/// A caller whose access token was verified; only `PcfService::verify_access_token` makes
/// one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    account_id: String,
    operator_id: Uuid,
    token_sha256: String,
}

impl Session {
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The operator the account acts for: this company.
    pub fn operator_id(&self) -> Uuid {
        self.operator_id
    }
}

/// What a login returns. The tokens are shown once and kept only as digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginTokens {
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Account {
    account_id: String,
    /// The password as an Argon2id PHC string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password_phc: Option<String>,
    /// Accounts made before Argon2id: salt and salted SHA-256 of the password, replaced by
    /// `password_phc` at the next successful login.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    salt: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    password_sha256: String,
    failed_logins: u32,
    locked_until: Option<DateTime<Utc>>,
}

/// Hashes a person's password with Argon2id (the crate's default, OWASP-recommended cost), off
/// the async runtime: it takes tens of milliseconds on purpose.
async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ServiceError::Internal(format!("password hashing failed: {error}")))
    })
    .await
    .map_err(|error| ServiceError::Internal(format!("password hashing stopped: {error}")))?
}

/// Whether `password` is the account's, checked off the async runtime.
async fn password_matches(account: &Account, password: &str) -> bool {
    match &account.password_phc {
        Some(phc) => {
            let (phc, password) = (phc.clone(), password.to_owned());
            tokio::task::spawn_blocking(move || {
                use argon2::password_hash::{PasswordHash, PasswordVerifier};
                PasswordHash::new(&phc).is_ok_and(|hash| {
                    argon2::Argon2::default()
                        .verify_password(password.as_bytes(), &hash)
                        .is_ok()
                })
            })
            .await
            .unwrap_or(false)
        }
        None => {
            !account.password_sha256.is_empty()
                && same(&salted(&account.salt, password), &account.password_sha256)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApiKey {
    application_name: String,
    salt: String,
    key_sha256: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Token {
    kind: TokenKind,
    account_id: String,
    expires_at: DateTime<Utc>,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

pub(super) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    hex(&buffer)
}

pub(super) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// SHA-256 over the salt, a separator and the secret.
pub(super) fn salted(salt: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

/// Compares digests in time independent of where they differ.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn account_key(account_id: &str) -> String {
    account_id.trim().to_lowercase()
}

impl PcfService {
    /// Creates or resets an operator account (the company's administrator hands these out,
    /// as the Ouranos operator does).
    pub async fn create_account(&self, account_id: &str, password: &str) -> Result<()> {
        let key = account_key(account_id);
        if key.is_empty() {
            return Err(ServiceError::Invalid("an account needs an id".into()));
        }
        if password.chars().count() < 8 {
            return Err(ServiceError::Invalid(
                "a password has at least 8 characters".into(),
            ));
        }
        let account = Account {
            account_id: key.clone(),
            password_phc: Some(hash_password(password).await?),
            salt: String::new(),
            password_sha256: String::new(),
            failed_logins: 0,
            locked_until: None,
        };
        ACCOUNTS
            .upsert(self.store(), &key, None, &account, self.now())
            .await?;
        Ok(())
    }

    /// Issues a new API key for an application and returns it; it is not shown again.
    pub async fn issue_api_key(&self, application_name: &str) -> Result<String> {
        let key = format!("tsk_{}", random_hex(24));
        self.register_api_key(application_name, &key).await?;
        Ok(key)
    }

    /// Accepts an existing key (an application configured for Ouranos keeps its key).
    pub async fn register_api_key(&self, application_name: &str, key: &str) -> Result<()> {
        if key.len() < 8 {
            return Err(ServiceError::Invalid(
                "an API key has at least 8 characters".into(),
            ));
        }
        let salt = random_hex(16);
        let record = ApiKey {
            application_name: application_name.to_owned(),
            key_sha256: salted(&salt, key),
            salt,
            created_at: self.now(),
        };
        API_KEYS
            .insert(
                self.store(),
                &Uuid::new_v4().to_string(),
                None,
                &record,
                self.now(),
            )
            .await?;
        Ok(())
    }

    /// Checks an API key against every registered key (a company has a handful).
    pub async fn verify_api_key(&self, key: Option<&str>) -> Result<()> {
        let key = key
            .filter(|k| !k.is_empty())
            .ok_or(AuthError::MissingApiKey)?;
        let mut found = false;
        for stored in API_KEYS.all::<ApiKey>(self.store()).await? {
            // Every key is checked, so that the time taken does not tell which matched.
            found |= same(&salted(&stored.value.salt, key), &stored.value.key_sha256);
        }
        if found {
            Ok(())
        } else {
            Err(AuthError::InvalidApiKey.into())
        }
    }

    async fn issue_token(
        &self,
        kind: TokenKind,
        account_id: &str,
        lifetime: Duration,
    ) -> Result<String> {
        let token = random_hex(32);
        let record = Token {
            kind,
            account_id: account_id.to_owned(),
            expires_at: self.now() + lifetime,
        };
        TOKENS
            .insert(
                self.store(),
                &sha256_hex(&token),
                Some(account_id),
                &record,
                self.now(),
            )
            .await?;
        Ok(token)
    }

    /// `POST /auth/login`: an account and its password give an access and a refresh token.
    pub async fn login(&self, account_id: &str, password: &str) -> Result<LoginTokens> {
        let key = account_key(account_id);
        let now = self.now();
        let Some(stored) = ACCOUNTS.get::<Account>(self.store(), &key).await? else {
            return Err(AuthError::InvalidCredentials.into());
        };
        let mut account = stored.value.clone();
        if account.locked_until.is_some_and(|until| until > now) {
            tracing::warn!(account = %key, "login refused: account locked after failed attempts");
            return Err(AuthError::InvalidCredentials.into());
        }
        if !password_matches(&account, password).await {
            account.failed_logins = account.failed_logins.saturating_add(1);
            if account.failed_logins >= self.inner.auth.max_failed_logins {
                account.locked_until = Some(now + self.inner.auth.lockout);
                account.failed_logins = 0;
            }
            ACCOUNTS
                .replace(self.store(), &stored, None, &account, now)
                .await?;
            return Err(AuthError::InvalidCredentials.into());
        }
        let legacy = account.password_phc.is_none();
        if legacy {
            // A password stored before Argon2id: rehash it now that it is known.
            account.password_phc = Some(hash_password(password).await?);
            account.salt.clear();
            account.password_sha256.clear();
        }
        if legacy || account.failed_logins > 0 || account.locked_until.is_some() {
            account.failed_logins = 0;
            account.locked_until = None;
            ACCOUNTS
                .replace(self.store(), &stored, None, &account, now)
                .await?;
        }
        let settings = self.inner.auth;
        Ok(LoginTokens {
            access_token: self
                .issue_token(TokenKind::Access, &key, settings.access_token_lifetime)
                .await?,
            refresh_token: self
                .issue_token(TokenKind::Refresh, &key, settings.refresh_token_lifetime)
                .await?,
        })
    }

    async fn token(&self, token: &str, kind: TokenKind) -> Result<(String, Token)> {
        let digest = sha256_hex(token);
        let Some(stored) = TOKENS.get::<Token>(self.store(), &digest).await? else {
            return Err(AuthError::InvalidToken.into());
        };
        if stored.value.expires_at <= self.now() {
            self.store().delete_document(TOKENS.0, &digest).await?;
            return Err(AuthError::InvalidToken.into());
        }
        if stored.value.kind != kind {
            return Err(AuthError::InvalidToken.into());
        }
        Ok((digest, stored.value))
    }

    /// `POST /auth/refresh`: a refresh token gives a new access token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<String> {
        let (_, token) = self.token(refresh_token, TokenKind::Refresh).await?;
        if ACCOUNTS
            .get::<Account>(self.store(), &token.account_id)
            .await?
            .is_none()
        {
            return Err(AuthError::InvalidToken.into());
        }
        self.issue_token(
            TokenKind::Access,
            &token.account_id,
            self.inner.auth.access_token_lifetime,
        )
        .await
    }

    /// Checks the bearer token of a call.
    pub async fn verify_access_token(&self, token: Option<&str>) -> Result<Session> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::MissingToken)?;
        let (digest, record) = self.token(token, TokenKind::Access).await?;
        Ok(Session {
            account_id: record.account_id,
            operator_id: self.operator_id().await?,
            token_sha256: digest,
        })
    }

    /// `POST /auth/change`: sets a new password and ends every other session of the account;
    /// the token of this call stays valid until it expires.
    pub async fn change_password(&self, session: &Session, new_password: &str) -> Result<()> {
        let account = Account {
            account_id: session.account_id.clone(),
            password_phc: Some(hash_password(new_password).await?),
            salt: String::new(),
            password_sha256: String::new(),
            failed_logins: 0,
            locked_until: None,
        };
        ACCOUNTS
            .upsert(
                self.store(),
                &session.account_id,
                None,
                &account,
                self.now(),
            )
            .await?;
        for stored in TOKENS
            .by_lookup::<Token>(self.store(), &session.account_id)
            .await?
        {
            if stored.id != session.token_sha256 {
                self.store().delete_document(TOKENS.0, &stored.id).await?;
            }
        }
        Ok(())
    }
}
