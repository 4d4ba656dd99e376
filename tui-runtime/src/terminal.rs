//! The terminal: raw mode and the alternate screen while the program runs, restored on every
//! way out (a return, an error, a panic of the UI thread), and left alone when a background
//! task panics (the program goes on, and that panic comes back as a message instead).

use std::io::{self, Stdout, stdout};
use std::panic::PanicHookInfo;
use std::thread::ThreadId;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Screen = Terminal<CrosstermBackend<Stdout>>;

/// The terminal taken over; dropping it restores the terminal.
pub struct Session {
    pub terminal: Screen,
}

/// Raw mode, the alternate screen (cleared) and, if asked, bracketed paste.
pub fn enter(bracketed_paste: bool) -> io::Result<Session> {
    enable_raw_mode()?;
    // From here on every way out restores the terminal, this function's errors included.
    let restore_on_error = RestoreOnDrop;
    // Clearing directly: `Terminal::clear` would ask the terminal where the cursor is.
    execute!(stdout(), EnterAlternateScreen, Clear(ClearType::All))?;
    if bracketed_paste {
        execute!(stdout(), EnableBracketedPaste)?;
    }
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    std::mem::forget(restore_on_error);
    Ok(Session { terminal })
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

struct RestoreOnDrop;

impl Drop for RestoreOnDrop {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode, bracketed paste and the alternate screen, and shows the cursor. Safe to
/// call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Installs a panic hook for the thread that calls it (the UI thread): a panic there runs
/// `restore`, then the previous hook (which prints the panic). A panic on any other thread (a
/// background task, whose `JoinHandle` turns it into a message) is only logged: printing it
/// would garble the screen the program is still using.
pub fn install_panic_hook(restore: impl Fn() + Send + Sync + 'static) {
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        handle_panic(ui_thread, info, &restore, &*previous);
    }));
}

fn handle_panic(
    ui_thread: ThreadId,
    info: &PanicHookInfo<'_>,
    restore: &dyn Fn(),
    previous: &(dyn Fn(&PanicHookInfo<'_>) + Send + Sync),
) {
    let thread = std::thread::current();
    if thread.id() == ui_thread {
        restore();
        tracing::error!("panic: {info}");
        previous(info);
    } else {
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            "panic in a background task: {info}"
        );
    }
}
