"""Benchmark-only settings: the production settings plus a bare view to compare the read path with."""

from imagegen.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
