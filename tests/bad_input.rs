//! Bad input gets an error that names it and says what to do, and nothing is written.

use std::pin::Pin;
use std::task::{Context, Poll};

use lakeroute::{Error, Lake};
use lakeroute_tests::{TempCatalog, descriptor};
use tokio::io::{AsyncRead, ReadBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A bad URI, the error variant it must get, and a hint its message must carry.
type Case = (&'static str, fn(&Error) -> bool, &'static str);

fn setup(data: &std::path::Path) -> Result<(TempCatalog, Lake), Box<dyn std::error::Error>> {
    let settings = format!(
        "storage:\n  disk:\n    provider: local\n    root: {}\n  mem:\n    provider: memory\n",
        data.display()
    );
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", settings.as_str()),
        (
            "finance/customer.yaml",
            &descriptor("customer", 1, "finance", "disk", "customer"),
        ),
        (
            "finance/invoices.yaml",
            &descriptor("invoices", 1, "finance", "mem", "invoices"),
        ),
    ])?;
    let lake = cat.lake()?;
    Ok((cat, lake))
}

fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        files_under(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn bad_uris_are_refused_before_any_write() -> TestResult {
    let data = tempfile::tempdir()?;
    let (_cat, lake) = setup(data.path())?;
    let cases: &[Case] = &[
        (
            "lake://finance/customer/v1/../../etc/passwd",
            |e| matches!(e, Error::PathEscape { .. }),
            "'..'",
        ),
        (
            "lake://finance/customer/v1/a%2F..%2Fb",
            |e| matches!(e, Error::PathEscape { .. }),
            "'/'",
        ),
        (
            "lake://finance/customer/v1/a\\b",
            |e| matches!(e, Error::PathEscape { .. }),
            "'\\'",
        ),
        (
            "lake://finance/customer/v1/a//b",
            |e| matches!(e, Error::InvalidUri { .. }),
            "doubled slash",
        ),
        (
            "lake://finance/customer/v1/a%zz",
            |e| matches!(e, Error::InvalidUri { .. }),
            "%25",
        ),
        (
            "lake://finance/customer/1/a",
            |e| matches!(e, Error::InvalidUri { .. }),
            "v<major>",
        ),
        (
            "lake://fin@nce/customer/v1/a",
            |e| matches!(e, Error::InvalidUri { .. }),
            "only letters",
        ),
        (
            "lake://finance/customer/v1/a?x=1",
            |e| matches!(e, Error::InvalidUri { .. }),
            "%3F",
        ),
        (
            "gs://bucket/a",
            |e| matches!(e, Error::InvalidUri { .. }),
            "unknown scheme",
        ),
        (
            "file://relative/a",
            |e| matches!(e, Error::InvalidUri { .. }),
            "absolute path",
        ),
        (
            "lake://finance/customers/v1/a",
            |e| matches!(e, Error::DatasetNotFound { .. }),
            "did you mean lake://finance/customer/v1",
        ),
        (
            "lake://finance/customer/v1/dir/",
            |e| matches!(e, Error::InvalidUri { .. }),
            "names a prefix",
        ),
    ];
    for (uri, kind, hint) in cases {
        let err = match lake.put(uri, "data".into()).await {
            Err(e) => e,
            Ok(w) => return Err(format!("put {uri} succeeded: {w:?}").into()),
        };
        assert!(kind(&err), "{uri}: unexpected error variant {err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(hint),
            "{uri}: message {msg:?} lacks the hint {hint:?}"
        );
        let named = msg.contains(uri) || msg.contains(&format!("{uri:?}"));
        assert!(named, "{uri}: message {msg:?} does not name the input");
    }
    assert_eq!(
        files_under(data.path()),
        0,
        "a refused write left files behind"
    );
    assert!(
        lake.list_all("lake://finance/invoices/v1/")
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test]
async fn missing_objects_are_not_found_and_name_the_uri() -> TestResult {
    let data = tempfile::tempdir()?;
    let (_cat, lake) = setup(data.path())?;
    for uri in [
        "lake://finance/customer/v1/none.csv",
        "lake://finance/invoices/v1/none.csv",
    ] {
        let err = lake
            .get(uri)
            .await
            .err()
            .ok_or("get of a missing object succeeded")?;
        assert!(err.is_not_found(), "{err:?}");
        assert!(err.to_string().contains(uri), "{err}");
        // A copy from a missing source creates nothing at the destination.
        let err = lake
            .copy(uri, "lake://finance/customer/v1/copy.csv")
            .await
            .err()
            .ok_or("copy succeeded")?;
        assert!(err.is_not_found(), "{err:?}");
    }
    assert_eq!(files_under(data.path()), 0);
    let err = lake
        .get_range(
            "lake://finance/customer/v1/x",
            std::ops::Range { start: 5, end: 2 },
        )
        .await
        .err()
        .ok_or("range accepted")?;
    assert!(matches!(err, Error::InvalidRange { .. }), "{err:?}");
    Ok(())
}

/// A reader that yields `ok_bytes` bytes, then fails.
struct FailingReader {
    left: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Err(std::io::Error::other("source disk failed")));
        }
        let n = self.left.min(buf.remaining()).min(64 * 1024);
        buf.put_slice(&vec![7u8; n]);
        self.left -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failed_upload_leaves_nothing_behind() -> TestResult {
    let data = tempfile::tempdir()?;
    let (_cat, lake) = setup(data.path())?;
    for uri in [
        "lake://finance/customer/v1/big.bin",
        "lake://finance/invoices/v1/big.bin",
    ] {
        // Fails after more than two parts have been sent.
        let mut reader = FailingReader {
            left: 2 * lakeroute::PART_SIZE + 1000,
        };
        let err = lake
            .upload(uri, &mut reader, None)
            .await
            .err()
            .ok_or("upload succeeded")?;
        assert!(err.to_string().contains("source disk failed"), "{err}");
        match lake.head(uri).await {
            Err(e) if e.is_not_found() => {}
            other => return Err(format!("{uri}: partial object visible: {other:?}").into()),
        }
    }
    assert_eq!(files_under(data.path()), 0, "staged parts left on disk");
    Ok(())
}

#[tokio::test]
async fn create_only_conflict_changes_nothing() -> TestResult {
    let data = tempfile::tempdir()?;
    let (_cat, lake) = setup(data.path())?;
    let uri = "lake://finance/customer/v1/once.txt";
    lake.put_if_absent(uri, "first".into()).await?;
    let err = lake
        .put_if_absent(uri, "second".into())
        .await
        .err()
        .ok_or("second create succeeded")?;
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert!(
        err.to_string().contains(uri) && err.to_string().contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(lake.get(uri).await?, "first");
    let err = lake
        .rename_if_absent(
            "lake://finance/customer/v1/once.txt",
            "lake://finance/customer/v1/once.txt",
        )
        .await;
    assert!(
        err.is_err(),
        "rename onto an existing object with create-only succeeded"
    );
    Ok(())
}

/// A rename onto itself leaves the object (a store that renames by copy then delete, as the
/// in-memory one and Azure do, would otherwise delete it).
#[tokio::test]
async fn a_rename_onto_itself_keeps_the_object() -> TestResult {
    let cat = TempCatalog::new(&[
        ("lakeroute.yaml", "storage:\n  mem:\n    provider: memory\n"),
        ("d/x.yaml", &descriptor("x", 1, "d", "mem", "x")),
    ])?;
    let lake = cat.lake()?;
    let uri = "lake://d/x/v1/k";
    lake.put(uri, "kept".into()).await?;
    lake.rename(uri, uri).await?;
    assert_eq!(lake.get(uri).await?, "kept");
    Ok(())
}

/// A sync matches every listed object to its key however its arguments were written: a
/// domain in capitals (as job descriptors write them), a folder with a space given as is.
#[tokio::test]
async fn a_sync_matches_keys_however_its_arguments_are_written() -> TestResult {
    let data = tempfile::tempdir()?;
    let root = data.path().join("My Lake");
    std::fs::create_dir_all(&root)?;
    let (_cat, lake) = setup(&root)?;
    lake.put("lake://finance/customer/v1/a.txt", "a".into())
        .await?;
    lake.put("lake://finance/customer/v1/b/c.txt", "c".into())
        .await?;
    let out = data.path().join("out dir");
    let dst = format!("file://{}/", out.display());
    let first = lake.sync("lake://Finance/customer/v1/", &dst).await?;
    assert_eq!((first.copied, first.skipped), (2, 0), "{first:?}");
    assert_eq!(std::fs::read_to_string(out.join("b/c.txt"))?, "c");
    let again = lake.sync("lake://Finance/customer/v1", &dst).await?;
    assert_eq!((again.copied, again.skipped), (0, 2), "{again:?}");
    Ok(())
}

#[test]
fn unknown_profile_is_refused_with_the_closest_name() -> TestResult {
    let cat = TempCatalog::new(&[
        (
            "lakeroute.yaml",
            "storage:\n  warehouse:\n    provider: memory\n",
        ),
        ("d/x.yaml", &descriptor("x", 1, "d", "wharehouse", "x")),
    ])?;
    let err = cat
        .lake()
        .err()
        .ok_or("catalog with an unknown profile loaded")?;
    let msg = err.to_string();
    assert!(msg.contains("x.yaml:7:14"), "{msg}");
    assert!(
        msg.contains("unknown storage profile \"wharehouse\"")
            && msg.contains("did you mean \"warehouse\""),
        "{msg}"
    );
    Ok(())
}
