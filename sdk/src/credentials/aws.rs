//! The AWS SDK's credential chain as an object_store credential provider.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;
use tokio::sync::OnceCell;

use super::refresh::RefreshCache;
use crate::error::Error;

/// A role to assume on top of the base credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleSettings {
    /// `arn:aws:iam::<account>:role/<name>`.
    pub role_arn: String,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
    /// The session name (shows in CloudTrail); default `lakeroute`.
    pub session_name: Option<String>,
}

#[derive(Debug)]
struct Resolved {
    credential: Arc<AwsCredential>,
    expires: Option<SystemTime>,
}

/// The AWS SDK default chain (optionally a named profile), plus an optional role; see the
/// module docs of [`crate::credentials`].
#[derive(Debug)]
pub struct AwsChain {
    storage_profile: String,
    aws_profile: Option<String>,
    region: Option<String>,
    role: Option<RoleSettings>,
    provider: OnceCell<Option<SharedCredentialsProvider>>,
    cache: RefreshCache<Resolved>,
}

impl AwsChain {
    /// A chain for `storage_profile` (named in errors), with an optional AWS named profile,
    /// region (for STS) and role.
    pub fn new(
        storage_profile: &str,
        aws_profile: Option<String>,
        region: Option<String>,
        role: Option<RoleSettings>,
    ) -> Self {
        Self {
            storage_profile: storage_profile.to_string(),
            aws_profile,
            region,
            role,
            provider: OnceCell::new(),
            cache: RefreshCache::default(),
        }
    }

    /// What this chain is, in words, with no secret.
    pub fn describe(&self) -> String {
        let mut s = match &self.aws_profile {
            Some(p) => format!("AWS default chain, profile {p:?}"),
            None => "AWS default chain".to_string(),
        };
        if let Some(r) = &self.role {
            s.push_str(&format!(", then assume role {}", r.role_arn));
        }
        s
    }

    async fn provider(&self) -> Option<&SharedCredentialsProvider> {
        self.provider
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(p) = &self.aws_profile {
                    loader = loader.profile_name(p);
                }
                if let Some(r) = &self.region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                let conf = loader.load().await;
                let base = conf.credentials_provider()?;
                Some(match &self.role {
                    None => base,
                    Some(role) => {
                        let mut b = aws_config::sts::AssumeRoleProvider::builder(&role.role_arn)
                            .session_name(
                                role.session_name
                                    .clone()
                                    .unwrap_or_else(|| "lakeroute".into()),
                            )
                            .configure(&conf);
                        if let Some(id) = &role.external_id {
                            b = b.external_id(id);
                        }
                        SharedCredentialsProvider::new(b.build_from_provider(base).await)
                    }
                })
            })
            .await
            .as_ref()
    }

    /// Resolves credentials now: the access key id (not secret) and when they expire.
    pub async fn check(&self) -> Result<(String, Option<SystemTime>), Error> {
        let r = self.resolve().await?;
        Ok((r.credential.key_id.clone(), r.expires))
    }

    async fn resolve(&self) -> Result<Arc<Resolved>, Error> {
        let unavailable = |why: String| Error::CredentialUnavailable {
            profile: self.storage_profile.clone(),
            tried: format!("{}: {why}", self.describe()),
            hint: hint(&why),
        };
        let Some(provider) = self.provider().await.cloned() else {
            return Err(unavailable("no credential source is configured".into()));
        };
        self.cache
            .get(|| async move {
                let c = provider
                    .provide_credentials()
                    .await
                    .map_err(|e| super::one_line(&e))?;
                let expires = c.expiry();
                let credential = Arc::new(AwsCredential {
                    key_id: c.access_key_id().to_string(),
                    secret_key: c.secret_access_key().to_string(),
                    token: c.session_token().map(str::to_string),
                });
                Ok::<_, String>((
                    Resolved {
                        credential,
                        expires,
                    },
                    expires,
                ))
            })
            .await
            .map_err(unavailable)
    }
}

fn hint(why: &str) -> String {
    if why.contains("profile") && why.contains("not") {
        "check the profile name against ~/.aws/config (or AWS_CONFIG_FILE)".into()
    } else if why.contains("expired") || why.contains("SSO") || why.contains("sso") {
        "run `aws sso login` for the profile, or refresh its token".into()
    } else if why.contains("AssumeRole") || why.contains("role") {
        "check that the base credentials may assume the role (its trust policy, external id)".into()
    } else {
        "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws sso login`, or run where an instance or pod role is attached".into()
    }
}

#[async_trait]
impl CredentialProvider for AwsChain {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let r = self.resolve().await.map_err(super::store_error)?;
        Ok(Arc::clone(&r.credential))
    }
}
