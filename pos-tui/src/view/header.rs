//! The top bar: the till, the shift's branch and the sales made this shift.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use store_core::domain::input::printable;

use super::columns;
use super::theme::Theme;
use crate::app::State;
use tui_runtime::text::ellipsis;

pub fn render(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let branch = match (&state.branch, state.branch_name()) {
        (Some(id), Some(name)) => format!("Branch {} · {}", printable(id), printable(name)),
        (Some(id), None) => format!("Branch {}", printable(id)),
        (None, _) => "no branch chosen".to_string(),
    };
    let left = format!(" iCash till │ {branch}");
    let right = format!("sales this shift: {} ", state.sales_done);
    frame.render_widget(Paragraph::new("").style(theme.bar()), area);
    // The count only when the branch fits beside it.
    let show_right = area.width > columns(&left) + columns(&right) + 1;
    let [left_area, right_area] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(if show_right { columns(&right) } else { 0 }),
    ])
    .areas(area);
    let bold = theme.bar().add_modifier(Modifier::BOLD);
    frame.render_widget(
        Paragraph::new(Line::styled(ellipsis(&left, left_area.width.into()), bold)),
        left_area,
    );
    if show_right {
        frame.render_widget(
            Paragraph::new(Line::from(right).right_aligned()).style(theme.bar()),
            right_area,
        );
    }
}
