{#- Dashboard theme 'pay_and_hours' (registry column theme): see macro theme_mart (a view). -#}
{{ config(materialized='view') }}
{{ theme_mart('pay_and_hours') }}
