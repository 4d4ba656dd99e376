//! Sales over time: a `Sparkline` over the box's whole width (averaged or stretched to fit),
//! with its range, peak and bucket written under it in the longest form that fits.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Sparkline};
use store_core::domain::analytics::{TrendBucket, TrendPoint};
use store_core::domain::time_zone::{self, Tz};

use crate::app::Snapshot;
use tui_runtime::text::first_fitting;

/// Purchases per bucket from the first to the last bucket with sales, gaps filled with zero.
/// Days are `zone`'s: 23 or 25 hours long on the days its clocks change.
pub fn filled_series(
    points: &[TrendPoint],
    bucket: TrendBucket,
    zone: Tz,
) -> Vec<(DateTime<Utc>, u64)> {
    let next = |at: DateTime<Utc>| match bucket {
        TrendBucket::Hour => at + chrono::Duration::hours(1),
        TrendBucket::Day => time_zone::next_day(at, zone),
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
        at = next(at);
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

pub fn render(frame: &mut Frame, shown: &Snapshot, zone: Tz, area: Rect) {
    let unit = match shown.bucket {
        TrendBucket::Hour => "hour",
        TrendBucket::Day => "day",
    };
    let outer = (area.width as usize).saturating_sub(2);
    let title = first_fitting(
        [format!(" Sales per {unit} "), format!(" Sales/{unit} ")],
        outer,
    )
    .unwrap_or_default();
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let room = inner.width as usize;
    let series = filled_series(&shown.trend, shown.bucket, zone);
    if series.is_empty() {
        let text = first_fitting([" no sales in this period", " no sales"], room);
        frame.render_widget(Paragraph::new(text.unwrap_or_default()), inner);
        return;
    }
    let columns = chart_columns(&series, room);
    let max = columns.iter().copied().max().unwrap_or(0);
    let peak = series.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let (long, short) = match shown.bucket {
        TrendBucket::Hour => ("%m-%d %H:00", "%H:00"),
        TrendBucket::Day => ("%Y-%m-%d", "%m-%d"),
    };
    let (first, last) = (
        series[0].0.with_timezone(&zone),
        series[series.len() - 1].0.with_timezone(&zone),
    );
    let count = series.len();
    let plural = if count == 1 { "" } else { "s" };
    // More buckets than columns: each column is the average of the buckets it covers.
    let averaged = count > room;
    let labels: [Vec<String>; 3] = [
        vec![
            format!("{} → {}", first.format(long), last.format(long)),
            format!("{} → {}", first.format(short), last.format(short)),
        ],
        vec![
            format!("peak {peak}/{unit} · {count} {unit}{plural}"),
            format!("peak {peak}/{unit}"),
            format!("peak {peak}"),
        ],
        if averaged {
            vec![
                format!("{} {unit}s, averaged to fit", zone.name()),
                format!("{} {unit}s, averaged", zone.name()),
                "averaged".into(),
            ]
        } else {
            vec![format!("{} {unit}s", zone.name()), format!("{unit}s")]
        },
    ];
    let label_rows = inner.height.saturating_sub(1).min(3);
    let [spark, below] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(label_rows)]).areas(inner);
    frame.render_widget(Sparkline::default().data(&columns).max(max.max(1)), spark);
    let lines: Vec<Line> = labels
        .into_iter()
        .take(label_rows as usize)
        .map(|forms| Line::from(first_fitting(forms, room).unwrap_or_default()))
        .collect();
    frame.render_widget(Paragraph::new(lines), below);
}
