-- Migration 4: catalog, tills and cashiers (issue 13).
-- * Products can be retired: no longer sold (record_purchase refuses them, ICP04), kept in
--   history, receipts and analytics. Branches may name their time zone (NULL: the chain's).
-- * Cashiers, numbered, with an optional PIN (an argon2 PHC string, never the PIN); retired,
--   never deleted, so that every sale keeps naming its cashier.
-- * Each sale records its till, its cashier and the till's receipt number (NULL for history
--   and for sales from no till). Receipt numbers are unique per till.
-- * icash_manager (created by `store-core roles`) changes the catalog and the cashiers only
--   through the SECURITY DEFINER functions below.

CREATE TABLE public.cashier (
    number integer PRIMARY KEY CHECK (number > 0),
    name text NOT NULL CHECK (name <> '' AND name = btrim(name) AND length(name) <= 64),
    -- Only hashes with the costs store-core's hash_pin uses (domain/cashier.rs): a till checks
    -- a PIN with the hash's own costs, so a costlier one would stall or abort it.
    pin_hash text CHECK (pin_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'),
    -- Readable by those who may not read the hash.
    has_pin boolean GENERATED ALWAYS AS (pin_hash IS NOT NULL) STORED,
    added_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);

ALTER TABLE public.product ADD COLUMN retired_at timestamptz;
ALTER TABLE public.supermarket ADD COLUMN timezone text
    CHECK (timezone <> '' AND length(timezone) <= 64);
ALTER TABLE public.purchase
    ADD COLUMN till text CONSTRAINT purchase_till_check CHECK (till ~ '^[A-Za-z0-9_-]{1,32}$'),
    ADD COLUMN cashier integer CONSTRAINT purchase_cashier_fkey REFERENCES public.cashier (number),
    ADD COLUMN receipt_no bigint CONSTRAINT purchase_receipt_no_check CHECK (receipt_no BETWEEN 1 AND 999999999999),
    ADD CONSTRAINT purchase_receipt_needs_till CHECK (receipt_no IS NULL OR till IS NOT NULL);
-- Unique per till among the numbers that exist (history has none: no index entry).
CREATE UNIQUE INDEX purchase_by_till_receipt ON public.purchase (till, receipt_no)
    WHERE receipt_no IS NOT NULL;

CREATE TRIGGER cashier_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.cashier
    FOR EACH STATEMENT EXECUTE FUNCTION public.notify_catalog_change();

DROP FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz);

-- Records one sale, whole or not at all, in one round trip. The total is computed here from
-- current prices; p_expected_total (the till's total) is only a check. A sale key that was
-- already recorded with the same branch, till, customer and products returns that purchase as
-- stored (replayed = true, with its receipt number) and writes nothing; with other content it
-- is refused.
-- Errors carry SQLSTATEs of class IC so that clients can tell them apart:
--   ICP01 unknown product, ICP02 duplicate product, ICP03 empty cart, ICP04 product no longer
--   sold (retired at or before the sale's time), ICC01 unknown customer, ICT01 total mismatch,
--   ICT02 implausible sale time, ICK01 sale key already used for another sale, ICK02 no sale
--   key, ICK03 receipt number already used at this till by another sale; an unknown branch or
--   cashier is the foreign key's error (23503 on purchase_supermarket_id_fkey or
--   purchase_cashier_fkey).
-- p_till, p_cashier, p_receipt_no: the till, the signed-in cashier and the till's receipt
-- number (NULL for a sale from no till, such as `store-core simulate`). p_queued: a sale the
-- till queued while offline and sends late (its drain): paid already, so a product retired
-- since is no refusal (ICP04 is for a sale the cashier can still change).
-- new_customer: this purchase made the customer's row (a replay: it is the customer's first).
-- A new customer's row is created with 0 purchases; fold_purchases() counts the sale.
CREATE FUNCTION public.record_purchase(
    p_sale_key uuid,
    p_supermarket_id text,
    p_user_id uuid,
    p_new_customer boolean,
    p_product_ids integer[],
    p_expected_total numeric,
    p_created_at timestamptz,
    p_till text DEFAULT NULL,
    p_cashier integer DEFAULT NULL,
    p_receipt_no bigint DEFAULT NULL,
    p_queued boolean DEFAULT false
) RETURNS TABLE (
    purchase_id bigint,
    supermarket_id text,
    user_id uuid,
    new_customer boolean,
    created_at timestamptz,
    total_amount numeric,
    replayed boolean,
    product_ids integer[],
    product_names text[],
    unit_prices numeric[],
    till text,
    cashier integer,
    receipt_no bigint
)
LANGUAGE plpgsql
-- Runs with icash_app's rights, so that a till's role needs no write access to any table.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_created_at timestamptz := coalesce(p_created_at, now());
    r record;
    k record;
BEGIN
    IF p_sale_key IS NULL THEN
        RAISE EXCEPTION 'a sale needs a sale key (a till chooses one when the sale opens)'
            USING ERRCODE = 'ICK02';
    END IF;
    -- The rule of store-core/src/sale_time.rs: finite, not before 2000-01-01 UTC, not more than
    -- 5 minutes after now (a till's clock may run a little fast; offline sales may be days old).
    IF NOT isfinite(v_created_at) OR v_created_at < '2000-01-01 00:00:00+00'::timestamptz
       OR v_created_at > now() + '5 minutes'::interval THEN
        RAISE EXCEPTION 'sale time % is not plausible: a sale is from 2000-01-01 00:00 UTC to 5 minutes after now',
            v_created_at
            USING ERRCODE = 'ICT02';
    END IF;

    -- The whole sale is one statement: one read of the prices serves the checks, the total and
    -- the lines (so they always agree), and nothing is written unless every check passes and
    -- the purchase row itself is inserted (a recorded key or receipt number inserts nothing, a
    -- customer neither).
    WITH lines AS (
        SELECT count(*)::int AS n, sum(pr.unit_price)::numeric(12, 2) AS total,
               array_agg(pr.id ORDER BY pr.id) AS ids, array_agg(pr.name ORDER BY pr.id) AS names,
               array_agg(pr.unit_price ORDER BY pr.id) AS prices,
               -- A product retired after the sale happened, or since a queued sale was paid,
               -- is sold.
               count(*) FILTER (WHERE NOT p_queued AND pr.retired_at <= v_created_at)::int
                   AS retired
        FROM public.product pr WHERE pr.id = ANY (p_product_ids)
    ), valid AS (
        SELECT l.* FROM lines l
        WHERE l.n > 0 AND l.n = cardinality(p_product_ids) AND l.retired = 0
          AND (p_expected_total IS NULL OR p_expected_total = l.total)
          AND (p_new_customer
               OR EXISTS (SELECT 1 FROM public.customer c WHERE c.user_id = p_user_id))
    ), sale AS (
        -- An unknown branch or cashier fails its foreign key here (reported by the client as
        -- such). Either unique key (the sale key, the till's receipt number) already taken
        -- inserts nothing; which one is told below.
        INSERT INTO public.purchase (supermarket_id, created_at, user_id, total_amount, sale_key,
                                     till, cashier, receipt_no)
        SELECT p_supermarket_id, v_created_at, p_user_id, v.total, p_sale_key,
               p_till, p_cashier, p_receipt_no
        FROM valid v
        ON CONFLICT DO NOTHING
        RETURNING id, supermarket_id, user_id, created_at, total_amount, till, cashier, receipt_no
    ), customer_row AS (
        INSERT INTO public.customer (user_id, purchases, first_purchase_at, last_purchase_at)
        SELECT s.user_id, 0, s.created_at, s.created_at FROM sale s WHERE p_new_customer
        ON CONFLICT (user_id) DO NOTHING
        RETURNING user_id
    ), sale_lines AS (
        INSERT INTO public.purchase_product (purchase_id, product_id, unit_price)
        SELECT s.id, l.id, l.price FROM sale s, valid v, unnest(v.ids, v.prices) AS l (id, price)
    ), queued AS (
        INSERT INTO public.purchase_unfolded (purchase_id) SELECT s.id FROM sale s
    )
    SELECT s.id AS sale_id, s.supermarket_id AS branch, s.user_id AS customer,
           s.created_at AS sold_at, s.total_amount AS paid,
           s.till AS sale_till, s.cashier AS sale_cashier, s.receipt_no AS sale_receipt_no,
           EXISTS (SELECT 1 FROM customer_row) AS made_customer,
           EXISTS (SELECT 1 FROM valid) AS is_valid,
           l.n, l.total, l.ids, l.names, l.prices, l.retired
    INTO r FROM lines l LEFT JOIN sale s ON true;

    IF r.sale_id IS NOT NULL THEN
        -- A notification per sale takes a database-wide lock at commit; each backend
        -- announces at most one sale per 200 ms, and listeners refresh once more shortly after
        -- any announcement, so the sales in between are seen too.
        IF coalesce(nullif(current_setting('icash.last_notify', true), ''), '0')::float8
           < extract(epoch FROM clock_timestamp()) - 0.2 THEN
            PERFORM pg_notify('icash_purchase',
                        json_build_object('purchase_id', r.sale_id,
                                          'supermarket_id', r.branch)::text),
                    set_config('icash.last_notify',
                        extract(epoch FROM clock_timestamp())::text, false);
        END IF;
        purchase_id := r.sale_id;
        supermarket_id := r.branch;
        user_id := r.customer;
        new_customer := r.made_customer;
        created_at := r.sold_at;
        total_amount := r.paid;
        replayed := false;
        product_ids := r.ids;
        product_names := r.names;
        unit_prices := r.prices;
        till := r.sale_till;
        cashier := r.sale_cashier;
        receipt_no := r.sale_receipt_no;
        RETURN NEXT;
        RETURN;
    END IF;

    -- Nothing was written: the sale key is recorded already (a retry after a lost answer, when
    -- prices may have changed since), or the sale is wrong.
    SELECT p.id, p.supermarket_id AS branch, p.user_id AS customer, p.created_at AS sold_at,
           p.total_amount AS paid, p.till AS sale_till, p.cashier AS sale_cashier,
           p.receipt_no AS sale_receipt_no,
           coalesce(c.first_purchase_at = p.created_at, false) AS customer_first,
           array_agg(pp.product_id ORDER BY pp.product_id) AS ids,
           array_agg(pr.name ORDER BY pp.product_id) AS names,
           array_agg(pp.unit_price ORDER BY pp.product_id) AS prices
    INTO k
    FROM public.purchase p
    JOIN public.purchase_product pp ON pp.purchase_id = p.id
    JOIN public.product pr ON pr.id = pp.product_id
    LEFT JOIN public.customer c ON c.user_id = p.user_id
    WHERE p.sale_key = p_sale_key
    GROUP BY p.id, c.first_purchase_at;
    IF FOUND THEN
        IF k.branch IS DISTINCT FROM p_supermarket_id OR k.customer IS DISTINCT FROM p_user_id
           OR k.sale_till IS DISTINCT FROM p_till
           OR k.ids IS DISTINCT FROM
              ARRAY(SELECT x FROM unnest(p_product_ids) AS x ORDER BY x) THEN
            RAISE EXCEPTION 'sale key % is already the key of another sale (its branch, till, customer or products differ); this sale was not recorded',
                p_sale_key
                USING ERRCODE = 'ICK01';
        END IF;
        purchase_id := k.id;
        supermarket_id := k.branch;
        user_id := k.customer;
        new_customer := k.customer_first;
        created_at := k.sold_at;
        total_amount := k.paid;
        replayed := true;
        product_ids := k.ids;
        product_names := k.names;
        unit_prices := k.prices;
        till := k.sale_till;
        cashier := k.sale_cashier;
        receipt_no := k.sale_receipt_no;
        RETURN NEXT;
        RETURN;
    END IF;
    IF p_product_ids IS NULL OR cardinality(p_product_ids) = 0 THEN
        RAISE EXCEPTION 'a purchase needs at least one product' USING ERRCODE = 'ICP03';
    END IF;
    IF (SELECT count(DISTINCT x) FROM unnest(p_product_ids) AS x) <> cardinality(p_product_ids) THEN
        RAISE EXCEPTION 'a product appears more than once (one unit per product)'
            USING ERRCODE = 'ICP02';
    END IF;
    IF r.n <> cardinality(p_product_ids) THEN
        RAISE EXCEPTION 'unknown product id(s): %',
            (SELECT string_agg(x::text, ', ' ORDER BY x) FROM unnest(p_product_ids) AS x
             WHERE x IS NULL OR NOT x = ANY (coalesce(r.ids, '{}')))
            USING ERRCODE = 'ICP01';
    END IF;
    IF r.retired > 0 THEN
        RAISE EXCEPTION 'no longer sold: %',
            (SELECT string_agg(pg_catalog.format('%s (id %s)', pr.name, pr.id), ', ' ORDER BY pr.id)
             FROM public.product pr
             WHERE pr.id = ANY (p_product_ids) AND pr.retired_at <= v_created_at)
            USING ERRCODE = 'ICP04';
    END IF;
    IF p_expected_total IS NOT NULL AND p_expected_total <> r.total THEN
        RAISE EXCEPTION 'total mismatch: the till expected %, current prices make %',
            p_expected_total, r.total
            USING ERRCODE = 'ICT01', DETAIL = r.total::text;
    END IF;
    IF NOT r.is_valid THEN
        RAISE EXCEPTION 'unknown customer %', p_user_id USING ERRCODE = 'ICC01';
    END IF;
    IF p_receipt_no IS NOT NULL AND EXISTS (
        SELECT 1 FROM public.purchase p WHERE p.till = p_till AND p.receipt_no = p_receipt_no
    ) THEN
        RAISE EXCEPTION 'receipt number %-% is already the number of another sale at till %; this sale was not recorded',
            p_till, pg_catalog.lpad(p_receipt_no::text,
                             greatest(6, pg_catalog.length(p_receipt_no::text)), '0'), p_till
            USING ERRCODE = 'ICK03';
    END IF;
    -- Valid, yet not written and not found: a concurrent call with this key has not committed.
    RAISE EXCEPTION 'sale % is being recorded concurrently; submit it again', p_sale_key
        USING ERRCODE = '40001';
END;
$$;

-- The highest receipt number the database holds for a till (0: none), so that a till starting
-- a new journal continues the numbering.
CREATE FUNCTION public.last_receipt_no(p_till text) RETURNS bigint
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(max(p.receipt_no), 0) FROM public.purchase p WHERE p.till = p_till
$$;

-- The cashiers who may sign in at a till (not retired), with their PIN hashes, so that a till
-- can sign a cashier in while the database is unreachable. The clerk reads the cashier table
-- only through this function.
CREATE FUNCTION public.cashier_roster() RETURNS TABLE (number integer, name text, pin_hash text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.number, c.name, c.pin_hash FROM public.cashier c
    WHERE c.retired_at IS NULL ORDER BY c.number
$$;

-- Catalog and cashier changes, for icash_manager (and the schema's owner). Each runs with
-- icash_app's rights and changes one thing; the tables' CHECKs hold the rules, the callers
-- check them first to say what is wrong. Errors: ICM01 branch exists, ICM02 unknown branch,
-- ICM03 product name taken, ICM04 unknown product, ICM05 cashier number taken, ICM06 unknown
-- cashier, ICM07 unknown time zone. Every change notifies icash_catalog (the tables' triggers).
CREATE FUNCTION public.add_branch(p_id text, p_name text, p_timezone text) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p_timezone IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names z WHERE z.name = p_timezone) THEN
        RAISE EXCEPTION 'unknown time zone %: give an IANA name such as Europe/Paris or America/New_York',
            p_timezone
            USING ERRCODE = 'ICM07';
    END IF;
    INSERT INTO public.supermarket (id, name, timezone) VALUES (p_id, p_name, p_timezone)
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'branch % exists already', p_id USING ERRCODE = 'ICM01';
    END IF;
END;
$$;

CREATE FUNCTION public.rename_branch(p_id text, p_name text) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE public.supermarket s SET name = p_name WHERE s.id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown branch %', p_id USING ERRCODE = 'ICM02';
    END IF;
END;
$$;

-- Returns the new product's id.
CREATE FUNCTION public.add_product(p_name text, p_unit_price numeric) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id integer;
BEGIN
    INSERT INTO public.product (name, unit_price) VALUES (p_name, p_unit_price)
    ON CONFLICT (name) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        RAISE EXCEPTION 'a product named % exists already', p_name USING ERRCODE = 'ICM03';
    END IF;
    RETURN v_id;
END;
$$;

CREATE FUNCTION public.set_product_price(p_id integer, p_unit_price numeric) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE public.product pr SET unit_price = p_unit_price WHERE pr.id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown product id %', p_id USING ERRCODE = 'ICM04';
    END IF;
END;
$$;

-- Retired (p_retired) or back on sale; returns false when it already was.
CREATE FUNCTION public.set_product_retired(p_id integer, p_retired boolean) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.product pr WHERE pr.id = p_id) THEN
        RAISE EXCEPTION 'unknown product id %', p_id USING ERRCODE = 'ICM04';
    END IF;
    UPDATE public.product pr
    SET retired_at = CASE WHEN p_retired THEN now() END
    WHERE pr.id = p_id AND (pr.retired_at IS NOT NULL) IS DISTINCT FROM p_retired;
    RETURN FOUND;
END;
$$;

CREATE FUNCTION public.add_cashier(p_number integer, p_name text, p_pin_hash text) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.cashier (number, name, pin_hash) VALUES (p_number, p_name, p_pin_hash)
    ON CONFLICT (number) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cashier number % is taken (numbers are never reused, even once retired)',
            p_number
            USING ERRCODE = 'ICM05';
    END IF;
END;
$$;

-- Returns false when the cashier was retired already.
CREATE FUNCTION public.retire_cashier(p_number integer) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.cashier c WHERE c.number = p_number) THEN
        RAISE EXCEPTION 'unknown cashier %', p_number USING ERRCODE = 'ICM06';
    END IF;
    UPDATE public.cashier c SET retired_at = now()
    WHERE c.number = p_number AND c.retired_at IS NULL;
    RETURN FOUND;
END;
$$;

REVOKE EXECUTE ON FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz, text, integer, bigint, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.last_receipt_no(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.cashier_roster() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.add_branch(text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.rename_branch(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.add_product(text, numeric) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.set_product_price(integer, numeric) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.set_product_retired(integer, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.add_cashier(integer, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.retire_cashier(integer) FROM PUBLIC;

-- Roles that `store-core roles` set up before keep working right after this migration: the
-- clerk records sales through the new record_purchase, the owner reads the cashiers (never
-- their PIN hashes). icash_manager is new: `store-core roles` creates it.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'icash_clerk') THEN
        GRANT EXECUTE ON FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz, text, integer, bigint, boolean) TO icash_clerk;
        GRANT EXECUTE ON FUNCTION public.last_receipt_no(text), public.cashier_roster() TO icash_clerk;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'icash_owner') THEN
        GRANT SELECT (number, name, has_pin, added_at, retired_at) ON public.cashier TO icash_owner;
    END IF;
END
$$;

ALTER TABLE public.cashier OWNER TO icash_app;
ALTER FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz, text, integer, bigint, boolean) OWNER TO icash_app;
ALTER FUNCTION public.last_receipt_no(text) OWNER TO icash_app;
ALTER FUNCTION public.cashier_roster() OWNER TO icash_app;
ALTER FUNCTION public.add_branch(text, text, text) OWNER TO icash_app;
ALTER FUNCTION public.rename_branch(text, text) OWNER TO icash_app;
ALTER FUNCTION public.add_product(text, numeric) OWNER TO icash_app;
ALTER FUNCTION public.set_product_price(integer, numeric) OWNER TO icash_app;
ALTER FUNCTION public.set_product_retired(integer, boolean) OWNER TO icash_app;
ALTER FUNCTION public.add_cashier(integer, text, text) OWNER TO icash_app;
ALTER FUNCTION public.retire_cashier(integer) OWNER TO icash_app;
