from django.apps import AppConfig


class StreamingConfig(AppConfig):
    """The real-time stream: the WebSocket and server-sent events of task progress (README, "Real-time
    stream"), served by imagegen.asgi on the same address as everything else."""

    name = "streaming"
    verbose_name = "streaming"
