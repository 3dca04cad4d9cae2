{# Shared helpers, available in every model. #}
{% macro cents_to_amount(column) -%}
  round({{ column }} / 100.0, 2)::DECIMAL(12, 2)
{%- endmacro %}
