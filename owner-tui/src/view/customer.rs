//! One customer, opened from the loyal list: their purchases, total spent, first and last
//! visit and branches above, their visits (newest first) in a `Table` scrolled through its
//! `TableState` below. Esc goes back.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Padding, Paragraph, Row, Table, TableState};
use store_core::domain::input::printable;

use super::columns::fitting;
use super::header::first_line;
use crate::app::{CustomerLoad, CustomerView, Settings};
use store_core::domain::analytics::CustomerDetail;
use tui_runtime::text::{ellipsis, ellipsis_whole_numbers, first_fitting, number, width};

/// The facts' box: borders and three lines.
const FACTS_HEIGHT: u16 = 5;

fn split(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(FACTS_HEIGHT), Constraint::Min(0)]).areas(area)
}

fn visits_block() -> Block<'static> {
    Block::bordered().padding(Padding::horizontal(1))
}

/// Visits the table shows in `body`.
pub fn visible_rows(body: Rect) -> usize {
    let [_, visits] = split(body);
    visits_block().inner(visits).height.saturating_sub(1) as usize
}

pub fn render(frame: &mut Frame, settings: &Settings, customer: &CustomerView, body: Rect) {
    let [facts, visits] = split(body);
    let id = customer.user_id.to_string();
    let outer = (facts.width as usize).saturating_sub(2);
    let title = first_fitting(
        [format!(" Customer {id} "), " Customer ".to_string()],
        outer,
    )
    .unwrap_or_default();
    let back = first_fitting([" Esc back ", " Esc "], outer.saturating_sub(width(&title)));
    let mut block = Block::bordered()
        .title(title)
        .padding(Padding::horizontal(1));
    if let Some(back) = back {
        block = block.title_top(Line::from(back).alignment(Alignment::Right));
    }
    let room = block.inner(facts).width as usize;
    let lines: Vec<Line> = match (&customer.load, customer.load.detail()) {
        (_, Some(detail)) => facts_lines(settings, detail, room),
        (CustomerLoad::Unknown, _) => vec![Line::from("No purchase has this customer.")],
        (CustomerLoad::Failed(error), _) => vec![Line::from(format!(
            "Could not read the customer: {}",
            first_line(error)
        ))],
        _ => vec![Line::from("Loading the customer…")],
    };
    frame.render_widget(Paragraph::new(lines).block(block), facts);
    match customer.load.detail() {
        Some(detail) => render_visits(frame, settings, detail, customer.top, visits),
        None => frame.render_widget(Block::bordered().title(" Visits "), visits),
    }
}

fn facts_lines(settings: &Settings, d: &CustomerDetail, room: usize) -> Vec<Line<'static>> {
    let day = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map(|at| settings.local(at).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "—".into())
    };
    let spent = format!("{:.2}", d.total_spent);
    let purchases = d.purchases;
    let first = day(d.first_visit);
    let last = day(d.last_visit);
    let totals = first_fitting(
        [
            format!("{purchases} purchases · {spent} spent"),
            format!("{purchases} buys · {spent}"),
        ],
        room,
    )
    .unwrap_or_else(|| format!("{purchases}"));
    let visits = first_fitting(
        [
            format!("First visit {first} · last visit {last}"),
            format!("First {first} · last {last}"),
            format!("Last {last}"),
        ],
        room,
    )
    .unwrap_or_default();
    // Branches, most visited first, as many as fit whole.
    let mut branches = String::from("Branches:");
    let mut left_out = 0;
    for (i, (branch, n)) in d.branches.iter().enumerate() {
        let entry = format!(" {} ({n})", printable(branch));
        let rest = d.branches.len() - i - 1;
        let more = if rest > 0 {
            format!(" +{rest} more")
        } else {
            String::new()
        };
        if width(&branches) + width(&entry) + width(&more) <= room {
            branches.push_str(&entry);
        } else {
            left_out = d.branches.len() - i;
            break;
        }
    }
    if left_out > 0 {
        branches.push_str(&format!(" +{left_out} more"));
    }
    [totals, visits, branches]
        .into_iter()
        .map(|text| Line::from(ellipsis_whole_numbers(&text, room).into_owned()))
        .collect()
}

fn render_visits(
    frame: &mut Frame,
    settings: &Settings,
    d: &CustomerDetail,
    top: usize,
    area: Rect,
) {
    let count = d.visits.len();
    let shown_of = if (count as i64) < d.purchases {
        format!(" Visits, newest first: {count} of {} ", d.purchases)
    } else {
        format!(" Visits, newest first: {count} ")
    };
    let outer = (area.width as usize).saturating_sub(2);
    let title = first_fitting([shown_of, " Visits ".to_string()], outer).unwrap_or_default();
    let visible = visits_block().inner(area).height.saturating_sub(1) as usize;
    let end = (top + visible).min(count);
    let mut block = visits_block().title(title);
    if end > top {
        let position = format!(" {}-{end} of {count} ", top + 1);
        if width(&position) + 2 <= outer {
            block = block.title_bottom(Line::from(position).alignment(Alignment::Right));
        }
    }
    let inner = block.inner(area).width as usize;
    let times: Vec<String> = d
        .visits
        .iter()
        .map(|v| {
            settings
                .local(v.created_at)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .collect();
    let branches: Vec<String> = d
        .visits
        .iter()
        .map(|v| printable(&v.supermarket_id).into_owned())
        .collect();
    let totals: Vec<String> = d.visits.iter().map(|v| format!("{:.2}", v.total)).collect();
    let receipts: Vec<String> = d
        .visits
        .iter()
        .map(|v| {
            v.receipt
                .as_deref()
                .map(|r| printable(r).into_owned())
                .unwrap_or_default()
        })
        .collect();
    let widest = |cells: &[String], heading: &str| {
        cells
            .iter()
            .map(|c| width(c))
            .max()
            .unwrap_or(0)
            .max(width(heading))
    };
    let time_w = widest(&times, "When");
    let branch_w = widest(&branches, "Branch").min(16);
    let items_w = d
        .visits
        .iter()
        .map(|v| v.items.to_string().len())
        .max()
        .unwrap_or(0)
        .max(width("Items"));
    let total_w = widest(&totals, "Total");
    let receipt_w = widest(&receipts, "Receipt");
    // The total first, then when, the items, the branch and the receipt, each whole or not
    // at all.
    let (fit, _) = fitting(inner, &[total_w, time_w, items_w, branch_w, receipt_w]);
    let right = |text: String| Line::from(text).alignment(Alignment::Right);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let columns: [(bool, usize, Line<'static>); 5] = [
        (fit[1], time_w, Line::from("When")),
        (fit[3], branch_w, Line::from("Branch")),
        (fit[2], items_w, right("Items".into())),
        (fit[0], total_w, right("Total".into())),
        (fit[4], receipt_w, Line::from("Receipt")),
    ];
    let widths: Vec<Constraint> = columns
        .iter()
        .filter(|(shown, _, _)| *shown)
        .map(|(_, w, _)| Constraint::Length(*w as u16))
        .collect();
    let header: Vec<Line> = columns
        .iter()
        .filter(|(shown, _, _)| *shown)
        .map(|(_, _, heading)| heading.clone())
        .collect();
    let columns = widths.len().max(1) as u16;
    let mut rows: Vec<Row> = (0..end)
        .map(|i| {
            let cells = [
                Cell::from(times[i].clone()),
                Cell::from(ellipsis(&branches[i], branch_w).into_owned()),
                Cell::from(right(number(d.visits[i].items.to_string(), items_w))),
                Cell::from(right(number(totals[i].clone(), total_w)).style(bold)),
                Cell::from(receipts[i].clone()),
            ];
            let shown = [fit[1], fit[3], fit[2], fit[0], fit[4]];
            Row::new(
                cells
                    .into_iter()
                    .zip(shown)
                    .filter_map(|(cell, shown)| shown.then_some(cell)),
            )
        })
        .collect();
    if count == 0 {
        rows.push(Row::new([Cell::from("no visits").column_span(columns)]));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(bold))
        .column_spacing(1)
        .block(block);
    let mut state = TableState::new().with_offset(top.min(count.saturating_sub(1)));
    frame.render_stateful_widget(table, area, &mut state);
}
