-- Migration 6: day-level counters, so that any range of days reads a few hundred rows whatever
-- the history's size (issue 16).
-- * stat_branch_daily: purchases, revenue and items (lines) per branch and UTC day.
-- * stat_branch_product_daily / stat_branch_product_hourly: units and revenue per branch,
--   product and UTC day / hour.
-- * stat_branch_hourly gains items.
-- A period of whole local days [start, end) reads the UTC days inside it from the daily
-- counters, the UTC hours left at its edges from the hourly ones, and the minutes left in a
-- zone whose offset is not whole hours (at most an hour at each end) from the rows.
-- fold_purchases() keeps them like the others, in its one statement per batch; the history
-- already folded is counted here (the fold lock held: no fold runs meanwhile), the sales still
-- queued are counted by the next fold.
-- * purchase_by_time becomes purchase_by_time_buyer (created_at, supermarket_id, user_id): the
--   distinct customers of a period are read from the index alone, at the cost of the period's
--   sales, never the whole history's.

SELECT pg_advisory_xact_lock(462815235);

CREATE TABLE public.stat_branch_daily (
    supermarket_id text NOT NULL REFERENCES public.supermarket (id),
    day date NOT NULL,
    purchases bigint NOT NULL,
    revenue numeric(16, 2) NOT NULL,
    items bigint NOT NULL,
    -- Days first: a range of days over every branch reads one range of the index.
    PRIMARY KEY (day, supermarket_id)
);

CREATE TABLE public.stat_branch_product_daily (
    supermarket_id text NOT NULL REFERENCES public.supermarket (id),
    day date NOT NULL,
    product_id integer NOT NULL REFERENCES public.product (id),
    units bigint NOT NULL,
    revenue numeric(16, 2) NOT NULL,
    PRIMARY KEY (day, supermarket_id, product_id)
);

CREATE TABLE public.stat_branch_product_hourly (
    supermarket_id text NOT NULL REFERENCES public.supermarket (id),
    hour timestamptz NOT NULL,
    product_id integer NOT NULL REFERENCES public.product (id),
    units bigint NOT NULL,
    revenue numeric(16, 2) NOT NULL,
    PRIMARY KEY (hour, supermarket_id, product_id)
);

ALTER TABLE public.stat_branch_hourly ADD COLUMN items bigint NOT NULL DEFAULT 0;

-- The history already folded (what the counters hold), per line and per purchase.
-- A voided purchase counts nowhere; a refunded line is no unit sold and its money left the
-- revenue, at the purchase's time (retract_from_counters did the same to the other counters).
CREATE TEMPORARY TABLE folded_line ON COMMIT DROP AS
    SELECT p.supermarket_id, p.created_at, pp.product_id, pp.unit_price
    FROM public.purchase p JOIN public.purchase_product pp ON pp.purchase_id = p.id
    WHERE NOT EXISTS (SELECT 1 FROM public.purchase_unfolded u WHERE u.purchase_id = p.id)
      AND NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = p.id)
      AND NOT EXISTS (SELECT 1 FROM public.refund_line rl
                      WHERE rl.purchase_id = pp.purchase_id AND rl.product_id = pp.product_id);

INSERT INTO public.stat_branch_daily (supermarket_id, day, purchases, revenue, items)
SELECT p.supermarket_id, (p.created_at AT TIME ZONE 'UTC')::date, count(*),
       sum(p.total_amount - coalesce((SELECT sum(rl.amount) FROM public.refund_line rl
                                      WHERE rl.purchase_id = p.id), 0)),
       sum((SELECT count(*) FROM public.purchase_product pp WHERE pp.purchase_id = p.id
            AND NOT EXISTS (SELECT 1 FROM public.refund_line rl
                            WHERE rl.purchase_id = pp.purchase_id AND rl.product_id = pp.product_id)))
FROM public.purchase p
WHERE NOT EXISTS (SELECT 1 FROM public.purchase_unfolded u WHERE u.purchase_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM public.purchase_void v WHERE v.purchase_id = p.id)
GROUP BY 1, 2;

INSERT INTO public.stat_branch_product_daily (supermarket_id, day, product_id, units, revenue)
SELECT l.supermarket_id, (l.created_at AT TIME ZONE 'UTC')::date, l.product_id, count(*), sum(l.unit_price)
FROM folded_line l GROUP BY 1, 2, 3;

INSERT INTO public.stat_branch_product_hourly (supermarket_id, hour, product_id, units, revenue)
SELECT l.supermarket_id, date_trunc('hour', l.created_at, 'UTC'), l.product_id, count(*), sum(l.unit_price)
FROM folded_line l GROUP BY 1, 2, 3;

UPDATE public.stat_branch_hourly hr SET items = i.items
FROM (SELECT l.supermarket_id, date_trunc('hour', l.created_at, 'UTC') AS hour, count(*) AS items
      FROM folded_line l GROUP BY 1, 2) i
WHERE hr.supermarket_id = i.supermarket_id AND hr.hour = i.hour;

-- The hours at a period's edges, over every branch.
CREATE INDEX stat_branch_hourly_by_hour ON public.stat_branch_hourly (hour);

CREATE INDEX purchase_by_time_buyer ON public.purchase (created_at, supermarket_id, user_id);
DROP INDEX public.purchase_by_time;
-- A customer's drill-down reads their purchases only.
CREATE INDEX purchase_by_user ON public.purchase (user_id, created_at);

-- Folds as before, and the day counters and the hours' items too.
CREATE OR REPLACE FUNCTION public.fold_purchases(p_max_sales integer) RETURNS bigint
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
        SELECT p.id, p.user_id, p.supermarket_id, p.created_at, p.total_amount,
               (SELECT count(*) FROM public.purchase_product pp WHERE pp.purchase_id = p.id) AS items
        FROM public.purchase p JOIN batch b ON b.purchase_id = p.id
    ), line AS (
        SELECT s.supermarket_id, s.created_at, pp.product_id, pp.unit_price
        FROM public.purchase_product pp JOIN sale s ON s.id = pp.purchase_id
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
        INSERT INTO public.stat_branch_hourly AS hr (supermarket_id, hour, purchases, revenue, items)
        SELECT s.supermarket_id, date_trunc('hour', s.created_at, 'UTC'), count(*), sum(s.total_amount), sum(s.items)
        FROM sale s GROUP BY 1, 2
        ON CONFLICT (supermarket_id, hour) DO UPDATE
            SET purchases = hr.purchases + excluded.purchases, revenue = hr.revenue + excluded.revenue,
                items = hr.items + excluded.items
    ), days AS (
        INSERT INTO public.stat_branch_daily AS d (supermarket_id, day, purchases, revenue, items)
        SELECT s.supermarket_id, (s.created_at AT TIME ZONE 'UTC')::date, count(*), sum(s.total_amount), sum(s.items)
        FROM sale s GROUP BY 1, 2
        ON CONFLICT (day, supermarket_id) DO UPDATE
            SET purchases = d.purchases + excluded.purchases, revenue = d.revenue + excluded.revenue,
                items = d.items + excluded.items
    ), product_days AS (
        INSERT INTO public.stat_branch_product_daily AS pd (supermarket_id, day, product_id, units, revenue)
        SELECT l.supermarket_id, (l.created_at AT TIME ZONE 'UTC')::date, l.product_id, count(*), sum(l.unit_price)
        FROM line l GROUP BY 1, 2, 3
        ON CONFLICT (day, supermarket_id, product_id) DO UPDATE
            SET units = pd.units + excluded.units, revenue = pd.revenue + excluded.revenue
    ), product_hours AS (
        INSERT INTO public.stat_branch_product_hourly AS ph (supermarket_id, hour, product_id, units, revenue)
        SELECT l.supermarket_id, date_trunc('hour', l.created_at, 'UTC'), l.product_id, count(*), sum(l.unit_price)
        FROM line l GROUP BY 1, 2, 3
        ON CONFLICT (hour, supermarket_id, product_id) DO UPDATE
            SET units = ph.units + excluded.units, revenue = ph.revenue + excluded.revenue
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
        SELECT l.supermarket_id, l.product_id, count(*) FROM line l GROUP BY 1, 2
        ON CONFLICT (supermarket_id, product_id) DO UPDATE SET units = bu.units + excluded.units
    )
    SELECT count(*) INTO v_folded FROM batch;
    RETURN v_folded;
END;
$$;

-- Retractions (voids, refunds) take their share out of the day-level counters too: the same
-- function as migration 5's, with the day counters' lines at its end.
CREATE OR REPLACE FUNCTION public.retract_from_counters(p_purchase_id bigint, p_product_ids integer[],
                                             p_amount numeric, p_whole boolean) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    v_old integer;
BEGIN
    SELECT pu.supermarket_id, pu.user_id, pu.created_at INTO p
    FROM public.purchase pu WHERE pu.id = p_purchase_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'retract_from_counters: unknown purchase %', p_purchase_id
            USING ERRCODE = 'ICV01';
    END IF;
    IF p_whole THEN
        UPDATE public.customer c SET purchases = c.purchases - 1
        WHERE c.user_id = p.user_id RETURNING c.purchases + 1 INTO v_old;
        UPDATE public.stat_customer_histogram h SET customers = h.customers - 1
        WHERE h.purchases = v_old;
        IF v_old > 1 THEN
            INSERT INTO public.stat_customer_histogram AS h (purchases, customers)
            VALUES (v_old - 1, 1)
            ON CONFLICT (purchases) DO UPDATE SET customers = h.customers + 1;
        END IF;

        SELECT cb.purchases INTO v_old FROM public.customer_branch cb
        WHERE cb.supermarket_id = p.supermarket_id AND cb.user_id = p.user_id;
        IF v_old = 1 THEN
            DELETE FROM public.customer_branch cb
            WHERE cb.supermarket_id = p.supermarket_id AND cb.user_id = p.user_id;
        ELSE
            UPDATE public.customer_branch cb SET purchases = cb.purchases - 1
            WHERE cb.supermarket_id = p.supermarket_id AND cb.user_id = p.user_id;
        END IF;
        UPDATE public.stat_branch_histogram bh SET customers = bh.customers - 1
        WHERE bh.supermarket_id = p.supermarket_id AND bh.purchases = v_old;
        IF v_old > 1 THEN
            INSERT INTO public.stat_branch_histogram AS bh (supermarket_id, purchases, customers)
            VALUES (p.supermarket_id, v_old - 1, 1)
            ON CONFLICT (supermarket_id, purchases) DO UPDATE SET customers = bh.customers + 1;
        END IF;

        p_product_ids := ARRAY(SELECT pp.product_id FROM public.purchase_product pp
                               WHERE pp.purchase_id = p_purchase_id);
        UPDATE public.stat_branch_totals t
        SET purchases = t.purchases - 1, revenue = t.revenue - p_amount,
            voids = t.voids + 1, voided = t.voided + p_amount
        WHERE t.supermarket_id = p.supermarket_id;
        UPDATE public.stat_branch_hourly hr
        SET purchases = hr.purchases - 1, revenue = hr.revenue - p_amount
        WHERE hr.supermarket_id = p.supermarket_id AND hr.hour = date_trunc('hour', p.created_at, 'UTC');
    ELSE
        UPDATE public.stat_branch_totals t
        SET revenue = t.revenue - p_amount, refunds = t.refunds + 1, refunded = t.refunded + p_amount
        WHERE t.supermarket_id = p.supermarket_id;
        UPDATE public.stat_branch_hourly hr SET revenue = hr.revenue - p_amount
        WHERE hr.supermarket_id = p.supermarket_id AND hr.hour = date_trunc('hour', p.created_at, 'UTC');
    END IF;
    UPDATE public.stat_product_units u SET units = u.units - 1
    WHERE u.product_id = ANY (p_product_ids);
    UPDATE public.stat_branch_product_units bu SET units = bu.units - 1
    WHERE bu.supermarket_id = p.supermarket_id AND bu.product_id = ANY (p_product_ids);
    -- The day-level counters (migration 6), at the purchase's UTC day and hour.
    UPDATE public.stat_branch_daily d
    SET purchases = d.purchases - CASE WHEN p_whole THEN 1 ELSE 0 END,
        revenue = d.revenue - p_amount, items = d.items - cardinality(p_product_ids)
    WHERE d.day = (p.created_at AT TIME ZONE 'UTC')::date AND d.supermarket_id = p.supermarket_id;
    UPDATE public.stat_branch_hourly hr SET items = hr.items - cardinality(p_product_ids)
    WHERE hr.supermarket_id = p.supermarket_id AND hr.hour = date_trunc('hour', p.created_at, 'UTC');
    UPDATE public.stat_branch_product_daily pd
    SET units = pd.units - 1, revenue = pd.revenue - pp.unit_price
    FROM public.purchase_product pp
    WHERE pp.purchase_id = p_purchase_id AND pp.product_id = ANY (p_product_ids)
      AND pd.day = (p.created_at AT TIME ZONE 'UTC')::date AND pd.supermarket_id = p.supermarket_id
      AND pd.product_id = pp.product_id;
    UPDATE public.stat_branch_product_hourly ph
    SET units = ph.units - 1, revenue = ph.revenue - pp.unit_price
    FROM public.purchase_product pp
    WHERE pp.purchase_id = p_purchase_id AND pp.product_id = ANY (p_product_ids)
      AND ph.hour = date_trunc('hour', p.created_at, 'UTC') AND ph.supermarket_id = p.supermarket_id
      AND ph.product_id = pp.product_id;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'icash_owner') THEN
        GRANT SELECT ON public.stat_branch_daily, public.stat_branch_product_daily,
            public.stat_branch_product_hourly TO icash_owner;
    END IF;
END
$$;

ALTER TABLE public.stat_branch_daily OWNER TO icash_app;
ALTER TABLE public.stat_branch_product_daily OWNER TO icash_app;
ALTER TABLE public.stat_branch_product_hourly OWNER TO icash_app;
