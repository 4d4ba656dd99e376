//! Unique and loyal buyers: labels shortened to fit, the figures whole.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Padding, Row, Table};
use store_core::domain::analytics::Dashboard;
use store_core::domain::input::printable;

use crate::app::State;
use tui_runtime::text::{ellipsis_whole_numbers, first_fitting, number, width};

pub fn render(frame: &mut Frame, state: &State, d: &Dashboard, area: Rect) {
    let block = Block::bordered().padding(Padding::horizontal(1));
    let inner = block.inner(area).width as usize;
    let title_forms = if state.loading_selection() {
        vec![
            format!(
                " Buyers · showing {}, min {} ",
                printable(&d.filter.label()),
                d.min_purchases
            ),
            " Buyers · showing another selection ".into(),
        ]
    } else {
        vec![]
    };
    let title = first_fitting(
        title_forms.into_iter().chain([" Buyers ".to_string()]),
        (area.width as usize).saturating_sub(2),
    )
    .unwrap_or_default();

    let unique = d.unique_buyers.to_string();
    let loyal = d.loyal_buyers.to_string();
    let value_w = width(&unique).max(width(&loyal)).min(inner);
    let label_w = inner.saturating_sub(value_w + 1);
    let n = d.min_purchases;
    let loyal_label = first_fitting(
        [
            format!("Loyal buyers ({n}+ purchases)"),
            format!("Loyal buyers ({n}+)"),
            format!("Loyal ({n}+)"),
        ],
        label_w,
    )
    .unwrap_or_else(|| ellipsis_whole_numbers("Loyal", label_w).into_owned());
    let unique_label = first_fitting(["Unique buyers", "Unique"], label_w)
        .unwrap_or("Unique")
        .to_string();
    let row = |label: String, value: String| {
        Row::new([
            Line::from(ellipsis_whole_numbers(&label, label_w).into_owned()),
            Line::from(number(value, value_w))
                .alignment(Alignment::Right)
                .style(Style::new().add_modifier(Modifier::BOLD)),
        ])
    };
    let table = Table::new(
        [row(unique_label, unique), row(loyal_label, loyal)],
        [
            Constraint::Length(label_w as u16),
            Constraint::Length(value_w as u16),
        ],
    )
    .column_spacing(1)
    .block(block.title(title));
    frame.render_widget(table, area);
}
