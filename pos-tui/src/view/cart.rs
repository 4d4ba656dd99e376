//! The cart: a table of the sale's lines that scrolls to keep the selected one in view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, HighlightSpacing, Paragraph, Row, Table, TableState, Wrap};
use store_core::domain::input::printable;

use super::theme::Theme;
use super::{money, widest};
use crate::app::{Draft, LineStatus, State};
use tui_runtime::text::ellipsis;

/// Narrowest useful product name: below it, columns are dropped instead.
const NAME_MIN: u16 = 8;
const SPACING: u16 = 2;

pub fn render(state: &State, draft: &Draft, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(format!(" Cart: {} item(s) ", draft.lines().len()));
    if draft.lines().is_empty() {
        let lines = vec![
            Line::default(),
            Line::styled(" Empty. Type a product code and Enter,", theme.dim()),
            Line::styled(" a quick key F1-F10, or / to find by name.", theme.dim()),
        ];
        frame.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    let inner_width = block.inner(area).width;
    // A line no longer on sale says so (and how to remove it); a line whose price changed
    // shows the old and the new price. Both stand out.
    let lines: Vec<(String, String, String, String, Style)> = draft
        .lines()
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let name = state
                .line_name(draft, *id)
                .map(|n| printable(&n).into_owned())
                .unwrap_or_else(|| format!("product {id}"));
            let (name, price, style) = match state.line_status(draft, *id) {
                LineStatus::OnSale => (
                    name,
                    state
                        .product(*id)
                        .map_or_else(|| "-".to_string(), |p| money(p.unit_price)),
                    Style::new(),
                ),
                LineStatus::PriceChanged { was, now } => (
                    format!("{name} (new price)"),
                    format!("{} -> {}", money(was), money(now)),
                    theme.total(),
                ),
                LineStatus::Retired => (
                    format!("{name} (x removes)"),
                    "NOT SOLD".to_string(),
                    theme.error(),
                ),
            };
            (
                format!("{}.", i + 1),
                id.to_string(),
                name,
                format!("{price} "),
                style,
            )
        })
        .collect();
    let number_width = widest(lines.iter().map(|l| l.0.as_str()), 3) as u16;
    let code_width = widest(lines.iter().map(|l| l.1.as_str()), 4) as u16;
    let price_width = widest(lines.iter().map(|l| l.3.as_str()), 5) as u16;
    // Dropped first when the terminal is narrow: the product code, then the line number; the
    // price is never dropped nor cut.
    let fixed = |number: bool, code: bool| {
        1 + price_width
            + if number { number_width + SPACING } else { 0 }
            + if code { code_width + SPACING } else { 0 }
            + SPACING
    };
    let (show_number, show_code) = [(true, true), (true, false), (false, false)]
        .into_iter()
        .find(|(number, code)| fixed(*number, *code) + NAME_MIN <= inner_width)
        .unwrap_or((false, false));
    let name_width = usize::from(inner_width.saturating_sub(fixed(show_number, show_code)));
    let mut widths = Vec::new();
    if show_number {
        widths.push(Constraint::Length(number_width));
    }
    if show_code {
        widths.push(Constraint::Length(code_width));
    }
    widths.extend([Constraint::Fill(1), Constraint::Length(price_width)]);
    let rows = lines.iter().map(|(number, code, name, price, style)| {
        let mut cells = Vec::new();
        if show_number {
            cells.push(Cell::from(Line::from(number.as_str()).right_aligned()));
        }
        if show_code {
            cells.push(Cell::from(Line::from(code.as_str()).right_aligned()));
        }
        cells.push(Cell::from(ellipsis(name, name_width).into_owned()));
        cells.push(Cell::from(Line::from(price.as_str()).right_aligned()));
        Row::new(cells).style(*style)
    });
    let table = Table::new(rows, widths)
        .block(block)
        .column_spacing(SPACING)
        .highlight_symbol("▶")
        .highlight_spacing(HighlightSpacing::Always)
        .row_highlight_style(theme.selected());
    let mut table_state = TableState::default().with_selected(Some(draft.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}
