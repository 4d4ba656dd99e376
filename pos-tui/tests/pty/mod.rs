//! The real binary in an 80x24 pseudo-terminal, read through a terminal emulator.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(20);

pub struct Till {
    pub parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    pub child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Till {
    /// pos-tui on `database_url`, with `ICASH_HOME` = `home` (logs, default journal), no
    /// configuration file, and `extra` arguments.
    pub fn start(database_url: &str, home: &std::path::Path, extra: &[&str]) -> Till {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pos-tui"));
        cmd.args(["--database-url", database_url]);
        cmd.args(extra);
        cmd.env("ICASH_HOME", home);
        cmd.env("ICASH_CONFIG", home.join("no-config.toml"));
        cmd.env_remove("ICASH_SUPERMARKET");
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("DATABASE_URL");
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("starting pos-tui");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(24, 80, 0)));
        let mut reader = pty.master.try_clone_reader().expect("a reader");
        let feed = parser.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().expect("a writer");
        Till {
            parser,
            writer,
            child,
            _master: pty.master,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits until `text` is on the screen; fails with the screen after `WAIT`.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pos-tui exited ({status:?}) while waiting for {text:?}:\n{screen}");
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{text:?} did not appear within {WAIT:?}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The first UUID after `label` on the screen.
pub fn uuid_after(screen: &str, label: &str) -> Uuid {
    let line = screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} on the screen:\n{screen}"));
    let rest = &line[line.find(label).unwrap() + label.len()..];
    let id = rest.split_whitespace().next().unwrap_or_default();
    Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id:?} after {label:?}: {e}\n{screen}"))
}

impl Till {
    /// Waits (bounded by `WAIT`) for the program to exit.
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("pos-tui did not exit:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
