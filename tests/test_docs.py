"""The documentation's code runs as written.

What is checked, and how:

- Every ```python block of README.md, docs/*.md and docs/models/*.md is executed as written, in
  order, in one fresh namespace per file (a page reads as one Python session). The working directory
  is an empty temporary folder, because blocks write files (``run.csv``, ``pk.ant``, plots) that must
  not land in the repository; the blocks load shipped models by name, so they need nothing from the
  checkout. Plots use the Agg backend. A failure names the file and the line of the block.
- Every fenced block carries a language tag. Blocks tagged anything but ``python`` are not executed:
  ``bash`` and ``console`` for shell commands, ``text`` for output, synopses and equations, ``toml``
  and ``antimony`` for files. The tag check keeps Python from slipping past the first check untagged.
- Every ``qsp ...`` command line in the ```bash and ```console blocks of README.md, docs/cli.md and
  docs/quickstart.md parses with ``qsp.cli.build_parser()``, except those whose shown output is the
  usage error they are there to show. The ```console examples (``$ qsp ...`` followed by the output)
  of docs/cli.md are run for real through ``qsp.cli.main``, next to the ``pk.ant`` written from the
  page's ```antimony block, and what they print must match the page: numbers to a relative 1e-6,
  a line ``...`` stands for any number of lines, and a line ending in ``...`` for any line that
  starts with the text before it.
- docs/walkthrough.ipynb runs top to bottom on the ``python3`` Jupyter kernel of this interpreter
  without an error, and the cells that show a Model and a SimulationResult display them as HTML.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs" / "models").glob("*.md"))]
CLI_DOCS = [ROOT / "README.md", ROOT / "docs" / "cli.md", ROOT / "docs" / "quickstart.md"]
NOTEBOOK = ROOT / "docs" / "walkthrough.ipynb"

_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(.*)$")


@dataclass
class Block:
    path: Path
    line: int        # line number of the opening fence (1-based)
    tag: str         # first word of the info string ('' when untagged)
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    out, lines = [], path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.groups()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not (lines[i].startswith(fence[0] * len(fence))
                                      and not lines[i].strip(fence[0]).strip()):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path.relative_to(ROOT)}:{start}: code fence is never closed")
        out.append(Block(path, start, info.split()[0] if info.strip() else "", "\n".join(body) + "\n"))
        i += 1
    return out


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --------------------------------------------------------------------------- python blocks
PY_DOCS = [p for p in DOCS if any(b.tag == "python" for b in blocks(p))]


def test_docs_have_python_blocks():
    names = {_rel(p) for p in PY_DOCS}
    for expected in ("README.md", "docs/quickstart.md", "docs/errors.md", "docs/dosing.md", "docs/ensemble.md",
                     "docs/sensitivity.md", "docs/synergy.md", "docs/vpop.md"):
        assert expected in names, f"no ```python block found in {expected}"
    assert sum(b.tag == "python" for b in blocks(ROOT / "docs" / "quickstart.md")) >= 10


def run_python_blocks(path: Path, *, timings: list | None = None) -> None:
    """Execute the file's ```python blocks in one namespace; raise AssertionError naming the failing block."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace = {"__name__": "__main__"}
    try:
        for block in blocks(path):
            if block.tag != "python":
                continue
            # Pad with blank lines so that tracebacks give the line numbers of the Markdown file.
            code = compile("\n" * block.line + block.code, str(path), "exec")
            t0 = time.perf_counter()
            try:
                exec(code, namespace)
            except BaseException as exc:  # noqa: BLE001 - report any failure with its place in the file
                if isinstance(exc, KeyboardInterrupt):
                    raise
                frames = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
                at = f" (line {frames[-1]})" if frames else ""
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                raise AssertionError(f"{block.where}{at}: block failed with {type(exc).__name__}: {exc}\n\n{tb}") \
                    from None
            if timings is not None:
                timings.append((block.where, time.perf_counter() - t0))
    finally:
        plt.close("all")


@pytest.mark.parametrize("path", PY_DOCS, ids=_rel)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    run_python_blocks(path)


@pytest.mark.parametrize("path", DOCS, ids=_rel)
def test_code_fences_are_tagged(path):
    untagged = [b.where for b in blocks(path) if not b.tag]
    assert not untagged, (f"code blocks without a language tag (use python, bash, console, text, toml, ...): "
                          f"{', '.join(untagged)}")


# --------------------------------------------------------------------------- command lines
@dataclass
class Command:
    where: str
    argv: list[str]          # after 'qsp'
    shown: list[str] | None  # the output shown under a '$ ' prompt; None in a bash block


def _joined(lines: list[str]):
    """Yield (index of first line, index of last line, logical line), backslash continuations joined."""
    i = 0
    while i < len(lines):
        first, text = i, lines[i]
        while text.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i].strip()
        yield first, i, text
        i += 1


def commands(path: Path) -> list[Command]:
    """The `qsp ...` command lines of the file's bash and console blocks."""
    out = []
    for block in blocks(path):
        if block.tag not in ("bash", "console", "sh", "shell"):
            continue
        lines = block.code.splitlines()
        if block.tag == "console":
            for k, last, text in _joined(lines):
                if not text.startswith("$ "):
                    continue
                shown = []
                for rest in lines[last + 1:]:
                    if rest.startswith("$ "):
                        break
                    shown.append(rest)
                while shown and not shown[-1].strip():
                    shown.pop()
                words = shlex.split(text[2:], comments=True)
                if words and words[0] == "qsp":
                    out.append(Command(f"{_rel(path)}:{block.line + 1 + k}", words[1:], shown))
        else:
            for k, _, text in _joined(lines):
                words = shlex.split(text, comments=True)
                if words and words[0] == "qsp":
                    out.append(Command(f"{_rel(path)}:{block.line + 1 + k}", words[1:], None))
    return out


def _is_usage_error(shown: list[str] | None) -> bool:
    return bool(shown) and shown[0].startswith("qsp: error:") and shown[0].rstrip().endswith("--help')")


CLI_COMMANDS = [c for p in CLI_DOCS for c in commands(p)]


def test_cli_docs_show_commands():
    where = {c.where.split(":")[0] for c in CLI_COMMANDS}
    assert {"README.md", "docs/cli.md"} <= where
    assert sum(c.shown is not None for c in CLI_COMMANDS) >= 10


@pytest.mark.parametrize("cmd", CLI_COMMANDS, ids=lambda c: c.where)
def test_cli_commands_parse(cmd):
    from qsp.cli import build_parser

    parser = build_parser()
    if _is_usage_error(cmd.shown):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(cmd.argv)
        assert exc.value.code == 2
        return
    try:
        parser.parse_args(cmd.argv)
    except SystemExit as exc:
        if exc.code == 0 and {"--help", "-h", "--version"} & set(cmd.argv):
            return  # help and version print and exit 0
        pytest.fail(f"{cmd.where}: 'qsp {shlex.join(cmd.argv)}' does not parse (exit status {exc.code})")


_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _same_line(shown: str, actual: str) -> bool:
    shown, actual = shown.rstrip(), actual.rstrip()
    if shown.endswith("..."):
        return " ".join(actual.split()).startswith(" ".join(shown[:-3].split()))
    split_s, split_a = _NUMBER.split(shown), _NUMBER.split(actual)
    if [" ".join(s.split()) for s in split_s] != [" ".join(a.split()) for a in split_a]:
        return False
    for s, a in zip(_NUMBER.findall(shown), _NUMBER.findall(actual)):
        x, y = float(s), float(a)
        if abs(x - y) > 1e-9 + 1e-6 * abs(x):
            return False
    return True


def _matches(shown: list[str], actual: list[str]) -> bool:
    """Whether the printed lines match the shown ones ('...' alone: any number of lines)."""
    if not shown:
        return not actual
    if shown[0].strip() == "...":
        return any(_matches(shown[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and _same_line(shown[0], actual[0]) and _matches(shown[1:], actual[1:])


def _model_files(path: Path) -> dict[str, str]:
    """Files the page's examples use, from its ```antimony blocks (named by their model)."""
    files = {}
    for block in blocks(path):
        if block.tag == "antimony":
            name = re.match(r"\s*model\s+(\w+)", block.code).group(1)
            files[f"{name}.ant"] = block.code
    return files


RUN_COMMANDS = [c for c in commands(ROOT / "docs" / "cli.md") if c.shown is not None]


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_docs")
    for name, text in _model_files(ROOT / "docs" / "cli.md").items():
        (d / name).write_text(text)
    assert (d / "pk.ant").is_file(), "docs/cli.md has no ```antimony block with 'model pk'"
    return d


@pytest.mark.parametrize("cmd", RUN_COMMANDS, ids=lambda c: c.where)
def test_cli_examples_print_what_the_page_shows(cmd, cli_dir, monkeypatch, capfd):
    import warnings

    from qsp.cli import main

    monkeypatch.chdir(cli_dir)
    monkeypatch.delenv("QSP_DEBUG", raising=False)
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)   # main() replaces it
    try:
        status = main(cmd.argv)
    except SystemExit as exc:
        status = exc.code
    out, err = capfd.readouterr()
    is_error = bool(cmd.shown) and cmd.shown[0].startswith("qsp: error")
    printed = (err if is_error else out).splitlines()
    line = f"qsp {shlex.join(cmd.argv)}"
    if is_error:
        assert status in (1, 2), f"{cmd.where}: '{line}' exited with {status}, the page shows an error\n{err}"
        assert status == (2 if _is_usage_error(cmd.shown) else 1), f"{cmd.where}: exit status {status}"
    else:
        assert status == 0, f"{cmd.where}: '{line}' exited with {status}\n{err}"
    assert _matches(cmd.shown, printed), (
        f"{cmd.where}: '{line}' printed\n" + "\n".join(printed) + "\n\nbut the page shows\n" + "\n".join(cmd.shown))


def test_output_matching_rules():
    assert _matches(["a,1.0", "...", "z"], ["a,1.0000000001", "b", "c", "z"])
    assert _matches(["title: one two, ..."], ["title: one two, three"])
    assert not _matches(["a,1.0"], ["a,1.1"])
    assert not _matches(["a,1.0"], ["a,1.0", "extra"])
    assert not _matches(["x: 1"], ["y: 1"])


# --------------------------------------------------------------------------- notebook
def _executed_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The last cell (added here only) reports which environment the kernel runs in.
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    spec = KernelSpecManager().get_kernel_spec("python3")
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        # Inline figures, as in Jupyter (this process itself plots with Agg).
        client.execute(env={**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    except nbclient.exceptions.CellExecutionError as exc:
        failed = [c.id for c in nb.cells if any(o.output_type == "error" for o in c.get("outputs", []))]
        pytest.fail(f"{NOTEBOOK.relative_to(ROOT)}: cell {failed[0] if failed else '?'!r} raised "
                    f"{exc.ename}: {exc.evalue}", pytrace=False)
    return nb, spec


def test_walkthrough_notebook(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert not [i for i, c in enumerate(stored.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)], \
        "docs/walkthrough.ipynb is stored with outputs; clear them"
    t0 = time.perf_counter()
    nb, spec = _executed_notebook(tmp_path)
    seconds = time.perf_counter() - t0
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "not every cell of the walkthrough ran"
    errors = [(c.id, o) for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cell {errors[0][0]!r} raised {errors[0][1].ename}: {errors[0][1].evalue}"
    kernel_prefix = "".join(o.get("text", "") for o in code[-1].outputs).strip()
    assert kernel_prefix == sys.prefix, (
        f"the python3 kernel ({spec.argv}) ran in {kernel_prefix}, not in this environment ({sys.prefix})")
    assert seconds < 120, f"the walkthrough took {seconds:.0f} s"

    def shown(tag, mime):
        cells = [c for c in code if tag in c.metadata.get("tags", [])]
        assert cells, f"no cell tagged {tag!r} in the walkthrough"
        return [o for c in cells for o in c.outputs
                if o.output_type in ("execute_result", "display_data") and mime in o.get("data", {})]

    assert shown("show-model", "text/html"), "the cell that shows a Model displayed no text/html"
    assert shown("show-result", "text/html"), "the cell that shows a SimulationResult displayed no text/html"
    assert shown("show-plot", "image/png"), "the cell that plots the time course displayed no figure"
