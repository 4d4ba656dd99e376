//! The vendored assignment CSVs are the originals, byte for byte: a checkout that rewrote their
//! line endings (git autocrlf) or an edit would change every figure the seeding tests check.

use sha2::{Digest, Sha256};
use store_testkit::assignment_data_dir;

#[test]
fn the_vendored_assignment_files_are_the_originals() {
    let expected = [
        (
            "products_list.csv",
            "1f9acb2c6e1c500e8cbfc46ca91d0aacef850c6893dbd8de2e73edb0467c1b9e",
        ),
        (
            "purchases.csv",
            "ec53c3b512252a03dd85b6bc333a2be4e968dd6e046eb92eef1e84dc6c6ba088",
        ),
        (
            "crlf-variant/products_list.csv",
            "1eae77c9605a49d010817b36c67d0f659733cc7a25fbe0b84c6ee3536bbc64df",
        ),
        (
            "crlf-variant/purchases.csv",
            "64b127f10ada00b90e1c6697991c849337e1f6eccb13fb3eeba7363ce1e45224",
        ),
    ];
    let dir = assignment_data_dir();
    assert!(
        dir.starts_with(env!("CARGO_MANIFEST_DIR").trim_end_matches("store-core")),
        "fixtures live inside the repository"
    );
    for (file, sha) in expected {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, sha, "{file} differs from the assignment's original");
    }
}
