//! Diagnostics that never carry a secret, whatever level is asked for.
//!
//! The AWS SDK's runtime dumps whole requests and responses at trace level: the SSO bearer
//! token, the container-credentials authorization header, a web identity token, and the
//! credentials STS and the SSO portal send back. [`log_filter`] caps those targets at debug, so
//! `LAKEROUTE_LOG=trace` shows everything else (object_store, the HTTP client, azure_core, which
//! redacts its headers, and lakeroute itself) and no secret.

use tracing_subscriber::EnvFilter;

/// Targets that log request or response contents (headers, bodies) at trace level.
const CONTENT_DUMPING_TARGETS: [&str; 2] = ["aws_smithy_runtime", "aws_smithy_runtime_api"];

/// A tracing filter for the directives in `spec` (as `RUST_LOG`: `debug`, `lakeroute=trace`,
/// ...), with the targets that dump request and response contents capped at debug.
///
/// ```
/// let filter = lakeroute::logging::log_filter("trace");
/// assert!(filter.to_string().contains("aws_smithy_runtime=debug"));
/// ```
pub fn log_filter(spec: &str) -> EnvFilter {
    let capped = CONTENT_DUMPING_TARGETS
        .iter()
        .map(|t| format!("{t}=debug"))
        .collect::<Vec<_>>()
        .join(",");
    // A directive for a target wins over a less specific one, and the caps come last, so a
    // user's `aws_smithy_runtime=trace` is capped too.
    let spec = spec.trim();
    let joined = if spec.is_empty() {
        capped
    } else {
        format!("{spec},{capped}")
    };
    EnvFilter::new(joined)
}

/// The environment variable whose tracing filter [`init_from_env`] applies.
pub const LOG_ENV: &str = "LAKEROUTE_LOG";

/// When `LAKEROUTE_LOG` is set (any tracing filter, as `RUST_LOG`), installs a global
/// subscriber that writes diagnostics to stderr through [`log_filter`]; the CLI and the Python
/// package call it at start. Returns false when the variable is unset or empty, or when the
/// process already has a global subscriber (which is then left alone).
pub fn init_from_env() -> bool {
    let Some(spec) = std::env::var(LOG_ENV).ok().filter(|s| !s.trim().is_empty()) else {
        return false;
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(&spec))
        .with_writer(std::io::stderr)
        // Colours only on a terminal: not in log files, CI logs or notebook cells.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .is_ok()
}
