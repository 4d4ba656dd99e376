//! Runs the state machine's effects as tokio tasks; each answers with a `Msg` on the channel.
//! Nothing here is awaited by the input/render loop.

use std::io::Write;
use std::path::{Path, PathBuf};

use store_core::Store;
use store_core::analytics::{self, Filter, Period, TopProduct};
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Effect, ExportDone, ExportRequest, Msg, Snapshot};
use crate::view::rank_label;

/// Starts `effect` in the background. `Effect::Quit` is the caller's business.
pub fn spawn(store: &Store, effect: Effect, tx: &UnboundedSender<Msg>) {
    let store = store.clone();
    let tx = tx.clone();
    tokio::spawn(async move {
        let msg = match effect {
            Effect::Refresh {
                id,
                filter,
                min_purchases,
                page_size,
                bucket,
            } => {
                let result = async {
                    let client = store.client().await?;
                    let dashboard =
                        analytics::dashboard(&client, &filter, min_purchases, page_size).await?;
                    let trend = analytics::trend(&client, &filter, bucket).await?;
                    Ok::<_, store_core::Error>(Box::new(Snapshot {
                        dashboard,
                        trend,
                        bucket,
                    }))
                }
                .await
                .map_err(|e| {
                    tracing::warn!("refresh failed: {e}");
                    e.to_string()
                });
                Msg::Refreshed { id, result }
            }
            Effect::LoadLoyalPage {
                generation,
                page,
                filter,
                min_purchases,
                offset,
                limit,
            } => {
                let result = async {
                    let client = store.client().await?;
                    analytics::loyal_buyers_page(&client, &filter, min_purchases, offset, limit)
                        .await
                }
                .await
                .map_err(|e| {
                    tracing::warn!("loyal page failed: {e}");
                    e.to_string()
                });
                Msg::LoyalPage {
                    generation,
                    page,
                    result,
                }
            }
            Effect::LoadBranches => {
                let result = async {
                    let client = store.client().await?;
                    let catalog = store_core::catalog::load_catalog(&client).await?;
                    Ok::<_, store_core::Error>(catalog.branches.into_iter().map(|b| b.id).collect())
                }
                .await
                .map_err(|e| e.to_string());
                Msg::Branches(result)
            }
            Effect::Export(request) => {
                let result = export(&store, &request).await;
                if let Err(e) = &result {
                    tracing::warn!("export failed: {e}");
                }
                Msg::Exported(result)
            }
            Effect::Quit => return,
        };
        let _ = tx.send(msg);
    });
}

fn period_slug(period: Period) -> &'static str {
    match period {
        Period::AllTime => "all-time",
        Period::Today => "today",
        Period::Last7Days => "7-days",
        Period::Last30Days => "30-days",
    }
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
    let mut out = store_core::export::SpreadsheetCsv::new(Vec::new());
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
    let mut out = store_core::export::SpreadsheetCsv::new(std::io::BufWriter::new(file));
    out.write_row(["position", "user_id", "purchases"])
        .map_err(|e| e.to_string())?;
    let client = store.client().await.map_err(|e| e.to_string())?;
    let mut position = 0u64;
    let written = analytics::each_loyal_buyer(&client, filter, min_purchases, |b| {
        position += 1;
        out.write_row([
            position.to_string(),
            b.user_id.to_string(),
            b.purchases.to_string(),
        ])
    })
    .await
    .map_err(|e| e.to_string())?;
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
