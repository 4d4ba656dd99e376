//! The quick keys: F1-F10 and the products on them (dimmed once in the cart).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Row, Table};
use store_core::domain::input::printable;

use super::theme::Theme;
use super::{money, widest};
use crate::app::{Draft, State};
use tui_runtime::text::ellipsis;

pub fn render(state: &State, draft: &Draft, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Quick keys ");
    let inner_width = block.inner(area).width;
    let products: Vec<_> = state
        .catalog
        .iter()
        .flat_map(|c| c.products.iter().take(10))
        .collect();
    let ids: Vec<String> = products.iter().map(|p| p.id.to_string()).collect();
    let prices: Vec<String> = products.iter().map(|p| money(p.unit_price)).collect();
    let id_width = widest(ids.iter().map(String::as_str), 2) as u16;
    let price_width = widest(prices.iter().map(String::as_str), 4) as u16;
    let name_width = usize::from(inner_width.saturating_sub(3 + id_width + price_width + 3));
    let rows =
        products
            .iter()
            .zip(&ids)
            .zip(&prices)
            .enumerate()
            .map(|(i, ((product, id), price))| {
                let style = if draft.lines().contains(&product.id) {
                    theme.dim()
                } else {
                    Style::new()
                };
                Row::new([
                    Cell::from(format!("F{}", i + 1)),
                    Cell::from(Line::from(id.as_str()).right_aligned()),
                    Cell::from(ellipsis(&printable(&product.name), name_width).into_owned()),
                    Cell::from(Line::from(price.as_str()).right_aligned()),
                ])
                .style(style)
            });
    let table = Table::new(
        rows,
        [
            Constraint::Length(3),
            Constraint::Length(id_width),
            Constraint::Fill(1),
            Constraint::Length(price_width),
        ],
    )
    .block(block)
    .column_spacing(1);
    frame.render_widget(table, area);
}
