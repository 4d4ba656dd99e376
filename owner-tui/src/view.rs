//! The screen as a pure function of the state, one module per box. No colour is used: emphasis
//! is bold or reversed text, shades are block characters, and every condition (ties, stale,
//! frozen, a change up or down) is spelled out in words or signs, so the dashboard reads the
//! same in monochrome, with NO_COLOR, on a 16-colour terminal and over any SSH terminal. At
//! every size a number is shown whole or not at all (an ellipsis or a dropped column instead),
//! and larger terminals give the room to the chart and the lists, and show the views as tabs.

mod breakdown;
mod buyers;
mod columns;
mod customer;
mod header;
pub mod heat_map;
mod help;
mod loyal;
mod products;
mod range;
mod revenue;
mod summary;
mod top_products;
mod trend;
mod waiting;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Paragraph, Tabs};
use store_core::domain::input::printable;

use crate::app::{State, View};

pub use help::{help_max_scroll, help_visible_rows};
pub use top_products::rank_label;
pub use trend::{chart_columns, filled_series};

/// The right-hand column's width at 80 columns; wider terminals give it 3/8 of the width.
const RIGHT_WIDTH: u16 = 30;
const MAX_TOP_LINES: usize = 6;
/// From this height the views are shown as tabs under the status line (below it the header
/// names the view).
pub const TAB_BAR_MIN_HEIGHT: u16 = 30;

struct Areas {
    header: Rect,
    status: Rect,
    tabs: Option<Rect>,
    body: Rect,
    buyers: Rect,
    top: Rect,
    loyal: Rect,
    revenue: Rect,
    trend: Rect,
    footer: Rect,
}

fn layout(area: Rect, state: &State) -> Areas {
    let tab_rows = u16::from(area.height >= TAB_BAR_MIN_HEIGHT);
    let [header, status, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(tab_rows),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let tabs = (tab_rows > 0).then_some(tabs);
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
    // A branch a line, and one more for the refunds once there is any.
    let branch_lines = state
        .shown
        .as_ref()
        .map(|s| {
            let refunds = s.dashboard.branches.iter().any(|b| b.refunds > 0);
            s.dashboard.branches.len() + usize::from(refunds)
        })
        .unwrap_or(0) as u16;
    let [revenue, trend] = Layout::vertical([
        Constraint::Length((branch_lines + 4).min(right.height / 2).max(4)),
        Constraint::Min(0),
    ])
    .areas(right);
    Areas {
        header,
        status,
        tabs,
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

/// Rows the current view's scrolling table shows at the current terminal size (the loyal
/// buyers on the overview, a customer's visits, the products, tills or cashiers); 0 for a view
/// without one.
pub fn table_visible_rows(state: &State) -> usize {
    table_visible_rows_in(state, state.view)
}

/// Rows `view`'s scrolling table would show at the current terminal size.
pub fn table_visible_rows_in(state: &State, view: View) -> usize {
    let area = Rect::new(0, 0, state.size.0, state.size.1);
    let areas = layout(area, state);
    match (view, &state.customer) {
        (View::Overview, None) => loyal::visible_rows(areas.loyal),
        (View::Overview, Some(_)) => customer::visible_rows(areas.body),
        (View::Products, _) => products::visible_rows(areas.body),
        (View::Tills | View::Cashiers, _) => breakdown::visible_rows(areas.body),
        (View::Summary | View::Hours, _) => 0,
    }
}

pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let areas = layout(area, state);
    header::render(frame, state, areas.header, areas.status);
    header::render_hints(frame, state.key_mode(), areas.footer);
    if let Some(tabs) = areas.tabs {
        render_tabs(frame, state.view, tabs);
    }
    match &state.shown {
        Some(shown) => match (state.view, &state.customer) {
            (View::Overview, Some(open)) => {
                customer::render(frame, &state.settings, open, areas.body)
            }
            (View::Overview, None) => {
                buyers::render(frame, state, &shown.dashboard, areas.buyers);
                top_products::render(frame, &shown.dashboard.top_products, areas.top);
                loyal::render(frame, state, &shown.dashboard, areas.loyal);
                revenue::render(frame, &shown.dashboard, areas.revenue);
                trend::render(frame, shown, shown.dashboard.filter.zone, areas.trend);
            }
            (view, _) => match &shown.insights {
                Some(insights) => render_insights(frame, state, view, insights, areas.body),
                None => {
                    let text = if state.is_frozen() {
                        " Not read before the freeze: f resumes and reads them."
                    } else {
                        " Loading these figures…"
                    };
                    frame.render_widget(
                        Paragraph::new(text).block(ratatui::widgets::Block::bordered()),
                        areas.body,
                    )
                }
            },
        },
        None => waiting::render(frame, state, areas.body),
    }
    if let Some(range) = &state.range {
        range::render(frame, range, area);
    }
    if let Some(open) = state.help {
        help::render(frame, open, area);
    }
}

fn render_insights(
    frame: &mut Frame,
    state: &State,
    view: View,
    insights: &store_core::domain::analytics::Insights,
    body: Rect,
) {
    let tables = &state.tables;
    match view {
        View::Overview => {}
        View::Summary => {
            let before = insights
                .filter
                .period
                .previous(insights.generated_at, insights.filter.zone)
                .map(|p| p.label());
            // A tall terminal shows the hours under the figures.
            let room_for_hours = body.height >= summary::HEIGHT + heat_map::MIN_HEIGHT;
            let [figures, hours] = Layout::vertical([
                Constraint::Length(if room_for_hours {
                    summary::HEIGHT
                } else {
                    body.height
                }),
                Constraint::Min(0),
            ])
            .areas(body);
            summary::render(frame, insights, before.as_deref(), figures);
            if room_for_hours {
                heat_map::render(
                    frame,
                    &insights.heat_map,
                    insights.filter.zone.name(),
                    hours,
                );
            }
        }
        View::Products => products::render(frame, &insights.products, tables.products, body),
        View::Hours => {
            heat_map::render(frame, &insights.heat_map, insights.filter.zone.name(), body)
        }
        View::Tills => {
            let lines: Vec<breakdown::Line3> = insights
                .tills
                .iter()
                .map(|t| breakdown::Line3 {
                    who: t
                        .till
                        .as_deref()
                        .map(|t| printable(t).into_owned())
                        .unwrap_or_else(|| "(no till)".into()),
                    purchases: t.purchases,
                    revenue: t.revenue,
                })
                .collect();
            breakdown::render(
                frame,
                ["Sales per till", "Tills"],
                "Till",
                &lines,
                tables.tills,
                body,
            )
        }
        View::Cashiers => {
            let lines: Vec<breakdown::Line3> = insights
                .cashiers
                .iter()
                .map(|c| breakdown::Line3 {
                    who: match (c.cashier, &c.name) {
                        (Some(id), Some(name)) => format!("#{id} {}", printable(name)),
                        (Some(id), None) => format!("#{id}"),
                        (None, _) => "(no cashier)".into(),
                    },
                    purchases: c.purchases,
                    revenue: c.revenue,
                })
                .collect();
            breakdown::render(
                frame,
                ["Sales per cashier", "Cashiers"],
                "Cashier",
                &lines,
                tables.cashiers,
                body,
            )
        }
    }
}

/// The views as tabs, the current one reversed (no colour needed).
fn render_tabs(frame: &mut Frame, current: View, area: Rect) {
    let titles = View::ALL.iter().map(|v| format!(" {} ", v.title()));
    let selected = View::ALL.iter().position(|v| *v == current).unwrap_or(0);
    frame.render_widget(
        Tabs::new(titles)
            .select(selected)
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD))
            .divider("│")
            .padding("", ""),
        area,
    );
}
