{#- Dashboard theme 'innovation' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('innovation') }}
