//! # lakeroute: one lake over AWS S3 and Azure Data Lake
//!
//! Data platforms grow onto two clouds, and then every job hard-codes `s3://` and `abfss://`
//! paths, two credential systems and the bill for every byte that crosses a boundary. lakeroute
//! puts a thin layer between jobs and storage:
//!
//! - datasets are declared in YAML files in git (a [`Catalog`]), by domain, name and version,
//!   with a storage location on `aws` or `azure`;
//! - code addresses data by a logical URI, `lake://<domain>/<dataset>/v<N>/<key>` ([`LakeUri`]),
//!   never by bucket or account, so moving a dataset to the other cloud is a one-line change in
//!   its descriptor;
//! - physical URIs (`s3://`, `abfss://`, `az://`, `file://`, `memory://`) work everywhere a
//!   logical one does, so code can migrate one path at a time.
//!
//! All I/O goes through [`object_store`]: one store per storage profile, built once. The
//! [`Lake`] offers the operations on URIs; [`LakeStore`] is the same lake as an
//! `object_store::ObjectStore` over logical paths, for parquet, DataFusion and delta-rs.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> lakeroute::Result<()> {
//! use lakeroute::{Catalog, Lake};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("lakeroute.yaml"), "storage:\n  scratch:\n    provider: memory\n").unwrap();
//! std::fs::create_dir(dir.path().join("finance")).unwrap();
//! std::fs::write(dir.path().join("finance/customer.yaml"), "\
//! entityName: customer
//! entityVersion: v1
//! coldStorage:
//!   format: parquet
//!   location: {storage: scratch, prefix: finance/customer}
//! ").unwrap();
//!
//! let lake = Lake::from_catalog(dir.path())?;
//! lake.put("lake://finance/customer/v1/part-0.csv", "id,name\n1,Ada\n".into()).await?;
//! let route = lake.resolve("lake://finance/customer/v1/part-0.csv")?;
//! assert_eq!(route.physical().to_string(), "memory://scratch/finance/customer/part-0.csv");
//! assert_eq!(lake.list_all("lake://finance/customer/v1/").await?.len(), 1);
//! # Ok(()) }
//! ```
#![warn(missing_docs, unreachable_pub)]

mod auth;
pub mod cache;
pub mod catalog;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod credentials;
mod error;
mod lake;
pub mod logging;
pub mod meter;
mod mirror;
mod overlay;
pub mod partition;
pub mod plan;
pub mod pricing;
mod route;
mod secret;
mod store;
mod stores;
pub mod sync;
mod transfer;
mod uri;

pub use auth::AuthReport;
pub use catalog::{
    Catalog, Cluster, Dataset, Environment, Job, Mirror, Problem, Provider, StorageProfile,
};
pub use error::{Error, Result};
pub use lake::{CATALOG_ENV, ENV_VAR, Lake, Listing, ObjectInfo, WriteInfo};
pub use mirror::{MirrorWrites, MirroredStore, ServedBy};
pub use overlay::OverlayStore;
pub use route::Route;
pub use secret::Secret;
pub use store::LakeStore;
pub use sync::{SYNC_MANIFEST, SyncReport};
pub use transfer::{MAX_CONCURRENCY, PART_SIZE, Progress};
pub use uri::{DatasetId, LakeUri, PhysicalScheme, PhysicalUri, StorageUri};

/// Re-exported so callers name the same `object_store` version lakeroute uses.
pub use object_store;
