//! The total: in a three-row block font when there is room, else on one line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use rust_decimal::Decimal;
use unicode_width::UnicodeWidthStr;

use super::money;
use super::theme::Theme;
use tui_runtime::text::{first_fitting, number};

const GLYPHS: [[&str; 3]; 10] = [
    ["█▀█", "█ █", "█▄█"],
    ["▀█ ", " █ ", "▄█▄"],
    ["▀▀█", "█▀▀", "█▄▄"],
    ["▀▀█", " ▀█", "▄▄█"],
    ["█ █", "▀▀█", "  █"],
    ["█▀▀", "▀▀█", "▄▄█"],
    ["█▀▀", "█▀█", "█▄█"],
    ["▀▀█", "  █", "  █"],
    ["█▀█", "█▀█", "█▄█"],
    ["█▀█", "▀▀█", "▄▄█"],
];

/// `text` (digits and '.') in a three-row block font.
pub fn big_text(text: &str) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for c in text.chars() {
        let glyph = match c {
            '0'..='9' => GLYPHS[c as usize - '0' as usize],
            '.' => [" ", " ", "▄"],
            '-' => ["   ", "▀▀▀", "   "],
            _ => [" ", " ", " "],
        };
        for (row, part) in rows.iter_mut().zip(glyph) {
            if !row.is_empty() {
                row.push(' ');
            }
            row.push_str(part);
        }
    }
    rows
}

/// `rows` (from `big_text`) twice as wide and twice as tall: each half block becomes a whole
/// row of full blocks.
pub fn doubled(rows: &[String; 3]) -> Vec<String> {
    let scale = |row: &str, top: bool| -> String {
        row.chars()
            .flat_map(|c| {
                let full = match c {
                    '█' => true,
                    '▀' => top,
                    '▄' => !top,
                    _ => false,
                };
                let c = if full { '█' } else { ' ' };
                [c, c]
            })
            .collect()
    };
    rows.iter()
        .flat_map(|row| [scale(row, true), scale(row, false)])
        .collect()
}

/// Rows the total's box takes when it has `height` rows to grow in.
pub fn box_height(height: u16) -> u16 {
    match height {
        30.. => 8,
        10.. => 5,
        _ => 1,
    }
}

pub fn render(total: Decimal, theme: &Theme, frame: &mut Frame, area: Rect) {
    let amount = money(total);
    let width = usize::from(area.width);
    if area.height < 5 {
        // "TOTAL" goes first; an amount that does not fit is "…", never a cut number.
        let text = first_fitting([format!(" TOTAL {amount} "), format!("{amount} ")], width)
            .unwrap_or_else(|| number(amount, width));
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.total()).right_aligned()),
            area,
        );
        return;
    }
    let block = Block::bordered()
        .title(" TOTAL ")
        .border_style(theme.total());
    let inner = block.inner(area);
    let rows = big_text(&amount);
    let large = doubled(&rows);
    let lines: Vec<Line> = if inner.height >= 6 && large[0].width() <= usize::from(inner.width) {
        large
            .into_iter()
            .map(|r| Line::styled(r, theme.total()))
            .collect()
    } else if rows[0].width() <= usize::from(inner.width) {
        rows.into_iter()
            .map(|r| Line::styled(r, theme.total()))
            .collect()
    } else {
        vec![
            Line::default(),
            Line::styled(number(amount, inner.width.into()), theme.total()),
        ]
    };
    frame.render_widget(Paragraph::new(lines).right_aligned().block(block), area);
}
