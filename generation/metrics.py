"""Task and queue figures for /metrics, read from the database at scrape time, so every web node reports
the same truth."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from generation import supervision
from generation.models import GenerationTask, Image, Status


class TaskCollector:
    """Task and queue figures straight from the database at scrape time."""

    def collect(self):
        by_state = GaugeMetricFamily("imagegen_tasks", "Tasks by state", labels=["state"])
        counts = dict(GenerationTask.objects.filter(deleted_at__isnull=True).values_list("status")
                      .annotate(n=Count("id")).values_list("status", "n"))
        for status in Status:
            by_state.add_metric([status.value], counts.get(status.value, 0))
        yield by_state
        yield GaugeMetricFamily(
            "imagegen_queue_length", "Tasks waiting to run (pending or retrying)",
            value=counts.get(Status.PENDING, 0) + counts.get(Status.RETRYING, 0),
        )
        since = timezone.now() - timezone.timedelta(hours=1)
        recent = dict(
            GenerationTask.objects.filter(completed_at__gte=since, status__in=[Status.COMPLETED, Status.FAILED])
            .values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        finished = recent.get(Status.COMPLETED, 0) + recent.get(Status.FAILED, 0)
        yield GaugeMetricFamily(
            "imagegen_success_ratio", "Completed / finished tasks over the last hour (1 when none finished)",
            value=recent.get(Status.COMPLETED, 0) / finished if finished else 1.0,
        )
        oldest = GenerationTask.objects.filter(status=Status.PENDING).order_by("created_at").values_list("created_at", flat=True).first()
        yield GaugeMetricFamily(
            "imagegen_oldest_pending_seconds", "Age of the oldest pending task",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
        # The trash is counted apart from the rest, and not in imagegen_tasks' states: its files still use the
        # disk until the daily cleanup purges it (IMAGEGEN_TRASH_DAYS). Both counts walk partial indexes.
        yield GaugeMetricFamily("imagegen_trash_tasks", "Tasks in the trash (with their images)",
                                value=GenerationTask.objects.filter(deleted_at__isnull=False).count())
        yield GaugeMetricFamily("imagegen_trash_images", "Images in the trash, on their own or with their task",
                                value=Image.objects.filter(deleted_at__isnull=False).count())
        yield from self.billing()
        state = supervision.worker_state()
        yield GaugeMetricFamily(
            "imagegen_queue_oldest_waiting_seconds",
            "Age of the oldest deliverable broker message (0 when none waits)",
            value=state.oldest_waiting_seconds or 0.0,
        )
        yield GaugeMetricFamily(
            "imagegen_worker_stalled", "1 while work waits and no worker takes it, or a replaced cluster has not taken any yet",
            value=0.0 if state.ok else 1.0,
        )
        yield CounterMetricFamily(
            "imagegen_worker_cluster_restarts", "Worker clusters replaced by their supervisor",
            value=state.restarts,
        )

    @staticmethod
    def billing():
        """Images billed and their cost per model, over every task still in the database (a purged task
        leaves these sums: Prometheus's rate() over a counter's drop reads it as a reset)."""
        images = CounterMetricFamily("imagegen_images_billed", "Images the image service billed, per model",
                                     labels=["model"])
        for model, n in (GenerationTask.objects.filter(images_billed__isnull=False).values_list("model")
                         .annotate(n=Sum("images_billed")).values_list("model", "n").order_by("model")):
            images.add_metric([model], n or 0)
        yield images
        cost = CounterMetricFamily("imagegen_cost", "Cost of billed images at the prices in force, per model "
                                   "and currency", labels=["model", "currency"])
        for model, currency, total in (
            GenerationTask.objects.filter(cost__isnull=False).values_list("model", "currency")
            .annotate(total=Sum("cost")).values_list("model", "currency", "total").order_by("model", "currency")
        ):
            cost.add_metric([model, currency], float(total or 0))
        yield cost
