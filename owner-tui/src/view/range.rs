//! The date range popup (`d`): from and to as YYYY-MM-DD, the field being typed marked, why the
//! last attempt was refused (the hint line below gives the range's keys).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use store_core::domain::input::printable;

use crate::app::{RangeField, RangeInput};

const POPUP_WIDTH: u16 = 72;
const POPUP_HEIGHT: u16 = 8;

pub fn render(frame: &mut Frame, range: &RangeInput, area: Rect) {
    let popup = area.centered(
        Constraint::Length(POPUP_WIDTH.min(area.width)),
        Constraint::Length(POPUP_HEIGHT.min(area.height)),
    );
    let field = |label: &str, value: &str, at: RangeField| {
        let typing = range.field == at;
        let marker = if typing { "›" } else { " " };
        let caret = if typing { "_" } else { "" };
        let style = if typing {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        Line::from(vec![
            Span::raw(format!(" {marker} {label:<5}")),
            Span::styled(format!("{}{caret}", printable(value)), style),
        ])
    };
    let mut lines = vec![
        Line::from(" Dates as YYYY-MM-DD, both days included."),
        Line::from(""),
        field("From", &range.from, RangeField::From),
        field("To", &range.to, RangeField::To),
    ];
    lines.push(match &range.error {
        Some(error) => Line::from(Span::styled(
            format!(" {}", printable(error)),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        None => Line::from(""),
    });
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Period: a date range ")),
        popup,
    );
}
