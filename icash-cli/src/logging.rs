//! Logging: the TUIs write to a daily-rotated file in a directory they are given (never to the
//! screen); the command line writes to stderr. `RUST_LOG` chooses what is logged.

use std::path::Path;

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Logs to `<dir>/<program>.log.YYYY-MM-DD`. Keep the guard alive until exit: dropping it
/// flushes the file. Returns None (and logs nothing) if the directory cannot be created.
pub fn init_file_logging(
    program: &str,
    dir: &Path,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(dir).ok()?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(format!("{program}.log"))
        .max_log_files(7)
        .build(dir)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Logs warnings (or what `RUST_LOG` says) to stderr.
pub fn init_stderr_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}
