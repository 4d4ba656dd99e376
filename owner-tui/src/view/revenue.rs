//! Purchases and revenue per branch and in total, and the money refunded once there is any
//! refund. When the box is narrow the refunds column goes first, then the sales column, then
//! the branch names; a figure is never cut. When it is short, the total stays and the branches
//! that do not fit are counted on one line.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Padding, Row, Table};
use rust_decimal::Decimal;
use store_core::domain::analytics::Dashboard;
use store_core::domain::input::printable;

use tui_runtime::text::{ellipsis_whole_numbers, first_fitting, number, width};

/// The name and the sales columns are at least this wide when there is room (the gap between
/// columns included), as at 80 columns.
const COLUMN_ROOM: usize = 8;

pub fn render(frame: &mut Frame, d: &Dashboard, area: Rect) {
    let block = Block::bordered().padding(Padding::left(1));
    let inner = block.inner(area);
    let room = inner.width as usize;

    let mut lines: Vec<BranchLine> = d
        .branches
        .iter()
        .map(|b| BranchLine {
            name: printable(&b.supermarket_id).into_owned(),
            sales: b.purchases.to_string(),
            revenue: format!("{:.2}", b.revenue),
            refunded: format!("{:.2}", b.refunded),
        })
        .collect();
    let total = BranchLine {
        name: "Total".to_string(),
        sales: d.purchases().to_string(),
        revenue: format!("{:.2}", d.revenue()),
        refunded: format!(
            "{:.2}",
            d.branches.iter().map(|b| b.refunded).sum::<Decimal>()
        ),
    };
    let heading = BranchLine {
        name: "Branch".to_string(),
        sales: "Sales".to_string(),
        revenue: "Revenue".to_string(),
        refunded: "Refunds".to_string(),
    };
    let widest = |pick: fn(&BranchLine) -> &String| {
        lines
            .iter()
            .chain([&total, &heading])
            .map(|l| width(pick(l)))
            .max()
            .unwrap_or(0)
    };
    let name_w = widest(|l| &l.name);
    let sales_w = widest(|l| &l.sales);
    let revenue_w = widest(|l| &l.revenue);
    let any_refund = d.branches.iter().any(|b| b.refunds > 0);
    // The refunds column, with its gap, when there is a refund and everything else fits whole.
    let refunded_col = if any_refund {
        let col = widest(|l| &l.refunded) + 1;
        if name_w + 1 + sales_w + 1 + revenue_w + col <= room {
            col
        } else {
            0
        }
    } else {
        0
    };
    let room = room - refunded_col;

    // Each column with the gap before the next one; the revenue takes what is left.
    let (name_col, sales_col) = if name_w + 1 + sales_w + 1 + revenue_w <= room {
        let name_col = (name_w + 1).max(COLUMN_ROOM);
        let sales_col = sales_w.max(COLUMN_ROOM);
        if name_col + sales_col + 1 + revenue_w <= room {
            (name_col, sales_col)
        } else {
            (name_w + 1, sales_w)
        }
    } else if name_w + 1 + revenue_w <= room {
        (name_w + 1, 0)
    } else {
        (0, 0)
    };
    let revenue_col = room.saturating_sub(name_col + sales_col);

    // Rows: the heading, the branches that fit, a count of the others, the total.
    let wants_refunds_line = any_refund && refunded_col == 0;
    let body_rows = (inner.height as usize).saturating_sub(2 + usize::from(wants_refunds_line));
    let mut hidden = 0;
    if lines.len() > body_rows {
        let kept = body_rows.saturating_sub(1);
        hidden = lines.len() - kept;
        lines.truncate(kept);
    }
    let row = |line: &BranchLine| {
        let mut cells = Vec::new();
        if name_col > 0 {
            cells.push(Line::from(
                ellipsis_whole_numbers(&line.name, name_col - 1).into_owned(),
            ));
        }
        if sales_col > 0 {
            cells.push(
                Line::from(number(line.sales.clone(), sales_col)).alignment(Alignment::Right),
            );
        }
        cells.push(
            Line::from(number(line.revenue.clone(), revenue_col)).alignment(Alignment::Right),
        );
        if refunded_col > 0 {
            cells.push(
                Line::from(number(line.refunded.clone(), refunded_col)).alignment(Alignment::Right),
            );
        }
        Row::new(cells)
    };
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut rows: Vec<Row> = lines.iter().map(row).collect();
    if hidden > 0 && body_rows > 0 {
        let more = format!("+{hidden} more");
        rows.push(Row::new([Line::from(
            ellipsis_whole_numbers(&more, room).into_owned(),
        )]));
    }
    rows.push(row(&total).style(bold));
    // No room for the refunds column: the chain's refunds on one line under the total.
    if wants_refunds_line && inner.height as usize >= 3 {
        let cells = [
            Line::from(ellipsis_whole_numbers("Refunds", name_col.max(1) - 1).into_owned()),
            Line::from(""),
            Line::from(number(total.refunded.clone(), revenue_col)).alignment(Alignment::Right),
        ];
        let cells: Vec<Line> = match (name_col > 0, sales_col > 0) {
            (true, true) => cells.into(),
            (true, false) => vec![cells[0].clone(), cells[2].clone()],
            _ => vec![cells[2].clone()],
        };
        rows.push(Row::new(cells));
    }
    let mut widths = Vec::new();
    for col in [name_col, sales_col] {
        if col > 0 {
            widths.push(Constraint::Length(col as u16));
        }
    }
    widths.push(Constraint::Length(revenue_col as u16));
    if refunded_col > 0 {
        widths.push(Constraint::Length(refunded_col as u16));
    }

    let title_forms: &[&str] = if sales_col > 0 {
        &[" Revenue & sales ", " Revenue "]
    } else {
        &[" Revenue "]
    };
    let title = first_fitting(
        title_forms.iter().copied(),
        (area.width as usize).saturating_sub(2),
    )
    .unwrap_or_default();
    frame.render_widget(
        Table::new(rows, widths)
            .header(row(&heading).style(bold))
            .column_spacing(0)
            .block(block.title(title)),
        area,
    );
}

/// One row of the table, as text.
struct BranchLine {
    name: String,
    sales: String,
    revenue: String,
    refunded: String,
}
