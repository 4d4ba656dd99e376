//! The screen as a pure function of the state: `view(&State, &mut Frame)`, drawn with
//! ratatui's own widgets, one module per part of the screen.

mod branches;
mod cart;
mod confirm;
mod customer;
mod header;
mod help;
mod payment;
mod quick_keys;
mod receipt;
mod refused;
mod sale;
mod search;
mod sign_in;
mod status;
mod theme;
mod total;
mod undo;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Clear};
use rust_decimal::Decimal;
use unicode_width::UnicodeWidthStr;

use crate::app::{Overlay, Screen, State};
pub use total::big_text;

use theme::Theme;

pub fn money(amount: Decimal) -> String {
    format!("{amount:.2}")
}

/// The screen's rows: header, body, message line(s) and status bar.
fn rows(state: &State, area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(status::message_height(state, area)),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// How far the help overlay can scroll on a terminal of `size` (0: it fits).
pub fn help_max_scroll(state: &State, size: (u16, u16)) -> usize {
    let [_, body, _, _] = rows(state, Rect::new(0, 0, size.0, size.1));
    help::max_scroll(body)
}

pub fn view(state: &State, frame: &mut Frame) {
    let theme = Theme::of(state);
    let [header, body, message, status] = rows(state, frame.area());
    header::render(state, &theme, frame, header);
    match &state.screen {
        Screen::Branch(choice) => branches::render(state, choice, &theme, frame, body),
        Screen::SignIn(sign_in) => sign_in::render(state, sign_in, &theme, frame, body),
        Screen::Sale(draft) => sale::render(state, draft, &theme, frame, body),
        Screen::Receipt(receipt) => receipt::render_receipt(state, receipt, &theme, frame, body),
        Screen::Queued(queued) => receipt::render_queued(state, queued, &theme, frame, body),
        Screen::Undo(flow) => undo::render(state, flow, &theme, frame, body),
        Screen::UndoDone(done) => receipt::render_undone(state, done, &theme, frame, body),
    }
    status::render_message(state, &theme, frame, message);
    status::render(state, &theme, frame, status);
    match &state.overlay {
        Some(Overlay::Help { scroll }) => help::render(*scroll, &theme, frame, body),
        Some(Overlay::Refused {
            selected,
            set_aside,
        }) => refused::render(state, *selected, set_aside.as_ref(), &theme, frame, body),
        Some(Overlay::Report(report)) => undo::render_report(state, report, &theme, frame, body),
        None => {}
    }
}

/// A bordered popup of at most `width` x `height`, centred in `area` and cleared; its inside.
fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16, title: String) -> Rect {
    let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// The widest of `texts` (display width), at least `min`.
fn widest<'a>(texts: impl IntoIterator<Item = &'a str>, min: usize) -> usize {
    texts
        .into_iter()
        .map(UnicodeWidthStr::width)
        .fold(min, usize::max)
}

/// The display width of `text`, as a u16 for constraints.
fn columns(text: &str) -> u16 {
    u16::try_from(text.width()).unwrap_or(u16::MAX)
}
