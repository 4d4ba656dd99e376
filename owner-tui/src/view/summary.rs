//! The period's figures, each beside the same-length period before it and the change
//! ("▲ 12.5%", "▼ 3.0%", "new"): purchases, revenue, items, buyers, the average basket (items
//! and value) and refunds.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Padding, Row, Table};

use crate::figures::figures;
use store_core::domain::analytics::Insights;
use tui_runtime::text::{ellipsis, first_fitting, number, width};

/// Lines the box takes: borders, the heading and a blank, eight figures.
pub const HEIGHT: u16 = 2 + 2 + 8;

pub fn render(frame: &mut Frame, insights: &Insights, previous_label: Option<&str>, area: Rect) {
    let outer = (area.width as usize).saturating_sub(2);
    let title = match previous_label {
        Some(before) => first_fitting(
            [
                format!(" Summary · against {before} "),
                " Summary · against the period before ".to_string(),
                " Summary ".to_string(),
            ],
            outer,
        ),
        None => first_fitting(
            [
                " Summary · all time has no period before ".to_string(),
                " Summary ".to_string(),
            ],
            outer,
        ),
    }
    .unwrap_or_default();
    let block = Block::bordered()
        .title(title)
        .padding(Padding::horizontal(1));
    let inner = block.inner(area).width as usize;
    let rows = figures(&insights.summary, insights.previous.as_ref());
    let widest = |pick: &dyn Fn(&crate::figures::Figure) -> usize, heading: &str| {
        rows.iter().map(pick).max().unwrap_or(0).max(width(heading))
    };
    let label_w = widest(&|f| width(f.label), "Figure");
    let now_w = widest(&|f| width(&f.now), "This period");
    let before_w = widest(&|f| f.before.as_deref().map(width).unwrap_or(0), "Before");
    let change_w = widest(&|f| f.change.as_deref().map(width).unwrap_or(0), "Change");
    // Narrow boxes cut the labels (words), never the figures.
    let label_w = label_w.min(inner.saturating_sub(now_w + 1));
    let now_w = now_w.min(inner);
    let compared = insights.previous.is_some();
    // The change goes before the previous value when both do not fit.
    let change_shown = compared && inner >= label_w + 1 + now_w + 1 + change_w;
    let before_shown = change_shown && inner >= label_w + 1 + now_w + 1 + change_w + 1 + before_w;
    // Extra room is spread between the columns.
    let used = label_w
        + now_w
        + if change_shown { change_w + 1 } else { 0 }
        + if before_shown { before_w + 1 } else { 0 };
    let gaps = 1 + usize::from(change_shown) + usize::from(before_shown);
    let spare = inner.saturating_sub(used + gaps).min(8 * gaps) / gaps;
    let gap = 1 + spare;

    let right = |text: String| Line::from(text).alignment(Alignment::Right);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut widths = vec![
        Constraint::Length(label_w as u16),
        Constraint::Length(now_w as u16),
    ];
    let mut header = vec![
        Line::from(ellipsis("Figure", label_w).into_owned()),
        right(
            first_fitting(["This period", "Now"], now_w)
                .unwrap_or_default()
                .into(),
        ),
    ];
    if before_shown {
        widths.push(Constraint::Length(before_w as u16));
        header.push(right("Before".into()));
    }
    if change_shown {
        widths.push(Constraint::Length(change_w as u16));
        header.push(right("Change".into()));
    }
    let lines: Vec<Row> = rows
        .iter()
        .map(|f| {
            let mut cells = vec![
                Cell::from(ellipsis(f.label, label_w).into_owned()),
                Cell::from(right(number(f.now.clone(), now_w)).style(bold)),
            ];
            if before_shown {
                cells.push(Cell::from(right(number(
                    f.before.clone().unwrap_or_default(),
                    before_w,
                ))));
            }
            if change_shown {
                cells.push(Cell::from(right(f.change.clone().unwrap_or_default())));
            }
            Row::new(cells)
        })
        .collect();
    frame.render_widget(
        Table::new(lines, widths)
            .header(Row::new(header).style(bold).bottom_margin(1))
            .column_spacing(gap as u16)
            .block(block),
        area,
    );
}
