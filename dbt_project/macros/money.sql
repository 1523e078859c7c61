{#- An amount in USD (SPEC §5 amount_usd, and an incentive's investment): the amount itself
    when in USD, else the amount times the currency's rate for the FX month
    (int_fx_monthly.usd_per_unit). -#}
{% macro amount_usd(amount, currency, usd_per_unit) -%}
    cast(
        case
            when {{ currency }} = 'USD' then {{ amount }}
            else cast({{ amount }} as decimal(38, 2)) * {{ usd_per_unit }}
        end as {{ type_money() }}
    )
{%- endmacro %}

{#- A partner deal (SPEC §5): partner_id set and deal_source partner_sourced or
    partner_influenced. -#}
{% macro is_partner_deal(partner_id, deal_source) -%}
    ({{ partner_id }} is not null and {{ deal_source }} in ('partner_sourced', 'partner_influenced'))
{%- endmacro %}

{#- The month whose FX rate converts a deal: the month of closed_on, else of registered_on.
    Deals with neither (open direct deals) use the month of updated_at: they never count as
    revenue, but keep an amount_usd. -#}
{% macro deal_fx_month(closed_on, registered_on, updated_at) -%}
    {{ month_start('coalesce(' ~ closed_on ~ ', ' ~ registered_on ~ ', cast(' ~ updated_at ~ ' as date))') }}
{%- endmacro %}
