//! The egress-aware cache: policies that decide by dollars.
pub mod policy;
