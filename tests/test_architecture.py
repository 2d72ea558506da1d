"""The project's shape: no import cycles, dependencies pointing one way, modules a reader can hold.

The checks read the source (tests/import_graph.py), so a cycle hidden in a function-level import
fails here, not in production when that function first runs.
"""

from pathlib import Path

from tests.import_graph import forbidden_imports, import_cycles, import_graph, layer_breaches

ROOT = Path(__file__).resolve().parent.parent
APPS = ["tradingsite", "trading", "portfolio", "strategies", "audit", "sentiment", "rl"]
MODULE_LINES_MAX = 500

# trading's packages from the top down: each may import its own layer and those below, never above.
# The order services know no broker; a broker reports back through the order services; the feeds
# drive the paper exchange and Kite's ticker; tasks, views and APIs sit on top and are imported by
# nothing in the layers.
TRADING_LAYERS = [
    ["trading.urls", "trading.views", "trading.apis", "trading.tasks", "trading.admin", "trading.management"],
    ["trading.feeds"],
    ["trading.brokers"],
    ["trading.kite"],
    ["trading.orders"],
    ["trading.realtime"],
    ["trading.market"],
    ["trading.models", "trading.metrics"],
]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_project_has_no_import_cycle():
    assert import_cycles(import_graph(ROOT, APPS)) == []


def test_a_cycle_held_together_by_a_function_level_import_is_found(tmp_path):
    write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/services.py": "def order_place():\n    from pkg.tasks import send\n\n    send()\n",
            "pkg/tasks.py": "from pkg.services import order_place\n\n\ndef send():\n    pass\n",
            "pkg/views.py": "from pkg import services\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/feed.py": "from .. import views\n",
            "pkg/sub/runner.py": "from . import feed\n",
        },
    )
    graph = import_graph(tmp_path, ["pkg"])
    assert import_cycles(graph) == [["pkg.services", "pkg.tasks"]]

    write(tmp_path, {"pkg/views.py": "from pkg import services\nfrom pkg.sub.runner import run\n"})
    assert import_cycles(import_graph(tmp_path, ["pkg"])) == [
        ["pkg.services", "pkg.tasks"],
        ["pkg.sub.feed", "pkg.sub.runner", "pkg.views"],
    ]


def test_trading_packages_import_only_downwards():
    assert layer_breaches(import_graph(ROOT, APPS), TRADING_LAYERS) == []


def test_an_upward_import_is_a_breach(tmp_path):
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/orders/__init__.py": "",
            "app/orders/services.py": "def fill():\n    from app.brokers.paper import PaperExchange\n",
            "app/brokers/__init__.py": "",
            "app/brokers/paper.py": "from app.orders import services\n",
        },
    )
    layers = [["app.brokers"], ["app.orders"]]
    graph = import_graph(tmp_path, ["app"])
    assert layer_breaches(graph, layers) == ["app.orders.services imports app.brokers.paper, a layer above it"]
    assert forbidden_imports(graph, "app.orders", "app.brokers") == ["app.orders.services imports app.brokers.paper"]
    assert forbidden_imports(graph, "app.brokers", "app.orders") == ["app.brokers.paper imports app.orders.services"]


def test_apps_depend_one_way():
    graph = import_graph(ROOT, APPS)
    # Portfolio reads what trading records; the risk checks' account book lives in trading.
    assert forbidden_imports(graph, "trading", "portfolio") == []
    # Strategies place orders and backtest through trading's execution model; trading knows no strategy code.
    assert forbidden_imports(graph, "trading", "strategies") == []
    # Everything writes the audit trail; the trail knows nothing of what it records.
    assert forbidden_imports(graph, "audit", "trading") == []
    assert forbidden_imports(graph, "audit", "portfolio") == []


def test_tasks_are_imported_by_nothing():
    """Celery finds the tasks by name; code that needs a task's work calls the service it wraps."""
    graph = import_graph(ROOT, APPS)
    importers = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if target.endswith(".tasks") and module != target
    ]
    assert importers == []


def test_modules_stay_short():
    long = {
        f"{file.relative_to(ROOT)}": lines
        for package in APPS
        for file in (ROOT / package).rglob("*.py")
        if "migrations" not in file.parts and (lines := len(file.read_text().splitlines())) > MODULE_LINES_MAX
    }
    assert long == {}
