//! Purchases and revenue per till or per cashier: a `Table` scrolled through its `TableState`,
//! each row's share of the revenue and average basket beside it, and a bar where there is room.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Padding, Row, Table, TableState};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::columns::fitting;
use super::products::share;
use tui_runtime::text::{ellipsis, first_fitting, number, width};

/// One row: who (already escaped for the screen), their purchases and revenue.
pub struct Line3 {
    pub who: String,
    pub purchases: i64,
    pub revenue: Decimal,
}

const WHO_MAX: usize = 32;

fn block() -> Block<'static> {
    Block::bordered().padding(Padding::horizontal(1))
}

/// Rows the box shows (its borders and the column header take three lines).
pub fn visible_rows(area: Rect) -> usize {
    block().inner(area).height.saturating_sub(1) as usize
}

/// `titles`: the box's title in its longest form first; `who`: the first column's heading.
pub fn render(
    frame: &mut Frame,
    titles: [&str; 2],
    who_heading: &str,
    lines: &[Line3],
    top: usize,
    area: Rect,
) {
    let count = lines.len();
    let visible = visible_rows(area);
    let end = (top + visible).min(count);
    let outer = (area.width as usize).saturating_sub(2);
    let title = first_fitting(
        [
            format!(" {}: {count} ", titles[0]),
            format!(" {}: {count} ", titles[1]),
            format!(" {} ", titles[1]),
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
    let total: Decimal = lines.iter().map(|l| l.revenue).sum();
    let sales: Vec<String> = lines.iter().map(|l| l.purchases.to_string()).collect();
    let revenues: Vec<String> = lines.iter().map(|l| format!("{:.2}", l.revenue)).collect();
    let shares: Vec<String> = lines.iter().map(|l| share(l.revenue, total)).collect();
    // The average basket: revenue per purchase.
    let baskets: Vec<String> = lines
        .iter()
        .map(|l| match l.purchases {
            0 => "—".to_string(),
            n => format!("{:.2}", (l.revenue / Decimal::from(n)).round_dp(2)),
        })
        .collect();
    let column = |cells: &[String], heading: &str| {
        cells
            .iter()
            .map(|c| width(c))
            .max()
            .unwrap_or(0)
            .max(width(heading))
    };
    let sales_w = column(&sales, "Sales");
    let revenue_w = column(&revenues, "Revenue");
    let share_w = column(&shares, "Share");
    let basket_w = column(&baskets, "Basket");
    // The revenue first, then the sales, the share, the average basket, who (at least a few
    // columns of it), a bar.
    let (fit, used) = fitting(inner, &[revenue_w, sales_w, share_w, basket_w]);
    let [revenue_shown, sales_shown, share_shown, basket_shown] = [fit[0], fit[1], fit[2], fit[3]];
    let who_natural = lines
        .iter()
        .map(|l| width(&l.who))
        .max()
        .unwrap_or(0)
        .max(width(who_heading))
        .min(WHO_MAX);
    let who_room = inner.saturating_sub(used + 1);
    let who_w = if who_room >= 4 {
        who_natural.min(who_room)
    } else {
        0
    };
    let bar_w = inner.saturating_sub(used + 1 + if who_w > 0 { who_w + 1 } else { 0 });
    let bar_w = if bar_w >= 6 { bar_w } else { 0 };

    let right = |text: String| Line::from(text).alignment(Alignment::Right);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut widths = Vec::new();
    let mut header = Vec::new();
    if who_w > 0 {
        widths.push(Constraint::Length(who_w as u16));
        header.push(Line::from(ellipsis(who_heading, who_w).into_owned()));
    }
    for (shown, w, heading) in [
        (sales_shown, sales_w, "Sales"),
        (revenue_shown, revenue_w, "Revenue"),
        (share_shown, share_w, "Share"),
        (basket_shown, basket_w, "Basket"),
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
    let most = lines.iter().map(|l| l.revenue).max().unwrap_or_default();
    let mut rows: Vec<Row> = lines[..end]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut cells = Vec::new();
            if who_w > 0 {
                cells.push(Cell::from(ellipsis(&l.who, who_w).into_owned()));
            }
            if sales_shown {
                cells.push(Cell::from(
                    right(number(sales[i].clone(), sales_w)).style(bold),
                ));
            }
            if revenue_shown {
                cells.push(Cell::from(right(number(revenues[i].clone(), revenue_w))));
            }
            if share_shown {
                cells.push(Cell::from(right(shares[i].clone())));
            }
            if basket_shown {
                cells.push(Cell::from(right(number(baskets[i].clone(), basket_w))));
            }
            if bar_w > 0 {
                let len = if most > Decimal::ZERO && l.revenue > Decimal::ZERO {
                    (l.revenue * Decimal::from(bar_w) / most)
                        .round()
                        .max(Decimal::ONE)
                        .to_usize()
                        .unwrap_or(1)
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
