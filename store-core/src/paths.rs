//! Where the programs keep their files: the embedded database's home (with the logs) and the
//! configuration file, in the XDG base directories (`etcetera`). Without `HOME` the account's
//! home directory from the password database is used; with neither, there is no default and a
//! clear error says what to set (never the current directory).

use std::path::PathBuf;

use etcetera::BaseStrategy;

use crate::error::{Error, Result};

/// The embedded database's home: `ICASH_HOME`, else `$XDG_DATA_HOME/icash`
/// (`~/.local/share/icash`). As root the server runs as `postgres`, which cannot enter
/// `/root`, so root's default is `/var/lib/icash`.
pub fn icash_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("ICASH_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    if nix::unistd::geteuid().is_root() {
        return Ok(PathBuf::from("/var/lib/icash"));
    }
    Ok(xdg("ICASH_HOME")?.data_dir().join("icash"))
}

/// `ICASH_CONFIG`, else `$XDG_CONFIG_HOME/icash/config.toml` (`~/.config/icash/config.toml`).
pub fn config_file_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ICASH_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    Ok(xdg("ICASH_CONFIG")?.config_dir().join("icash/config.toml"))
}

/// Where the TUIs' log files go: `<ICASH_HOME or data dir>/logs`.
pub fn log_dir() -> Result<PathBuf> {
    Ok(icash_home()?.join("logs"))
}

/// The XDG directories; `instead` names the variable that makes them unnecessary.
fn xdg(instead: &str) -> Result<etcetera::base_strategy::Xdg> {
    etcetera::base_strategy::Xdg::new().map_err(|e| {
        Error::Invalid(format!(
            "cannot find the home directory ({e}): set HOME, or {instead}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xdg_variables_place_the_files_and_icash_variables_win() {
        // One test for all the variables: the environment is the process's, shared by tests.
        // SAFETY: no other test of this binary reads or writes these variables (HOME is put
        // back at the end).
        let home = std::env::var_os("HOME");
        unsafe {
            std::env::remove_var("ICASH_CONFIG");
            std::env::set_var("XDG_CONFIG_HOME", "/xdg/config");
            std::env::set_var("HOME", "/home/ann");
        }
        assert_eq!(
            config_file_path().unwrap(),
            PathBuf::from("/xdg/config/icash/config.toml")
        );
        unsafe { std::env::remove_var("XDG_CONFIG_HOME") };
        assert_eq!(
            config_file_path().unwrap(),
            PathBuf::from("/home/ann/.config/icash/config.toml")
        );
        // Without HOME: the account's home from the password database, never ".".
        unsafe { std::env::remove_var("HOME") };
        let account = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .expect("the test's account");
        assert_eq!(
            config_file_path().unwrap(),
            account.dir.join(".config/icash/config.toml")
        );
        unsafe { std::env::set_var("ICASH_CONFIG", "/etc/icash.toml") };
        assert_eq!(
            config_file_path().unwrap(),
            PathBuf::from("/etc/icash.toml")
        );
        unsafe { std::env::set_var("ICASH_HOME", "/srv/icash") };
        assert_eq!(icash_home().unwrap(), PathBuf::from("/srv/icash"));
        assert_eq!(log_dir().unwrap(), PathBuf::from("/srv/icash/logs"));
        unsafe {
            std::env::remove_var("ICASH_HOME");
            std::env::remove_var("ICASH_CONFIG");
            if let Some(home) = home {
                std::env::set_var("HOME", home);
            }
        }
    }
}
