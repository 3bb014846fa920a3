//! A string that never shows itself.

use std::fmt;

/// A credential value (secret key, account key, SAS token).
///
/// `Debug` and `Display` print `***`, so a secret cannot reach a log line or an error message by
/// accident; [`Secret::expose`] is the one way to read it, used only where a request is signed.
///
/// ```
/// let key = lakeroute::Secret::new("hunter2");
/// assert_eq!(format!("{key} {key:?}"), "*** Secret(***)");
/// assert_eq!(key.expose(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Never log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Shows a store as its `Display` (its kind, bucket or container): for `Debug` output of what
/// holds one. object_store's own `Debug` of a store prints its configuration, and an Azure
/// store's holds a static credential (an account key, a SAS token) in full.
pub(crate) struct StoreName<'a>(pub(crate) &'a dyn object_store::ObjectStore);

impl fmt::Debug for StoreName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}
