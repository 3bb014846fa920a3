//! Building `object_store` instances: one per storage profile, made on first use and reused.
//!
//! Building is cheap and does no I/O (credentials are fetched on the first request), so stores
//! are made lazily: a catalog with a hundred profiles costs nothing until a URI needs one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;

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
#[derive(Debug, Default)]
pub(crate) struct StoreRegistry {
    stores: RwLock<HashMap<StoreKey, Arc<dyn ObjectStore>>>,
    chains: Arc<Chains>,
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
        Provider::Aws => {
            let bucket = p
                .bucket
                .as_deref()
                .ok_or_else(|| invalid("set \"bucket\"".into()))?;
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_virtual_hosted_style_request(!p.path_style);
            if let Some(region) = &p.region {
                b = b.with_region(region);
            }
            if let Some(endpoint) = &p.endpoint {
                b = b.with_endpoint(endpoint);
            }
            b = match &p.credentials {
                Credentials::Ambient | Credentials::AwsChain { .. } => {
                    match registry.aws_chain(p) {
                        Some(chain) => b.with_credentials(chain),
                        None => b,
                    }
                }
                Credentials::Anonymous => b.with_skip_signature(true),
                Credentials::AwsKeys {
                    access_key_id,
                    secret_access_key,
                    session_token,
                } => {
                    let b = b
                        .with_access_key_id(access_key_id)
                        .with_secret_access_key(secret_access_key.expose());
                    match session_token {
                        Some(t) => b.with_token(t.expose()),
                        None => b,
                    }
                }
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
            Ok(Arc::new(store))
        }
        Provider::Azure => {
            let (account, container) = p
                .account
                .as_deref()
                .zip(p.container.as_deref())
                .ok_or_else(|| invalid("set \"account\" and \"container\"".into()))?;
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_account(account)
                .with_container_name(container);
            if let Some(endpoint) = &p.endpoint {
                b = b.with_endpoint(endpoint.clone());
            }
            b = match &p.credentials {
                Credentials::Ambient | Credentials::AzureChain(_) => {
                    match registry.azure_chain(p) {
                        Some(chain) => b.with_credentials(chain),
                        None => b,
                    }
                }
                Credentials::Anonymous => b.with_skip_signature(true),
                Credentials::AzureAccountKey { account_key } => {
                    b.with_access_key(account_key.expose())
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
                    b.with_sas_authorization(pairs)
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
            Ok(Arc::new(store))
        }
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

/// A store for a physical URI that no profile serves, configured from the environment.
pub(crate) fn build_ambient_store(key: &StoreKey) -> Result<Arc<dyn ObjectStore>> {
    let invalid = |what: &str, e: object_store::Error| Error::InvalidProfile {
        profile: what.to_string(),
        reason: format!("{e}; declare a storage profile for it in the catalog"),
    };
    Ok(match key {
        StoreKey::S3(bucket) => Arc::new(
            AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| invalid(&format!("s3://{bucket}"), e))?,
        ),
        StoreKey::Azure(account, container) => {
            let mut b = MicrosoftAzureBuilder::from_env().with_container_name(container);
            if let Some(account) = account {
                b = b.with_account(account);
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
}
