"""News sentiment's API routes, under /api/v1/ (see tradingsite/urls.py)."""

from django.urls import path

from sentiment import apis

urlpatterns = [
    path("news", apis.NewsListApi.as_view(), name="news-list"),
    path("sentiment", apis.SentimentApi.as_view(), name="sentiment"),
]
