//! `sync`: make a destination prefix hold what a source prefix holds, transferring only what
//! differs, across any two stores.
//!
//! Whether an object is already identical is decided without reading it: same size, and either
//! the same MD5-based ETag (S3 to S3) or a record, left by an earlier sync in a manifest at the
//! destination, that the destination object was copied from the source object's current ETag and
//! has not changed since. The manifest is `_lakeroute_sync.json` at the destination prefix; names
//! starting with `_` are ignored by Spark, Hive, pyarrow and polars, so it does not disturb
//! readers of the data. Each copied object is verified (its size read back) before it is
//! recorded. A sync that fails part-way records what it finished, leaves no partial object (the
//! copy's multipart upload is aborted), and a re-run picks up where it stopped.

use std::collections::BTreeMap;

use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::lake::{Lake, ObjectInfo};
use crate::uri::PhysicalScheme;

const SEGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'#').add(b'?');

/// The manifest a sync leaves at its destination prefix.
pub const SYNC_MANIFEST: &str = "_lakeroute_sync.json";

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncReport {
    /// Objects copied.
    pub copied: u64,
    /// Objects already identical, not transferred.
    pub skipped: u64,
    /// Bytes transferred.
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    size: u64,
    source_etag: Option<String>,
    etag: Option<String>,
}

fn as_prefix(uri: &str) -> String {
    if uri.ends_with('/') {
        uri.to_string()
    } else {
        format!("{uri}/")
    }
}

/// ETags compare without their quotes: Azure's listings leave them out, its HEAD keeps them.
fn same_etag(a: &Option<String>, b: &Option<String>) -> bool {
    let norm = |e: &str| e.trim_start_matches("W/").trim_matches('"').to_string();
    match (a, b) {
        (Some(a), Some(b)) => norm(a) == norm(b),
        _ => false,
    }
}

fn is_manifest(key: &str) -> bool {
    key == SYNC_MANIFEST || key.ends_with(&format!("/{SYNC_MANIFEST}"))
}

impl Lake {
    /// Copies every object below `src` that is missing or different below `dst`; see the
    /// [module docs](crate::sync) for how "identical" is decided.
    pub async fn sync(&self, src: &str, dst: &str) -> Result<SyncReport> {
        // As listings name objects (`lake://Finance/...` lists as `lake://finance/...`, a
        // space in a folder as `%20`), so that every listed object is matched to its key.
        let canonical = |uri: &str| -> Result<String> {
            let route = self.resolve(&as_prefix(uri))?;
            Ok(route.prefix_uri_for(&route.path()?))
        };
        let (src, dst) = (canonical(src)?, canonical(dst)?);
        let md5_etags = [&src, &dst].iter().all(|u| {
            self.resolve(u)
                .map(|r| r.physical().scheme() == PhysicalScheme::S3)
                .unwrap_or(false)
        });
        let manifest_uri = format!("{dst}{SYNC_MANIFEST}");
        let mut records = self.read_manifest(&manifest_uri).await?;
        let existing: BTreeMap<String, ObjectInfo> = self
            .list_all(&dst)
            .await?
            .into_iter()
            .filter_map(|o| {
                let key = o.uri.strip_prefix(&dst)?.to_string();
                (!is_manifest(&key)).then_some((key, o))
            })
            .collect();
        let sources: Vec<(String, ObjectInfo)> = self
            .list_all(&src)
            .await?
            .into_iter()
            .filter_map(|o| {
                let key = o.uri.strip_prefix(&src)?.to_string();
                (!is_manifest(&key)).then_some((key, o))
            })
            .collect();

        let mut report = SyncReport::default();
        let mut changed = false;
        for (key, source) in &sources {
            let identical = existing.get(key).is_some_and(|d| {
                d.size == source.size
                    && ((md5_etags && same_etag(&d.e_tag, &source.e_tag))
                        || records.get(key).is_some_and(|r| {
                            r.size == source.size
                                && same_etag(&r.source_etag, &source.e_tag)
                                && same_etag(&r.etag, &d.e_tag)
                        }))
            });
            if identical {
                report.skipped += 1;
                continue;
            }
            let target = format!("{dst}{key}");
            let outcome = async {
                let n = self.copy(&source.uri, &target).await?;
                let written = self.head(&target).await?;
                if written.size != source.size {
                    return Err(Error::from_store(
                        target.as_str(),
                        object_store::Error::Generic {
                            store: "lakeroute sync",
                            source: format!(
                                "verification failed: wrote {} bytes, source has {}",
                                written.size, source.size
                            )
                            .into(),
                        },
                    ));
                }
                Ok((n, written))
            }
            .await;
            match outcome {
                Ok((n, written)) => {
                    records.insert(
                        key.clone(),
                        Record {
                            size: written.size,
                            source_etag: source.e_tag.clone(),
                            etag: written.e_tag,
                        },
                    );
                    changed = true;
                    report.copied += 1;
                    report.bytes += n;
                }
                Err(e) => {
                    // Keep what finished, so the re-run the error asks for skips it.
                    if changed {
                        let _ = self.write_manifest(&manifest_uri, &src, &records).await;
                    }
                    return Err(e);
                }
            }
        }
        if changed {
            self.write_manifest(&manifest_uri, &src, &records).await?;
        }
        Ok(report)
    }

    /// Brings a mirrored dataset's mirror up to date with its primary (for datasets whose
    /// mirror takes writes from `sync` rather than from every write).
    pub async fn sync_mirror(&self, dataset: &str) -> Result<SyncReport> {
        let uri = crate::LakeUri::parse(dataset)?;
        let id = uri.dataset();
        let catalog = self.catalog();
        let ds = catalog.dataset(id).ok_or_else(|| Error::DatasetNotFound {
            uri: dataset.to_string(),
            suggestions: catalog.suggest(id),
        })?;
        let mirror = ds.mirror.as_ref().ok_or_else(|| {
            Error::invalid_uri(
                dataset,
                "this dataset has no mirror; add coldStorage.mirror to its descriptor",
            )
        })?;
        let root = |profile: &str, prefix: &[String]| -> Result<String> {
            let p = catalog
                .profile(profile)
                .ok_or_else(|| Error::UnknownProfile {
                    name: profile.to_string(),
                    needed_by: format!("dataset {id}"),
                })?;
            let mut url = p.root_url();
            for seg in prefix {
                url.push('/');
                url.push_str(&utf8_percent_encode(seg, SEGMENT).to_string());
            }
            Ok(format!("{url}/"))
        };
        let primary = root(&ds.profile, &ds.prefix)?;
        let copy = root(&mirror.profile, &mirror.prefix)?;
        self.sync(&primary, &copy).await
    }

    async fn read_manifest(&self, uri: &str) -> Result<BTreeMap<String, Record>> {
        let bytes = match self.get(uri).await {
            Ok(b) => b,
            Err(e) if e.is_not_found() => return Ok(BTreeMap::new()),
            Err(e) => return Err(e),
        };
        // A damaged manifest only costs re-transfers; it is rebuilt by this sync.
        let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut records = BTreeMap::new();
        if let Some(objects) = parsed.get("objects").and_then(Value::as_object) {
            for (key, v) in objects {
                let text = |f: &str| v.get(f).and_then(Value::as_str).map(str::to_string);
                if let Some(size) = v.get("size").and_then(Value::as_u64) {
                    records.insert(
                        key.clone(),
                        Record {
                            size,
                            source_etag: text("source_etag"),
                            etag: text("etag"),
                        },
                    );
                }
            }
        }
        Ok(records)
    }

    async fn write_manifest(
        &self,
        uri: &str,
        src: &str,
        records: &BTreeMap<String, Record>,
    ) -> Result<()> {
        let objects: serde_json::Map<String, Value> = records
            .iter()
            .map(|(k, r)| {
                (
                    k.clone(),
                    json!({"size": r.size, "source_etag": r.source_etag, "etag": r.etag}),
                )
            })
            .collect();
        let doc = json!({"version": 1, "source": src, "objects": objects});
        let body = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        self.put(uri, Bytes::from(body).into()).await.map(|_| ())
    }
}
