{#- Generic test: no two rows share the same values of `columns` (dbt_utils' unique_combination_of_columns,
    written here because the project builds offline, without packages). -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
