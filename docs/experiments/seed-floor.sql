-- The least a load of the iCash model can cost, beside the bare COPY it is judged against
-- (docs/PERFORMANCE.md, section 3). Run as a superuser (server-side files) on a scratch
-- database already seeded with the same purchases.csv, by a server that can read it:
--
--   psql -d "$SCRATCH" -v csv=/abs/path/purchases.csv -v dir=/tmp -f docs/experiments/seed-floor.sql
--
-- It writes the database's own purchases and lines to binary files, then times, all on the
-- server: the bare COPY of the CSV into an unlogged table of text; the COPY of the purchases
-- and of their lines into unlogged tables with no key, index, check or counter; and the two
-- primary keys the rules need (purchases, and the lines' key that enforces one unit per
-- product). Compare twice the bare COPY with the sum of the other four.
\set ON_ERROR_STOP on
\set purchases_file :dir '/icash-floor-purchases.bin'
\set lines_file :dir '/icash-floor-lines.bin'
\timing on
\o /dev/null
COPY (SELECT id, supermarket_id, created_at, user_id, total_amount FROM purchase ORDER BY id)
    TO :'purchases_file' (FORMAT binary);
COPY (SELECT purchase_id, product_id, unit_price FROM purchase_product
      ORDER BY purchase_id, product_id)
    TO :'lines_file' (FORMAT binary);
\o
DROP TABLE IF EXISTS floor_bare, floor_purchase, floor_line;
CREATE UNLOGGED TABLE floor_bare (supermarket_id text, "timestamp" text, user_id text,
    items_list text, total_amount text);
CREATE UNLOGGED TABLE floor_purchase (id bigint NOT NULL, supermarket_id text NOT NULL,
    created_at timestamptz NOT NULL, user_id uuid NOT NULL, total_amount numeric(12, 2) NOT NULL);
CREATE UNLOGGED TABLE floor_line (purchase_id bigint NOT NULL, product_id integer NOT NULL,
    unit_price numeric(10, 2) NOT NULL);
\echo 'bare COPY of the CSV into text columns'
COPY floor_bare FROM :'csv' (FORMAT csv, HEADER true);
\echo 'COPY of the purchases (binary, typed)'
COPY floor_purchase FROM :'purchases_file' (FORMAT binary);
\echo 'COPY of the lines (binary, typed)'
COPY floor_line FROM :'lines_file' (FORMAT binary);
\echo 'the purchases primary key'
ALTER TABLE floor_purchase ADD PRIMARY KEY (id);
\echo 'the lines primary key (one unit per product)'
ALTER TABLE floor_line ADD PRIMARY KEY (purchase_id, product_id);
\timing off
DROP TABLE floor_bare, floor_purchase, floor_line;
