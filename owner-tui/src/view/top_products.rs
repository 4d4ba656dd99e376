//! The top products by units: every product tied at a rank is shown, its rank written `=2`. Names
//! and bars give way to the units when the box is narrow.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Padding, Row, Table};
use store_core::domain::analytics::TopProduct;
use store_core::domain::input::printable;

use super::MAX_TOP_LINES;
use tui_runtime::text::{ellipsis_whole_numbers, first_fitting, number, width};

/// Names are cut beyond this many columns.
const NAME_MAX: usize = 14;
const RANK_W: usize = 3;

/// "1", "2", or "=2" when several products share rank 2.
pub fn rank_label(products: &[TopProduct], p: &TopProduct) -> String {
    let tied = products.iter().filter(|o| o.rank == p.rank).count() > 1;
    if tied {
        format!("={}", p.rank)
    } else {
        p.rank.to_string()
    }
}

pub fn render(frame: &mut Frame, products: &[TopProduct], area: Rect) {
    let ties = products
        .iter()
        .any(|p| products.iter().filter(|o| o.rank == p.rank).count() > 1);
    let title_forms: &[&str] = if ties {
        &[
            " Top products · units · = tie ",
            " Top products · = tie ",
            " Top · = tie ",
        ]
    } else {
        &[" Top products · units ", " Top products ", " Top "]
    };
    let title = first_fitting(
        title_forms.iter().copied(),
        (area.width as usize).saturating_sub(2),
    )
    .unwrap_or_default();
    let block = Block::bordered()
        .title(title)
        .padding(Padding::horizontal(1));
    let inner = block.inner(area).width as usize;

    // Rows beyond what fits are counted on the last line rather than left out silently.
    let fit = (block.inner(area).height as usize).min(MAX_TOP_LINES);
    let shown = if products.len() > fit {
        fit.saturating_sub(1)
    } else {
        products.len()
    };
    // Stored names are shown escaped (control, bidi and format characters spelled out).
    let names: Vec<String> = products
        .iter()
        .map(|p| printable(&p.name).into_owned())
        .collect();
    let max_units = products.iter().map(|p| p.units).max().unwrap_or(0);
    let units_w = max_units.to_string().len().min(inner);
    // What is left for the name and the bar once the rank and the units have their room.
    let room = inner.saturating_sub(RANK_W + 1 + 1 + units_w);
    let name_w = names
        .iter()
        .map(|name| width(name))
        .max()
        .unwrap_or(0)
        .min(NAME_MAX)
        .min(room);
    let bar_w = room.saturating_sub(name_w + 1);
    let mut widths = vec![Constraint::Length(RANK_W as u16)];
    if name_w > 0 {
        widths.push(Constraint::Length(name_w as u16));
    }
    if bar_w > 0 {
        widths.push(Constraint::Length(bar_w as u16));
    }
    widths.push(Constraint::Length(units_w as u16));
    let columns = widths.len() as u16;

    let mut rows = Vec::new();
    if products.is_empty() {
        rows.push(Row::new([Cell::from("no sales").column_span(columns)]));
    }
    for (p, name) in products[..shown].iter().zip(&names) {
        let mut cells = vec![Cell::from(
            Line::from(number(rank_label(products, p), RANK_W)).alignment(Alignment::Right),
        )];
        if name_w > 0 {
            cells.push(Cell::from(
                ellipsis_whole_numbers(name, name_w).into_owned(),
            ));
        }
        if bar_w > 0 {
            let bar_len = if max_units > 0 && p.units > 0 {
                ((p.units as f64 / max_units as f64) * bar_w as f64)
                    .round()
                    .max(1.0) as usize
            } else {
                0
            };
            cells.push(Cell::from("█".repeat(bar_len)));
        }
        cells.push(Cell::from(
            Line::from(number(p.units.to_string(), units_w))
                .alignment(Alignment::Right)
                .style(Style::new().add_modifier(Modifier::BOLD)),
        ));
        rows.push(Row::new(cells));
    }
    if shown < products.len() {
        let hidden = products.len() - shown;
        let more = if products.len() > MAX_TOP_LINES {
            format!("… and {hidden} more tied products")
        } else {
            format!("… and {hidden} more")
        };
        rows.push(Row::new([Cell::from(
            ellipsis_whole_numbers(&more, inner).into_owned(),
        )
        .column_span(columns)]));
    }
    frame.render_widget(
        Table::new(rows, widths).column_spacing(1).block(block),
        area,
    );
}
