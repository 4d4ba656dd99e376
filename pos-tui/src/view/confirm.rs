//! The yes/no questions and the "submitting" notice.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use super::{money, popup};
use crate::app::{Question, State};

pub fn render_question(
    state: &State,
    question: Question,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let text = match question {
        Question::ClearCart => vec!["Clear the whole cart?".to_string()],
        Question::QuitWithCart => vec!["A sale is open. Quit and drop it?".to_string()],
        Question::SignOutWithSale => vec!["A sale is open. Sign out and drop it?".to_string()],
        Question::NewPrices => vec![
            "Prices changed since they were added.".to_string(),
            format!("Submit at the new total {}?", money(state.total())),
        ],
        Question::NewCard(id) => vec![
            "This customer card is not known:".to_string(),
            id.to_string(),
            "Take it as a new customer's card?".to_string(),
        ],
        Question::CloseShift => vec![
            "Close the shift and print its Z report?".to_string(),
            "Its figures are final then.".to_string(),
        ],
    };
    let height = 4 + text.len() as u16;
    let inner = popup(frame, area, 44, height, " Are you sure? ".into());
    let mut lines: Vec<Line> = text
        .into_iter()
        .map(|line| Line::styled(format!(" {line}"), theme.error()))
        .collect();
    lines.push(Line::default());
    lines.push(Line::raw(" y yes    n / Esc no"));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

pub fn render_submitting(theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = popup(frame, area, 44, 5, " Submitting ".into());
    let lines = vec![
        Line::styled(" Writing the sale to the database…", theme.total()),
        Line::default(),
        Line::styled(" Please wait; keys are ignored.", theme.dim()),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
