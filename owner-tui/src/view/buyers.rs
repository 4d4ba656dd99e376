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
    // Against the period before, when the insights for these figures say.
    let change = state
        .insights()
        .filter(|i| i.filter == d.filter)
        .and_then(|i| i.previous.as_ref())
        .map(|before| crate::figures::change(d.unique_buyers.into(), before.unique_buyers.into()));
    let change_w = change.as_deref().map(width).unwrap_or(0);
    let change_shown = change_w > 0 && inner >= value_w + 1 + change_w + 1 + width("Unique");
    let change_col = if change_shown { change_w + 1 } else { 0 };
    let label_w = inner.saturating_sub(value_w + 1 + change_col);
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
    let row = |label: String, value: String, change: Option<String>| {
        let mut cells = vec![
            Line::from(ellipsis_whole_numbers(&label, label_w).into_owned()),
            Line::from(number(value, value_w))
                .alignment(Alignment::Right)
                .style(Style::new().add_modifier(Modifier::BOLD)),
        ];
        if change_shown {
            cells.push(Line::from(change.unwrap_or_default()).alignment(Alignment::Right));
        }
        Row::new(cells)
    };
    let mut widths = vec![
        Constraint::Length(label_w as u16),
        Constraint::Length(value_w as u16),
    ];
    if change_shown {
        widths.push(Constraint::Length(change_w as u16));
    }
    let table = Table::new(
        [
            row(unique_label, unique, change),
            row(loyal_label, loyal, None),
        ],
        widths,
    )
    .column_spacing(1)
    .block(block.title(title));
    frame.render_widget(table, area);
}
