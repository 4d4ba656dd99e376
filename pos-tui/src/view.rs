//! The screen as a pure function of the state: `view(&State, &mut Frame)`.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use rust_decimal::Decimal;

use crate::app::{DbState, Input, Message, Question, QueuedSale, Screen, State};
use crate::keymap;
use store_core::domain::input::printable;

/// Styles; with NO_COLOR only bold/reverse/dim are used.
struct Theme {
    color: bool,
}

impl Theme {
    fn of(state: &State) -> Theme {
        Theme {
            color: !state.no_color,
        }
    }
    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    fn bar(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Cyan)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    fn total(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}

pub fn money(amount: Decimal) -> String {
    format!("{amount:.2}")
}

pub fn view(state: &State, frame: &mut Frame) {
    let theme = Theme::of(state);
    let area = frame.area();
    // A long message gets a second line rather than being cut.
    let message_len = match &state.message {
        Some(Message::Info(text)) => printable(text).chars().count() + 1,
        Some(Message::Error(text)) => printable(text).chars().count() + 3,
        None => 0,
    };
    let message_height = if message_len > area.width as usize && area.height >= 16 {
        2
    } else {
        1
    };
    let [header, body, message, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(message_height),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(state, &theme, frame, header);
    match &state.screen {
        Screen::Branch => render_branches(state, &theme, frame, body),
        Screen::Sale => render_sale(state, &theme, frame, body),
        Screen::Receipt(receipt) => render_receipt(state, receipt, &theme, frame, body),
        Screen::Queued(queued) => render_queued(state, queued, &theme, frame, body),
    }
    render_message(state, &theme, frame, message);
    render_status(state, &theme, frame, status);
    if state.submitting.is_some() {
        render_submitting(&theme, frame, body);
    }
    if state.show_refused {
        render_refused(state, &theme, frame, body);
    }
    if state.help {
        render_help(&theme, frame, body);
    }
}

fn render_header(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let branch = match (&state.branch, state.branch_name()) {
        (Some(id), Some(name)) => format!("Branch {} · {}", printable(id), printable(name)),
        (Some(id), None) => format!("Branch {}", printable(id)),
        (None, _) => "no branch chosen".to_string(),
    };
    let right = format!("sales this shift: {} ", state.sales_done);
    let line = Line::from(vec![
        Span::styled(" iCash till │ ", theme.bar().add_modifier(Modifier::BOLD)),
        Span::styled(branch, theme.bar().add_modifier(Modifier::BOLD)),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.bar()), area);
    if area.width as usize > 40 + right.len() {
        frame.render_widget(
            Paragraph::new(right)
                .style(theme.bar())
                .alignment(Alignment::Right),
            area,
        );
    }
}

fn render_message(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match &state.message {
        // Messages can quote names from the database: shown escaped, like every name.
        Some(Message::Info(text)) => Line::from(Span::raw(format!(" {}", printable(text)))),
        Some(Message::Error(text)) => Line::from(Span::styled(
            format!(" ✖ {}", printable(text)),
            theme.error(),
        )),
        None => Line::default(),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
}

fn render_status(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let db = match (&state.db, state.pending_sales > 0) {
        // "offline: N sales waiting" follows and says it.
        (DbState::Connected, true) => " ● ",
        (_, true) => " ○ ",
        (DbState::Connected, false) => " ● connected │ ",
        (DbState::Connecting, false) => " ○ connecting… │ ",
        (DbState::Reconnecting(_), false) => " ○ RECONNECTING… │ ",
    };
    let mut journal = String::new();
    if state.pending_sales > 0 {
        journal.push_str(&format!(
            "offline: {} {} waiting │ ",
            state.pending_sales,
            if state.pending_sales == 1 {
                "sale"
            } else {
                "sales"
            }
        ));
    }
    if !state.refused_sales.is_empty() {
        journal.push_str(&format!("{} refused (R) │ ", state.refused_sales.len()));
    }
    if state.journal_warning.is_some() {
        journal.push_str("journal repaired (R) │ ");
    }
    let clock = format!(" │ {} ", state.now.format("%H:%M:%S"));
    let width = area.width as usize;
    let room =
        width.saturating_sub(db.chars().count() + journal.chars().count() + clock.chars().count());
    let mut hints = String::new();
    for (keys, does) in keymap::hints(state.mode()) {
        let hint = format!("{}{keys} {does}", if hints.is_empty() { "" } else { "  " });
        if hints.chars().count() + hint.chars().count() > room {
            break;
        }
        hints.push_str(&hint);
    }
    let db_style = match state.db {
        DbState::Connected => theme.bar(),
        _ => theme.bar().add_modifier(Modifier::BOLD),
    };
    let pad = room.saturating_sub(hints.chars().count());
    let line = Line::from(vec![
        Span::styled(db, db_style),
        Span::styled(journal, theme.bar().add_modifier(Modifier::BOLD)),
        Span::styled(hints, theme.bar()),
        Span::styled(" ".repeat(pad), theme.bar()),
        Span::styled(clock, theme.bar()),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.bar()), area);
}

fn render_branches(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Start of shift: choose the branch ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::default()];
    match &state.catalog {
        None => match &state.db {
            DbState::Reconnecting(reason) => {
                lines.push(Line::from(Span::styled(
                    "  Waiting for the database; retrying in the background…",
                    theme.error(),
                )));
                lines.push(Line::default());
                lines.push(Line::from(Span::styled(format!("  {reason}"), theme.dim())));
            }
            _ => lines.push(Line::from("  Loading the catalog…")),
        },
        Some(catalog) => {
            for (i, branch) in catalog.branches.iter().enumerate() {
                let text = format!(
                    "  {}  {:<8} {}",
                    i + 1,
                    printable(&branch.id),
                    printable(&branch.name)
                );
                let style = if i == state.branch_cursor {
                    theme.selected()
                } else {
                    Style::new()
                };
                let marker = if i == state.branch_cursor { "▶" } else { " " };
                lines.push(Line::from(Span::styled(format!("{marker}{text}"), style)));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                "  ↑↓ and Enter, or the branch's number",
                theme.dim(),
            )));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn render_sale(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let [customer, main, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    render_customer(state, theme, frame, customer);
    let wide = main.width >= 64;
    let (cart, side) = if wide {
        let [cart, side] =
            Layout::horizontal([Constraint::Min(30), Constraint::Length(30)]).areas(main);
        (cart, Some(side))
    } else {
        (main, None)
    };
    let total_height = if main.height >= 10 { 5 } else { 1 };
    match side {
        Some(side) => {
            let [products, total] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(total_height)])
                    .areas(side);
            render_products(state, theme, frame, products);
            render_total(state.total(), theme, frame, total);
            render_cart(state, theme, frame, cart);
        }
        None => {
            let [cart, total] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(total_height)])
                    .areas(cart);
            render_cart(state, theme, frame, cart);
            render_total(state.total(), theme, frame, total);
        }
    }
    render_input(state, theme, frame, input);
    match &state.input {
        Input::ProductSearch { .. } => render_product_search(state, theme, frame, main),
        Input::CustomerSearch { .. } => render_customer_search(state, theme, frame, main),
        Input::Confirm(question) => render_confirm(*question, theme, frame, main),
        Input::Code(_) => {}
    }
}

fn render_customer(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match state.draft.as_ref().and_then(|d| d.customer) {
        Some(store_core::domain::checkout::CustomerChoice::New(id)) => Line::from(vec![
            Span::raw(" Customer: "),
            Span::styled("NEW ", theme.fg(Color::Green).add_modifier(Modifier::BOLD)),
            Span::raw(id.to_string()),
        ]),
        Some(store_core::domain::checkout::CustomerChoice::Returning(id)) => Line::from(vec![
            Span::raw(" Customer: "),
            Span::styled(
                "returning ",
                theme.fg(Color::Green).add_modifier(Modifier::BOLD),
            ),
            Span::raw(id.to_string()),
        ]),
        None => Line::from(vec![
            Span::raw(" Customer: "),
            Span::styled(
                "not chosen yet (n new, c find)",
                theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ),
        ]),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn render_cart(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(draft) = &state.draft else {
        return;
    };
    let block = Block::bordered().title(format!(" Cart: {} item(s) ", draft.lines().len()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if draft.lines().is_empty() {
        let lines = vec![
            Line::default(),
            Line::from(Span::styled(
                " Empty. Type a product code and Enter,",
                theme.dim(),
            )),
            Line::from(Span::styled(
                " a quick key F1-F10, or / to find by name.",
                theme.dim(),
            )),
        ];
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    }
    let width = inner.width as usize;
    let visible = inner.height as usize;
    // Keep the selected line in view.
    let first = (draft.selected + 1).saturating_sub(visible.max(1));
    let lines: Vec<Line> = draft
        .lines()
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(i, id)| {
            let (name, price) = match state.product(*id) {
                Some(p) => (printable(&p.name).into_owned(), money(p.unit_price)),
                None => ("(no longer sold)".to_string(), "-".to_string()),
            };
            let marker = if i == draft.selected { "▶" } else { " " };
            let left = format!("{marker}{:>2}. {:>4}  {name}", i + 1, id);
            let pad = width.saturating_sub(left.chars().count() + price.len() + 1);
            let text = format!("{left}{}{price} ", " ".repeat(pad));
            if i == draft.selected {
                Line::from(Span::styled(text, theme.selected()))
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_products(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Quick keys ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let in_cart = |id: i32| {
        state
            .draft
            .as_ref()
            .is_some_and(|d| d.lines().contains(&id))
    };
    let lines: Vec<Line> = state
        .catalog
        .iter()
        .flat_map(|c| c.products.iter().take(10).enumerate())
        .map(|(i, p)| {
            let price = money(p.unit_price);
            let left = format!("F{:<2} {:>2} {}", i + 1, p.id, printable(&p.name));
            let room = width.saturating_sub(price.len() + 1);
            let left: String = left.chars().take(room).collect();
            let pad = width.saturating_sub(left.chars().count() + price.len());
            let text = format!("{left}{}{price}", " ".repeat(pad));
            if in_cart(p.id) {
                Line::from(Span::styled(text, theme.dim()))
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

const GLYPHS: [[&str; 3]; 10] = [
    ["█▀█", "█ █", "█▄█"],
    ["▀█ ", " █ ", "▄█▄"],
    ["▀▀█", "█▀▀", "█▄▄"],
    ["▀▀█", " ▀█", "▄▄█"],
    ["█ █", "▀▀█", "  █"],
    ["█▀▀", "▀▀█", "▄▄█"],
    ["█▀▀", "█▀█", "█▄█"],
    ["▀▀█", "  █", "  █"],
    ["█▀█", "█▀█", "█▄█"],
    ["█▀█", "▀▀█", "▄▄█"],
];

/// `text` (digits and '.') in a three-row block font.
pub fn big_text(text: &str) -> [String; 3] {
    let mut rows = [String::new(), String::new(), String::new()];
    for c in text.chars() {
        let glyph = match c {
            '0'..='9' => GLYPHS[c as usize - '0' as usize],
            '.' => [" ", " ", "▄"],
            '-' => ["   ", "▀▀▀", "   "],
            _ => [" ", " ", " "],
        };
        for (row, part) in rows.iter_mut().zip(glyph) {
            if !row.is_empty() {
                row.push(' ');
            }
            row.push_str(part);
        }
    }
    rows
}

fn render_total(total: Decimal, theme: &Theme, frame: &mut Frame, area: Rect) {
    let amount = money(total);
    if area.height < 5 {
        let line = Line::from(Span::styled(format!(" TOTAL {amount} "), theme.total()));
        frame.render_widget(Paragraph::new(line).alignment(Alignment::Right), area);
        return;
    }
    let block = Block::bordered()
        .title(" TOTAL ")
        .border_style(theme.total());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = big_text(&amount);
    let lines: Vec<Line> = if rows[0].chars().count() <= inner.width as usize {
        rows.into_iter()
            .map(|r| Line::from(Span::styled(r, theme.total())))
            .collect()
    } else {
        vec![
            Line::default(),
            Line::from(Span::styled(amount, theme.total())),
        ]
    };
    frame.render_widget(Paragraph::new(lines).alignment(Alignment::Right), inner);
}

fn render_input(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let line = match &state.input {
        Input::Code(code) if state.submitting.is_none() => Line::from(vec![
            Span::styled(" Code: ", Style::new().add_modifier(Modifier::BOLD)),
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

/// A rectangle of `width` x `height` centred in `area` (clipped to it).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

fn popup(frame: &mut Frame, area: Rect, title: String) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

fn render_product_search(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Input::ProductSearch { query, selected } = &state.input else {
        return;
    };
    let matches = state.product_matches(query);
    let rect = centered(area, 44, (matches.len() as u16).max(1) + 4);
    let inner = popup(frame, rect, " Find a product by name ".into());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(" Name: ", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(query.clone()),
            Span::styled("▏", theme.fg(Color::Cyan)),
        ]),
        Line::default(),
    ];
    if matches.is_empty() {
        lines.push(Line::from(Span::styled(" no product matches", theme.dim())));
    }
    let width = inner.width as usize;
    for (i, p) in matches.iter().enumerate() {
        let price = money(p.unit_price);
        let marker = if i == *selected { "▶" } else { " " };
        let left = format!("{marker}{:>2}  {}", p.id, printable(&p.name));
        let pad = width.saturating_sub(left.chars().count() + price.len() + 1);
        let text = format!("{left}{}{price} ", " ".repeat(pad));
        lines.push(if i == *selected {
            Line::from(Span::styled(text, theme.selected()))
        } else {
            Line::from(text)
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_customer_search(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Input::CustomerSearch {
        query,
        selected,
        results,
        searching,
        offline,
        ..
    } = &state.input
    else {
        return;
    };
    if *offline {
        render_offline_customer_search(state, query, *selected, theme, frame, area);
        return;
    }
    let rect = centered(area, 70, (results.len() as u16).max(1) + 5);
    let inner = popup(frame, rect, " Find a returning customer ".into());
    let mut lines = vec![
        search_line(query, theme, if *searching { "  searching…" } else { "" }),
        Line::default(),
    ];
    if results.is_empty() {
        lines.push(Line::from(Span::styled(
            if query.is_empty() {
                " type the first characters of the customer's id"
            } else {
                " no customer found yet"
            },
            theme.dim(),
        )));
    } else {
        lines.push(Line::from(Span::styled(
            format!(" {:<38}{:>9}  {}", "customer id", "purchases", "last"),
            theme.dim(),
        )));
    }
    for (i, c) in results.iter().enumerate() {
        let text = format!(
            "{}{:<38}{:>9}  {}",
            if i == *selected { "▶" } else { " " },
            c.user_id.to_string(),
            c.purchases,
            c.last_purchase_at.with_timezone(&Local).format("%Y-%m-%d")
        );
        lines.push(if i == *selected {
            Line::from(Span::styled(text, theme.selected()))
        } else {
            Line::from(text)
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn search_line(query: &str, theme: &Theme, after: &'static str) -> Line<'static> {
    Line::from(vec![
        Span::styled(
            " Customer id starts with: ",
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::raw(query.to_string()),
        Span::styled("▏", theme.fg(Color::Cyan)),
        Span::styled(after, theme.dim()),
    ])
}

/// Offline: no search, but the customers the database confirmed to this till this session.
fn render_offline_customer_search(
    state: &State,
    query: &str,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let matches = state.vouched_matches(query);
    let rect = centered(area, 70, (matches.len() as u16).max(1) + 6);
    let inner = popup(frame, rect, " Returning customer · OFFLINE ".into());
    let mut lines = vec![
        search_line(query, theme, ""),
        Line::from(Span::styled(
            " Search unavailable offline. Customers this till has seen:",
            theme.error(),
        )),
        Line::default(),
    ];
    if matches.is_empty() {
        lines.push(Line::from(Span::styled(
            if state.vouched.is_empty() {
                " none yet this session: Esc, then n for a new customer"
            } else {
                " none of them starts with that: Esc, then n for a new customer"
            },
            theme.dim(),
        )));
    }
    for (i, id) in matches.iter().enumerate() {
        let text = format!("{}{id}", if i == selected { "▶" } else { " " });
        lines.push(if i == selected {
            Line::from(Span::styled(text, theme.selected()))
        } else {
            Line::from(text)
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_confirm(question: Question, theme: &Theme, frame: &mut Frame, area: Rect) {
    let text = match question {
        Question::ClearCart => "Clear the whole cart?",
        Question::QuitWithCart => "A sale is open. Quit and drop it?",
    };
    let rect = centered(area, 44, 5);
    let inner = popup(frame, rect, " Are you sure? ".into());
    let lines = vec![
        Line::from(Span::styled(format!(" {text}"), theme.error())),
        Line::default(),
        Line::from(" y yes    n / Esc no"),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_submitting(theme: &Theme, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 44, 5);
    let inner = popup(frame, rect, " Submitting ".into());
    let lines = vec![
        Line::from(Span::styled(
            " Writing the sale to the database…",
            theme.total(),
        )),
        Line::default(),
        Line::from(Span::styled(" Please wait; keys are ignored.", theme.dim())),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}

fn branch_label(state: &State, id: &str) -> String {
    let name = state
        .catalog
        .as_ref()
        .and_then(|c| c.branches.iter().find(|b| b.id == id))
        .filter(|b| !b.name.trim().is_empty())
        .map(|b| format!(" · {}", printable(&b.name)))
        .unwrap_or_default();
    format!("{}{name}", printable(id))
}

fn render_receipt(
    state: &State,
    receipt: &store_core::domain::checkout::Receipt,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
) {
    let customer = format!(
        "{}{}",
        receipt.user_id,
        if receipt.new_customer { " (new)" } else { "" }
    );
    let fields = vec![
        ("Purchase", format!("#{}", receipt.purchase_id)),
        (
            "Time",
            receipt
                .created_at
                .with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        ("Branch", branch_label(state, &receipt.supermarket_id)),
        ("Customer", customer),
        ("Sale key", receipt.sale_key.to_string()),
    ];
    let block = Block::bordered().title(format!(" RECEIPT · purchase #{} ", receipt.purchase_id));
    render_slip(
        block,
        Slip {
            notice: None,
            fields,
            lines: &receipt.lines,
            total: receipt.total_amount,
        },
        theme,
        frame,
        area,
    );
}

/// A sale saved offline: what the customer bought and paid, and that it will be sent.
fn render_queued(state: &State, queued: &QueuedSale, theme: &Theme, frame: &mut Frame, area: Rect) {
    let sale = &queued.sale;
    let time = match sale.sold_at {
        Some(at) => at
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => state.now.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    let customer = format!(
        "{}{}",
        sale.customer.user_id(),
        if sale.customer.is_new() {
            " (new)"
        } else {
            " (returning)"
        }
    );
    let fields = vec![
        ("Time", time),
        ("Branch", branch_label(state, &sale.supermarket_id)),
        ("Customer", customer),
        ("Sale key", sale.sale_key.to_string()),
    ];
    let block = Block::bordered()
        .title(" SAVED OFFLINE · queued, not yet in the database ")
        .border_style(theme.fg(Color::Yellow));
    render_slip(
        block,
        Slip {
            notice: Some("Sale saved and queued. Offline: will be sent when the database is back."),
            fields,
            lines: &queued.lines,
            total: queued.total,
        },
        theme,
        frame,
        area,
    );
}

struct Slip<'a> {
    /// A line above the fields, in bold.
    notice: Option<&'static str>,
    fields: Vec<(&'static str, String)>,
    lines: &'a [store_core::domain::checkout::ReceiptLine],
    total: Decimal,
}

fn render_slip(block: Block, slip: Slip, theme: &Theme, frame: &mut Frame, area: Rect) {
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let head_height = slip.fields.len() as u16 + u16::from(slip.notice.is_some());
    let [fields, lines_area, foot] = Layout::vertical([
        Constraint::Length(head_height),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut head: Vec<Line> = Vec::new();
    if let Some(notice) = slip.notice {
        head.push(Line::from(Span::styled(
            format!(" {notice}"),
            theme.total(),
        )));
    }
    for (name, value) in slip.fields {
        head.push(Line::from(vec![
            Span::styled(format!(" {name:<10}"), theme.dim()),
            Span::raw(value),
        ]));
    }
    frame.render_widget(Paragraph::new(head), fields);
    let [items, total] = if lines_area.width >= 64 {
        Layout::horizontal([Constraint::Min(30), Constraint::Length(30)]).areas(lines_area)
    } else {
        let [items, total] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(lines_area);
        [items, total]
    };
    let width = items.width as usize;
    let mut lines = vec![Line::default()];
    for (i, line) in slip.lines.iter().enumerate() {
        let price = money(line.unit_price);
        let left = format!(
            " {:>2}. {:>4}  {}",
            i + 1,
            line.product_id,
            printable(&line.name)
        );
        let pad = width.saturating_sub(left.chars().count() + price.len() + 1);
        lines.push(Line::from(format!("{left}{}{price} ", " ".repeat(pad))));
    }
    frame.render_widget(Paragraph::new(lines), items);
    let total_area = if total.height >= 6 {
        Rect {
            y: total.y + 1,
            height: 5,
            ..total
        }
    } else {
        total
    };
    render_total(slip.total, theme, frame, total_area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            " Press any key for the next sale (q quits)",
            Style::new().add_modifier(Modifier::BOLD),
        ))),
        foot,
    );
}

/// The queued sales the checkout refused, with the reasons: kept in the journal, never
/// dropped silently; the selected one can be resent or set aside (with a typed reason).
fn render_refused(state: &State, theme: &Theme, frame: &mut Frame, area: Rect) {
    let rect = centered(area, 80, area.height);
    let inner = popup(
        frame,
        rect,
        format!(
            " Refused queued sales: {} (Esc closes) ",
            state.refused_sales.len()
        ),
    );
    let width = inner.width as usize;
    let mut lines = Vec::new();
    if let Some(warning) = &state.journal_warning {
        lines.push(Line::from(Span::styled(
            format!(" ⚠ {warning}"),
            theme.error(),
        )));
    }
    lines.push(Line::from(Span::styled(
        " Refused by the checkout when the till sent them (the customer has paid).",
        theme.error(),
    )));
    lines.push(Line::from(
        " r sends one again once the cause is fixed; a sets it aside, saying why.",
    ));
    lines.push(Line::default());
    // Rows the header takes once wrapped.
    let header_rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(width.max(1)))
        .sum();
    let footer_rows = if state.set_aside.is_some() { 2 } else { 0 };
    let room = (inner.height as usize).saturating_sub(header_rows + footer_rows);
    let per_sale = 3;
    let total = state.refused_sales.len();
    let visible = if total * per_sale <= room {
        total
    } else {
        (room.saturating_sub(1) / per_sale).max(1)
    };
    let first = state
        .refused_selected
        .saturating_sub(visible.saturating_sub(1))
        .min(total - visible);
    for (index, refused) in state
        .refused_sales
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
    {
        let sale = &refused.sale;
        let time = sale
            .sold_at
            .map(|at| {
                at.with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into());
        let products: Vec<String> = sale.product_ids.iter().map(i32::to_string).collect();
        let selected = index == state.refused_selected;
        let first_line = format!(
            "{}{time}  {}  sale key {}",
            if selected { "▶" } else { " " },
            printable(&sale.supermarket_id),
            sale.sale_key
        );
        lines.push(Line::from(Span::styled(
            first_line,
            if selected {
                theme.selected()
            } else {
                Style::new().add_modifier(Modifier::BOLD)
            },
        )));
        lines.push(Line::from(format!(
            "   customer {}{}  products {}",
            sale.customer.user_id(),
            if sale.customer.is_new() { " (new)" } else { "" },
            products.join(",")
        )));
        lines.push(Line::from(vec![
            Span::styled("   reason: ", theme.dim()),
            Span::raw(printable(&refused.reason).into_owned()),
        ]));
    }
    if visible < total {
        lines.push(Line::from(Span::styled(
            format!(
                " sales {}-{} of {total} (↑↓ for the others)",
                first + 1,
                first + visible
            ),
            theme.dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if let Some(draft) = &state.set_aside {
        let [_, footer] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(2)]).areas(inner);
        let prompt = vec![
            Line::from(Span::styled(
                " Set the selected sale aside: why is it not sent?",
                Style::new().add_modifier(Modifier::BOLD),
            )),
            Line::from(vec![
                Span::raw(" > "),
                Span::raw(draft.reason.clone()),
                Span::styled("▏", theme.fg(Color::Cyan)),
            ]),
        ];
        frame.render_widget(Clear, footer);
        frame.render_widget(Paragraph::new(prompt), footer);
    }
}

fn render_help(theme: &Theme, frame: &mut Frame, area: Rect) {
    let section = |title: &str, entries: Vec<(&'static str, &'static str)>| {
        let mut lines = vec![Line::from(Span::styled(
            format!(" {title}"),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        ))];
        for (keys, does) in entries {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<10}"), theme.fg(Color::Cyan)),
                Span::raw(does),
            ]));
        }
        lines
    };
    let mut sections: Vec<Vec<Line>> = keymap::HELP_SECTIONS
        .iter()
        .map(|(title, modes)| section(title, keymap::help(modes)))
        .collect();
    sections.push(section("Everywhere", keymap::help_everywhere()));
    // Two columns, split between sections.
    let total: usize = sections.iter().map(Vec::len).sum();
    let mut left: Vec<Line> = Vec::new();
    let mut right: Vec<Line> = Vec::new();
    for lines in sections {
        if right.is_empty() && left.len() + lines.len() <= total.div_ceil(2) {
            left.extend(lines);
        } else {
            right.extend(lines);
        }
    }
    let height = left.len().max(right.len()) as u16 + 2;
    let rect = centered(area, 80, height);
    let inner = popup(frame, rect, " Keys (any key closes) ".into());
    let [l, r] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
}
