//! Streaming transfers with bounded memory: uploads from a reader, and copies between stores.
//!
//! Data moves in parts of [`PART_SIZE`] bytes with at most [`MAX_CONCURRENCY`] parts in flight,
//! so memory stays near `PART_SIZE x MAX_CONCURRENCY` whatever the object's size. Objects smaller
//! than one part go in a single PUT. A failure aborts the multipart upload: nothing partial is
//! left at the destination.

use std::sync::Arc;

use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, Result};

/// Bytes per multipart part (S3 needs at least 5 MiB for all but the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded at once.
pub const MAX_CONCURRENCY: usize = 4;

/// Called with the number of bytes moved so far.
pub type Progress<'a> = Option<&'a (dyn Fn(u64) + Send + Sync)>;

/// Streams `reader` into `path`; returns the number of bytes written.
pub(crate) async fn upload(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    uri: &str,
    reader: &mut (dyn AsyncRead + Unpin + Send),
    progress: Progress<'_>,
) -> Result<u64> {
    let mut writer = writer(store, path);
    let mut total = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    let result: Result<()> = async {
        loop {
            let n = reader.read(&mut buf).await.map_err(|source| Error::Io {
                action: "reading the upload source for",
                path: uri.into(),
                source,
            })?;
            if n == 0 {
                break;
            }
            writer
                .write_all(&buf[..n])
                .await
                .map_err(|e| io_to_store(uri, e))?;
            total += n as u64;
            if let Some(cb) = progress {
                cb(total);
            }
        }
        Ok(())
    }
    .await;
    complete(writer, result, uri, total).await
}

/// Streams the object at `from` into `to` in another store; returns the bytes copied.
pub(crate) async fn copy_across(
    from_store: &Arc<dyn ObjectStore>,
    from: &Path,
    from_uri: &str,
    to_store: &Arc<dyn ObjectStore>,
    to: &Path,
    to_uri: &str,
    progress: Progress<'_>,
) -> Result<u64> {
    let source = from_store
        .get(from)
        .await
        .map_err(|e| Error::from_store(from_uri, e))?;
    let expected = source.meta.size;
    let mut stream = source.into_stream();
    let mut writer = writer(to_store, to);
    let mut total = 0u64;
    let result: Result<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::from_store(from_uri, e))?;
            total += chunk.len() as u64;
            // `put` hands the buffer over without copying it.
            writer
                .put(chunk)
                .await
                .map_err(|e| Error::from_store(to_uri, e))?;
            if let Some(cb) = progress {
                cb(total);
            }
        }
        if total != expected {
            return Err(Error::from_store(
                from_uri,
                object_store::Error::Generic {
                    store: "lakeroute",
                    source: format!("source ended after {total} of {expected} bytes").into(),
                },
            ));
        }
        Ok(())
    }
    .await;
    complete(writer, result, to_uri, total).await
}

pub(crate) fn writer(store: &Arc<dyn ObjectStore>, path: &Path) -> BufWriter {
    BufWriter::with_capacity(Arc::clone(store), path.clone(), PART_SIZE)
        .with_max_concurrency(MAX_CONCURRENCY)
}

/// Publishes the object when every byte was written, else abandons the upload.
async fn complete(
    mut writer: BufWriter,
    written: Result<()>,
    uri: &str,
    total: u64,
) -> Result<u64> {
    if let Err(e) = written {
        // Best effort: the upload failed already and its error is the one to report.
        let _ = writer.abort().await;
        return Err(e);
    }
    // A failed completion leaves nothing visible; object_store cannot abort a writer it has
    // started to shut down, so an incomplete multipart upload is left to the bucket's
    // lifecycle rule (AbortIncompleteMultipartUpload).
    writer.shutdown().await.map_err(|e| io_to_store(uri, e))?;
    Ok(total)
}

fn io_to_store(uri: &str, e: std::io::Error) -> Error {
    // BufWriter wraps object_store errors in io::Error; unwrap them to keep the variant.
    match e.into_inner() {
        Some(inner) => match inner.downcast::<object_store::Error>() {
            Ok(store_err) => Error::from_store(uri, *store_err),
            Err(other) => Error::from_store(
                uri,
                object_store::Error::Generic {
                    store: "lakeroute",
                    source: other,
                },
            ),
        },
        None => Error::from_store(
            uri,
            object_store::Error::Generic {
                store: "lakeroute",
                source: "write failed".into(),
            },
        ),
    }
}
