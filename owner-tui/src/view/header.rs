//! The header (what is shown, when it was computed), the status line under it (LIVE, or why the
//! figures may not be current, and the message) and the hint line at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use store_core::domain::input::printable;

use crate::app::{State, View};
use crate::keymap::{self, Mode};
use tui_runtime::text::{ellipsis_whole_numbers, first_fitting, width};

pub fn render(frame: &mut Frame, state: &State, header: Rect, status: Rect) {
    frame.render_widget(
        Paragraph::new(header_text(state, header.width as usize))
            .style(Style::new().add_modifier(Modifier::REVERSED)),
        header,
    );
    frame.render_widget(
        Paragraph::new(
            ellipsis_whole_numbers(&status_text(state), status.width as usize).into_owned(),
        ),
        status,
    );
}

/// " <what is shown>   <marks> updated HH:MM:SS ": each side in its longest form that fits.
fn header_text(state: &State, columns: usize) -> String {
    let mut marks = String::new();
    if state.stale.is_some() {
        marks.push_str("STALE ");
    }
    if state.is_frozen() {
        marks.push_str("FROZEN ");
    }
    if let Some(standby) = state.shown.as_ref().and_then(|s| s.standby) {
        marks.push_str(&format!(
            "STANDBY lag {:.1} s ",
            standby.lag_ms as f64 / 1000.0
        ));
    }
    let right_forms = match &state.shown {
        Some(s) => {
            let time = state
                .settings
                .local(s.dashboard.generated_at)
                .format("%H:%M:%S");
            vec![
                format!("{marks}updated {time}"),
                format!("{marks}{time}"),
                marks.trim_end().to_string(),
            ]
        }
        None => vec![format!("{marks}no data yet"), marks.trim_end().to_string()],
    };
    let right = first_fitting(right_forms, columns.saturating_sub(2)).unwrap_or_default();
    let label = printable(&state.filter.label()).into_owned();
    let loyal = format!("loyal {}+", state.min_purchases);
    // The overview keeps its header; another view (or a customer) is named first.
    let view = match (state.view, &state.customer) {
        (View::Overview, None) => None,
        (View::Overview, Some(_)) => Some("Customer"),
        (view, _) => Some(view.title()),
    };
    let left_forms = match view {
        None => vec![
            format!("iCash owner · {label} · {loyal}"),
            format!("{label} · {loyal}"),
            loyal,
        ],
        Some(view) => vec![
            format!("iCash owner · {view} · {label}"),
            format!("{view} · {label}"),
            view.to_string(),
        ],
    };
    let room = columns.saturating_sub(width(&right) + 3);
    let left = first_fitting(left_forms, room).unwrap_or_default();
    let pad = columns.saturating_sub(width(&left) + width(&right) + 2);
    format!(" {left}{}{right} ", " ".repeat(pad))
}

fn status_text(state: &State) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(error) = &state.stale {
        parts.push(format!(
            "STALE: last refresh failed ({}), retrying",
            first_line(error)
        ));
    } else if state.is_frozen() {
        parts.push("FROZEN: figures held, f resumes".into());
    } else if state.waiting_for_database() {
        parts.push("waiting for the database…".into());
    } else if state.shown.is_some() && state.loading_selection() {
        parts.push("loading the new selection…".into());
    } else if state.listener_error.is_some() {
        parts.push("live updates reconnecting".into());
    } else if state.shown.is_some() {
        parts.push("LIVE".into());
    }
    if let Some(message) = &state.message {
        parts.push(printable(&message.text()).into_owned());
    }
    format!(" {}", parts.join(" · "))
}

/// An error's first line, escaped: it can quote names from the database.
pub fn first_line(text: &str) -> std::borrow::Cow<'_, str> {
    printable(text.lines().next().unwrap_or(""))
}

/// The keys' hints, as many as fit whole.
pub fn render_hints(frame: &mut Frame, mode: Mode, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, label) in keymap::hints(mode) {
        let entry = width(key) + 1 + width(label) + 2;
        if used + entry > area.width as usize + 2 {
            break;
        }
        used += entry;
        spans.push(Span::styled(key, Style::new().add_modifier(Modifier::BOLD)));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
