"""The chart README's parameter table, made from the `## @param NAME description` lines in values.yaml.

python deploy/helm/readme.py          # rewrite the table in deploy/helm/tradingsite/README.md
python deploy/helm/readme.py --check  # exit 1 if the README's table is not what values.yaml says
"""

import json
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent / "tradingsite"
BEGIN, END = "<!-- parameters: begin -->", "<!-- parameters: end -->"


def params(text: str) -> list[tuple[str, str, str]]:
    """(section, name, description) in the file's order."""
    out, section = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("## @section "):
            section = stripped.removeprefix("## @section ")
        elif stripped.startswith("## @param "):
            name, _, description = stripped.removeprefix("## @param ").partition(" ")
            out.append((section, name, description))
    return out


def value_at(values: dict, name: str):
    node = values
    parts = name.split(".")
    k = 0
    while k < len(parts):
        # keys may hold dots themselves (nvidia.com/gpu): take the longest key that is there
        for j in range(len(parts), k, -1):
            key = ".".join(parts[k:j])
            if isinstance(node, dict) and key in node:
                node, k = node[key], j
                break
        else:
            raise KeyError(name)
    return node


def table() -> str:
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    lines, section = [], None
    for where, name, description in params(text):
        if where != section:
            section = where
            lines += ["", f"### {where}", "", "| Name | Description | Default |", "| --- | --- | --- |"]
        default = json.dumps(value_at(values, name))
        lines.append(f"| `{name}` | {description} | `{default}` |")
    return "\n".join(lines).strip() + "\n"


def readme_with_table(readme: str) -> str:
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{table()}{END}{tail}"


def main(argv: list[str]) -> int:
    path = CHART / "README.md"
    current = path.read_text()
    wanted = readme_with_table(current)
    if "--check" in argv:
        if current != wanted:
            sys.stderr.write(f"{path} is out of date: run python deploy/helm/readme.py\n")
            return 1
        return 0
    path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
