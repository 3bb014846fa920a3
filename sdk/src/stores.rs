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
    let invalid = |reason: String| Error::InvalidProfile {
        profile: p.name.clone(),
        reason,
    };
    let bucket = p
        .bucket
        .as_deref()
        .ok_or_else(|| invalid("set \"bucket\"".into()))?;
    let mut b = base
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(!p.path_style);
    if let Some(region) = &p.region {
        b = b.with_region(region);
    }
    // The profile's endpoint wins over the environment's (`AWS_ENDPOINT_URL_S3`, then
    // `AWS_ENDPOINT_URL`), as in the AWS SDKs. object_store takes a virtual-hosted endpoint to
    // name the bucket already (it would send requests to the bare endpoint), so the bucket is
    // put in its host here.
    let endpoint = p
        .endpoint
        .clone()
        .or_else(|| b.get_config_value(&AmazonS3ConfigKey::S3Endpoint))
        .or_else(|| b.get_config_value(&AmazonS3ConfigKey::Endpoint));
    if let Some(endpoint) = endpoint {
        let (endpoint, virtual_hosted) = if p.path_style {
            (endpoint, false)
        } else {
            bucket_endpoint(&endpoint, bucket).map_err(invalid)?
        };
        b = b
            .with_endpoint(&endpoint)
            .with_config(AmazonS3ConfigKey::S3Endpoint, &endpoint)
            .with_virtual_hosted_style_request(virtual_hosted);
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
        other => {
            return Err(invalid(format!(
                "credentials {} do not apply to aws",
                other.describe()
            )));
        }
    };
    let (retry, client) = http_settings(p);
    let store = b
        .with_retry(retry)
        .with_client_options(client)
        .build()
        .map_err(|e| invalid(redacted_reason(&e, &p.credentials)))?;
    Ok(store)
}

/// The endpoint to send a bucket's requests to, given a custom S3 `endpoint` and virtual-hosted
/// addressing: the bucket as the first label of its host, and true. As the AWS SDKs do, a
/// bucket that cannot be a host label (it has a dot) and an endpoint whose host is an IP
/// address or `localhost` keep path-style addressing: the endpoint as given, and false.
fn bucket_endpoint(endpoint: &str, bucket: &str) -> std::result::Result<(String, bool), String> {
    let mut url = url::Url::parse(endpoint).map_err(|e| {
        format!("endpoint {endpoint:?} is not a URL ({e}); give one like https://s3.example.com")
    })?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) if d != "localhost" && !bucket.contains('.') => d.to_string(),
        _ => return Ok((endpoint.to_string(), false)),
    };
    // An endpoint that already names the bucket (as object_store's own docs ask) stays.
    if !host.starts_with(&format!("{bucket}.")) {
        url.set_host(Some(&format!("{bucket}.{host}")))
            .map_err(|e| format!("endpoint {endpoint:?} with bucket {bucket:?}: {e}"))?;
    }
    Ok((url.as_str().trim_end_matches('/').to_string(), true))
}

/// The Azure store of an `azure` profile, on `base` (the builder the environment configured).
fn azure_store(
    p: &StorageProfile,
    registry: &StoreRegistry,
    base: MicrosoftAzureBuilder,
) -> Result<MicrosoftAzure> {
    let invalid = |reason: String| Error::InvalidProfile {
        profile: p.name.clone(),
        reason,
    };
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
                .map_err(|e| invalid(redacted_reason(&e.into(), &p.credentials)))?;
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
        other => {
            return Err(invalid(format!(
                "credentials {} do not apply to azure",
                other.describe()
            )));
        }
    };
    let (retry, client) = http_settings(p);
    let store = b
        .with_retry(retry)
        .with_client_options(client)
        .build()
        .map_err(|e| invalid(redacted_reason(&e, &p.credentials)))?;
    Ok(store)
}

/// Builds the store a profile describes.
pub(crate) fn build_profile_store(
    p: &StorageProfile,
    registry: &StoreRegistry,
) -> Result<Arc<dyn ObjectStore>> {
    let invalid = |reason: String| Error::InvalidProfile {
        profile: p.name.clone(),
        reason,
    };
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

/// Whether the environment gives Azure storage an account key or SAS token, or asks for the
/// emulator: object_store's builder reads those itself (`MicrosoftAzureBuilder::from_env`).
fn azure_keys_in_environment() -> bool {
    [
        "AZURE_STORAGE_ACCOUNT_KEY",
        "AZURE_STORAGE_ACCESS_KEY",
        "AZURE_STORAGE_MASTER_KEY",
        "AZURE_STORAGE_SAS_KEY",
        "AZURE_STORAGE_SAS_TOKEN",
        "AZURE_STORAGE_USE_EMULATOR",
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
             \x20 env: {{provider: aws, bucket: b, region: auto, {keys}}}\n"
        ))?;
        let plain = AmazonS3Builder::new;
        for (name, want) in [
            ("hosted", "https://b.acct.r2.example.com/k"),
            ("named", "https://b.acct.r2.example.com/k"),
            ("path", "https://acct.r2.example.com/b/k"),
            ("ip", "http://127.0.0.1:9000/b/k"),
            ("dotted", "https://acct.r2.example.com/b.c/k"),
        ] {
            assert_eq!(url_of(&catalog, name, plain()).await?, want, "{name}");
        }
        // An endpoint from the environment (`AWS_ENDPOINT_URL_S3` beating `AWS_ENDPOINT_URL`)
        // is addressed alike, and the profile's own endpoint beats both.
        let from_env = || {
            AmazonS3Builder::new()
                .with_endpoint("https://generic.example.com")
                .with_config(AmazonS3ConfigKey::S3Endpoint, "https://s3only.example.com")
        };
        assert_eq!(
            url_of(&catalog, "env", from_env()).await?,
            "https://b.s3only.example.com/k"
        );
        assert_eq!(
            url_of(&catalog, "hosted", from_env()).await?,
            "https://b.acct.r2.example.com/k"
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
