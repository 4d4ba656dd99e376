//! The state machine of the views added by issue 16: switching views, the customer drill-down,
//! the typed date range, scrolling the tables and exporting them. No terminal, no database.

mod common;

use chrono::NaiveDate;
use common::*;
use owner_tui::app::{
    CustomerLoad, Effect, Message, Msg, RangeField, Snapshot, State, TableExported, View, update,
};
use owner_tui::keymap::Action;
use store_core::domain::analytics::{Filter, Period, TrendBucket};

fn act(state: &mut State, action: Action) -> Vec<Effect> {
    update(state, Msg::Action(action))
}

/// Connected, at 80x24, the busy figures of the last 30 days shown with their insights.
fn shown() -> State {
    let (mut d, trend) = busy_figures();
    d.filter = Filter {
        period: Period::Last30Days,
        ..Filter::default()
    };
    let mut state = connected_state(d.clone());
    update(
        &mut state,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
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
    state.take_dirty();
    state
}

fn customer_request(effects: &[Effect]) -> (u64, uuid::Uuid) {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadCustomer {
                request, user_id, ..
            } => Some((*request, *user_id)),
            _ => None,
        })
        .expect("a customer request")
}

fn refresh_filter(effects: &[Effect]) -> Option<Filter> {
    effects.iter().find_map(|e| match e {
        Effect::Refresh { filter, .. } => Some(filter.clone()),
        _ => None,
    })
}

#[test]
fn tab_and_shift_tab_go_round_the_views_and_redraw_without_a_query() {
    let mut state = shown();
    let mut seen = vec![state.view];
    for _ in 0..View::ALL.len() {
        let effects = act(&mut state, Action::NextView);
        assert!(effects.is_empty(), "{effects:?}");
        assert!(state.take_dirty());
        seen.push(state.view);
    }
    assert_eq!(&seen[..6], &View::ALL);
    assert_eq!(seen[6], View::Overview, "round again");
    act(&mut state, Action::PreviousView);
    assert_eq!(state.view, View::Cashiers);
    // Freezing holds the figures, not the views.
    act(&mut state, Action::Freeze);
    act(&mut state, Action::PreviousView);
    assert_eq!(state.view, View::Tills);
}

#[test]
fn enter_opens_the_buyer_at_the_cursor_r_reloads_and_esc_goes_back() {
    let mut state = shown();
    act(&mut state, Action::ScrollDown);
    let (request, user_id) = customer_request(&act(&mut state, Action::Open));
    assert_eq!(user_id, user(1));
    let customer = state.customer.as_ref().unwrap();
    assert_eq!(customer.load, CustomerLoad::Loading { shown: None });

    update(
        &mut state,
        Msg::Customer {
            request,
            result: Ok(Some(customer_detail(user_id))),
        },
    );
    assert!(matches!(
        state.customer.as_ref().unwrap().load,
        CustomerLoad::Loaded(_)
    ));
    // The visits scroll, not the loyal list.
    act(&mut state, Action::ScrollDown);
    assert_eq!(state.customer.as_ref().unwrap().top, 1);
    assert_eq!(state.loyal.selected, 1);

    // `r` asks again and keeps the detail on screen meanwhile; the older answer is ignored.
    let effects = act(&mut state, Action::Refresh);
    let (again, _) = customer_request(&effects);
    assert_ne!(again, request);
    assert!(state.customer.as_ref().unwrap().load.detail().is_some());
    update(
        &mut state,
        Msg::Customer {
            request,
            result: Ok(None),
        },
    );
    assert!(matches!(
        state.customer.as_ref().unwrap().load,
        CustomerLoad::Loading { shown: Some(_) }
    ));
    update(
        &mut state,
        Msg::Customer {
            request: again,
            result: Err("database error: timeout".into()),
        },
    );
    assert_eq!(
        state.customer.as_ref().unwrap().load,
        CustomerLoad::Failed("database error: timeout".into())
    );

    act(&mut state, Action::CloseOverlay);
    assert!(state.customer.is_none());
    assert_eq!(state.view, View::Overview);
    // An answer after going back changes nothing.
    update(
        &mut state,
        Msg::Customer {
            request: again,
            result: Ok(Some(customer_detail(user_id))),
        },
    );
    assert!(state.customer.is_none());
}

#[test]
fn enter_with_no_loyal_buyer_says_so_and_elsewhere_does_nothing() {
    let mut d = dashboard(10, 0);
    d.loyal_page.clear();
    let mut state = connected_state(d);
    assert!(act(&mut state, Action::Open).is_empty());
    assert_eq!(state.message, Some(Message::NoBuyerAtCursor));
    assert!(state.customer.is_none());

    let mut state = shown();
    act(&mut state, Action::NextView);
    assert!(act(&mut state, Action::Open).is_empty());
    assert!(state.customer.is_none() && state.message.is_none());
}

#[test]
fn the_loyal_cursor_moves_down_the_last_screenful_once_the_list_cannot_scroll() {
    let mut state = shown();
    let visible = state.loyal_visible();
    let count = state.loyal_count();
    act(&mut state, Action::Bottom);
    assert_eq!(state.loyal.selected, count - 1);
    assert_eq!(state.loyal.top, count - visible);
    act(&mut state, Action::ScrollUp);
    assert_eq!(state.loyal.selected, count - 2);
    assert_eq!(state.loyal.top, count - visible, "the list stays put");
    act(&mut state, Action::Top);
    assert_eq!((state.loyal.selected, state.loyal.top), (0, 0));
}

#[test]
fn a_typed_range_is_checked_on_screen_and_then_asked_for() {
    let mut state = shown();
    assert!(act(&mut state, Action::TypeRange).is_empty());
    let range = state.range.clone().unwrap();
    assert_eq!(range.field, RangeField::From);
    assert_eq!(
        (range.from.as_str(), range.to.as_str()),
        ("2025-06-01", "2025-06-30")
    );

    // A from after the to is refused, in the popup, and nothing is asked of the database.
    for _ in 0..2 {
        act(&mut state, Action::DeleteChar);
    }
    for c in "15".chars() {
        act(&mut state, Action::Type(c));
    }
    act(&mut state, Action::NextField);
    for _ in 0..2 {
        act(&mut state, Action::DeleteChar);
    }
    for c in "10".chars() {
        act(&mut state, Action::Type(c));
    }
    let range = state.range.clone().unwrap();
    assert_eq!(
        (range.from.as_str(), range.to.as_str()),
        ("2025-06-15", "2025-06-10")
    );
    let effects = act(&mut state, Action::ApplyRange);
    assert!(refresh_filter(&effects).is_none(), "{effects:?}");
    let error = state.range.as_ref().unwrap().error.clone().unwrap();
    assert!(error.contains("after"), "{error}");
    assert_eq!(state.filter.period, Period::Last30Days);
    // Typing again clears the error.
    act(&mut state, Action::DeleteChar);
    assert!(state.range.as_ref().unwrap().error.is_none());
    act(&mut state, Action::Type('9'));
    act(&mut state, Action::NextField);
    for _ in 0..2 {
        act(&mut state, Action::DeleteChar);
    }
    for c in "01".chars() {
        act(&mut state, Action::Type(c));
    }
    tick(&mut state, 200_500);
    let effects = act(&mut state, Action::ApplyRange);
    let expected = Period::Range {
        from: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2025, 6, 19).unwrap(),
    };
    assert!(state.range.is_none());
    assert_eq!(state.filter.period, expected);
    assert_eq!(refresh_filter(&effects).map(|f| f.period), Some(expected));
}

#[test]
fn esc_leaves_the_period_as_it_was_and_frozen_refuses_the_popup() {
    let mut state = shown();
    act(&mut state, Action::TypeRange);
    act(&mut state, Action::Type('1'));
    let effects = act(&mut state, Action::CloseOverlay);
    assert!(effects.is_empty());
    assert!(state.range.is_none());
    assert_eq!(state.filter.period, Period::Last30Days);
    // A key of the dashboard is not one of the popup's: it types nothing and does not act.
    act(&mut state, Action::TypeRange);
    assert!(act(&mut state, Action::NextView).is_empty());
    assert_eq!(state.view, View::Overview);
    assert_eq!(act(&mut state, Action::Quit), vec![Effect::Quit]);

    let mut state = shown();
    act(&mut state, Action::Freeze);
    act(&mut state, Action::TypeRange);
    assert!(state.range.is_none());
    assert_eq!(state.message, Some(Message::UnfreezeFirst));
}

#[test]
fn the_view_tables_scroll_on_their_own_and_start_over_on_a_new_selection() {
    let mut state = shown();
    act(&mut state, Action::NextView);
    act(&mut state, Action::NextView);
    assert_eq!(state.view, View::Products);
    act(&mut state, Action::ScrollDown);
    act(&mut state, Action::ScrollDown);
    assert_eq!(state.tables.products, 2);
    assert_eq!(state.loyal.selected, 0, "the loyal list did not move");
    act(&mut state, Action::Bottom);
    let visible = owner_tui::view::table_visible_rows(&state);
    assert_eq!(state.tables.products, 22 - visible);
    // Five tills fit: nothing to scroll.
    act(&mut state, Action::NextView);
    act(&mut state, Action::NextView);
    assert_eq!(state.view, View::Tills);
    act(&mut state, Action::PageDown);
    assert_eq!(state.tables.tills, 0);
    // The summary has no table: the keys do nothing.
    tick(&mut state, 500_000);
    act(&mut state, Action::CycleBranch);
    assert_eq!(
        state.tables.products, 0,
        "a new selection starts at the top"
    );
}

#[test]
fn e_exports_the_table_of_the_view_shown() {
    let mut state = shown();
    let mut exported = Vec::new();
    for _ in 1..View::ALL.len() {
        act(&mut state, Action::NextView);
        let effects = act(&mut state, Action::Export);
        assert_eq!(state.message, Some(Message::Exporting));
        match &effects[..] {
            [Effect::ExportTable(export)] => exported.push((
                state.view,
                export.file_name.clone(),
                export.rows.len(),
                export.rows[0].clone(),
            )),
            other => panic!("{other:?}"),
        }
    }
    let names: Vec<&str> = exported.iter().map(|(_, f, _, _)| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "summary_all-branches_30-days_20250630-123456.csv",
            "products_all-branches_30-days_20250630-123456.csv",
            "hours_all-branches_30-days_20250630-123456.csv",
            "tills_all-branches_30-days_20250630-123456.csv",
            "cashiers_all-branches_30-days_20250630-123456.csv",
        ]
    );
    // The heading and every row: 8 figures, 22 products, 7 days, 5 tills, 4 cashiers.
    let rows: Vec<usize> = exported.iter().map(|(_, _, n, _)| *n).collect();
    assert_eq!(rows, [9, 23, 8, 6, 5]);
    assert_eq!(
        exported[1].3,
        ["position", "product_id", "product", "units", "revenue"]
    );
    assert_eq!(exported[2].3.len(), 26, "weekday, 24 hours, total");

    update(
        &mut state,
        Msg::TableExported(Ok(TableExported {
            file: "/tmp/x/cashiers.csv".into(),
            rows: 4,
        })),
    );
    assert_eq!(
        state.message.as_ref().map(Message::text).as_deref(),
        Some("Exported 4 rows as CSV to /tmp/x/cashiers.csv")
    );

    // The overview keeps its two files; a customer's visits are a table of their own.
    act(&mut state, Action::NextView);
    assert!(matches!(
        &act(&mut state, Action::Export)[..],
        [Effect::Export(_)]
    ));
    let (request, user_id) = customer_request(&act(&mut state, Action::Open));
    update(
        &mut state,
        Msg::Customer {
            request,
            result: Ok(Some(customer_detail(user_id))),
        },
    );
    match &act(&mut state, Action::Export)[..] {
        [Effect::ExportTable(export)] => {
            assert_eq!(
                export.file_name,
                format!("customer_{user_id}_20250630-123456.csv")
            );
            assert_eq!(export.rows.len(), 24);
            assert_eq!(
                export.rows[1],
                [
                    "90000",
                    "2025-06-30 12:34:56",
                    "SMKT001",
                    "1",
                    "4.60",
                    "T01-001200"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_view_without_its_figures_has_nothing_to_export() {
    let mut state = connected_state(dashboard(10, 3));
    act(&mut state, Action::NextView);
    assert!(act(&mut state, Action::Export).is_empty());
    assert_eq!(state.message, Some(Message::NothingToExport));
}

#[test]
fn a_range_gets_its_own_file_names() {
    let filter = Filter {
        period: Period::Range {
            from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        },
        supermarket_id: Some("SMKT002".into()),
        ..Filter::default()
    };
    assert_eq!(
        owner_tui::export::file_name("products", &filter, "20261201-090000"),
        "products_SMKT002_2026-11-01_2026-11-30_20261201-090000.csv"
    );
}

fn refresh_reads_insights(effects: &[Effect]) -> Option<bool> {
    effects.iter().find_map(|e| match e {
        Effect::Refresh { insights, .. } => Some(*insights),
        _ => None,
    })
}

/// The first screen, all time on the overview, costs the database what it did before: no
/// insights. Another view asks for them at once, and so does a period with a period before.
#[test]
fn insights_are_read_only_when_the_screen_needs_them() {
    let mut state = State::new(settings(), 3);
    tick(&mut state, 1_000);
    let effects = update(
        &mut state,
        Msg::Connected {
            description: "test".into(),
        },
    );
    assert_eq!(refresh_reads_insights(&effects), Some(false));
    let id = state.in_flight().unwrap();
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: dashboard(10, 3),
                trend: Vec::new(),
                bucket: TrendBucket::Day,
                standby: None,
                insights: None,
            })),
        },
    );
    tick(&mut state, 2_000);
    let effects = act(&mut state, Action::NextView);
    assert_eq!(refresh_reads_insights(&effects), Some(true), "{effects:?}");
    let id = state.in_flight().unwrap();
    let mut insights = insights_30_days();
    insights.filter = Filter::default();
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: dashboard(10, 3),
                trend: Vec::new(),
                bucket: TrendBucket::Day,
                standby: None,
                insights: Some(insights),
            })),
        },
    );
    // Here already: going round the views asks for nothing more.
    tick(&mut state, 3_000);
    assert!(act(&mut state, Action::NextView).is_empty());
    // Back on the overview, a period with one before reads them for the comparison.
    while state.view != View::Overview {
        act(&mut state, Action::NextView);
    }
    tick(&mut state, 4_000);
    let effects = act(&mut state, Action::CyclePeriod);
    assert_eq!(state.filter.period, Period::Today);
    assert_eq!(refresh_reads_insights(&effects), Some(true));
}

/// A view switched to while frozen does not read (the figures are held): it says so.
#[test]
fn a_view_without_its_figures_while_frozen_says_how_to_get_them() {
    let mut state = connected_state(dashboard(10, 3));
    act(&mut state, Action::Freeze);
    tick(&mut state, 5_000);
    assert!(act(&mut state, Action::NextView).is_empty());
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
    terminal
        .draw(|f| owner_tui::view::render(f, &state))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("f resumes and reads them"), "{screen}");
    let effects = act(&mut state, Action::Freeze);
    assert_eq!(refresh_reads_insights(&effects), Some(true), "{effects:?}");
}

/// A larger terminal shows more rows: a table scrolled down comes back as far as it must.
#[test]
fn a_resize_keeps_a_scrolled_table_within_its_rows() {
    let mut state = shown();
    while state.view != View::Products {
        act(&mut state, Action::NextView);
    }
    act(&mut state, Action::Bottom);
    assert!(state.tables.products > 0);
    update(
        &mut state,
        Msg::Resize {
            width: 160,
            height: 48,
        },
    );
    assert_eq!(state.tables.products, 0, "all 22 products fit at 160x48");
}

/// An answer nobody waits for any more draws nothing; the one awaited does.
#[test]
fn only_the_awaited_customer_answer_redraws() {
    let mut state = shown();
    let (first, user_id) = customer_request(&act(&mut state, Action::Open));
    let (second, _) = customer_request(&act(&mut state, Action::Refresh));
    state.take_dirty();
    update(
        &mut state,
        Msg::Customer {
            request: first,
            result: Ok(Some(customer_detail(user_id))),
        },
    );
    assert!(!state.take_dirty(), "an old answer changed the screen");
    update(
        &mut state,
        Msg::Customer {
            request: second,
            result: Ok(Some(customer_detail(user_id))),
        },
    );
    assert!(state.take_dirty());
}

fn answer_refresh(state: &mut State, effects: &[Effect]) {
    for e in effects {
        if let Effect::Refresh {
            id,
            filter,
            insights,
            ..
        } = e
        {
            let (mut d, trend) = busy_figures();
            d.filter = filter.clone();
            let insights = insights.then(|| {
                let mut i = insights_30_days();
                i.filter = filter.clone();
                i.summary.purchases += 1;
                i
            });
            update(
                state,
                Msg::Refreshed {
                    id: *id,
                    result: Ok(Box::new(Snapshot {
                        dashboard: d,
                        trend,
                        bucket: TrendBucket::Day,
                        standby: None,
                        insights,
                    })),
                },
            );
        }
    }
}

/// The insights cost far more than the dashboard: sales refresh the figures at once, the
/// insights at most every INSIGHTS_EVERY (those shown stay meanwhile); `r` reads them now.
#[test]
fn sales_refresh_the_insights_at_most_every_few_seconds_and_r_at_once() {
    use owner_tui::app::INSIGHTS_EVERY;
    let mut state = shown();
    act(&mut state, Action::NextView);
    let shown_purchases = |s: &State| s.insights().map(|i| i.summary.purchases);
    let before = shown_purchases(&state);
    let mut t = 200_000 + 500;
    // A sale a second later: the dashboard is read, the insights are not; they stay.
    t += 1_000;
    tick(&mut state, t);
    let effects = update(
        &mut state,
        Msg::Notice {
            channel: store_core::db::live::PURCHASE_CHANNEL.into(),
        },
    );
    assert_eq!(refresh_reads_insights(&effects), Some(false), "{effects:?}");
    answer_refresh(&mut state, &effects);
    assert_eq!(shown_purchases(&state), before, "the insights shown stay");
    // Past INSIGHTS_EVERY, the next refresh (the burst's trailing one here) reads them again.
    t += INSIGHTS_EVERY.as_millis() as u64;
    let mut effects = tick(&mut state, t);
    effects.extend(update(
        &mut state,
        Msg::Notice {
            channel: store_core::db::live::PURCHASE_CHANNEL.into(),
        },
    ));
    assert_eq!(refresh_reads_insights(&effects), Some(true), "{effects:?}");
    answer_refresh(&mut state, &effects);
    assert_eq!(shown_purchases(&state), before.map(|n| n + 1));
    // `r` reads them at once.
    t += 1_000;
    let effects = tick(&mut state, t);
    answer_refresh(&mut state, &effects);
    t += 1_000;
    tick(&mut state, t);
    let effects = act(&mut state, Action::Refresh);
    assert_eq!(refresh_reads_insights(&effects), Some(true), "{effects:?}");
}
