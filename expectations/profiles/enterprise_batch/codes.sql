-- One row per distinct registration type in the batch, and one per distinct uscc length (GB 32100: 18
-- characters). Codes only: no enterprise is named.
with registration_types as (
  select
    'registration_type=' || registration_type as label,
    registration_type,
    null::bigint as uscc_length,
    count(*) as returns,
  from {batch}
  where registration_type is not null
  group by registration_type
),

uscc_lengths as (
  select
    'uscc length=' || length(uscc) as label,
    null::integer as registration_type,
    length(uscc) as uscc_length,
    count(*) as returns,
  from {batch}
  where uscc is not null
  group by length(uscc)
),

final as (
  select * from registration_types
  union all
  select * from uscc_lengths
)

select * from final
