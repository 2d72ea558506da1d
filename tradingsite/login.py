"""The sign-in page: the OIDC button when OIDC is on, the password form when local login is on."""

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpResponseForbidden

from tradingsite.login_limits import LOCKED_MESSAGE, login_locked


class LimitedAuthenticationForm(AuthenticationForm):
    def clean(self):
        if login_locked(self.data.get("username", "")):
            raise forms.ValidationError(LOCKED_MESSAGE, code="locked")
        return super().clean()

    def get_invalid_login_error(self):
        return forms.ValidationError("That username and password do not match an active account.", code="invalid_login")


class LoginView(auth_views.LoginView):
    form_class = LimitedAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if not settings.LOCAL_LOGIN_ENABLED:
            return HttpResponseForbidden("Password sign-in is off on this site: use single sign-on.")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "local_login": settings.LOCAL_LOGIN_ENABLED,
            "oidc_login": settings.OIDC_ENABLED,
            "oidc_provider_name": settings.OIDC_PROVIDER_NAME,
        }
