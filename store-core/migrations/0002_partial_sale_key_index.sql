-- Migration 2 (`schema_version` 2 of the program before numbered migrations): sale keys are
-- unique among the keys that exist. Imported history (NULL keys) costs no index entry, which also
-- makes a bulk load's index build nearly free. The index is built before the unique constraint
-- over every row is dropped, so that keys are never without a unique index.

CREATE UNIQUE INDEX purchase_by_sale_key ON purchase (sale_key) WHERE sale_key IS NOT NULL;
ALTER TABLE purchase DROP CONSTRAINT purchase_sale_key_key;
