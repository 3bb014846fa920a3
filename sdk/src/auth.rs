//! `auth check`: which source gives a storage profile its credentials, for whom, until when.

use std::time::SystemTime;

use crate::catalog::{Credentials, Provider};
use crate::error::{Error, Result};
use crate::lake::Lake;

/// What resolving a profile's credentials found. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthReport {
    /// The storage profile.
    pub profile: String,
    /// Its provider.
    pub provider: Provider,
    /// The mechanism (chain, profile, role, static keys, ...).
    pub source: String,
    /// Who the credentials are: an access key id, an account, a role.
    pub identity: String,
    /// When they expire, for temporary credentials.
    pub expires: Option<SystemTime>,
}

impl Lake {
    /// Resolves the credentials of the storage profile serving `target`: a `lake://` or physical
    /// URI, or a profile name.
    pub async fn auth_check(&self, target: &str) -> Result<AuthReport> {
        let owned;
        let p = if target.starts_with("lake://") {
            // A dataset's requests may assume its own or its domain's role.
            let uri = crate::LakeUri::parse(target)?;
            let ds =
                self.catalog()
                    .dataset(uri.dataset())
                    .ok_or_else(|| Error::DatasetNotFound {
                        uri: target.to_string(),
                        suggestions: self.catalog().suggest(uri.dataset()),
                    })?;
            owned = self.catalog().effective_profile(ds, self.environment())?.0;
            &owned
        } else {
            let name = if target.contains("://") {
                let route = self.resolve(target)?;
                route.profile().map(str::to_string).ok_or_else(|| Error::UnknownProfile {
                    name: target.to_string(),
                    needed_by: "auth check (no storage profile serves this URI; ambient settings apply)".into(),
                })?
            } else {
                target.to_string()
            };
            self.catalog()
                .profile(&name)
                .ok_or_else(|| Error::UnknownProfile {
                    name: name.clone(),
                    needed_by: "auth check".into(),
                })?
        };
        let mut report = AuthReport {
            profile: p.name.clone(),
            provider: p.provider,
            source: p.credentials.describe(),
            identity: String::new(),
            expires: None,
        };
        match (&p.provider, &p.credentials) {
            (Provider::Aws, Credentials::Ambient | Credentials::AwsChain { .. }) => {
                let chain =
                    self.router()
                        .stores()
                        .aws_chain(p)
                        .ok_or_else(|| Error::InvalidProfile {
                            profile: p.name.clone(),
                            reason: "no AWS chain for these credentials".into(),
                        })?;
                let (key_id, expires) = chain.check().await?;
                report.source = chain.describe();
                report.identity = match &p.credentials {
                    Credentials::AwsChain { role: Some(r), .. } => {
                        format!("{} (access key {key_id})", r.role_arn)
                    }
                    _ => format!("access key {key_id}"),
                };
                report.expires = expires;
            }
            (Provider::Aws, Credentials::AwsKeys { access_key_id, .. }) => {
                report.identity = format!("access key {access_key_id}");
            }
            (Provider::Azure, creds) => {
                let account = p.account.as_deref().unwrap_or_default();
                report.identity = format!("storage account {account}");
                // The chain, unless the profile names its keys or the environment supplies them.
                match self.router().stores().azure_chain(p) {
                    Some(chain) => {
                        let (source, identity, expires) = chain.check().await?;
                        report.source = format!("{} via {source}", chain.describe());
                        report.identity = format!("{identity} ({})", report.identity);
                        report.expires = Some(expires);
                    }
                    None if matches!(creds, Credentials::Ambient) => {
                        report.source = "account key or SAS token from the environment".into();
                    }
                    None => {}
                }
            }
            (_, Credentials::Anonymous) => report.identity = "anonymous".into(),
            _ => report.identity = "none needed".into(),
        }
        Ok(report)
    }
}
