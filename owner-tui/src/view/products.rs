//! Revenue and units per product: a `Table` scrolled through its `TableState`, sold units
//! first (with a bar of them where there is room), and each product's share of the revenue.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Padding, Row, Table, TableState};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use store_core::domain::input::printable;

use super::columns::fitting;
use store_core::domain::analytics::ProductSales;
use tui_runtime::text::{ellipsis, first_fitting, number, width};

/// Names are cut beyond this many columns.
const NAME_MAX: usize = 40;

fn block() -> Block<'static> {
    Block::bordered().padding(Padding::horizontal(1))
}

/// Rows of products the box shows (its borders and the column header take three lines).
pub fn visible_rows(area: Rect) -> usize {
    block().inner(area).height.saturating_sub(1) as usize
}

/// "12.5%" of `total`, to a tenth.
pub fn share(part: Decimal, total: Decimal) -> String {
    if total.is_zero() {
        return "—".into();
    }
    format!("{:.1}%", (part * Decimal::ONE_HUNDRED / total).round_dp(1))
}

pub fn render(frame: &mut Frame, products: &[ProductSales], top: usize, area: Rect) {
    let count = products.len();
    let visible = visible_rows(area);
    let end = (top + visible).min(count);
    let outer = (area.width as usize).saturating_sub(2);
    let title = first_fitting(
        [
            format!(" Products · units and revenue: {count} "),
            format!(" Products: {count} "),
            " Products ".to_string(),
        ],
        outer,
    )
    .unwrap_or_default();
    let mut block = block().title(title);
    if end > top {
        let position = format!(" {}-{end} of {count} ", top + 1);
        if width(&position) + 2 <= outer {
            block = block.title_bottom(Line::from(position).alignment(Alignment::Right));
        }
    }
    let inner = block.inner(area).width as usize;
    let total: Decimal = products.iter().map(|p| p.revenue).sum();
    let names: Vec<String> = products
        .iter()
        .map(|p| printable(&p.name).into_owned())
        .collect();
    let revenues: Vec<String> = products
        .iter()
        .map(|p| format!("{:.2}", p.revenue))
        .collect();
    let shares: Vec<String> = products.iter().map(|p| share(p.revenue, total)).collect();
    let column = |cells: &[String], heading: &str| {
        cells
            .iter()
            .map(|c| width(c))
            .max()
            .unwrap_or(0)
            .max(width(heading))
    };
    let num_w = count.max(1).to_string().len().max(1);
    let units_w = products
        .iter()
        .map(|p| p.units.to_string().len())
        .max()
        .unwrap_or(0)
        .max(width("Units"));
    let revenue_w = column(&revenues, "Revenue");
    let share_w = column(&shares, "Rev %");
    // The units first, then the revenue, the share and the position; the name (at least a
    // few columns of it) and the bar share what is left.
    let (fit, used) = fitting(inner, &[units_w, revenue_w, share_w, num_w]);
    let [units_shown, revenue_shown, share_shown, num_shown] = [fit[0], fit[1], fit[2], fit[3]];
    let room = inner.saturating_sub(used + 1);
    let name_natural = names
        .iter()
        .map(|n| width(n))
        .max()
        .unwrap_or(0)
        .max(width("Product"))
        .min(NAME_MAX);
    let name_w = if room >= 4 { name_natural.min(room) } else { 0 };
    let bar_w = room.saturating_sub(name_w + 1);
    let bar_w = if bar_w >= 6 { bar_w } else { 0 };

    let right = |text: String| Line::from(text).alignment(Alignment::Right);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut widths = Vec::new();
    let mut header = Vec::new();
    if num_shown {
        widths.push(Constraint::Length(num_w as u16));
        header.push(right("#".into()));
    }
    if name_w > 0 {
        widths.push(Constraint::Length(name_w as u16));
        header.push(Line::from(ellipsis("Product", name_w).into_owned()));
    }
    for (shown, w, heading) in [
        (units_shown, units_w, "Units"),
        (revenue_shown, revenue_w, "Revenue"),
        (share_shown, share_w, "Rev %"),
    ] {
        if shown {
            widths.push(Constraint::Length(w as u16));
            header.push(right(heading.into()));
        }
    }
    if bar_w > 0 {
        widths.push(Constraint::Length(bar_w as u16));
        header.push(Line::from(""));
    }
    let columns = widths.len() as u16;
    // The bars follow the order (units); the revenue's share is written beside them.
    let top_units = products.iter().map(|p| p.units).max().unwrap_or(0);
    let mut rows: Vec<Row> = products[..end]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut cells = Vec::new();
            if num_shown {
                cells.push(Cell::from(right(number((i + 1).to_string(), num_w))));
            }
            if name_w > 0 {
                cells.push(Cell::from(ellipsis(&names[i], name_w).into_owned()));
            }
            if units_shown {
                cells.push(Cell::from(
                    right(number(p.units.to_string(), units_w)).style(bold),
                ));
            }
            if revenue_shown {
                cells.push(Cell::from(right(number(revenues[i].clone(), revenue_w))));
            }
            if share_shown {
                cells.push(Cell::from(right(shares[i].clone())));
            }
            if bar_w > 0 {
                let len = if top_units > 0 && p.units > 0 {
                    let scaled =
                        Decimal::from(p.units) * Decimal::from(bar_w) / Decimal::from(top_units);
                    scaled.round().max(Decimal::ONE).to_usize().unwrap_or(1)
                } else {
                    0
                };
                cells.push(Cell::from("█".repeat(len)));
            }
            Row::new(cells)
        })
        .collect();
    if count == 0 {
        rows.push(Row::new([
            Cell::from("no sales in this period").column_span(columns)
        ]));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(bold))
        .column_spacing(1)
        .block(block);
    let mut state = TableState::new().with_offset(top.min(count.saturating_sub(1)));
    frame.render_stateful_widget(table, area, &mut state);
}
