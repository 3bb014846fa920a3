//! Credentials resolved as the AWS SDK resolves them, against the local S3/STS server (moto)
//! and small local endpoints that speak the container-credentials and IMDSv2 protocols.
//!
//! Each scenario runs the `lakeroute` CLI in a process of its own with its own HOME and
//! environment, as a user would. `AWS_EC2_METADATA_DISABLED=true` keeps every scenario but the
//! IMDS one from probing the real metadata address.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lakeroute_integration::{
    Servers, assert_refreshed_once_per_lifetime, isolated_cli, load_in_child, servers, spawn_load,
};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The web identity token file's contents.
const WEB_IDENTITY_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.e30.signature";

/// The SSO access token in the test HOME's token cache.
const SSO_TOKEN: &str = "sso-access-token-value-5521";

const SECRETS: [&str; 3] = [
    "static-secret-value-1234",
    "base-secret-value-5678",
    "process-secret-value-9012",
];

struct Env {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(s: &Servers) -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("home/.aws"))?;
        std::fs::create_dir_all(dir.path().join("catalog"))?;
        std::fs::write(
            dir.path().join("home/.aws/credentials"),
            format!(
                "[static]\naws_access_key_id = AKIASTATICEXAMPLE\naws_secret_access_key = {}\n\n[base]\naws_access_key_id = AKIABASEEXAMPLE\naws_secret_access_key = {}\n",
                SECRETS[0], SECRETS[1]
            ),
        )?;
        let process = dir.path().join("creds.sh");
        std::fs::write(
            &process,
            format!(
                "#!/bin/sh\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSEXAMPLE\", \"SecretAccessKey\": \"{}\", \"SessionToken\": \"tok\", \"Expiration\": \"2099-01-01T00:00:00Z\"}}'\n",
                SECRETS[2]
            ),
        )?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&process, std::fs::Permissions::from_mode(0o755))?;
        }
        std::fs::write(
            dir.path().join("home/.aws/config"),
            format!(
                "[profile sso]\nsso_session = lakeroute-sso\nsso_account_id = 123456789012\nsso_role_name = DataReader\nregion = us-east-1\n\n[sso-session lakeroute-sso]\nsso_region = us-east-1\nsso_start_url = https://lakeroute-test.awsapps.com/start\n\n[profile static]\nregion = us-east-1\n\n[profile process]\ncredential_process = {}\nregion = us-east-1\n\n[profile chained]\nsource_profile = base\nrole_arn = arn:aws:iam::123456789012:role/finance-dev\nregion = us-east-1\n",
                process.display()
            ),
        )?;
        // The token `aws sso login` leaves, cached under the SHA-1 of the session name.
        std::fs::create_dir_all(dir.path().join("home/.aws/sso/cache"))?;
        std::fs::write(
            dir.path()
                .join("home/.aws/sso/cache/6004ea737886a611cb56a628c433cffc2c9346c2.json"),
            format!(
                "{{\"accessToken\": \"{SSO_TOKEN}\", \"expiresAt\": \"2099-01-01T00:00:00Z\", \"region\": \"us-east-1\", \"startUrl\": \"https://lakeroute-test.awsapps.com/start\"}}"
            ),
        )?;
        let profile = |name: &str, creds: &str| {
            format!(
                "  {name}:\n    provider: aws\n    bucket: lakeroute-it\n    region: us-east-1\n    endpoint: {}\n    path_style: true\n    credentials: {creds}\n",
                s.s3
            )
        };
        let settings = [
            profile("static", "{profile: static}"),
            profile("process", "{profile: process}"),
            profile("chained", "{profile: chained}"),
            profile("finance-prod", "{profile: static, role_arn: \"arn:aws:iam::123456789012:role/finance-prod\", external_id: fin-42, session_name: finance}"),
            profile("ambient", "ambient"),
            profile("missing", "{profile: nope}"),
            profile("sso", "{profile: sso}"),
        ]
        .concat();
        std::fs::write(
            dir.path().join("catalog/lakeroute.yaml"),
            format!("storage:\n{settings}"),
        )?;
        let run = lakeroute_integration::run_id();
        for name in [
            "static",
            "process",
            "chained",
            "finance-prod",
            "ambient",
            "missing",
            "sso",
        ] {
            std::fs::write(
                dir.path().join(format!("catalog/{name}.yaml")),
                format!(
                    "entityName: {name}\nentityVersion: v1\ndomain: it\ncoldStorage:\n  format: binary\n  location: {{storage: {name}, prefix: auth/{run}/{name}}}\n"
                ),
            )?;
        }
        let home = dir.path().join("home").display().to_string();
        let vars = vec![
            ("HOME".into(), home),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_ENDPOINT_URL_STS".into(), s.s3.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ];
        Ok(Self { dir, vars })
    }

    /// `auth check --profile NAME` as JSON, with everything the process printed; an error
    /// (with that output) when it fails.
    fn auth(
        &self,
        extra: &[(&str, &str)],
        profile: &str,
    ) -> Result<(serde_json::Value, String), String> {
        let out = self.run(
            extra,
            &["--output", "json", "auth", "check", "--profile", profile],
        )?;
        if !out.status.success() {
            return Err(format!("auth check --profile {profile}: {}", text(&out)));
        }
        Ok((auth_json(&out)?, text(&out)))
    }

    fn run(&self, extra: &[(&str, &str)], args: &[&str]) -> Result<Output, String> {
        let vars = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        isolated_cli(
            &self.dir.path().join("catalog"),
            vars.chain(extra.iter().copied()),
        )?
        .args(args)
        .output()
        .map_err(|e| e.to_string())
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Fails when `logs` hold a known secret or anything shaped like credentials sent back by STS,
/// the SSO portal or a metadata endpoint (their secrets are random, so the shape is the test).
fn assert_no_credentials(what: &str, logs: &str) {
    assert!(
        logs.len() > 1000,
        "{what}: trace logging produced too little to mean anything"
    );
    let shapes = [
        "SecretAccessKey",
        "secretAccessKey",
        "<SessionToken>",
        "sessionToken",
        "x-amz-sso_bearer_token",
        WEB_IDENTITY_TOKEN,
        SSO_TOKEN,
    ];
    for needle in SECRETS.iter().chain(shapes.iter()) {
        if let Some(i) = logs.find(needle) {
            let from = logs[..i].rfind('\n').map_or(0, |n| n + 1);
            let line: String = logs[from..i].chars().take(3000).collect();
            panic!("{what}: {needle:?} in the logs, on the line: {line}");
        }
    }
}

fn auth_json(o: &Output) -> Result<serde_json::Value, String> {
    serde_json::from_slice(&o.stdout).map_err(|e| format!("{e}: {}", text(o)))
}

#[test]
fn profiles_process_and_role_chains_resolve_and_read_and_write() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let run = lakeroute_integration::run_id();
    let local = env.dir.path().join("data.txt");
    std::fs::write(&local, "through the chain")?;
    for (profile, identity) in [
        ("static", "access key AKIASTATICEXAMPLE"),
        ("process", "access key AKIAPROCESSEXAMPLE"),
        ("chained", "access key ASIA"),
        (
            "finance-prod",
            "arn:aws:iam::123456789012:role/finance-prod",
        ),
    ] {
        let (v, everything) = env.auth(&[("LAKEROUTE_LOG", "trace")], profile)?;
        assert!(
            v["identity"]
                .as_str()
                .unwrap_or_default()
                .contains(identity),
            "{profile}: {v}"
        );
        for secret in SECRETS {
            assert!(
                !everything.contains(secret),
                "{profile}: a secret leaked into the output"
            );
        }
        // Then read and write with those credentials.
        let uri = format!("lake://it/{profile}/v1/{run}.txt");
        let trace = [("LAKEROUTE_LOG", "trace")];
        let put = env.run(&trace, &["put", local.to_str().ok_or("path")?, &uri])?;
        assert!(put.status.success(), "{profile}: {}", text(&put));
        let cat = env.run(&trace, &["cat", &uri])?;
        assert_eq!(
            String::from_utf8_lossy(&cat.stdout),
            "through the chain",
            "{profile}"
        );
        let logs = text(&put) + &String::from_utf8_lossy(&cat.stderr) + &everything;
        assert_no_credentials(profile, &logs);
    }
    assert!(
        env.auth(&[], "chained")?.0["expires"].is_string(),
        "assumed-role credentials expire"
    );
    Ok(())
}

#[test]
fn web_identity_token_is_exchanged_with_sts() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let token = env.dir.path().join("token");
    std::fs::write(&token, WEB_IDENTITY_TOKEN)?;
    let token = token.display().to_string();
    let vars = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.as_str()),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/eks-pod-role",
        ),
        ("AWS_ROLE_SESSION_NAME", "pod"),
        ("LAKEROUTE_LOG", "trace"),
    ];
    let (v, output) = env.auth(&vars, "ambient")?;
    assert!(
        v["identity"]
            .as_str()
            .unwrap_or_default()
            .starts_with("access key ASIA"),
        "{v}"
    );
    assert!(v["expires"].is_string());
    assert_no_credentials("web identity", &output);
    Ok(())
}

/// A local endpoint speaking the ECS/EKS container-credentials and EC2 IMDSv2 protocols, with
/// credentials that live `lifetime`; it counts credential fetches.
struct CredentialServer {
    port: u16,
    fetches: Arc<Mutex<Vec<SystemTime>>>,
}

impl CredentialServer {
    fn start(lifetime: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let fetches = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&fetches);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    let _ = serve(stream, lifetime, &log);
                });
            }
        });
        Ok(Self { port, fetches })
    }

    fn fetches(&self) -> Vec<SystemTime> {
        self.fetches.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn serve(
    mut stream: std::net::TcpStream,
    lifetime: Duration,
    log: &Mutex<Vec<SystemTime>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let expires = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + lifetime)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let creds = |n: usize| {
        format!(
            "{{\"Code\": \"Success\", \"Type\": \"AWS-HMAC\", \"AccessKeyId\": \"AKIALOCAL{n:04}\", \"SecretAccessKey\": \"local-secret-{n}\", \"Token\": \"local-token-{n}\", \"Expiration\": \"{expires}\", \"LastUpdated\": \"2026-01-01T00:00:00Z\"}}"
        )
    };
    let (status, reply) = match (method.as_str(), path.as_str()) {
        // IMDSv2: a session token first, then the role name, then the role's credentials.
        ("PUT", "/latest/api/token") => ("200 OK", "imds-session-token".to_string()),
        ("GET", "/latest/meta-data/iam/security-credentials/")
            if headers.contains_key("x-aws-ec2-metadata-token") =>
        {
            ("200 OK", "instance-role".to_string())
        }
        ("GET", p)
            if p.starts_with("/latest/meta-data/iam/security-credentials/instance-role")
                || p == "/creds" =>
        {
            if p != "/creds" && !headers.contains_key("x-aws-ec2-metadata-token") {
                ("401 Unauthorized", String::new())
            } else {
                let n = {
                    let mut l = log.lock().map_err(|_| std::io::Error::other("poisoned"))?;
                    l.push(SystemTime::now());
                    l.len()
                };
                ("200 OK", creds(n))
            }
        }
        // The IAM Identity Center portal: role credentials for the cached SSO token.
        ("GET", p) if p.starts_with("/federation/credentials") => {
            if headers.get("x-amz-sso_bearer_token").map(String::as_str) != Some(SSO_TOKEN)
                || !p.contains("role_name=DataReader")
                || !p.contains("account_id=123456789012")
            {
                ("401 Unauthorized", String::new())
            } else {
                let millis = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
                    + lifetime.as_millis();
                (
                    "200 OK",
                    format!(
                        "{{\"roleCredentials\": {{\"accessKeyId\": \"ASIASSOEXAMPLE\", \"secretAccessKey\": \"sso-secret-value-7788\", \"sessionToken\": \"sso-session-token\", \"expiration\": {millis}}}}}"
                    ),
                )
            }
        }
        ("GET", "/latest/meta-data/placement/region")
        | ("GET", "/latest/dynamic/instance-identity/document") => {
            ("200 OK", "{\"region\": \"us-east-1\"}".to_string())
        }
        _ => ("404 Not Found", String::new()),
    };
    // IMDSv2 answers the token request with the token's lifetime.
    let ttl = if path == "/latest/api/token" {
        "X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n{ttl}Connection: close\r\n\r\n{reply}",
        reply.len()
    )
}

#[test]
fn container_and_instance_metadata_credentials() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let endpoint = CredentialServer::start(Duration::from_secs(3600))?;
    let container = format!("http://127.0.0.1:{}/creds", endpoint.port);
    let (v, _) = env.auth(
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &container)],
        "ambient",
    )?;
    assert!(
        v["identity"]
            .as_str()
            .unwrap_or_default()
            .contains("AKIALOCAL")
    );

    let imds = format!("http://127.0.0.1:{}", endpoint.port);
    let vars = [
        ("AWS_EC2_METADATA_DISABLED", "false"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str()),
    ];
    let (v, _) = env.auth(&vars, "ambient")?;
    assert!(
        v["identity"]
            .as_str()
            .unwrap_or_default()
            .contains("AKIALOCAL"),
        "{v}"
    );
    assert!(
        v["source"]
            .as_str()
            .unwrap_or_default()
            .contains("AWS default chain")
    );
    // And the credentials work for real reads and writes.
    let local = env.dir.path().join("x");
    std::fs::write(&local, "imds")?;
    let uri = format!(
        "lake://it/ambient/v1/{}/imds",
        lakeroute_integration::run_id()
    );
    assert!(
        env.run(&vars, &["put", local.to_str().ok_or("path")?, &uri])?
            .status
            .success()
    );
    assert_eq!(
        String::from_utf8_lossy(&env.run(&vars, &["cat", &uri])?.stdout),
        "imds"
    );
    Ok(())
}

#[test]
fn sso_profile_gets_role_credentials_from_the_portal() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let portal = CredentialServer::start(Duration::from_secs(3600))?;
    let url = format!("http://127.0.0.1:{}", portal.port);
    let vars = [
        ("AWS_ENDPOINT_URL_SSO", url.as_str()),
        ("LAKEROUTE_LOG", "trace"),
    ];
    let (v, output) = env.auth(&vars, "sso")?;
    assert!(
        v["identity"]
            .as_str()
            .unwrap_or_default()
            .contains("access key ASIASSOEXAMPLE"),
        "{v}"
    );
    assert!(v["expires"].is_string(), "{v}");
    let local = env.dir.path().join("sso.txt");
    std::fs::write(&local, "through sso")?;
    let uri = format!("lake://it/sso/v1/{}.txt", lakeroute_integration::run_id());
    let put = env.run(&vars, &["put", local.to_str().ok_or("path")?, &uri])?;
    assert!(put.status.success(), "{}", text(&put));
    let cat = env.run(&vars, &["cat", &uri])?;
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "through sso");
    let everything = output + &text(&put) + &String::from_utf8_lossy(&cat.stderr);
    assert_no_credentials("sso", &everything);
    Ok(())
}

/// A bucket no profile serves is read with the AWS SDK's own chain too: here a named profile
/// (`AWS_PROFILE`) whose credentials come from a `credential_process`, which object_store's
/// environment-only chain never reads.
#[test]
fn a_bucket_no_profile_serves_gets_credentials_from_the_aws_profile() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let vars = [
        ("AWS_PROFILE", "process"),
        ("AWS_ENDPOINT_URL", s.s3.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("LAKEROUTE_LOG", "trace"),
    ];
    let local = env.dir.path().join("ambient.txt");
    std::fs::write(&local, "no profile needed")?;
    let uri = format!(
        "s3://lakeroute-it-2/auth/{}/ambient.txt",
        lakeroute_integration::run_id()
    );
    let put = env.run(&vars, &["put", local.to_str().ok_or("path")?, &uri])?;
    assert!(put.status.success(), "{}", text(&put));
    let cat = env.run(&vars, &["cat", &uri])?;
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "no profile needed");
    assert!(
        text(&put).contains("provider_name: \"CredentialProcess\""),
        "the credentials came from the credential_process: {}",
        text(&put)
    );
    assert_no_credentials("ambient", &(text(&put) + &text(&cat)));
    let _ = env.run(&vars, &["rm", &uri]);
    Ok(())
}

#[test]
fn nothing_resolves_names_the_profile_every_source_and_a_fix() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let out = env.run(&[], &["auth", "check", "--profile", "missing"])?;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    for needle in [
        "storage profile \"missing\"",
        "Environment",
        "Profile",
        "WebIdentityToken",
        "EcsContainer",
        "Ec2InstanceMetadata",
        "~/.aws/config",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    Ok(())
}

/// Short-lived credentials under load: requests never fail, and the source is asked about once
/// per lifetime, not once per request. The load runs in a child process (this test binary,
/// re-run for the ignored test below) so its environment points at the local endpoint.
#[test]
fn short_lived_credentials_refresh_once_per_lifetime_under_load() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let lifetime = Duration::from_secs(12);
    let endpoint = CredentialServer::start(lifetime)?;
    let env = Env::new(&s)?;
    let mut vars: Vec<(&str, String)> = env
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    vars.push((
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("http://127.0.0.1:{}/creds", endpoint.port),
    ));
    let requests = spawn_load("load_child", &env.dir.path().join("catalog"), 30, &vars)?;
    let fetches: Vec<f64> = endpoint
        .fetches()
        .iter()
        .map(|t| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64()
        })
        .collect();
    assert_refreshed_once_per_lifetime(requests, &fetches, lifetime);
    Ok(())
}

#[test]
#[ignore = "run by short_lived_credentials_refresh_once_per_lifetime_under_load in a child process"]
fn load_child() -> TestResult {
    load_in_child("lake://it/ambient/v1/")
}

#[test]
fn domain_and_dataset_roles_per_environment() -> TestResult {
    let Some(s) = servers() else { return Ok(()) };
    let env = Env::new(&s)?;
    let cat = env.dir.path().join("catalog");
    let settings = std::fs::read_to_string(cat.join("lakeroute.yaml"))?;
    std::fs::write(
        cat.join("lakeroute.yaml"),
        format!(
            "compute: {{provider: azure, region: westeurope}}\ncache: {{dir: cache, max_bytes: 64MiB}}\ndefault_environment: prod\nenvironments:\n  prod: {{}}\n  dev: {{prefix: dev}}\ndomains:\n  finance:\n    role_arn: arn:aws:iam::123456789012:role/finance-prod\n    environments:\n      dev: {{role_arn: \"arn:aws:iam::123456789012:role/finance-dev\"}}\n{settings}"
        ),
    )?;
    let run = lakeroute_integration::run_id();
    std::fs::write(
        cat.join("ledger.yaml"),
        format!(
            "entityName: ledger\nentityVersion: v1\ndomain: finance\ncoldStorage:\n  format: csv\n  location: {{storage: static, prefix: auth/{run}/ledger}}\n"
        ),
    )?;
    std::fs::write(
        cat.join("special.yaml"),
        format!(
            "entityName: special\nentityVersion: v1\ndomain: finance\nrole: {{role_arn: \"arn:aws:iam::123456789012:role/special\", external_id: x-1}}\ncoldStorage:\n  format: csv\n  location: {{storage: static, prefix: auth/{run}/special}}\n"
        ),
    )?;
    let identity = |env_name: &str, uri: &str| -> Result<String, String> {
        let out = env.run(
            &[],
            &["--env", env_name, "--output", "json", "auth", "check", uri],
        )?;
        Ok(auth_json(&out)?["identity"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    };
    assert!(
        identity("prod", "lake://finance/ledger/v1/x")?
            .starts_with("arn:aws:iam::123456789012:role/finance-prod")
    );
    assert!(
        identity("dev", "lake://finance/ledger/v1/x")?
            .starts_with("arn:aws:iam::123456789012:role/finance-dev")
    );
    assert!(
        identity("prod", "lake://finance/special/v1/x")?
            .starts_with("arn:aws:iam::123456789012:role/special")
    );
    // The storage profile itself keeps its own credentials.
    assert!(identity("prod", "static")?.contains("AKIASTATICEXAMPLE"));
    // Reads and writes go through the domain's role.
    let local = env.dir.path().join("l.csv");
    std::fs::write(&local, "a,b\n")?;
    assert!(
        env.run(
            &[],
            &[
                "put",
                local.to_str().ok_or("path")?,
                "lake://finance/ledger/v1/l.csv"
            ]
        )?
        .status
        .success()
    );
    let out = env.run(&[], &["cat", "lake://finance/ledger/v1/l.csv"])?;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a,b\n");
    // Accounted under the declared profile, whatever role the domain adds to it.
    let out = env.run(&[], &["--output", "json", "stats"])?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", text(&out)))?;
    let profiles: Vec<&String> = v["by_profile"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(profiles, ["static"], "{v}");
    assert_eq!(v["by_profile"]["static"]["bytes_written"], 4, "{v}");
    Ok(())
}
