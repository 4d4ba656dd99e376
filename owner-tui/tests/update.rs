//! The state machine, driven by messages: no terminal, no database, no sleeping.

mod common;

use common::*;
use owner_tui::app::{Effect, LOYAL_PAGE, Message, Msg, Snapshot, update};
use owner_tui::keymap::Action;
use store_core::domain::analytics::{Filter, LoyalBuyer, Period, TrendBucket};

fn act(state: &mut owner_tui::app::State, action: Action) -> Vec<Effect> {
    update(state, Msg::Action(action))
}

/// Answers the refresh in flight with figures for whatever it asked.
fn answer(state: &mut owner_tui::app::State, effects: &[Effect], unique: i64) {
    for e in effects {
        if let Effect::Refresh {
            id,
            filter,
            min_purchases,
            bucket,
            ..
        } = e
        {
            let mut d = dashboard(unique, 10);
            d.filter = filter.clone();
            d.min_purchases = *min_purchases;
            update(
                state,
                Msg::Refreshed {
                    id: *id,
                    result: Ok(Box::new(Snapshot {
                        dashboard: d,
                        trend: Vec::new(),
                        bucket: *bucket,
                        standby: None,
                        insights: None,
                    })),
                },
            );
        }
    }
}

fn only_refresh(effects: &[Effect]) -> (Filter, i32) {
    let refreshes: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Refresh {
                filter,
                min_purchases,
                ..
            } => Some((filter.clone(), *min_purchases)),
            _ => None,
        })
        .collect();
    assert_eq!(refreshes.len(), 1, "expected one refresh in {effects:?}");
    refreshes[0].clone()
}

#[test]
fn threshold_changes_live_and_never_goes_below_one() {
    let mut state = connected_state(dashboard(100, 10));
    // The first refresh started at 1 s; the next may start 250 ms later.
    let mut t = 1_300;
    tick(&mut state, t);
    let effects = act(&mut state, Action::MoreMinPurchases);
    assert_eq!(state.min_purchases, 4);
    assert_eq!(only_refresh(&effects).1, 4);
    answer(&mut state, &effects, 100);

    for expected in [3, 2, 1] {
        t += 300;
        tick(&mut state, t);
        let effects = act(&mut state, Action::LessMinPurchases);
        assert_eq!(state.min_purchases, expected);
        assert_eq!(only_refresh(&effects).1, expected);
        answer(&mut state, &effects, 100);
    }
    t += 300;
    tick(&mut state, t);
    let effects = act(&mut state, Action::LessMinPurchases);
    assert_eq!(state.min_purchases, 1, "the floor is 1");
    assert!(refresh_ids(&effects).is_empty(), "no query for no change");
    assert!(state.message == Some(Message::AtLeastOnePurchase));
}

#[test]
fn branch_and_period_filters_cycle_and_query_with_the_right_filter() {
    let mut state = connected_state(dashboard(100, 10));
    update(
        &mut state,
        Msg::Branches(Ok(vec![("SMKT001".into(), None), ("SMKT002".into(), None)])),
    );
    let mut t = 1_000;
    let mut step = |state: &mut owner_tui::app::State, action: Action| {
        t += 300;
        tick(state, t);
        let effects = act(state, action);
        let filter = only_refresh(&effects).0;
        answer(state, &effects, 50);
        filter
    };
    assert_eq!(
        step(&mut state, Action::CycleBranch)
            .supermarket_id
            .as_deref(),
        Some("SMKT001")
    );
    assert_eq!(
        step(&mut state, Action::CycleBranch)
            .supermarket_id
            .as_deref(),
        Some("SMKT002")
    );
    assert_eq!(step(&mut state, Action::CycleBranch).supermarket_id, None);

    // `p` goes round the presets (issue 16 added yesterday and this month).
    let periods: Vec<Period> = (0..6)
        .map(|_| step(&mut state, Action::CyclePeriod).period)
        .collect();
    assert_eq!(
        periods,
        [
            Period::Today,
            Period::Yesterday,
            Period::Last7Days,
            Period::Last30Days,
            Period::ThisMonth,
            Period::AllTime
        ]
    );
    // The figures on screen are those of the selection.
    assert_eq!(state.shown.as_ref().unwrap().dashboard.filter, state.filter);
}

#[test]
fn a_branch_with_its_own_time_zone_is_seen_in_its_days() {
    use store_core::domain::time_zone::Tz;
    let mut state = connected_state(dashboard(100, 10));
    state.settings.zone = Tz::Europe__Paris;
    update(
        &mut state,
        Msg::Branches(Ok(vec![
            ("SMKT001".into(), None),
            ("SMKT002".into(), Some(Tz::Asia__Tokyo)),
        ])),
    );
    let mut zones = Vec::new();
    for t in [1_300, 1_600, 1_900] {
        tick(&mut state, t);
        let effects = act(&mut state, Action::CycleBranch);
        let filter = only_refresh(&effects).0;
        zones.push((filter.supermarket_id.clone(), filter.zone));
        answer(&mut state, &effects, 50);
    }
    assert_eq!(
        zones,
        [
            (Some("SMKT001".into()), Tz::Europe__Paris),
            (Some("SMKT002".into()), Tz::Asia__Tokyo),
            (None, Tz::Europe__Paris),
        ]
    );
}

#[test]
fn a_filter_change_asks_for_hours_when_the_period_is_a_day() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 2_000);
    let effects = act(&mut state, Action::CyclePeriod);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Refresh { bucket: TrendBucket::Hour, filter, .. } if filter.period == Period::Today))
    );
}

#[test]
fn frozen_figures_do_not_change_until_unfrozen() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 2_000);
    let effects = act(&mut state, Action::Refresh);
    let id = refresh_ids(&effects)[0];
    act(&mut state, Action::Freeze);
    assert!(state.is_frozen());
    // The answer of the refresh that was in flight arrives while frozen.
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: dashboard(222, 10),
                trend: Vec::new(),
                bucket: TrendBucket::Day,
                standby: None,
                insights: None,
            })),
        },
    );
    assert_eq!(state.shown.as_ref().unwrap().dashboard.unique_buyers, 100);
    // Sales and the timer start no query while frozen.
    let mut effects = update(
        &mut state,
        Msg::Notice {
            channel: "icash_purchase".into(),
        },
    );
    effects.extend(tick(&mut state, 70_000));
    assert!(refresh_ids(&effects).is_empty(), "{effects:?}");
    assert_eq!(state.shown.as_ref().unwrap().dashboard.unique_buyers, 100);
    // Changing the selection is refused rather than silently changing the figures.
    assert!(refresh_ids(&act(&mut state, Action::CycleBranch)).is_empty());

    let effects = act(&mut state, Action::Freeze);
    assert!(!state.is_frozen());
    assert_eq!(state.shown.as_ref().unwrap().dashboard.unique_buyers, 222);
    assert_eq!(
        refresh_ids(&effects).len(),
        1,
        "catches up after unfreezing"
    );
}

#[test]
fn a_failed_refresh_keeps_the_figures_marks_them_stale_and_retries() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 2_000);
    let effects = act(&mut state, Action::Refresh);
    let id = refresh_ids(&effects)[0];
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Err("database error: connection refused".into()),
        },
    );
    assert_eq!(state.shown.as_ref().unwrap().dashboard.unique_buyers, 100);
    assert!(state.stale.is_some());
    // It tries again by itself, and a success clears the mark.
    let effects = tick(&mut state, 4_000);
    assert_eq!(refresh_ids(&effects).len(), 1);
    answer(&mut state, &effects, 101);
    assert!(state.stale.is_none());
    assert_eq!(state.shown.as_ref().unwrap().dashboard.unique_buyers, 101);
}

#[test]
fn a_burst_of_notices_makes_one_query_in_flight_and_one_trailing_refresh() {
    let mut state = connected_state(dashboard(100, 10));
    let mut t = 5_000;
    tick(&mut state, t);
    let mut effects = Vec::new();
    for _ in 0..10 {
        t += 10;
        tick(&mut state, t);
        effects.extend(update(
            &mut state,
            Msg::Notice {
                channel: "icash_purchase".into(),
            },
        ));
    }
    let first = refresh_ids(&effects);
    assert_eq!(first.len(), 1, "one query for the burst: {effects:?}");
    let last_notice = t;
    answer(&mut state, &effects, 101);

    let mut later = Vec::new();
    while t < last_notice + 3_000 {
        t += 50;
        let effects = tick(&mut state, t);
        if !refresh_ids(&effects).is_empty() {
            later.push(t);
            answer(&mut state, &effects, 102);
        }
    }
    assert_eq!(later.len(), 1, "exactly one trailing refresh: {later:?}");
    assert!(
        later[0] >= last_notice + 300 && later[0] <= last_notice + 600,
        "trailing refresh at +{} ms",
        later[0] - last_notice
    );
}

#[test]
fn no_second_query_while_one_is_in_flight() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 5_000);
    let effects = act(&mut state, Action::Refresh);
    assert_eq!(refresh_ids(&effects).len(), 1);
    // Whatever happens meanwhile, nothing more is asked until the answer is back.
    let mut more = Vec::new();
    for i in 1..40 {
        more.extend(update(
            &mut state,
            Msg::Notice {
                channel: "icash_purchase".into(),
            },
        ));
        more.extend(act(&mut state, Action::Refresh));
        more.extend(tick(&mut state, 5_000 + i * 100));
    }
    assert!(refresh_ids(&more).is_empty(), "{more:?}");
}

#[test]
fn scrolling_the_loyal_list_fetches_pages_from_the_database() {
    let mut state = connected_state(dashboard(1_000, 500));
    update(
        &mut state,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    let visible = state.loyal_visible();
    assert!(visible > 3, "the table shows rows at 80x24");

    let mut fetched = Vec::new();
    for _ in 0..(LOYAL_PAGE / visible + 2) {
        for e in act(&mut state, Action::PageDown) {
            if let Effect::LoadLoyalPage { offset, limit, .. } = e {
                fetched.push((offset, limit));
            }
        }
    }
    assert_eq!(fetched, vec![(LOYAL_PAGE as i64, LOYAL_PAGE as i64)]);

    let effects = act(&mut state, Action::Bottom);
    let (generation, page, offset) = effects
        .iter()
        .find_map(|e| match e {
            Effect::LoadLoyalPage {
                generation,
                page,
                offset,
                ..
            } => Some((*generation, *page, *offset)),
            _ => None,
        })
        .expect("the last page is fetched");
    assert_eq!(offset, 450);
    assert_eq!(state.loyal.top, 500 - visible);
    assert!(state.loyal_row(499).is_none());
    let rows: Vec<LoyalBuyer> = (450..500)
        .map(|i| LoyalBuyer {
            user_id: user(i),
            purchases: 3,
        })
        .collect();
    update(
        &mut state,
        Msg::LoyalPage {
            generation,
            page,
            result: Ok(rows),
        },
    );
    assert_eq!(state.loyal_row(499).unwrap().user_id, user(499));
    // Far-away pages are not kept: memory stays small however long the list.
    assert!(
        state.loyal.pages.len() <= 5,
        "{:?}",
        state.loyal.pages.keys()
    );
}

#[test]
fn the_listening_notice_refreshes_and_ends_the_reconnecting_mark() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 5_000);
    let effects = update(
        &mut state,
        Msg::ListenerLost {
            error: "connection reset".into(),
        },
    );
    // Whether the database itself is gone is checked at once.
    let lost = refresh_ids(&effects);
    assert_eq!(lost.len(), 1, "{effects:?}");
    answer(&mut state, &effects, 100);
    // A refresh that works does not mean the listener is back.
    assert!(state.listener_error.is_some());

    // The listener is back: sales made meanwhile were not announced, so one refresh follows.
    let mut t = 5_050;
    tick(&mut state, t);
    let mut effects = update(
        &mut state,
        Msg::Notice {
            channel: store_core::db::live::LISTENING.into(),
        },
    );
    assert!(state.listener_error.is_none());
    // The refresh may wait for the minimum gap since the last one, but it comes by itself.
    while refresh_ids(&effects).is_empty() && t < 7_000 {
        t += 100;
        effects = tick(&mut state, t);
    }
    assert_eq!(refresh_ids(&effects).len(), 1, "no refresh after LISTENING");
    answer(&mut state, &effects, 105);
    assert_eq!(state.shown.as_ref().unwrap().dashboard.unique_buyers, 105);
    // And nothing more on a timer: no guessed second refresh.
    let mut more = Vec::new();
    while t < 20_000 {
        t += 100;
        more.extend(tick(&mut state, t));
    }
    assert!(refresh_ids(&more).is_empty(), "{more:?}");
}

#[test]
fn the_listening_notice_during_a_refresh_asks_for_one_more() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 5_000);
    let effects = act(&mut state, Action::Refresh);
    assert_eq!(refresh_ids(&effects).len(), 1);
    // LISTEN comes into place while that query runs: it may have missed a sale.
    let during = update(
        &mut state,
        Msg::Notice {
            channel: store_core::db::live::LISTENING.into(),
        },
    );
    assert!(refresh_ids(&during).is_empty(), "one query at a time");
    answer(&mut state, &effects, 100);
    let mut t = 5_000;
    let mut next = Vec::new();
    while refresh_ids(&next).is_empty() && t < 7_000 {
        t += 100;
        next = tick(&mut state, t);
    }
    assert_eq!(refresh_ids(&next).len(), 1, "the missed sale is caught");
}

#[test]
fn the_at_least_one_message_goes_when_the_threshold_rises_again() {
    let mut dashboard_at_one = dashboard(100, 10);
    dashboard_at_one.min_purchases = 1;
    let mut state = connected_state(dashboard_at_one);
    tick(&mut state, 2_000);
    act(&mut state, Action::LessMinPurchases);
    assert_eq!(state.message, Some(Message::AtLeastOnePurchase));
    // Other things happening keep it while it is true.
    tick(&mut state, 2_100);
    assert_eq!(state.message, Some(Message::AtLeastOnePurchase));
    act(&mut state, Action::MoreMinPurchases);
    assert_eq!(state.min_purchases, 2);
    assert_eq!(state.message, None, "no longer at the floor");
}

#[test]
fn the_unfreeze_first_message_goes_when_unfrozen() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 2_000);
    act(&mut state, Action::Freeze);
    act(&mut state, Action::CyclePeriod);
    assert_eq!(state.message, Some(Message::UnfreezeFirst));
    act(&mut state, Action::Freeze);
    assert!(!state.is_frozen());
    assert_eq!(state.message, None);
}

#[test]
fn nothing_to_export_goes_when_the_figures_arrive() {
    let mut state = owner_tui::app::State::new(settings(), 3);
    tick(&mut state, 1_000);
    act(&mut state, Action::Export);
    assert_eq!(state.message, Some(Message::NothingToExport));
    let effects = update(
        &mut state,
        Msg::Connected {
            description: "test".into(),
        },
    );
    assert_eq!(state.message, Some(Message::NothingToExport), "still none");
    answer(&mut state, &effects, 100);
    assert!(state.shown.is_some());
    assert_eq!(state.message, None);
}

#[test]
fn an_export_result_stays_until_something_replaces_it() {
    let mut state = connected_state(dashboard(100, 10));
    act(&mut state, Action::Export);
    assert_eq!(state.message, Some(Message::Exporting));
    update(&mut state, Msg::Exported(Err("disk full".into())));
    assert_eq!(
        state.message,
        Some(Message::ExportFailed("disk full".into()))
    );
    tick(&mut state, 90_000);
    assert!(state.message.is_some(), "a result is still true later");
}

#[test]
fn a_help_that_fits_closes_on_any_key_as_before() {
    let mut state = connected_state(dashboard(100, 10));
    act(&mut state, Action::Help);
    assert!(state.help.is_some());
    act(&mut state, Action::ScrollDown);
    assert!(
        state.help.is_none(),
        "at 80x24 the help fits: arrows close it"
    );
    assert_eq!(state.loyal.top, 0, "and do not scroll the list meanwhile");
}

#[test]
fn a_help_too_tall_scrolls_and_stays_within_its_lines() {
    let mut state = connected_state(dashboard(100, 10));
    update(
        &mut state,
        Msg::Resize {
            width: 60,
            height: 10,
        },
    );
    act(&mut state, Action::Help);
    let max = owner_tui::view::help_max_scroll(&state);
    assert!(max > 0, "the help does not fit in 10 rows");
    act(&mut state, Action::Bottom);
    act(&mut state, Action::ScrollDown);
    act(&mut state, Action::PageDown);
    assert_eq!(state.help.map(|h| h.scroll), Some(max));
    // A taller terminal: the scroll shrinks with what is left to show.
    update(
        &mut state,
        Msg::Resize {
            width: 60,
            height: 30,
        },
    );
    assert_eq!(state.help.map(|h| h.scroll), Some(0));
    act(&mut state, Action::Quit);
}

#[test]
fn the_screen_is_redrawn_only_when_something_drawn_changed() {
    let mut state = connected_state(dashboard(100, 10));
    tick(&mut state, 2_000);
    state.take_dirty();
    // The clock alone changes nothing drawn.
    tick(&mut state, 2_100);
    assert!(!state.take_dirty());
    // Nor a notice that only schedules a refresh.
    update(
        &mut state,
        Msg::Notice {
            channel: "icash_purchase".into(),
        },
    );
    assert!(state.in_flight().is_some());
    assert!(!state.take_dirty());
    // The answer with other figures is drawn.
    let id = state.in_flight().unwrap();
    update(
        &mut state,
        Msg::Refreshed {
            id,
            result: Ok(Box::new(Snapshot {
                dashboard: dashboard(101, 10),
                trend: Vec::new(),
                bucket: TrendBucket::Day,
                standby: None,
                insights: None,
            })),
        },
    );
    assert!(state.take_dirty());
    assert!(!state.take_dirty(), "once");
    // A key that changes nothing (Esc with no overlay) draws nothing.
    act(&mut state, Action::CloseOverlay);
    assert!(!state.take_dirty());
    act(&mut state, Action::Help);
    assert!(state.take_dirty());
}
