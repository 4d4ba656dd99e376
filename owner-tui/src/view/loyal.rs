//! The loyal buyers list: a `Table` scrolled through its `TableState` over the pages at hand
//! (the rest are fetched as the owner scrolls), with the position in the whole list below it.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Padding, Row, Table, TableState};
use store_core::domain::analytics::Dashboard;

use crate::app::{LOYAL_PAGE, State};
use tui_runtime::text::{ellipsis_whole_numbers, first_fitting, number, width};

/// Customer ids are cut beyond this many columns (a UUID is 36).
const ID_MAX: usize = 36;

fn block() -> Block<'static> {
    Block::bordered().padding(Padding::left(1))
}

/// Rows of buyers the box shows (its borders and the column header take three lines).
pub fn visible_rows(area: Rect) -> usize {
    block().inner(area).height.saturating_sub(1) as usize
}

pub fn render(frame: &mut Frame, state: &State, d: &Dashboard, area: Rect) {
    let count = state.loyal_count();
    let visible = visible_rows(area);
    let top = state.loyal.top;
    let end = (top + visible).min(count);
    let outer = (area.width as usize).saturating_sub(2);

    let n = d.min_purchases;
    let total = d.loyal_buyers;
    let title = first_fitting(
        [
            format!(" Loyal buyers ({n}+ purchases): {total} "),
            format!(" Loyal buyers: {total} "),
            format!(" Loyal: {total} "),
            format!(" {total} "),
        ],
        outer,
    )
    .unwrap_or_default();
    let position = if count == 0 || end <= top {
        None
    } else {
        first_fitting(
            [
                format!(" {}-{end} of {count} ", top + 1),
                format!(" {}-{end}/{count} ", top + 1),
            ],
            outer.saturating_sub(width(&title)),
        )
    };
    let mut block = block().title(title);
    if let Some(position) = position {
        block = block.title_bottom(Line::from(position).alignment(Alignment::Right));
    }
    let inner = block.inner(area).width as usize;

    let num_w = count.max(1).to_string().len().min(inner);
    let buys_w = d
        .loyal_page
        .iter()
        .map(|b| b.purchases.to_string().len())
        .max()
        .unwrap_or(0)
        .max(width("Buys"));
    let id_w = inner.saturating_sub(num_w + 1 + 1 + buys_w).min(ID_MAX);
    let buys_shown = inner >= num_w + 1 + buys_w;
    let mut widths = vec![Constraint::Length(num_w as u16)];
    if id_w > 0 {
        widths.push(Constraint::Length(id_w as u16));
    }
    if buys_shown {
        widths.push(Constraint::Length(buys_w as u16));
    }
    let right = |text: String| Line::from(text).alignment(Alignment::Right);

    let mut header = vec![right("#".into())];
    if id_w > 0 {
        header.push(Line::from(
            ellipsis_whole_numbers("Customer", id_w).into_owned(),
        ));
    }
    if buys_shown {
        header.push(right("Buys".into()));
    }
    // The rows from the start of the top row's page, scrolled to the top row by the state.
    let first = top - top % LOYAL_PAGE;
    let mut rows: Vec<Row> = (first..end)
        .map(|i| {
            let mut cells = vec![Cell::from(right(number((i + 1).to_string(), num_w)))];
            match state.loyal_row(i) {
                Some(b) => {
                    if id_w > 0 {
                        cells.push(Cell::from(
                            ellipsis_whole_numbers(&b.user_id.to_string(), id_w).into_owned(),
                        ));
                    }
                    if buys_shown {
                        cells.push(Cell::from(right(number(b.purchases.to_string(), buys_w))));
                    }
                }
                None if id_w > 0 => cells.push(Cell::from(
                    ellipsis_whole_numbers("loading…", id_w).into_owned(),
                )),
                None => {}
            }
            Row::new(cells)
        })
        .collect();
    if count == 0 {
        rows.push(Row::new([Cell::from("nobody yet").column_span(3)]));
    }
    // The cursor's row (what Enter opens) in reverse video.
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .column_spacing(1)
        .block(block);
    let selected = state.loyal.selected;
    let mut scroll = TableState::new()
        .with_offset(if count == 0 { 0 } else { top - first })
        .with_selected((count > 0 && (top..end).contains(&selected)).then(|| selected - first));
    frame.render_stateful_widget(table, area, &mut scroll);
}
