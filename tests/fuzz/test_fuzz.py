"""Brief fuzzing inside `make test`: every seed on its own, then each target over arbitrary bytes and over
mutations of its seeds that keep their format (JSON values, CSV cells, XML text, ticker packets), so the
inputs get past the first check. The long runs are `make fuzz` (tests/fuzz/run.py, with atheris)."""

import csv
import io
import json
import re
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.kite import ticker_frame
from tests.fuzz import targets
from tests.fuzz.targets import TARGETS
from tests.fuzz.world import postback_world_make

BRIEF = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE = [name for name, target in TARGETS.items() if not target.database]
POSTBACKS = [name for name, target in TARGETS.items() if target.database]
# Values that have broken parsers before: numbers at and past their limits, NUL, a lone CR, quotes,
# dates outside what datetime and PostgreSQL hold, text past a column's length.
TRICKY = [
    "",
    " ",
    "NaN",
    "sNaN",
    "-Infinity",
    "1e999",
    "1e-999",
    "1e999999999",
    "-1",
    "0",
    "0.00001",
    "9" * 40,
    "\x00",
    "a\x00b",
    "\r",
    '"',
    "ł€",
    "0001-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "2024-02-30",
    "x" * 600,
]
tricky_text = st.sampled_from(TRICKY) | st.text(max_size=30)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | tricky_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture
def postback_world(db, settings):
    targets.postback_world = world = postback_world_make(settings)
    yield world
    targets.postback_world = None
    world.stop()


def target_ready(name: str, request) -> None:
    if TARGETS[name].database:
        request.getfixturevalue("postback_world")


# --- byte mutations, for every target ------------------------------------------------------------------


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with a few of libFuzzer's kinds of change: bytes replaced, inserted, deleted, cut off."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        piece = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(TRICKY).map(str.encode))
        kind = draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        if kind == "replace":
            data[at : at + len(piece)] = piece
        elif kind == "insert":
            data[at:at] = piece
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


# --- mutations that keep the format ----------------------------------------------------------------------


def json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*path, index))


@st.composite
def json_mutated(draw, seeds: list[bytes], prefix: bytes = b"") -> bytes:
    """A JSON seed with some of its values (or the whole) replaced by others of any type."""
    seed = draw(st.sampled_from([s for s in seeds if s.startswith(prefix) and is_json(s[len(prefix) :])]))
    value = json.loads(seed[len(prefix) :])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(json_paths(value))))
        if not path:
            value = draw(json_values)
            continue
        parent = value
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(json_values)
    return prefix + json.dumps(value).encode()


def is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


@st.composite
def csv_mutated(draw, seeds: list[bytes], flagged: bool = False) -> bytes:
    """A CSV seed with some of its cells replaced; `flagged`: the seeds start with a byte of flags, which
    is drawn anew."""
    seed = draw(st.sampled_from(seeds))
    prefix = bytes([draw(st.integers(0, 3))]) if flagged else b""
    rows = list(csv.reader(io.StringIO(seed[int(flagged) :].decode("utf-8", "replace"), newline="")))
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.sampled_from(rows[1:] or rows))
        if row:
            row[draw(st.integers(0, len(row) - 1))] = draw(tricky_text)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return prefix + out.getvalue().encode()


TEXT_NODE = re.compile(rb">([^<]*)<")


@st.composite
def xml_text_mutated(draw, seeds: list[bytes]) -> bytes:
    """An RSS or Atom seed with the text of some elements (titles, links, dates) replaced."""
    data = draw(st.sampled_from([s for s in seeds if TEXT_NODE.search(s)]))
    for _ in range(draw(st.integers(1, 3))):
        nodes = list(TEXT_NODE.finditer(data))
        node = draw(st.sampled_from(nodes))
        text = draw(
            tricky_text | st.sampled_from(["Mon, 01 Jan 0001 00:00:00 GMT", "31 Dec 9999 23:59:59 -1200", "&#0;"])
        )
        data = data[: node.start(1)] + text.encode() + data[node.end(1) :]
    return data


PACKET_SIZES = [8, 28, 32, 44, 184]


@st.composite
def ticker_frames(draw) -> bytes:
    """Frames of packets of Kite's sizes (and others), with a packet count that may lie and a cut tail."""
    sizes = draw(st.lists(st.sampled_from(PACKET_SIZES) | st.integers(0, 200), max_size=4))
    packets = [draw(st.binary(min_size=size, max_size=size)) for size in sizes]
    frame = bytearray(ticker_frame(packets))
    if draw(st.booleans()):
        frame[0:2] = struct.pack(">H", draw(st.integers(0, 65535)))
    return bytes(frame[: draw(st.integers(0, len(frame)))])


STRUCTURED = {
    "kite_ticker": lambda seeds: ticker_frames(),
    "kite_ticker_text": json_mutated,
    "kite_postback": json_mutated,
    "kite_postback_signed": json_mutated,
    "instruments_csv": csv_mutated,
    "bars_csv": lambda seeds: csv_mutated(seeds, flagged=True),
    "news_rss": xml_text_mutated,
    "news_api": lambda seeds: json_mutated(seeds, b"\x00"),
}


# --- the tests -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TARGETS))
def test_each_seed_passes(name, request):
    target_ready(name, request)
    for seed in TARGETS[name].seeds():
        TARGETS[name].run(seed)


@pytest.mark.parametrize("name", PURE)
@BRIEF
@given(data=st.data())
def test_arbitrary_bytes_get_a_documented_error_or_none(name, data):
    TARGETS[name].run(data.draw(st.binary(max_size=400)))


@pytest.mark.parametrize("name", PURE)
@BRIEF
@given(data=st.data())
def test_mutated_seeds_get_a_documented_error_or_none(name, data):
    target = TARGETS[name]
    target.run(data.draw(mutated(target.seeds()) | STRUCTURED[name](target.seeds())))


@pytest.mark.parametrize("name", POSTBACKS)
@BRIEF
@given(data=st.data())
def test_mutated_postbacks_are_refused_with_update_refused_or_applied(name, postback_world, data):
    target = TARGETS[name]
    seeds = target.seeds()
    target.run(data.draw(st.binary(max_size=200) | mutated(seeds) | json_mutated(seeds)))
