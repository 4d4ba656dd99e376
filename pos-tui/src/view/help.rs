//! The help overlay: every key, from the key map, in two columns when there is room; it
//! scrolls when it does not fit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};
use unicode_width::UnicodeWidthStr;

use super::popup;
use super::theme::Theme;
use crate::keymap;
use tui_runtime::text::ellipsis;

/// Two columns from this inner width on.
const TWO_COLUMNS: u16 = 76;

fn section_lines(
    title: &'static str,
    keys: &[(&'static str, &'static str)],
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let key_width = keys
        .iter()
        .map(|(k, _)| k.width())
        .max()
        .unwrap_or(0)
        .max(9)
        + 1;
    let mut lines = vec![Line::styled(
        ellipsis(&format!(" {title}"), width).into_owned(),
        theme.bold().add_modifier(Modifier::UNDERLINED),
    )];
    for (key, does) in keys {
        let key = format!("  {key}{}", " ".repeat(key_width - key.width()));
        let room = width.saturating_sub(key.width());
        lines.push(Line::from(vec![
            Span::styled(key, theme.key()),
            Span::raw(ellipsis(does, room).into_owned()),
        ]));
    }
    lines
}

/// Which column each section goes in (`true`: the right one) and the rows the taller column
/// takes, for a popup of `width`.
fn columns_of(sections: &[keymap::Section], width: u16) -> (Vec<bool>, usize) {
    let two_columns = width.saturating_sub(2) >= TWO_COLUMNS;
    let total: usize = sections.iter().map(|(_, keys)| keys.len() + 1).sum();
    let (mut left, mut right) = (0, 0);
    let sides = sections
        .iter()
        .map(|(_, keys)| {
            let rows = keys.len() + 1;
            let goes_left = !two_columns || (right == 0 && left + rows <= total.div_ceil(2));
            if goes_left {
                left += rows;
            } else {
                right += rows;
            }
            !goes_left
        })
        .collect();
    (sides, left.max(right))
}

/// The furthest the help can scroll in `area` (0: it fits).
pub fn max_scroll(area: Rect) -> usize {
    let (_, content) = columns_of(&keymap::help_sections(), area.width.min(80));
    content.saturating_sub(usize::from(area.height.saturating_sub(2)))
}

pub fn render(scroll: usize, theme: &Theme, frame: &mut Frame, area: Rect) {
    let sections = keymap::help_sections();
    let width = area.width.min(80);
    let two_columns = width.saturating_sub(2) >= TWO_COLUMNS;
    let column_width = if two_columns {
        usize::from(width.saturating_sub(2) / 2)
    } else {
        usize::from(width.saturating_sub(3))
    };
    let (sides, content) = columns_of(&sections, width);
    let mut left: Vec<Line> = Vec::new();
    let mut right: Vec<Line> = Vec::new();
    for ((title, keys), right_side) in sections.iter().zip(sides) {
        let lines = section_lines(title, keys, column_width, theme);
        if right_side {
            right.extend(lines);
        } else {
            left.extend(lines);
        }
    }
    let fits = content + 2 <= usize::from(area.height);
    let title = if fits {
        " Keys (any key closes) "
    } else {
        " Keys (↑↓ scroll, other keys close) "
    };
    let height = u16::try_from(content + 2).unwrap_or(u16::MAX);
    let inner = popup(frame, area, width, height, title.into());
    let visible = usize::from(inner.height);
    let offset = scroll.min(content.saturating_sub(visible));
    let offset_rows = u16::try_from(offset).unwrap_or(u16::MAX);
    if two_columns {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(inner);
        frame.render_widget(Paragraph::new(left).scroll((offset_rows, 0)), l);
        frame.render_widget(Paragraph::new(right).scroll((offset_rows, 0)), r);
    } else {
        frame.render_widget(Paragraph::new(left).scroll((offset_rows, 0)), inner);
    }
    if !fits {
        let mut bar = ScrollbarState::new(content.saturating_sub(visible)).position(offset);
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight),
            inner.outer(Margin::new(1, 0)),
            &mut bar,
        );
    }
}
