-- Every published interval contains its value: ci_lower ≤ value ≤ ci_upper (to rounding).
select *
from {{ ref('indicator_values') }}
where value is not null
    and (
        ci_lower > value + 1e-9 * greatest(abs(value), 1)
        or ci_upper < value - 1e-9 * greatest(abs(value), 1)
    )
