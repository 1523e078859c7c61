{#- A health score per partner enrolled at D: four components, each normalised to [0, 1] by
    its percent rank among the enrolled partners of the same type, weighted by the
    health_score_weights seed. -#}
with params as (
    select * from {{ ref('int_params') }}
),

partners as (
    select * from {{ ref('int_partner_status') }}
    where is_enrolled
),

pipeline as (
    select deals.partner_id, sum(deals.amount_usd) as pipeline_usd
    from {{ ref('int_deals') }} as deals
    cross join params
    where
        deals.is_partner_deal
        and deals.stage in ('registered', 'approved')
        and deals.registered_on <= params.as_of_date
    group by deals.partner_id
),

certifications as (
    select partner_id, count(*) as valid_certifications
    from {{ ref('int_certifications') }}
    where is_valid
    group by partner_id
),

weights as (
    select
        max(case when lower(trim(component)) = 'revenue' then weight end) as revenue,
        max(case when lower(trim(component)) = 'pipeline' then weight end) as pipeline,
        max(case when lower(trim(component)) = 'enablement' then weight end) as enablement,
        max(case when lower(trim(component)) = 'incentive_efficiency' then weight end)
            as incentive_efficiency
    from {{ ref('health_score_weights') }}
),

components as (
    select
        partners.partner_id,
        partners.partner_name,
        partners.partner_type,
        partners.tier,
        partners.region,
        partners.partner_revenue_usd as revenue_usd,
        coalesce(pipeline.pipeline_usd, 0) as pipeline_usd,
        coalesce(certifications.valid_certifications, 0) as valid_certifications,
        partners.investment_usd,
        {{ safe_divide('partners.partner_revenue_usd', 'partners.investment_usd') }}
            as incentive_efficiency
    from partners
    left join pipeline on partners.partner_id = pipeline.partner_id
    left join certifications on partners.partner_id = certifications.partner_id
),


scored as (
    select
        components.*,
        {{ rank_score('components.revenue_usd', 'components.partner_type') }} as revenue_score,
        {{ rank_score('components.pipeline_usd', 'components.partner_type') }} as pipeline_score,
        {{ rank_score('components.valid_certifications', 'components.partner_type') }}
            as enablement_score,
        {{ rank_score('components.incentive_efficiency', 'components.partner_type') }}
            as incentive_efficiency_score
    from components
),

final as (
    select
        scored.partner_id,
        scored.partner_name,
        scored.partner_type,
        scored.tier,
        scored.region,
        {{ as_double('scored.revenue_usd') }} as revenue_usd,
        {{ as_double('scored.pipeline_usd') }} as pipeline_usd,
        cast(scored.valid_certifications as {{ dbt.type_bigint() }}) as valid_certifications,
        {{ as_double('scored.investment_usd') }} as investment_usd,
        scored.incentive_efficiency,
        cast(scored.revenue_score as double) as revenue_score,
        cast(scored.pipeline_score as double) as pipeline_score,
        cast(scored.enablement_score as double) as enablement_score,
        cast(scored.incentive_efficiency_score as double) as incentive_efficiency_score,
        -- weighted mean over the components that have a score: a partner without investment
        -- is scored on the other three, their weights scaled up to 1
        (
            coalesce(weights.revenue * scored.revenue_score, 0)
            + coalesce(weights.pipeline * scored.pipeline_score, 0)
            + coalesce(weights.enablement * scored.enablement_score, 0)
            + coalesce(weights.incentive_efficiency * scored.incentive_efficiency_score, 0)
        ) / nullif(
            case when scored.revenue_score is null then 0 else coalesce(weights.revenue, 0) end
            + case when scored.pipeline_score is null then 0 else coalesce(weights.pipeline, 0) end
            + case
                when scored.enablement_score is null then 0 else coalesce(weights.enablement, 0)
            end
            + case
                when scored.incentive_efficiency_score is null then 0
                else coalesce(weights.incentive_efficiency, 0)
            end,
            0
        ) as health_score
    from scored
    cross join weights
)

{{ select_with_labels('final', ['partner_type', 'region']) }}
