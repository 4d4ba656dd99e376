//! `store-core report shift`: a till's shift reports from the shell, for a day in the chain's
//! time zone (today by default): each shift's sales, revenue by payment method, cash expected,
//! voids, refunds, receipt numbers and time span; a closed shift's figures as stored at its Z.

use chrono::{NaiveDate, Utc};
use icash_cli::args::{DatabaseArgs, ZoneArgs};

use store_core::domain::input;
use store_core::domain::shift::{self, ShiftReport};
use store_core::domain::time_zone::{self, Tz};

use super::catalog::connect;

#[derive(clap::Subcommand, Debug)]
pub enum ReportAction {
    /// A till's shifts that were open on a day (today by default), with their figures: X for
    /// an open shift, Z (as stored when it closed) for a closed one. Reads only: as the tills'
    /// role (icash_clerk), the owner's (icash_owner) or an administrator.
    Shift {
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        zone: ZoneArgs,
        /// The till's id, as pos-tui's --till.
        #[arg(long, value_name = "ID")]
        till: String,
        /// The day, YYYY-MM-DD in the chain's time zone. Default: today.
        #[arg(long, value_name = "DATE")]
        date: Option<NaiveDate>,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl ReportAction {
    pub fn database_url(&mut self) -> &mut Option<String> {
        match self {
            ReportAction::Shift { database, .. } => &mut database.database_url,
        }
    }

    pub fn zone(&mut self) -> &mut ZoneArgs {
        match self {
            ReportAction::Shift { zone, .. } => zone,
        }
    }
}

pub async fn run(action: ReportAction) -> anyhow::Result<()> {
    match action {
        ReportAction::Shift {
            database,
            zone,
            till,
            date,
            json,
        } => {
            input::branch_id(&till).map_err(|e| {
                anyhow::anyhow!("--till: {e} (a till id follows the branch id rule)")
            })?;
            let zone = match zone.timezone.as_deref() {
                Some(name) => time_zone::parse(name).map_err(anyhow::Error::msg)?,
                None => time_zone::machine_zone(),
            };
            let day = date.unwrap_or_else(|| Utc::now().with_timezone(&zone).date_naive());
            let store = connect(database, "report").await?;
            let reports = shift::shifts_on(&store.client().await?, &till, day, zone)
                .await
                .map_err(explain_privilege)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
                return Ok(());
            }
            if reports.is_empty() {
                println!("till {till}: no shift on {day}");
            }
            for report in &reports {
                print!("{}", shift_text(report, zone));
            }
        }
    }
    Ok(())
}

/// Refused for lack of privilege: says which role reads shift reports.
fn explain_privilege(e: store_core::Error) -> anyhow::Error {
    let denied = matches!(&e, store_core::Error::Db(db)
        if db.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE));
    let e = anyhow::Error::from(e);
    if denied {
        e.context(
            "shift reports are read as the tills' role (icash_clerk), the owner's \
             (icash_owner) or an administrator",
        )
    } else {
        e
    }
}

/// One shift as the shell shows it.
fn shift_text(r: &ShiftReport, zone: Tz) -> String {
    let at = |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
    let mut out = String::new();
    let state = match (r.closed_at, r.closed_by) {
        (Some(closed), Some(by)) => format!("Z, closed {} by cashier {by}", at(closed)),
        (Some(closed), None) => format!("Z, closed {}", at(closed)),
        (None, _) => "X, open".to_string(),
    };
    out.push_str(&format!(
        "till {} shift {} ({state}), opened {}\n",
        r.till,
        r.shift_id,
        at(r.opened_at)
    ));
    out.push_str(&format!(
        "  sales          {:>6} {:>12}\n",
        r.sales, r.revenue
    ));
    for (method, count, amount) in &r.by_method {
        let name = method.map_or("no payment", |m| m.as_str());
        out.push_str(&format!("    {name:<12} {count:>6} {amount:>12}\n"));
    }
    out.push_str(&format!(
        "  voids          {:>6} {:>12}\n",
        r.voids, r.voided
    ));
    out.push_str(&format!(
        "  refunds        {:>6} {:>12}\n",
        r.refunds, r.refunded
    ));
    out.push_str(&format!("  net                   {:>12}\n", r.net));
    out.push_str(&format!(
        "  cash expected         {:>12}\n",
        r.cash_expected
    ));
    if let (Some(first), Some(last)) = (r.first_receipt_no, r.last_receipt_no) {
        out.push_str(&format!(
            "  receipts       {} to {}\n",
            store_core::domain::checkout::receipt_number(&r.till, first),
            store_core::domain::checkout::receipt_number(&r.till, last)
        ));
    }
    if let (Some(first), Some(last)) = (r.first_sale_at, r.last_sale_at) {
        out.push_str(&format!("  sales from     {} to {}\n", at(first), at(last)));
    }
    out
}
