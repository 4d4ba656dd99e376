//! The date range popup (`d`): from and to as YYYY-MM-DD, the field being typed marked, why the
//! last attempt was refused, and the keys from the range's key table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use store_core::domain::input::printable;

use crate::app::{RangeField, RangeInput};
use crate::keymap::{self, Mode};
use tui_runtime::text::width;

const POPUP_WIDTH: u16 = 52;
const POPUP_HEIGHT: u16 = 9;

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
    let room = (popup.width as usize).saturating_sub(2);
    let mut hints = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, label) in keymap::hints(Mode::Range) {
        let entry = width(key) + 1 + width(label) + 2;
        if used + entry > room + 2 {
            break;
        }
        used += entry;
        hints.push(Span::styled(key, Style::new().add_modifier(Modifier::BOLD)));
        hints.push(Span::raw(format!(" {label}  ")));
    }
    lines.push(Line::from(hints));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Period: a date range ")),
        popup,
    );
}
