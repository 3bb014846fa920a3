//! Azure credentials resolved as the Azure SDKs resolve them (azure_identity), against a local
//! Microsoft Entra ID stand-in (`identity_server.py`: the OAuth client-credentials and App
//! Service managed-identity protocols, over HTTPS, at the addresses the SDK's documented
//! overrides `AZURE_AUTHORITY_HOST` and `IDENTITY_ENDPOINT` point to) and a private Azurite that
//! accepts only what a storage account would: HTTPS, and bearer tokens whose audience, issuer
//! and expiry it checks (`--oauth basic`). A token that reaches it and works is the proof that
//! the chain's bearer token reached the storage request.
//!
//! Each scenario runs the `lakeroute` CLI in a process of its own with its own environment, as a
//! user would; `SSL_CERT_FILE` makes it trust the test CA. Every child process writes to files,
//! never to the test's own output, and is killed when its test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use lakeroute_integration::{
    AZURITE_ACCOUNT, AZURITE_KEY, Servers, assert_refreshed_once_per_lifetime, isolated_cli,
    load_in_child, python, servers, spawn_load,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const CLIENT_SECRET: &str = "entra-client-secret-value-7731";
const FEDERATED_TOKEN: &str = "federated-service-account-token-4410";
const IDENTITY_HEADER: &str = "identity-header-value-9902";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// Every JWT starts with the encoding of `{"alg"`: no access token may show in any output.
const JWT_PREFIX: &str = "eyJhbGci";

/// A local identity endpoint and a private HTTPS Azurite with OAuth, with a catalog over it.
struct Rig {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    identity_port: u16,
    blob_port: u16,
    sas: String,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for(what: &str, deadline: Duration, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > deadline {
            return Err(format!("{what} was not ready within {deadline:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Rig {
    fn start(s: &Servers) -> Result<Option<Self>, Box<dyn std::error::Error + Send + Sync>> {
        let Some(py) = python() else { return Ok(None) };
        let azurite = s
            .azurite
            .clone()
            .ok_or("LAKEROUTE_IT_AZURITE is not set; run integration/start")?;
        let dir = tempfile::tempdir()?;
        let logs = dir.path().to_path_buf();
        let log = |name: &str| std::fs::File::create(logs.join(name));
        let mut rig = Rig {
            children: Vec::new(),
            identity_port: 0,
            blob_port: free_port()?,
            sas: String::new(),
            dir,
        };
        let d = rig.dir.path().to_path_buf();
        rig.children.push(
            Command::new(&py)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("identity_server.py"))
                .arg(&d)
                .args(["--client-secret", CLIENT_SECRET])
                .args(["--federated-token", FEDERATED_TOKEN])
                .args(["--identity-header", IDENTITY_HEADER])
                .args(["--tenant", TENANT])
                .stdin(Stdio::null())
                .stdout(log("identity.out")?)
                .stderr(log("identity.err")?)
                .spawn()?,
        );
        wait_for("the identity endpoint", Duration::from_secs(30), || {
            d.join("port").exists()
        })?;
        rig.identity_port = std::fs::read_to_string(d.join("port"))?.trim().parse()?;
        let port = rig.blob_port.to_string();
        rig.children.push(
            Command::new(&azurite)
                .args(["--blobHost", "127.0.0.1", "--blobPort", &port])
                .args(["--oauth", "basic"])
                .arg("--cert")
                .arg(d.join("cert.pem"))
                .arg("--key")
                .arg(d.join("key.pem"))
                .args([
                    "--inMemoryPersistence",
                    "--disableTelemetry",
                    "--skipApiVersionCheck",
                ])
                .current_dir(&d)
                .stdin(Stdio::null())
                .stdout(log("azurite.out")?)
                .stderr(log("azurite.err")?)
                .spawn()?,
        );
        let addr = format!("127.0.0.1:{port}");
        wait_for("the HTTPS Azurite", Duration::from_secs(60), || {
            std::net::TcpStream::connect(&addr).is_ok()
        })?;
        // The container, and a SAS for it, through Azure's own Python SDK.
        let made = Command::new(&py)
            .arg("-c")
            .arg(
                r#"
import sys, datetime
from azure.storage.blob import BlobServiceClient, generate_container_sas, ContainerSasPermissions
url, account, key, ca = sys.argv[1:5]
svc = BlobServiceClient(url, credential={"account_name": account, "account_key": key}, connection_verify=ca)
svc.create_container("lake")
print(generate_container_sas(account, "lake", account_key=key,
      permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
      expiry=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)))
"#,
            )
            .arg(format!("https://127.0.0.1:{port}/{AZURITE_ACCOUNT}"))
            .arg(AZURITE_ACCOUNT)
            .arg(AZURITE_KEY)
            .arg(d.join("ca.pem"))
            .output()?;
        if !made.status.success() {
            return Err(format!(
                "creating the container failed: {}",
                String::from_utf8_lossy(&made.stderr)
            )
            .into());
        }
        rig.sas = String::from_utf8(made.stdout)?.trim().to_string();
        rig.write_catalog()?;
        Ok(Some(rig))
    }

    fn write_catalog(&self) -> std::io::Result<()> {
        let cat = self.dir.path().join("catalog");
        std::fs::create_dir_all(&cat)?;
        let endpoint = format!("https://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.blob_port);
        let profile = |name: &str, creds: &str| {
            format!(
                "  {name}:\n    provider: azure\n    account: {AZURITE_ACCOUNT}\n    container: lake\n    endpoint: {endpoint}\n    region: westeurope\n    max_retries: 1\n    credentials: {creds}\n"
            )
        };
        let storage = [
            profile("chain", "ambient"),
            profile("production", "{developer_tools: false}"),
            profile("load", "{client_id: short-load}"),
            profile("key", &format!("{{account_key: \"{AZURITE_KEY}\"}}")),
            profile("sas", &format!("{{sas_token: \"{}\"}}", self.sas)),
            profile("unsigned", "anonymous"),
        ]
        .concat();
        std::fs::write(
            cat.join("lakeroute.yaml"),
            format!(
                "default_environment: prod\nenvironments:\n  prod: {{}}\n  dev: {{prefix: dev}}\ndomains:\n  finance:\n    azure_client_id: finance-mi\n    environments:\n      dev: {{azure_client_id: finance-dev-mi}}\nstorage:\n{storage}"
            ),
        )?;
        let run = lakeroute_integration::run_id();
        for (domain, name, storage) in [
            ("it", "chain", "chain"),
            ("it", "production", "production"),
            ("it", "load", "load"),
            ("it", "key", "key"),
            ("it", "sas", "sas"),
            ("it", "unsigned", "unsigned"),
            ("finance", "ledger", "chain"),
        ] {
            std::fs::create_dir_all(cat.join(domain))?;
            std::fs::write(
                cat.join(domain).join(format!("{name}.yaml")),
                format!(
                    "entityName: {name}\nentityVersion: v1\ncoldStorage:\n  format: binary\n  location: {{storage: {storage}, prefix: {run}/{domain}/{name}}}\n"
                ),
            )?;
        }
        Ok(())
    }

    fn authority(&self) -> String {
        format!("https://127.0.0.1:{}", self.identity_port)
    }

    fn identity_endpoint(&self) -> String {
        format!("https://127.0.0.1:{}/msi/token", self.identity_port)
    }

    /// The CLI with only `vars` (and PATH, HOME, the test CA) in its environment.
    fn run(&self, vars: &[(&str, &str)], args: &[&str]) -> Result<Output, String> {
        let d = self.dir.path();
        let home = d.join("home");
        let _ = std::fs::create_dir_all(&home);
        let path = format!(
            "{}:{}",
            d.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let defaults: [(&str, std::ffi::OsString); 4] = [
            ("PATH", path.into()),
            ("HOME", home.into()),
            ("SSL_CERT_FILE", d.join("ca.pem").into()),
            ("LAKEROUTE_LOG", "trace".into()),
        ];
        // `vars` come last, so a test can replace a default (its log level).
        isolated_cli(&d.join("catalog"), defaults)?
            .envs(vars.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())
    }

    /// Token requests the identity endpoint saw: (kind, client id, accepted).
    fn requests(&self) -> Vec<(String, String, bool, f64)> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                (
                    v["kind"].as_str().unwrap_or_default().to_string(),
                    v["client_id"].as_str().unwrap_or_default().to_string(),
                    v["ok"].as_bool().unwrap_or_default(),
                    v["time"].as_f64().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// An `az` on PATH that answers `az account get-access-token` as the Azure CLI does, with a
    /// token Azurite accepts, and leaves a mark when it runs.
    fn install_az(&self) -> std::io::Result<PathBuf> {
        use base64::Engine as _;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = format!(
            r#"{{"aud":"https://storage.azure.com","iss":"https://sts.windows.net/{TENANT}/","iat":{},"nbf":{},"exp":{},"tid":"{TENANT}","appid":"az-cli-user","oid":"cli-object"}}"#,
            now,
            now - 60,
            now + 3600
        );
        let token = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"RS256","typ":"JWT"}"#),
            enc(&claims),
            enc("sig")
        );
        let bin = self.dir.path().join("bin");
        std::fs::create_dir_all(&bin)?;
        let mark = self.dir.path().join("az-called");
        let script = bin.join("az");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> '{}'\nprintf '{{\"accessToken\": \"{token}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": {}, \"subscription\": \"sub\", \"tenant\": \"{TENANT}\", \"tokenType\": \"Bearer\"}}'\n",
                mark.display(),
                now + 3600
            ),
        )?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        }
        Ok(mark)
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn auth(rig: &Rig, vars: &[(&str, &str)], target: &str) -> Result<serde_json::Value, String> {
    let (flag, target) = match target.strip_prefix("--profile ") {
        Some(p) => (Some("--profile"), p),
        None => (None, target),
    };
    let mut args = vec!["--output", "json", "auth", "check"];
    args.extend(flag);
    args.push(target);
    let out = rig.run(vars, &args)?;
    if !out.status.success() {
        return Err(text(&out));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", text(&out)))
}

/// Writes through `uri` and reads it back; returns every byte the two processes printed.
fn round_trip(rig: &Rig, vars: &[(&str, &str)], uri: &str) -> Result<String, String> {
    let local = rig.dir.path().join("payload.txt");
    std::fs::write(&local, uri).map_err(|e| e.to_string())?;
    let put = rig.run(vars, &["put", &local.display().to_string(), uri])?;
    if !put.status.success() {
        return Err(format!("put {uri}: {}", text(&put)));
    }
    let cat = rig.run(vars, &["cat", uri])?;
    if String::from_utf8_lossy(&cat.stdout) != uri {
        return Err(format!("cat {uri}: {}", text(&cat)));
    }
    Ok(text(&put) + &String::from_utf8_lossy(&cat.stderr))
}

fn assert_no_secrets(what: &str, output: &str) {
    assert!(
        output.len() > 1000,
        "{what}: trace logging produced too little to mean anything"
    );
    for secret in [CLIENT_SECRET, FEDERATED_TOKEN, IDENTITY_HEADER, JWT_PREFIX] {
        assert!(
            !output.contains(secret),
            "{what}: a secret ({}...) leaked into the output",
            &secret[..6]
        );
    }
}

fn field(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

#[test]
fn client_secret_and_workload_identity_tokens_reach_azurite() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let Some(rig) = Rig::start(&s)? else {
        return Ok(());
    };
    let authority = rig.authority();
    let run = lakeroute_integration::run_id();

    // Without a token the server refuses: it really checks.
    let unsigned = rig.run(&[], &["cat", "lake://it/unsigned/v1/anything"])?;
    assert_eq!(unsigned.status.code(), Some(1), "{}", text(&unsigned));

    // EnvironmentCredential: a client secret from the standard variables.
    let secret = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "app-env"),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
    ];
    let v = auth(&rig, &secret, "lake://it/chain/v1/")?;
    assert!(field(&v, "source").contains("EnvironmentCredential"), "{v}");
    assert!(field(&v, "identity").contains("client app-env"), "{v}");
    assert!(
        field(&v, "identity").contains(&format!("tenant {TENANT}")),
        "{v}"
    );
    assert!(v["expires"].is_string(), "{v}");
    let logs = round_trip(
        &rig,
        &secret,
        &format!("lake://it/chain/v1/{run}/secret.txt"),
    )?;
    assert_no_secrets("client secret", &logs);

    // A wrong secret: Entra's error, with no secret in it.
    let wrong = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "app-env"),
        ("AZURE_CLIENT_SECRET", "not-the-secret-3141"),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
        ("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential"),
    ];
    let out = rig.run(&wrong, &["auth", "check", "--profile", "chain"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert!(!text(&out).contains("not-the-secret-3141"), "{err}");

    // WorkloadIdentityCredential: a federated token file exchanged for a storage token.
    let file = rig.dir.path().join("federated-token");
    std::fs::write(&file, FEDERATED_TOKEN)?;
    let file = file.display().to_string();
    let workload = [
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_CLIENT_ID", "workload-app"),
        ("AZURE_FEDERATED_TOKEN_FILE", file.as_str()),
        ("AZURE_AUTHORITY_HOST", authority.as_str()),
    ];
    let v = auth(&rig, &workload, "--profile chain")?;
    assert!(
        field(&v, "source").contains("WorkloadIdentityCredential"),
        "{v}"
    );
    assert!(field(&v, "identity").contains("client workload-app"), "{v}");
    let logs = round_trip(&rig, &workload, &format!("lake://it/chain/v1/{run}/wl.txt"))?;
    assert_no_secrets("workload identity", &logs);

    let kinds: Vec<_> = rig
        .requests()
        .into_iter()
        .map(|(k, c, ok, _)| (k, c, ok))
        .collect();
    assert!(kinds.contains(&("client_secret".into(), "app-env".into(), true)));
    assert!(kinds.contains(&("client_assertion".into(), "workload-app".into(), true)));
    Ok(())
}

#[test]
fn managed_identity_with_a_client_id_per_domain_and_environment() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let Some(rig) = Rig::start(&s)? else {
        return Ok(());
    };
    let endpoint = rig.identity_endpoint();
    let mi = [
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", IDENTITY_HEADER),
    ];
    let v = auth(&rig, &mi, "lake://it/chain/v1/")?;
    assert!(
        field(&v, "source").contains("ManagedIdentityCredential"),
        "{v}"
    );
    assert!(
        field(&v, "identity").contains("client system-assigned"),
        "{v}"
    );

    let v = auth(&rig, &mi, "lake://finance/ledger/v1/")?;
    assert!(field(&v, "identity").contains("client finance-mi"), "{v}");
    assert_eq!(field(&v, "profile"), "chain~finance-mi");
    let dev = [mi[0], mi[1], ("LAKEROUTE_ENV", "dev")];
    let v = auth(&rig, &dev, "lake://finance/ledger/v1/")?;
    assert!(
        field(&v, "identity").contains("client finance-dev-mi"),
        "{v}"
    );

    let run = lakeroute_integration::run_id();
    let logs = round_trip(&rig, &mi, &format!("lake://finance/ledger/v1/{run}/mi.txt"))?;
    assert_no_secrets("managed identity", &logs);
    let logs = round_trip(
        &rig,
        &dev,
        &format!("lake://finance/ledger/v1/{run}/dev.txt"),
    )?;
    assert_no_secrets("managed identity (dev)", &logs);
    let seen: Vec<_> = rig
        .requests()
        .into_iter()
        .filter(|(k, _, ok, _)| k == "managed_identity" && *ok)
        .map(|(_, c, _, _)| c)
        .collect();
    for id in ["system-assigned", "finance-mi", "finance-dev-mi"] {
        assert!(seen.iter().any(|c| c == id), "{id} never asked: {seen:?}");
    }
    Ok(())
}

#[test]
fn azure_cli_comes_last_and_can_be_switched_off() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let Some(rig) = Rig::start(&s)? else {
        return Ok(());
    };
    let mark = rig.install_az()?;
    // A managed-identity endpoint that refuses connections: the chain must try it, fail
    // quickly and move on (the instance metadata address is never used in these tests).
    let closed = format!("https://127.0.0.1:{}/msi/token", free_port()?);
    let no_mi = [
        ("IDENTITY_ENDPOINT", closed.as_str()),
        ("IDENTITY_HEADER", "x"),
    ];
    let v = auth(&rig, &no_mi, "--profile chain")?;
    assert!(field(&v, "source").contains("AzureCliCredential"), "{v}");
    assert!(field(&v, "identity").contains("client az-cli-user"), "{v}");
    let asked = std::fs::read_to_string(&mark)?;
    assert!(
        asked.contains("account get-access-token")
            && asked.contains("https://storage.azure.com/.default"),
        "{asked}"
    );
    let run = lakeroute_integration::run_id();
    let logs = round_trip(&rig, &no_mi, &format!("lake://it/chain/v1/{run}/cli.txt"))?;
    assert_no_secrets("Azure CLI", &logs);

    // Switched off in the profile, or by AZURE_TOKEN_CREDENTIALS=prod: the CLI never runs, and
    // the error names the profile, every source tried and why, and a fix.
    std::fs::remove_file(&mark)?;
    for (profile, extra) in [
        ("production", None),
        ("chain", Some(("AZURE_TOKEN_CREDENTIALS", "prod"))),
    ] {
        let mut vars = no_mi.to_vec();
        vars.extend(extra);
        vars.push(("LAKEROUTE_LOG", "warn"));
        let started = Instant::now();
        let out = rig.run(&vars, &["auth", "check", "--profile", profile])?;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(err.lines().count(), 1, "{err}");
        for needle in [
            &format!("storage profile \"{profile}\"") as &str,
            "EnvironmentCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set",
            "WorkloadIdentityCredential: AZURE_FEDERATED_TOKEN_FILE is not set",
            "ManagedIdentityCredential",
            "az login",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in {err}");
        }
        assert!(!err.contains("AzureCliCredential"), "{err}");
        assert!(
            !mark.exists(),
            "{profile}: the Azure CLI ran though switched off"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{profile}: the chain took {:?} to give up",
            started.elapsed()
        );
    }
    Ok(())
}

#[test]
fn account_key_and_sas_token_on_https() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let Some(rig) = Rig::start(&s)? else {
        return Ok(());
    };
    let run = lakeroute_integration::run_id();
    for name in ["key", "sas"] {
        let logs = round_trip(&rig, &[], &format!("lake://it/{name}/v1/{run}/x.txt"))?;
        assert!(
            !logs.contains(AZURITE_KEY),
            "{name}: the account key leaked"
        );
        let sig = rig
            .sas
            .split('&')
            .find_map(|kv| kv.strip_prefix("sig="))
            .ok_or("the SAS has no signature")?;
        // As sent (percent-encoded) and as decoded.
        let decoded = sig
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        for form in [sig, decoded.as_str()] {
            assert!(!logs.contains(form), "{name}: the SAS signature leaked");
        }
        let v = auth(&rig, &[], &format!("--profile {name}"))?;
        assert!(field(&v, "identity").contains(AZURITE_ACCOUNT), "{v}");
    }
    Ok(())
}

/// Short-lived tokens under load: requests never fail, and the managed identity is asked about
/// once per token lifetime, not once per request. The load runs in a child process (this test
/// binary, re-run for the ignored test below) so its environment points at the local endpoint.
#[test]
fn short_lived_tokens_refresh_once_per_lifetime_under_load() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let Some(rig) = Rig::start(&s)? else {
        return Ok(());
    };
    let vars = [
        ("IDENTITY_ENDPOINT", rig.identity_endpoint()),
        ("IDENTITY_HEADER", IDENTITY_HEADER.to_string()),
        (
            "SSL_CERT_FILE",
            rig.dir.path().join("ca.pem").display().to_string(),
        ),
    ];
    let requests = spawn_load(
        "azure_load_child",
        &rig.dir.path().join("catalog"),
        30,
        &vars,
    )?;
    let fetches: Vec<f64> = rig
        .requests()
        .into_iter()
        .filter(|(k, c, ok, _)| k == "managed_identity" && c == "short-load" && *ok)
        .map(|(_, _, _, t)| t)
        .collect();
    // identity_server.py gives client ids that start with short- 12-second tokens.
    assert_refreshed_once_per_lifetime(requests, &fetches, Duration::from_secs(12));
    Ok(())
}

#[test]
#[ignore = "run by short_lived_tokens_refresh_once_per_lifetime_under_load in a child process"]
fn azure_load_child() -> TestResult {
    load_in_child("lake://it/load/v1/")
}
