from django.apps import AppConfig


class SentimentConfig(AppConfig):
    name = "sentiment"
    verbose_name = "News sentiment"

    def ready(self):
        from sentiment import metrics  # noqa: F401 - registers the evaluation collector on /metrics
