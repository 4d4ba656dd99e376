//! The sale's customer line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use store_core::domain::checkout::CustomerChoice;
use unicode_width::UnicodeWidthStr;

use super::theme::Theme;
use crate::app::Draft;
use tui_runtime::text::ellipsis;

pub fn render(draft: &Draft, theme: &Theme, frame: &mut Frame, area: Rect) {
    let chosen = theme.fg(Color::Green).add_modifier(Modifier::BOLD);
    let (kind, id, style) = match draft.customer {
        Some(CustomerChoice::New(id)) => ("NEW ", id.to_string(), chosen),
        Some(CustomerChoice::Returning(id)) => ("returning ", id.to_string(), chosen),
        None => (
            "",
            "not chosen yet (n new, c find)".to_string(),
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ),
    };
    let width = usize::from(area.width);
    // The label goes first when the id would not fit; the id is then cut visibly.
    let label = if " Customer: ".width() + kind.width() + id.width() <= width {
        " Customer: "
    } else {
        " "
    };
    let room = width.saturating_sub(label.width() + kind.width());
    let (kind, id) = if draft.customer.is_some() {
        (
            Span::styled(kind, style),
            Span::raw(ellipsis(&id, room).into_owned()),
        )
    } else {
        (
            Span::raw(""),
            Span::styled(ellipsis(&id, room).into_owned(), style),
        )
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![Span::raw(label), kind, id])),
        area,
    );
}
