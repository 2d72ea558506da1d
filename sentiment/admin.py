from django.contrib import admin

from sentiment.models import (
    Article,
    ArticleScore,
    ArticleSymbol,
    NewsSource,
    SentimentEvaluation,
    SentimentModel,
    SymbolAlias,
    SymbolSentiment,
)
from tradingsite.admin import ReadOnlyAdmin


@admin.register(NewsSource)
class NewsSourceAdmin(admin.ModelAdmin):
    """Where news comes from. A failing source shows its error and when it is tried next."""

    list_display = ("name", "kind", "enabled", "last_fetched_at", "last_new", "failures", "retry_at", "last_error")
    list_filter = ("kind", "enabled")
    readonly_fields = ("last_fetched_at", "last_new", "last_error", "failures", "retry_at")


@admin.register(SymbolAlias)
class SymbolAliasAdmin(admin.ModelAdmin):
    """The names symbols go by in the news; a change tags the articles fetched from then on."""

    list_display = ("alias", "symbol", "case_sensitive")
    list_filter = ("case_sensitive",)
    search_fields = ("alias", "symbol")


class ArticleSymbolInline(admin.TabularInline):
    model = ArticleSymbol
    extra = 0
    can_delete = False
    readonly_fields = ("symbol", "matched")

    def has_add_permission(self, request, obj=None):
        return False


class ArticleScoreInline(admin.TabularInline):
    model = ArticleScore
    extra = 0
    can_delete = False
    readonly_fields = ("analyzer", "version", "label", "score", "scored_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ("title", "source", "published_at", "available_at")
    list_filter = ("source",)
    search_fields = ("title", "url", "symbols__symbol")
    date_hierarchy = "available_at"
    inlines = [ArticleSymbolInline, ArticleScoreInline]


@admin.register(SymbolSentiment)
class SymbolSentimentAdmin(ReadOnlyAdmin):
    list_display = ("symbol", "window", "at", "count", "decayed_mean", "share_positive", "share_negative", "analyzer")
    list_filter = ("window", "analyzer")
    search_fields = ("symbol",)
    date_hierarchy = "at"


@admin.register(SentimentModel)
class SentimentModelAdmin(ReadOnlyAdmin):
    """The model registry: what each trained model learnt from and its cross-validated figures."""

    list_display = ("name", "design", "data_rows", "data_sha256", "created_at")
    exclude = ("artifact",)


@admin.register(SentimentEvaluation)
class SentimentEvaluationAdmin(ReadOnlyAdmin):
    list_display = ("evaluated_at", "analyzer", "version", "accuracy", "macro_f1", "texts_per_second", "file_sha256")
    list_filter = ("analyzer",)
