//! A credential cache that refreshes ahead of expiry, once, with back-off after failures.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

/// The most a credential is refreshed ahead of its expiry.
const MAX_AHEAD: Duration = Duration::from_secs(300);
/// Back-off after a failed refresh, doubled each time up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct State<T> {
    value: Option<(Arc<T>, Option<SystemTime>, SystemTime)>,
    failed: Option<(SystemTime, Duration, String)>,
}

/// Caches one credential; see the module docs.
#[derive(Debug)]
pub struct RefreshCache<T> {
    state: Mutex<State<T>>,
}

impl<T> Default for RefreshCache<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                value: None,
                failed: None,
            }),
        }
    }
}

/// When to refresh a credential fetched at `fetched` that expires at `expires`: a quarter of
/// its lifetime early, at most five minutes early.
fn refresh_at(fetched: SystemTime, expires: SystemTime) -> SystemTime {
    let lifetime = expires.duration_since(fetched).unwrap_or_default();
    expires - (lifetime / 4).min(MAX_AHEAD)
}

impl<T> RefreshCache<T> {
    /// The cached credential, refreshed with `fetch` when it is missing or due. Callers that
    /// arrive during a refresh wait for it instead of starting their own.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<Arc<T>, String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(T, Option<SystemTime>), E>>,
        E: std::fmt::Display,
    {
        let mut state = self.state.lock().await;
        let now = SystemTime::now();
        if let Some((value, expires, fetched)) = &state.value {
            let due = expires.is_some_and(|e| now >= refresh_at(*fetched, e));
            if !due {
                return Ok(Arc::clone(value));
            }
        }
        if let Some((at, wait, msg)) = &state.failed
            && now < *at + *wait
        {
            // Still backing off: keep using a credential that has not expired yet.
            if let Some((value, expires, _)) = &state.value
                && expires.is_none_or(|e| now < e)
            {
                return Ok(Arc::clone(value));
            }
            return Err(msg.clone());
        }
        match fetch().await {
            Ok((value, expires)) => {
                let value = Arc::new(value);
                state.value = Some((Arc::clone(&value), expires, SystemTime::now()));
                state.failed = None;
                Ok(value)
            }
            Err(e) => {
                let wait = state
                    .failed
                    .as_ref()
                    .map_or(FIRST_BACKOFF, |(_, w, _)| (*w * 2).min(MAX_BACKOFF));
                let msg = e.to_string();
                state.failed = Some((SystemTime::now(), wait, msg.clone()));
                match &state.value {
                    Some((value, expires, _)) if expires.is_none_or(|x| SystemTime::now() < x) => {
                        Ok(Arc::clone(value))
                    }
                    _ => Err(msg),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn refreshes_once_ahead_of_expiry_and_backs_off() {
        let cache: RefreshCache<u32> = RefreshCache::default();
        let calls = AtomicU32::new(0);
        let fetch = || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, String>((n, Some(SystemTime::now() + Duration::from_secs(40))))
        };
        assert_eq!(cache.get(fetch).await.map(|v| *v), Ok(0));
        assert_eq!(cache.get(fetch).await.map(|v| *v), Ok(0), "cached");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Refreshed a quarter of the lifetime early.
        let at = refresh_at(
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH + Duration::from_secs(60),
        );
        assert_eq!(at, SystemTime::UNIX_EPOCH + Duration::from_secs(45));
        let failing: RefreshCache<u32> = RefreshCache::default();
        let err = failing
            .get(|| async { Err::<(u32, Option<SystemTime>), _>("no source") })
            .await;
        assert_eq!(err.err().as_deref(), Some("no source"));
        let again = failing.get(|| async { Ok::<_, String>((1, None)) }).await;
        assert!(
            again.is_err(),
            "backing off: the source is not asked again at once"
        );
    }
}
