//! The screen as a pure function of the state, one module per box. No colour is used: emphasis
//! is bold or reversed text, and every condition (ties, stale, frozen) is spelled out in words or
//! signs, so the dashboard reads the same in monochrome, with NO_COLOR, and over any SSH
//! terminal. At every size a number is shown whole or not at all (an ellipsis or a dropped
//! column instead), and larger terminals give the room to the chart and the lists.

mod buyers;

mod header;
mod help;
mod loyal;
mod revenue;
mod top_products;
mod trend;
mod waiting;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::app::State;

pub use help::{help_max_scroll, help_visible_rows};
pub use top_products::rank_label;
pub use trend::{chart_columns, filled_series};

/// The right-hand column's width at 80 columns; wider terminals give it 3/8 of the width.
const RIGHT_WIDTH: u16 = 30;
const MAX_TOP_LINES: usize = 6;

struct Areas {
    header: Rect,
    status: Rect,
    body: Rect,
    buyers: Rect,
    top: Rect,
    loyal: Rect,
    revenue: Rect,
    trend: Rect,
    footer: Rect,
}

fn layout(area: Rect, state: &State) -> Areas {
    let [header, status, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let right_width = (body.width * 3 / 8)
        .max(RIGHT_WIDTH)
        .min(body.width * 2 / 5);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(body);
    let top_lines = state
        .shown
        .as_ref()
        .map(|s| s.dashboard.top_products.len().clamp(1, MAX_TOP_LINES))
        .unwrap_or(1) as u16;
    // When short, the buyers and the top products keep their height and the list gives way.
    let [buyers, top, loyal] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(top_lines + 2),
        Constraint::Min(0),
    ])
    .areas(left);
    let branch_lines = state
        .shown
        .as_ref()
        .map(|s| s.dashboard.branches.len())
        .unwrap_or(0) as u16;
    let [revenue, trend] = Layout::vertical([
        Constraint::Length((branch_lines + 4).min(right.height / 2).max(4)),
        Constraint::Min(0),
    ])
    .areas(right);
    Areas {
        header,
        status,
        body,
        buyers,
        top,
        loyal,
        revenue,
        trend,
        footer,
    }
}

/// How many loyal buyers the table shows at the current terminal size.
pub fn loyal_visible_rows(state: &State) -> usize {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    loyal::visible_rows(layout(area, state).loyal)
}

pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let areas = layout(area, state);
    header::render(frame, state, areas.header, areas.status);
    header::render_hints(frame, areas.footer);
    match &state.shown {
        Some(shown) => {
            buyers::render(frame, state, &shown.dashboard, areas.buyers);
            top_products::render(frame, &shown.dashboard.top_products, areas.top);
            loyal::render(frame, state, &shown.dashboard, areas.loyal);
            revenue::render(frame, &shown.dashboard, areas.revenue);
            trend::render(frame, shown, shown.dashboard.filter.zone, areas.trend);
        }
        None => waiting::render(frame, state, areas.body),
    }
    if let Some(open) = state.help {
        help::render(frame, open, area);
    }
}
