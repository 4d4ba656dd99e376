//! CSV written for people who open it in a spreadsheet: quoted by the `csv` crate, and a field
//! that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage return
//! first) made inert with a leading `'`, as OWASP's "CSV injection" guidance recommends.

use std::borrow::Cow;
use std::io::Write;

/// `field` as a spreadsheet shows it as text: with a `'` first when it starts like a formula.
pub fn spreadsheet_safe(field: &str) -> Cow<'_, str> {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{field}"))
    } else {
        Cow::Borrowed(field)
    }
}

/// A CSV writer whose every field goes through [`spreadsheet_safe`].
pub struct SpreadsheetCsv<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> SpreadsheetCsv<W> {
    pub fn new(out: W) -> Self {
        SpreadsheetCsv {
            writer: csv::Writer::from_writer(out),
        }
    }

    pub fn write_row<I, T>(&mut self, fields: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let safe: Vec<String> = fields
            .into_iter()
            .map(|f| spreadsheet_safe(f.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&safe)
            .map_err(std::io::Error::from)
    }

    /// Flushes and gives back the output.
    pub fn finish(self) -> std::io::Result<W> {
        self.writer
            .into_inner()
            .map_err(|e| std::io::Error::other(e.error().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_are_neutralised_and_fields_quoted() {
        let mut csv = SpreadsheetCsv::new(Vec::new());
        csv.write_row(["rank", "product"]).unwrap();
        for (rank, name) in [
            ("=2", "=HYPERLINK(\"http://x\",\"y\")"),
            ("1", "+1"),
            ("2", "-1+2"),
            ("3", "@SUM(A1)"),
            ("4", "\tmilk"),
            ("5", "\rmilk"),
            ("6", "salt, fine"),
            ("7", "milk = good"),
        ] {
            csv.write_row([rank, name]).unwrap();
        }
        let text = String::from_utf8(csv.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "rank,product\n\
             '=2,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\n\
             1,'+1\n\
             2,'-1+2\n\
             3,'@SUM(A1)\n\
             4,'\tmilk\n\
             5,\"'\rmilk\"\n\
             6,\"salt, fine\"\n\
             7,milk = good\n"
        );
        let mut back = csv::Reader::from_reader(text.as_bytes());
        let names: Vec<String> = back.records().map(|r| r.unwrap()[1].to_string()).collect();
        assert_eq!(names[0], "'=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(names[6], "salt, fine");
    }
}
