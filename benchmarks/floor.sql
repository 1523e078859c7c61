-- The floor: the 11 marts of the dbt project computed by one hand-written DuckDB script,
-- straight from the landing files, in one process (SPEC §3-§6). benchmarks/run.py replaces
-- the placeholders LANDING, SEEDS, AS_OF and OUT (each written with a leading dollar sign)
-- and runs the whole script on an in-memory connection; "full refresh <= 2x the floor".
--
-- Layout:
--   0. settings and macros
--   1. parameters and reference data (the seeds)
--   2. the four entities: each entity's CSV files and Parquet files read once (CSV as text,
--      typed here; Parquet columns used as typed by their writer, text ones typed like CSV),
--      the row rules of the loader (orchestration/ingest/contract.py + sql.py) applied, then
--      the latest good row per key (updated_at desc, then file name desc, then row desc)
--   3. per-partner and per-type facts (the dbt intermediate models, fused)
--   4. the marts, each written to OUT/<mart>.parquet
--
-- Money is summed as exact decimals like the dbt models (decimal(38,12)); only the published
-- figures are doubles.

-- ---------------------------------------------------------------------------------------
-- 0. settings and macros
-- ---------------------------------------------------------------------------------------
SET TimeZone = 'UTC';

-- A landing value as the loader types it. CSV columns are text; Parquet columns keep the
-- type their writer gave them and are only parsed when they are text (typeof() is folded
-- when a query is bound, so a typed column costs nothing).
-- trimmed text, NULL when blank
CREATE MACRO txt(x) AS nullif(trim(CAST(x AS VARCHAR)), '');
-- a value is given: not NULL and, for text, not blank
CREATE MACRO given(x) AS
    CASE WHEN typeof(x) = 'VARCHAR' THEN txt(x) IS NOT NULL ELSE x IS NOT NULL END;
CREATE MACRO as_date(x) AS
    CASE WHEN typeof(x) = 'VARCHAR' THEN try_cast(txt(x) AS DATE) ELSE try_cast(x AS DATE) END;
-- timestamps: text with an offset is converted to UTC
CREATE MACRO as_ts(x) AS
    CASE WHEN typeof(x) = 'VARCHAR' THEN CAST(try_cast(txt(x) AS TIMESTAMPTZ) AS TIMESTAMP)
    ELSE try_cast(x AS TIMESTAMP) END;
CREATE MACRO as_money(x) AS
    CASE WHEN typeof(x) = 'VARCHAR' THEN try_cast(txt(x) AS DECIMAL(18, 2))
    ELSE try_cast(x AS DECIMAL(18, 2)) END;
-- the loader's boolean words
CREATE MACRO as_bool(x) AS
    CASE WHEN typeof(x) <> 'VARCHAR' THEN try_cast(x AS BOOLEAN)
    WHEN lower(txt(x)) IN ('true', 't', 'yes', 'y', '1') THEN true
    WHEN lower(txt(x)) IN ('false', 'f', 'no', 'n', '0') THEN false END;
-- a ';'-separated code list: items trimmed and cased, blanks dropped, NULL when empty
CREATE MACRO nonempty(l) AS CASE WHEN len(l) > 0 THEN l END;
CREATE MACRO codes_upper(x) AS
    nonempty(list_filter(list_transform(string_split(txt(x), ';'), lambda e: upper(trim(e))),
                         lambda e: e <> ''));
CREATE MACRO codes_lower(x) AS
    nonempty(list_filter(list_transform(string_split(txt(x), ';'), lambda e: lower(trim(e))),
                         lambda e: e <> ''));
CREATE MACRO month_start(d) AS CAST(date_trunc('month', d) AS DATE);
-- a / b as a double, NULL when b is 0 or NULL (an empty whole gives NULL)
CREATE MACRO safe_div(a, b) AS CAST(a AS DOUBLE) / nullif(CAST(b AS DOUBLE), 0);

-- ---------------------------------------------------------------------------------------
-- 1. parameters and reference data
-- ---------------------------------------------------------------------------------------
CREATE TABLE params AS
SELECT
    as_of_date,
    window_days,
    CAST(as_of_date - window_days AS DATE) AS window_start,
    growth_stage,
    vendor_name
FROM (
    SELECT
        DATE '$AS_OF' AS as_of_date,
        CAST(coalesce(CAST(txt(activity_window_days) AS INTEGER), 365) AS INTEGER)
            AS window_days,
        lower(trim(growth_stage)) AS growth_stage,
        vendor_name
    FROM read_csv('$SEEDS/vendor_profile.csv', header = true, all_varchar = true)
);

CREATE TABLE countries AS
SELECT upper(trim(country_code)) AS country_code, region
FROM read_csv('$SEEDS/countries.csv', header = true, all_varchar = true);

CREATE TABLE ref_countries AS
SELECT DISTINCT country_code AS code FROM countries WHERE country_code <> '';

CREATE TABLE ref_verticals AS
SELECT DISTINCT lower(trim(vertical_code)) AS code
FROM read_csv('$SEEDS/verticals.csv', header = true, all_varchar = true)
WHERE lower(trim(vertical_code)) <> '';

CREATE TABLE type_aliases AS
SELECT lower(trim(alias)) AS type_code, lower(trim(partner_type)) AS partner_type
FROM read_csv('$SEEDS/partner_type_aliases.csv', header = true, all_varchar = true);

-- the loader accepts the canonical types of the contract and every alias of the seed
CREATE TABLE ref_partner_types AS
SELECT code FROM (VALUES ('reseller'), ('distributor'), ('msp'), ('isv'),
    ('system_integrator'), ('oem'), ('referral'), ('strategic_alliance')) AS t(code)
UNION
SELECT type_code FROM type_aliases WHERE type_code <> '';

-- the partner types of the marts (partner_types seed) and every name that maps to one
CREATE TABLE partner_types AS
SELECT lower(trim(partner_type)) AS partner_type
FROM read_csv('$SEEDS/partner_types.csv', header = true, all_varchar = true);

CREATE TABLE type_map AS
SELECT partner_type AS type_code, partner_type FROM partner_types
UNION
SELECT a.type_code, a.partner_type
FROM type_aliases AS a
JOIN partner_types AS t ON a.partner_type = t.partner_type;

CREATE TABLE fx_seed AS
SELECT
    upper(trim(currency)) AS currency,
    CAST(month AS DATE) AS month,
    CAST(usd_per_unit AS DOUBLE) AS usd_per_unit
FROM read_csv('$SEEDS/fx_rates.csv', header = true, all_varchar = true)
WHERE try_cast(usd_per_unit AS DOUBLE) > 0;

-- the loader's FX rule: a currency needs a rate for the row's month or an earlier one
CREATE TABLE fx_first AS
SELECT currency, min(month) AS first_month FROM fx_seed WHERE currency <> 'USD' GROUP BY 1
UNION ALL
SELECT 'USD', DATE '0001-01-01';

-- a dense monthly rate per currency (720 months from its first rate), carrying the latest
-- rate at or before each month
CREATE TABLE fx_monthly AS
WITH rates AS (
    SELECT currency, month_start(month) AS rate_month,
        CAST(usd_per_unit AS DECIMAL(18, 10)) AS usd_per_unit
    FROM fx_seed
),
months AS (
    SELECT currency, CAST(min(rate_month) AS DATE) AS first_month FROM rates GROUP BY 1
),
dense AS (
    SELECT currency, CAST(first_month + to_months(CAST(i AS INTEGER)) AS DATE) AS fx_month
    FROM months, range(720) AS t(i)
)
SELECT dense.currency, dense.fx_month, rates.usd_per_unit
FROM dense
ASOF JOIN rates ON dense.currency = rates.currency AND dense.fx_month >= rates.rate_month;

CREATE TABLE cells AS
SELECT
    upper(trim(s.country_code)) AS country_code,
    lower(trim(s.segment)) AS segment,
    lower(trim(s.vertical)) AS vertical,
    c.region,
    lower(trim(s.coverage_model)) AS coverage_model,
    lower(trim(s.coverage_model)) <> 'direct' AS is_targeted,
    CAST(s.addressable_accounts AS BIGINT) AS addressable_accounts,
    CAST(s.addressable_revenue_usd AS DECIMAL(18, 2)) AS addressable_revenue_usd,
    CAST(s.target_coverage_pct AS DECIMAL(9, 6)) AS target_coverage_pct
FROM read_csv('$SEEDS/market_segments.csv', header = true, all_varchar = true) AS s
LEFT JOIN countries AS c ON upper(trim(s.country_code)) = c.country_code;

-- ---------------------------------------------------------------------------------------
-- 2. the entities. Per entity, the views <entity>_csv and <entity>_pq give the rows of its
--    files with file name and row number, and the table macro <entity>_typed types either
--    like the loader. A row that breaks a rule is dropped before the latest row per key is
--    picked (the loader sends it to the rejects and never upserts it). The rules sit in one
--    CASE so that DuckDB evaluates them once, after typing: as separate filters they would
--    be pushed into the scan and the trimmed codes derived twice. Only the keys that occur
--    more than once in the files are ranked.
-- ---------------------------------------------------------------------------------------

-- partners ------------------------------------------------------------------------------
CREATE VIEW partners_csv AS
SELECT filename AS _file, row_number() OVER () AS _row, * EXCLUDE (filename)
FROM read_csv('$LANDING/partners/*.csv', header = true, all_varchar = true, delim = ',',
    quote = '"', escape = '"', union_by_name = true, filename = true);

CREATE VIEW partners_pq AS
SELECT filename AS _file, file_row_number AS _row, * EXCLUDE (filename, file_row_number)
FROM read_parquet('$LANDING/partners/*.parquet', union_by_name = true, filename = true,
    file_row_number = true);

CREATE MACRO partners_typed(src) AS TABLE
SELECT
    * EXCLUDE (is_strategic_given, enrolled_on_given, terminated_on_given),
    (NOT is_strategic_given OR is_strategic IS NOT NULL)
    AND (NOT enrolled_on_given OR enrolled_on IS NOT NULL)
    AND (NOT terminated_on_given OR terminated_on IS NOT NULL) AS types_ok
FROM (
    SELECT
        _file,
        _row,
        txt(partner_id) AS partner_id,
        txt(partner_name) AS partner_name,
        lower(txt(partner_type)) AS partner_type_code,
        lower(txt(tier)) AS tier,
        lower(txt(program_status)) AS program_status,
        CASE WHEN given(is_strategic) THEN as_bool(is_strategic) ELSE false END
            AS is_strategic,
        given(is_strategic) AS is_strategic_given,
        upper(txt(hq_country)) AS hq_country,
        codes_upper(countries_served) AS countries_served,
        codes_lower(segments_served) AS segments_served,
        codes_lower(verticals_served) AS verticals_served,
        as_date(applied_on) AS applied_on,
        as_date(enrolled_on) AS enrolled_on,
        given(enrolled_on) AS enrolled_on_given,
        as_date(terminated_on) AS terminated_on,
        given(terminated_on) AS terminated_on_given,
        as_ts(updated_at) AS updated_at
    FROM query_table(src)
);

CREATE TABLE partners_raw AS
WITH good AS (
    SELECT * FROM (
        SELECT * FROM partners_typed('partners_csv')
        UNION ALL BY NAME
        SELECT * FROM partners_typed('partners_pq')
    )
    WHERE CASE WHEN types_ok
        AND partner_id IS NOT NULL
        AND partner_name IS NOT NULL
        AND applied_on IS NOT NULL
        AND updated_at IS NOT NULL
        AND partner_type_code IN (SELECT code FROM ref_partner_types)
        AND (tier IS NULL OR tier IN ('registered', 'silver', 'gold', 'platinum'))
        AND (program_status IS NULL
            OR program_status IN ('applied', 'enrolled', 'suspended', 'terminated'))
        AND (hq_country IS NULL OR hq_country IN (SELECT code FROM ref_countries))
        AND (countries_served IS NULL
            OR list_has_all((SELECT list(code) FROM ref_countries), countries_served))
        AND (segments_served IS NULL
            OR list_has_all(['smb', 'mid_market', 'enterprise'], segments_served))
        AND (verticals_served IS NULL
            OR list_has_all((SELECT list(code) FROM ref_verticals), verticals_served))
    THEN true ELSE false END
),
latest AS (
    SELECT * FROM good
    QUALIFY row_number() OVER (
        PARTITION BY partner_id ORDER BY updated_at DESC, _file DESC, _row DESC) = 1
)
SELECT latest.* EXCLUDE (_file, _row, types_ok), m.partner_type
FROM latest
LEFT JOIN type_map AS m ON latest.partner_type_code = m.type_code;

-- certifications ------------------------------------------------------------------------
CREATE VIEW certifications_csv AS
SELECT filename AS _file, row_number() OVER () AS _row, * EXCLUDE (filename)
FROM read_csv('$LANDING/certifications/*.csv', header = true, all_varchar = true,
    delim = ',', quote = '"', escape = '"', union_by_name = true, filename = true);

CREATE VIEW certifications_pq AS
SELECT filename AS _file, file_row_number AS _row, * EXCLUDE (filename, file_row_number)
FROM read_parquet('$LANDING/certifications/*.parquet', union_by_name = true,
    filename = true, file_row_number = true);

CREATE MACRO certifications_typed(src) AS TABLE
SELECT
    * EXCLUDE (expires_on_given),
    NOT expires_on_given OR expires_on IS NOT NULL AS types_ok
FROM (
    SELECT
        _file,
        _row,
        txt(certification_id) AS certification_id,
        txt(partner_id) AS partner_id,
        txt(person_id) AS person_id,
        txt(track) AS track,
        lower(txt(vertical)) AS vertical,
        lower(txt(level)) AS level,
        as_date(earned_on) AS earned_on,
        as_date(expires_on) AS expires_on,
        given(expires_on) AS expires_on_given,
        as_ts(updated_at) AS updated_at
    FROM query_table(src)
);

CREATE TABLE certifications_good AS
SELECT _file, _row, certification_id, partner_id, person_id, vertical, earned_on, expires_on,
    updated_at
FROM (
    SELECT * FROM certifications_typed('certifications_csv')
    UNION ALL BY NAME
    SELECT * FROM certifications_typed('certifications_pq')
)
WHERE CASE WHEN types_ok
    AND certification_id IS NOT NULL
    AND person_id IS NOT NULL
    AND earned_on IS NOT NULL
    AND updated_at IS NOT NULL
    AND (vertical IS NULL OR vertical IN (SELECT code FROM ref_verticals))
    AND (level IS NULL OR level IN ('associate', 'professional', 'expert'))
    AND NOT coalesce(expires_on <= earned_on, false)
    AND partner_id IN (SELECT partner_id FROM partners_raw)
THEN true ELSE false END;

CREATE TABLE certifications AS
WITH dup AS (SELECT certification_id FROM certifications_good GROUP BY 1 HAVING count(*) > 1),
latest AS (
    SELECT * FROM certifications_good ANTI JOIN dup USING (certification_id)
    UNION ALL
    SELECT * FROM (
        SELECT * FROM certifications_good SEMI JOIN dup USING (certification_id)
        QUALIFY row_number() OVER (
            PARTITION BY certification_id ORDER BY updated_at DESC, _file DESC, _row DESC) = 1
    )
)
SELECT
    certification_id, partner_id, person_id, vertical, earned_on, expires_on,
    earned_on <= params.as_of_date
    AND (expires_on IS NULL OR expires_on > params.as_of_date) AS is_valid
FROM latest, params;
DROP TABLE certifications_good;

-- partners with canonical type, region and capacity at D (int_partners)
CREATE TABLE partners AS
WITH capacity AS (
    SELECT partner_id, count(DISTINCT person_id) AS capacity
    FROM certifications WHERE is_valid GROUP BY 1
)
SELECT
    p.partner_id, p.partner_name, p.partner_type, p.tier, p.program_status,
    coalesce(p.is_strategic, false) AS is_strategic,
    p.hq_country, c.region,
    list_distinct(CASE
        WHEN p.countries_served IS NOT NULL THEN p.countries_served
        WHEN p.hq_country IS NOT NULL THEN [p.hq_country] END) AS countries,
    list_distinct(p.segments_served) AS segments,
    list_distinct(p.verticals_served) AS verticals,
    p.verticals_served IS NULL AS is_generalist,
    p.applied_on, p.enrolled_on, p.terminated_on,
    coalesce(capacity.capacity, 0) AS capacity
FROM partners_raw AS p
LEFT JOIN countries AS c ON p.hq_country = c.country_code
LEFT JOIN capacity ON p.partner_id = capacity.partner_id;

-- deals ---------------------------------------------------------------------------------
CREATE VIEW deals_csv AS
SELECT filename AS _file, row_number() OVER () AS _row, * EXCLUDE (filename)
FROM read_csv('$LANDING/deals/*.csv', header = true, all_varchar = true, delim = ',',
    quote = '"', escape = '"', union_by_name = true, filename = true);

CREATE VIEW deals_pq AS
SELECT filename AS _file, file_row_number AS _row, * EXCLUDE (filename, file_row_number)
FROM read_parquet('$LANDING/deals/*.parquet', union_by_name = true, filename = true,
    file_row_number = true);

CREATE MACRO deals_typed(src) AS TABLE
SELECT
    * EXCLUDE (amount_given, registered_on_given, closed_on_given),
    (NOT amount_given OR amount IS NOT NULL)
    AND (NOT registered_on_given OR registered_on IS NOT NULL)
    AND (NOT closed_on_given OR closed_on IS NOT NULL) AS types_ok
FROM (
    SELECT
        _file,
        _row,
        txt(deal_id) AS deal_id,
        txt(partner_id) AS partner_id,
        lower(txt(deal_source)) AS deal_source,
        txt(account_id) AS account_id,
        upper(txt(account_country)) AS account_country,
        lower(txt(account_segment)) AS account_segment,
        lower(txt(account_vertical)) AS account_vertical,
        txt(product_line) AS product_line,
        as_money(amount) AS amount,
        given(amount) AS amount_given,
        upper(txt(currency)) AS currency,
        lower(txt(stage)) AS stage,
        as_date(registered_on) AS registered_on,
        given(registered_on) AS registered_on_given,
        as_date(closed_on) AS closed_on,
        given(closed_on) AS closed_on_given,
        as_ts(updated_at) AS updated_at
    FROM query_table(src)
);

-- keys that occur more than once in the files (only their rows need ranking)
CREATE TABLE deals_dup AS
SELECT deal_id FROM (
    SELECT txt(deal_id) AS deal_id FROM deals_csv
    UNION ALL
    SELECT txt(deal_id) FROM deals_pq
)
GROUP BY 1 HAVING count(*) > 1;

-- the good rows with amount_usd (int_deals); the partner's type and the FX rate come with
-- the lookups of the FK and FX rules
CREATE TABLE deals_good AS
SELECT
    r.deal_id,
    r.partner_id,
    p.partner_type,
    r.deal_source,
    r.partner_id IS NOT NULL
        AND r.deal_source IN ('partner_sourced', 'partner_influenced') AS is_partner_deal,
    r.stage = 'won' AND r.closed_on IS NOT NULL AS is_won,
    r.account_id,
    r.registered_on,
    r.closed_on,
    CAST(CASE WHEN r.currency = 'USD' THEN r.amount
        ELSE CAST(r.amount AS DECIMAL(38, 2)) * rate.usd_per_unit END AS DECIMAL(38, 12))
        AS amount_usd,
    dup.deal_id IS NOT NULL AS _dup,
    r.updated_at AS _updated_at,
    r._file,
    r._row
FROM (
    SELECT * FROM deals_typed('deals_csv')
    UNION ALL BY NAME
    SELECT * FROM deals_typed('deals_pq')
) AS r
LEFT JOIN deals_dup AS dup ON r.deal_id = dup.deal_id
LEFT JOIN partners_raw AS p ON r.partner_id = p.partner_id
LEFT JOIN fx_first AS fx ON r.currency = fx.currency
LEFT JOIN fx_monthly AS rate
    ON r.currency = rate.currency
    AND month_start(coalesce(r.closed_on, r.registered_on, CAST(r.updated_at AS DATE)))
        = rate.fx_month
WHERE CASE WHEN r.types_ok
    AND r.deal_id IS NOT NULL
    AND r.account_id IS NOT NULL
    AND r.product_line IS NOT NULL
    AND r.updated_at IS NOT NULL
    AND (r.deal_source IS NULL
        OR r.deal_source IN ('partner_sourced', 'partner_influenced', 'direct'))
    AND (r.account_country IS NULL OR r.account_country IN (SELECT code FROM ref_countries))
    AND (r.account_segment IS NULL OR r.account_segment IN ('smb', 'mid_market', 'enterprise'))
    AND (r.account_vertical IS NULL OR r.account_vertical IN (SELECT code FROM ref_verticals))
    AND (r.stage IS NULL
        OR r.stage IN ('registered', 'approved', 'rejected', 'won', 'lost', 'expired'))
    AND (r.partner_id IS NULL OR r.registered_on IS NOT NULL)
    AND NOT coalesce(r.stage IN ('won', 'lost') AND r.closed_on IS NULL, false)
    AND NOT coalesce(r.closed_on < r.registered_on, false)
    AND NOT coalesce(r.amount < 0, false)
    AND (r.amount IS NULL OR r.currency IS NOT NULL)
    AND (r.partner_id IS NULL OR p.partner_id IS NOT NULL)
    AND NOT coalesce(r.currency IS NOT NULL AND (fx.first_month IS NULL
        OR month_start(coalesce(r.closed_on, r.registered_on, CAST(r.updated_at AS DATE)))
            < fx.first_month), false)
THEN true ELSE false END;

-- the latest good row per deal (only the keys that occur more than once are ranked)
CREATE TABLE deals AS
SELECT * EXCLUDE (_dup, _updated_at, _file, _row) FROM deals_good WHERE NOT _dup
UNION ALL
SELECT * EXCLUDE (_dup, _updated_at, _file, _row) FROM (
    SELECT * FROM deals_good WHERE _dup
    QUALIFY row_number() OVER (
        PARTITION BY deal_id ORDER BY _updated_at DESC, _file DESC, _row DESC) = 1
);
DROP TABLE deals_good;

-- per partner over its partner deals: first win ever, latest activity by D, window revenue
CREATE TABLE partner_deal_facts AS
SELECT
    d.partner_id,
    min(CASE WHEN d.is_won THEN d.closed_on END) AS first_win_on,
    greatest(
        max(CASE WHEN d.registered_on <= params.as_of_date THEN d.registered_on END),
        max(CASE WHEN d.is_won AND d.closed_on <= params.as_of_date THEN d.closed_on END)
    ) AS last_event_on,
    sum(CASE WHEN d.is_won AND d.closed_on > params.window_start
        AND d.closed_on <= params.as_of_date THEN d.amount_usd END) AS partner_revenue_usd,
    sum(CASE WHEN d.is_won AND d.closed_on > params.window_start
        AND d.closed_on <= params.as_of_date AND d.deal_source = 'partner_sourced'
        THEN d.amount_usd END) AS partner_sourced_revenue_usd
FROM deals AS d, params
WHERE d.is_partner_deal
GROUP BY d.partner_id;

-- incentives ----------------------------------------------------------------------------
CREATE VIEW incentives_csv AS
SELECT filename AS _file, row_number() OVER () AS _row, * EXCLUDE (filename)
FROM read_csv('$LANDING/incentives/*.csv', header = true, all_varchar = true, delim = ',',
    quote = '"', escape = '"', union_by_name = true, filename = true);

CREATE VIEW incentives_pq AS
SELECT filename AS _file, file_row_number AS _row, * EXCLUDE (filename, file_row_number)
FROM read_parquet('$LANDING/incentives/*.parquet', union_by_name = true, filename = true,
    file_row_number = true);

CREATE MACRO incentives_typed(src) AS TABLE
SELECT
    * EXCLUDE (amount_given, paid_on_given),
    (NOT amount_given OR amount IS NOT NULL)
    AND (NOT paid_on_given OR paid_on IS NOT NULL) AS types_ok
FROM (
    SELECT
        _file,
        _row,
        txt(incentive_id) AS incentive_id,
        txt(partner_id) AS partner_id,
        lower(txt(program)) AS program,
        as_money(amount) AS amount,
        given(amount) AS amount_given,
        upper(txt(currency)) AS currency,
        lower(txt(status)) AS status,
        as_date(approved_on) AS approved_on,
        as_date(paid_on) AS paid_on,
        given(paid_on) AS paid_on_given,
        as_ts(updated_at) AS updated_at
    FROM query_table(src)
);

CREATE TABLE incentives_dup AS
SELECT incentive_id FROM (
    SELECT txt(incentive_id) AS incentive_id FROM incentives_csv
    UNION ALL
    SELECT txt(incentive_id) FROM incentives_pq
)
GROUP BY 1 HAVING count(*) > 1;

-- the good rows in USD with their investment category (int_incentives)
CREATE TABLE incentives_good AS
SELECT
    r.incentive_id,
    r.partner_id,
    p.partner_type,
    r.approved_on,
    r.status IN ('approved', 'paid') AS is_investment,
    CAST(CASE WHEN r.currency = 'USD' THEN r.amount
        ELSE CAST(r.amount AS DECIMAL(38, 2)) * rate.usd_per_unit END AS DECIMAL(38, 12))
        AS amount_usd,
    CASE
        WHEN p.is_strategic THEN 'strategic'
        WHEN p.enrolled_on IS NULL OR r.approved_on < p.enrolled_on THEN 'acquisition'
        WHEN f.first_win_on IS NULL OR f.first_win_on > r.approved_on THEN 'activation'
        ELSE 'development'
    END AS investment_category,
    dup.incentive_id IS NOT NULL AS _dup,
    r.updated_at AS _updated_at,
    r._file,
    r._row
FROM (
    SELECT * FROM incentives_typed('incentives_csv')
    UNION ALL BY NAME
    SELECT * FROM incentives_typed('incentives_pq')
) AS r
LEFT JOIN incentives_dup AS dup ON r.incentive_id = dup.incentive_id
LEFT JOIN partners_raw AS p ON r.partner_id = p.partner_id
LEFT JOIN partner_deal_facts AS f ON r.partner_id = f.partner_id
LEFT JOIN fx_first AS fx ON r.currency = fx.currency
LEFT JOIN fx_monthly AS rate
    ON r.currency = rate.currency AND month_start(r.approved_on) = rate.fx_month
WHERE CASE WHEN r.types_ok
    AND r.incentive_id IS NOT NULL
    AND r.approved_on IS NOT NULL
    AND r.updated_at IS NOT NULL
    AND (r.program IS NULL OR r.program IN ('mdf', 'rebate', 'spiff', 'commission',
        'enablement', 'recruitment_bonus', 'co_marketing'))
    AND (r.status IS NULL OR r.status IN ('accrued', 'approved', 'paid', 'clawed_back'))
    AND NOT coalesce(r.amount < 0, false)
    AND (r.amount IS NULL OR r.currency IS NOT NULL)
    AND p.partner_id IS NOT NULL
    AND NOT coalesce(r.currency IS NOT NULL AND (fx.first_month IS NULL
        OR month_start(r.approved_on) < fx.first_month), false)
THEN true ELSE false END;

-- the latest good row per incentive
CREATE TABLE incentives AS
SELECT * EXCLUDE (_dup, _updated_at, _file, _row) FROM incentives_good WHERE NOT _dup
UNION ALL
SELECT * EXCLUDE (_dup, _updated_at, _file, _row) FROM (
    SELECT * FROM incentives_good WHERE _dup
    QUALIFY row_number() OVER (
        PARTITION BY incentive_id ORDER BY _updated_at DESC, _file DESC, _row DESC) = 1
);
DROP TABLE incentives_good;

-- ---------------------------------------------------------------------------------------
-- 3. facts per partner and per type
-- ---------------------------------------------------------------------------------------

-- every partner's status at D (int_partner_status)
CREATE TABLE partner_status AS
WITH investment AS (
    SELECT partner_id, sum(amount_usd) AS investment_usd
    FROM incentives, params
    WHERE is_investment AND approved_on > params.window_start
        AND approved_on <= params.as_of_date
    GROUP BY 1
),
flagged AS (
    SELECT
        p.*,
        coalesce(p.enrolled_on <= params.as_of_date
            AND (p.terminated_on IS NULL OR p.terminated_on > params.as_of_date), false)
            AS is_enrolled,
        CASE WHEN p.enrolled_on IS NOT NULL THEN f.last_event_on END AS last_event_on,
        CASE WHEN p.enrolled_on IS NOT NULL AND f.first_win_on <= params.as_of_date
            THEN f.first_win_on END AS first_win_on,
        f.partner_revenue_usd,
        f.partner_sourced_revenue_usd,
        investment.investment_usd,
        params.window_start
    FROM partners AS p
    CROSS JOIN params
    LEFT JOIN partner_deal_facts AS f ON p.partner_id = f.partner_id
    LEFT JOIN investment ON p.partner_id = investment.partner_id
)
SELECT
    * EXCLUDE (partner_revenue_usd, partner_sourced_revenue_usd, investment_usd, window_start),
    is_enrolled AND coalesce(program_status, '') <> 'suspended' AND capacity > 0
        AS is_qualified,
    is_enrolled AND coalesce(last_event_on > window_start, false) AS is_active,
    date_diff('day', enrolled_on, first_win_on) AS days_to_first_win,
    coalesce(partner_revenue_usd, 0) AS partner_revenue_usd,
    coalesce(partner_sourced_revenue_usd, 0) AS partner_sourced_revenue_usd,
    coalesce(investment_usd, 0) AS investment_usd
FROM flagged;

-- the measurement dates: every month end from the first month with data to D's month, and D
CREATE TABLE periods AS
WITH first_event AS (
    SELECT min(e) AS e FROM (
        SELECT enrolled_on AS e FROM partners_raw
        UNION ALL SELECT registered_on FROM deals WHERE is_partner_deal
        UNION ALL SELECT closed_on FROM deals WHERE is_partner_deal AND is_won
        UNION ALL SELECT approved_on FROM incentives
    ), params
    WHERE e <= params.as_of_date
),
ends AS (
    SELECT last_day(CAST(month_start(first_event.e) + to_months(CAST(i AS INTEGER)) AS DATE))
            AS period_end,
        true AS is_month_end, false AS is_as_of
    FROM first_event, params, range(1200) AS t(i)
    WHERE CAST(month_start(first_event.e) + to_months(CAST(i AS INTEGER)) AS DATE)
        <= params.as_of_date
    UNION ALL
    SELECT as_of_date, false, true FROM params
)
SELECT
    period_end,
    month_start(period_end) AS period_month,
    CAST(period_end - params.window_days AS DATE) AS window_start,
    bool_or(is_month_end) AS is_month_end,
    bool_or(is_as_of) AS is_as_of
FROM ends, params
GROUP BY period_end, params.window_days;

-- additive facts per type and day; a NULL type holds the direct new customers
-- (int_daily_type_facts)
CREATE TABLE facts AS
WITH first_wins AS (
    SELECT min({'closed_on': closed_on, 'deal_id': deal_id,
        'is_partner_deal': is_partner_deal, 'partner_type': partner_type}) AS w
    FROM deals WHERE is_won GROUP BY account_id
)
SELECT partner_type, closed_on AS fact_on,
    sum(amount_usd) AS revenue,
    sum(CASE WHEN deal_source = 'partner_sourced' THEN amount_usd END) AS sourced,
    CAST(0 AS DECIMAL(38, 12)) AS investment,
    0 AS new_customers
FROM deals WHERE is_partner_deal AND is_won GROUP BY ALL
UNION ALL
SELECT partner_type, approved_on, 0, 0, sum(amount_usd), 0
FROM incentives WHERE is_investment GROUP BY ALL
UNION ALL
SELECT CASE WHEN w.is_partner_deal THEN w.partner_type END, w.closed_on, 0, 0, 0, count(*)
FROM first_wins GROUP BY ALL;

-- the productivity measures per partner type and measurement date P, with D = P
-- (int_partner_periods, int_daily_type_facts, int_productivity_periods)
CREATE TABLE productivity AS
WITH enrolled_partners AS (
    SELECT p.partner_id, p.partner_type, p.enrolled_on, p.terminated_on, f.first_win_on
    FROM partners AS p
    LEFT JOIN partner_deal_facts AS f ON p.partner_id = f.partner_id
    WHERE p.enrolled_on IS NOT NULL
),
-- each activity event goes to the first measurement date on or after it
buckets AS (
    SELECT
        partner_id,
        CASE WHEN e <= params.as_of_date AND month_start(e) = month_start(params.as_of_date)
            THEN params.as_of_date ELSE last_day(e) END AS period_end,
        max(e) AS last_event_on
    FROM (
        SELECT partner_id, registered_on AS e FROM deals
        WHERE is_partner_deal AND registered_on IS NOT NULL
        UNION ALL
        SELECT partner_id, closed_on FROM deals WHERE is_partner_deal AND is_won
    ), params
    GROUP BY ALL
),
-- the enrolled partners at each P, with their latest activity on or before P: that of the
-- latest bucket on or before P
enrolled_at AS (
    SELECT
        ep.partner_type,
        pe.period_end,
        b.last_event_on > pe.window_start AS is_active,
        CASE WHEN ep.first_win_on <= pe.period_end
            THEN date_diff('day', ep.enrolled_on, ep.first_win_on) END AS days_to_first_win
    FROM enrolled_partners AS ep
    JOIN periods AS pe
        ON pe.period_end >= ep.enrolled_on
        AND pe.period_end < coalesce(ep.terminated_on, DATE '9999-12-31')
    ASOF LEFT JOIN buckets AS b
        ON ep.partner_id = b.partner_id AND pe.period_end >= b.period_end
),
partner_measures AS (
    SELECT
        partner_type,
        period_end,
        count(*) AS enrolled_partners,
        count(*) FILTER (WHERE is_active) AS active_partners,
        median(days_to_first_win) AS median_days_to_first_win
    FROM enrolled_at
    GROUP BY ALL
),
window_measures AS (
    SELECT
        facts.partner_type,
        pe.period_end,
        sum(facts.revenue) AS partner_revenue_usd,
        sum(facts.sourced) AS partner_sourced_revenue_usd,
        sum(facts.investment) AS investment_usd,
        sum(facts.new_customers) AS new_customers
    FROM periods AS pe
    JOIN facts ON facts.fact_on > pe.window_start AND facts.fact_on <= pe.period_end
    GROUP BY ALL
),
all_new_customers AS (
    SELECT period_end, sum(new_customers) AS all_new_customers
    FROM window_measures GROUP BY 1
),
joined AS (
    SELECT
        t.partner_type,
        pe.period_end,
        pe.period_month,
        pe.window_start,
        pe.is_month_end,
        pe.is_as_of,
        coalesce(pm.enrolled_partners, 0) AS enrolled_partners,
        coalesce(pm.active_partners, 0) AS active_partners,
        coalesce(wm.partner_revenue_usd, 0) AS partner_revenue_usd,
        coalesce(wm.partner_sourced_revenue_usd, 0) AS partner_sourced_revenue_usd,
        CAST(coalesce(wm.new_customers, 0) AS BIGINT) AS new_customers,
        CAST(coalesce(an.all_new_customers, 0) AS BIGINT) AS all_new_customers,
        coalesce(wm.investment_usd, 0) AS investment_usd,
        pm.median_days_to_first_win
    FROM partner_types AS t
    CROSS JOIN periods AS pe
    LEFT JOIN partner_measures AS pm
        ON t.partner_type = pm.partner_type AND pe.period_end = pm.period_end
    LEFT JOIN window_measures AS wm
        ON t.partner_type = wm.partner_type AND pe.period_end = wm.period_end
    LEFT JOIN all_new_customers AS an ON pe.period_end = an.period_end
)
SELECT
    *,
    safe_div(active_partners, enrolled_partners) AS active_ratio,
    safe_div(partner_revenue_usd, active_partners) AS revenue_per_active_partner_usd,
    safe_div(new_customers, all_new_customers) AS new_customer_share,
    safe_div(partner_sourced_revenue_usd, investment_usd) AS roi_multiple
FROM joined;

-- which qualified partner covers which market cell
CREATE TABLE covering AS
WITH qualified AS (
    SELECT partner_id, capacity, is_generalist, verticals,
        unnest(countries) AS country_code, segments
    FROM partner_status WHERE is_qualified
),
served AS (
    SELECT partner_id, capacity, is_generalist, verticals, country_code,
        unnest(segments) AS segment
    FROM qualified
)
SELECT c.country_code, c.segment, c.vertical,
    count(*) AS covering_partners, sum(s.capacity) AS covering_capacity
FROM cells AS c
JOIN served AS s ON c.country_code = s.country_code AND c.segment = s.segment
WHERE s.is_generalist OR list_contains(s.verticals, c.vertical)
GROUP BY ALL;

-- ---------------------------------------------------------------------------------------
-- 4. the marts
-- ---------------------------------------------------------------------------------------
CREATE TABLE mart_coverage_cells AS
SELECT
    c.country_code,
    c.segment,
    c.vertical,
    c.region,
    c.coverage_model,
    c.is_targeted,
    c.addressable_accounts,
    CAST(c.addressable_revenue_usd AS DOUBLE) AS addressable_revenue_usd,
    CAST(c.target_coverage_pct AS DOUBLE) AS target_coverage_pct,
    coalesce(v.covering_partners, 0) AS covering_partners,
    CAST(coalesce(v.covering_capacity, 0) AS BIGINT) AS covering_capacity,
    coalesce(v.covering_partners, 0) > 0 AS is_covered
FROM cells AS c
LEFT JOIN covering AS v
    ON c.country_code = v.country_code AND c.segment = v.segment
    AND c.vertical = v.vertical;

CREATE TABLE mart_coverage_by_segment AS
WITH targeted AS (
    SELECT
        segment,
        CAST(sum(addressable_accounts) AS BIGINT) AS targeted_accounts,
        CAST(sum(CASE WHEN is_covered THEN addressable_accounts ELSE 0 END) AS BIGINT)
            AS covered_accounts,
        sum(addressable_accounts * CAST(target_coverage_pct AS DECIMAL(9, 6)))
            AS weighted_target
    FROM mart_coverage_cells WHERE is_targeted GROUP BY 1
)
SELECT
    s.segment,
    coalesce(t.targeted_accounts, 0) AS targeted_accounts,
    coalesce(t.covered_accounts, 0) AS covered_accounts,
    safe_div(t.covered_accounts, t.targeted_accounts) AS coverage_pct,
    safe_div(t.weighted_target, t.targeted_accounts) AS target_coverage_pct,
    safe_div(t.weighted_target, t.targeted_accounts)
        - safe_div(t.covered_accounts, t.targeted_accounts) AS coverage_gap_pct
FROM (SELECT DISTINCT segment FROM cells) AS s
LEFT JOIN targeted AS t ON s.segment = t.segment;

CREATE TABLE mart_coverage_by_geography AS
WITH countries_of_cells AS (
    SELECT country_code, max(region) AS region,
        sum(addressable_revenue_usd) AS addressable_revenue_usd
    FROM cells GROUP BY 1
),
serving AS (
    SELECT country_code, count(*) AS qualified_partners, sum(capacity) AS capacity
    FROM (SELECT unnest(countries) AS country_code, capacity
        FROM partner_status WHERE is_qualified)
    GROUP BY 1
)
SELECT
    c.country_code,
    c.region,
    CAST(c.addressable_revenue_usd AS DOUBLE) AS addressable_revenue_usd,
    coalesce(s.qualified_partners, 0) AS qualified_partners,
    CAST(coalesce(s.capacity, 0) AS BIGINT) AS capacity,
    safe_div(coalesce(s.qualified_partners, 0), c.addressable_revenue_usd / 100000000.0)
        AS partners_per_100m_usd,
    safe_div(coalesce(s.capacity, 0), c.addressable_revenue_usd / 100000000.0)
        AS capacity_per_100m_usd
FROM countries_of_cells AS c
LEFT JOIN serving AS s ON c.country_code = s.country_code;

CREATE TABLE mart_vertical_depth AS
WITH verticals AS (
    SELECT code AS vertical FROM ref_verticals
    UNION
    SELECT vertical FROM cells
),
revenue AS (
    SELECT vertical, sum(addressable_revenue_usd) AS addressable_revenue_usd
    FROM cells GROUP BY 1
),
depth AS (
    SELECT
        c.vertical,
        count(DISTINCT c.partner_id) AS specialist_partners,
        count(DISTINCT (c.partner_id, c.person_id)) AS specialist_capacity
    FROM certifications AS c
    JOIN partner_status AS p ON c.partner_id = p.partner_id
    WHERE p.is_qualified AND c.is_valid AND c.vertical IS NOT NULL
    GROUP BY 1
)
SELECT
    v.vertical,
    coalesce(d.specialist_partners, 0) AS specialist_partners,
    coalesce(d.specialist_capacity, 0) AS specialist_capacity,
    CAST(coalesce(r.addressable_revenue_usd, 0) AS DOUBLE) AS addressable_revenue_usd
FROM verticals AS v
LEFT JOIN depth AS d ON v.vertical = d.vertical
LEFT JOIN revenue AS r ON v.vertical = r.vertical;

CREATE TABLE mart_ecosystem_productivity AS
SELECT
    partner_type,
    period_end AS as_of_date,
    window_start,
    enrolled_partners,
    active_partners,
    active_ratio,
    CAST(partner_revenue_usd AS DOUBLE) AS partner_revenue_usd,
    revenue_per_active_partner_usd,
    CAST(partner_sourced_revenue_usd AS DOUBLE) AS partner_sourced_revenue_usd,
    new_customers,
    new_customer_share,
    CAST(investment_usd AS DOUBLE) AS investment_usd,
    roi_multiple,
    median_days_to_first_win
FROM productivity WHERE is_as_of;

CREATE TABLE mart_productivity_monthly AS
WITH months AS (
    SELECT pr.*
    FROM productivity AS pr, params
    WHERE pr.period_end <= params.as_of_date AND (pr.is_month_end OR pr.is_as_of)
),
first_data AS (
    SELECT min(fact_on) AS first_data_date FROM facts, params WHERE fact_on <= as_of_date
),
in_month AS (
    SELECT f.partner_type, m.period_end,
        sum(f.revenue) AS revenue, sum(f.sourced) AS sourced,
        sum(f.investment) AS investment, sum(f.new_customers) AS new_customers
    FROM (SELECT DISTINCT period_end, period_month FROM months) AS m
    JOIN facts AS f ON f.fact_on BETWEEN m.period_month AND m.period_end
    GROUP BY ALL
),
trailing_sums AS (
    SELECT f.partner_type, m.period_end,
        sum(f.revenue) AS revenue, sum(f.sourced) AS sourced,
        sum(f.investment) AS investment, sum(f.new_customers) AS new_customers
    FROM (SELECT DISTINCT period_end FROM months) AS m
    JOIN facts AS f
        ON f.fact_on > CAST(m.period_end - 365 AS DATE) AND f.fact_on <= m.period_end
    GROUP BY ALL
),
trailing_sums_all AS (
    SELECT period_end, sum(new_customers) AS new_customers FROM trailing_sums GROUP BY 1
),
enrolments AS (
    SELECT p.partner_type, m.period_end, count(*) AS partners
    FROM (SELECT DISTINCT period_end, period_month FROM months) AS m
    JOIN partners AS p ON p.enrolled_on BETWEEN m.period_month AND m.period_end
    GROUP BY ALL
),
labels AS (
    SELECT lower(trim(partner_type)) AS partner_type, partner_type_name,
        CAST(sort_order AS INTEGER) AS sort_order
    FROM read_csv('$SEEDS/partner_types.csv', header = true, all_varchar = true)
)
SELECT
    m.partner_type,
    m.period_month AS month,
    m.period_end,
    CAST(m.period_end - 365 AS DATE) AS window_start,
    m.period_end < last_day(m.period_end) AS is_month_to_date,
    coalesce(CAST(m.period_end - 364 AS DATE) >= fd.first_data_date, false)
        AS is_complete_window,
    coalesce(e.partners, 0) AS partners_enrolled_in_month,
    CAST(coalesce(im.revenue, 0) AS DOUBLE) AS partner_revenue_usd_in_month,
    CAST(coalesce(im.sourced, 0) AS DOUBLE) AS partner_sourced_revenue_usd_in_month,
    CAST(coalesce(im.new_customers, 0) AS BIGINT) AS new_customers_in_month,
    CAST(coalesce(im.investment, 0) AS DOUBLE) AS investment_usd_in_month,
    m.enrolled_partners,
    m.active_partners,
    m.active_ratio,
    m.median_days_to_first_win,
    CAST(coalesce(tr.revenue, 0) AS DOUBLE) AS partner_revenue_usd_trailing_365d,
    safe_div(coalesce(tr.revenue, 0), m.active_partners)
        AS revenue_per_active_partner_usd_trailing_365d,
    CAST(coalesce(tr.sourced, 0) AS DOUBLE) AS partner_sourced_revenue_usd_trailing_365d,
    CAST(coalesce(tr.new_customers, 0) AS BIGINT) AS new_customers_trailing_365d,
    safe_div(coalesce(tr.new_customers, 0), coalesce(ta.new_customers, 0))
        AS new_customer_share_trailing_365d,
    CAST(coalesce(tr.investment, 0) AS DOUBLE) AS investment_usd_trailing_365d,
    safe_div(coalesce(tr.sourced, 0), coalesce(tr.investment, 0))
        AS roi_multiple_trailing_365d,
    coalesce(l.partner_type_name, m.partner_type) AS partner_type_name,
    coalesce(l.sort_order, (SELECT coalesce(max(sort_order), 0) + 1 FROM labels))
        AS partner_type_sort_order
FROM months AS m
CROSS JOIN first_data AS fd
LEFT JOIN in_month AS im ON m.partner_type = im.partner_type AND m.period_end = im.period_end
LEFT JOIN trailing_sums AS tr ON m.partner_type = tr.partner_type AND m.period_end = tr.period_end
LEFT JOIN trailing_sums_all AS ta ON m.period_end = ta.period_end
LEFT JOIN enrolments AS e ON m.partner_type = e.partner_type AND m.period_end = e.period_end
LEFT JOIN labels AS l ON m.partner_type = l.partner_type;

-- 1 - 1/2 * sum|actual - target| over the rows, NULL when an actual share is NULL
CREATE MACRO alignment(actual, target) AS
    CASE WHEN count(actual) OVER () = count(*) OVER ()
        THEN CAST(1 - 0.5 * sum(CAST(abs(actual - target) AS DECIMAL(38, 18))) OVER ()
            AS DOUBLE) END;

CREATE TABLE mart_execution_alignment AS
WITH at_d AS (SELECT * FROM productivity WHERE is_as_of),
totals AS (
    SELECT sum(enrolled_partners) AS enrolled_partners, sum(investment_usd) AS investment_usd,
        sum(partner_revenue_usd) AS partner_revenue_usd
    FROM at_d
),
targets AS (
    SELECT lower(trim(partner_type)) AS partner_type,
        CAST(target_partner_share AS DOUBLE) AS target_partner_share,
        CAST(target_investment_share AS DOUBLE) AS target_investment_share
    FROM read_csv('$SEEDS/strategy_targets.csv', header = true, all_varchar = true)
),
shares AS (
    SELECT
        a.partner_type,
        a.enrolled_partners,
        a.investment_usd,
        a.partner_revenue_usd,
        safe_div(a.enrolled_partners, totals.enrolled_partners) AS actual_partner_share,
        coalesce(t.target_partner_share, 0) AS target_partner_share,
        safe_div(a.investment_usd, totals.investment_usd) AS actual_investment_share,
        coalesce(t.target_investment_share, 0) AS target_investment_share,
        safe_div(a.partner_revenue_usd, totals.partner_revenue_usd) AS revenue_share
    FROM at_d AS a
    CROSS JOIN totals
    LEFT JOIN targets AS t ON a.partner_type = t.partner_type
)
SELECT
    partner_type,
    enrolled_partners,
    CAST(investment_usd AS DOUBLE) AS investment_usd,
    CAST(partner_revenue_usd AS DOUBLE) AS partner_revenue_usd,
    actual_partner_share,
    target_partner_share,
    actual_partner_share - target_partner_share AS partner_share_gap,
    actual_investment_share,
    target_investment_share,
    actual_investment_share - target_investment_share AS investment_share_gap,
    revenue_share,
    alignment(actual_partner_share, target_partner_share) AS composition_alignment_score,
    alignment(actual_investment_share, target_investment_share) AS investment_alignment_score
FROM shares;

CREATE TABLE mart_investment_allocation AS
WITH categories AS (
    SELECT * FROM (VALUES ('acquisition', 1), ('activation', 2), ('development', 3),
        ('strategic', 4)) AS t(investment_category, category_order)
),
investment AS (
    SELECT investment_category, sum(amount_usd) AS investment_usd
    FROM incentives, params
    WHERE is_investment AND approved_on > params.window_start
        AND approved_on <= params.as_of_date
    GROUP BY 1
),
targets AS (
    SELECT lower(trim(t.investment_category)) AS investment_category,
        CAST(t.target_share AS DOUBLE) AS target_share
    FROM read_csv('$SEEDS/investment_targets.csv', header = true, all_varchar = true) AS t,
        params
    WHERE lower(trim(t.growth_stage)) = params.growth_stage
),
shares AS (
    SELECT
        c.investment_category,
        c.category_order,
        params.growth_stage,
        coalesce(i.investment_usd, 0) AS investment_usd,
        safe_div(coalesce(i.investment_usd, 0),
            (SELECT sum(investment_usd) FROM investment)) AS actual_share,
        coalesce(t.target_share, 0) AS target_share
    FROM categories AS c
    CROSS JOIN params
    LEFT JOIN investment AS i ON c.investment_category = i.investment_category
    LEFT JOIN targets AS t ON c.investment_category = t.investment_category
)
SELECT
    investment_category,
    category_order,
    growth_stage,
    CAST(investment_usd AS DOUBLE) AS investment_usd,
    actual_share,
    target_share,
    actual_share - target_share AS share_gap,
    alignment(actual_share, target_share) AS category_alignment_score
FROM shares;

CREATE TABLE mart_growth_stage_fit AS
WITH at_d AS (SELECT * FROM productivity WHERE is_as_of),
playbook AS (
    SELECT lower(trim(b.partner_type)) AS partner_type, lower(trim(b.role)) AS role,
        b.rationale
    FROM read_csv('$SEEDS/growth_stage_playbook.csv', header = true, all_varchar = true)
        AS b, params
    WHERE lower(trim(b.growth_stage)) = params.growth_stage
),
joined AS (
    SELECT
        a.partner_type,
        params.growth_stage,
        b.role,
        a.enrolled_partners,
        safe_div(a.enrolled_partners, (SELECT sum(enrolled_partners) FROM at_d))
            AS partner_share,
        a.active_partners,
        b.rationale
    FROM at_d AS a
    CROSS JOIN params
    LEFT JOIN playbook AS b ON a.partner_type = b.partner_type
)
SELECT
    partner_type,
    growth_stage,
    role,
    enrolled_partners,
    partner_share,
    active_partners,
    CASE
        WHEN role IS NULL THEN 'no_playbook_role'
        WHEN role = 'core' AND enrolled_partners = 0 THEN 'missing_core'
        WHEN role = 'core' AND active_partners = 0 THEN 'core_inactive'
        WHEN role = 'avoid' AND enrolled_partners > 0 THEN 'present_but_avoid'
        ELSE 'aligned'
    END AS verdict,
    rationale
FROM joined;

CREATE TABLE mart_strategy_scorecard AS
WITH coverage AS (
    SELECT CAST(sum(targeted_accounts) AS BIGINT) AS targeted_accounts,
        CAST(sum(covered_accounts) AS BIGINT) AS covered_accounts
    FROM mart_coverage_by_segment
),
tam AS (
    SELECT sum(addressable_revenue_usd) AS targeted_addressable_revenue_usd
    FROM cells WHERE is_targeted
),
prod AS (
    SELECT
        CAST(sum(enrolled_partners) AS BIGINT) AS enrolled_partners,
        CAST(sum(active_partners) AS BIGINT) AS active_partners,
        sum(partner_revenue_usd) AS partner_revenue_usd,
        sum(partner_sourced_revenue_usd) AS partner_sourced_revenue_usd,
        sum(investment_usd) AS investment_usd,
        CAST(sum(new_customers) AS BIGINT) AS new_customers,
        CAST(max(all_new_customers) AS BIGINT) AS all_new_customers
    FROM productivity WHERE is_as_of
),
qualified AS (
    SELECT CAST(count(*) FILTER (WHERE is_qualified) AS BIGINT) AS qualified_partners
    FROM partner_status
),
alignment AS (
    SELECT max(composition_alignment_score) AS composition_alignment_score,
        max(investment_alignment_score) AS investment_alignment_score
    FROM mart_execution_alignment
),
program AS (
    SELECT count(*) AS program_elements,
        CAST(count(*) FILTER (WHERE nullif(trim(strategic_objective), '') IS NOT NULL)
            AS BIGINT) AS elements_with_objective
    FROM read_csv('$SEEDS/program_elements.csv', header = true, all_varchar = true)
),
fit AS (
    SELECT
        sum(CASE WHEN coalesce(role, '') <> 'avoid' THEN enrolled_partners ELSE 0 END)
            AS non_avoid_partners,
        sum(enrolled_partners) AS enrolled_partners,
        sum(CASE WHEN role = 'core' THEN 1 ELSE 0 END) AS core_types,
        sum(CASE WHEN role = 'core' AND active_partners > 0 THEN 1 ELSE 0 END)
            AS active_core_types
    FROM mart_growth_stage_fit
),
parts AS (
    SELECT
        safe_div(fit.non_avoid_partners, fit.enrolled_partners) AS non_avoid_partner_share,
        safe_div(fit.active_core_types, fit.core_types) AS core_types_active_share,
        (SELECT max(category_alignment_score) FROM mart_investment_allocation)
            AS investment_mix_alignment_score
    FROM fit
)
SELECT
    params.as_of_date,
    params.window_start,
    params.window_days,
    params.vendor_name,
    params.growth_stage,
    safe_div(coverage.covered_accounts, coverage.targeted_accounts) AS coverage_pct,
    coverage.targeted_accounts,
    coverage.covered_accounts,
    prod.enrolled_partners,
    qualified.qualified_partners,
    prod.active_partners,
    safe_div(prod.active_partners, prod.enrolled_partners) AS active_ratio,
    CAST(prod.partner_revenue_usd AS DOUBLE) AS partner_revenue_usd,
    CAST(prod.partner_sourced_revenue_usd AS DOUBLE) AS partner_sourced_revenue_usd,
    CAST(tam.targeted_addressable_revenue_usd AS DOUBLE) AS targeted_addressable_revenue_usd,
    safe_div(prod.partner_revenue_usd, tam.targeted_addressable_revenue_usd)
        AS partner_revenue_share_of_tam,
    CAST(prod.investment_usd AS DOUBLE) AS investment_usd,
    safe_div(prod.partner_sourced_revenue_usd, prod.investment_usd) AS roi_multiple,
    prod.new_customers,
    safe_div(prod.new_customers, prod.all_new_customers) AS new_customer_share,
    alignment.composition_alignment_score,
    alignment.investment_alignment_score,
    program.program_elements,
    program.elements_with_objective,
    safe_div(program.elements_with_objective, program.program_elements)
        AS program_design_alignment_pct,
    parts.non_avoid_partner_share,
    parts.core_types_active_share,
    parts.investment_mix_alignment_score,
    (parts.non_avoid_partner_share + parts.core_types_active_share
        + parts.investment_mix_alignment_score) / 3.0 AS growth_stage_fit_score
FROM params, coverage, tam, prod, qualified, alignment, program, parts;

CREATE TABLE mart_partner_scorecard AS
SELECT
    partner_id,
    partner_name,
    partner_type,
    tier,
    region,
    hq_country,
    program_status,
    is_strategic,
    applied_on,
    enrolled_on,
    terminated_on,
    is_enrolled,
    is_qualified,
    is_active,
    last_event_on AS last_activity_on,
    capacity,
    CAST(partner_revenue_usd AS DOUBLE) AS partner_revenue_usd,
    CAST(partner_sourced_revenue_usd AS DOUBLE) AS partner_sourced_revenue_usd,
    CAST(investment_usd AS DOUBLE) AS investment_usd,
    safe_div(partner_sourced_revenue_usd, investment_usd) AS roi_multiple,
    first_win_on,
    days_to_first_win
FROM partner_status;

COPY mart_coverage_cells TO '$OUT/mart_coverage_cells.parquet' (FORMAT parquet);
COPY mart_coverage_by_segment TO '$OUT/mart_coverage_by_segment.parquet' (FORMAT parquet);
COPY mart_coverage_by_geography TO '$OUT/mart_coverage_by_geography.parquet' (FORMAT parquet);
COPY mart_vertical_depth TO '$OUT/mart_vertical_depth.parquet' (FORMAT parquet);
COPY mart_ecosystem_productivity TO '$OUT/mart_ecosystem_productivity.parquet' (FORMAT parquet);
COPY mart_productivity_monthly TO '$OUT/mart_productivity_monthly.parquet' (FORMAT parquet);
COPY mart_execution_alignment TO '$OUT/mart_execution_alignment.parquet' (FORMAT parquet);
COPY mart_investment_allocation TO '$OUT/mart_investment_allocation.parquet' (FORMAT parquet);
COPY mart_growth_stage_fit TO '$OUT/mart_growth_stage_fit.parquet' (FORMAT parquet);
COPY mart_strategy_scorecard TO '$OUT/mart_strategy_scorecard.parquet' (FORMAT parquet);
COPY mart_partner_scorecard TO '$OUT/mart_partner_scorecard.parquet' (FORMAT parquet);
