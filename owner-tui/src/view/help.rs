//! The keys, from the key table, in a popup centred with ratatui's layout; it scrolls (with a
//! scrollbar) when the terminal is too short for it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};

use crate::app::{Help, State};
use crate::keymap;
use tui_runtime::text::{ellipsis_whole_numbers, width};

const POPUP_WIDTH: u16 = 64;
const KEYS_W: usize = 13;
const CLOSING: &str = "Any key closes this help.";
const CLOSING_SCROLLED: &str = "Up/Down, PgUp/PgDn, Home/End scroll; other keys close.";

/// The help's lines: one per binding, then how to close it.
fn line_count() -> usize {
    keymap::BINDINGS.len() + 1
}

fn popup(area: Rect) -> Rect {
    let height = (line_count() as u16 + 2).min(area.height);
    area.centered(
        Constraint::Length(POPUP_WIDTH.min(area.width)),
        Constraint::Length(height),
    )
}

fn screen(state: &State) -> Rect {
    Rect::new(0, 0, state.size.0, state.size.1)
}

/// Lines of the help visible at once at the current terminal size.
pub fn help_visible_rows(state: &State) -> usize {
    popup(screen(state)).height.saturating_sub(2) as usize
}

/// How far the help scrolls: 0 when it fits.
pub fn help_max_scroll(state: &State) -> usize {
    line_count().saturating_sub(help_visible_rows(state))
}

pub fn render(frame: &mut Frame, help: Help, area: Rect) {
    let popup = popup(area);
    let room = (popup.width as usize).saturating_sub(2);
    let mut lines: Vec<Line> = keymap::BINDINGS
        .iter()
        .map(|b| {
            let keys = format!(" {:<KEYS_W$}", b.keys_label);
            let rest = room.saturating_sub(width(&keys));
            Line::from(vec![
                Span::styled(keys, Style::new().add_modifier(Modifier::BOLD)),
                Span::raw(ellipsis_whole_numbers(b.help, rest).into_owned()),
            ])
        })
        .collect();
    let visible = popup.height.saturating_sub(2) as usize;
    let max_scroll = line_count().saturating_sub(visible);
    let closing = if max_scroll > 0 {
        CLOSING_SCROLLED
    } else {
        CLOSING
    };
    lines.push(Line::from(format!(
        " {}",
        ellipsis_whole_numbers(closing, room.saturating_sub(1))
    )));
    let scroll = help.scroll.min(max_scroll);
    let mut block = Block::bordered().title(" Keys ");
    if max_scroll > 0 {
        block = block.title_bottom(Line::from(" ↑↓ scroll ").right_aligned());
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll as u16, 0))
            .block(block),
        popup,
    );
    if max_scroll > 0 {
        let mut position = ScrollbarState::new(max_scroll + 1).position(scroll);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight)
                .begin_symbol(None)
                .end_symbol(None),
            popup.inner(ratatui::layout::Margin::new(0, 1)),
            &mut position,
        );
    }
}
