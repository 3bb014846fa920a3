//! Building `object_store` instances: one per storage profile, made on first use and reused.
//!
//! Building is cheap and does no I/O (credentials are fetched on the first request), so stores
//! are made lazily: a catalog with a hundred profiles costs nothing until a URI needs one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::azure::{AzureAccessKey, AzureCredential, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::{ObjectStore, StaticCredentialProvider};

use crate::catalog::{Credentials, Provider, StorageProfile};
use crate::credentials::{AwsChain, AzureChain, AzureIdentity, RoleSettings};
use crate::error::{Error, Result};

/// Which store a request goes to. Profiles get their own; physical URIs that match no profile
/// share one per bucket, container, memory name, or the whole local file system.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum StoreKey {
    Profile(String),
    S3(String),
    Azure(Option<String>, String),
    Memory(String),
    FileSystem,
}

/// An AWS identity: the named profile, the role on top, and the region STS is asked in.
type AwsIdentity = (Option<String>, Option<RoleSettings>, Option<String>);

/// Credential chains by identity: stores with the same identity share one chain, so one refresh
/// serves them all, whichever environment's stores they are.
#[derive(Debug, Default)]
struct Chains {
    aws: std::sync::Mutex<HashMap<AwsIdentity, Arc<AwsChain>>>,
    azure: std::sync::Mutex<HashMap<AzureIdentity, Arc<AzureChain>>>,
}

/// The cache of built stores, and the credential chains they use.
#[derive(Default)]
pub(crate) struct StoreRegistry {
    stores: RwLock<HashMap<StoreKey, Arc<dyn ObjectStore>>>,
    chains: Arc<Chains>,
}

impl std::fmt::Debug for StoreRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stores = self
            .stores
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.debug_struct("StoreRegistry")
            .field(
                "stores",
                &stores
                    .values()
                    .map(|s| crate::secret::StoreName(&**s))
                    .collect::<Vec<_>>(),
            )
            .field("chains", &self.chains)
            .finish()
    }
}

/// The entry for `key`, made with `make` the first time.
fn shared<K: std::hash::Hash + Eq, V>(
    map: &std::sync::Mutex<HashMap<K, Arc<V>>>,
    key: K,
    make: impl FnOnce() -> V,
) -> Arc<V> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(map.entry(key).or_insert_with(|| Arc::new(make())))
}

impl StoreRegistry {
    /// An empty registry (stores are per environment: a profile may differ between
    /// environments) that shares this one's credential chains.
    pub(crate) fn sharing_credentials(&self) -> Self {
        Self {
            stores: RwLock::default(),
            chains: Arc::clone(&self.chains),
        }
    }

    /// The AWS chain for a profile whose credentials come from the SDK chain.
    pub(crate) fn aws_chain(&self, p: &StorageProfile) -> Option<Arc<AwsChain>> {
        let (profile, role) = match &p.credentials {
            Credentials::Ambient => (None, None),
            Credentials::AwsChain { profile, role } => (profile.clone(), role.clone()),
            _ => return None,
        };
        let identity = (profile.clone(), role.clone(), p.region.clone());
        Some(shared(&self.chains.aws, identity, || {
            AwsChain::new(&p.name, profile, p.region.clone(), role)
        }))
    }

    /// The Azure chain for a profile whose credentials come from the Azure identity chain, or
    /// `None` when the environment supplies an account key or SAS token (or asks for the
    /// emulator), which object_store then reads itself.
    pub(crate) fn azure_chain(&self, p: &StorageProfile) -> Option<Arc<AzureChain>> {
        let identity = match &p.credentials {
            Credentials::Ambient => AzureIdentity::default(),
            Credentials::AzureChain(id) => id.clone(),
            _ => return None,
        };
        if matches!(p.credentials, Credentials::Ambient) && azure_keys_in_environment() {
            return None;
        }
        Some(shared(&self.chains.azure, identity.clone(), || {
            AzureChain::new(&p.name, identity)
        }))
    }

    /// The store for `key`, building it with `build` the first time.
    pub(crate) fn get_or_build(
        &self,
        key: &StoreKey,
        build: impl FnOnce() -> Result<Arc<dyn ObjectStore>>,
    ) -> Result<Arc<dyn ObjectStore>> {
        if let Some(store) = self.stores.read().ok().and_then(|m| m.get(key).cloned()) {
            return Ok(store);
        }
        let mut map = self
            .stores
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(store) = map.get(key) {
            return Ok(Arc::clone(store));
        }
        let store = build()?;
        map.insert(key.clone(), Arc::clone(&store));
        Ok(store)
    }
}

/// The S3 store of an `aws` profile, on `base` (the builder the environment configured).
fn aws_store(
    p: &StorageProfile,
    registry: &StoreRegistry,
    base: AmazonS3Builder,
) -> Result<AmazonS3> {
    let invalid = |reason: String| invalid_profile(p, reason);
    let bucket = p
        .bucket
        .as_deref()
        .ok_or_else(|| invalid("set \"bucket\"".into()))?;
    let mut b = base
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(!p.path_style && virtual_hostable(bucket));
    if let Some(region) = &p.region {
        b = b.with_region(region);
    }
    // The profile's endpoint wins over the environment's (`AWS_ENDPOINT_URL_S3`, then
    // `AWS_ENDPOINT_URL`), as in the AWS SDKs, and is addressed path-style, as botocore does
    // (`https://host/bucket/key`, what `lakeroute plan` tells engines too), unless its host
    // already begins with the bucket (object_store's form of a virtual-hosted endpoint).
    // object_store itself would take any endpoint, in virtual-hosted style, to name the bucket,
    // and send requests to it without one.
    let endpoint = p
        .endpoint
        .clone()
        .or_else(|| b.get_config_value(&AmazonS3ConfigKey::S3Endpoint))
        .or_else(|| b.get_config_value(&AmazonS3ConfigKey::Endpoint));
    if let Some(endpoint) = endpoint {
        let names_bucket = !p.path_style && names_bucket(&endpoint, bucket);
        b = b
            .with_endpoint(&endpoint)
            .with_config(AmazonS3ConfigKey::S3Endpoint, &endpoint)
            .with_virtual_hosted_style_request(names_bucket);
    }
    b = match &p.credentials {
        Credentials::Ambient | Credentials::AwsChain { .. } => match registry.aws_chain(p) {
            Some(chain) => b.with_credentials(chain),
            None => b,
        },
        Credentials::Anonymous => b.with_skip_signature(true),
        // Given as a provider, the profile's keys are the only ones signing: a builder's
        // own keys would be completed from the environment (`AWS_SESSION_TOKEN`, say,
        // which would then be sent to this profile's server).
        Credentials::AwsKeys {
            access_key_id,
            secret_access_key,
            session_token,
        } => b.with_credentials(Arc::new(StaticCredentialProvider::new(AwsCredential {
            key_id: access_key_id.clone(),
            secret_key: secret_access_key.expose().to_string(),
            token: session_token.as_ref().map(|t| t.expose().to_string()),
        }))),
        other => return Err(not_for(p, other, "aws")),
    };
    let (retry, client) = http_settings(p);
    b.with_retry(retry)
        .with_client_options(client)
        .build()
        .map_err(|e| build_failed(p, &e))
}

/// A profile's error: `reason` says what to fix.
fn invalid_profile(p: &StorageProfile, reason: String) -> Error {
    Error::InvalidProfile {
        profile: p.name.clone(),
        reason,
    }
}

/// The error for credentials of a kind `provider`'s stores cannot use.
fn not_for(p: &StorageProfile, creds: &Credentials, provider: &str) -> Error {
    invalid_profile(
        p,
        format!(
            "credentials {} do not apply to {provider}",
            creds.describe()
        ),
    )
}

/// A store builder's error, with the profile's secrets taken out.
fn build_failed(p: &StorageProfile, e: &object_store::Error) -> Error {
    invalid_profile(p, redacted_reason(e, &p.credentials))
}

/// Whether `endpoint`'s host begins with `bucket` and a dot: object_store's form of a
/// virtual-hosted endpoint (`https://bucket.host`), which already names the bucket.
fn names_bucket(endpoint: &str, bucket: &str) -> bool {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.starts_with(&format!("{bucket}."))))
        .unwrap_or(false)
}

/// Whether `bucket` can be the first label of a host name (as the AWS SDKs decide between
/// virtual-hosted and path-style addressing): 3 to 63 lowercase letters, digits and hyphens,
/// beginning and ending with a letter or digit. A bucket with a dot cannot over HTTPS (its
/// name would not match the certificate).
fn virtual_hostable(bucket: &str) -> bool {
    let bytes = bucket.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// The Azure store of an `azure` profile, on `base` (the builder the environment configured).
fn azure_store(
    p: &StorageProfile,
    registry: &StoreRegistry,
    base: MicrosoftAzureBuilder,
) -> Result<MicrosoftAzure> {
    let invalid = |reason: String| invalid_profile(p, reason);
    let (account, container) = p
        .account
        .as_deref()
        .zip(p.container.as_deref())
        .ok_or_else(|| invalid("set \"account\" and \"container\"".into()))?;
    let mut b = base.with_account(account).with_container_name(container);
    if let Some(endpoint) = &p.endpoint {
        b = b.with_endpoint(endpoint.clone());
    }
    b = match &p.credentials {
        Credentials::Ambient | Credentials::AzureChain(_) => match registry.azure_chain(p) {
            Some(chain) => b.with_credentials(chain),
            None => b,
        },
        Credentials::Anonymous => b.with_skip_signature(true),
        // As for AWS, a provider wins over what the environment sets (a bearer token, a
        // workload identity); the builder's own fields serve the emulator mode, which
        // reads only them.
        Credentials::AzureAccountKey { account_key } => {
            let key = AzureAccessKey::try_new(account_key.expose())
                .map_err(|e| build_failed(p, &e.into()))?;
            b.with_access_key(account_key.expose())
                .with_credentials(Arc::new(StaticCredentialProvider::new(
                    AzureCredential::AccessKey(key),
                )))
        }
        Credentials::AzureSas { token } => {
            let pairs = token
                .expose()
                .trim_start_matches('?')
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| {
                    let v = percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned();
                    (k.to_string(), v)
                })
                .collect::<Vec<_>>();
            b.with_sas_authorization(pairs.clone())
                .with_credentials(Arc::new(StaticCredentialProvider::new(
                    AzureCredential::SASToken(pairs),
                )))
        }
        other => return Err(not_for(p, other, "azure")),
    };
    let (retry, client) = http_settings(p);
    b.with_retry(retry)
        .with_client_options(client)
        .build()
        .map_err(|e| build_failed(p, &e))
}

/// Builds the store a profile describes.
pub(crate) fn build_profile_store(
    p: &StorageProfile,
    registry: &StoreRegistry,
) -> Result<Arc<dyn ObjectStore>> {
    let invalid = |reason: String| invalid_profile(p, reason);
    match p.provider {
        Provider::Aws => Ok(Arc::new(aws_store(
            p,
            registry,
            AmazonS3Builder::from_env(),
        )?)),
        Provider::Azure => Ok(Arc::new(azure_store(
            p,
            registry,
            MicrosoftAzureBuilder::from_env(),
        )?)),
        Provider::Local => {
            let root = p
                .root
                .as_deref()
                .ok_or_else(|| invalid("set \"root\"".into()))?;
            std::fs::create_dir_all(root).map_err(|source| Error::Io {
                action: "creating the root folder of a local profile",
                path: root.to_path_buf(),
                source,
            })?;
            let fs = LocalFileSystem::new_with_prefix(root)
                .map_err(|e| invalid(format!("root {}: {e}", root.display())))?
                .with_automatic_cleanup(true);
            Ok(Arc::new(fs))
        }
        Provider::Memory => Ok(Arc::new(InMemory::new())),
    }
}

/// Whether the environment gives Azure storage credentials under object_store's own names (an
/// account key, a SAS token, a bearer token, a service principal's `AZURE_STORAGE_CLIENT_*`), or
/// asks for the emulator: object_store's builder reads those itself
/// (`MicrosoftAzureBuilder::from_env`), and they win over the identity chain.
fn azure_keys_in_environment() -> bool {
    [
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_MASTER_KEY",
        "AZURE_STORAGE_SAS_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_USE_EMULATOR",
        // object_store's own names for a bearer token and a service principal.
        "AZURE_STORAGE_TOKEN",
        "AZURE_STORAGE_CLIENT_ID",
        "AZURE_STORAGE_CLIENT_SECRET",
        "AZURE_STORAGE_TENANT_ID",
    ]
    .iter()
    .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty()))
}

/// object_store's retry and HTTP client settings for a profile's retry settings.
/// `allow_http` is set here too: `with_client_options` replaces the builder's client options.
fn http_settings(p: &StorageProfile) -> (object_store::RetryConfig, object_store::ClientOptions) {
    let r = &p.retry;
    let mut retry = object_store::RetryConfig::default();
    if let Some(n) = r.max_retries {
        retry.max_retries = n;
    }
    if let Some(t) = r.retry_timeout {
        retry.retry_timeout = t;
    }
    let allow_http = p
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    let mut client = object_store::ClientOptions::new().with_allow_http(allow_http);
    if let Some(t) = r.connect_timeout {
        client = client.with_connect_timeout(t);
    }
    if let Some(t) = r.request_timeout {
        client = client.with_timeout(t);
    }
    (retry, client)
}

/// A store for a physical URI that no profile serves, configured from the environment, with the
/// clouds' own credential chains (as a profile with `credentials: ambient` has): AWS profiles,
/// SSO, `credential_process`, web identity and the instance's role; Azure's identity chain
/// unless the environment gives a key or SAS token.
pub(crate) fn build_ambient_store(
    key: &StoreKey,
    registry: &StoreRegistry,
) -> Result<Arc<dyn ObjectStore>> {
    let invalid = |what: &str, e: object_store::Error| Error::InvalidProfile {
        profile: what.to_string(),
        reason: format!("{e}; declare a storage profile for it in the catalog"),
    };
    let ambient = |provider: Provider, name: &str, account: Option<&str>| {
        StorageProfile::implicit(
            provider,
            name,
            account,
            ambient_settings(key).region,
            (std::path::PathBuf::new(), 0),
        )
    };
    Ok(match key {
        StoreKey::S3(bucket) => {
            let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(chain) = registry.aws_chain(&ambient(Provider::Aws, bucket, None)) {
                b = b.with_credentials(chain);
            }
            Arc::new(
                b.build()
                    .map_err(|e| invalid(&format!("s3://{bucket}"), e))?,
            )
        }
        StoreKey::Azure(account, container) => {
            let mut b = MicrosoftAzureBuilder::from_env().with_container_name(container);
            if let Some(account) = account {
                b = b.with_account(account);
            }
            let profile = ambient(Provider::Azure, container, account.as_deref());
            if let Some(chain) = registry.azure_chain(&profile) {
                b = b.with_credentials(chain);
            }
            Arc::new(
                b.build()
                    .map_err(|e| invalid(&format!("az://{container}"), e))?,
            )
        }
        StoreKey::Memory(_) => Arc::new(InMemory::new()),
        StoreKey::FileSystem | StoreKey::Profile(_) => {
            Arc::new(LocalFileSystem::new().with_automatic_cleanup(true))
        }
    })
}

/// What the environment says about an ambient store: where it is and which server it talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AmbientSettings {
    /// The region: for S3, the one the store signs for (`AWS_REGION` or `AWS_DEFAULT_REGION`,
    /// else us-east-1), which S3 insists is the bucket's own; for Azure, unknown.
    pub(crate) region: Option<String>,
    /// The Azure storage account (`AZURE_STORAGE_ACCOUNT_NAME`), when the URI names none.
    pub(crate) account: Option<String>,
    /// The endpoint, when the environment overrides the cloud's own (`AWS_ENDPOINT`,
    /// `AZURE_STORAGE_ENDPOINT`).
    pub(crate) endpoint: Option<String>,
}

/// [`AmbientSettings`] for the ambient store of `key`.
pub(crate) fn ambient_settings(key: &StoreKey) -> AmbientSettings {
    use object_store::aws::AmazonS3ConfigKey as S3;
    use object_store::azure::AzureConfigKey as Az;
    match key {
        StoreKey::S3(_) => {
            let b = AmazonS3Builder::from_env();
            AmbientSettings {
                region: Some(
                    b.get_config_value(&S3::Region)
                        .unwrap_or_else(|| "us-east-1".to_string()),
                ),
                account: None,
                endpoint: b.get_config_value(&S3::Endpoint),
            }
        }
        StoreKey::Azure(account, _) => {
            let b = MicrosoftAzureBuilder::from_env();
            AmbientSettings {
                region: None,
                account: account
                    .clone()
                    .or_else(|| b.get_config_value(&Az::AccountName)),
                endpoint: b.get_config_value(&Az::Endpoint),
            }
        }
        _ => AmbientSettings::default(),
    }
}

/// object_store's builder errors can echo configuration values; keep them out when the profile
/// carries secrets.
fn redacted_reason(e: &object_store::Error, creds: &Credentials) -> String {
    let text = e.to_string();
    let secrets: Vec<&str> = match creds {
        Credentials::AwsKeys {
            secret_access_key,
            session_token,
            ..
        } => {
            let mut v = vec![secret_access_key.expose()];
            if let Some(t) = session_token {
                v.push(t.expose());
            }
            v
        }
        Credentials::AzureAccountKey { account_key } => vec![account_key.expose()],
        Credentials::AzureSas { token } => vec![token.expose()],
        _ => Vec::new(),
    };
    secrets
        .into_iter()
        .filter(|s| !s.is_empty())
        .fold(text, |t, s| t.replace(s, "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_shared_per_identity_across_environments()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let profile = |name: &str, bucket: &str, session: &str| {
            format!(
                "  {name}: {{provider: aws, bucket: {bucket}, region: us-east-1, credentials: {{role_arn: \"arn:aws:iam::1:role/r\", session_name: {session}}}}}\n"
            )
        };
        std::fs::write(
            dir.path().join("lakeroute.yaml"),
            format!(
                "storage:\n{}{}{}",
                profile("a", "x", "one"),
                profile("b", "y", "one"),
                profile("c", "z", "two")
            ),
        )?;
        let catalog = crate::Catalog::load(dir.path())?;
        let chain = |r: &StoreRegistry, name: &str| {
            catalog
                .profile(name)
                .and_then(|p| r.aws_chain(p))
                .ok_or(format!("no chain for {name}"))
        };
        let prod = StoreRegistry::default();
        let dev = prod.sharing_credentials();
        let a = chain(&prod, "a")?;
        assert!(
            Arc::ptr_eq(&a, &chain(&dev, "b")?),
            "same identity, other environment: one chain"
        );
        assert!(
            !Arc::ptr_eq(&a, &chain(&prod, "c")?),
            "another session name is another identity"
        );
        Ok(())
    }

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    /// The profiles of a catalog whose `storage:` is `storage`.
    fn profiles(storage: &str) -> std::result::Result<crate::Catalog, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("lakeroute.yaml"),
            format!("storage:\n{storage}"),
        )?;
        Ok(crate::Catalog::load(dir.path())?)
    }

    /// The URL a GET of `k` in profile `name`'s store goes to (signed locally: no I/O).
    async fn url_of(
        catalog: &crate::Catalog,
        name: &str,
        base: AmazonS3Builder,
    ) -> std::result::Result<String, Box<dyn std::error::Error>> {
        use object_store::signer::Signer;
        let p = catalog.profile(name).ok_or("no such profile")?;
        let store = aws_store(p, &StoreRegistry::default(), base)?;
        let url = store
            .signed_url(
                object_store::signer::Method::GET,
                &object_store::path::Path::from("k"),
                std::time::Duration::from_secs(60),
            )
            .await?;
        Ok(format!(
            "{}://{}{}",
            url.scheme(),
            url.authority(),
            url.path()
        ))
    }

    #[tokio::test]
    async fn a_custom_endpoint_keeps_the_bucket_in_every_request() -> TestResult {
        let keys = "credentials: {access_key_id: AKIA, secret_access_key: s}";
        let catalog = profiles(&format!(
            "  hosted: {{provider: aws, bucket: b, region: auto, endpoint: https://acct.r2.example.com, {keys}}}\n\
             \x20 named: {{provider: aws, bucket: b, region: auto, endpoint: https://b.acct.r2.example.com, {keys}}}\n\
             \x20 path: {{provider: aws, bucket: b, region: auto, endpoint: https://acct.r2.example.com, path_style: true, {keys}}}\n\
             \x20 ip: {{provider: aws, bucket: b, region: auto, endpoint: http://127.0.0.1:9000, allow_http: true, {keys}}}\n\
             \x20 dotted: {{provider: aws, bucket: b.c, region: auto, endpoint: https://acct.r2.example.com, {keys}}}\n\
             \x20 env: {{provider: aws, bucket: b, region: auto, {keys}}}\n\
             \x20 aws: {{provider: aws, bucket: bucket-1, region: eu-west-1, {keys}}}\n\
             \x20 aws-dotted: {{provider: aws, bucket: b.c, region: eu-west-1, {keys}}}\n"
        ))?;
        let plain = AmazonS3Builder::new;
        for (name, want) in [
            // A custom endpoint is addressed path-style, as botocore does...
            ("hosted", "https://acct.r2.example.com/b/k"),
            ("path", "https://acct.r2.example.com/b/k"),
            ("ip", "http://127.0.0.1:9000/b/k"),
            ("dotted", "https://acct.r2.example.com/b.c/k"),
            // ...unless its host already names the bucket.
            ("named", "https://b.acct.r2.example.com/k"),
            // AWS's own endpoint: virtual-hosted, but path-style for a bucket with a dot.
            ("aws", "https://bucket-1.s3.eu-west-1.amazonaws.com/k"),
            ("aws-dotted", "https://s3.eu-west-1.amazonaws.com/b.c/k"),
        ] {
            assert_eq!(url_of(&catalog, name, plain()).await?, want, "{name}");
        }
        // An endpoint from the environment (`AWS_ENDPOINT_URL_S3` beating `AWS_ENDPOINT_URL`)
        // is addressed alike, and the profile's own endpoint beats both.
        let from_env = || {
            AmazonS3Builder::new()
                .with_endpoint("https://generic.example.com")
                .with_config(AmazonS3ConfigKey::S3Endpoint, "https://s3only.example.com")
                .with_virtual_hosted_style_request(true)
        };
        assert_eq!(
            url_of(&catalog, "env", from_env()).await?,
            "https://s3only.example.com/b/k"
        );
        assert_eq!(
            url_of(&catalog, "hosted", from_env()).await?,
            "https://acct.r2.example.com/b/k"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_profiles_own_keys_are_not_completed_from_the_environment() -> TestResult {
        let catalog = profiles(
            "  s3: {provider: aws, bucket: b, region: eu-west-1, credentials: {access_key_id: AKIA, secret_access_key: s}}\n\
             \x20 key: {provider: azure, account: a, container: c, credentials: {account_key: a2V5}}\n\
             \x20 sas: {provider: azure, account: a, container: c, credentials: {sas_token: 'sv=1&sig=x'}}\n",
        )?;
        let registry = StoreRegistry::default();
        // What `from_env` would have read from AWS_SESSION_TOKEN or AZURE_STORAGE_TOKEN.
        let p = catalog.profile("s3").ok_or("no s3 profile")?;
        let s3 = aws_store(p, &registry, AmazonS3Builder::new().with_token("ENV-TOKEN"))?;
        let c = s3.credentials().get_credential().await?;
        assert_eq!((c.key_id.as_str(), c.token.as_deref()), ("AKIA", None));
        for name in ["key", "sas"] {
            let p = catalog.profile(name).ok_or("no azure profile")?;
            let base = MicrosoftAzureBuilder::new().with_bearer_token_authorization("ENV-TOKEN");
            let store = azure_store(p, &registry, base)?;
            let c = store.credentials().get_credential().await?;
            let kind = match c.as_ref() {
                AzureCredential::AccessKey(_) => "key",
                AzureCredential::SASToken(_) => "sas",
                AzureCredential::BearerToken(_) => "bearer",
            };
            assert_eq!(kind, name);
        }
        Ok(())
    }
}
