"""manage.py rebuild_search_index: the prompt search index made again from the tasks (README, "Operator
commands"). Migration 0013 builds it for an existing database; this is for one where it went missing or out
of step."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from generation import search_index


class Command(BaseCommand):
    help = ("Rebuild the prompt search index (SQLite: the FTS5 table and its triggers; PostgreSQL: the pg_trgm "
            "index) from the tasks. Writes to tasks wait for it (on PostgreSQL, searches too).")

    def handle(self, *args, **opts):
        held = search_index.search_index_rebuild()
        self.stdout.write(f"search index rebuilt: {held} tasks out of the trash")
