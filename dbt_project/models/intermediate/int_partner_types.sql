{#- Canonical partner types and every name that maps to one (the type itself and its
    aliases), matched case-insensitively after trimming (SPEC §3). -#}
with types as (
    select lower(trim(partner_type)) as partner_type from {{ ref('partner_types') }}
),

aliases as (
    select
        lower(trim(alias)) as type_code,
        lower(trim(partner_type)) as partner_type
    from {{ ref('partner_type_aliases') }}
),

final as (
    select partner_type as type_code, partner_type from types
    union
    select aliases.type_code, aliases.partner_type
    from aliases
    inner join types on aliases.partner_type = types.partner_type
)

select * from final
