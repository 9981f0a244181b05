{#- Dashboard theme 'rights_and_contracts' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('rights_and_contracts') }}
