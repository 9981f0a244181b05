{#- Dashboard theme 'pay_and_hours' (registry column theme): see macro theme_mart. -#}
{{ theme_mart('pay_and_hours') }}
