"""The README and docs name only what exists: every path, module, script and flag they
put in code is in the repository (a move or a rename that leaves a doc behind fails
here)."""

import importlib
import importlib.util
import re

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "NLP_data" / "README.md"]
# Flags of other tools the docs show in their commands.
OTHER_TOOLS_FLAGS = {"--help", "--logdir", "--no-sandbox", "--headless", "--disable-gpu",
                     "--screenshot", "--window-size", "--user-data-dir", "--durations"}


def code_in(path):
    """The text of every code span and code block of a Markdown file."""
    text = path.read_text()
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return blocks + spans


def named(pattern):
    return sorted({(doc.relative_to(ROOT).as_posix(), m) for doc in DOCS
                   for code in code_in(doc) for m in re.findall(pattern, code)})


def project_sources():
    files = [*ROOT.glob("mouthgan/**/*.py"), *ROOT.glob("scripts/*.py"),
             *ROOT.glob("benchmarks/*.py"), ROOT / ".ci" / "run"]
    return "\n".join(p.read_text() for p in files if p.is_file())


PATHS = named(r"(?<![\w/.])((?:mouthgan|scripts|benchmarks|docs|tests|NLP_data|\.ci)"
              r"/[\w./*-]*[\w*])")


@pytest.mark.parametrize("doc, path", PATHS)
def test_every_path_named_exists(doc, path):
    if any(part.isupper() and len(part) > 1 for part in re.split(r"[/._-]", path)):
        pytest.skip("a placeholder (NAME, RUN, ...)")
    if path.startswith("NLP_data/"):
        pytest.skip("built on the user's machine")
    assert list(ROOT.glob(path)), f"{doc} names {path}"


@pytest.mark.parametrize("doc, script", named(r"(?<![\w/.-])([a-z_]+\.py)\b"))
def test_every_script_named_exists(doc, script):
    found = [*ROOT.glob(f"scripts/{script}"), *ROOT.glob(f"benchmarks/{script}"),
             *ROOT.glob(f"mouthgan/**/{script}"), *ROOT.glob(f"tests/{script}")]
    assert found, f"{doc} names {script}"


@pytest.mark.parametrize("doc, module", named(r"\b(mouthgan(?:\.[a-z_]+)+)"))
def test_every_module_named_exists(doc, module):
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if importlib.util.find_spec(name) is not None:
            target = importlib.import_module(name)
            for attribute in parts[cut:]:
                assert hasattr(target, attribute), f"{doc} names {module}"
                target = getattr(target, attribute)
            return
    pytest.fail(f"{doc} names {module}")


SOURCES = project_sources()


@pytest.mark.parametrize("doc, flag", named(r"(?<![\w-])(--[a-z][a-z0-9-]*)"))
def test_every_flag_named_is_a_flag_of_the_project(doc, flag):
    if flag in OTHER_TOOLS_FLAGS:
        return
    # add_flags derives each flag from its config field (--peer-timeout <- peer_timeout).
    # A boolean field also has its --no- form (argparse.BooleanOptionalAction).
    field = flag[2:].removeprefix("no-").replace("-", "_")
    positive = "--" + flag[2:].removeprefix("no-")  # a hand-made BooleanOptionalAction
    assert (f'"{flag}"' in SOURCES or re.search(rf"^\s+{field}: ", SOURCES, re.M)
            or f"'{flag}'" in SOURCES
            or re.search(rf'"{positive}", action=argparse.BooleanOptionalAction', SOURCES)), \
        f"{doc} names {flag}"
