//! A TUI program in an 80x24 pseudo-terminal, its screen read through a terminal emulator
//! (vt100): the one harness of pos-tui's and owner-tui's end-to-end tests.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, MasterPty, PtySize, native_pty_system};
pub use portable_pty::{CommandBuilder, ExitStatus};

pub const ROWS: u16 = 24;
pub const COLUMNS: u16 = 80;

/// How often the waits look at the screen again.
const POLL: Duration = Duration::from_millis(50);

pub struct Terminal {
    pub parser: Arc<Mutex<vt100::Parser>>,
    /// Every byte the program wrote, for what the screen no longer shows (such as the last
    /// words after it left the alternate screen).
    pub output: Arc<Mutex<Vec<u8>>>,
    pub child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    _master: Box<dyn MasterPty + Send>,
    program: String,
}

impl Terminal {
    /// Starts `command` (with `TERM=xterm-256color`) on a new 80x24 pseudo-terminal.
    pub fn spawn(mut command: CommandBuilder) -> Terminal {
        let program = command
            .get_argv()
            .first()
            .map(|p| {
                std::path::Path::new(p)
                    .file_name()
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        command.env("TERM", "xterm-256color");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLUMNS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let child = pty
            .slave
            .spawn_command(command)
            .unwrap_or_else(|e| panic!("starting {program}: {e}"));
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLUMNS, 0)));
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().expect("a reader");
        let (screen, sink) = (parser.clone(), output.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().process(&buf[..n]);
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().expect("a writer");
        Terminal {
            parser,
            output,
            child,
            writer,
            _master: pty.master,
            program,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn alternate_screen(&self) -> bool {
        self.parser.lock().unwrap().screen().alternate_screen()
    }

    /// Everything the program wrote, as text.
    pub fn output_text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits until `ok` holds for the screen and returns it; fails with the screen if the
    /// program exits first or `within` passes.
    pub fn wait_until(
        &mut self,
        what: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status:?}) while waiting for {what}:\n{screen}",
                    self.program
                );
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("no {what} within {within:?}; the screen:\n{screen}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `text` is on the screen (see `wait_until`).
    pub fn wait_for(&mut self, text: &str, within: Duration) -> String {
        self.wait_until(&format!("{text:?}"), within, |screen| screen.contains(text))
    }

    /// Waits for the program to exit; kills it and fails after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {within:?}:\n{}",
                    self.program,
                    self.screen()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// After the program exited: true once the terminal is off the alternate screen, false if
    /// it still is after `within` (the last bytes may still be on their way).
    pub fn left_alternate_screen(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.alternate_screen() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(POLL);
        }
        true
    }

    /// After the program exited: true once `ok` holds for everything it wrote, false if it
    /// still does not after `within`.
    pub fn wrote(&self, within: Duration, ok: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while !ok(&self.output_text()) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(POLL);
        }
        true
    }
}
