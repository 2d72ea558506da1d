from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from mozilla_django_oidc.views import OIDCAuthenticationRequestView, OIDCLogoutView

from portfolio import views as portfolio_views
from rl import views as rl_views
from strategies import views as strategies_views
from trading import views as trading_views
from trading.kite import views as kite_views
from tradingsite import health, login, oidc, views

admin.site.site_header = "Trading platform back office"
admin.site.site_title = "Trading platform"

handler400 = "tradingsite.request_errors.bad_request"
handler404 = "tradingsite.views.not_found"
handler500 = "tradingsite.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("status/", views.system_status, name="system-status"),
    path("trade/", trading_views.trade, name="trade"),
    path("dashboard/", portfolio_views.dashboard, name="dashboard"),
    path("backtests/", strategies_views.backtests, name="backtests"),
    path("agents/", rl_views.agents, name="rl-agents"),
    path("agents/<str:name>/promote", rl_views.agent_promote, name="rl-agent-promote"),
    path("kite/", kite_views.kite_page, name="kite"),
    path("kite/login/<int:account_id>", kite_views.kite_login, name="kite-login"),
    path("kite/callback", kite_views.kite_callback, name="kite-callback"),
    path("kite/logout/<int:account_id>", kite_views.kite_logout_view, name="kite-logout"),
    path("kite/postback", kite_views.kite_postback, name="kite-postback"),
    path("accounts/login/", login.LoginView.as_view(), name="login"),
    # Signs out here, and at the provider when the session came from it (OIDC_OP_LOGOUT_URL_METHOD).
    path("accounts/logout/", OIDCLogoutView.as_view(), name="logout"),
    path("accounts/tokens/", views.api_tokens, name="api-tokens"),
    path("accounts/tokens/<int:token_id>/revoke", views.api_token_revoke_view, name="api-token-revoke"),
    path("oidc/authenticate/", OIDCAuthenticationRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    # One sign-in page for the site and the back office, so the admin follows the same login rules.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("trading.urls")),
    path("api/v1/", include("portfolio.urls")),
    path("api/v1/", include("audit.urls")),
    path("api/v1/", include("strategies.urls")),
    path("api/v1/", include("sentiment.urls")),
    path("api/v1/", include("rl.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("metrics", views.metrics, name="metrics"),
]
