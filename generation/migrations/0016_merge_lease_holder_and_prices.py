"""Joins the lease holder's rename (0015) and prices, costs and caps (0014), made side by side."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("generation", "0014_prices_costs_and_caps"),
        ("generation", "0015_lease_holder"),
    ]

    operations = []
