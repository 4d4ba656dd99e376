//! Runs the state machine's effects as tokio tasks, each bounded in time; each answers with a
//! `Msg` on the channel, a timeout or a panic included (through `tui_runtime`). Nothing here is
//! awaited by the input/render loop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use store_core::Store;
use store_core::domain::analytics::{self, Filter, TopProduct};
use tokio::sync::mpsc::UnboundedSender;
use tui_runtime::{Failure, Lease, spawn_effect};

use crate::app::{Effect, ExportDone, ExportRequest, Msg, Snapshot, TableExport, TableExported};
use crate::export::period_slug;
use crate::view::rank_label;

/// Longest wait for one refresh, one page of loyal buyers or the branch list: past it the
/// figures on screen are marked STALE and the refresh is retried.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest export (it streams every loyal buyer to a file).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(120);

/// Starts `effect` in the background, bounded in time; its answer, its timeout or its panic
/// comes back as its message. `Effect::Quit` is the caller's business.
pub fn spawn(store: &Store, effect: Effect, tx: &UnboundedSender<Msg>) {
    let store = store.clone();
    match effect {
        Effect::Refresh {
            id,
            filter,
            min_purchases,
            page_size,
            bucket,
            insights,
        } => {
            spawn_effect(
                tx,
                QUERY_TIMEOUT,
                async move {
                    let client = Lease::new(store.client().await?, &store);
                    // One fold, then the figures and the chart from one snapshot.
                    let (dashboard, trend) = analytics::dashboard_with_trend(
                        &*client,
                        &filter,
                        min_purchases,
                        page_size,
                        bucket,
                    )
                    .await?;
                    let standby = analytics::standby_lag(&*client).await?;
                    // The days a preset covers are those of the instant shown.
                    let insights = if insights {
                        Some(analytics::insights(&*client, &filter, chrono::Utc::now()).await?)
                    } else {
                        None
                    };
                    client.release();
                    Ok(Box::new(Snapshot {
                        dashboard,
                        trend,
                        bucket,
                        standby,
                        insights,
                    }))
                },
                move |outcome| Msg::Refreshed {
                    id,
                    result: flatten("refresh", outcome),
                },
            );
        }
        Effect::LoadLoyalPage {
            generation,
            page,
            filter,
            min_purchases,
            offset,
            limit,
        } => {
            spawn_effect(
                tx,
                QUERY_TIMEOUT,
                async move {
                    let client = Lease::new(store.client().await?, &store);
                    let rows = analytics::loyal_buyers_page(
                        &*client,
                        &filter,
                        min_purchases,
                        offset,
                        limit,
                    )
                    .await?;
                    client.release();
                    Ok(rows)
                },
                move |outcome| Msg::LoyalPage {
                    generation,
                    page,
                    result: flatten("loyal page", outcome),
                },
            );
        }
        Effect::LoadBranches => {
            spawn_effect(
                tx,
                QUERY_TIMEOUT,
                async move {
                    let client = Lease::new(store.client().await?, &store);
                    let catalog = store_core::domain::catalog::load_catalog(&*client).await?;
                    client.release();
                    Ok(catalog
                        .branches
                        .into_iter()
                        .map(|b| (b.id, b.timezone))
                        .collect())
                },
                |outcome| Msg::Branches(flatten("branches", outcome)),
            );
        }
        Effect::Export(request) => {
            spawn_effect(
                tx,
                EXPORT_TIMEOUT,
                async move {
                    let result = export(&store, &request).await;
                    if let Err(e) = &result {
                        tracing::warn!("export failed: {e}");
                    }
                    result
                },
                |outcome| Msg::Exported(outcome.unwrap_or_else(|failure| Err(failure.to_string()))),
            );
        }
        Effect::LoadCustomer {
            request,
            user_id,
            limit,
        } => {
            spawn_effect(
                tx,
                QUERY_TIMEOUT,
                async move {
                    let client = Lease::new(store.client().await?, &store);
                    let detail = analytics::customer_detail(&*client, user_id, limit).await?;
                    client.release();
                    Ok(detail)
                },
                move |outcome| Msg::Customer {
                    request,
                    result: flatten("customer", outcome),
                },
            );
        }
        Effect::ExportTable(export) => {
            spawn_effect(
                tx,
                EXPORT_TIMEOUT,
                async move {
                    let result = write_table(&export);
                    if let Err(e) = &result {
                        tracing::warn!("export failed: {e}");
                    }
                    result
                },
                |outcome| {
                    Msg::TableExported(outcome.unwrap_or_else(|failure| Err(failure.to_string())))
                },
            );
        }
        Effect::Quit => {}
    }
}

/// `rows` as spreadsheet-safe CSV.
pub fn table_csv(rows: &[Vec<String>]) -> std::io::Result<String> {
    let mut out = store_core::domain::export::SpreadsheetCsv::new(Vec::new());
    for row in rows {
        out.write_row(row)?;
    }
    String::from_utf8(out.finish()?).map_err(std::io::Error::other)
}

fn write_table(export: &TableExport) -> Result<TableExported, String> {
    let dir = absolute(&export.dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join(&export.file_name);
    table_csv(&export.rows)
        .and_then(|csv| std::fs::write(&file, csv))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(TableExported {
        file,
        rows: export.rows.len().saturating_sub(1),
    })
}

/// The work's error, or why it gave no answer, as the text the screen shows.
fn flatten<T>(what: &str, outcome: Result<store_core::Result<T>, Failure>) -> Result<T, String> {
    let error = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(e)) => e.to_string(),
        Err(Failure::TimedOut(limit)) => {
            format!("the database gave no answer within {} s", limit.as_secs())
        }
        Err(failure) => failure.to_string(),
    };
    tracing::warn!("{what} failed: {error}");
    Err(error)
}

/// `<what>_<branch>_<period>_min<N>_<stamp>.csv`
pub fn export_file_names(request: &ExportRequest) -> (String, String) {
    let scope = format!(
        "{}_{}",
        request
            .filter
            .supermarket_id
            .as_deref()
            .unwrap_or("all-branches"),
        period_slug(request.filter.period)
    );
    (
        format!(
            "loyal-buyers_{scope}_min{}_{}.csv",
            request.min_purchases, request.stamp
        ),
        format!("top-products_{scope}_{}.csv", request.stamp),
    )
}

/// The top products as CSV (through `csv`, formula prefixes neutralised for spreadsheets).
pub fn top_products_csv(products: &[TopProduct]) -> std::io::Result<String> {
    let mut out = store_core::domain::export::SpreadsheetCsv::new(Vec::new());
    let rows = std::iter::once(["rank", "product_id", "product", "units"].map(String::from)).chain(
        products.iter().map(|p| {
            [
                rank_label(products, p),
                p.product_id.to_string(),
                p.name.clone(),
                p.units.to_string(),
            ]
        }),
    );
    for row in rows {
        out.write_row(row)?;
    }
    String::from_utf8(out.finish()?).map_err(std::io::Error::other)
}

async fn export(store: &Store, request: &ExportRequest) -> Result<ExportDone, String> {
    let dir = absolute(&request.dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (loyal_name, top_name) = export_file_names(request);
    let top_file = dir.join(top_name);
    top_products_csv(&request.top_products)
        .and_then(|csv| std::fs::write(&top_file, csv))
        .map_err(|e| format!("{}: {e}", top_file.display()))?;
    let loyal_file = dir.join(loyal_name);
    let loyal_rows = write_loyal(store, &request.filter, request.min_purchases, &loyal_file)
        .await
        .map_err(|e| format!("{}: {e}", loyal_file.display()))?;
    Ok(ExportDone {
        loyal_file,
        loyal_rows,
        top_file,
        top_rows: request.top_products.len(),
    })
}

/// Streams every loyal buyer to `path` from one query (one snapshot, so a sale landing during
/// the export cannot shift a row), so memory stays small however long the list.
async fn write_loyal(
    store: &Store,
    filter: &Filter,
    min_purchases: i32,
    path: &Path,
) -> Result<u64, String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut out = store_core::domain::export::SpreadsheetCsv::new(std::io::BufWriter::new(file));
    out.write_row(["position", "user_id", "purchases"])
        .map_err(|e| e.to_string())?;
    let client = Lease::new(store.client().await.map_err(|e| e.to_string())?, store);
    let mut position = 0u64;
    let written = analytics::each_loyal_buyer(&*client, filter, min_purchases, |b| {
        position += 1;
        out.write_row([
            position.to_string(),
            b.user_id.to_string(),
            b.purchases.to_string(),
        ])
    })
    .await
    .map_err(|e| e.to_string())?;
    client.release();
    out.finish()
        .and_then(|mut file| file.flush())
        .map_err(|e| e.to_string())?;
    Ok(written)
}

fn absolute(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    }
}
