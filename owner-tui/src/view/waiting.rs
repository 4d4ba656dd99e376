//! The body before the first figures: connecting, loading or waiting for the database.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::header::first_line;
use crate::app::{Connection, State};

pub fn render(frame: &mut Frame, state: &State, body: Rect) {
    let (first, connect_error) = match &state.connection {
        Connection::Connected { .. } if state.waiting_for_database() => {
            ("Waiting for the database…", None)
        }
        Connection::Connected { .. } => ("Loading the figures…", None),
        Connection::Connecting { last_error } => {
            ("Connecting to the database…", last_error.as_ref())
        }
    };
    let mut lines = vec![Line::from(first)];
    if let Some(error) = connect_error {
        lines.push(Line::from(""));
        lines.push(Line::from(format!(
            "Not reachable yet: {}",
            first_line(error)
        )));
        lines.push(Line::from("Retrying by itself; q quits."));
    }
    if let Some(error) = &state.stale {
        lines.push(Line::from(format!("Failed: {}", first_line(error))));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .block(Block::bordered()),
        body,
    );
}
