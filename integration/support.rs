//! Finding the local servers `integration/start` runs, and catalogs that point at them.
//!
//! Server-backed tests call [`servers`]: when the servers do not answer it panics under
//! `CI=true` (a CI run must never skip them silently) and otherwise prints why and returns
//! `None`, so the test can return early.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use lakeroute::Lake;

/// The well-known key of Azurite's development account; public, documented, not a secret.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// See [`AZURITE_ACCOUNT`].
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Endpoints of the running servers.
#[derive(Debug, Clone)]
pub struct Servers {
    /// moto's S3 endpoint, `http://127.0.0.1:PORT`.
    pub s3: String,
    /// Azurite's blob endpoint, `http://127.0.0.1:PORT` (no account path).
    pub azure: String,
    /// The `moto_server` program, for tests that need a private server.
    pub moto_server: Option<PathBuf>,
    /// The `azurite-blob` program, for tests that need a private server (HTTPS, OAuth).
    pub azurite: Option<PathBuf>,
}

/// The `lakeroute` CLI built beside the running test binary (target/<profile>/lakeroute).
pub fn cli() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().and_then(Path::parent).ok_or("no target dir")?;
    let bin = dir.join("lakeroute");
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} is missing; run `cargo test --workspace` (it builds the CLI)",
            bin.display()
        ))
    }
}

/// The CLI on `catalog` with only PATH and `vars` in its environment (a later `PATH` in `vars`
/// replaces the inherited one): a developer's own `AWS_*` or `AZURE_*` settings must not take
/// part in a test. Add the arguments and run it.
pub fn isolated_cli<K, V>(
    catalog: &Path,
    vars: impl IntoIterator<Item = (K, V)>,
) -> Result<std::process::Command, String>
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut cmd = std::process::Command::new(cli()?);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars)
        .arg("--catalog")
        .arg(catalog);
    Ok(cmd)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Settings from the environment, or else from the file `integration/start` writes.
fn setting(name: &str) -> Option<String> {
    if let Ok(v) = std::env::var(name) {
        return Some(v);
    }
    let env_file = std::env::var("LAKEROUTE_IT_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target/integration"))
        .join("env");
    let text = std::fs::read_to_string(env_file).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.trim_start_matches("export ").split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// True when something accepts TCP connections at the URL's host and port.
pub fn answers(url: &str) -> bool {
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    host.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

/// The running servers; see the module docs for what happens when they are not running.
pub fn servers() -> Option<Servers> {
    let s3 = setting("LAKEROUTE_IT_S3_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:9311".into());
    let azure =
        setting("LAKEROUTE_IT_AZURE_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:10111".into());
    let up = answers(&s3) && answers(&azure);
    if !up {
        let why = format!(
            "the local S3 ({s3}) and Azure ({azure}) servers are not answering; run integration/start"
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {why}"
        );
        eprintln!("SKIPPED: {why}");
        return None;
    }
    Some(Servers {
        s3,
        azure,
        moto_server: setting("LAKEROUTE_IT_MOTO_SERVER").map(PathBuf::from),
        azurite: setting("LAKEROUTE_IT_AZURITE").map(PathBuf::from),
    })
}

/// The tools venv's Python (with pyarrow), for checks that engines read what lakeroute wrote.
/// Like [`servers`]: panics under `CI=true` when missing, else prints why and returns `None`.
pub fn python() -> Option<PathBuf> {
    let found = setting("LAKEROUTE_IT_PYTHON")
        .map(PathBuf::from)
        .filter(|p| p.exists());
    if found.is_none() {
        let why = "the integration tools' Python (with pyarrow) is missing; run integration/start";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: {why}"
        );
        eprintln!("SKIPPED: {why}");
    }
    found
}

/// The `storage:` entries for an S3 profile and an Azure profile on these servers. `s3-2` does
/// not say `path_style`: a custom endpoint is addressed path-style all the same.
pub fn profiles(s: &Servers, s3_endpoint: &str) -> String {
    format!(
        "  s3:
    provider: aws
    bucket: lakeroute-it
    region: us-east-1
    endpoint: {s3_endpoint}
    path_style: true
    credentials: {{access_key_id: testing, secret_access_key: testing}}
  s3-2:
    provider: aws
    bucket: lakeroute-it-2
    region: eu-west-1
    endpoint: {s3_endpoint}
    credentials: {{access_key_id: testing, secret_access_key: testing}}
  azure:
    provider: azure
    account: {AZURITE_ACCOUNT}
    container: lakeroute-it
    region: westeurope
    endpoint: {azure}/{AZURITE_ACCOUNT}
    credentials: {{account_key: {AZURITE_KEY}}}
  local:
    provider: local
    root: data
",
        azure = s.azure
    )
}

/// A temporary catalog: the server profiles plus the given extra settings and descriptors.
pub struct ItCatalog {
    dir: tempfile::TempDir,
}

impl ItCatalog {
    /// Writes `lakeroute.yaml` (profiles for `servers`, S3 at `s3_endpoint`, then
    /// `extra_profiles`) and descriptors given as `(relative path, yaml)`.
    pub fn new(
        s: &Servers,
        s3_endpoint: &str,
        extra_profiles: &str,
        descriptors: &[(&str, String)],
    ) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let settings = format!("storage:\n{}{extra_profiles}", profiles(s, s3_endpoint));
        std::fs::write(dir.path().join("lakeroute.yaml"), settings)?;
        for (rel, text) in descriptors {
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

    /// Puts process settings (`compute:`, `cache:`, `budget:`, ...) at the top of its
    /// `lakeroute.yaml`, before the storage profiles.
    pub fn prepend_settings(&self, settings: &str) -> std::io::Result<()> {
        let file = self.dir.path().join("lakeroute.yaml");
        let text = std::fs::read_to_string(&file)?;
        std::fs::write(&file, format!("{settings}\n{text}"))
    }

    /// A lake over it.
    pub fn lake(&self) -> lakeroute::Result<Lake> {
        Lake::from_catalog(self.dir.path())
    }
}

/// A dataset descriptor on `profile` at `prefix`; `extra` is appended under `coldStorage:`.
pub fn descriptor(domain: &str, name: &str, profile: &str, prefix: &str, extra: &str) -> String {
    format!(
        "entityName: {name}\nentityVersion: v1\ndomain: {domain}\ncoldStorage:\n  format: parquet\n  location: {{storage: {profile}, prefix: {prefix}}}\n{extra}"
    )
}

/// A prefix unique to this call, so parallel tests and repeated runs never meet.
pub fn run_id() -> String {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("run-{}-{nanos:x}-{call}", std::process::id())
}

/// A moto server of a test's own, on a free port, that the test may stop at will (the shared
/// servers must keep running for the other tests).
pub struct PrivateMoto {
    child: Option<std::process::Child>,
    program: PathBuf,
    port: u16,
}

impl PrivateMoto {
    /// Starts one and creates the bucket `lakeroute-it` in it.
    pub fn start(s: &Servers) -> std::io::Result<Self> {
        let program = s.moto_server.clone().ok_or_else(|| {
            std::io::Error::other("LAKEROUTE_IT_MOTO_SERVER is not set; run integration/start")
        })?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut moto = Self {
            child: None,
            program,
            port,
        };
        moto.restart()?;
        Ok(moto)
    }

    /// The endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, empty, with the bucket created.
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        let child = std::process::Command::new(&self.program)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !answers(&self.endpoint()) {
            if std::time::Instant::now() > deadline {
                return Err(std::io::Error::other(
                    "private moto did not start within 60 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // moto's own API: an unsigned PUT creates a bucket.
        let status = std::process::Command::new("curl")
            .args([
                "-sf",
                "-X",
                "PUT",
                &format!("{}/lakeroute-it", self.endpoint()),
            ])
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other(
                "creating the bucket in the private moto failed",
            ));
        }
        Ok(())
    }

    /// Stops the server at once, as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `storage:` entry for an S3 profile on a private moto that gives up fast.
pub fn fast_failing_s3_profile(name: &str, endpoint: &str) -> String {
    format!(
        "  {name}:
    provider: aws
    bucket: lakeroute-it
    region: us-east-1
    endpoint: {endpoint}
    path_style: true
    max_retries: 1
    retry_timeout: 2s
    connect_timeout: 1s
    credentials: {{access_key_id: testing, secret_access_key: testing}}
"
    )
}

/// Requests moto has logged for paths containing `needle` (moto logs one line per request to
/// the log integration/start points it at, some wrapped in colour codes), by method: a server-side count to check lakeroute's
/// own accounting against.
pub fn moto_requests(method: &str, needle: &str) -> usize {
    let log = std::env::var("LAKEROUTE_IT_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target/integration"))
        .join("moto.log");
    std::fs::read_to_string(log)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains(&format!("{method} /")) && l.contains(needle))
                .count()
        })
        .unwrap_or(0)
}

/// The error type of the load harness.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs `child_test` (an ignored test of the running test binary that calls [`load_in_child`])
/// in a process of its own with `vars` and the catalog, for `seconds`; returns how many
/// requests it made, none of which failed.
pub fn spawn_load(
    child_test: &str,
    catalog: &Path,
    seconds: u64,
    vars: &[(&str, String)],
) -> Result<u64, BoxError> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(["--ignored", "--exact", child_test, "--nocapture"])
        .env("LAKEROUTE_LOAD_CATALOG", catalog)
        .env("LAKEROUTE_LOAD_SECONDS", seconds.to_string())
        .stdin(std::process::Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output()?;
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the load failed: {report}").into());
    }
    let requests = report
        .lines()
        .find_map(|l| l.strip_prefix("LOAD requests="))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no load report in {report}"))?;
    Ok(requests)
}

/// The child side of [`spawn_load`]: four tasks put and get small objects under `base` (a
/// `lake://` prefix ending in `/`) until the time is up, then delete them and print the count.
/// Any failed request fails the child. Does nothing when not started by [`spawn_load`].
pub fn load_in_child(base: &str) -> Result<(), BoxError> {
    let Ok(catalog) = std::env::var("LAKEROUTE_LOAD_CATALOG") else {
        return Ok(());
    };
    let seconds: u64 = std::env::var("LAKEROUTE_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let base = format!("{base}{}/", run_id());
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let lake = Lake::from_catalog(&catalog)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for t in 0..4 {
            let (lake, base) = (lake.clone(), base.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while std::time::Instant::now() < deadline {
                    let uri = format!("{base}load-{t}-{}", n % 8);
                    lake.put(&uri, bytes::Bytes::from_static(b"x").into())
                        .await?;
                    lake.get(&uri).await?;
                    n += 2;
                }
                Ok::<u64, lakeroute::Error>(n)
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.map_err(|e| e.to_string())??;
        }
        lake.delete_prefix(&base).await?;
        println!("LOAD requests={total}");
        Ok(())
    })
}

/// Checks a refresh-under-load run: enough requests to mean something, and the credential
/// source asked at least twice (it was refreshed), at most about once per `lifetime`, and never
/// later than `lifetime` after the previous time (no request waited for an expired credential).
/// `fetches` are the times the source was asked, in seconds.
pub fn assert_refreshed_once_per_lifetime(requests: u64, fetches: &[f64], lifetime: Duration) {
    eprintln!(
        "{requests} requests with {}-second credentials: the source was asked {} times",
        lifetime.as_secs(),
        fetches.len()
    );
    assert!(
        requests >= 100,
        "too little load to mean anything: {requests}"
    );
    assert!(
        fetches.len() >= 2,
        "the credentials were never refreshed: {}",
        fetches.len()
    );
    assert!(
        fetches.len() <= 5,
        "asked {} times: more than once per lifetime",
        fetches.len()
    );
    for pair in fetches.windows(2) {
        assert!(
            pair[1] - pair[0] < lifetime.as_secs_f64(),
            "refreshed {:.1} s after the previous fetch: after expiry",
            pair[1] - pair[0]
        );
    }
}
