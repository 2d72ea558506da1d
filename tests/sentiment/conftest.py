import pytest

from tests.fakes.news import news_site_running


@pytest.fixture
def news_site():
    with news_site_running() as site:
        yield site
