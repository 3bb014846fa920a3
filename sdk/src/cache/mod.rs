//! The egress-aware cache: policies that decide by dollars, a disk store shared by processes,
//! and the `ObjectStore` wrapper that reads through it.
mod disk;
pub mod policy;
mod store;

pub use disk::Swept;
pub use store::{Cache, CacheStatus, CachedStore, Freshness};
