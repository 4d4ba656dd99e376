//! The screen at 80x24, as text. The clock is a state field (the dashboard's time, shown in
//! UTC here), so the snapshots are deterministic without filters.

mod common;

use common::*;
use owner_tui::app::{Msg, Snapshot, State, update};
use owner_tui::keymap::Action;
use owner_tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use store_core::domain::analytics::{self, Filter, TrendBucket};
use store_core::seed::{SeedOptions, seed};

fn draw(state: &State) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| view::render(f, state)).unwrap();
    terminal
}

/// Shows `snapshot` as the answer to the state's current selection.
fn show(state: &mut State, snapshot: Snapshot) {
    state.filter = snapshot.dashboard.filter.clone();
    state.min_purchases = snapshot.dashboard.min_purchases;
    let start = state.in_flight().is_none();
    let later = state.now.as_millis() as u64 + 100_000;
    tick(state, later);
    if start {
        update(state, Msg::Action(Action::Refresh));
    }
    let id = state.in_flight().expect("a refresh in flight");
    update(
        state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(snapshot)),
        },
    );
}

async fn from_db(store: &store_core::Store, filter: &Filter) -> Snapshot {
    let client = store.client().await.unwrap();
    // As the TUI reads it: the figures and the chart from one snapshot.
    let (mut dashboard, trend) =
        analytics::dashboard_with_trend(&client, filter, 3, 50, TrendBucket::Day)
            .await
            .unwrap();
    dashboard.generated_at = fixed_time();
    Snapshot {
        dashboard,
        trend,
        bucket: TrendBucket::Day,
        standby: None,
        insights: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assignment_data_set() {
    let dir = store_testkit::assignment_data_dir();
    let db = store_testkit::fresh_db().await;
    seed(
        &db.store,
        &SeedOptions::from_files(dir.join("products_list.csv"), dir.join("purchases.csv")),
    )
    .await
    .unwrap();

    let everything = from_db(&db.store, &Filter::default()).await;
    assert_eq!(everything.dashboard.unique_buyers, 1762);
    assert_eq!(everything.dashboard.loyal_buyers, 142);
    assert_eq!(everything.dashboard.top_products[0].name, "milk");
    assert_eq!(everything.dashboard.top_products[0].units, 1823);
    let mut state = connected_state(everything.dashboard.clone());
    show(&mut state, everything);
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    for expected in ["1762", "142", "milk", "1823", "1812", "1777", "13608.90"] {
        assert!(screen.contains(expected), "{expected} not on screen");
    }
    insta::assert_snapshot!("main_assignment_data", terminal.backend());

    // One branch: every figure is that branch's.
    let smkt002 = Filter {
        supermarket_id: Some("SMKT002".into()),
        ..Filter::default()
    };
    let filtered = from_db(&db.store, &smkt002).await;
    assert_eq!(filtered.dashboard.purchases(), 981);
    show(&mut state, filtered);
    let terminal = draw(&state);
    assert!(terminal.backend().to_string().contains("6152.70"));
    insta::assert_snapshot!("filtered_smkt002", terminal.backend());
}

#[test]
fn ties_at_rank_three_show_every_tied_product() {
    let mut d = dashboard(1_000, 120);
    d.top_products = vec![
        top(1, "milk", 500, 1),
        top(3, "eggs", 480, 2),
        top(2, "bread", 450, 3),
        top(5, "apples", 450, 3),
    ];
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend: trend_days(&[10, 20, 15, 30, 25, 5, 40]),
            bucket: TrendBucket::Day,
            standby: None,
            insights: None,
        },
    );
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("=3 bread") && screen.contains("=3 apples"));
    insta::assert_snapshot!("ties_at_rank_three", terminal.backend());
}

/// On a hot standby the header says so, with how far behind the primary it is.
#[test]
fn a_dashboard_on_a_standby_shows_it_and_its_lag() {
    let d = dashboard(1_000, 120);
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend: trend_days(&[10, 20, 15, 30, 25, 5, 40]),
            bucket: TrendBucket::Day,
            standby: Some(store_core::domain::analytics::StandbyLag { lag_ms: 340 }),
            insights: None,
        },
    );
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("STANDBY lag 0.3 s"), "{screen}");
    insta::assert_snapshot!("standby", terminal.backend());
}

/// Names from the database are drawn escaped: a right-to-left override or a control character
/// in a product name or a branch id is spelled out, never sent to the terminal.
#[test]
fn stored_names_with_bidi_and_control_characters_are_drawn_escaped() {
    let mut d = dashboard(1_000, 120);
    d.top_products = vec![
        // Escaped, just the 14 characters the column shows.
        top(1, "m\u{202e}\x07", 500, 1),
        top(3, "eggs", 480, 2),
        top(2, "bread", 450, 3),
    ];
    d.branches[0].supermarket_id = "S\u{202e}1\x07".into();
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend: trend_days(&[10, 20, 15, 30, 25, 5, 40]),
            bucket: TrendBucket::Day,
            standby: None,
            insights: None,
        },
    );
    let screen = draw(&state).backend().to_string();
    assert!(
        !screen.contains(['\u{202e}', '\x07']),
        "a raw character reached the screen:\n{screen}"
    );
    assert!(
        screen.contains(" m\\u{202e}\\u{7} "),
        "the product is shown escaped:\n{screen}"
    );
    assert!(
        screen.contains("S\\u{202e}1\\u{7}"),
        "the branch is shown escaped:\n{screen}"
    );
}

#[test]
fn stale_figures_stay_and_say_so() {
    let d = dashboard(1_000, 120);
    let mut state = connected_state(d);
    tick(&mut state, 200_000);
    update(&mut state, Msg::Action(Action::Refresh));
    let id = state.in_flight().unwrap();
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Err("database error: connection refused".into()),
        },
    );
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("STALE") && screen.contains("1000"));
    insta::assert_snapshot!("stale", terminal.backend());
}

#[test]
fn help_lists_every_key() {
    let mut state = connected_state(dashboard(1_000, 120));
    update(&mut state, Msg::Action(Action::Help));
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    for b in owner_tui::keymap::BINDINGS {
        assert!(screen.contains(b.help), "{} missing from help", b.help);
    }
    insta::assert_snapshot!("help", terminal.backend());
}

#[test]
fn frozen_says_so() {
    let mut state = connected_state(dashboard(1_000, 120));
    update(&mut state, Msg::Action(Action::Freeze));
    let screen = draw(&state).backend().to_string();
    assert!(screen.contains("FROZEN"));
}

#[test]
fn any_size_renders_without_panicking() {
    let mut state = connected_state(dashboard(1_000, 120));
    for (w, h) in [(80, 24), (40, 10), (20, 5), (1, 1), (200, 60), (0, 0)] {
        update(
            &mut state,
            Msg::Resize {
                width: w,
                height: h,
            },
        );
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| view::render(f, &state)).unwrap();
    }
}

/// The inside of the "Sales per day" box, row by row (the right-hand column at 80x24).
fn chart_rows(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("Sales per"))
        .expect("the chart is on screen");
    let start = lines[top].find("┌ Sales per").expect("the chart's corner");
    let col = lines[top][..start].chars().count() + 1;
    lines[top + 1..]
        .iter()
        .take_while(|l| l.chars().nth(col - 1) != Some('└'))
        .map(|l| l.chars().skip(col).take(28).collect())
        .collect()
}

#[test]
fn the_sales_chart_uses_its_whole_width_when_days_are_grouped() {
    // 31 days with sales every day in a chart 28 columns wide.
    let counts: Vec<i64> = (0..31).map(|i| 50 + (i * 7) % 40).collect();
    let d = dashboard(1_000, 120);
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend: trend_days(&counts),
            bucket: TrendBucket::Day,
            standby: None,
            insights: None,
        },
    );
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    let rows = chart_rows(&screen);
    // The lowest row of bars: every day had sales, so no column is empty.
    let bottom = &rows[rows.len() - 4];
    assert_eq!(bottom.chars().count(), 28, "{rows:#?}");
    assert!(!bottom.contains(' '), "empty width in the chart: {rows:#?}");
    assert!(screen.contains("peak 89/day · 31 days"), "{screen}");
    assert!(screen.contains("averaged to fit"), "{screen}");
    insta::assert_snapshot!("trend_31_days", terminal.backend());
}

#[test]
fn a_short_range_is_stretched_over_the_chart() {
    // Seven days, one bar each would leave 21 of 28 columns empty.
    let d = dashboard(1_000, 120);
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend: trend_days(&[10, 20, 15, 30, 25, 5, 40]),
            bucket: TrendBucket::Day,
            standby: None,
            insights: None,
        },
    );
    let screen = draw(&state).backend().to_string();
    let rows = chart_rows(&screen);
    let bottom = &rows[rows.len() - 4];
    assert!(!bottom.contains(' '), "empty width in the chart: {rows:#?}");
    assert!(screen.contains("peak 40/day · 7 days"), "{screen}");
    assert!(!screen.contains("averaged"), "{screen}");
}

#[test]
fn chart_columns_average_grouped_buckets_and_stretch_few() {
    let at = |i: i64| common::fixed_time() + chrono::Duration::days(i);
    let series: Vec<_> = [10u64, 20, 30, 40, 50]
        .iter()
        .enumerate()
        .map(|(i, n)| (at(i as i64), *n))
        .collect();
    // Five buckets in two columns: 0..2 and 2..5, averaged (hundredths).
    assert_eq!(view::chart_columns(&series, 2), vec![1500, 4000]);
    // Five buckets in five columns: one each.
    assert_eq!(
        view::chart_columns(&series, 5),
        vec![1000, 2000, 3000, 4000, 5000]
    );
    // Five buckets in ten columns: each twice.
    assert_eq!(
        view::chart_columns(&series, 10),
        vec![1000, 1000, 2000, 2000, 3000, 3000, 4000, 4000, 5000, 5000]
    );
    assert!(view::chart_columns(&series, 0).is_empty());
    assert!(view::chart_columns(&[], 10).is_empty());
}

#[test]
fn the_days_of_the_chart_follow_the_chains_clock_across_a_dst_change() {
    use chrono::{TimeZone, Utc};
    use store_core::domain::analytics::TrendPoint;
    use store_core::domain::time_zone::Tz;
    // Paris days from 2025-10-25 to 2025-10-27; the 26th has 25 hours, and the chart must not
    // drift by an hour from it on (a day is not 24 hours there).
    let starts = [
        Utc.with_ymd_and_hms(2025, 10, 24, 22, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2025, 10, 25, 22, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2025, 10, 26, 23, 0, 0).unwrap(),
    ];
    let point = |at, purchases| TrendPoint {
        bucket_start: at,
        purchases,
        revenue: rust_decimal::Decimal::ZERO,
    };
    let points = [point(starts[0], 4), point(starts[2], 6)];
    assert_eq!(
        view::filled_series(&points, TrendBucket::Day, Tz::Europe__Paris),
        vec![(starts[0], 4), (starts[1], 0), (starts[2], 6)]
    );
}

/// A busy chain's figures on screen.
fn busy_state() -> State {
    let (d, trend) = busy_figures();
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend,
            bucket: TrendBucket::Day,
            standby: None,
            insights: None,
        },
    );
    state
}

/// The screen at `width` x `height`, the state told of the size first (as the program does).
fn draw_at(state: &mut State, width: u16, height: u16) -> Terminal<TestBackend> {
    update(state, Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::render(f, state)).unwrap();
    terminal
}

#[test]
fn a_small_terminal_drops_columns_instead_of_cutting_numbers() {
    let mut state = busy_state();
    let terminal = draw_at(&mut state, 60, 20);
    let screen = terminal.backend().to_string();
    for figure in ["1537204", "328411", "19495.60", "2471120"] {
        assert!(screen.contains(figure), "{figure} not whole:\n{screen}");
    }
    insta::assert_snapshot!("busy_60x20", terminal.backend());

    let terminal = draw_at(&mut state, 40, 12);
    let screen = terminal.backend().to_string();
    for figure in ["1537204", "328411"] {
        assert!(screen.contains(figure), "{figure} not whole:\n{screen}");
    }
    assert!(!screen.contains("10-9 of"), "{screen}");
    insta::assert_snapshot!("busy_40x12", terminal.backend());
}

#[test]
fn a_large_terminal_gives_the_chart_its_width() {
    let mut state = busy_state();
    let terminal = draw_at(&mut state, 200, 60);
    let screen = terminal.backend().to_string();
    // 30 days in a chart wider than 30 columns: nothing is averaged.
    assert!(!screen.contains("averaged"), "{screen}");
    let corner = screen
        .lines()
        .find_map(|l| {
            let start = l.find("┌ Sales per")?;
            Some(l[start..].chars().count())
        })
        .expect("the chart is on screen");
    assert!(
        corner > 60,
        "the chart box is {corner} columns wide:\n{screen}"
    );
    insta::assert_snapshot!("busy_200x60", terminal.backend());
}

/// The numbers on screen: runs of digits (with their decimal point) not part of a word such as
/// a branch id.
fn numbers_on(screen: &str) -> Vec<&str> {
    screen
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .collect()
}

#[test]
fn at_every_size_a_number_is_shown_whole_or_not_at_all() {
    let mut state = busy_state();
    let d = state.shown.as_ref().unwrap().dashboard.clone();
    let mut figures: Vec<String> = vec![
        d.unique_buyers.to_string(),
        d.loyal_buyers.to_string(),
        d.purchases().to_string(),
        format!("{:.2}", d.revenue()),
    ];
    figures.extend(d.top_products.iter().map(|p| p.units.to_string()));
    for b in &d.branches {
        figures.push(b.purchases.to_string());
        figures.push(format!("{:.2}", b.revenue));
    }
    for (width, height) in [
        (24, 8),
        (30, 10),
        (40, 12),
        (50, 16),
        (60, 20),
        (70, 22),
        (80, 24),
        (100, 30),
        (120, 40),
        (200, 60),
    ] {
        let screen = draw_at(&mut state, width, height).backend().to_string();
        for token in numbers_on(&screen) {
            for figure in &figures {
                let cut = token.len() >= 3
                    && token != figure
                    && (figure.starts_with(token) || figure.ends_with(token));
                assert!(
                    !cut,
                    "{figure} shown as {token} at {width}x{height}:\n{screen}"
                );
            }
        }
    }
}

#[test]
fn the_help_scrolls_when_the_terminal_is_too_short_for_it() {
    let mut state = busy_state();
    update(
        &mut state,
        Msg::Resize {
            width: 60,
            height: 12,
        },
    );
    update(&mut state, Msg::Action(Action::Help));
    let first = draw_at(&mut state, 60, 12).backend().to_string();
    assert!(
        first.contains("quit") && !first.contains("Any key closes"),
        "{first}"
    );
    assert!(first.contains("scroll"), "says it scrolls:\n{first}");
    // The scroll keys scroll the help (it stays open) down to its last line.
    update(&mut state, Msg::Action(Action::ScrollDown));
    assert_eq!(state.help.map(|h| h.scroll), Some(1));
    update(&mut state, Msg::Action(Action::Bottom));
    let last = draw_at(&mut state, 60, 12).backend().to_string();
    assert!(last.contains("other keys close"), "{last}");
    assert!(last.contains("loyal buyers: last"), "{last}");
    insta::assert_snapshot!("help_scrolled_60x12", last);
    // Any other key closes it.
    update(&mut state, Msg::Action(Action::Refresh));
    assert!(state.help.is_none());
}

#[test]
fn the_loyal_table_scrolls_across_a_page_boundary() {
    let mut state = connected_state(dashboard(1_000, 500));
    for _ in 0..45 {
        update(&mut state, Msg::Action(Action::ScrollDown));
    }
    assert_eq!(state.loyal.top, 45);
    // Rows 46..54 straddle the first two pages; the second is fetched, then answered.
    let screen = draw_at(&mut state, 80, 24).backend().to_string();
    assert!(screen.contains(&user(45).to_string()), "{screen}");
    assert!(screen.contains("loading…"), "{screen}");
    let generation = state.loyal.generation;
    let rows = (50..100)
        .map(|i| store_core::domain::analytics::LoyalBuyer {
            user_id: user(i),
            purchases: 3,
        })
        .collect();
    update(
        &mut state,
        Msg::LoyalPage {
            generation,
            page: 1,
            result: Ok(rows),
        },
    );
    let screen = draw_at(&mut state, 80, 24).backend().to_string();
    let table: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("10000000-0000-4000"))
        .collect();
    assert_eq!(table.len(), 9, "{screen}");
    assert!(table[0].contains(" 46 ") && table[0].contains(&user(45).to_string()));
    assert!(table[8].contains(" 54 ") && table[8].contains(&user(53).to_string()));
    assert!(screen.contains(" 46-54 of 500 "), "{screen}");
}

/// Refunds per branch: a column of the money refunded once there is a refund, when it fits
/// whole beside the other figures (at 80x24 it does; at 40 columns it is left out first).
#[test]
fn refunds_per_branch_show_once_there_is_one() {
    let mut d = dashboard(1_000, 120);
    d.branches = vec![
        branch("SMKT001", 600, "1234.50"),
        branch("SMKT002", 400, "987.25"),
    ];
    d.branches[1].refunds = 2;
    d.branches[1].refunded = "12.40".parse().unwrap();
    let mut state = connected_state(d.clone());
    show(
        &mut state,
        Snapshot {
            dashboard: d,
            trend: trend_days(&[10, 20, 15, 30, 25, 5, 40]),
            bucket: TrendBucket::Day,
            standby: None,
            insights: None,
        },
    );
    // At 80x24 the chain's refunds take a line under the total.
    let terminal = draw(&state);
    let screen = terminal.backend().to_string();
    assert!(
        screen.contains("Refunds ") && screen.contains("12.40"),
        "{screen}"
    );
    insta::assert_snapshot!("refunds_under_the_total", terminal.backend());

    // Wide enough, each branch's refunds in a column of their own.
    let terminal = draw_at(&mut state, 160, 30);
    let screen = terminal.backend().to_string();
    assert!(screen.contains("Refunds"), "{screen}");
    assert!(
        screen.contains("12.40") && screen.contains("0.00"),
        "{screen}"
    );
    insta::assert_snapshot!("refunds_per_branch_160x30", terminal.backend());
}
