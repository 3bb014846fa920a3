//! Property tests for logical URIs: formatting round-trips, and no key that resolves can leave
//! its dataset's physical root, however it is escaped.

use lakeroute::{LakeUri, StorageUri};
use lakeroute_tests::{TempCatalog, descriptor};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_-]{1,63}"
}

/// Decoded key segments: any characters but those a key may not hold ('/', '\\', controls,
/// `.`/`..` and their look-alikes), which the escape property below covers.
fn segment() -> impl Strategy<Value = String> {
    "[^/\\\\\\x00-\\x1f\\x7f]{1,12}".prop_filter("a valid key segment", |s| {
        StorageUri::parse("lake://a/b/v1")
            .and_then(|u| u.join(s))
            .is_ok()
    })
}

/// Raw key text built from pieces chosen to look like escapes.
fn hostile_key() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(".."),
        Just("."),
        Just("%2e%2e"),
        Just("%2E%2e"),
        Just("%2e"),
        Just("%2F"),
        Just("%2f"),
        Just("%5C"),
        Just("/"),
        Just("//"),
        Just("\\"),
        Just("\u{FF0E}\u{FF0E}"),
        Just("\u{FF0F}"),
        Just("\u{2025}"),
        Just("\u{2215}"),
        Just("\u{FF3C}"),
        Just("%"),
        Just("%25"),
        Just("%252e"),
        Just("a"),
        Just("b c"),
        Just("é"),
        Just("x.parquet"),
        Just("%00"),
        Just("%C0%AE"),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// format(parse(u)) == u for every canonical URI, and parsing what was formatted gives back
    /// the same value.
    #[test]
    fn format_parse_round_trip(
        domain in name(), dataset in name(), version in 0u32..10_000,
        key in prop::collection::vec(segment(), 0..5), trailing in any::<bool>(),
    ) {
        let root = format!("lake://{domain}/{dataset}/v{version}");
        let base = StorageUri::parse(&root).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let joined = if key.is_empty() { base } else {
            let mut k = key.join("/");
            if trailing { k.push('/'); }
            base.join(&k).map_err(|e| TestCaseError::fail(e.to_string()))?
        };
        let text = joined.to_string();
        let parsed = LakeUri::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed.to_string(), text.clone());
        prop_assert_eq!(parsed.key_segments(), key.as_slice());
        prop_assert_eq!(parsed.dataset().domain(), domain.to_lowercase());
    }

    /// Any string that parses formats to a canonical form that parses to the same value.
    #[test]
    fn parse_format_is_stable(rest in "[a-zA-Z0-9_/%. é-]{0,40}") {
        let text = format!("lake://{rest}");
        if let Ok(u) = LakeUri::parse(&text) {
            let again = LakeUri::parse(&u.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(again.to_string(), u.to_string());
            prop_assert_eq!(again, u);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Every key that resolves stays inside its dataset's physical root, segment by segment.
    #[test]
    fn resolved_keys_stay_inside_the_dataset(raw in hostile_key()) {
        let cat = TempCatalog::new(&[
            ("lakeroute.yaml", "storage:\n  m:\n    provider: memory\n    prefix: lake\n"),
            ("d/ds.yaml", &descriptor("ds", 1, "d", "m", "root/ds")),
            ("d/other.yaml", &descriptor("other", 1, "d", "m", "root/other")),
        ]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let lake = cat.lake().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let uri = format!("lake://d/ds/v1/{raw}");
        if let Ok(route) = lake.resolve(&uri) {
            let path = route.path().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let parts: Vec<String> = path.parts().map(|p| p.as_ref().to_string()).collect();
            prop_assert!(parts.len() >= 3, "{uri} resolved above the root: {parts:?}");
            prop_assert_eq!(&parts[..3], &["lake".to_string(), "root".into(), "ds".into()][..], "{} left its root: {:?}", uri, parts);
            for seg in &parts[3..] {
                prop_assert!(seg != "." && seg != ".." && !seg.contains('/') && !seg.contains('\\'),
                    "{} resolved to segment {:?}", uri, seg);
                prop_assert!(!seg.chars().any(char::is_control), "{} has a control character", uri);
            }
            let physical = route.physical();
            prop_assert!(physical.key_segments().starts_with(&["lake".to_string(), "root".into(), "ds".into()]));
        }
    }
}
