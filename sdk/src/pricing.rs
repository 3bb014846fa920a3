//! What moving a byte costs: egress prices between providers and regions.
//!
//! Defaults are public list prices for US regions (AWS S3 and Azure Blob hot tier pricing
//! pages, as published 2023-2026). Every figure can be overridden in lakeroute.yaml:
//!
//! ```yaml
//! prices:
//!   egress_internet: {aws: 0.09, azure: 0.0875}       # $/GB to another cloud or the internet
//!   egress_cross_region: {aws: 0.02, azure: 0.02}     # $/GB to another region, same cloud
//! ```

use std::collections::BTreeMap;

use crate::catalog::Provider;

/// Where the defaults come from.
pub const PRICE_SOURCE: &str =
    "public list prices, US regions (AWS S3 and Azure Blob hot tier pricing pages, 2023-2026)";

/// A place data sits or is computed: a provider and, when known, a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// The cloud (stand-ins count as the cloud they emulate).
    pub provider: Provider,
    /// The region, when known.
    pub region: Option<String>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            self.provider,
            self.region.as_deref().unwrap_or("?")
        )
    }
}

/// Egress prices in dollars per GB (2^30 bytes, as the clouds bill).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// Leaving the provider: to the internet or another cloud.
    pub egress_internet: BTreeMap<Provider, f64>,
    /// Between two regions of one provider.
    pub egress_cross_region: BTreeMap<Provider, f64>,
    /// Dollars per GET (read) request.
    pub get_request: BTreeMap<Provider, f64>,
    /// Dollars per PUT (write, list) request.
    pub put_request: BTreeMap<Provider, f64>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self {
            egress_internet: BTreeMap::from([(Provider::Aws, 0.09), (Provider::Azure, 0.0875)]),
            egress_cross_region: BTreeMap::from([(Provider::Aws, 0.02), (Provider::Azure, 0.02)]),
            get_request: BTreeMap::from([
                (Provider::Aws, 0.0004 / 1000.0),
                (Provider::Azure, 0.0004 / 1000.0),
            ]),
            put_request: BTreeMap::from([
                (Provider::Aws, 0.005 / 1000.0),
                (Provider::Azure, 0.005 / 1000.0),
            ]),
        }
    }
}

/// Bytes in a billed GB.
pub const GB: f64 = 1024.0 * 1024.0 * 1024.0;

impl PriceTable {
    /// Dollars per GB to move data from `from` to `to`. Same place: free. Same provider, other
    /// or unknown region: the cross-region price (AWS bills us-east-1 to us-east-2 at $0.01).
    /// Other provider: the source provider's internet egress.
    pub fn egress_per_gb(&self, from: &Place, to: &Place) -> f64 {
        if from.provider != to.provider {
            return self
                .egress_internet
                .get(&from.provider)
                .copied()
                .unwrap_or(0.0);
        }
        match (&from.region, &to.region) {
            (Some(a), Some(b)) if a == b => 0.0,
            (Some(a), Some(b))
                if from.provider == Provider::Aws
                    && matches!(
                        (a.as_str(), b.as_str()),
                        ("us-east-1", "us-east-2") | ("us-east-2", "us-east-1")
                    ) =>
            {
                0.01
            }
            _ => self
                .egress_cross_region
                .get(&from.provider)
                .copied()
                .unwrap_or(0.0),
        }
    }

    /// Dollars to move `bytes` from `from` to `to`.
    pub fn egress_dollars(&self, bytes: u64, from: &Place, to: &Place) -> f64 {
        bytes as f64 / GB * self.egress_per_gb(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(p: Provider, r: &str) -> Place {
        Place {
            provider: p,
            region: Some(r.into()),
        }
    }

    #[test]
    fn prices_follow_the_boundaries() {
        let t = PriceTable::default();
        assert_eq!(
            t.egress_per_gb(
                &place(Provider::Aws, "eu-west-1"),
                &place(Provider::Aws, "eu-west-1")
            ),
            0.0
        );
        assert_eq!(
            t.egress_per_gb(
                &place(Provider::Aws, "us-east-1"),
                &place(Provider::Aws, "us-east-2")
            ),
            0.01
        );
        assert_eq!(
            t.egress_per_gb(
                &place(Provider::Aws, "us-east-1"),
                &place(Provider::Aws, "eu-west-1")
            ),
            0.02
        );
        assert_eq!(
            t.egress_per_gb(
                &place(Provider::Aws, "us-east-1"),
                &place(Provider::Azure, "eastus")
            ),
            0.09
        );
        assert_eq!(
            t.egress_per_gb(
                &place(Provider::Azure, "eastus"),
                &place(Provider::Aws, "us-east-1")
            ),
            0.0875
        );
        assert!(
            (t.egress_dollars(
                10 * GB as u64,
                &place(Provider::Azure, "x"),
                &place(Provider::Aws, "y")
            ) - 0.875)
                .abs()
                < 1e-9
        );
    }
}
