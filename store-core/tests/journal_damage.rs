//! A damaged journal never stops a till and never loses what it holds: every form of damage a
//! crash, a disk or an editor leaves is found on open, moved (bytes intact) to the quarantine
//! file beside the journal, and every readable entry is kept.

use std::fs;
use std::io::Write;
use std::path::Path;

use store_core::domain::checkout::{CustomerChoice, Sale};
use store_core::till::journal::{Journal, quarantine_path};

fn sale(products: &[i32]) -> Sale {
    let mut s = Sale::open("SMKT001", CustomerChoice::new_customer());
    s.product_ids = products.to_vec();
    s
}

/// A journal holding three pending sales (a fourth one done), closed.
fn journal_with_three_pending(path: &Path) -> Vec<Sale> {
    let sales = vec![sale(&[1]), sale(&[2, 3]), sale(&[4])];
    let done = sale(&[5]);
    let mut j = Journal::open(path).unwrap();
    j.record(&sales[0]).unwrap();
    j.record(&done).unwrap();
    j.record(&sales[1]).unwrap();
    j.mark_done(done.sale_key, 11).unwrap();
    j.record(&sales[2]).unwrap();
    sales
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Inserts `line` (with its `\n`) after the `after`-th line of the file.
fn insert_line(path: &Path, after: usize, line: &[u8]) {
    let bytes = fs::read(path).unwrap();
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let mut inserted = line.to_vec();
    inserted.push(b'\n');
    lines.insert(after, &inserted);
    fs::write(path, lines.concat()).unwrap();
}

#[test]
fn a_torn_tail_is_cut_on_a_line_boundary_and_the_next_entry_gets_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.journal");
    let mut sales = journal_with_three_pending(&path);
    let before = fs::read(&path).unwrap();
    // A whole entry but its `\n`: the write never finished, so it was never confirmed.
    let unfinished = sale(&[9]);
    let torn = serde_json::to_vec(&serde_json::json!({"op": "sale", "sale": unfinished})).unwrap();
    append(&path, &torn);

    let mut j = Journal::open(&path).unwrap();
    assert_eq!(j.pending(), sales);
    let repair = j.repair().expect("a repair").clone();
    assert!(repair.torn_tail && repair.unreadable_lines.is_empty());
    assert!(
        repair
            .warning()
            .contains(&quarantine_path(j.path()).display().to_string()),
        "{}",
        repair.warning()
    );
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "cut exactly at the last line"
    );
    let next = sale(&[7]);
    j.record(&next).unwrap();
    drop(j);
    sales.push(next);

    let j = Journal::open(&path).unwrap();
    assert_eq!(j.repair(), None, "the next start finds nothing wrong");
    assert_eq!(j.pending(), sales);
    let mut quarantined = torn.clone();
    quarantined.push(b'\n');
    assert_eq!(fs::read(quarantine_path(j.path())).unwrap(), quarantined);
}

#[test]
fn crlf_lines_are_read_and_a_torn_tail_after_them_is_cut_at_the_last_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.journal");
    let sales = journal_with_three_pending(&path);
    let crlf = String::from_utf8(fs::read(&path).unwrap())
        .unwrap()
        .replace('\n', "\r\n");
    fs::write(&path, format!("{crlf}{{\"op\":\"done\",\"sale_k")).unwrap();

    let mut j = Journal::open(&path).unwrap();
    assert_eq!(j.pending(), sales);
    assert!(j.repair().unwrap().torn_tail);
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        crlf,
        "no valid entry was cut"
    );
    j.mark_done(sales[0].sale_key, 1).unwrap();
    drop(j);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.repair(), None);
    assert_eq!(j.pending(), sales[1..]);
}

#[test]
fn invalid_utf8_in_a_torn_tail_or_in_the_middle_does_not_make_the_journal_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.journal");
    let sales = journal_with_three_pending(&path);
    let before = fs::read(&path).unwrap();
    let middle: &[u8] = b"{\"op\":\"sale\",\"sale\":\xff\xfe\x00}";
    insert_line(&path, 2, middle);
    let tail: &[u8] = b"{\"op\":\"cancelled\",\"sale_key\":\"\xc3";
    append(&path, tail);

    let j = Journal::open(&path).unwrap();
    assert_eq!(j.pending(), sales, "every other sale is kept");
    let repair = j.repair().unwrap();
    assert_eq!(repair.unreadable_lines, vec![3]);
    assert!(repair.torn_tail);
    assert!(
        repair.warning().contains("unreadable line 3"),
        "{}",
        repair.warning()
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(
        fs::read(quarantine_path(&path)).unwrap(),
        [middle, b"\n", tail, b"\n"].concat()
    );
}

#[test]
fn bad_middle_lines_are_moved_bytes_intact_to_the_quarantine_and_the_rest_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.journal");
    let sales = journal_with_three_pending(&path);
    let before = fs::read(&path).unwrap();
    let garbage: &[u8] = b"  garbage \t with spaces, not JSON  ";
    let unknown: &[u8] = b"{\"op\":\"teleported\",\"sale_key\":\"nope\"}";
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    insert_line(&path, 0, garbage);
    insert_line(&path, 4, unknown);
    // Blank lines are not damage.
    append(&path, b"\n\r\n");
    let expected_after = [&before[..], b"\n\r\n"].concat();
    // Quarantined lines from an earlier repair stay there.
    fs::write(quarantine_path(&path), b"earlier\n").unwrap();

    let j = Journal::open(&path).unwrap();
    assert_eq!(j.pending(), sales);
    let repair = j.repair().unwrap();
    assert_eq!(repair.unreadable_lines, vec![1, 5]);
    assert!(!repair.torn_tail);
    assert!(
        repair.warning().contains("unreadable lines 1, 5"),
        "{}",
        repair.warning()
    );
    assert_eq!(fs::read(&path).unwrap(), expected_after);
    assert_eq!(
        fs::read(quarantine_path(&path)).unwrap(),
        [b"earlier\n", garbage, b"\n", unknown, b"\n"].concat()
    );
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the rewritten journal keeps its permissions");
    // No temporary file is left beside the journal.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "till.journal",
            "till.journal.lock",
            "till.journal.quarantine"
        ]
    );
}

#[test]
fn a_symlink_to_a_journal_in_use_is_refused_and_repairs_keep_the_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("till.journal");
    let link = dir.path().join("other-name.journal");
    let sales = journal_with_three_pending(&real);
    std::os::unix::fs::symlink(&real, &link).unwrap();
    {
        let _first = Journal::open(&real).unwrap();
        let err = Journal::open(&link).err().expect("refused").to_string();
        assert!(err.contains("in use by another till"), "{err}");
    }
    {
        let _first = Journal::open(&link).unwrap();
        let err = Journal::open(&real).err().expect("refused").to_string();
        assert!(err.contains("in use by another till"), "{err}");
    }
    // Repaired through the symlink: the real file is replaced, the symlink stays one.
    insert_line(&real, 1, b"not an entry");
    let j = Journal::open(&link).unwrap();
    assert_eq!(j.pending(), sales);
    assert_eq!(j.path(), fs::canonicalize(&real).unwrap());
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(quarantine_path(&real).exists());
}

#[test]
fn a_refused_sale_can_be_resent_or_set_aside_and_that_survives_reopening_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("till.journal");
    let (first, second) = (sale(&[1, 99]), sale(&[98]));
    let mut j = Journal::open(&path).unwrap();
    j.record(&first).unwrap();
    j.record(&second).unwrap();
    j.mark_refused(first.sale_key, "unknown product: 99".into())
        .unwrap();
    j.mark_refused(second.sale_key, "unknown product: 98".into())
        .unwrap();
    assert_eq!(j.pending_count(), 0);
    // Only refused sales can be dealt with, and a reason is required.
    assert!(j.resend(sale(&[1]).sale_key).is_err());
    let err = j.set_aside(second.sale_key, "   ").unwrap_err().to_string();
    assert!(err.contains("the reason is empty"), "{err}");

    j.resend(first.sale_key).unwrap();
    j.set_aside(second.sale_key, "product 98 was never sold here")
        .unwrap();
    let check = |j: &Journal| {
        assert_eq!(j.pending(), vec![first.clone()], "original key and time");
        assert!(j.refused().is_empty());
        let aside = j.set_aside_sales();
        assert_eq!(aside.len(), 1);
        assert_eq!(aside[0].sale, second);
        assert_eq!(aside[0].refusal, "unknown product: 98");
        assert_eq!(aside[0].reason, "product 98 was never sold here");
    };
    check(&j);
    drop(j);
    let mut j = Journal::open(&path).unwrap();
    check(&j);
    assert!(j.set_aside(second.sale_key, "again").is_err());

    // Enough traffic to compact: what was set aside is still there after.
    j.mark_done(first.sale_key, 1).unwrap();
    for i in 0..600 {
        let s = sale(&[1]);
        j.record(&s).unwrap();
        j.mark_done(s.sale_key, i).unwrap();
    }
    assert!(fs::metadata(&path).unwrap().len() < 100_000);
    drop(j);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.pending_count(), 0);
    assert_eq!(j.set_aside_sales().len(), 1);
    assert_eq!(
        j.set_aside_sales()[0].reason,
        "product 98 was never sold here"
    );
}

#[test]
fn journals_differing_only_by_extension_have_their_own_locks() {
    let dir = tempfile::tempdir().unwrap();
    // Two tills whose journals differ only by their extension run side by side.
    let a = dir.path().join("till.a");
    let b = dir.path().join("till.b");
    let mut first = Journal::open(&a).expect("till.a opens");
    let mut second = Journal::open(&b).expect("till.b opens while till.a is open");
    let (sale_a, sale_b) = (sale(&[1]), sale(&[2]));
    first.record(&sale_a).unwrap();
    second.record(&sale_b).unwrap();
    assert_eq!(first.pending(), vec![sale_a]);
    assert_eq!(second.pending(), vec![sale_b]);
    // Each one is still taken by its own till.
    for path in [&a, &b] {
        let err = Journal::open(path).err().expect("refused").to_string();
        assert!(err.contains("in use by another till"), "{err}");
    }
}

#[test]
fn a_journal_named_like_a_lock_file_is_not_its_own_lock() {
    let dir = tempfile::tempdir().unwrap();
    // It stays taken after opening it replaced the file (a repair here; compaction does the
    // same).
    let x = dir.path().join("x.lock");
    fs::write(&x, b"not an entry\n").unwrap();
    let mut j = Journal::open(&x).expect("x.lock opens");
    assert_eq!(j.repair().expect("repaired").unreadable_lines, vec![1]);
    let s = sale(&[3]);
    j.record(&s).unwrap();
    let err = Journal::open(&x).err().expect("refused").to_string();
    assert!(err.contains("in use by another till"), "{err}");
    drop(j);
    let j = Journal::open(&x).expect("x.lock opens again once closed");
    assert_eq!(j.pending(), vec![s]);
}
