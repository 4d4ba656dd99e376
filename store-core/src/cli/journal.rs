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
use store_core::domain::checkout::{Sale, receipt_number};
use store_core::domain::export::SpreadsheetCsv;
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
    let receipt = match (&sale.till, sale.receipt_no) {
        (Some(till), Some(n)) => format!("  receipt {}", receipt_number(till, n)),
        _ => String::new(),
    };
    let cashier = sale
        .cashier
        .map(|c| format!("  cashier {c}"))
        .unwrap_or_default();
    format!(
        "sale {}  {}  {}  customer {}{}  products {}  till total {}{receipt}{cashier}",
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

const EXPORT_COLUMNS: [&str; 15] = [
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
    "till",
    "cashier",
    "receipt_no",
];

/// One journal entry as a CSV row (columns: `EXPORT_COLUMNS`); columns that do not apply to the
/// entry are empty. Product ids are space-separated; `at` is when the refusal, resend or setting
/// aside was written; a `receipt_numbers` entry fills `till` and `receipt_no` (the counter).
fn export_row(line: u64, entry: &Entry) -> [String; 15] {
    let mut row: [String; 15] = Default::default();
    row[0] = line.to_string();
    row[1] = entry.op().to_string();
    row[2] = entry.sale_key().map(|k| k.to_string()).unwrap_or_default();
    let rfc3339 = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339();
    match entry {
        Entry::Sale { sale } => {
            let products: Vec<String> = sale.product_ids.iter().map(i32::to_string).collect();
            row[3] = sale.supermarket_id.clone();
            row[4] = sale.customer.user_id().to_string();
            row[5] = sale.customer.is_new().to_string();
            row[6] = products.join(" ");
            row[7] = sale
                .expected_total
                .map(|t| t.to_string())
                .unwrap_or_default();
            row[8] = sale.sold_at.as_ref().map(rfc3339).unwrap_or_default();
            row[12] = sale.till.clone().unwrap_or_default();
            row[13] = sale.cashier.map(|c| c.to_string()).unwrap_or_default();
            row[14] = sale.receipt_no.map(|n| n.to_string()).unwrap_or_default();
        }
        Entry::Done { purchase_id, .. } => row[9] = purchase_id.to_string(),
        Entry::Cancelled { .. } => {}
        Entry::ReceiptNumbers { till, last } => {
            row[12] = till.clone();
            row[14] = last.to_string();
        }
        Entry::Refused { reason, at, .. } => {
            row[10] = reason.clone();
            row[11] = at.as_ref().map(rfc3339).unwrap_or_default();
        }
        Entry::Resent { at, .. } => row[11] = rfc3339(at),
        Entry::SetAside { reason, at, .. } => {
            row[10] = reason.clone();
            row[11] = rfc3339(at);
        }
    }
    row
}

/// Every entry as CSV for the office, through the spreadsheet-safe writer: a refusal or
/// set-aside reason that starts like a formula is shown as text.
fn write_csv(entries: &[(u64, Entry)], out: impl Write) -> std::io::Result<()> {
    let mut csv = SpreadsheetCsv::new(out);
    csv.write_row(EXPORT_COLUMNS)?;
    for (line, entry) in entries {
        csv.write_row(export_row(*line, entry))?;
    }
    csv.finish()?;
    Ok(())
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
        write_csv(&entries, &mut out).context("writing the CSV")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_that_starts_like_a_formula_is_exported_as_text() {
        let entry = Entry::SetAside {
            sale_key: Uuid::nil(),
            reason: "=HYPERLINK(\"http://evil.example\")".into(),
            at: chrono::DateTime::UNIX_EPOCH,
        };
        let mut out = Vec::new();
        write_csv(&[(7, entry)], &mut out).unwrap();
        let mut csv = csv::Reader::from_reader(&out[..]);
        assert_eq!(csv.headers().unwrap(), EXPORT_COLUMNS.as_slice());
        let row = csv.records().next().unwrap().unwrap();
        assert_eq!(&row[0], "7");
        assert_eq!(&row[1], "set_aside");
        assert_eq!(&row[10], "'=HYPERLINK(\"http://evil.example\")");
    }

    #[test]
    fn a_sale_at_a_till_exports_its_till_cashier_and_number() {
        let mut sale = Sale::open(
            "SMKT001",
            store_core::domain::checkout::CustomerChoice::New(Uuid::nil()),
        )
        .at_till("T03", Some(7));
        sale.receipt_no = Some(124);
        let row = export_row(1, &Entry::Sale { sale: sale.clone() });
        assert_eq!(&row[12..], ["T03", "7", "124"]);
        assert!(describe(&sale).ends_with("  receipt T03-000124  cashier 7"));
        let counter = Entry::ReceiptNumbers {
            till: "T03".into(),
            last: 200,
        };
        let row = export_row(2, &counter);
        assert_eq!((&row[1][..], &row[2][..]), ("receipt_numbers", ""));
        assert_eq!(&row[12..], ["T03", "", "200"]);
    }
}
