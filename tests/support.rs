//! Shared helpers for the hermetic tests: throw-away catalogs in temporary folders.

use std::path::{Path, PathBuf};

use lakeroute::Lake;

/// A catalog folder written from `(relative path, contents)` pairs, deleted on drop.
pub struct TempCatalog {
    dir: tempfile::TempDir,
}

impl TempCatalog {
    /// Writes the files into a fresh temporary folder.
    pub fn new(files: &[(&str, &str)]) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        for (rel, text) in files {
            let path = dir.path().join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)?;
        }
        Ok(Self { dir })
    }

    /// The catalog folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file inside the catalog folder.
    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A lake over this catalog.
    pub fn lake(&self) -> lakeroute::Result<Lake> {
        Lake::from_catalog(self.dir.path())
    }
}

/// A dataset descriptor on storage profile `profile` at `prefix`.
pub fn descriptor(name: &str, version: u32, domain: &str, profile: &str, prefix: &str) -> String {
    format!(
        "entityName: {name}\nentityVersion: v{version}\ndomain: {domain}\ncoldStorage:\n  format: parquet\n  location:\n    storage: {profile}\n    prefix: {prefix}\n"
    )
}

/// The example catalog shipped in the repository.
pub fn example_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/examples/catalog")
}
