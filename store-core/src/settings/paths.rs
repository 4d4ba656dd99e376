//! Where the programs keep their files: the embedded database's home and the configuration file.

use std::path::PathBuf;

/// The embedded database's home: `ICASH_HOME`, else `$XDG_DATA_HOME/icash`
/// (`~/.local/share/icash`). As root the server runs as `postgres`, which cannot enter
/// `/root`, so root's default is `/var/lib/icash`.
pub fn icash_home() -> PathBuf {
    if let Some(home) = std::env::var_os("ICASH_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/icash");
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(data).join("icash");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/share/icash")
}

/// `ICASH_CONFIG`, else `$XDG_CONFIG_HOME/icash/config.toml` (`~/.config/icash/config.toml`).
pub fn config_file_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ICASH_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".config")
        });
    base.join("icash/config.toml")
}

/// Where the TUIs' log files go: `<ICASH_HOME or data dir>/logs`.
pub fn log_dir() -> PathBuf {
    icash_home().join("logs")
}
