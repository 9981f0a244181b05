{#- Dashboard theme 'rights_and_contracts' (registry column theme): see macro theme_mart (a view). -#}
{{ config(materialized='view') }}
{{ theme_mart('rights_and_contracts') }}
