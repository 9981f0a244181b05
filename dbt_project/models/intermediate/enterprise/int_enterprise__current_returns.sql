{#- The current return per enterprise and period: the latest submitted_at (ties: the later load, then the
    later row). Earlier returns stay in raw as history. -#}
{{ incremental_by_period() }}
with

returns as (
    select * from {{ ref('stg_enterprise__returns') }}
    where {{ period_filter('enterprise') }}
),

final as (
    select * from returns
    qualify row_number() over (
        partition by uscc, period
        order by submitted_at desc, loaded_at desc, batch_id desc, source_row_number desc
    ) = 1
)

select * from final
