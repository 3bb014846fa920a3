//! `lakeroute`: the command line for the lake.
//!
//! Exit status: 0 on success, 1 on an error (one clear line on stderr), 2 on bad usage.

mod output;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use lakeroute::{Catalog, Error, Lake, PhysicalUri, Result};

use output::Output;

/// Transfers larger than this get a progress bar when stderr is a terminal.
const PROGRESS_MIN_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Parser, Debug)]
#[command(
    name = "lakeroute",
    version,
    about = "One lake over S3 and Azure: lake:// URIs from a catalog in git"
)]
struct Cli {
    /// Catalog folder (holds lakeroute.yaml and the dataset descriptors).
    #[arg(long, global = true, env = "LAKEROUTE_CATALOG", value_name = "DIR")]
    catalog: Option<PathBuf>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    output: Format,

    /// Environment (dev, test, prod, ... as the catalog declares); default LAKEROUTE_ENV, then
    /// the catalog's default_environment.
    #[arg(long = "env", global = true, value_name = "NAME")]
    environment: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the physical location a URI resolves to.
    Resolve {
        /// A lake:// or physical URI.
        uri: String,
    },
    /// List objects (one level, or everything with --recursive).
    Ls {
        /// A lake:// or physical URI.
        uri: String,
        /// List every object below the URI.
        #[arg(short, long)]
        recursive: bool,
    },
    /// Show an object's size, time and version.
    Stat {
        /// A lake:// or physical URI.
        uri: String,
    },
    /// Write an object's bytes to standard output.
    Cat {
        /// A lake:// or physical URI.
        uri: String,
    },
    /// Upload a local file.
    Put {
        /// The local file.
        local: PathBuf,
        /// Destination URI.
        uri: String,
    },
    /// Download an object to a local file (written whole or not at all).
    Get {
        /// A lake:// or physical URI.
        uri: String,
        /// The local file or folder.
        local: PathBuf,
    },
    /// Copy one object between any two places: logical, physical or local paths.
    Cp {
        /// Source: URI or local path.
        src: String,
        /// Destination: URI or local path; a trailing '/' or a folder keeps the source's name.
        dst: String,
    },
    /// Make DST hold what SRC holds, copying only what differs (prefixes or whole datasets).
    Sync {
        /// Source prefix, or with --mirror the mirrored dataset (lake://d/n/vN).
        src: String,
        /// Destination prefix (not used with --mirror).
        #[arg(required_unless_present = "mirror")]
        dst: Option<String>,
        /// Bring a mirrored dataset's mirror up to date with its primary.
        #[arg(long)]
        mirror: bool,
    },
    /// Delete an object (or everything below a prefix with --recursive).
    Rm {
        /// A lake:// or physical URI.
        uri: String,
        /// Delete every object below the URI.
        #[arg(short, long)]
        recursive: bool,
    },
    /// Check a catalog folder (datasets, profiles, jobs in it) and any extra job descriptors;
    /// exit 1 listing every problem, 0 when clean.
    Validate {
        /// The catalog folder (defaults to --catalog).
        dir: Option<PathBuf>,
        /// Job descriptors kept outside the catalog folder.
        jobs: Vec<PathBuf>,
    },
    /// List a dataset's Hive-style partitions, level by level, optionally filtered.
    Partitions {
        /// The dataset (lake://domain/name/vN).
        uri: String,
        /// Filters: column=value, or column=v1|v2 for IN; repeat or separate with commas.
        #[arg(long = "where", value_name = "FILTERS", value_delimiter = ',')]
        filters: Vec<String>,
        /// Also list the files of each chosen partition.
        #[arg(long)]
        files: bool,
    },
    /// Plan a job: physical locations, engine configuration and egress for its cluster.
    Plan {
        /// The job descriptor (YAML).
        job: PathBuf,
        /// Plan for this cluster instead of the job's.
        #[arg(long)]
        cluster: Option<String>,
        /// Rank every declared cluster by estimated egress dollars.
        #[arg(long)]
        advise: bool,
        /// Write static keys into the configuration (they are referred to by default).
        #[arg(long)]
        inline_credentials: bool,
        /// Do not list the datasets (no requests; sizes and dollars unknown).
        #[arg(long)]
        no_sizes: bool,
    },
    /// What processes sharing this catalog's cache read and saved: requests, bytes from the
    /// stores and from the cache, egress dollars spent and avoided, per dataset.
    Stats,
    /// Credentials.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// The egress-aware cache.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Questions about the catalog.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
}

#[derive(Subcommand, Debug)]
enum AuthCommand {
    /// Resolve credentials: which source, which identity, until when (never the secret).
    Check {
        /// A lake:// or physical URI whose storage profile to check.
        uri: Option<String>,
        /// A storage profile name instead.
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum CacheCommand {
    /// The cache folder: entries, bytes, bound, and what it saved.
    Stats,
    /// Delete now the entries no longer worth their space (their time to live, and a grace
    /// after it, have run out) and folders left without a meta for an hour, as a process
    /// opening the folder does once an hour; safe while others use it.
    Prune,
    /// Delete every entry (their read counts are kept); safe while others use the folder.
    Clear,
}

#[derive(Subcommand, Debug)]
enum CatalogCommand {
    /// Every dataset with its provider, region and location, and counts per provider.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // LAKEROUTE_LOG=debug (or any tracing filter) writes diagnostics to stderr, never a secret.
    lakeroute::logging::init_from_env();
    let out = Output::new(cli.output == Format::Json);
    let no_catalog = cli.catalog.is_none();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lakeroute: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, &out)) {
        Ok(code) => code,
        Err(Usage(why)) => {
            eprintln!("lakeroute: error: {why}");
            ExitCode::from(2)
        }
        Err(Failed(e)) => {
            out.error(&e);
            // With no catalog, no lake:// URI names a dataset: say what is missing.
            if no_catalog && matches!(e, Error::DatasetNotFound { .. }) {
                eprintln!(
                    "lakeroute: no catalog was given: pass --catalog DIR or set LAKEROUTE_CATALOG"
                );
            }
            ExitCode::FAILURE
        }
    }
}

/// Why a command did not succeed: it was used wrongly (exit 2, as clap's own usage errors), or
/// it failed (exit 1).
enum Stop {
    Usage(String),
    Failed(Error),
}
use Stop::{Failed, Usage};

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Failed(e)
    }
}

fn open_lake(catalog: Option<&PathBuf>) -> Result<Lake> {
    match catalog {
        Some(dir) => Lake::from_catalog(dir),
        None => Ok(Lake::new(Catalog::empty())),
    }
}

async fn run(cli: Cli, out: &Output) -> std::result::Result<ExitCode, Stop> {
    if let Command::Validate { dir, jobs } = &cli.command {
        let Some(dir) = dir.as_ref().or(cli.catalog.as_ref()) else {
            return Err(Usage(
                "validate needs a catalog folder: lakeroute validate DIR (or --catalog DIR)".into(),
            ));
        };
        let (catalog, mut problems) = Catalog::check(dir)?;
        let env = cli
            .environment
            .as_deref()
            .or(catalog.default_environment())
            .map(str::to_string);
        for job in jobs {
            problems.extend(catalog.check_job_file(job, env.as_deref())?.1);
        }
        out.validation(dir, &catalog, &problems);
        return Ok(if problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let lake = open_lake(cli.catalog.as_ref())?;
    let lake = match &cli.environment {
        Some(env) => lake.with_environment(env)?,
        None => lake,
    };
    match cli.command {
        Command::Resolve { uri } => out.route(&lake.resolve(&uri)?, lake.catalog()),
        Command::Ls { uri, recursive } => {
            if recursive {
                out.objects(&lake.list_all(&uri).await?);
            } else {
                out.listing(&lake.list_with_delimiter(&uri).await?);
            }
        }
        Command::Stat { uri } => out.object(&lake.head(&uri).await?),
        Command::Cat { uri } => {
            let result = lake.get_opts(&uri, Default::default()).await?;
            let served = result.extensions.get::<lakeroute::ServedBy>();
            if let Some(served) = served.filter(|s| s.failover) {
                eprintln!(
                    "lakeroute: note: the primary did not answer; served by the mirror at {}",
                    served.location
                );
            }
            let mut stream = result.into_stream();
            let mut stdout = std::io::stdout().lock();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Error::from_store(uri.as_str(), e))?;
                if let Err(e) = stdout.write_all(&chunk) {
                    // A closed pipe (`| head`) is the reader's choice, not an error.
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(ExitCode::SUCCESS);
                    }
                    return Err(Failed(io_err("writing to standard output", e)));
                }
            }
            stdout
                .flush()
                .map_err(|e| io_err("writing to standard output", e))?;
        }
        Command::Put { local, uri } => {
            let mut file = tokio::fs::File::open(&local)
                .await
                .map_err(|source| Error::Io {
                    action: "opening",
                    path: local.clone(),
                    source,
                })?;
            let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
            let bar = progress_bar(size);
            let cb = |n: u64| bar.as_ref().map_or((), |b| b.set_position(n));
            let written = lake.upload(&uri, &mut file, Some(&cb)).await?;
            finish_bar(bar);
            out.transfer(&local.display().to_string(), &written.uri, written.size);
        }
        Command::Get { uri, local } => {
            let dst = local_destination(&uri, &local.display().to_string())?;
            copy(&lake, &uri, &dst, out).await?;
        }
        Command::Cp { src, dst } => {
            let src = to_uri(&src)?;
            let dst = if dst.contains("://") {
                if dst.ends_with('/') {
                    format!("{dst}{}", file_name(&src)?)
                } else {
                    dst
                }
            } else {
                local_destination(&src, &dst)?
            };
            copy(&lake, &src, &dst, out).await?;
        }
        Command::Sync { src, dst, mirror } => {
            let report = match (mirror, dst) {
                (true, None) => lake.sync_mirror(&src).await?,
                (false, Some(dst)) => lake.sync(&to_uri(&src)?, &to_uri(&dst)?).await?,
                (true, Some(_)) => {
                    return Err(Usage(format!(
                        "sync --mirror {src}: --mirror takes one dataset URI and no destination"
                    )));
                }
                (false, None) => {
                    return Err(Usage(format!(
                        "sync {src}: sync needs a destination: lakeroute sync SRC DST"
                    )));
                }
            };
            out.sync(&report);
        }
        Command::Rm { uri, recursive } => {
            if recursive {
                let n = lake.delete_prefix(&uri).await?;
                out.deleted(&uri, n);
            } else {
                lake.delete(&uri).await?;
                out.deleted(&uri, 1);
            }
        }
        Command::Auth {
            command: AuthCommand::Check { uri, profile },
        } => {
            let target = profile
                .or(uri)
                .ok_or_else(|| Usage("auth check needs a URI or --profile NAME".into()))?;
            out.auth(&lake.auth_check(&target).await?);
        }
        Command::Stats => match lake.cache() {
            Some(cache) => out.stats(&cache.saved_accounting(), Some(cache.dir())),
            None => out.stats(&lake.stats(), None),
        },
        Command::Cache { command } => {
            let Some(cache) = lake.cache() else {
                eprintln!(
                    "lakeroute: error: the catalog enables no cache; add a cache: section to lakeroute.yaml"
                );
                return Ok(ExitCode::FAILURE);
            };
            let swept = match command {
                CacheCommand::Prune => Some(("pruned", cache.prune())),
                CacheCommand::Clear => Some(("cleared", cache.clear())),
                CacheCommand::Stats => None,
            };
            let (entries, bytes) = cache.summary();
            out.cache(
                cache.dir(),
                (entries, bytes, cache.max_bytes()),
                &cache.saved_accounting(),
                swept,
            );
        }
        Command::Catalog {
            command: CatalogCommand::List,
        } => out.catalog(lake.catalog()),
        Command::Partitions {
            uri,
            filters,
            files,
        } => {
            let filters = filters
                .iter()
                .filter(|f| !f.trim().is_empty())
                .map(|f| lakeroute::partition::Filter::parse(f))
                .collect::<Result<Vec<_>>>()?;
            let found = lake.partitions(&uri, &filters).await?;
            let mut listed = Vec::new();
            for p in &found {
                let f = if files {
                    lake.list_all(&p.uri).await?
                } else {
                    Vec::new()
                };
                listed.push((p.clone(), f));
            }
            out.partitions(&listed);
        }
        Command::Plan {
            job,
            cluster,
            advise,
            inline_credentials,
            no_sizes,
        } => {
            let job = lake.load_job(&job)?;
            if advise {
                out.advice(&job.name, &lake.advise(&job).await?);
            } else {
                let mut options = lakeroute::plan::PlanOptions::default()
                    .with_inline_credentials(inline_credentials)
                    .with_skip_sizes(no_sizes);
                if let Some(c) = cluster {
                    options = options.with_cluster(c);
                }
                out.plan(&lake.plan(&job, &options).await?);
            }
        }
        Command::Validate { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

async fn copy(lake: &Lake, src: &str, dst: &str, out: &Output) -> Result<()> {
    let bar = if std::io::stderr().is_terminal() {
        progress_bar(lake.head(src).await?.size)
    } else {
        None
    };
    let cb = |n: u64| bar.as_ref().map_or((), |b| b.set_position(n));
    let n = lake.copy_with_progress(src, dst, Some(&cb)).await?;
    finish_bar(bar);
    out.transfer(src, dst, n);
    Ok(())
}

/// A URI as given, or the `file://` URI of a local path.
fn to_uri(arg: &str) -> Result<String> {
    if arg.contains("://") {
        Ok(arg.to_string())
    } else {
        PhysicalUri::from_local_path(arg).map(|u| u.to_string())
    }
}

/// The local file a download of `src` writes: `local` itself, or `local/<name>` for a folder.
fn local_destination(src: &str, local: &str) -> Result<String> {
    let path = PathBuf::from(local);
    if local.ends_with('/') || path.is_dir() {
        let name = file_name(src)?;
        let name = percent_encoding::percent_decode_str(&name).decode_utf8_lossy();
        to_uri(&path.join(name.as_ref()).display().to_string())
    } else {
        to_uri(local)
    }
}

/// The last segment of a URI, still percent-encoded.
fn file_name(uri: &str) -> Result<String> {
    let trimmed = uri.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(Error::InvalidUri {
            uri: uri.to_string(),
            reason: "cannot tell a file name from this URI; give the destination in full".into(),
        }),
    }
}

fn progress_bar(size: u64) -> Option<ProgressBar> {
    if size < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn finish_bar(bar: Option<ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

fn io_err(action: &'static str, source: std::io::Error) -> Error {
    Error::Io {
        action,
        path: PathBuf::from("-"),
        source,
    }
}
