//! Sales by hour of day and weekday: one row per weekday, one cell per hour, shaded by how busy
//! that hour is against the busiest. Shades are block characters (`·░▒▓█`), never colours, so
//! the map reads the same on a 16-colour terminal, in monochrome and with NO_COLOR; the legend
//! says what each shade means. Wider terminals give every hour more columns.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use store_core::domain::analytics::HeatMap;
use tui_runtime::text::{first_fitting, width};

pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// No sale, then up to a quarter, a half, three quarters and all of the busiest hour.
pub const SHADES: [&str; 5] = ["·", "░", "▒", "▓", "█"];
/// Lines the map needs with one line per day: borders, hours, days, a blank and the legend.
pub const MIN_HEIGHT: u16 = 2 + 1 + 7 + 1 + 1;
/// Columns per hour at most (the rest of a wide screen goes to the day totals).
const CELL_MAX: usize = 6;
const LABEL_W: usize = 4;

/// The shade of an hour with `n` purchases when the busiest has `max`: 0 for none, else 1 to
/// 4 by quarters (rounded up, so any sale shows).
pub fn shade(n: i64, max: i64) -> usize {
    if n <= 0 || max <= 0 {
        return 0;
    }
    let quarters = (n.min(max) * 4 + max - 1) / max;
    quarters.clamp(1, 4) as usize
}

pub fn render(frame: &mut Frame, map: &HeatMap, zone_name: &str, area: Rect) {
    let outer = (area.width as usize).saturating_sub(2);
    let title = first_fitting(
        [
            format!(" Sales by hour and weekday ({zone_name} hours) "),
            " Sales by hour and weekday ".to_string(),
            " Hours ".to_string(),
        ],
        outer,
    )
    .unwrap_or_default();
    let block = Block::bordered()
        .title(title)
        .padding(Padding::horizontal(1));
    let inner = block.inner(area);
    let room = inner.width as usize;
    let max = map.purchases.iter().flatten().copied().max().unwrap_or(0);
    let day_totals: Vec<String> = map
        .purchases
        .iter()
        .map(|day| day.iter().sum::<i64>().to_string())
        .collect();
    let total_w = day_totals
        .iter()
        .map(|t| width(t))
        .max()
        .unwrap_or(1)
        .max(5);
    let cell = (room.saturating_sub(LABEL_W) / 24).clamp(1, CELL_MAX);
    let totals_shown = room >= LABEL_W + 24 * cell + 1 + total_w;

    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    // The hours along the top: every hour when a cell holds two digits, else every few.
    let step = match cell {
        1 => 6,
        2 => 3,
        _ => 1,
    };
    let mut hours = " ".repeat(LABEL_W);
    for h in 0..24 {
        let label = if h % step == 0 {
            format!("{h:<w$}", w = cell * step.min(24 - h))
        } else {
            continue;
        };
        hours.push_str(&label);
    }
    if totals_shown {
        hours.push_str(&format!(" {:>total_w$}", "total"));
    }
    lines.push(Line::from(Span::styled(hours, bold)));
    // Taller terminals give each day more lines (the hours line, a blank and the legend
    // take three), up to three: two shaded and a blank one.
    let day_lines = ((inner.height as usize).saturating_sub(3) / 7).clamp(1, 3);
    for ((day, counts), total) in WEEKDAYS.iter().zip(&map.purchases).zip(&day_totals) {
        let cells: String = counts
            .iter()
            .map(|n| SHADES[shade(*n, max)].repeat(cell))
            .collect();
        // With room, a blank line parts the days.
        let shaded = if day_lines > 1 { day_lines - 1 } else { 1 };
        for line in 0..day_lines {
            if line >= shaded {
                lines.push(Line::from(""));
                continue;
            }
            let labelled = line == 0;
            let label = if labelled { *day } else { "" };
            let mut spans = vec![
                Span::styled(format!("{label:<LABEL_W$}"), bold),
                Span::raw(cells.clone()),
            ];
            if totals_shown && labelled {
                spans.push(Span::raw(format!(" {total:>total_w$}")));
            }
            lines.push(Line::from(spans));
        }
    }
    lines.push(Line::from(""));
    let legend = if max == 0 {
        vec!["no sales in this period".to_string()]
    } else {
        let quarter = |q: i64| (max * q + 3) / 4;
        vec![
            format!(
                "· none  ░ up to {}  ▒ up to {}  ▓ up to {}  █ up to {} purchases an hour",
                quarter(1),
                quarter(2),
                quarter(3),
                max
            ),
            format!("· none  ░ ¼  ▒ ½  ▓ ¾  █ busiest ({max}/hour)"),
            format!("busiest {max}/hour"),
        ]
    };
    if let Some(text) = first_fitting(legend, room) {
        lines.push(Line::from(text));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shades_go_by_quarters_of_the_busiest_hour_and_any_sale_shows() {
        assert_eq!(shade(0, 100), 0);
        assert_eq!(shade(1, 100), 1);
        assert_eq!(shade(25, 100), 1);
        assert_eq!(shade(26, 100), 2);
        assert_eq!(shade(75, 100), 3);
        assert_eq!(shade(76, 100), 4);
        assert_eq!(shade(100, 100), 4);
        assert_eq!(shade(3, 0), 0);
    }
}
