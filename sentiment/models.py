"""News sentiment: where articles come from, the articles, the symbols they are about, the analyzers'
scores and per-symbol aggregates, all kept point in time (`available_at`: when the platform first had
an article, the only time a backtest or a live strategy may use it from)."""

from django.db import models


class NewsSource(models.Model):
    """A place articles are fetched from, editable in the back office. Fetch state is kept here: a
    source that fails is retried with backoff (`retry_at`) and its error shown, never blocking others."""

    class Kind(models.TextChoices):
        RSS = "rss", "RSS or Atom feed"
        NEWSAPI = "newsapi", "NewsAPI /v2/everything"
        FILE = "file", "File import"

    name = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    url = models.URLField(max_length=500, blank=True, help_text="The feed, or the news API's base URL.")
    query = models.CharField(max_length=500, blank=True, help_text="NewsAPI: the `q` search expression.")
    enabled = models.BooleanField(default=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_new = models.PositiveIntegerField(default=0, help_text="Articles new in the last fetch.")
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Fetches failed in a row.")
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Article(models.Model):
    """One news item, stored once: by its URL, its feed guid, or failing both, its normalised text."""

    source = models.ForeignKey(NewsSource, on_delete=models.PROTECT, related_name="articles")
    url = models.URLField(max_length=1000, blank=True)
    guid = models.CharField(max_length=500, blank=True)
    title = models.TextField()
    summary = models.TextField(blank=True)
    text_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the normalised title and summary.")
    published_at = models.DateTimeField(null=True, blank=True, help_text="As the source claims it.")
    available_at = models.DateTimeField(help_text="When the platform first had it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["url"], condition=~models.Q(url=""), name="article_url"),
            models.UniqueConstraint(fields=["source", "guid"], condition=~models.Q(guid=""), name="article_guid"),
        ]
        indexes = [models.Index(fields=["available_at"])]

    def __str__(self):
        return self.title[:80]

    @property
    def text(self) -> str:
        return f"{self.title}. {self.summary}" if self.summary else self.title


class SymbolAlias(models.Model):
    """A name an NSE symbol goes by in the news ("Infosys", "L&T"), matched as whole words: exactly as
    written where `case_sensitive` (tickers that are also words, such as ITC), in any case otherwise.
    An alias with no symbol blocks a longer name from tagging a shorter one's symbol ("Reliance Power"
    is not RELIANCE)."""

    symbol = models.CharField(max_length=32, blank=True, help_text="NSE tradingsymbol; empty: tags nothing.")
    alias = models.CharField(max_length=120)
    case_sensitive = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alias", "case_sensitive"], name="symbol_alias_unique")]
        verbose_name_plural = "symbol aliases"

    def __str__(self):
        return f"{self.alias} -> {self.symbol or '(none)'}"


class ArticleSymbol(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="symbols")
    symbol = models.CharField(max_length=32)
    matched = models.CharField(max_length=120, help_text="The text that tagged it.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "symbol"], name="article_symbol_unique")]
        indexes = [models.Index(fields=["symbol", "article"])]

    def __str__(self):
        return f"{self.symbol} ({self.matched})"


class ArticleScore(models.Model):
    """One analyzer's view of one article, with the analyzer's name and version."""

    class Label(models.TextChoices):
        POSITIVE = "positive"
        NEUTRAL = "neutral"
        NEGATIVE = "negative"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="scores")
    analyzer = models.CharField(max_length=64)
    version = models.CharField(max_length=64)
    label = models.CharField(max_length=8, choices=Label.choices)
    score = models.FloatField(help_text="From -1 (negative) to 1 (positive).")
    scored_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "analyzer", "version"], name="article_score_unique")]
        indexes = [models.Index(fields=["analyzer", "article"])]

    def __str__(self):
        return f"{self.analyzer} {self.version}: {self.label} {self.score:+.3f}"


class SymbolSentiment(models.Model):
    """A symbol's sentiment over a window ending at `at`, from the articles available by then."""

    class Window(models.TextChoices):
        QUARTER_HOUR = "15m"
        DAY = "1d"

    symbol = models.CharField(max_length=32)
    analyzer = models.CharField(max_length=64)
    window = models.CharField(max_length=4, choices=Window.choices)
    at = models.DateTimeField()
    count = models.PositiveIntegerField()
    decayed_mean = models.FloatField()
    share_positive = models.FloatField()
    share_negative = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["symbol", "analyzer", "window", "at"], name="symbol_sentiment_unique")
        ]
        indexes = [models.Index(fields=["symbol", "window", "-at"])]

    def __str__(self):
        return f"{self.symbol} {self.window} at {self.at:%Y-%m-%d %H:%M}: {self.decayed_mean:+.3f} of {self.count}"


class SentimentModel(models.Model):
    """The model registry: a sentiment model trained here (`manage.py sentiment_train`), its files and
    where they came from (the training data's hash, the design and its parameters, the base model), its
    cross-validated figures on the training data. Its evaluations on held-out data are `SentimentEvaluation`s."""

    name = models.CharField(max_length=64, unique=True)
    design = models.CharField(max_length=32)
    base_model = models.CharField(max_length=128, help_text="The pretrained model it was fine-tuned from.")
    parameters = models.JSONField(default=dict)
    data_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the training file.")
    data_rows = models.PositiveIntegerField()
    cross_validation = models.JSONField(default=dict, help_text="Figures per fold and their mean.")
    artifact = models.BinaryField(help_text="The model's files (weights, config, tokenizer), zipped.")
    artifact_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.name} ({self.design})"


class SentimentEvaluation(models.Model):
    """One `sentiment_evaluate` run: an analyzer (and version) scored on a labelled file."""

    analyzer = models.CharField(max_length=64, help_text="As asked for: vader, finbert, trained or an entry's name.")
    version = models.CharField(max_length=128)
    model = models.ForeignKey(
        SentimentModel, null=True, blank=True, on_delete=models.CASCADE, related_name="evaluations"
    )
    file_sha256 = models.CharField(max_length=64)
    accuracy = models.FloatField()
    macro_f1 = models.FloatField()
    texts_per_second = models.FloatField()
    figures = models.JSONField(help_text="Everything printed: per-class precision and recall included.")
    evaluated_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.analyzer} {self.version}: macro-F1 {self.macro_f1:.3f}"
