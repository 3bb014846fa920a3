//! Logical `lake://` URIs and the physical URIs accepted beside them.
//!
//! A logical URI names data by what it is, never by where it lives:
//! `lake://<domain>/<dataset>/v<major>[/<key>]`. The catalog turns it into a physical place.
//! Physical URIs (`s3://`, `abfss://`, `az://`, `file://`, `memory://`) are accepted wherever a
//! logical one is, so code can move over one path at a time.
//!
//! Keys are `/`-separated segments, percent-decoded exactly once. A segment that could step
//! outside its root on any store or file system (`.`, `..`, an encoded `/`, a backslash, a
//! Unicode look-alike of any of these, a control character) is rejected at parse time, so
//! every key that parses stays inside its dataset.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

const LAKE_SCHEME: &str = "lake://";
const MAX_NAME_LEN: usize = 63;

/// Characters percent-encoded when a key segment is written back into a URI.
const SEGMENT_ENCODE: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'#').add(b'?');

/// Identifies one dataset version: `domain/name/vN`, lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetId {
    domain: String,
    name: String,
    version: u32,
}

impl DatasetId {
    /// Builds an id, checking and lower-casing the names.
    ///
    /// ```
    /// let id = lakeroute::DatasetId::new("Finance", "customer", 1).unwrap();
    /// assert_eq!(id.to_string(), "finance/customer/v1");
    /// ```
    pub fn new(domain: &str, name: &str, version: u32) -> Result<Self> {
        let shown = format!("{domain}/{name}/v{version}");
        Ok(Self {
            domain: parse_name(domain, "domain").map_err(|r| Error::invalid_uri(&shown, r))?,
            name: parse_name(name, "dataset").map_err(|r| Error::invalid_uri(&shown, r))?,
            version,
        })
    }

    /// The domain (team) that owns the dataset.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The dataset's name within its domain.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The major version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The dataset root as a logical URI.
    pub fn root_uri(&self) -> LakeUri {
        LakeUri {
            dataset: self.clone(),
            key: Vec::new(),
            trailing_slash: false,
        }
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/v{}", self.domain, self.name, self.version)
    }
}

/// A parsed logical URI: `lake://<domain>/<dataset>/v<major>[/<key>]`.
///
/// ```
/// use lakeroute::LakeUri;
/// let uri: LakeUri = "lake://Finance/customer/v1/country=IT/part%200.parquet".parse().unwrap();
/// assert_eq!(uri.dataset().domain(), "finance");
/// assert_eq!(uri.key_segments(), ["country=IT", "part 0.parquet"]);
/// assert_eq!(uri.to_string(), "lake://finance/customer/v1/country=IT/part%200.parquet");
/// assert!("lake://finance/customer/v1/../payroll/x".parse::<LakeUri>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LakeUri {
    dataset: DatasetId,
    key: Vec<String>,
    trailing_slash: bool,
}

impl LakeUri {
    /// Parses a logical URI.
    pub fn parse(uri: &str) -> Result<Self> {
        let rest = strip_scheme(uri, LAKE_SCHEME)
            .ok_or_else(|| Error::invalid_uri(uri, "a logical URI starts with lake://"))?;
        let mut parts = rest.splitn(4, '/');
        let domain = parts.next().unwrap_or_default();
        let dataset = parts.next().unwrap_or_default();
        let version = parts.next().unwrap_or_default();
        let key = parts.next();
        let domain = parse_name(domain, "domain").map_err(|r| Error::invalid_uri(uri, r))?;
        let name = parse_name(dataset, "dataset").map_err(|r| Error::invalid_uri(uri, r))?;
        let version = parse_version(version).map_err(|r| Error::invalid_uri(uri, r))?;
        let (key, trailing_slash) = match key {
            None => (Vec::new(), false),
            Some("") => (Vec::new(), true),
            Some(k) => parse_key(uri, k)?,
        };
        Ok(Self {
            dataset: DatasetId {
                domain,
                name,
                version,
            },
            key,
            trailing_slash,
        })
    }

    /// The dataset this URI points into.
    pub fn dataset(&self) -> &DatasetId {
        &self.dataset
    }

    /// The decoded key segments below the dataset root (empty for the root itself).
    pub fn key_segments(&self) -> &[String] {
        &self.key
    }

    /// The decoded key, segments joined by `/` (empty for the dataset root).
    pub fn key(&self) -> String {
        self.key.join("/")
    }

    /// True when the URI ends in `/` and so names a prefix rather than an object.
    pub fn is_prefix(&self) -> bool {
        self.trailing_slash
    }

    /// True for the dataset root (`lake://d/n/vN` or `lake://d/n/vN/`).
    pub fn is_dataset_root(&self) -> bool {
        self.key.is_empty()
    }

    /// A URI for `child` below this one; `child` is a decoded key relative to this URI.
    pub fn join(&self, child: &str) -> Result<Self> {
        let mut key = self.key.clone();
        let shown = join_for_display(&self.to_string(), child);
        for seg in child.split('/').filter(|s| !s.is_empty()) {
            check_segment(&shown, seg)?;
            key.push(seg.to_string());
        }
        Ok(Self {
            dataset: self.dataset.clone(),
            key,
            trailing_slash: child.ends_with('/'),
        })
    }
}

impl fmt::Display for LakeUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{LAKE_SCHEME}{}", self.dataset)?;
        write_key(f, &self.key, self.trailing_slash)
    }
}

impl FromStr for LakeUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Which kind of physical store a [`PhysicalUri`] addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhysicalScheme {
    /// `s3://bucket/key` (also `s3a://`).
    S3,
    /// `abfss://container@account.dfs.core.windows.net/key`, `az://container/key`.
    Azure,
    /// `file:///absolute/path`.
    File,
    /// `memory://name/key`: a process-local in-memory store, for tests and notebooks.
    Memory,
}

/// A parsed physical URI.
///
/// ```
/// use lakeroute::{PhysicalUri, PhysicalScheme};
/// let uri = PhysicalUri::parse("abfss://raw@acme.dfs.core.windows.net/sales/2024.csv").unwrap();
/// assert_eq!(uri.scheme(), PhysicalScheme::Azure);
/// assert_eq!(uri.container(), "raw");
/// assert_eq!(uri.account(), Some("acme"));
/// assert_eq!(uri.key(), "sales/2024.csv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhysicalUri {
    scheme: PhysicalScheme,
    container: String,
    account: Option<String>,
    key: Vec<String>,
    trailing_slash: bool,
}

impl PhysicalUri {
    /// Parses a physical URI.
    pub fn parse(uri: &str) -> Result<Self> {
        let (scheme, rest) = if let Some(rest) =
            strip_scheme(uri, "s3://").or_else(|| strip_scheme(uri, "s3a://"))
        {
            (PhysicalScheme::S3, rest)
        } else if let Some(rest) =
            strip_scheme(uri, "abfss://").or_else(|| strip_scheme(uri, "abfs://"))
        {
            (PhysicalScheme::Azure, rest)
        } else if let Some(rest) =
            strip_scheme(uri, "az://").or_else(|| strip_scheme(uri, "azure://"))
        {
            (PhysicalScheme::Azure, rest)
        } else if let Some(rest) = strip_scheme(uri, "file://") {
            (PhysicalScheme::File, rest)
        } else if let Some(rest) = strip_scheme(uri, "memory://") {
            (PhysicalScheme::Memory, rest)
        } else {
            return Err(Error::invalid_uri(
                uri,
                "unknown scheme; use lake://, s3://, abfss://, az://, file:// or memory://",
            ));
        };
        let (authority, path) = match scheme {
            PhysicalScheme::File => {
                let path = rest.strip_prefix('/').ok_or_else(|| {
                    Error::invalid_uri(uri, "a file URI needs an absolute path: file:///abs/path")
                })?;
                ("", path)
            }
            _ => rest.split_once('/').unwrap_or((rest, "")),
        };
        let (container, account) = match scheme {
            PhysicalScheme::S3 => {
                if authority.is_empty() {
                    return Err(Error::invalid_uri(uri, "missing bucket: s3://bucket/key"));
                }
                (authority.to_string(), None)
            }
            PhysicalScheme::Azure => match authority.split_once('@') {
                Some((container, host)) => {
                    let account = host.split('.').next().unwrap_or_default();
                    if container.is_empty() || account.is_empty() {
                        return Err(Error::invalid_uri(
                            uri,
                            "expected abfss://container@account.dfs.core.windows.net/key",
                        ));
                    }
                    (container.to_string(), Some(account.to_string()))
                }
                None if authority.is_empty() => {
                    return Err(Error::invalid_uri(
                        uri,
                        "missing container: az://container/key",
                    ));
                }
                None => (authority.to_string(), None),
            },
            PhysicalScheme::File => (String::new(), None),
            PhysicalScheme::Memory => (authority.to_string(), None),
        };
        let (key, trailing_slash) = if path.is_empty() {
            (Vec::new(), rest.ends_with('/') && !rest.is_empty())
        } else {
            parse_key(uri, path)?
        };
        Ok(Self {
            scheme,
            container,
            account,
            key,
            trailing_slash,
        })
    }

    /// The kind of store.
    pub fn scheme(&self) -> PhysicalScheme {
        self.scheme
    }

    /// The bucket (S3), container (Azure) or store name (memory); empty for files.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The Azure storage account, when the URI names one.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The decoded key segments (for files: the absolute path's segments).
    pub fn key_segments(&self) -> &[String] {
        &self.key
    }

    /// The decoded key, joined by `/`.
    pub fn key(&self) -> String {
        self.key.join("/")
    }

    /// True when the URI ends in `/` (a prefix).
    pub fn is_prefix(&self) -> bool {
        self.trailing_slash
    }

    /// The `file://` URI of a local path; relative paths are taken from the current folder.
    ///
    /// ```
    /// let uri = lakeroute::PhysicalUri::from_local_path("/tmp/a b/../c.txt").unwrap();
    /// assert_eq!(uri.to_string(), "file:///tmp/c.txt");
    /// ```
    pub fn from_local_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let abs =
            std::path::absolute(path).map_err(|e| Error::invalid_uri(&shown, e.to_string()))?;
        let mut key: Vec<String> = Vec::new();
        for c in abs.components() {
            match c {
                std::path::Component::Normal(s) => {
                    let s = s
                        .to_str()
                        .ok_or_else(|| Error::invalid_uri(&shown, "the path is not valid UTF-8"))?;
                    check_segment(&shown, s)?;
                    key.push(s.to_string());
                }
                std::path::Component::ParentDir => {
                    key.pop();
                }
                _ => {}
            }
        }
        let trailing_slash = shown.ends_with('/') && !key.is_empty();
        Ok(Self {
            scheme: PhysicalScheme::File,
            container: String::new(),
            account: None,
            key,
            trailing_slash,
        })
    }

    /// A URI for `child` below this one; `child` is a decoded key relative to this URI.
    pub fn join(&self, child: &str) -> Result<Self> {
        let shown = join_for_display(&self.to_string(), child);
        let mut key = self.key.clone();
        for seg in child.split('/').filter(|s| !s.is_empty()) {
            check_segment(&shown, seg)?;
            key.push(seg.to_string());
        }
        Ok(self.with_key(key, child.ends_with('/')))
    }

    /// A physical URI from its parts.
    pub(crate) fn from_parts(
        scheme: PhysicalScheme,
        container: &str,
        account: Option<&str>,
        key: Vec<String>,
    ) -> Self {
        Self {
            scheme,
            container: container.to_string(),
            account: account.map(str::to_string),
            key,
            trailing_slash: false,
        }
    }

    /// The same place with a different key.
    pub(crate) fn with_key(&self, key: Vec<String>, trailing_slash: bool) -> Self {
        Self {
            key,
            trailing_slash,
            ..self.clone()
        }
    }
}

impl fmt::Display for PhysicalUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.scheme, &self.account) {
            (PhysicalScheme::S3, _) => write!(f, "s3://{}", self.container)?,
            (PhysicalScheme::Azure, Some(account)) => write!(
                f,
                "abfss://{}@{account}.dfs.core.windows.net",
                self.container
            )?,
            (PhysicalScheme::Azure, None) => write!(f, "az://{}", self.container)?,
            (PhysicalScheme::File, _) => write!(f, "file://")?,
            (PhysicalScheme::Memory, _) => write!(f, "memory://{}", self.container)?,
        }
        if self.scheme == PhysicalScheme::File && self.key.is_empty() {
            return write!(f, "/");
        }
        write_key(f, &self.key, self.trailing_slash)
    }
}

/// Any URI lakeroute accepts: logical or physical.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StorageUri {
    /// `lake://domain/dataset/vN/key`.
    Lake(LakeUri),
    /// `s3://`, `abfss://`, `az://`, `file://`, `memory://`.
    Physical(PhysicalUri),
}

impl StorageUri {
    /// Parses either kind, choosing by scheme.
    pub fn parse(uri: &str) -> Result<Self> {
        if strip_scheme(uri, LAKE_SCHEME).is_some() {
            LakeUri::parse(uri).map(Self::Lake)
        } else {
            PhysicalUri::parse(uri).map(Self::Physical)
        }
    }

    /// A URI for `child` below this one; `child` is a decoded key (not percent-encoded).
    ///
    /// ```
    /// let base = lakeroute::StorageUri::parse("s3://bucket/raw/").unwrap();
    /// assert_eq!(base.join("50%/a b.csv").unwrap().to_string(), "s3://bucket/raw/50%25/a%20b.csv");
    /// ```
    pub fn join(&self, child: &str) -> Result<Self> {
        match self {
            Self::Lake(u) => u.join(child).map(Self::Lake),
            Self::Physical(u) => u.join(child).map(Self::Physical),
        }
    }

    /// True when the URI ends in `/`.
    pub fn is_prefix(&self) -> bool {
        match self {
            Self::Lake(u) => u.is_prefix(),
            Self::Physical(u) => u.is_prefix(),
        }
    }
}

impl fmt::Display for StorageUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lake(u) => u.fmt(f),
            Self::Physical(u) => u.fmt(f),
        }
    }
}

impl FromStr for StorageUri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn join_for_display(base: &str, child: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{child}")
    } else {
        format!("{base}/{child}")
    }
}

fn strip_scheme<'a>(uri: &'a str, scheme: &str) -> Option<&'a str> {
    let head = uri.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &uri[scheme.len()..])
}

/// Checks a domain or dataset name and lower-cases it.
pub(crate) fn parse_name(name: &str, what: &str) -> std::result::Result<String, String> {
    if name.is_empty() {
        return Err(format!(
            "missing {what}: expected lake://<domain>/<dataset>/v<major>[/<key>]"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} {name:?} is {} characters long; at most {MAX_NAME_LEN} are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "{what} {name:?} contains {c:?}; only letters a-z, digits, '_' and '-' are allowed"
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// Parses `v<major>`: `v1`, `V12`; no leading zeros.
pub(crate) fn parse_version(text: &str) -> std::result::Result<u32, String> {
    let bad = || format!("version {text:?} must be v<major>, for example v1");
    let digits = text
        .strip_prefix('v')
        .or_else(|| text.strip_prefix('V'))
        .ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(format!(
            "version {text:?} has a leading zero; write v{}",
            digits.trim_start_matches('0')
        ));
    }
    digits.parse().map_err(|_| bad())
}

/// Splits and decodes a key; returns the segments and whether it ended in `/`.
fn parse_key(uri: &str, raw: &str) -> Result<(Vec<String>, bool)> {
    if let Some(c) = raw
        .bytes()
        .find(|b| *b == b'?' || *b == b'#')
        .map(char::from)
    {
        return Err(Error::invalid_uri(
            uri,
            format!(
                "{c:?} is not allowed in a key; percent-encode it ({})",
                if c == '?' { "%3F" } else { "%23" }
            ),
        ));
    }
    let trailing_slash = raw.ends_with('/');
    let body = raw.strip_suffix('/').unwrap_or(raw);
    let mut key = Vec::new();
    for raw_seg in body.split('/') {
        if raw_seg.is_empty() {
            return Err(Error::invalid_uri(
                uri,
                "empty key segment ('//'); remove the doubled slash",
            ));
        }
        let seg = decode_segment(uri, raw_seg)?;
        check_segment(uri, &seg)?;
        key.push(seg);
    }
    Ok((key, trailing_slash))
}

fn decode_segment(uri: &str, raw: &str) -> Result<String> {
    let bytes = raw.as_bytes();
    if !bytes.contains(&b'%') {
        // Nothing to decode, and a `&str` is already UTF-8.
        return Ok(raw.to_string());
    }
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let ok = bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !ok {
                return Err(Error::invalid_uri(
                    uri,
                    format!("bad percent-escape in segment {raw:?}; write a literal '%' as %25"),
                ));
            }
        }
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::invalid_uri(uri, format!("segment {raw:?} does not decode to UTF-8")))
}

/// Rejects a decoded segment that is empty, a control character carrier, or could escape.
pub(crate) fn check_segment(uri: &str, seg: &str) -> Result<()> {
    if seg.is_empty() {
        return Err(Error::invalid_uri(uri, "empty key segment"));
    }
    let control = if seg.is_ascii() {
        seg.bytes().any(|b| b.is_ascii_control())
    } else {
        seg.chars().any(char::is_control)
    };
    if control {
        return Err(Error::invalid_uri(
            uri,
            format!("segment {seg:?} contains a control character"),
        ));
    }
    // ASCII is its own NFKC form; only other text can hide a look-alike.
    if is_escape(seg) || (!seg.is_ascii() && is_escape(&seg.nfkc().collect::<String>())) {
        return Err(Error::PathEscape {
            uri: uri.to_string(),
            segment: seg.to_string(),
        });
    }
    Ok(())
}

fn is_escape(seg: &str) -> bool {
    if seg == "." || seg == ".." {
        return true;
    }
    // Only ASCII separators can occur in ASCII text; it is nearly every key, so one byte pass.
    if seg.is_ascii() {
        return seg.bytes().any(|b| b == b'/' || b == b'\\');
    }
    seg.chars().any(|c| {
        matches!(
            c,
            '/' | '\\'
                | '\u{2215}' // DIVISION SLASH
                | '\u{2044}' // FRACTION SLASH
                | '\u{29F5}' // REVERSE SOLIDUS OPERATOR
                | '\u{FE68}' // SMALL REVERSE SOLIDUS
        )
    })
}

fn write_key(f: &mut fmt::Formatter<'_>, key: &[String], trailing_slash: bool) -> fmt::Result {
    for seg in key {
        write!(f, "/{}", utf8_percent_encode(seg, SEGMENT_ENCODE))?;
    }
    if trailing_slash {
        f.write_str("/")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_grammar() -> Result<()> {
        let u = LakeUri::parse("lake://Finance/Customer/V1")?;
        assert_eq!(u.to_string(), "lake://finance/customer/v1");
        assert!(u.is_dataset_root() && !u.is_prefix());
        let u = LakeUri::parse("lake://finance/customer/v1/")?;
        assert!(u.is_dataset_root() && u.is_prefix());
        let u = LakeUri::parse("lake://finance/customer/v1/a%2520b/c/")?;
        assert_eq!(u.key_segments(), ["a%20b", "c"]);
        assert_eq!(u.to_string(), "lake://finance/customer/v1/a%2520b/c/");
        Ok(())
    }

    #[test]
    fn rejects_bad_names_and_versions() {
        for bad in [
            "lake://",
            "lake://finance",
            "lake://finance/customer",
            "lake://finance/customer/1",
            "lake://finance/customer/v01",
            "lake://finance/customer/vx",
            "lake://fin ance/customer/v1",
            "lake://finance/cust.omer/v1",
            "s4://bucket/key",
        ] {
            assert!(StorageUri::parse(bad).is_err(), "{bad} should be rejected");
        }
        let long = format!("lake://{}/x/v1", "a".repeat(64));
        assert!(LakeUri::parse(&long).is_err());
    }

    #[test]
    fn rejects_escapes() {
        for bad in [
            "lake://f/d/v1/../x",
            "lake://f/d/v1/%2e%2E/x",
            "lake://f/d/v1/a%2Fb",
            "lake://f/d/v1/a%5Cb",
            "lake://f/d/v1/a\\b",
            "lake://f/d/v1/\u{FF0E}\u{FF0E}/x",
            "lake://f/d/v1/a\u{FF0F}b",
            "lake://f/d/v1/a\u{2215}b",
            "lake://f/d/v1/\u{2025}",
        ] {
            assert!(
                matches!(LakeUri::parse(bad), Err(Error::PathEscape { .. })),
                "{bad} should be a path escape"
            );
        }
        for bad in [
            "lake://f/d/v1/a//b",
            "lake://f/d/v1/a%0Ab",
            "lake://f/d/v1/%zz",
        ] {
            assert!(
                matches!(LakeUri::parse(bad), Err(Error::InvalidUri { .. })),
                "{bad} should be invalid"
            );
        }
    }

    #[test]
    fn physical_uris() -> Result<()> {
        let u = PhysicalUri::parse("s3://bucket/a/b.parquet")?;
        assert_eq!(
            (u.scheme(), u.container(), u.key().as_str()),
            (PhysicalScheme::S3, "bucket", "a/b.parquet")
        );
        let u = PhysicalUri::parse("az://raw/x")?;
        assert_eq!((u.container(), u.account()), ("raw", None));
        let u = PhysicalUri::parse("file:///tmp/x%20y/z")?;
        assert_eq!(u.key_segments(), ["tmp", "x y", "z"]);
        assert_eq!(u.to_string(), "file:///tmp/x%20y/z");
        assert!(PhysicalUri::parse("file://relative/path").is_err());
        assert!(PhysicalUri::parse("s3://bucket/../etc").is_err());
        Ok(())
    }
}
