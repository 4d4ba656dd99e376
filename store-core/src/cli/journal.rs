//! `store-core journal`: a till's journal from the shell, while no till holds it. Lists what
//! it holds, sends the pending sales (and refused ones a person chose, after fixing what was
//! refused), and exports every entry for the office.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use serde::Serialize;
use uuid::Uuid;

use store_core::db::store::ConnectOptions;
use store_core::domain::checkout::Sale;
use store_core::till::journal::{
    Entry, Journal, RefusedSale, SetAsideSale, drain, quarantine_path,
};

#[derive(clap::Subcommand, Debug)]
pub enum JournalAction {
    /// What the journal holds: sales waiting to be sent, refused sales, sales set aside.
    List {
        /// The till's journal file.
        #[arg(long, value_name = "PATH")]
        journal: PathBuf,
        /// Print what it holds as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send the pending sales now, and the refused sales chosen with --sale (each with its
    /// original key and time), e.g. after a product was added back.
    Resend {
        #[command(flatten)]
        database: icash_cli::args::DatabaseArgs,
        /// The till's journal file.
        #[arg(long, value_name = "PATH")]
        journal: PathBuf,
        /// A refused sale to send again (repeatable).
        #[arg(long = "sale", value_name = "SALE_KEY")]
        sales: Vec<Uuid>,
        /// Send every refused sale again.
        #[arg(long, conflicts_with = "sales")]
        all_refused: bool,
        /// Print what was sent as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every entry of the journal, oldest first: CSV, or JSON lines with --json.
    Export {
        /// The till's journal file.
        #[arg(long, value_name = "PATH")]
        journal: PathBuf,
        /// JSON lines instead of CSV.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(action: JournalAction) -> anyhow::Result<()> {
    match action {
        JournalAction::List { journal, json } => list(&open_existing(&journal)?, json),
        JournalAction::Resend {
            database,
            journal,
            sales,
            all_refused,
            json,
        } => {
            resend(
                open_existing(&journal)?,
                sales,
                all_refused,
                json,
                database.database_url,
            )
            .await
        }
        JournalAction::Export { journal, json } => export(&open_existing(&journal)?, json),
    }
}

/// Opens the journal at `path`, which must exist (a mistyped path is not a new, empty journal).
fn open_existing(path: &Path) -> anyhow::Result<Journal> {
    if !path.exists() {
        bail!("{}: no such journal", path.display());
    }
    let journal = Journal::open(path)?;
    if let Some(repair) = journal.repair() {
        eprintln!("warning: {}", repair.warning());
    }
    Ok(journal)
}

#[derive(Serialize)]
struct Listing<'a> {
    journal: &'a Path,
    pending: Vec<Sale>,
    refused: &'a [RefusedSale],
    set_aside: &'a [SetAsideSale],
    /// The quarantine file beside the journal, if there is one (unreadable lines moved out).
    quarantine: Option<PathBuf>,
}

fn list(journal: &Journal, json: bool) -> anyhow::Result<()> {
    let quarantine = Some(quarantine_path(journal.path())).filter(|p| p.exists());
    let listing = Listing {
        journal: journal.path(),
        pending: journal.pending(),
        refused: journal.refused(),
        set_aside: journal.set_aside_sales(),
        quarantine,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    println!("journal {}", listing.journal.display());
    println!("pending: {}", listing.pending.len());
    for sale in &listing.pending {
        println!("  {}", describe(sale));
    }
    println!("refused: {}", listing.refused.len());
    for r in listing.refused {
        println!("  {}\n    refused: {}", describe(&r.sale), r.reason);
    }
    println!("set aside: {}", listing.set_aside.len());
    for s in listing.set_aside {
        println!(
            "  {}\n    refused: {}\n    set aside {}: {}",
            describe(&s.sale),
            s.refusal,
            s.at.format("%Y-%m-%d %H:%M:%S UTC"),
            s.reason
        );
    }
    if let Some(path) = &listing.quarantine {
        println!(
            "quarantine: {} (unreadable lines moved out of the journal)",
            path.display()
        );
    }
    Ok(())
}

fn describe(sale: &Sale) -> String {
    let products: Vec<String> = sale.product_ids.iter().map(i32::to_string).collect();
    format!(
        "sale {}  {}  {}  customer {}{}  products {}  till total {}",
        sale.sale_key,
        sale.sold_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| "-".into()),
        sale.supermarket_id,
        sale.customer.user_id(),
        if sale.customer.is_new() { " (new)" } else { "" },
        products.join(","),
        sale.expected_total
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".into()),
    )
}

#[derive(Serialize)]
struct ResendReport {
    resent: Vec<Uuid>,
    sent: usize,
    refused: usize,
    still_pending: usize,
    /// Why sending stopped early (the sales not sent stay pending).
    stopped: Option<String>,
}

async fn resend(
    mut journal: Journal,
    chosen: Vec<Uuid>,
    all_refused: bool,
    json: bool,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    let chosen: Vec<Uuid> = if all_refused {
        journal.refused().iter().map(|r| r.sale.sale_key).collect()
    } else {
        chosen
    };
    // Every key is checked before anything is written.
    let refused: Vec<Uuid> = journal.refused().iter().map(|r| r.sale.sale_key).collect();
    if let Some(unknown) = chosen.iter().find(|k| !refused.contains(k)) {
        bail!(
            "{}: sale {unknown} is not among the refused sales (see `store-core journal list`)",
            journal.path().display()
        );
    }
    // Connected before anything is written: an unreachable database changes nothing.
    let store = store_core::startup::open(&ConnectOptions {
        database_url,
        application_name: "store-core journal".into(),
        ..ConnectOptions::default()
    })
    .await?;
    for key in &chosen {
        journal.resend(*key)?;
    }
    let journal = Arc::new(Mutex::new(journal));
    let report = drain(&store, &journal).await?;
    let summary = ResendReport {
        resent: chosen,
        sent: report.sent,
        refused: report.refused,
        still_pending: report.still_pending,
        stopped: report.stopped.as_ref().map(ToString::to_string),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "sent {}, refused {}, still pending {}",
            summary.sent, summary.refused, summary.still_pending
        );
    }
    if let Some(reason) = &summary.stopped {
        bail!(
            "{} sale(s) still pending, not sent: {reason}",
            summary.still_pending
        );
    }
    if summary.refused > 0 {
        bail!(
            "{} sale(s) refused: see `store-core journal list`",
            summary.refused
        );
    }
    Ok(())
}

const EXPORT_COLUMNS: [&str; 12] = [
    "line",
    "op",
    "sale_key",
    "supermarket_id",
    "user_id",
    "new_customer",
    "product_ids",
    "till_total",
    "sold_at",
    "purchase_id",
    "reason",
    "at",
];

/// One journal entry as a CSV row (columns: `EXPORT_COLUMNS`); columns that do not apply to the
/// entry are empty.
#[derive(Serialize)]
struct ExportRow {
    line: u64,
    op: &'static str,
    sale_key: Uuid,
    supermarket_id: Option<String>,
    user_id: Option<Uuid>,
    new_customer: Option<bool>,
    /// Space-separated.
    product_ids: Option<String>,
    till_total: Option<String>,
    sold_at: Option<String>,
    purchase_id: Option<i64>,
    reason: Option<String>,
    /// When the refusal, resend or setting aside was written.
    at: Option<String>,
}

impl ExportRow {
    fn of(line: u64, entry: &Entry) -> ExportRow {
        let mut row = ExportRow {
            line,
            op: entry.op(),
            sale_key: entry.sale_key(),
            supermarket_id: None,
            user_id: None,
            new_customer: None,
            product_ids: None,
            till_total: None,
            sold_at: None,
            purchase_id: None,
            reason: None,
            at: None,
        };
        match entry {
            Entry::Sale { sale } => {
                let products: Vec<String> = sale.product_ids.iter().map(i32::to_string).collect();
                row.supermarket_id = Some(sale.supermarket_id.clone());
                row.user_id = Some(sale.customer.user_id());
                row.new_customer = Some(sale.customer.is_new());
                row.product_ids = Some(products.join(" "));
                row.till_total = sale.expected_total.map(|t| t.to_string());
                row.sold_at = sale.sold_at.map(|t| t.to_rfc3339());
            }
            Entry::Done { purchase_id, .. } => row.purchase_id = Some(*purchase_id),
            Entry::Cancelled { .. } => {}
            Entry::Refused { reason, at, .. } => {
                row.reason = Some(reason.clone());
                row.at = at.map(|t| t.to_rfc3339());
            }
            Entry::Resent { at, .. } => row.at = Some(at.to_rfc3339()),
            Entry::SetAside { reason, at, .. } => {
                row.reason = Some(reason.clone());
                row.at = Some(at.to_rfc3339());
            }
        }
        row
    }
}

fn export(journal: &Journal, json: bool) -> anyhow::Result<()> {
    let entries = journal.read_entries()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for (_, entry) in &entries {
            out.write_all(&entry.line())?;
        }
    } else {
        let mut csv = csv::Writer::from_writer(&mut out);
        if entries.is_empty() {
            // (Serialising the first row writes the header; an empty journal has none.)
            csv.write_record(EXPORT_COLUMNS)?;
        }
        for (line, entry) in &entries {
            csv.serialize(ExportRow::of(*line, entry))
                .context("writing the CSV")?;
        }
        csv.flush()?;
    }
    out.flush()?;
    Ok(())
}
