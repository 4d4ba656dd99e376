-- Migration 3: the database contract (issue 11).
-- * Tables and functions belong to icash_app, a role that cannot log in and is not a superuser:
--   a SECURITY DEFINER function runs with no more than the tables' own rights.
-- * Every SECURITY DEFINER function has SET search_path = pg_catalog, pg_temp and names the
--   iCash objects with their schema, so that nothing a caller creates (a temporary domain, a
--   closer function in public) is ever resolved inside it; EXECUTE is revoked from PUBLIC
--   (`store-core roles` grants it to the roles that need it).
-- * The sale key is the sale: a replay writes nothing and answers with the purchase as stored;
--   the same key with other content is refused (ICK01); a sale needs a key (ICK02).
-- * Sale times are finite and plausible (record_purchase: ICT02; every other path: a CHECK).
-- * fold_purchases folds at most a given number of queued sales per call.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'icash_app') THEN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles
                       WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            RAISE EXCEPTION 'the role % cannot create the role icash_app that owns the iCash tables',
                current_user
                USING ERRCODE = '42501',
                      HINT = 'run `store-core migrate` as a superuser or a role with CREATEROLE, '
                             'or have one run CREATE ROLE icash_app NOLOGIN and GRANT icash_app TO '
                             || current_user;
        END IF;
        CREATE ROLE icash_app NOLOGIN;
    END IF;
    -- Handing an object to icash_app takes membership in it (a superuser has it implicitly).
    IF NOT pg_catalog.pg_has_role(current_user, 'icash_app', 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT icash_app TO %I', current_user);
    END IF;
END
$$;

-- Every stored purchase must already lie in the window, or the constraint below cannot hold.
DO $$
DECLARE
    v_bad bigint;
    v_example record;
BEGIN
    SELECT count(*) INTO v_bad FROM public.purchase
    WHERE NOT (created_at >= '2000-01-01 00:00:00+00' AND created_at < '2100-01-01 00:00:00+00');
    IF v_bad > 0 THEN
        SELECT id, created_at INTO v_example FROM public.purchase
        WHERE NOT (created_at >= '2000-01-01 00:00:00+00' AND created_at < '2100-01-01 00:00:00+00')
        ORDER BY id LIMIT 1;
        RAISE EXCEPTION '% purchase(s) have a time outside [2000-01-01, 2100-01-01), for example purchase % at %',
            v_bad, v_example.id, v_example.created_at
            USING ERRCODE = '23514',
                  HINT = 'correct or delete those purchases (and their counters), then migrate again';
    END IF;
END
$$;

ALTER TABLE public.purchase ADD CONSTRAINT purchase_created_at_plausible
    CHECK (created_at >= '2000-01-01 00:00:00+00' AND created_at < '2100-01-01 00:00:00+00');

DROP FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz);
DROP FUNCTION public.purchase_receipt(bigint, boolean);
DROP FUNCTION public.fold_purchases();

-- Records one sale, whole or not at all, in one round trip. The total is computed here from
-- current prices; p_expected_total (the till's total) is only a check. A sale key that was
-- already recorded with the same branch, customer and products returns that purchase as stored
-- (replayed = true) and writes nothing; with other content it is refused.
-- Errors carry SQLSTATEs of class IC so that clients can tell them apart:
--   ICP01 unknown product, ICP02 duplicate product, ICP03 empty cart, ICC01 unknown customer,
--   ICT01 total mismatch, ICT02 implausible sale time, ICK01 sale key already used for another
--   sale, ICK02 no sale key; an unknown branch is the foreign key's error (23503 on
--   purchase_supermarket_id_fkey).
-- new_customer: this purchase made the customer's row (a replay: it is the customer's first).
-- A new customer's row is created with 0 purchases; fold_purchases() counts the sale.
CREATE FUNCTION public.record_purchase(
    p_sale_key uuid,
    p_supermarket_id text,
    p_user_id uuid,
    p_new_customer boolean,
    p_product_ids integer[],
    p_expected_total numeric,
    p_created_at timestamptz
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
    unit_prices numeric[]
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
    -- the purchase row itself is inserted (a recorded key inserts nothing, a customer neither).
    WITH lines AS (
        SELECT count(*)::int AS n, sum(pr.unit_price)::numeric(12, 2) AS total,
               array_agg(pr.id ORDER BY pr.id) AS ids, array_agg(pr.name ORDER BY pr.id) AS names,
               array_agg(pr.unit_price ORDER BY pr.id) AS prices
        FROM public.product pr WHERE pr.id = ANY (p_product_ids)
    ), valid AS (
        SELECT l.* FROM lines l
        WHERE l.n > 0 AND l.n = cardinality(p_product_ids)
          AND (p_expected_total IS NULL OR p_expected_total = l.total)
          AND (p_new_customer
               OR EXISTS (SELECT 1 FROM public.customer c WHERE c.user_id = p_user_id))
    ), sale AS (
        -- An unknown branch fails the foreign key here (reported by the client as such).
        INSERT INTO public.purchase (supermarket_id, created_at, user_id, total_amount, sale_key)
        SELECT p_supermarket_id, v_created_at, p_user_id, v.total, p_sale_key FROM valid v
        ON CONFLICT (sale_key) WHERE sale_key IS NOT NULL DO NOTHING
        RETURNING id, supermarket_id, user_id, created_at, total_amount
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
           EXISTS (SELECT 1 FROM customer_row) AS made_customer,
           EXISTS (SELECT 1 FROM valid) AS is_valid,
           l.n, l.total, l.ids, l.names, l.prices
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
        RETURN NEXT;
        RETURN;
    END IF;

    -- Nothing was written: the sale key is recorded already (a retry after a lost answer, when
    -- prices may have changed since), or the sale is wrong.
    SELECT p.id, p.supermarket_id AS branch, p.user_id AS customer, p.created_at AS sold_at,
           p.total_amount AS paid,
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
           OR k.ids IS DISTINCT FROM
              ARRAY(SELECT x FROM unnest(p_product_ids) AS x ORDER BY x) THEN
            RAISE EXCEPTION 'sale key % is already the key of another sale (its branch, customer or products differ); this sale was not recorded',
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
    IF p_expected_total IS NOT NULL AND p_expected_total <> r.total THEN
        RAISE EXCEPTION 'total mismatch: the till expected %, current prices make %',
            p_expected_total, r.total
            USING ERRCODE = 'ICT01', DETAIL = r.total::text;
    END IF;
    IF NOT r.is_valid THEN
        RAISE EXCEPTION 'unknown customer %', p_user_id USING ERRCODE = 'ICC01';
    END IF;
    -- Valid, yet not written and not found: a concurrent call with this key has not committed.
    RAISE EXCEPTION 'sale % is being recorded concurrently; submit it again', p_sale_key
        USING ERRCODE = '40001';
END;
$$;

-- Moves up to p_max_sales queued sales into the counters, in one transaction, one folder at a
-- time; returns how many it folded. Callers repeat until fewer than p_max_sales come back, so
-- that a long backlog is folded in short transactions instead of one long statement.
CREATE FUNCTION public.fold_purchases(p_max_sales integer) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_folded bigint;
BEGIN
    IF p_max_sales IS NULL OR p_max_sales < 1 THEN
        RAISE EXCEPTION 'fold_purchases: the batch size must be at least 1, not %', p_max_sales
            USING ERRCODE = '22023';
    END IF;
    PERFORM pg_advisory_xact_lock(462815235);
    IF NOT EXISTS (SELECT 1 FROM public.purchase_unfolded) THEN
        RETURN 0;
    END IF;
    WITH batch AS (
        DELETE FROM public.purchase_unfolded u
        WHERE u.ctid = ANY (ARRAY(SELECT q.ctid FROM public.purchase_unfolded q LIMIT p_max_sales))
        RETURNING u.purchase_id
    ), sale AS (
        SELECT p.id, p.user_id, p.supermarket_id, p.created_at, p.total_amount
        FROM public.purchase p JOIN batch b ON b.purchase_id = p.id
    ), per_user AS (
        SELECT s.user_id, count(*) AS n, min(s.created_at) AS first_at, max(s.created_at) AS last_at
        FROM sale s GROUP BY s.user_id
    ), before AS (
        -- Each customer's count before this fold (this statement's snapshot).
        SELECT pu.user_id, pu.n, coalesce(c.purchases, 0) AS old
        FROM per_user pu LEFT JOIN public.customer c ON c.user_id = pu.user_id
    ), customers AS (
        INSERT INTO public.customer AS c (user_id, purchases, first_purchase_at, last_purchase_at)
        SELECT pu.user_id, pu.n, pu.first_at, pu.last_at FROM per_user pu
        ON CONFLICT (user_id) DO UPDATE
            SET purchases = c.purchases + excluded.purchases,
                first_purchase_at = least(c.first_purchase_at, excluded.first_purchase_at),
                last_purchase_at = greatest(c.last_purchase_at, excluded.last_purchase_at)
    ), moves AS (
        SELECT k, sum(d) AS d FROM (
            SELECT b.old AS k, -1 AS d FROM before b WHERE b.old > 0
            UNION ALL
            SELECT b.old + b.n, 1 FROM before b
        ) m GROUP BY k
    ), histogram AS (
        INSERT INTO public.stat_customer_histogram AS h (purchases, customers)
        SELECT k, d FROM moves WHERE d <> 0
        ON CONFLICT (purchases) DO UPDATE SET customers = h.customers + excluded.customers
    ), units AS (
        INSERT INTO public.stat_product_units AS u (product_id, units)
        SELECT pp.product_id, count(*) FROM public.purchase_product pp
        JOIN batch b ON b.purchase_id = pp.purchase_id GROUP BY pp.product_id
        ON CONFLICT (product_id) DO UPDATE SET units = u.units + excluded.units
    ), branches AS (
        INSERT INTO public.stat_branch_totals AS t (supermarket_id, purchases, revenue)
        SELECT s.supermarket_id, count(*), sum(s.total_amount) FROM sale s GROUP BY s.supermarket_id
        ON CONFLICT (supermarket_id) DO UPDATE
            SET purchases = t.purchases + excluded.purchases, revenue = t.revenue + excluded.revenue
    ), hours AS (
        INSERT INTO public.stat_branch_hourly AS hr (supermarket_id, hour, purchases, revenue)
        SELECT s.supermarket_id, date_trunc('hour', s.created_at, 'UTC'), count(*), sum(s.total_amount)
        FROM sale s GROUP BY 1, 2
        ON CONFLICT (supermarket_id, hour) DO UPDATE
            SET purchases = hr.purchases + excluded.purchases, revenue = hr.revenue + excluded.revenue
    ), per_branch_user AS (
        SELECT s.supermarket_id, s.user_id, count(*) AS n FROM sale s GROUP BY 1, 2
    ), branch_before AS (
        SELECT pb.supermarket_id, pb.user_id, pb.n, coalesce(cb.purchases, 0) AS old
        FROM per_branch_user pb
        LEFT JOIN public.customer_branch cb
            ON cb.supermarket_id = pb.supermarket_id AND cb.user_id = pb.user_id
    ), branch_customers AS (
        INSERT INTO public.customer_branch AS cb (supermarket_id, user_id, purchases)
        SELECT pb.supermarket_id, pb.user_id, pb.n FROM per_branch_user pb
        ON CONFLICT (supermarket_id, user_id) DO UPDATE SET purchases = cb.purchases + excluded.purchases
    ), branch_moves AS (
        SELECT supermarket_id, k, sum(d) AS d FROM (
            SELECT b.supermarket_id, b.old AS k, -1 AS d FROM branch_before b WHERE b.old > 0
            UNION ALL
            SELECT b.supermarket_id, b.old + b.n, 1 FROM branch_before b
        ) m GROUP BY 1, 2
    ), branch_histogram AS (
        INSERT INTO public.stat_branch_histogram AS bh (supermarket_id, purchases, customers)
        SELECT supermarket_id, k, d FROM branch_moves WHERE d <> 0
        ON CONFLICT (supermarket_id, purchases) DO UPDATE SET customers = bh.customers + excluded.customers
    ), branch_units AS (
        INSERT INTO public.stat_branch_product_units AS bu (supermarket_id, product_id, units)
        SELECT s.supermarket_id, pp.product_id, count(*) FROM public.purchase_product pp
        JOIN sale s ON s.id = pp.purchase_id GROUP BY 1, 2
        ON CONFLICT (supermarket_id, product_id) DO UPDATE SET units = bu.units + excluded.units
    )
    SELECT count(*) INTO v_folded FROM batch;
    RETURN v_folded;
END;
$$;

-- Tills reload their catalog when products, prices or branches change.
CREATE OR REPLACE FUNCTION public.notify_catalog_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('icash_catalog', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

REVOKE EXECUTE ON FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.fold_purchases(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.notify_catalog_change() FROM PUBLIC;

-- The functions above are new objects, and the runner's schema_migration table is new: roles
-- that `store-core roles` set up before keep working right after this migration (the programs
-- read the schema version before anything else).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'icash_clerk') THEN
        GRANT SELECT ON public.schema_migration, public.schema_version TO icash_clerk;
        GRANT EXECUTE ON FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz) TO icash_clerk;
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'icash_owner') THEN
        GRANT SELECT ON public.schema_migration, public.schema_version TO icash_owner;
        GRANT EXECUTE ON FUNCTION public.fold_purchases(integer) TO icash_owner;
    END IF;
END
$$;

ALTER TABLE public.schema_migration OWNER TO icash_app;
ALTER TABLE public.schema_version OWNER TO icash_app;
ALTER TABLE public.supermarket OWNER TO icash_app;
ALTER TABLE public.product OWNER TO icash_app;
ALTER TABLE public.customer OWNER TO icash_app;
ALTER TABLE public.purchase OWNER TO icash_app;
ALTER TABLE public.purchase_product OWNER TO icash_app;
ALTER TABLE public.purchase_unfolded OWNER TO icash_app;
ALTER TABLE public.stat_customer_histogram OWNER TO icash_app;
ALTER TABLE public.stat_product_units OWNER TO icash_app;
ALTER TABLE public.stat_branch_totals OWNER TO icash_app;
ALTER TABLE public.customer_branch OWNER TO icash_app;
ALTER TABLE public.stat_branch_histogram OWNER TO icash_app;
ALTER TABLE public.stat_branch_product_units OWNER TO icash_app;
ALTER TABLE public.stat_branch_hourly OWNER TO icash_app;
ALTER FUNCTION public.record_purchase(uuid, text, uuid, boolean, integer[], numeric, timestamptz) OWNER TO icash_app;
ALTER FUNCTION public.fold_purchases(integer) OWNER TO icash_app;
ALTER FUNCTION public.notify_catalog_change() OWNER TO icash_app;
