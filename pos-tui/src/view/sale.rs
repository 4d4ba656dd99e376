//! A sale: the customer line, the cart, the quick keys, the total and the code being typed,
//! with the searches and questions over them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use super::{cart, confirm, customer, payment, quick_keys, search, total};
use crate::app::{Draft, Input, State};

/// Narrower than this, the quick keys are left out and the total goes under the cart.
const WIDE: u16 = 64;

/// The side column (quick keys and total): 30 columns, a third of a large terminal.
pub fn side_width(width: u16) -> u16 {
    (width / 3).max(30)
}

pub fn render(state: &State, draft: &Draft, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [customer, main, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    customer::render(draft, theme, frame, customer);
    let total_height = total::box_height(main.height);
    if main.width >= WIDE {
        let [cart, side] = Layout::horizontal([
            Constraint::Min(30),
            Constraint::Length(side_width(main.width)),
        ])
        .areas(main);
        let [products, total] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(total_height)]).areas(side);
        quick_keys::render(state, draft, theme, frame, products);
        total::render(state.total(), theme, frame, total);
        cart::render(state, draft, theme, frame, cart);
    } else {
        let [cart, total] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(total_height)]).areas(main);
        cart::render(state, draft, theme, frame, cart);
        total::render(state.total(), theme, frame, total);
    }
    render_input(&draft.input, theme, frame, input);
    match &draft.input {
        Input::ProductSearch { query, selected } => {
            search::render_products(state, query, *selected, theme, frame, main)
        }
        Input::CustomerSearch { .. } => {
            search::render_customers(state, &draft.input, theme, frame, main)
        }
        Input::Confirm(question) => confirm::render_question(state, *question, theme, frame, main),
        Input::Submitting => confirm::render_submitting(theme, frame, area),
        Input::Payment { tendered } => payment::render(state, tendered, theme, frame, main),
        Input::Code(_) => {}
    }
}

fn render_input(input: &Input, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match input {
        Input::Code(code) => Line::from(vec![
            Span::styled(" Code: ", theme.bold()),
            Span::raw(code.clone()),
            Span::styled("▏", theme.fg(Color::Cyan)),
            Span::styled(
                if code.is_empty() {
                    "   type or scan a product code, Enter adds"
                } else {
                    "   Enter adds"
                },
                theme.dim(),
            ),
        ]),
        _ => Line::default(),
    };
    frame.render_widget(Paragraph::new(line), area);
}
