//! File descriptors: the soft `RLIMIT_NOFILE` is raised to the hard limit
//! at start (every connection is one descriptor, and the soft limit is
//! often 1,024), and the connection cap is kept below what is left after
//! the descriptors latchkey needs for itself.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for everything but client connections (the listener,
/// the database pool, Redis, the BFF's upstream connections, log files):
/// a quarter of the limit, at most 256.
fn reserved(soft: u64) -> u64 {
    (soft / 4).min(256)
}

/// The soft limit before and after, and the hard limit (`None`: unlimited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoFile {
    pub before: Option<u64>,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. An unlimited hard
/// limit is left alone (the kernel caps descriptors elsewhere).
pub fn raise_nofile() -> std::io::Result<NoFile> {
    let limit = getrlimit(Resource::Nofile);
    let before = limit.current;
    let Some(hard) = limit.maximum else {
        return Ok(NoFile {
            before,
            soft: before,
            hard: None,
        });
    };
    if before.is_none_or(|soft| soft < hard) {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            },
        )?;
    }
    Ok(NoFile {
        before,
        soft: getrlimit(Resource::Nofile).current,
        hard: Some(hard),
    })
}

/// The connection cap under the soft limit `soft`: `configured` when the
/// descriptors allow it, otherwise what they allow (at least 1), with a
/// warning.
pub fn connection_cap(configured: usize, soft: Option<u64>) -> usize {
    let Some(soft) = soft else {
        return configured;
    };
    let room = usize::try_from(soft.saturating_sub(reserved(soft)).max(1)).unwrap_or(usize::MAX);
    if configured > room {
        tracing::warn!(
            max_connections = configured,
            nofile = soft,
            using = room,
            "server.max_connections exceeds what RLIMIT_NOFILE allows; lowering it"
        );
        room
    } else {
        configured
    }
}

/// Logs the outcome of [`raise_nofile`] (at start).
pub fn log(result: &std::io::Result<NoFile>) {
    match result {
        Ok(n) => tracing::info!(
            soft_before = n.before,
            soft = n.soft,
            hard = n.hard,
            "RLIMIT_NOFILE"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot raise RLIMIT_NOFILE"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn i10_04_soft_nofile_limit_is_raised_to_the_hard_limit() {
        let hard = getrlimit(Resource::Nofile).maximum;
        // Start from a soft limit below the hard one, as under a common
        // default of 1,024.
        if let Some(hard) = hard {
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(hard.min(512)),
                    maximum: Some(hard),
                },
            )
            .unwrap();
        }
        let n = raise_nofile().unwrap();
        assert_eq!(n.soft, hard.or(n.before));
        assert_eq!(getrlimit(Resource::Nofile).current, n.soft);
    }

    #[test]
    fn the_connection_cap_leaves_room_for_latchkeys_own_descriptors() {
        assert_eq!(connection_cap(10_000, Some(1024)), 1024 - 256);
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(100, Some(64)), 48);
        assert_eq!(connection_cap(100, Some(1)), 1);
        assert_eq!(connection_cap(100, None), 100);
    }
}
