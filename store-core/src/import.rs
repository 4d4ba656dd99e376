//! Reading the iCash CSV files (`products_list.csv`, `purchases.csv`): every row checked against
//! the input policy ([`crate::domain::input`]), every refusal as `file:line: field: message`.

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::hash::BuildHasher;
use std::io::Read;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::input;
use crate::domain::time_zone::Tz;
use crate::error::{Error, Result};

/// Where a CSV file comes from: the file system, or bytes built into the program.
#[derive(Clone, Debug)]
pub enum CsvSource {
    Path(PathBuf),
    Bytes { name: String, bytes: &'static [u8] },
}

impl CsvSource {
    pub fn name(&self) -> String {
        match self {
            CsvSource::Path(p) => p.display().to_string(),
            CsvSource::Bytes { name, .. } => name.clone(),
        }
    }

    /// The file's contents and its length in bytes.
    pub fn open(&self) -> Result<(Box<dyn Read + Send>, u64)> {
        match self {
            CsvSource::Path(p) => {
                let refuse = |message: String| Error::File {
                    path: p.display().to_string(),
                    message,
                };
                let file = File::open(p).map_err(|e| refuse(e.to_string()))?;
                let metadata = file.metadata().map_err(|e| refuse(e.to_string()))?;
                if metadata.is_dir() {
                    return Err(refuse("is a directory, not a CSV file".into()));
                }
                Ok((Box::new(file), metadata.len()))
            }
            CsvSource::Bytes { bytes, .. } => Ok((Box::new(*bytes), bytes.len() as u64)),
        }
    }
}

fn csv_reader<R: Read>(reader: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        // Records end at LF; a CR before it is trimmed with the field. (With the default CRLF
        // terminator the reader's line numbers are off for CRLF files.)
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(false)
        .from_reader(reader)
}

fn csv_error(source: &str, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not valid UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Io(io) => return Error::io(format!("reading {source}"), clone_io(io)),
        _ => e.to_string(),
    };
    Error::AtLine {
        path: source.to_string(),
        line,
        field: "row".into(),
        message,
    }
}

fn clone_io(e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), e.to_string())
}

/// A file's header: the columns' names, and where the wanted ones are.
struct Header<const N: usize> {
    names: Vec<String>,
    positions: [usize; N],
}

impl<const N: usize> Header<N> {
    fn read<R: Read>(source: &str, csv: &mut csv::Reader<R>, wanted: [&str; N]) -> Result<Self> {
        let record = csv.headers().map_err(|e| csv_error(source, e))?;
        let names: Vec<String> = record
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let at_header = |field: &str, message: String| Error::AtLine {
            path: source.to_string(),
            line: 1,
            field: field.to_string(),
            message,
        };
        if names.iter().all(String::is_empty) {
            let must_name = wanted.join(",");
            return Err(if csv.is_done() {
                Error::File {
                    path: source.to_string(),
                    message: format!("the file is empty (it needs a header line: {must_name})"),
                }
            } else {
                at_header(
                    "header",
                    format!("the header line is empty (it must name {must_name})"),
                )
            });
        }
        for (i, name) in names.iter().enumerate() {
            if let Some(j) = names[i + 1..].iter().position(|other| other == name) {
                return Err(at_header(
                    "header",
                    format!(
                        "column {} is named twice (columns {} and {})",
                        input::quote(name),
                        i + 1,
                        i + j + 2
                    ),
                ));
            }
        }
        let mut positions = [0; N];
        for (slot, name) in positions.iter_mut().zip(wanted) {
            *slot = names.iter().position(|h| h == name).ok_or_else(|| {
                at_header(
                    name,
                    format!("missing column (the header must name {})", wanted.join(",")),
                )
            })?;
        }
        Ok(Header { names, positions })
    }

    /// A NUL byte anywhere in the record: refused with the column that holds it, before any
    /// other check (it means a binary file, and PostgreSQL text cannot hold one).
    fn refuse_nul(&self, source: &str, record: &csv::StringRecord) -> Result<()> {
        match record.iter().position(|field| field.contains('\0')) {
            None => Ok(()),
            Some(column) => Err(Error::AtLine {
                path: source.to_string(),
                line: record.position().map(|p| p.line()).unwrap_or(0),
                field: self.names[column].clone(),
                message: "holds a NUL byte (\\0): is this a text CSV file?".into(),
            }),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductRow {
    pub name: String,
    pub unit_price: Decimal,
}

/// Below the `numeric(10, 2)` of `product.unit_price`.
const PRICE_LIMIT: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 0);
/// Below the `numeric(12, 2)` of `purchase.total_amount`: 10^10 (= 2 * 2^32 + 1_410_065_408).
const TOTAL_LIMIT: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 0);

/// Reads and validates a `products_list.csv` (`product_name,unit_price`).
pub fn read_products(source: &CsvSource) -> Result<Vec<ProductRow>> {
    let name = source.name();
    let (reader, _) = source.open()?;
    let mut csv = csv_reader(reader);
    let header = Header::read(&name, &mut csv, ["product_name", "unit_price"])?;
    let [name_col, price_col] = header.positions;
    let mut products: Vec<ProductRow> = Vec::new();
    let mut lines_by_key: HashMap<String, (u64, usize)> = HashMap::new();
    for record in csv.records() {
        let record = record.map_err(|e| csv_error(&name, e))?;
        header.refuse_nul(&name, &record)?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let at = |field: &str, message: String| Error::AtLine {
            path: name.clone(),
            line,
            field: field.into(),
            message,
        };
        let product = input::product_name(&record[name_col]).map_err(|m| at("product_name", m))?;
        match lines_by_key.entry(input::name_key(product)) {
            Entry::Occupied(first) => {
                let (first_line, index) = *first.get();
                let other = &products[index].name;
                return Err(at(
                    "product_name",
                    if other == product {
                        format!(
                            "product {} is listed twice (first on line {first_line})",
                            input::quote(product)
                        )
                    } else {
                        format!(
                            "product {} differs only by case from {} on line {first_line} \
                             (names are matched ignoring case)",
                            input::quote(product),
                            input::quote(other)
                        )
                    },
                ));
            }
            Entry::Vacant(slot) => {
                slot.insert((line, products.len()));
            }
        }
        let price = input::money(&record[price_col]).map_err(|m| at("unit_price", m))?;
        if price <= Decimal::ZERO {
            return Err(at(
                "unit_price",
                format!("a price must be more than 0, not {price}"),
            ));
        }
        if price >= PRICE_LIMIT {
            return Err(at(
                "unit_price",
                format!("{price} is too large (a price is below {PRICE_LIMIT})"),
            ));
        }
        products.push(ProductRow {
            name: product.to_string(),
            unit_price: price,
        });
    }
    if products.is_empty() {
        return Err(Error::File {
            path: name,
            message: "no products in the file".into(),
        });
    }
    Ok(products)
}

/// One validated purchase row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseRow {
    pub line: u64,
    pub supermarket_id: String,
    pub created_at: DateTime<Utc>,
    pub user_id: Uuid,
    /// Indexes into the products list, ascending.
    pub items: Vec<usize>,
    pub total_amount: Decimal,
}

impl PurchaseRow {
    /// The same purchase: every field equal but the line.
    fn same_purchase(&self, other: &PurchaseRow) -> bool {
        (
            &self.supermarket_id,
            self.created_at,
            self.user_id,
            &self.items,
            self.total_amount,
        ) == (
            &other.supermarket_id,
            other.created_at,
            other.user_id,
            &other.items,
            other.total_amount,
        )
    }
}

/// A row whose content hashed like an earlier one's: a duplicate unless the hashes collide,
/// which [`confirm_duplicates`] settles by reading the earlier row again.
#[derive(Clone, Debug)]
pub struct DuplicateCandidate {
    pub first_line: u64,
    pub row: PurchaseRow,
}

/// Streams and validates a `purchases.csv` against a products list.
pub struct PurchaseReader<R: Read> {
    source: String,
    csv: csv::Reader<R>,
    header: Header<5>,
    /// Products by their exact name (the common case, without allocating), then by
    /// [`input::name_key`].
    by_exact_name: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
    prices: Vec<Decimal>,
    record: csv::StringRecord,
    now: DateTime<Utc>,
    /// The zone a timestamp without an offset is read in.
    zone: Tz,
    /// Branch ids seen (exactly), and by lower case with the line that first had each.
    branches: HashSet<String>,
    branches_by_case: HashMap<String, (String, u64)>,
    /// The first line of each row content, by a hash of it (16 bytes a row, where the rows
    /// themselves would take ten times that).
    first_line_by_hash: Option<(RandomState, HashMap<u64, u64>)>,
    candidates: Vec<DuplicateCandidate>,
}

impl<R: Read> PurchaseReader<R> {
    /// `zone`: the chain's time zone, in which a timestamp without an offset is read.
    pub fn new(source: String, reader: R, products: &[ProductRow], zone: Tz) -> Result<Self> {
        let mut csv = csv_reader(reader);
        let header = Header::read(
            &source,
            &mut csv,
            [
                "supermarket_id",
                "timestamp",
                "user_id",
                "items_list",
                "total_amount",
            ],
        )?;
        Ok(PurchaseReader {
            source,
            csv,
            header,
            by_exact_name: products
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), i))
                .collect(),
            by_name: products
                .iter()
                .enumerate()
                .map(|(i, p)| (input::name_key(&p.name), i))
                .collect(),
            prices: products.iter().map(|p| p.unit_price).collect(),
            record: csv::StringRecord::new(),
            now: Utc::now(),
            zone,
            branches: HashSet::new(),
            branches_by_case: HashMap::new(),
            first_line_by_hash: Some((RandomState::new(), HashMap::new())),
            candidates: Vec::new(),
        })
    }

    /// Makes room to remember about `rows` rows (for duplicates) without growing as it reads.
    pub fn reserve_rows(&mut self, rows: usize) {
        if let Some((_, first_lines)) = &mut self.first_line_by_hash {
            first_lines.reserve(rows);
        }
    }

    /// The rows that may repeat an earlier one, found so far (and forgotten here).
    pub fn take_duplicate_candidates(&mut self) -> Vec<DuplicateCandidate> {
        std::mem::take(&mut self.candidates)
    }

    /// The next valid row, None at the end, or the first error with file, line and field.
    pub fn next_row(&mut self) -> Result<Option<PurchaseRow>> {
        if !self
            .csv
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.source, e))?
        {
            return Ok(None);
        }
        self.header.refuse_nul(&self.source, &self.record)?;
        let line = self.record.position().map(|p| p.line()).unwrap_or(0);
        let at = |field: &str, message: String| Error::AtLine {
            path: self.source.clone(),
            line,
            field: field.into(),
            message,
        };
        let [branch_col, time_col, user_col, items_col, total_col] = self.header.positions;
        let supermarket_id =
            input::branch_id(&self.record[branch_col]).map_err(|m| at("supermarket_id", m))?;
        if !self.branches.contains(supermarket_id) {
            match self
                .branches_by_case
                .entry(supermarket_id.to_ascii_lowercase())
            {
                Entry::Occupied(first) => {
                    let (other, first_line) = first.get();
                    return Err(at(
                        "supermarket_id",
                        format!(
                            "branch {} differs only by case from {} on line {first_line} \
                             (branch ids are matched exactly: write it the same way)",
                            input::quote(supermarket_id),
                            input::quote(other)
                        ),
                    ));
                }
                Entry::Vacant(slot) => {
                    slot.insert((supermarket_id.to_string(), line));
                }
            }
            self.branches.insert(supermarket_id.to_string());
        }
        let created_at = input::sale_time(&self.record[time_col], self.now, self.zone)
            .map_err(|m| at("timestamp", m))?;
        let user_text = self.record[user_col].trim();
        let user_id = Uuid::try_parse(user_text).map_err(|_| {
            at(
                "user_id",
                format!("{} is not a UUID", input::quote(user_text)),
            )
        })?;
        let mut items = Vec::with_capacity(4);
        for name in self.record[items_col].split(',') {
            if name.trim().is_empty() {
                return Err(at("items_list", "an empty product name in the list".into()));
            }
            let found = match self.by_exact_name.get(name.trim()) {
                Some(index) => Some(index),
                None => self.by_name.get(&input::name_key(name)),
            };
            let Some(&index) = found else {
                return Err(at(
                    "items_list",
                    format!("unknown product {}", input::quote(name.trim())),
                ));
            };
            if items.contains(&index) {
                return Err(at(
                    "items_list",
                    format!(
                        "{} appears twice (one unit per product)",
                        input::quote(name.trim())
                    ),
                ));
            }
            items.push(index);
        }
        items.sort_unstable();
        let total_amount =
            input::money(&self.record[total_col]).map_err(|m| at("total_amount", m))?;
        let sum: Decimal = items.iter().map(|&i| self.prices[i]).sum();
        if total_amount != sum {
            return Err(at(
                "total_amount",
                format!("{total_amount} is not the sum of the unit prices ({sum})"),
            ));
        }
        if total_amount >= TOTAL_LIMIT {
            return Err(at(
                "total_amount",
                format!("{total_amount} is too large (a purchase total is below {TOTAL_LIMIT})"),
            ));
        }
        let row = PurchaseRow {
            line,
            supermarket_id: supermarket_id.to_string(),
            created_at,
            user_id,
            items,
            total_amount,
        };
        if let Some((state, first_lines)) = &mut self.first_line_by_hash {
            let hash = state.hash_one((
                &row.supermarket_id,
                row.created_at,
                row.user_id,
                &row.items,
                row.total_amount,
            ));
            match first_lines.entry(hash) {
                Entry::Occupied(first) => self.candidates.push(DuplicateCandidate {
                    first_line: *first.get(),
                    row: row.clone(),
                }),
                Entry::Vacant(slot) => {
                    slot.insert(line);
                }
            }
        }
        Ok(Some(row))
    }
}

/// Refuses the first row that repeats an earlier one exactly (same branch, time, customer,
/// products and total), naming both lines. Reads `source` again only when there are candidates.
pub fn confirm_duplicates(
    source: &CsvSource,
    products: &[ProductRow],
    mut candidates: Vec<DuplicateCandidate>,
    zone: Tz,
) -> Result<()> {
    if candidates.is_empty() {
        return Ok(());
    }
    candidates.sort_by_key(|c| c.row.line);
    let wanted: HashSet<u64> = candidates.iter().map(|c| c.first_line).collect();
    let (reader, _) = source.open()?;
    let mut rows = PurchaseReader::new(source.name(), reader, products, zone)?;
    rows.first_line_by_hash = None;
    let mut earlier: HashMap<u64, PurchaseRow> = HashMap::new();
    while let Some(row) = rows.next_row()? {
        if wanted.contains(&row.line) {
            earlier.insert(row.line, row);
        }
    }
    for candidate in &candidates {
        if earlier
            .get(&candidate.first_line)
            .is_some_and(|first| first.same_purchase(&candidate.row))
        {
            return Err(Error::AtLine {
                path: source.name(),
                line: candidate.row.line,
                field: "row".into(),
                message: format!(
                    "the same purchase as line {} (branch, time, customer and products all \
                     equal): an exact duplicate",
                    candidate.first_line
                ),
            });
        }
    }
    Ok(())
}

/// Reads and validates a whole `purchases.csv` without loading it: the number of rows, or the
/// first refusal.
pub fn check_purchases(source: &CsvSource, products: &[ProductRow], zone: Tz) -> Result<u64> {
    let (reader, _) = source.open()?;
    let mut rows = PurchaseReader::new(source.name(), reader, products, zone)?;
    let mut count = 0;
    while rows.next_row()?.is_some() {
        count += 1;
    }
    confirm_duplicates(source, products, rows.take_duplicate_candidates(), zone)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(name: &str, text: String) -> CsvSource {
        CsvSource::Bytes {
            name: name.into(),
            bytes: Box::leak(text.into_bytes().into_boxed_slice()),
        }
    }

    fn products() -> Vec<ProductRow> {
        read_products(&bytes(
            "p.csv",
            "product_name,unit_price\nmilk,1.5\nbread,2\neggs,3\n".into(),
        ))
        .unwrap()
    }

    fn first_error(purchases: String) -> String {
        check_purchases(&bytes("x.csv", purchases), &products(), Tz::UTC)
            .unwrap_err()
            .to_string()
    }

    fn products_error(text: &str) -> String {
        read_products(&bytes("p.csv", format!("product_name,unit_price\n{text}")))
            .unwrap_err()
            .to_string()
    }

    const HEADER: &str = "supermarket_id,timestamp,user_id,items_list,total_amount\n";
    const OK_ROW: &str =
        "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n";

    #[test]
    fn reads_a_row_with_bom_and_crlf() {
        let p = products();
        let data = "\u{feff}supermarket_id,timestamp,user_id,items_list,total_amount\r\n\
            SMKT001,2025-05-26T19:51:00.539354,01e1e159-8045-43c2-88dd-5682b18bd680,\"eggs,milk\",4.5\r\n";
        let mut reader = PurchaseReader::new("x.csv".into(), data.as_bytes(), &p, Tz::UTC).unwrap();
        let row = reader.next_row().unwrap().unwrap();
        assert_eq!(row.line, 2);
        assert_eq!(row.items, vec![0, 2]);
        assert_eq!(row.total_amount, Decimal::new(45, 1));
        assert_eq!(
            row.created_at.to_rfc3339(),
            "2025-05-26T19:51:00.539354+00:00"
        );
        assert!(reader.next_row().unwrap().is_none());
    }

    #[test]
    fn every_bad_field_is_named_with_file_and_line() {
        let cases = [
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"bred\",2\n",
                "x.csv:3: items_list: unknown product \"bred\"",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk,milk\",3\n",
                "x.csv:3: items_list: \"milk\" appears twice",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,not-a-uuid,\"milk\",1.5\n",
                "x.csv:3: user_id: \"not-a-uuid\" is not a UUID",
            ),
            (
                "SMKT001,yesterday,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: timestamp: \"yesterday\" is not a timestamp",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.6\n",
                "x.csv:3: total_amount: 1.6 is not the sum of the unit prices (1.5)",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",abc\n",
                "x.csv:3: total_amount: \"abc\" is not a decimal amount",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5e0\n",
                "x.csv:3: total_amount: \"1.5e0\" is not a decimal amount",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"bread\",2.\n",
                "x.csv:3: total_amount: \"2.\" ends with a bare decimal point",
            ),
            (
                "SMKT 1,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: supermarket_id:",
            ),
            (
                "smkt001,2025-05-26T19:52:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: supermarket_id: branch \"smkt001\" differs only by case from \"SMKT001\" on line 2",
            ),
            (
                "SMKT001,+99999-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: timestamp: \"+99999-05-26T19:51:00\" is not a timestamp",
            ),
            (
                "SMKT001,0000-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: timestamp: sale time 0000-05-26T19:51:00+00:00 is before 2000-01-01",
            ),
            (
                "SMKT001,2025-06-30T23:59:60,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: timestamp: \"2025-06-30T23:59:60\" is a leap second",
            ),
            (
                "SMKT001,2999-06-30T23:59:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n",
                "x.csv:3: timestamp: sale time 2999-06-30T23:59:00+00:00 is more than 5 minutes in the future",
            ),
            (
                "SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"mi\0lk\",1.5\n",
                "x.csv:3: items_list: holds a NUL byte",
            ),
            (
                "SMKT001,2025-05-26T19:51:00\n",
                "x.csv:3: row: 2 fields where the header has 5",
            ),
            (OK_ROW, "x.csv:3: row: the same purchase as line 2"),
            (
                "SMKT001, 2025-05-26T19:51:00+00:00 ,01E1E159-8045-43C2-88DD-5682B18BD680,\" MILK \",1.50\n",
                "x.csv:3: row: the same purchase as line 2",
            ),
        ];
        for (bad, expected) in cases {
            let err = first_error(format!("{HEADER}{OK_ROW}{bad}"));
            assert!(
                err.starts_with(expected),
                "{err:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn an_exact_duplicate_is_named_with_both_lines_after_other_rows() {
        let other =
            "SMKT002,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"milk\",1.5\n";
        let err = first_error(format!("{HEADER}{OK_ROW}{other}{other}{OK_ROW}"));
        assert_eq!(
            err,
            "x.csv:4: row: the same purchase as line 3 (branch, time, customer and products all \
             equal): an exact duplicate"
        );
        assert_eq!(
            check_purchases(
                &bytes("x.csv", format!("{HEADER}{OK_ROW}{other}")),
                &products(),
                Tz::UTC
            )
            .unwrap(),
            2
        );
    }

    #[test]
    fn items_are_matched_like_the_command_line_ignoring_case_and_spaces() {
        let p = products();
        let data = format!(
            "{HEADER}SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\" Eggs , MILK\",4.5\n"
        );
        let mut reader = PurchaseReader::new("x.csv".into(), data.as_bytes(), &p, Tz::UTC).unwrap();
        assert_eq!(reader.next_row().unwrap().unwrap().items, vec![0, 2]);
    }

    #[test]
    fn a_long_field_is_quoted_up_to_80_characters() {
        let long = "z".repeat(5000);
        let err = first_error(format!(
            "{HEADER}SMKT001,2025-05-26T19:51:00,01e1e159-8045-43c2-88dd-5682b18bd680,\"{long}\",1.5\n"
        ));
        assert_eq!(
            err,
            format!(
                "x.csv:2: items_list: unknown product \"{}\"… (5000 characters)",
                "z".repeat(80)
            )
        );
    }

    #[test]
    fn bad_products_are_refused_with_the_line() {
        for (bad, expected) in [
            (
                "milk,-1.5\n",
                "p.csv:2: unit_price: a price must be more than 0",
            ),
            (
                "milk,1.505\n",
                "p.csv:2: unit_price: \"1.505\" has more than two decimal places",
            ),
            (
                "milk,one\n",
                "p.csv:2: unit_price: \"one\" is not a decimal amount",
            ),
            (
                "milk,1.5e0\n",
                "p.csv:2: unit_price: \"1.5e0\" is not a decimal amount",
            ),
            (
                "milk,1.\n",
                "p.csv:2: unit_price: \"1.\" ends with a bare decimal point",
            ),
            (
                "milk,100000000\n",
                "p.csv:2: unit_price: 100000000 is too large",
            ),
            (
                "milk,123456789012345678901234567890\n",
                "p.csv:2: unit_price: \"123456789012345678901234567890\" is too large",
            ),
            (
                "milk,1\nmilk,2\n",
                "p.csv:3: product_name: product \"milk\" is listed twice (first on line 2)",
            ),
            (
                "milk,1\nMilk,2\n",
                "p.csv:3: product_name: product \"Milk\" differs only by case from \"milk\" on line 2",
            ),
            (
                "milk,1\n\"salt, fine\",2\n",
                "p.csv:3: product_name: \"salt, fine\" holds a comma",
            ),
            (
                "\"mi\u{200b}lk\",1\n",
                "p.csv:2: product_name: \"mi\\u{200b}lk\" holds an invisible character (\\u{200b})",
            ),
            (
                "\"mi\u{7}lk\",1\n",
                "p.csv:2: product_name: \"mi\\u{7}lk\" holds a control character",
            ),
            ("mi\0lk,1\n", "p.csv:2: product_name: holds a NUL byte"),
        ] {
            let err = products_error(bad);
            assert!(
                err.starts_with(expected),
                "{bad:?}: {err:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn headers_are_refused_when_a_column_is_missing_or_named_twice() {
        let err = read_products(&bytes("p.csv", "name,price\nmilk,1\n".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.csv:1: product_name: missing column"),
            "{err}"
        );
        let err = read_products(&bytes(
            "p.csv",
            "product_name,unit_price,unit_price\nmilk,1,2\n".into(),
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "p.csv:1: header: column \"unit_price\" is named twice (columns 2 and 3)"
        );
        let err = first_error(
            "supermarket_id,timestamp,user_id,items_list,total_amount,timestamp\n".into(),
        );
        assert_eq!(
            err,
            "x.csv:1: header: column \"timestamp\" is named twice (columns 2 and 6)"
        );
    }

    #[test]
    fn an_empty_file_says_so() {
        for empty in ["", "\u{feff}", "\n"] {
            let err = read_products(&bytes("p.csv", empty.into()))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("p.csv: the file is empty")
                    || err.starts_with("p.csv:1: header: the header line is empty"),
                "{empty:?}: {err}"
            );
        }
        let err = read_products(&bytes("p.csv", String::new()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "p.csv: the file is empty (it needs a header line: product_name,unit_price)"
        );
        let err = first_error(String::new());
        assert!(err.starts_with("x.csv: the file is empty"), "{err}");
    }
}
