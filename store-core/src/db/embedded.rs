//! The embedded default: a private PostgreSQL server that store-core creates and starts itself
//! with the binaries installed on the machine, listening only on a Unix socket in its home.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::db::target::ConnectSettings;
use crate::error::{Error, Result};

/// What a socket directory may not hold as is in a URL's query (`?host=...`).
const SOCKET_DIR_IN_QUERY: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b'%')
    .add(b'/')
    .add(b' ')
    .add(b'&')
    .add(b'#')
    .add(b'?');

/// The database the programs use inside the embedded server.
pub const DATABASE_NAME: &str = "icash";
const SUPERUSER: &str = "postgres";
/// The port (and socket name) unless `with_port` says otherwise.
pub const DEFAULT_PORT: u16 = 5432;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerStatus {
    NotCreated,
    Stopped,
    Running,
}

impl std::fmt::Display for ServerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ServerStatus::NotCreated => "not created",
            ServerStatus::Stopped => "stopped",
            ServerStatus::Running => "running",
        })
    }
}

#[derive(Clone, Debug)]
pub struct LocalServer {
    home: PathBuf,
    bindir: PathBuf,
    run_as: Option<nix::unistd::User>,
    /// Extra `postgresql.conf` lines written when the cluster is created.
    settings: Vec<(String, String)>,
    /// initdb --no-sync: for throwaway servers only.
    no_sync: bool,
    /// The server's port: the socket's name, and the TCP port if it listens on one.
    port: u16,
    /// `pg_hba.conf` written when the cluster is created, instead of initdb's (trust).
    hba: Option<String>,
}

impl LocalServer {
    pub fn new(home: impl Into<PathBuf>) -> Result<Self> {
        let home = absolute(home.into())?;
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name(SUPERUSER)
                .ok()
                .flatten()
                .ok_or_else(|| Error::LocalServer {
                    dir: home.clone(),
                    message: "PostgreSQL refuses to run as root and there is no `postgres` \
                              account to run it as; create one or set DATABASE_URL"
                        .into(),
                })?;
            Some(user)
        } else {
            None
        };
        Ok(LocalServer {
            home,
            bindir: find_postgres_bindir()?,
            run_as,
            settings: Vec::new(),
            no_sync: false,
            port: DEFAULT_PORT,
            hba: None,
        })
    }

    /// A new server in a fresh directory under /tmp (reachable by the `postgres` account when
    /// run as root). Not started. The caller removes it (`stop` then delete `home`).
    pub fn in_temp_dir(prefix: &str) -> Result<Self> {
        let home = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .map_err(|e| Error::io("creating a temporary directory", e))?
            .keep();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(format!("chmod {}", home.display()), e))?;
        LocalServer::new(home)
    }

    /// A server for tests: no fsync, small, quick to create.
    pub fn throwaway(mut self) -> Self {
        self.no_sync = true;
        for (k, v) in [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("max_connections", "200"),
            ("shared_buffers", "'64MB'"),
        ] {
            self.settings.push((k.into(), v.into()));
        }
        self
    }

    pub fn with_setting(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.into(), value.into()));
        self
    }

    /// Another port than 5432, written into `postgresql.conf` when the cluster is created.
    /// Only the socket uses it unless `listen_addresses` is set too (`with_setting`).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The whole `pg_hba.conf`, written when the cluster is created (for tests of password
    /// authentication; the embedded default trusts its private socket).
    pub fn with_hba(mut self, hba: &str) -> Self {
        self.hba = Some(hba.into());
        self
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn home(&self) -> &Path {
        &self.home
    }
    pub fn data_dir(&self) -> PathBuf {
        self.home.join("pgdata")
    }
    pub fn socket_dir(&self) -> PathBuf {
        socket_dir(&self.home)
    }
    pub fn log_file(&self) -> PathBuf {
        self.home.join("server.log")
    }
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// Connection settings for `dbname` in this server.
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        socket_config(&self.socket_dir(), self.port, dbname)
    }

    /// A libpq connection URL, so that `psql "$(store-core db url)"` works.
    pub fn url(&self, dbname: &str) -> String {
        let host = self.socket_dir().display().to_string();
        format!(
            "postgresql://{SUPERUSER}@/{dbname}?host={}&port={}",
            percent_encoding::utf8_percent_encode(&host, SOCKET_DIR_IN_QUERY),
            self.port
        )
    }

    /// Running only when the postmaster named in `postmaster.pid` is a live process in this
    /// data directory: a pid file left by a crash (its process gone, or a zombie nobody reaps,
    /// or its number reused by another program) is a stopped server, which `ensure_started`
    /// starts again.
    pub fn status(&self) -> Result<ServerStatus> {
        if !self.data_dir().join("PG_VERSION").exists() {
            return Ok(ServerStatus::NotCreated);
        }
        match self.recorded_pid(&self.data_dir().join("postmaster.pid")) {
            None => return Ok(ServerStatus::Stopped),
            Some(pid) if !self.is_running_here(pid) => return Ok(ServerStatus::Stopped),
            Some(_) => {}
        }
        let out = self.pg_ctl(&["status", "-D", &self.data_dir().to_string_lossy()])?;
        Ok(match out.status.code() {
            Some(0) => ServerStatus::Running,
            _ => ServerStatus::Stopped,
        })
    }

    /// Takes the lock that serialises creating and starting this server (and, for the caller
    /// holding it, creating its databases). Blocks until it is free; released on drop.
    pub fn lock(&self) -> Result<StartLock> {
        fs::create_dir_all(&self.home)
            .map_err(|e| Error::io(format!("creating {}", self.home.display()), e))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.home.join("lock"))
            .map_err(|e| Error::io("opening the embedded database's lock file", e))?;
        file.lock()
            .map_err(|e| Error::io("locking the embedded database", e))?;
        Ok(StartLock { _file: file })
    }

    /// Creates the cluster if needed and starts it if it is down. Returns true when it was
    /// created now (the caller then loads the demo data). Safe to call from several programs at
    /// once: a lock file serialises them.
    pub fn ensure_started(&self) -> Result<bool> {
        let lock = self.lock()?;
        self.ensure_started_locked(&lock)
    }

    /// `ensure_started` for a caller that holds the lock (`lock`) and keeps it for what it does
    /// next, such as creating a database that other programs starting now also want.
    pub fn ensure_started_locked(&self, _lock: &StartLock) -> Result<bool> {
        let created = if self.data_dir().join("PG_VERSION").exists() {
            false
        } else {
            self.create()?;
            true
        };
        if self.status()? != ServerStatus::Running {
            self.start()?;
        }
        Ok(created)
    }

    /// The process id on the first line of a PostgreSQL lock file, if there is one.
    fn recorded_pid(&self, lock_file: &Path) -> Option<i32> {
        fs::read_to_string(lock_file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
            .filter(|pid: &i32| *pid > 0)
    }

    /// True when `pid` is a live process (not a zombie) that is, or may be, a server working in
    /// this data directory (its working directory, when it can be read, is the data directory).
    fn is_running_here(&self, pid: i32) -> bool {
        if !process_is_live(pid) {
            return false;
        }
        match (
            fs::read_link(format!("/proc/{pid}/cwd")),
            fs::canonicalize(self.data_dir()),
        ) {
            (Ok(cwd), Ok(data)) => cwd == data,
            _ => true,
        }
    }

    /// After a crash: PostgreSQL itself replaces a lock file whose process is gone, but refuses
    /// one whose process number still exists (a zombie that nobody reaps, or a number reused by
    /// another program). Once no process of the crashed server is left in the data directory,
    /// such lock files are removed so that the server can start.
    fn clear_stale_lock_files(&self) -> Result<()> {
        let lock_files = [
            self.data_dir().join("postmaster.pid"),
            self.socket_dir()
                .join(format!(".s.PGSQL.{}.lock", self.port)),
        ];
        let stale: Vec<&PathBuf> = lock_files
            .iter()
            .filter(|file| {
                self.recorded_pid(file)
                    .is_some_and(|pid| !self.is_running_here(pid) && nix_process_exists(pid))
            })
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        // The crashed postmaster's children notice its death and exit within moments.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = self.processes_in_data_dir();
            if left.is_empty() {
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Err(self.fail(format!(
                    "the server crashed but its processes {left:?} still run in {}; stop them,                      then try again",
                    self.data_dir().display()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for file in stale {
            match fs::remove_file(file) {
                Ok(()) => tracing::warn!("removed the stale lock file {}", file.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("removing {}", file.display()), e)),
            }
        }
        Ok(())
    }

    /// Live processes whose working directory is the data directory (a server's processes).
    fn processes_in_data_dir(&self) -> Vec<i32> {
        let Ok(data) = fs::canonicalize(self.data_dir()) else {
            return Vec::new();
        };
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == data)
                    && process_is_live(*pid)
            })
            .collect()
    }

    fn create(&self) -> Result<()> {
        self.check_reachable_by_server()?;
        let data = self.data_dir();
        if data.exists() {
            // A cluster whose initdb never finished: start again from nothing.
            fs::remove_dir_all(&data)
                .map_err(|e| Error::io(format!("removing {}", data.display()), e))?;
        }
        let socket_file = self.socket_dir().join(format!(".s.PGSQL.{}", self.port));
        if socket_file.as_os_str().len() > 100 {
            return Err(self.fail(format!(
                "the socket path {} is too long for a Unix socket; choose a shorter ICASH_HOME",
                socket_file.display()
            )));
        }
        self.make_private_dirs(&data)?;
        let mut args = vec![
            "-D".to_string(),
            data.to_string_lossy().into_owned(),
            "-U".into(),
            SUPERUSER.into(),
            // Only the socket in a 0700 directory reaches the server, and no TCP port is open.
            "--auth=trust".into(),
            "--encoding=UTF8".into(),
            "--locale=C".into(),
        ];
        if self.no_sync {
            args.push("--no-sync".into());
        }
        let out = self.run(&self.bindir.join("initdb"), &args)?;
        if !out.status.success() {
            return Err(self.fail(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let mut conf = OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .map_err(|e| Error::io("opening postgresql.conf", e))?;
        let socket = self.socket_dir().to_string_lossy().replace('\'', "''");
        let mut lines = format!(
            "\n# written by store-core\nlisten_addresses = ''\nunix_socket_directories = '{socket}'\nport = {}\n",
            self.port
        );
        for (k, v) in &self.settings {
            lines.push_str(&format!("{k} = {v}\n"));
        }
        conf.write_all(lines.as_bytes())
            .map_err(|e| Error::io("writing postgresql.conf", e))?;
        if let Some(hba) = &self.hba {
            fs::write(data.join("pg_hba.conf"), hba)
                .map_err(|e| Error::io("writing pg_hba.conf", e))?;
        }
        Ok(())
    }

    pub fn start(&self) -> Result<()> {
        self.clear_stale_lock_files()?;
        let log = self.log_file();
        if !log.exists() {
            File::create(&log).map_err(|e| Error::io(format!("creating {}", log.display()), e))?;
            self.give_to_server_user(&log)?;
        }
        let out = self.pg_ctl(&[
            "start",
            "-D",
            &self.data_dir().to_string_lossy(),
            "-l",
            &log.to_string_lossy(),
            "-w",
            "-t",
            "60",
            "-s",
        ])?;
        if !out.status.success() {
            let tail = fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(self.fail(format!(
                "the server did not start: {}\n{tail}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Stops the server. `immediate` is an abrupt shutdown (crash recovery on next start).
    pub fn stop(&self, immediate: bool) -> Result<bool> {
        if self.status()? != ServerStatus::Running {
            return Ok(false);
        }
        let out = self.pg_ctl(&[
            "stop",
            "-D",
            &self.data_dir().to_string_lossy(),
            "-m",
            if immediate { "immediate" } else { "fast" },
            "-w",
            "-s",
        ])?;
        if !out.status.success() {
            return Err(self.fail(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(true)
    }

    /// Creates this server as a hot standby of `primary` (running, reached on its socket):
    /// `pg_basebackup -R` copies it and writes the replication settings, then this server's own
    /// socket, port and settings are written after the copied ones (the later line wins). A
    /// standby never waits for standbys of its own, even after a promotion.
    pub fn create_standby_of(&self, primary: &LocalServer) -> Result<()> {
        self.check_reachable_by_server()?;
        let data = self.data_dir();
        if data.join("PG_VERSION").exists() {
            return Err(self.fail(format!("{} holds a cluster already", data.display())));
        }
        self.make_private_dirs(&data)?;
        let mut args = vec![
            "-D".to_string(),
            data.to_string_lossy().into_owned(),
            "-h".into(),
            primary.socket_dir().to_string_lossy().into_owned(),
            "-p".into(),
            primary.port.to_string(),
            "-U".into(),
            SUPERUSER.into(),
            "-R".into(),
            "-X".into(),
            "stream".into(),
            "--checkpoint=fast".into(),
        ];
        if self.no_sync {
            args.push("--no-sync".into());
        }
        let out = self.run(&self.companion_binary("pg_basebackup"), &args)?;
        if !out.status.success() {
            return Err(self.fail(format!(
                "pg_basebackup failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let socket = self.socket_dir().to_string_lossy().replace('\'', "''");
        let mut lines = format!(
            "\n# written by store-core for the standby\nlisten_addresses = ''\n\
             unix_socket_directories = '{socket}'\nport = {}\nhot_standby = on\n\
             synchronous_standby_names = ''\n",
            self.port
        );
        for (k, v) in &self.settings {
            lines.push_str(&format!("{k} = {v}\n"));
        }
        OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut conf| conf.write_all(lines.as_bytes()))
            .map_err(|e| Error::io("writing the standby's postgresql.conf", e))?;
        Ok(())
    }

    /// A PostgreSQL program beside the server's own: in the bindir, or beside the file `pg_ctl`
    /// links to (a bindir of links, such as /usr/local/bin, may hold only the three the
    /// embedded server needs).
    fn companion_binary(&self, name: &str) -> PathBuf {
        let here = self.bindir.join(name);
        if here.is_file() {
            return here;
        }
        fs::canonicalize(self.bindir.join("pg_ctl"))
            .ok()
            .and_then(|pg_ctl| Some(pg_ctl.parent()?.join(name)))
            .filter(|p| p.is_file())
            .unwrap_or(here)
    }

    /// Promotes a hot standby to a primary, waiting until it accepts writes.
    pub fn promote(&self) -> Result<()> {
        let out = self.pg_ctl(&[
            "promote",
            "-D",
            &self.data_dir().to_string_lossy(),
            "-w",
            "-t",
            "60",
            "-s",
        ])?;
        if !out.status.success() {
            return Err(self.fail(format!(
                "pg_ctl promote failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.run(&self.bindir.join("pg_ctl"), &args)
    }

    fn run(&self, program: &Path, args: &[String]) -> Result<Output> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.home)
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .stdin(std::process::Stdio::null());
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
            cmd.env("HOME", &user.dir).env("USER", &user.name);
        }
        cmd.output()
            .map_err(|e| Error::io(format!("running {}", program.display()), e))
    }

    /// The data and socket directories, created 0700 and owned by the server's user.
    fn make_private_dirs(&self, data: &Path) -> Result<()> {
        for dir in [data.to_path_buf(), self.socket_dir()] {
            fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(format!("securing {}", dir.display()), e))?;
            self.give_to_server_user(&dir)?;
        }
        Ok(())
    }

    /// As root, hands `path` to the account the server runs as.
    pub fn give_to_server_user(&self, path: &Path) -> Result<()> {
        if let Some(user) = &self.run_as {
            nix::unistd::chown(path, Some(user.uid), Some(user.gid))
                .map_err(|e| self.fail(format!("chown {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// As root the server runs as `postgres`, which must be able to walk to its files.
    fn check_reachable_by_server(&self) -> Result<()> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        for dir in self.home.ancestors().skip(1) {
            let Ok(meta) = fs::metadata(dir) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            let mode = meta.mode();
            let traversable = mode & 0o001 != 0
                || (meta.uid() == user.uid.as_raw() && mode & 0o100 != 0)
                || (meta.gid() == user.gid.as_raw() && mode & 0o010 != 0);
            if !traversable {
                return Err(self.fail(format!(
                    "the server runs as `postgres`, which cannot enter {}; set ICASH_HOME to a \
                     directory it can reach (the default for root is /var/lib/icash)",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

    fn fail(&self, message: String) -> Error {
        Error::LocalServer {
            dir: self.home.clone(),
            message,
        }
    }
}

/// Held while creating or starting the embedded server (`LocalServer::lock`).
#[derive(Debug)]
pub struct StartLock {
    _file: File,
}

/// True when `pid` names a process that runs (a zombie, dead but not yet reaped, does not).
fn process_is_live(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| !matches!(state, "Z" | "X" | "x")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        // No /proc to read: whether the process exists is all there is to know.
        Err(_) => nix_process_exists(pid),
    }
}

/// True when a process with this number exists, zombies included (what PostgreSQL checks).
fn nix_process_exists(pid: i32) -> bool {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    }
}

/// The embedded default's connection settings for a home directory (the server need not run,
/// nor its binaries be looked for: this is only where its socket is).
pub fn embedded_settings(home: &Path) -> Result<ConnectSettings> {
    let home = absolute(home.to_path_buf())?;
    Ok(ConnectSettings::from(socket_config(
        &socket_dir(&home),
        DEFAULT_PORT,
        DATABASE_NAME,
    )))
}

fn absolute(home: PathBuf) -> Result<PathBuf> {
    if home.is_absolute() {
        return Ok(home);
    }
    Ok(std::env::current_dir()
        .map_err(|e| Error::io("current directory", e))?
        .join(home))
}

fn socket_dir(home: &Path) -> PathBuf {
    home.join("run")
}

/// Connection settings for `dbname` on the server listening on the socket in `socket_dir`.
fn socket_config(socket_dir: &Path, port: u16, dbname: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host_path(socket_dir);
    c.port(port);
    c.user(SUPERUSER);
    c.dbname(dbname);
    c.application_name("icash");
    // PostgreSQL has no TLS on Unix sockets: asking for it would only cost a round trip.
    c.ssl_mode(tokio_postgres::config::SslMode::Disable);
    c
}

/// Finds a directory with initdb, pg_ctl and postgres: PATH, `pg_config --bindir`, then the
/// newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_postgres_bindir() -> Result<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| dir.join(b).is_file())
    };
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if complete(&dir) {
                return Ok(dir);
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && complete(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| complete(dir))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, dir)| dir)
        .ok_or(Error::NoPostgresBinaries)
}
