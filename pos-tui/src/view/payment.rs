//! The payment step after `s`: the total, the cash tendered being typed, and the change due in
//! large digits (tui-big-text) once the cash covers the total.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use rust_decimal::Decimal;
use tui_big_text::{BigText, PixelSize};
use tui_runtime::text::number;

use super::money;
use super::theme::Theme;
use crate::app::{State, parse_tendered};

/// Rows the large digits take (the 8x8 font at half height).
const BIG_ROWS: u16 = 4;
/// Rows of the CHANGE box: the digits and its border.
pub const CHANGE_HEIGHT: u16 = BIG_ROWS + 2;

pub fn render(state: &State, tendered: &str, theme: &Theme, frame: &mut Frame, area: Rect) {
    let total = state.total();
    // In place of the cart and the total: the payment is all the cashier looks at now.
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title(" PAYMENT ")
        .border_style(theme.total());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [total_row, tendered_row, _, change_area, _, keys_row] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(CHANGE_HEIGHT),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" Total          ", theme.dim()),
            Span::styled(money(total), theme.total()),
        ])),
        total_row,
    );
    let shown = if tendered.is_empty() {
        Span::styled("(Enter alone: the exact amount)", theme.dim())
    } else {
        Span::raw(tendered.to_string())
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" Cash tendered  ", theme.bold()),
            shown,
            Span::styled("▏", theme.fg(Color::Cyan)),
        ])),
        tendered_row,
    );
    match parse_tendered(tendered) {
        Ok(Some(cash)) if cash >= total => render_change(cash - total, theme, frame, change_area),
        Ok(Some(cash)) => frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" {} short of the total", money(total - cash)),
                theme.error(),
            )),
            change_area,
        ),
        _ => {}
    }
    frame.render_widget(
        Paragraph::new(Line::styled(
            " Enter cash   k card   Esc back to the sale",
            theme.bold(),
        )),
        keys_row,
    );
}

/// The change due in a box titled CHANGE: large digits when they fit, else the plain amount
/// (a number is never cut).
pub fn render_change(change: Decimal, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::bordered()
        .title(" CHANGE ")
        .border_style(theme.total());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let amount = money(change);
    let glyphs = u16::try_from(amount.chars().count()).unwrap_or(u16::MAX);
    let size = [(PixelSize::HalfHeight, 8), (PixelSize::Quadrant, 4)]
        .into_iter()
        .find(|(_, columns)| glyphs.saturating_mul(*columns) <= inner.width);
    match size {
        Some((pixel_size, _)) if inner.height >= BIG_ROWS => {
            let big = BigText::builder()
                .pixel_size(pixel_size)
                .style(theme.total())
                .lines(vec![amount.into()])
                .centered()
                .build();
            frame.render_widget(big, inner);
        }
        _ => frame.render_widget(
            Paragraph::new(Line::styled(
                number(amount, inner.width.into()),
                theme.total(),
            ))
            .centered(),
            inner,
        ),
    }
}
