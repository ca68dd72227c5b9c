"""django-q2 entry points: thin callers of services. Messages carry task ids only."""

from . import services


def run_generation(task_id: str) -> None:
    services.task_run(task_id=task_id)


def recover_tasks() -> int:
    return services.tasks_recover()
