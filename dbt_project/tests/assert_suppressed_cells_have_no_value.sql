-- A suppressed cell (C or D) keeps its row but nothing a reader could derive its value from.
select *
from {{ ref('indicator_values') }}
where conf_status in ('C', 'D')
    and (
        value is not null or numerator is not null or denominator is not null
        or se is not null or ci_lower is not null or ci_upper is not null or cv is not null
    )
