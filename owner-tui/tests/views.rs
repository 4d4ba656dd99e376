//! The views beyond the overview (summary, products, hours, tills, cashiers), a customer
//! opened from the loyal list and the date range popup, as text at 80x24 and at 160x48.

mod common;

use common::*;
use owner_tui::app::{Effect, Msg, Snapshot, State, View, update};
use owner_tui::keymap::Action;
use owner_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use store_core::domain::analytics::{Filter, Period, TrendBucket};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The busy chain's last 30 days on screen, insights included.
fn state_with_insights() -> State {
    let (mut d, trend) = busy_figures();
    d.filter = Filter {
        period: Period::Last30Days,
        ..Filter::default()
    };
    let mut state = connected_state(d.clone());
    // The periodic refresh is due by now.
    tick(&mut state, 200_000);
    let id = state.in_flight().expect("a refresh in flight");
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: d,
                trend,
                bucket: TrendBucket::Day,
                standby: None,
                insights: Some(insights_30_days()),
            })),
        },
    );
    assert!(state.insights().is_some());
    state
}

fn draw_at(state: &mut State, width: u16, height: u16) -> String {
    update(state, Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::render(f, state)).unwrap();
    terminal.backend().to_string()
}

fn go_to(state: &mut State, target: View) {
    while state.view != target {
        update(state, Msg::Action(Action::NextView));
    }
}

/// Snapshots `view` at both sizes, checking `expected` is on screen at each.
fn snapshot_view(target: View, expected: &[&str]) {
    let mut state = state_with_insights();
    go_to(&mut state, target);
    for (w, h) in SIZES {
        let screen = draw_at(&mut state, w, h);
        for text in expected {
            assert!(screen.contains(text), "{text:?} not at {w}x{h}:\n{screen}");
        }
        insta::assert_snapshot!(format!("{}_{w}x{h}", target.title().to_lowercase()), screen);
    }
}

#[test]
fn the_summary_shows_each_figure_against_the_period_before() {
    snapshot_view(
        View::Summary,
        &[
            "Summary",
            "81204",
            "72180",
            "▲ 12.5%",
            "512840.35",
            "▼ 2.7%",
            "Average basket",
            "6.32",
            "Items per basket",
            "same",
            "against",
        ],
    );
}

#[test]
fn the_products_table_shows_units_and_revenue() {
    snapshot_view(
        View::Products,
        &["Products", "milk", "24000", "56400.00", "Revenue", "Units"],
    );
}

#[test]
fn the_heat_map_shades_hours_by_weekday() {
    snapshot_view(View::Hours, &["Mon", "Sun", "█", "░", "·", "1420"]);
}

#[test]
fn tills_and_cashiers_have_their_tables() {
    snapshot_view(View::Tills, &["T01", "24310", "153120.40", "(no till)"]);
    snapshot_view(
        View::Cashiers,
        &["#3 Ana Souza", "30115", "190004.10", "(no cashier)"],
    );
}

#[test]
fn the_tab_bar_shows_at_large_sizes_and_the_header_names_the_view_at_80x24() {
    let mut state = state_with_insights();
    go_to(&mut state, View::Products);
    let small = draw_at(&mut state, 80, 24);
    assert!(
        small.lines().next().unwrap().contains("Products"),
        "{small}"
    );
    assert!(!small.contains("│ Hours │"), "{small}");
    let large = draw_at(&mut state, 160, 48);
    assert!(
        large.contains("Overview │ Summary │ Products │ Hours │ Tills │ Cashiers"),
        "{large}"
    );
}

#[test]
fn the_products_table_scrolls() {
    let mut state = state_with_insights();
    go_to(&mut state, View::Products);
    let before = draw_at(&mut state, 80, 24);
    assert!(before.contains(" milk "), "{before}");
    update(&mut state, Msg::Action(Action::PageDown));
    let after = draw_at(&mut state, 80, 24);
    assert!(!after.contains(" milk "), "{after}");
    // 22 products: a page down from the top stops where the last product is on the last row.
    let visible = view::table_visible_rows(&state);
    assert!(visible > 3 && visible < 22, "{visible} rows at 80x24");
    assert_eq!(state.tables.products, 22 - visible);
    update(&mut state, Msg::Action(Action::Bottom));
    let last = draw_at(&mut state, 80, 24);
    assert!(last.contains(" jam ") && last.contains("of 22 "), "{last}");
    insta::assert_snapshot!("products_scrolled_to_the_end_80x24", last);
}

/// Enter on the loyal list opens the buyer at the cursor; the detail arrives; Esc goes back.
#[test]
fn a_loyal_buyer_opens_in_detail_and_esc_goes_back() {
    let mut state = state_with_insights();
    draw_at(&mut state, 80, 24);
    update(&mut state, Msg::Action(Action::ScrollDown));
    update(&mut state, Msg::Action(Action::ScrollDown));
    let effects = update(&mut state, Msg::Action(Action::Open));
    let (request, user_id) = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCustomer {
                request, user_id, ..
            } => Some((*request, *user_id)),
            _ => None,
        })
        .expect("the customer is asked for");
    assert_eq!(user_id, user(2), "the third buyer, at the cursor");
    let loading = draw_at(&mut state, 80, 24);
    assert!(loading.contains("Loading the customer"), "{loading}");
    update(
        &mut state,
        Msg::Customer {
            request,
            result: Ok(Some(customer_detail(user_id))),
        },
    );
    for (w, h) in SIZES {
        let screen = draw_at(&mut state, w, h);
        for text in [
            "23 purchases",
            "First visit",
            "SMKT001 (12)",
            "T01-001200",
            "Esc back",
            &user_id.to_string(),
        ] {
            assert!(screen.contains(text), "{text:?} at {w}x{h}:\n{screen}");
        }
        insta::assert_snapshot!(format!("customer_{w}x{h}"), screen);
    }
    update(&mut state, Msg::Action(Action::CloseOverlay));
    assert!(state.customer.is_none());
    let back = draw_at(&mut state, 80, 24);
    assert!(back.contains("Loyal buyers"), "{back}");
}

#[test]
fn the_range_popup_says_what_is_wrong_on_screen() {
    let mut state = state_with_insights();
    update(&mut state, Msg::Action(Action::TypeRange));
    // Filled with the days the period covers (30 days to the fixed time).
    let range = state.range.as_ref().expect("the popup is open");
    assert_eq!(
        (range.from.as_str(), range.to.as_str()),
        ("2025-06-01", "2025-06-30")
    );
    for _ in 0..10 {
        update(&mut state, Msg::Action(Action::DeleteChar));
    }
    for c in "2025-13-01".chars() {
        update(&mut state, Msg::Action(Action::Type(c)));
    }
    update(&mut state, Msg::Action(Action::ApplyRange));
    for (w, h) in SIZES {
        let screen = draw_at(&mut state, w, h);
        assert!(screen.contains("2025-13-01"), "{screen}");
        assert!(screen.contains("YYYY-MM-DD"), "{screen}");
        assert!(screen.contains("from"), "{screen}");
        insta::assert_snapshot!(format!("range_refused_{w}x{h}"), screen);
    }
}

#[test]
fn every_new_view_renders_at_any_size_without_panicking() {
    let mut state = state_with_insights();
    for target in View::ALL {
        go_to(&mut state, target);
        for (w, h) in [(1, 1), (20, 5), (40, 12), (60, 20), (100, 30), (240, 70)] {
            draw_at(&mut state, w, h);
        }
    }
    update(&mut state, Msg::Action(Action::TypeRange));
    for (w, h) in [(1, 1), (20, 5), (40, 12)] {
        draw_at(&mut state, w, h);
    }
}

/// On the overview, unique buyers carry their change against the period before.
#[test]
fn the_overview_compares_unique_buyers_with_the_period_before() {
    let mut state = state_with_insights();
    let previous = state.insights().and_then(|i| i.previous.clone()).unwrap();
    // 1537204 buyers on screen against 40117 before.
    assert_eq!(previous.unique_buyers, 40117);
    let expected = owner_tui::figures::change(1_537_204.into(), 40_117.into());
    for (w, h) in SIZES {
        let screen = draw_at(&mut state, w, h);
        let line = screen
            .lines()
            .find(|l| l.contains("Unique buyers"))
            .expect("the buyers box");
        assert!(
            line.contains("1537204") && line.contains(&expected),
            "{screen}"
        );
        insta::assert_snapshot!(format!("overview_compared_{w}x{h}"), screen);
    }
}

/// The numbers on the screen: runs of digits (with their decimal point) not part of a word
/// such as a branch or till id, nor a share (`29.9%`).
fn numbers_on(screen: &str) -> Vec<&str> {
    screen
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '%'))
        .filter(|t| !t.ends_with('%'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .collect()
}

/// As on the overview: at any size a figure of a view is whole or not shown at all.
#[test]
fn at_every_size_the_views_show_numbers_whole_or_not_at_all() {
    let mut state = state_with_insights();
    let insights = state.insights().unwrap().clone();
    let money = |d: &rust_decimal::Decimal| format!("{d:.2}");
    let summary: Vec<String> =
        owner_tui::figures::figures(&insights.summary, insights.previous.as_ref())
            .into_iter()
            .flat_map(|f| [Some(f.now), f.before].into_iter().flatten())
            .collect();
    let products: Vec<String> = insights
        .products
        .iter()
        .flat_map(|p| [p.units.to_string(), money(&p.revenue)])
        .collect();
    let tills: Vec<String> = insights
        .tills
        .iter()
        .flat_map(|t| [t.purchases.to_string(), money(&t.revenue)])
        .collect();
    let cashiers: Vec<String> = insights
        .cashiers
        .iter()
        .flat_map(|c| [c.purchases.to_string(), money(&c.revenue)])
        .collect();
    let detail = customer_detail(user(0));
    let visits: Vec<String> = detail
        .visits
        .iter()
        .flat_map(|v| [v.items.to_string(), money(&v.total)])
        .chain([detail.purchases.to_string(), money(&detail.total_spent)])
        .collect();
    for (target, figures) in [
        (View::Overview, visits),
        (View::Summary, summary),
        (View::Products, products),
        (View::Tills, tills),
        (View::Cashiers, cashiers),
    ] {
        go_to(&mut state, target);
        if target == View::Overview {
            // A customer's visits.
            let effects = update(&mut state, Msg::Action(Action::Open));
            let request = effects
                .iter()
                .find_map(|e| match e {
                    Effect::LoadCustomer { request, .. } => Some(*request),
                    _ => None,
                })
                .unwrap();
            update(
                &mut state,
                Msg::Customer {
                    request,
                    result: Ok(Some(detail.clone())),
                },
            );
        }
        for (width, height) in [
            (24, 8),
            (30, 10),
            (40, 12),
            (50, 16),
            (60, 20),
            (80, 24),
            (120, 40),
        ] {
            let screen = draw_at(&mut state, width, height);
            for token in numbers_on(&screen) {
                for figure in &figures {
                    let cut = token.len() >= 3
                        && token != figure
                        && !figures.iter().any(|f| f == token)
                        && (figure.starts_with(token) || figure.ends_with(token));
                    assert!(
                        !cut,
                        "{figure} shown as {token} in {target:?} at {width}x{height}:\n{screen}"
                    );
                }
            }
        }
    }
}
