{#- The deals behind mart_channel_conflict: one row per conflicted partner deal and each deal
    it conflicts with (int_channel_conflict_pairs). -#}
with pairs as (
    select * from {{ ref('int_channel_conflict_pairs') }}
),

final as (
    select
        account_id,
        product_line,
        deal_id,
        partner_id,
        partner_type,
        region,
        stage,
        {{ as_double('amount_usd') }} as amount_usd,
        opened_on,
        open_until,
        conflicting_deal_id,
        conflict_kind,
        conflicting_partner_id,
        conflicting_deal_source,
        conflicting_stage,
        conflicting_opened_on,
        conflicting_open_until,
        overlap_start,
        overlap_end,
        {{ days_between('overlap_start', 'overlap_end') }} + 1 as overlap_days
    from pairs
)

{{ select_with_labels('final', ['partner_type', 'region']) }}
