//! Credentials resolved the way the clouds' own SDKs resolve them.
//!
//! For AWS, [`AwsChain`] runs the AWS SDK's default chain (`aws-config`): environment
//! variables, the shared config and credentials files with named profiles (static keys,
//! `credential_process`, IAM Identity Center / SSO, `source_profile` + `role_arn` chains), web
//! identity token files (EKS IRSA), ECS/EKS container credentials and EC2 instance metadata
//! (IMDSv2); a storage profile may then assume a role on top, as platform teams give each domain
//! team one role per environment. object_store's own chain has neither profiles nor
//! `credential_process`; this is what `credentials: ambient` means for AWS here.
//!
//! For Azure, [`AzureChain`] runs the chain the Azure SDKs run (`azure_identity`) for storage
//! tokens: a client secret from `AZURE_TENANT_ID`/`AZURE_CLIENT_ID`/`AZURE_CLIENT_SECRET`,
//! workload identity (`AZURE_FEDERATED_TOKEN_FILE`), managed identity (a user-assigned one by
//! client id, per profile or per domain), then the Azure CLI, which `developer_tools: false` or
//! `AZURE_TOKEN_CREDENTIALS=prod` switches off for production. Account keys and SAS tokens stay
//! available for local servers and legacy accounts.
//!
//! Credentials are cached and refreshed ahead of expiry by [`RefreshCache`]: one refresh at a
//! time however many requests wait, back-off after a failure, and one cache per identity shared
//! by every store that uses it.

mod aws;
mod azure;
mod refresh;

pub use aws::{AwsChain, RoleSettings};
pub use azure::{AzureChain, AzureIdentity, STORAGE_SCOPE};
pub use refresh::RefreshCache;

/// An error and its causes on one line: the SDKs' messages name sources, never secrets, but
/// spread them over lines of their own and repeat a cause inside its parent's text; the Azure
/// SDK adds a troubleshooting link to each.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("To troubleshoot"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A credential failure as object_store reports it to its caller; lakeroute's error inside
/// names the profile and every source tried.
fn store_error(e: crate::error::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "lakeroute",
        source: Box::new(e),
    }
}
