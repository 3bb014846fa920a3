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
//! Credentials are cached and refreshed ahead of expiry by [`RefreshCache`]: one refresh at a
//! time however many requests wait, back-off after a failure, and one cache per identity shared
//! by every store that uses it.

mod aws;
mod refresh;

pub use aws::{AwsChain, RoleSettings};
pub use refresh::RefreshCache;
