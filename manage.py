#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imagegen.settings")
    from django.core.management import execute_from_command_line

    from imagegen import startup

    startup.point_counters_at_the_metrics_dir()

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
