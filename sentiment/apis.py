"""News and sentiment: articles with their symbols and scores, and each symbol's sentiment, latest and
over time. Values are point in time: built only from articles the platform had at the time shown."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from sentiment.models import Article, ArticleScore, SymbolSentiment
from sentiment.selectors import WINDOWS, sentiment_history, sentiment_latest, symbols_latest
from trading.apis.base import Pagination, has_perm, paginated, query_params

CanViewNews = has_perm("sentiment.view_article")
CanViewSentiment = has_perm("sentiment.view_symbolsentiment")
SYMBOL = {"regex": r"^[A-Za-z0-9&._-]{1,32}$", "help_text": "An NSE tradingsymbol, such as INFY or M&M."}


class ScoreOutput(serializers.ModelSerializer):
    class Meta:
        model = ArticleScore
        fields = ["analyzer", "version", "label", "score", "scored_at"]


class ArticleOutput(serializers.ModelSerializer):
    source = serializers.CharField(source="source.name")
    symbols = serializers.SerializerMethodField()
    scores = ScoreOutput(many=True)

    class Meta:
        model = Article
        fields = ["id", "source", "title", "summary", "url", "published_at", "available_at", "symbols", "scores"]

    def get_symbols(self, article) -> list[str]:
        return [link.symbol for link in article.symbols.all()]


class NewsFilters(serializers.Serializer):
    symbol = serializers.RegexField(required=False, **SYMBOL)
    until = serializers.DateTimeField(
        required=False, help_text="Only articles available by then (point in time); ISO 8601 with an offset."
    )


class NewsListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewNews]
    pagination_class = Pagination

    @extend_schema(parameters=[NewsFilters], responses=ArticleOutput(many=True))
    def get(self, request):
        """Articles, newest available first, with the symbols they were tagged with and every score."""
        filters = query_params(NewsFilters, request)
        scores = ArticleScore.objects.order_by("analyzer", "-scored_at")
        if "until" in filters:  # as it stood then: the articles available, the scores made, by `until`
            scores = scores.filter(scored_at__lte=filters["until"])
        articles = Article.objects.select_related("source").prefetch_related("symbols", Prefetch("scores", scores))
        if "symbol" in filters:
            articles = articles.filter(symbols__symbol=filters["symbol"].upper())
        if "until" in filters:
            articles = articles.filter(available_at__lte=filters["until"])
        return paginated(self, request, articles.order_by("-available_at", "-pk"), ArticleOutput)


HISTORY_DAYS_MAX = {SymbolSentiment.Window.QUARTER_HOUR: 7, SymbolSentiment.Window.DAY: 365}


class SentimentFilters(serializers.Serializer):
    symbol = serializers.RegexField(required=False, **SYMBOL)
    window = serializers.ChoiceField(choices=list(WINDOWS), default=SymbolSentiment.Window.DAY)
    days = serializers.IntegerField(
        default=7, min_value=1, max_value=365, help_text="History to return: at most 7 days in 15m, 365 in 1d."
    )

    def validate(self, data):
        most = HISTORY_DAYS_MAX[data["window"]]
        if data["days"] > most:
            raise serializers.ValidationError({"days": f"at most {most} days of {data['window']} history at once"})
        return data


VALUE = ("count", "decayed_mean", "share_positive", "share_negative")


class SentimentApi(APIView):
    permission_classes = [IsAuthenticated, CanViewSentiment]

    @extend_schema(
        parameters=[SentimentFilters],
        responses=inline_serializer(
            "Sentiment",
            {
                "analyzer": serializers.CharField(),
                "symbol": serializers.CharField(required=False),
                "latest": serializers.DictField(required=False, help_text="Per window (15m, 1d): the value now."),
                "history": serializers.ListField(child=serializers.DictField(), required=False),
                "symbols": serializers.ListField(
                    child=serializers.DictField(), required=False, help_text="Without `symbol`: each symbol's."
                ),
            },
        ),
    )
    def get(self, request):
        """With `symbol`: its sentiment now per window (cached for SENTIMENT_CACHE_SECONDS) and its recorded
        history over `days` in `window`. Without: every symbol with news in the last day, its latest value."""
        filters = query_params(SentimentFilters, request)
        analyzer = settings.SENTIMENT_ANALYZER
        if "symbol" not in filters:
            return Response({"analyzer": analyzer, "symbols": symbols_latest(window=filters["window"])})
        symbol = filters["symbol"].upper()
        since = timezone.now() - timedelta(days=filters["days"])
        history = sentiment_history(symbol, window=filters["window"], since=since)
        return Response(
            {
                "analyzer": analyzer,
                "symbol": symbol,
                "latest": sentiment_latest(symbol),
                "history": [{"at": row.at, **{name: getattr(row, name) for name in VALUE}} for row in history],
            }
        )
