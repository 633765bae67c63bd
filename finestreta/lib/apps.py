from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "finestreta.lib"
    label = "lib"
    verbose_name = "Finestreta"

    def ready(self) -> None:
        from django_tasks.signals import task_finished

        task_finished.connect(count_failed_task, dispatch_uid="finestreta.metrics.failed_task")


def count_failed_task(sender: object, task_result: object, **kwargs: object) -> None:
    """A task of the task queue that raised counts as a task failure (lib.metrics)."""
    from django_tasks import TaskResultStatus

    from finestreta.lib.metrics import TASK_FAILURES

    if getattr(task_result, "status", None) == TaskResultStatus.FAILED:
        task = getattr(task_result, "task", None)
        TASK_FAILURES.labels(getattr(task, "module_path", "unknown")).inc()
