//! The screen as a pure function of the state. No colour is used: emphasis is bold or
//! reversed text, and every condition (ties, stale, frozen) is spelled out in words or signs,
//! so the dashboard reads the same in monochrome, with NO_COLOR, and over any SSH terminal.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline};
use store_core::domain::analytics::{Dashboard, TopProduct, TrendBucket, TrendPoint};

use store_core::domain::input::printable;

use crate::app::{Connection, Snapshot, State};
use crate::keymap;

const RIGHT_WIDTH: u16 = 30;
const MAX_TOP_LINES: usize = 6;

struct Areas {
    header: Rect,
    status: Rect,
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
    let right_width = RIGHT_WIDTH.min(body.width * 2 / 5);
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(body);
    let top_lines = state
        .shown
        .as_ref()
        .map(|s| s.dashboard.top_products.len().clamp(1, MAX_TOP_LINES))
        .unwrap_or(1) as u16;
    let [buyers, top, loyal] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Length(top_lines + 2),
        Constraint::Min(3),
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
    let loyal = layout(area, state).loyal;
    // Borders and the column header.
    loyal.height.saturating_sub(3) as usize
}

pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let areas = layout(area, state);
    render_header(frame, state, &areas);
    render_footer(frame, areas.footer);
    match &state.shown {
        Some(shown) => {
            render_buyers(frame, state, &shown.dashboard, areas.buyers);
            render_top(frame, &shown.dashboard.top_products, areas.top);
            render_loyal(frame, state, &shown.dashboard, areas.loyal);
            render_revenue(frame, &shown.dashboard, areas.revenue);
            render_trend(frame, shown, areas.trend);
        }
        None => {
            let body = Rect {
                y: areas.status.y + 1,
                height: area.height.saturating_sub(3),
                ..area
            };
            let (first, connect_error) = match &state.connection {
                Connection::Connected { .. } if state.waiting_for_database() => {
                    ("Waiting for the database…", None)
                }
                Connection::Connected { .. } => ("Loading the figures…", None),
                Connection::Connecting { last_error } => {
                    ("Connecting to the database…", last_error.as_ref())
                }
            };
            let mut lines = vec![Line::from(first)];
            if let Some(error) = connect_error {
                lines.push(Line::from(""));
                lines.push(Line::from(format!(
                    "Not reachable yet: {}",
                    first_line(error)
                )));
                lines.push(Line::from("Retrying by itself; q quits."));
            }
            if let Some(error) = &state.stale {
                lines.push(Line::from(format!("Failed: {}", first_line(error))));
            }
            frame.render_widget(
                Paragraph::new(lines)
                    .alignment(Alignment::Center)
                    .block(Block::bordered()),
                body,
            );
        }
    }
    if state.help {
        render_help(frame, area);
    }
}

/// An error's first line, escaped: it can quote names from the database.
fn first_line(text: &str) -> std::borrow::Cow<'_, str> {
    printable(text.lines().next().unwrap_or(""))
}

fn render_header(frame: &mut Frame, state: &State, areas: &Areas) {
    let mut right = String::new();
    if state.stale.is_some() {
        right.push_str("STALE ");
    }
    if state.is_frozen() {
        right.push_str("FROZEN ");
    }
    match &state.shown {
        Some(s) => right.push_str(&format!(
            "updated {}",
            state
                .settings
                .local(s.dashboard.generated_at)
                .format("%H:%M:%S")
        )),
        None => right.push_str("no data yet"),
    }
    let mut left = format!(
        "iCash owner · {} · loyal {}+",
        printable(&state.filter.label()),
        state.min_purchases
    );
    let width = areas.header.width as usize;
    let room = width.saturating_sub(right.chars().count() + 3);
    if left.chars().count() > room {
        left = left
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    let pad = width.saturating_sub(left.chars().count() + right.chars().count() + 2);
    let text = format!(" {left}{}{right} ", " ".repeat(pad));
    frame.render_widget(
        Paragraph::new(text).style(Style::new().add_modifier(Modifier::REVERSED)),
        areas.header,
    );

    let mut parts: Vec<String> = Vec::new();
    if let Some(error) = &state.stale {
        parts.push(format!(
            "STALE: last refresh failed ({}), retrying",
            first_line(error)
        ));
    } else if state.is_frozen() {
        parts.push("FROZEN: figures held, f resumes".into());
    } else if state.waiting_for_database() {
        parts.push("waiting for the database…".into());
    } else if state.shown.is_some() && state.loading_selection() {
        parts.push("loading the new selection…".into());
    } else if state.listener_error.is_some() {
        parts.push("live updates reconnecting".into());
    } else if state.shown.is_some() {
        parts.push("LIVE".into());
    }
    if let Some(status) = &state.status {
        parts.push(printable(status).into_owned());
    }
    frame.render_widget(
        Paragraph::new(format!(" {}", parts.join(" · "))),
        areas.status,
    );
}

fn render_footer(frame: &mut Frame, area: Rect) {
    let mut spans = vec![Span::raw(" ")];
    for (key, label) in keymap::hints() {
        spans.push(Span::styled(key, Style::new().add_modifier(Modifier::BOLD)));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_buyers(frame: &mut Frame, state: &State, d: &Dashboard, area: Rect) {
    let inner = area.width.saturating_sub(2) as usize;
    let line = |label: String, value: String| {
        let pad = inner.saturating_sub(label.chars().count() + value.chars().count() + 2);
        Line::from(vec![
            Span::raw(format!(" {label}{}", " ".repeat(pad))),
            Span::styled(value, Style::new().add_modifier(Modifier::BOLD)),
        ])
    };
    let mut title = " Buyers ".to_string();
    if state.loading_selection() {
        title = format!(
            " Buyers · showing {}, min {} ",
            printable(&d.filter.label()),
            d.min_purchases
        );
    }
    frame.render_widget(
        Paragraph::new(vec![
            line("Unique buyers".into(), d.unique_buyers.to_string()),
            line(
                format!("Loyal buyers ({}+ purchases)", d.min_purchases),
                d.loyal_buyers.to_string(),
            ),
        ])
        .block(Block::bordered().title(title)),
        area,
    );
}

/// "1", "2", or "=2" when several products share rank 2.
pub fn rank_label(products: &[TopProduct], p: &TopProduct) -> String {
    let tied = products.iter().filter(|o| o.rank == p.rank).count() > 1;
    if tied {
        format!("={}", p.rank)
    } else {
        p.rank.to_string()
    }
}

fn render_top(frame: &mut Frame, products: &[TopProduct], area: Rect) {
    let ties = products
        .iter()
        .any(|p| products.iter().filter(|o| o.rank == p.rank).count() > 1);
    let title = if ties {
        " Top products · units · = tie "
    } else {
        " Top products · units "
    };
    let inner = area.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    if products.is_empty() {
        lines.push(Line::from(" no sales"));
    }
    let shown = if products.len() > MAX_TOP_LINES {
        MAX_TOP_LINES - 1
    } else {
        products.len()
    };
    // Stored names are shown escaped (control, bidi and format characters spelled out).
    let names: Vec<String> = products
        .iter()
        .map(|p| printable(&p.name).into_owned())
        .collect();
    let name_w = names
        .iter()
        .map(|name| name.chars().count())
        .max()
        .unwrap_or(0)
        .min(14);
    let max_units = products.iter().map(|p| p.units).max().unwrap_or(0);
    let units_w = max_units.to_string().len();
    let bar_w = inner.saturating_sub(1 + 3 + 1 + name_w + 1 + 1 + units_w + 1);
    for (p, name) in products[..shown].iter().zip(&names) {
        let bar_len = if max_units > 0 && p.units > 0 {
            ((p.units as f64 / max_units as f64) * bar_w as f64)
                .round()
                .max(1.0) as usize
        } else {
            0
        };
        let name: String = name.chars().take(name_w).collect();
        lines.push(Line::from(vec![
            Span::raw(format!(
                " {:>3} {:<name_w$} ",
                rank_label(products, p),
                name
            )),
            Span::raw(format!("{:<bar_w$}", "█".repeat(bar_len))),
            Span::styled(
                format!(" {:>units_w$}", p.units),
                Style::new().add_modifier(Modifier::BOLD),
            ),
        ]));
    }
    if shown < products.len() {
        lines.push(Line::from(format!(
            " … and {} more tied products",
            products.len() - shown
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        area,
    );
}

fn render_loyal(frame: &mut Frame, state: &State, d: &Dashboard, area: Rect) {
    let count = state.loyal_count();
    let visible = area.height.saturating_sub(3) as usize;
    let inner = area.width.saturating_sub(2) as usize;
    let num_w = count.max(1).to_string().len().max(1);
    let buys_w = 4; // "Buys"
    let id_w = inner.saturating_sub(1 + num_w + 1 + 1 + buys_w).min(36);
    let mut lines = vec![Line::styled(
        format!(" {:>num_w$} {:<id_w$} {:>buys_w$}", "#", "Customer", "Buys"),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let end = (state.loyal_top + visible).min(count);
    for i in state.loyal_top..end {
        let text = match state.loyal_row(i) {
            Some(b) => {
                let id = b.user_id.to_string();
                let id = if id.chars().count() > id_w {
                    let cut: String = id.chars().take(id_w.saturating_sub(1)).collect();
                    format!("{cut}…")
                } else {
                    id
                };
                format!(" {:>num_w$} {:<id_w$} {:>buys_w$}", i + 1, id, b.purchases)
            }
            None => format!(" {:>num_w$} {:<id_w$}", i + 1, "loading…"),
        };
        lines.push(Line::from(text));
    }
    if count == 0 {
        lines.push(Line::from(" nobody yet"));
    }
    let position = if count == 0 {
        String::new()
    } else {
        format!(" {}-{} of {} ", state.loyal_top + 1, end, count)
    };
    let block = Block::bordered()
        .title(format!(
            " Loyal buyers ({}+ purchases): {} ",
            d.min_purchases, d.loyal_buyers
        ))
        .title_bottom(Line::from(position).alignment(Alignment::Right));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_revenue(frame: &mut Frame, d: &Dashboard, area: Rect) {
    let inner = area.width.saturating_sub(2) as usize;
    let rev_w = inner.saturating_sub(1 + 8 + 8 + 1).max(1);
    let row = |name: &str, purchases: i64, revenue: String| {
        format!(" {:<8}{:>8} {:>rev_w$}", name, purchases, revenue)
    };
    let mut lines = vec![Line::styled(
        format!(" {:<8}{:>8} {:>rev_w$}", "Branch", "Sales", "Revenue"),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    for b in &d.branches {
        lines.push(Line::from(row(
            &printable(&b.supermarket_id),
            b.purchases,
            format!("{:.2}", b.revenue),
        )));
    }
    lines.push(Line::styled(
        row("Total", d.purchases(), format!("{:.2}", d.revenue())),
        Style::new().add_modifier(Modifier::BOLD),
    ));
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Revenue & sales ")),
        area,
    );
}

/// Purchases per bucket from the first to the last bucket with sales, gaps filled with zero.
pub fn filled_series(points: &[TrendPoint], bucket: TrendBucket) -> Vec<(DateTime<Utc>, u64)> {
    let step = match bucket {
        TrendBucket::Hour => chrono::Duration::hours(1),
        TrendBucket::Day => chrono::Duration::days(1),
    };
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = first.bucket_start;
    let mut iter = points.iter().peekable();
    // Bounded, whatever the data: ten years of days or a year of hours.
    while at <= last.bucket_start && out.len() < 9000 {
        let mut n = 0;
        while let Some(p) = iter.peek() {
            if p.bucket_start <= at {
                if p.bucket_start == at {
                    n += p.purchases.max(0) as u64;
                }
                iter.next();
            } else {
                break;
            }
        }
        out.push((at, n));
        at += step;
    }
    out
}

/// Hundredths of a purchase: the chart's columns carry averages.
const COLUMN_SCALE: u64 = 100;

/// The chart's columns, filling `width` whatever the number of buckets: column `c` covers the
/// buckets from `c * n / width` up to `(c + 1) * n / width` (at least one), and its height is
/// their average purchases per bucket (in hundredths), so a column covering two buckets is not
/// taller for it. With fewer buckets than columns each bucket is several columns wide.
pub fn chart_columns(series: &[(DateTime<Utc>, u64)], width: usize) -> Vec<u64> {
    let n = series.len();
    if n == 0 || width == 0 {
        return Vec::new();
    }
    (0..width)
        .map(|c| {
            let start = c * n / width;
            let end = ((c + 1) * n / width).max(start + 1).min(n);
            let sum: u64 = series[start..end].iter().map(|(_, v)| v).sum();
            let buckets = (end - start) as u64;
            (sum * COLUMN_SCALE + buckets / 2) / buckets
        })
        .collect()
}

fn render_trend(frame: &mut Frame, shown: &Snapshot, area: Rect) {
    let unit = match shown.bucket {
        TrendBucket::Hour => "hour",
        TrendBucket::Day => "day",
    };
    let block = Block::bordered().title(format!(" Sales per {unit} "));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let series = filled_series(&shown.trend, shown.bucket);
    if series.is_empty() {
        frame.render_widget(Paragraph::new(" no sales in this period"), inner);
        return;
    }
    let columns = chart_columns(&series, inner.width as usize);
    let max = columns.iter().copied().max().unwrap_or(0);
    let peak = series.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let fmt = |t: DateTime<Utc>| match shown.bucket {
        TrendBucket::Hour => t.format("%m-%d %H:00").to_string(),
        TrendBucket::Day => t.format("%Y-%m-%d").to_string(),
    };
    let first = fmt(series[0].0);
    let last = fmt(series[series.len() - 1].0);
    let count = series.len();
    let plural = if count == 1 { "" } else { "s" };
    // More buckets than columns: each column is the average of the buckets it covers.
    let buckets = if count > inner.width as usize {
        format!("UTC {unit}s, averaged to fit")
    } else {
        format!("UTC {unit}s")
    };
    let [spark, labels] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(3)]).areas(inner);
    frame.render_widget(Sparkline::default().data(&columns).max(max.max(1)), spark);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(format!("{first} → {last}")),
            Line::from(format!("peak {peak}/{unit} · {count} {unit}{plural}")),
            Line::from(buckets),
        ]),
        labels,
    );
}

fn render_help(frame: &mut Frame, area: Rect) {
    let width = 64.min(area.width);
    let height = (keymap::BINDINGS.len() as u16 + 3).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let mut lines: Vec<Line> = keymap::BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(
                    format!(" {:<13}", b.keys_label),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::from(" Any key closes this help."));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys ")),
        popup,
    );
}
