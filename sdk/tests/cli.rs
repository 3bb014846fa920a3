//! The `lakeroute` command line, run as a process: output, files written, exit codes.

use std::path::Path;
use std::process::{Command, Output};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn lakeroute(catalog: Option<&Path>, args: &[&str]) -> std::io::Result<Output> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lakeroute"));
    cmd.env_remove("LAKEROUTE_CATALOG");
    if let Some(c) = catalog {
        cmd.arg("--catalog").arg(c);
    }
    cmd.args(args).output()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A catalog with one dataset on an "aws" folder and one on an "azure" folder.
fn catalog(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("finance"))?;
    std::fs::write(
        dir.join("lakeroute.yaml"),
        "storage:\n  aws-lake:\n    provider: local\n    emulates: aws\n    region: us-east-1\n    root: data/aws\n  azure-lake:\n    provider: local\n    emulates: azure\n    region: westeurope\n    root: data/azure\n",
    )?;
    for (name, profile) in [("customer", "aws-lake"), ("snapshot", "azure-lake")] {
        std::fs::write(
            dir.join(format!("finance/{name}.yaml")),
            format!(
                "entityName: {name}\nentityVersion: v1\ncoldStorage:\n  format: parquet\n  location: {{storage: {profile}, prefix: {name}}}\n"
            ),
        )?;
    }
    Ok(())
}

#[test]
fn object_commands_round_trip() -> TestResult {
    let dir = tempfile::tempdir()?;
    catalog(dir.path())?;
    let c = Some(dir.path());
    let local = dir.path().join("in put.txt");
    std::fs::write(&local, "hello lake\n")?;

    let out = lakeroute(
        c,
        &[
            "put",
            local.to_str().ok_or("path")?,
            "lake://finance/customer/v1/a b/hello.txt",
        ],
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("data/aws/customer/a b/hello.txt").is_file());

    let out = lakeroute(
        c,
        &["resolve", "lake://Finance/customer/v1/a%20b/hello.txt"],
    )?;
    let expect = format!(
        "file://{}/data/aws/customer/a%20b/hello.txt\n",
        dir.path().display()
    );
    assert_eq!(text(&out.stdout), expect);

    let out = lakeroute(c, &["ls", "lake://finance/customer/v1/"])?;
    assert!(
        text(&out.stdout).contains("PRE")
            && text(&out.stdout).contains("lake://finance/customer/v1/a%20b/")
    );
    let out = lakeroute(
        c,
        &[
            "--output",
            "json",
            "ls",
            "--recursive",
            "lake://finance/customer/v1",
        ],
    )?;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        listed[0]["uri"],
        "lake://finance/customer/v1/a%20b/hello.txt"
    );
    assert_eq!(listed[0]["size"], 11);

    let out = lakeroute(
        c,
        &[
            "--output",
            "json",
            "stat",
            "lake://finance/customer/v1/a%20b/hello.txt",
        ],
    )?;
    let stat: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(stat["size"], 11);

    let out = lakeroute(c, &["cat", "lake://finance/customer/v1/a%20b/hello.txt"])?;
    assert_eq!(text(&out.stdout), "hello lake\n");

    // Across providers, keeping the name when the destination ends in '/'.
    let out = lakeroute(
        c,
        &[
            "cp",
            "lake://finance/customer/v1/a%20b/hello.txt",
            "lake://finance/snapshot/v1/",
        ],
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("data/azure/snapshot/hello.txt").is_file());

    // get into a folder keeps the name; the file is complete.
    let dest = tempfile::tempdir()?;
    let out = lakeroute(
        c,
        &[
            "get",
            "lake://finance/snapshot/v1/hello.txt",
            dest.path().to_str().ok_or("path")?,
        ],
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dest.path().join("hello.txt"))?,
        "hello lake\n"
    );

    let out = lakeroute(c, &["rm", "lake://finance/snapshot/v1/hello.txt"])?;
    assert!(out.status.success());
    let out = lakeroute(c, &["rm", "--recursive", "lake://finance/customer/v1/"])?;
    assert!(
        text(&out.stdout).contains("deleted 1 object"),
        "{}",
        text(&out.stdout)
    );
    let out = lakeroute(c, &["--output", "json", "ls", "-r", "lake://finance/"])?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "lake://finance/ is not a dataset URI"
    );
    Ok(())
}

#[test]
fn errors_exit_1_with_one_line_and_usage_exits_2() -> TestResult {
    let dir = tempfile::tempdir()?;
    catalog(dir.path())?;
    let c = Some(dir.path());
    let out = lakeroute(c, &["cat", "lake://finance/custmer/v1/x"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("did you mean lake://finance/customer/v1"),
        "{err}"
    );

    let out = lakeroute(c, &["cat", "lake://finance/customer/v1/missing"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("object not found: lake://finance/customer/v1/missing"));

    let out = lakeroute(
        c,
        &[
            "put",
            "/definitely/not/here",
            "lake://finance/customer/v1/x",
        ],
    )?;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/definitely/not/here"));

    // Without a catalog, a lake:// URI names nothing: the error says what is missing.
    let out = lakeroute(None, &["ls", "lake://finance/customer/v1/"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no catalog was given: pass --catalog DIR"),
        "{}",
        text(&out.stderr)
    );
    // A command without its cache says so, not that a job could not be planned.
    let out = lakeroute(c, &["cache", "stats"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("the catalog enables no cache") && !err.contains("job"),
        "{err}"
    );
    let out = lakeroute(None, &["validate"])?;
    assert_eq!(out.status.code(), Some(2), "validate without a folder");
    assert!(text(&out.stderr).contains("validate needs a catalog folder"));
    for args in [
        &["sync", "lake://finance/customer/v1/"][..],
        &["auth", "check"][..],
        &["frobnicate"][..],
        &["ls"][..],
        &["--output", "yaml", "ls", "x"][..],
    ] {
        let out = lakeroute(c, args)?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    Ok(())
}

#[test]
fn validate_gates_a_catalog() -> TestResult {
    let dir = tempfile::tempdir()?;
    catalog(dir.path())?;
    let out = lakeroute(None, &["validate", dir.path().to_str().ok_or("path")?])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("2 dataset(s)"));

    std::fs::write(
        dir.path().join("finance/bad.yaml"),
        "entityName: bad\nentityVersion: 1\nformat: x\n",
    )?;
    let out = lakeroute(None, &["validate", dir.path().to_str().ok_or("path")?])?;
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("bad.yaml:2:16: entityVersion"), "{report}");
    assert!(
        report.contains("bad.yaml:3:1: dataset descriptor: unknown field \"format\""),
        "{report}"
    );
    assert!(
        report.contains("missing required field \"coldStorage\""),
        "{report}"
    );

    let out = lakeroute(
        None,
        &[
            "--output",
            "json",
            "validate",
            dir.path().to_str().ok_or("path")?,
        ],
    )?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["problems"][0]["line"], 1);
    Ok(())
}

#[test]
fn catalog_list_counts_per_provider() -> TestResult {
    let dir = tempfile::tempdir()?;
    catalog(dir.path())?;
    let out = lakeroute(Some(dir.path()), &["catalog", "list"])?;
    let listing = text(&out.stdout);
    assert!(
        listing.contains("2 dataset(s): aws 1, azure 1"),
        "{listing}"
    );
    let out = lakeroute(Some(dir.path()), &["--output", "json", "catalog", "list"])?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["per_provider"]["aws"], 1);
    assert_eq!(v["per_provider_region"]["azure/westeurope"], 1);
    Ok(())
}

#[test]
fn physical_and_local_paths_mix() -> TestResult {
    let dir = tempfile::tempdir()?;
    catalog(dir.path())?;
    let src = dir.path().join("local.bin");
    std::fs::write(&src, vec![1u8; 1000])?;
    let out = lakeroute(
        None,
        &["cp", src.to_str().ok_or("path")?, "memory://scratch/x.bin"],
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let target = dir.path().join("copy.bin");
    let out = lakeroute(
        Some(dir.path()),
        &[
            "cp",
            src.to_str().ok_or("path")?,
            "lake://finance/customer/v1/y.bin",
        ],
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = lakeroute(
        Some(dir.path()),
        &[
            "cp",
            "lake://finance/customer/v1/y.bin",
            target.to_str().ok_or("path")?,
        ],
    )?;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&target)?.len(), 1000);
    Ok(())
}

/// [`catalog`] computing on Azure with a cache in `cache/`, and a local file of 300,000
/// bytes to put into it: its path.
fn cached_catalog(dir: &Path) -> std::io::Result<std::path::PathBuf> {
    catalog(dir)?;
    let settings = dir.join("lakeroute.yaml");
    let text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        format!(
            "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: cache, max_bytes: 64MiB}}\n{text}"
        ),
    )?;
    let local = dir.join("f.bin");
    std::fs::write(&local, vec![5u8; 300_000])?;
    Ok(local)
}

#[test]
fn stats_add_up_what_every_process_read_through_the_cache() -> TestResult {
    let dir = tempfile::tempdir()?;
    let local = cached_catalog(dir.path())?;
    let c = Some(dir.path());
    lakeroute(
        c,
        &[
            "put",
            local.to_str().ok_or("path")?,
            "lake://finance/customer/v1/f.bin",
        ],
    )?;
    for _ in 0..3 {
        let out = lakeroute(c, &["cat", "lake://finance/customer/v1/f.bin"])?;
        assert_eq!(out.stdout.len(), 300_000);
    }
    let out = lakeroute(c, &["--output", "json", "stats"])?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let fin = &v["by_dataset"]["finance/customer/v1"];
    assert_eq!(fin["cache_misses"], 1, "{v}");
    assert_eq!(fin["cache_hits"], 2, "{v}");
    assert_eq!(fin["bytes_cached"], 600_000);
    assert!(fin["dollars_avoided"].as_f64().unwrap_or(0.0) > 0.0);
    // Per storage profile too, in JSON and in the text table.
    let aws = &v["by_profile"]["aws-lake"];
    assert_eq!(aws["cache_hits"], 2, "{v}");
    assert_eq!(aws["bytes_cached"], 600_000, "{v}");
    let out = lakeroute(c, &["stats"])?;
    let table = text_of(&out.stdout);
    assert!(
        table.contains("STORAGE PROFILE") && table.lines().any(|l| l.starts_with("aws-lake ")),
        "{table}"
    );
    let out = lakeroute(c, &["cache", "stats"])?;
    assert!(
        text_of(&out.stdout).contains("1 object(s)"),
        "{}",
        text_of(&out.stdout)
    );
    // Data on the same side as the compute (azure) is not cached.
    let out = lakeroute(
        c,
        &[
            "cp",
            local.to_str().ok_or("path")?,
            "lake://finance/snapshot/v1/g.bin",
        ],
    )?;
    assert!(out.status.success());
    lakeroute(c, &["cat", "lake://finance/snapshot/v1/g.bin"])?;
    let out = lakeroute(c, &["--output", "json", "stats"])?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["by_dataset"]["finance/snapshot/v1"]["cache_hits"], 0);
    Ok(())
}

#[test]
fn cache_prune_deletes_what_outlived_its_worth_and_clear_everything() -> TestResult {
    // Three objects from AWS cached on Azure. One's saved reads (and the folder's origin) are
    // aged 60 days: `cache prune` deletes it itself (the folder was swept minutes ago) and
    // keeps the others. Then a second one is aged, and the folder's last sweep put an hour
    // back: the pruning process's own opening sweeps it, and the prune reports that. `cache
    // clear` deletes the rest. Both keep the read counts, and a read after them fetches again.
    let dir = tempfile::tempdir()?;
    let local = cached_catalog(dir.path())?;
    let c = Some(dir.path());
    for name in ["old", "older", "new"] {
        let uri = format!("lake://finance/customer/v1/{name}.bin");
        let out = lakeroute(c, &["put", local.to_str().ok_or("path")?, &uri])?;
        assert!(out.status.success(), "{}", text_of(&out.stderr));
        assert_eq!(lakeroute(c, &["cat", &uri])?.stdout.len(), 300_000);
    }
    let cache = dir.path().join("cache");
    let days_60 = 60.0 * 86_400.0;
    let age = |name: &str| -> Result<(), Box<dyn std::error::Error>> {
        for entry in std::fs::read_dir(cache.join("v1"))? {
            let meta = entry?.path().join("meta.json");
            let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta)?)?;
            if m["key"]
                .as_str()
                .is_some_and(|k| k.ends_with(&format!("/{name}.bin")))
            {
                for field in ["first", "last"] {
                    let t = m["history"][field].as_f64().ok_or("no saved reads")?;
                    m["history"][field] = (t - days_60).into();
                }
                std::fs::write(&meta, m.to_string())?;
            }
        }
        Ok(())
    };
    age("old")?;
    let origin: f64 = std::fs::read_to_string(cache.join("origin"))?
        .trim()
        .parse()?;
    std::fs::write(cache.join("origin"), (origin - days_60).to_string())?;

    let json = |args: &[&str]| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let out = lakeroute(c, &[&["--output", "json", "cache"], args].concat())?;
        assert!(out.status.success(), "{}", text_of(&out.stderr));
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let pruned = |v: &serde_json::Value, entries: u64, left: u64| {
        assert_eq!(
            v["pruned"],
            serde_json::json!({"entries": entries, "bytes": entries * 300_000}),
            "{v}"
        );
        assert_eq!(
            (&v["entries"], &v["bytes"]),
            (&left.into(), &(left * 300_000).into()),
            "{v}"
        );
    };
    pruned(&json(&["prune"])?, 1, 2);
    age("older")?;
    std::fs::File::options()
        .write(true)
        .open(cache.join("swept"))?
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3601))?;
    pruned(&json(&["prune"])?, 1, 1);
    pruned(&json(&["prune"])?, 0, 1);
    let out = lakeroute(c, &["cache", "clear"])?;
    let said = text_of(&out.stdout);
    assert!(
        said.starts_with("cleared 1 entry (300000 bytes)\n") && said.contains("0 object(s), 0 of"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_dir(cache.join("seen"))?.count(),
        3,
        "read counts kept"
    );
    let out = lakeroute(c, &["cat", "lake://finance/customer/v1/new.bin"])?;
    assert_eq!(out.stdout.len(), 300_000);
    Ok(())
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn processes_share_one_cache_and_survive_kill_9() -> TestResult {
    let dir = tempfile::tempdir()?;
    catalog(dir.path())?;
    let settings = dir.path().join("lakeroute.yaml");
    let existing = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        format!(
            "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: cache, max_bytes: 1GiB, block_size: 256KiB}}\n{existing}"
        ),
    )?;
    let big = dir.path().join("big.bin");
    let body: Vec<u8> = (0..48 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, &body)?;
    let c = Some(dir.path());
    let out = lakeroute(
        c,
        &[
            "put",
            big.to_str().ok_or("path")?,
            "lake://finance/customer/v1/big.bin",
        ],
    )?;
    assert!(out.status.success(), "put: {}", text(&out.stderr));

    // A reader killed with SIGKILL in the middle of filling the cache.
    let mut victim = Command::new(env!("CARGO_BIN_EXE_lakeroute"))
        .args([
            "--catalog",
            dir.path().to_str().ok_or("path")?,
            "cat",
            "lake://finance/customer/v1/big.bin",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()?;
    // Killed as soon as its first block is on disk, while the rest are still being written.
    let blocks = dir.path().join("cache").join("v1");
    let started = std::time::Instant::now();
    let block_written = || {
        std::fs::read_dir(&blocks)
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
            .any(|f| {
                let name = f.file_name().to_string_lossy().into_owned();
                name != "meta.json" && !name.contains(".tmp.")
            })
    };
    while !block_written() && victim.try_wait()?.is_none() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no cache block written in 60 s"
        );
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    victim.kill()?;
    let status = victim.wait()?;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "the reader finished before it could be killed mid-fill"
        );
    }

    // Four processes at once on the same folder (all started before any is waited for): every
    // one reads the right bytes.
    let mut readers = Vec::new();
    for _ in 0..4 {
        readers.push(
            Command::new(env!("CARGO_BIN_EXE_lakeroute"))
                .args([
                    "--catalog",
                    dir.path().to_str().ok_or("path")?,
                    "cat",
                    "lake://finance/customer/v1/big.bin",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()?,
        );
    }
    for r in readers {
        let r = r.wait_with_output()?;
        assert!(r.status.success(), "{}", text(&r.stderr));
        assert!(r.stdout == body, "a reader got different bytes");
    }
    let out = lakeroute(c, &["--output", "json", "cache", "stats"])?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["entries"], 1);
    assert!(v["bytes"].as_u64().unwrap_or(0) >= body.len() as u64, "{v}");
    // And once more, from the cache alone.
    let out = lakeroute(c, &["cat", "lake://finance/customer/v1/big.bin"])?;
    assert!(out.stdout == body);
    Ok(())
}
