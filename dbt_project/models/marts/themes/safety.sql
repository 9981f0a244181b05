{#- Dashboard theme 'safety' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('safety') }}
