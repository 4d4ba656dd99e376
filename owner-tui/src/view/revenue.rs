//! Purchases and revenue per branch and in total. When the box is narrow the sales column goes
//! first, then the branch names; a figure is never cut. When it is short, the total stays and
//! the branches that do not fit are counted on one line.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Padding, Row, Table};
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

    let mut lines: Vec<(String, String, String)> = d
        .branches
        .iter()
        .map(|b| {
            (
                printable(&b.supermarket_id).into_owned(),
                b.purchases.to_string(),
                format!("{:.2}", b.revenue),
            )
        })
        .collect();
    let total = (
        "Total".to_string(),
        d.purchases().to_string(),
        format!("{:.2}", d.revenue()),
    );
    let heading = (
        "Branch".to_string(),
        "Sales".to_string(),
        "Revenue".to_string(),
    );
    let widest = |pick: fn(&(String, String, String)) -> &String| {
        lines
            .iter()
            .chain([&total, &heading])
            .map(|l| width(pick(l)))
            .max()
            .unwrap_or(0)
    };
    let name_w = widest(|l| &l.0);
    let sales_w = widest(|l| &l.1);
    let revenue_w = widest(|l| &l.2);

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
    let body_rows = (inner.height as usize).saturating_sub(2);
    let mut hidden = 0;
    if lines.len() > body_rows {
        let kept = body_rows.saturating_sub(1);
        hidden = lines.len() - kept;
        lines.truncate(kept);
    }
    let row = |line: &(String, String, String)| {
        let mut cells = Vec::new();
        if name_col > 0 {
            cells.push(Line::from(
                ellipsis_whole_numbers(&line.0, name_col - 1).into_owned(),
            ));
        }
        if sales_col > 0 {
            cells.push(Line::from(number(line.1.clone(), sales_col)).alignment(Alignment::Right));
        }
        cells.push(Line::from(number(line.2.clone(), revenue_col)).alignment(Alignment::Right));
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
    let mut widths = Vec::new();
    for col in [name_col, sales_col] {
        if col > 0 {
            widths.push(Constraint::Length(col as u16));
        }
    }
    widths.push(Constraint::Length(revenue_col as u16));

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
