//! The message line and the status bar (connection, journal, key hints, clock).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use store_core::domain::input::printable;
use tui_runtime::text::first_fitting;
use unicode_width::UnicodeWidthStr;

use super::theme::Theme;
use crate::app::{DbState, Message, State, cashier_label};
use crate::keymap;

/// The message line's text, as drawn.
fn message_text(state: &State) -> Option<String> {
    // Messages can quote names from the database: shown escaped, like every name.
    match state.message()? {
        Message::Info(text) => Some(format!(" {}", printable(text))),
        Message::Error(text) => Some(format!(" ✖ {}", printable(text))),
    }
}

/// A long message gets a second line rather than being cut (when there is room).
pub fn message_height(state: &State, area: Rect) -> u16 {
    let long = message_text(state).is_some_and(|text| text.width() > usize::from(area.width));
    if long && area.height >= 16 { 2 } else { 1 }
}

pub fn render_message(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match (state.message(), message_text(state)) {
        (Some(Message::Error(_)), Some(text)) => Line::styled(text, theme.error()),
        (_, Some(text)) => Line::raw(text),
        _ => Line::default(),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
}

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let kept = state.catalog_kept_at.is_some();
    let db = match (&state.db, state.pending_sales > 0) {
        // "offline: N sales waiting" follows and says it.
        (DbState::Connected, true) => " ● ",
        (_, true) => " ○ ",
        // Selling from the kept catalog: what the cashier needs to know is that it is offline.
        (_, false) if kept && state.db != DbState::Connected => " ○ offline │ ",
        (DbState::Connected, false) => " ● connected │ ",
        (DbState::Connecting, false) => " ○ connecting… │ ",
        (DbState::Reconnecting(_), false) => " ○ RECONNECTING… │ ",
    };
    let width = usize::from(area.width);
    // Counts are never cut: in short words when the long ones do not fit.
    let journal = first_fitting(
        [false, true].map(|short| journal_text(state, short)),
        width.saturating_sub(db.width()),
    )
    .unwrap_or_default();
    let kept_catalog = kept_catalog_text(state, width.saturating_sub(db.width() + journal.width()));
    let journal = format!("{journal}{kept_catalog}");
    // Who is signed in: number and name, else the number alone.
    let cashier = state
        .cashier
        .as_ref()
        .and_then(|c| {
            first_fitting(
                [
                    format!("cashier {} │ ", cashier_label(c)),
                    format!("#{} │ ", c.number),
                ],
                width.saturating_sub(db.width() + journal.width()),
            )
        })
        .unwrap_or_default();
    let journal = format!("{journal}{cashier}");
    let mut clock = format!(" │ {} ", state.now.format("%H:%M:%S"));
    if db.width() + journal.width() + clock.width() > width {
        clock.clear();
    }
    let room = width.saturating_sub(db.width() + journal.width() + clock.width());
    // Whole hints only, as many as fit.
    let mut hints = String::new();
    for (keys, does) in keymap::hints(state.mode()) {
        let hint = format!("{}{keys} {does}", if hints.is_empty() { "" } else { "  " });
        if hints.width() + hint.width() > room {
            break;
        }
        hints.push_str(&hint);
    }
    let db_style = match state.db {
        DbState::Connected => theme.bar(),
        _ => theme.bar().add_modifier(Modifier::BOLD),
    };
    let pad = room.saturating_sub(hints.width());
    let line = Line::from(vec![
        Span::styled(db, db_style),
        Span::styled(journal, theme.bar().add_modifier(Modifier::BOLD)),
        Span::styled(hints, theme.bar()),
        Span::styled(" ".repeat(pad), theme.bar()),
        Span::styled(clock, theme.bar()),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.bar()), area);
}

/// When the catalog on hand was kept, while it is the one kept beside the journal: its time,
/// and its day too when that is not today.
fn kept_catalog_text(state: &State, room: usize) -> String {
    let Some(kept_at) = state.catalog_kept_at else {
        return String::new();
    };
    let local = state.local(kept_at);
    let at = if local.date_naive() == state.now.date() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%-d %b %H:%M").to_string()
    };
    first_fitting(
        [format!("catalog from {at} │ "), format!("catalog {at} │ ")],
        room,
    )
    .unwrap_or_default()
}

/// What the journal holds, for the status bar; `short`: for a narrow terminal.
fn journal_text(state: &State, short: bool) -> String {
    let mut text = String::new();
    if state.pending_sales > 0 {
        let sales = if state.pending_sales == 1 {
            "sale"
        } else {
            "sales"
        };
        text.push_str(&if short {
            format!("{} waiting │ ", state.pending_sales)
        } else {
            format!("offline: {} {sales} waiting │ ", state.pending_sales)
        });
    }
    if !state.refused_sales.is_empty() {
        text.push_str(&if short {
            format!("{} refused │ ", state.refused_sales.len())
        } else {
            format!("{} refused (R) │ ", state.refused_sales.len())
        });
    }
    if state.journal_warning.is_some() {
        text.push_str(if short {
            "repaired │ "
        } else {
            "journal repaired (R) │ "
        });
    }
    text
}
