"""Long fuzzing runs with atheris (libFuzzer's coverage guidance for Python), one target at a time:

    python -m tests.fuzz.run TARGET [--seconds N] [libFuzzer options...]
    python -m tests.fuzz.run TARGET .data/fuzz/crashes/FILE    # run one input again (a crash's)
    python -m tests.fuzz.run all [--seconds N]      # every target, one after another
    python -m tests.fuzz.run --list

The project's parsers, kiteconnect and feedparser are instrumented as they are imported. The corpus of
each target is kept under .data/fuzz/corpus/TARGET (seeded from tests/fuzz/targets.py at every run), its
dictionary is written to .data/fuzz/dict/, and an input that crashes is written to .data/fuzz/crashes/.
The postback targets need PostgreSQL (run under `python -m tradingsite.embedded run`, as `make fuzz`
does): they use their own throwaway test database, test_<name>_fuzz, and everything they write is in a
transaction that is never committed.
"""

import argparse
import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / ".data" / "fuzz"
INSTRUMENTED = ["trading", "sentiment", "kiteconnect", "feedparser"]


def out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")
    import django

    django.setup()


def database_world():
    """A throwaway test database (kept between runs, as migrations take a while) and, inside a transaction
    that is never committed, the postback world."""
    from django.conf import settings
    from django.db import transaction
    from django.test.utils import setup_databases, setup_test_environment

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_fuzz"
    settings.CACHES["default"]["KEY_PREFIX"] = "fuzz"
    setup_test_environment()
    setup_databases(verbosity=0, interactive=False, keepdb=True)
    transaction.atomic().__enter__()  # left open: the process ends without committing it

    from tests.fuzz import targets
    from tests.fuzz.world import postback_world_make

    targets.postback_world = postback_world_make(settings)


def dictionary_entry(word: bytes) -> str:
    """A token as libFuzzer's dictionary files write it: printable ASCII, the rest (and quotes) as \\xNN."""
    return "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\x{b:02x}" for b in word)


def fuzz(name: str, seconds: int, libfuzzer: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        django_setup()
        from tests.fuzz.targets import TARGETS

    target = TARGETS[name]
    if target.database:
        database_world()
    # The parsers log what they refuse; at libFuzzer's pace that is noise, not news.
    logging.disable(logging.CRITICAL)
    corpus = DATA / "corpus" / name
    crashes = DATA / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    for seed in target.seeds():
        (corpus / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    words = DATA / "dict" / f"{name}.dict"
    words.parent.mkdir(parents=True, exist_ok=True)
    words.write_text("".join(f'"{dictionary_entry(word)}"\n' for word in target.words))
    options = [f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/{name}-", "-rss_limit_mb=4096"]
    options += [f"-dict={words}"] if target.words else []
    out(f"fuzzing {name} for {seconds} s, corpus {corpus.relative_to(ROOT)}")
    # Inputs named on the command line (a crash's file) are run once each instead of fuzzing the corpus.
    inputs = [] if any(not arg.startswith("-") for arg in libfuzzer) else [str(corpus)]
    atheris.Setup([sys.argv[0], *options, *libfuzzer, *inputs], target.run)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", nargs="?", help="a target's name, or 'all'")
    parser.add_argument("--seconds", type=int, default=600, help="how long to fuzz each target (default 600)")
    parser.add_argument("--list", action="store_true", help="list the targets")
    args, libfuzzer = parser.parse_known_args()
    if args.list or args.target == "all":
        django_setup()
        from tests.fuzz.targets import TARGETS

        if args.list:
            out("\n".join(TARGETS))
            return
        for name in TARGETS:  # each in its own process: libFuzzer ends the process when its time is up
            command = [sys.executable, "-m", "tests.fuzz.run", name, "--seconds", str(args.seconds), *libfuzzer]
            if subprocess.run(command, cwd=ROOT).returncode:
                sys.exit(f"{name}: the fuzzer found a crash (see above, and .data/fuzz/crashes/)")
        return
    if not args.target:
        parser.error("name a target, 'all', or --list")
    fuzz(args.target, args.seconds, libfuzzer)


if __name__ == "__main__":
    main()
