import subprocess
import sys


def test_kiteconnect_imports_beside_daphne_with_the_pinned_versions():
    # kiteconnect is installed with --no-deps (its autobahn pin conflicts with daphne 4); this shows the
    # install step left it importable, after daphne as the platform always imports them.
    code = (
        "import daphne, kiteconnect, autobahn; from importlib.metadata import version; "
        "print(version('kiteconnect'), version('daphne').split('.')[0], kiteconnect.KiteConnect.__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5.2.2", "4", "KiteConnect"]
