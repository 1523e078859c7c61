{#- Strategy alerts for the failure modes of the seed document ("Common Partnership Strategy
    Failures"): one row per alert check evaluated at D, triggered or not, with the measured
    value, the threshold of the alert_thresholds seed and an explanation in words. -#}
with params as (
    select * from {{ ref('int_params') }}
),

thresholds as (
    select
        lower(trim(alert_code)) as alert_code,
        threshold,
        lower(trim(severity)) as severity,
        description
    from {{ ref('alert_thresholds') }}
),

types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

targets as (
    select lower(trim(partner_type)) as partner_type, target_partner_share
    from {{ ref('strategy_targets') }}
),

-- 1. Portfolio drift: consecutive month-over-month declines of composition alignment, over
-- the month ends on or before D that the history holds (mart_strategy_history: each month
-- end's score as the sources stood on it), counted back from the latest one.
monthly as (
    select
        history.as_of_date as period_end,
        history.composition_alignment_score as score,
        coalesce(
            history.composition_alignment_score < lag(history.composition_alignment_score)
                over (order by history.as_of_date),
            false
        ) as declined
    from {{ ref('mart_strategy_history') }} as history
    cross join params
    where
        history.as_of_date <= params.as_of_date
        and {{ month_start(add_days('history.as_of_date', '1')) }}
        = {{ add_days('history.as_of_date', '1') }}
),

last_steady as (
    select max(period_end) as period_end from monthly where not declined
),

drift as (
    select
        cast(count(*) filter (where monthly.period_end > last_steady.period_end) as double)
            as declines,
        max(monthly.period_end) as latest_month_end,
        max(case when monthly.period_end = last_steady.period_end then monthly.score end)
            as steady_score
    from monthly
    cross join last_steady
),

drift_alert as (
    select
        'portfolio_drift' as alert_code,
        cast(null as string) as partner_type,
        drift.declines as metric_value,
        latest.score as latest_score,
        drift.steady_score,
        drift.latest_month_end
    from drift
    left join monthly as latest on drift.latest_month_end = latest.period_end
),

-- 2. Recruit mix: the partner-type mix of partners enrolled from 1 January of D's year to D
-- against target_partner_share; metric = ½·Σ|actual − target| = 1 − alignment score.
recruits as (
    select partners.partner_type, count(*) as recruits
    from {{ ref('int_partners') }} as partners
    cross join params
    where
        partners.enrolled_on <= params.as_of_date
        and partners.enrolled_on >= {{ year_start('params.as_of_date') }}
    group by partners.partner_type
),

recruit_mix as (
    select
        types.partner_type,
        coalesce(recruits.recruits, 0) as recruits,
        {{ safe_divide('coalesce(recruits.recruits, 0)', 'sum(coalesce(recruits.recruits, 0)) over ()') }}
            as actual_share,
        coalesce(targets.target_partner_share, 0) as target_share
    from types
    left join recruits on types.partner_type = recruits.partner_type
    left join targets on types.partner_type = targets.partner_type
),

recruit_alert as (
    select
        'recruit_mix_divergence' as alert_code,
        cast(null as string) as partner_type,
        case
            when sum(recruits) > 0
                then cast(0.5 * sum(cast(abs(actual_share - target_share) as decimal(38, 18))) as double)
        end as metric_value,
        sum(recruits) as recruits
    from recruit_mix
),

-- 3. Strategy not funded: a type with a target partner share whose share of the window's
-- investment is below threshold × its target partner share.
alignment as (
    select * from {{ ref('mart_execution_alignment') }}
),

-- 4. Investment by relationship history: the share of the window's investment that goes to
-- partners enrolled for at least relationship_min_tenure_years at D whose ROI (partner-sourced
-- revenue ÷ investment) is below the median ROI of the partners with investment.
invested as (
    select
        partners.partner_id,
        partners.investment_usd,
        {{ safe_divide('partners.partner_sourced_revenue_usd', 'partners.investment_usd') }} as roi,
        partners.is_enrolled
        and partners.enrolled_on <= {{ add_months('params.as_of_date', -12 * var('relationship_min_tenure_years', 3)) }}
            as is_long_relationship
    from {{ ref('int_partner_status') }} as partners
    cross join params
    where partners.investment_usd > 0
),

median_roi as (
    select {{ median('roi') }} as median_roi from invested
),

history as (
    select
        sum(invested.investment_usd) as investment_usd,
        sum(
            case
                when invested.is_long_relationship and invested.roi < median_roi.median_roi
                    then invested.investment_usd
                else 0
            end
        ) as history_investment_usd,
        count(
            case
                when invested.is_long_relationship and invested.roi < median_roi.median_roi
                    then 1
            end
        ) as history_partners,
        max(median_roi.median_roi) as median_roi
    from invested
    cross join median_roi
),

evaluated as (
    select
        drift_alert.alert_code,
        drift_alert.partner_type,
        drift_alert.metric_value,
        thresholds.threshold,
        coalesce(drift_alert.metric_value >= thresholds.threshold, false) as is_triggered,
        'Composition alignment (enrolled partner mix against strategy_targets) fell in '
        || cast(cast(drift_alert.metric_value as integer) as string)
        || ' consecutive month end(s) up to '
        || coalesce(cast(drift_alert.latest_month_end as string), 'n/a')
        || ', from ' || {{ num_text('drift_alert.steady_score') }}
        || ' to ' || {{ num_text('drift_alert.latest_score') }}
        || '; the alert fires at ' || cast(cast(thresholds.threshold as integer) as string)
        || ' or more.' as explanation
    from drift_alert
    left join thresholds on drift_alert.alert_code = thresholds.alert_code

    union all

    select
        recruit_alert.alert_code,
        recruit_alert.partner_type,
        recruit_alert.metric_value,
        thresholds.threshold,
        coalesce(recruit_alert.metric_value > thresholds.threshold, false) as is_triggered,
        case
            when recruit_alert.recruits = 0
                then 'No partner enrolled this calendar year up to D: nothing to compare.'
            else
                'The ' || cast(recruit_alert.recruits as string)
                || ' partner(s) enrolled this calendar year up to D diverge from the target '
                || 'partner mix by ' || {{ pct_text('recruit_alert.metric_value') }}
                || ' (half the sum of |recruit share − target share| over the types); the '
                || 'alert fires above ' || {{ pct_text('thresholds.threshold') }} || '.'
        end as explanation
    from recruit_alert
    left join thresholds on recruit_alert.alert_code = thresholds.alert_code

    union all

    select
        'strategy_not_funded' as alert_code,
        alignment.partner_type,
        alignment.actual_investment_share as metric_value,
        thresholds.threshold * alignment.target_partner_share as threshold,
        coalesce(
            alignment.actual_investment_share
            < thresholds.threshold * alignment.target_partner_share,
            false
        ) as is_triggered,
        case
            when alignment.actual_investment_share is null
                then alignment.partner_type || ' has a target partner share of '
                    || {{ pct_text('alignment.target_partner_share') }}
                    || ' but there is no investment at all in the window.'
            else
                alignment.partner_type || ' has a target partner share of '
                || {{ pct_text('alignment.target_partner_share') }} || ' and receives '
                || {{ pct_text('alignment.actual_investment_share') }}
                || ' of the investment in the window (target investment share '
                || {{ pct_text('alignment.target_investment_share') }}
                || '); the alert fires below '
                || {{ pct_text('thresholds.threshold * alignment.target_partner_share') }}
                || ' (' || {{ num_text('thresholds.threshold') }}
                || ' × the target partner share).'
        end as explanation
    from alignment
    cross join (select * from thresholds where alert_code = 'strategy_not_funded') as thresholds
    where alignment.target_partner_share > 0

    union all

    select
        'investment_by_relationship_history' as alert_code,
        cast(null as string) as partner_type,
        {{ safe_divide('history.history_investment_usd', 'history.investment_usd') }}
            as metric_value,
        thresholds.threshold,
        coalesce(
            {{ safe_divide('history.history_investment_usd', 'history.investment_usd') }}
            > thresholds.threshold,
            false
        ) as is_triggered,
        case
            when history.investment_usd is null
                then 'No investment in the window: nothing to compare.'
            else
                {{ pct_text(safe_divide('history.history_investment_usd', 'history.investment_usd')) }}
                || ' of the investment in the window goes to '
                || cast(history.history_partners as string)
                || ' partner(s) enrolled for at least '
                || cast({{ var('relationship_min_tenure_years', 3) }} as string)
                || ' years whose ROI is below the median partner ROI of '
                || {{ num_text('history.median_roi') }}
                || '×; the alert fires above ' || {{ pct_text('thresholds.threshold') }} || '.'
        end as explanation
    from history
    cross join (
        select * from thresholds where alert_code = 'investment_by_relationship_history'
    ) as thresholds
),

final as (
    select
        evaluated.alert_code || ':' || coalesce(evaluated.partner_type, 'all') as alert_id,
        evaluated.alert_code,
        thresholds.severity,
        evaluated.partner_type,
        params.as_of_date,
        evaluated.metric_value,
        evaluated.threshold,
        evaluated.is_triggered,
        evaluated.explanation,
        thresholds.description as rule
    from evaluated
    cross join params
    left join thresholds on evaluated.alert_code = thresholds.alert_code
)

{{ select_with_labels('final', ['severity', 'partner_type']) }}
