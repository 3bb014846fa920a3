//! The Azure identity chain (`azure_identity`) as an object_store credential provider.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use azure_core::credentials::{Secret, TokenCredential};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientSecretCredential,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use object_store::CredentialProvider;
use object_store::azure::AzureCredential;

use super::refresh::RefreshCache;
use crate::error::Error;

/// The scope of Azure Storage tokens.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// How long the chain's first managed-identity request may take: off Azure the instance
/// metadata address never answers, and the chain must move on instead of waiting out the HTTP
/// client's retries. Once a managed identity has answered, its requests have no such limit.
const MANAGED_IDENTITY_PROBE: Duration = Duration::from_secs(3);

/// What a storage profile (or a domain) says about its Azure identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AzureIdentity {
    /// The client id of a user-assigned managed identity, or of the app a workload identity
    /// federates with (default: `AZURE_CLIENT_ID`, else the system-assigned identity).
    pub client_id: Option<String>,
    /// The tenant for workload identity and the Azure CLI (default: `AZURE_TENANT_ID`).
    pub tenant_id: Option<String>,
    /// Whether developer tools (the Azure CLI) may supply a token; switch it off in production.
    pub developer_tools: bool,
}

impl Default for AzureIdentity {
    fn default() -> Self {
        Self {
            client_id: None,
            tenant_id: None,
            developer_tools: true,
        }
    }
}

/// One source of the chain, in the order the chain tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Environment,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

impl Source {
    const ALL: [Source; 4] = [
        Source::Environment,
        Source::WorkloadIdentity,
        Source::ManagedIdentity,
        Source::AzureCli,
    ];

    /// The names the Azure SDKs use (and `AZURE_TOKEN_CREDENTIALS` accepts).
    fn name(self) -> &'static str {
        match self {
            Source::Environment => "EnvironmentCredential",
            Source::WorkloadIdentity => "WorkloadIdentityCredential",
            Source::ManagedIdentity => "ManagedIdentityCredential",
            Source::AzureCli => "AzureCliCredential",
        }
    }

    fn developer(self) -> bool {
        self == Source::AzureCli
    }
}

/// The sources to try: all of them, without developer tools when `developer_tools` is off,
/// narrowed by `AZURE_TOKEN_CREDENTIALS` (`prod`, `dev` or one credential's name) as the Azure
/// SDKs narrow their default chain.
fn sources(identity: &AzureIdentity, selector: Option<&str>) -> Result<Vec<Source>, String> {
    let allowed = |s: &Source| identity.developer_tools || !s.developer();
    let picked: Vec<Source> = match selector.map(str::trim).filter(|s| !s.is_empty()) {
        None => Source::ALL.into_iter().filter(allowed).collect(),
        Some(sel) if sel.eq_ignore_ascii_case("prod") => {
            Source::ALL.into_iter().filter(|s| !s.developer()).collect()
        }
        Some(sel) if sel.eq_ignore_ascii_case("dev") => Source::ALL
            .into_iter()
            .filter(|s| s.developer())
            .filter(allowed)
            .collect(),
        Some(sel) => match Source::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(sel))
        {
            Some(s) => [s].into_iter().filter(allowed).collect(),
            None => {
                return Err(format!(
                    "AZURE_TOKEN_CREDENTIALS={sel:?} names no credential; use prod, dev or one of {}",
                    Source::ALL.map(Source::name).join(", ")
                ));
            }
        },
    };
    if picked.is_empty() {
        return Err(
            "every source is switched off (developer_tools: false leaves nothing for AZURE_TOKEN_CREDENTIALS=dev)"
                .into(),
        );
    }
    Ok(picked)
}

/// A token and what is known about it, never shown.
struct Token {
    bearer: Arc<AzureCredential>,
    source: Source,
    identity: String,
    expires: SystemTime,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("source", &self.source)
            .field("identity", &self.identity)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// The Azure credential chain for storage tokens: client secret from the environment
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`), workload identity
/// (`AZURE_FEDERATED_TOKEN_FILE`), managed identity (App Service / Functions endpoint or the
/// instance metadata service, optionally a user-assigned identity's client id), then the Azure
/// CLI unless developer tools are off. The first source that gives a token is kept, as the
/// Azure SDKs' default chain does; see the module docs of [`crate::credentials`].
pub struct AzureChain {
    storage_profile: String,
    identity: AzureIdentity,
    /// The source that gave the first token; the chain is not searched again.
    chosen: OnceLock<(Source, Arc<dyn TokenCredential>)>,
    cache: RefreshCache<Token>,
}

impl std::fmt::Debug for AzureChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureChain")
            .field("storage_profile", &self.storage_profile)
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl AzureChain {
    /// A chain for `storage_profile` (named in errors) with these identity settings.
    pub fn new(storage_profile: &str, identity: AzureIdentity) -> Self {
        Self {
            storage_profile: storage_profile.to_string(),
            identity,
            chosen: OnceLock::new(),
            cache: RefreshCache::default(),
        }
    }

    /// What this chain is, in words, with no secret.
    pub fn describe(&self) -> String {
        let names = match sources(&self.identity, env("AZURE_TOKEN_CREDENTIALS").as_deref()) {
            Ok(s) => s
                .into_iter()
                .map(Source::name)
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => e,
        };
        let mut s = format!("Azure chain ({names})");
        if let Some(id) = &self.identity.client_id {
            s.push_str(&format!(", client id {id}"));
        }
        s
    }

    /// Resolves a token now: the source that gave it, who it is for (tenant, client or object
    /// id, read from the token's claims when it is a JWT) and when it expires.
    pub async fn check(&self) -> Result<(String, String, SystemTime), Error> {
        let t = self.resolve().await?;
        Ok((t.source.name().to_string(), t.identity.clone(), t.expires))
    }

    async fn resolve(&self) -> Result<Arc<Token>, Error> {
        self.cache
            .get(|| async {
                let t = self.fetch().await?;
                let expires = t.expires;
                Ok::<_, String>((t, Some(expires)))
            })
            .await
            .map_err(|tried| Error::CredentialUnavailable {
                profile: self.storage_profile.clone(),
                hint: hint(&tried),
                tried,
            })
    }

    /// Asks the source that worked before, or tries the chain in order.
    async fn fetch(&self) -> Result<Token, String> {
        // The refresh cache runs one fetch at a time, so the chain is searched at most once.
        if let Some((source, cred)) = self.chosen.get() {
            return token(*source, cred.as_ref(), None)
                .await
                .map_err(|e| format!("{}: {e}", source.name()));
        }
        let mut tried = Vec::new();
        for source in sources(&self.identity, env("AZURE_TOKEN_CREDENTIALS").as_deref())? {
            let cred = match self.credential(source) {
                Ok(c) => c,
                Err(why) => {
                    tried.push(format!("{}: {why}", source.name()));
                    continue;
                }
            };
            // The first managed-identity request is a probe with a deadline, as in the Azure
            // SDKs' default chain: off Azure nothing answers, and the chain must move on.
            let probe = (source == Source::ManagedIdentity).then_some(MANAGED_IDENTITY_PROBE);
            match token(source, cred.as_ref(), probe).await {
                Ok(t) => {
                    tracing::debug!(source = source.name(), "Azure token resolved");
                    let _ = self.chosen.set((source, cred));
                    return Ok(t);
                }
                Err(why) => tried.push(format!("{}: {why}", source.name())),
            }
        }
        Err(tried.join("; "))
    }

    /// Builds one source, or says why it does not apply here.
    fn credential(&self, source: Source) -> Result<Arc<dyn TokenCredential>, String> {
        let id = &self.identity;
        let tenant = id.tenant_id.clone().or_else(|| env("AZURE_TENANT_ID"));
        match source {
            Source::Environment => {
                let (Some(tenant), Some(client), Some(secret)) = (
                    env("AZURE_TENANT_ID"),
                    env("AZURE_CLIENT_ID"),
                    env("AZURE_CLIENT_SECRET"),
                ) else {
                    return Err(
                        "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set"
                            .into(),
                    );
                };
                built(ClientSecretCredential::new(
                    &tenant,
                    client,
                    Secret::new(secret),
                    None,
                ))
            }
            Source::WorkloadIdentity => {
                let Some(file) = env("AZURE_FEDERATED_TOKEN_FILE") else {
                    return Err("AZURE_FEDERATED_TOKEN_FILE is not set".into());
                };
                let options = WorkloadIdentityCredentialOptions {
                    client_id: id.client_id.clone(),
                    tenant_id: tenant,
                    token_file_path: Some(file.into()),
                    ..Default::default()
                };
                built(WorkloadIdentityCredential::new(Some(options)))
            }
            Source::ManagedIdentity => {
                let options = ManagedIdentityCredentialOptions {
                    user_assigned_id: id.client_id.clone().map(UserAssignedId::ClientId),
                    ..Default::default()
                };
                built(ManagedIdentityCredential::new(Some(options)))
            }
            Source::AzureCli => {
                let options = AzureCliCredentialOptions {
                    tenant_id: id.tenant_id.clone(),
                    ..Default::default()
                };
                built(AzureCliCredential::new(Some(options)))
            }
        }
    }
}

/// A credential as the chain holds it, or why it could not be built.
fn built<T: TokenCredential + 'static>(
    made: azure_core::Result<Arc<T>>,
) -> Result<Arc<dyn TokenCredential>, String> {
    made.map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| super::one_line(&e))
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn token(
    source: Source,
    cred: &dyn TokenCredential,
    limit: Option<Duration>,
) -> Result<Token, String> {
    let ask = cred.get_token(&[STORAGE_SCOPE], None);
    let t = match limit {
        Some(limit) => match tokio::time::timeout(limit, ask).await {
            Ok(r) => r,
            Err(_) => {
                let endpoint = env("IDENTITY_ENDPOINT").map_or_else(
                    || "the instance metadata service (IDENTITY_ENDPOINT is not set)".to_string(),
                    |e| format!("IDENTITY_ENDPOINT {e}"),
                );
                return Err(format!(
                    "{endpoint} gave no token within {} s",
                    limit.as_secs()
                ));
            }
        },
        None => ask.await,
    }
    .map_err(|e| super::one_line(&e))?;
    let secs = u64::try_from(t.expires_on.unix_timestamp()).unwrap_or_default();
    let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let identity = claims_identity(t.token.secret()).unwrap_or_else(|| "an opaque token".into());
    Ok(Token {
        bearer: Arc::new(AzureCredential::BearerToken(t.token.secret().to_string())),
        source,
        identity,
        expires,
    })
}

/// "tenant T, client C" from a JWT's claims (which are not secret: the signature is what
/// grants access, and it is never read here).
fn claims_identity(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let get = |k: &str| claims.get(k).and_then(|v| v.as_str());
    let mut parts = Vec::new();
    if let Some(t) = get("tid") {
        parts.push(format!("tenant {t}"));
    }
    if let Some(c) = get("appid").or_else(|| get("azp")) {
        parts.push(format!("client {c}"));
    }
    if let Some(o) = get("oid") {
        parts.push(format!("object {o}"));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn hint(tried: &str) -> String {
    if tried.contains("AZURE_TOKEN_CREDENTIALS") {
        "unset AZURE_TOKEN_CREDENTIALS or set it to prod, dev or a credential's name".into()
    } else if tried.contains("AzureCliCredential") && !tried.contains("not found") {
        "run `az login` (or set AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET, or run where a managed or workload identity is assigned)".into()
    } else {
        "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, run where a managed or workload identity is assigned, run `az login`, or give the profile an account_key or sas_token".into()
    }
}

#[async_trait]
impl CredentialProvider for AzureChain {
    type Credential = AzureCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AzureCredential>> {
        let t = self.resolve().await.map_err(super::store_error)?;
        Ok(Arc::clone(&t.bearer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_follow_the_settings_and_the_selector() {
        let all = AzureIdentity::default();
        let names = |v: Result<Vec<Source>, String>| {
            v.map(|s| s.into_iter().map(Source::name).collect::<Vec<_>>())
        };
        assert_eq!(
            names(sources(&all, None)).map(|v| v.len()),
            Ok(4),
            "the whole chain"
        );
        assert_eq!(
            names(sources(&all, Some("prod"))).map(|v| v.contains(&"AzureCliCredential")),
            Ok(false)
        );
        assert_eq!(
            names(sources(&all, Some("dev"))),
            Ok(vec!["AzureCliCredential"])
        );
        assert_eq!(
            names(sources(&all, Some("managedidentitycredential"))),
            Ok(vec!["ManagedIdentityCredential"])
        );
        let prod = AzureIdentity {
            developer_tools: false,
            ..AzureIdentity::default()
        };
        assert_eq!(
            names(sources(&prod, None)).map(|v| v.contains(&"AzureCliCredential")),
            Ok(false),
            "developer tools off"
        );
        assert!(sources(&prod, Some("dev")).is_err());
        let bad = sources(&all, Some("Nope")).err().unwrap_or_default();
        assert!(bad.contains("AZURE_TOKEN_CREDENTIALS=\"Nope\""), "{bad}");
    }

    #[test]
    fn identity_comes_from_the_claims() {
        use base64::Engine as _;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"tid":"t-1","appid":"c-2","oid":"o-3"}"#);
        assert_eq!(
            claims_identity(&format!("h.{claims}.sig")).as_deref(),
            Some("tenant t-1, client c-2, object o-3")
        );
        assert_eq!(claims_identity("opaque"), None);
    }
}
