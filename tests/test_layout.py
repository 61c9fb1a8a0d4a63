"""The package's layout: subpackages in layers, each importing only those below it,
and no import cycle between modules (imports inside functions count too)."""

import ast
from pathlib import Path

import mouthgan

PACKAGE = Path(mouthgan.__file__).parent
# The layers, lowest first, as mouthgan/__init__.py lists them.
LAYERS = ["config", "util", "data", "models", "inference", "evaluation", "training", "lecture",
          "commands"]


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute(node, module, path):
    """The absolute module an ImportFrom names, relative imports resolved."""
    if node.level == 0:
        return node.module
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[:len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def third_party_roots(path, module):
    """The top-level packages a module imports (absolute or relative, anywhere in it)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            roots.add(absolute(node, module, path).split(".")[0])
        elif isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
    return roots


def imports():
    """{module: the mouthgan modules it imports, anywhere in its code}."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = absolute(node, name, path)
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t not in (name, "mouthgan")}
        graph[name] = found
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def layer(module):
    return LAYERS.index(module.split(".")[1]) if module.count(".") else -1


def test_no_module_imports_another_in_a_cycle():
    graph = imports()
    assert len(graph) > 30
    assert cycles(graph) == []
    # the finder finds one when there is one
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_subpackage_imports_only_the_layers_below_it():
    upward = sorted(f"{m} -> {t}" for m, targets in imports().items() for t in targets
                    if layer(t) > layer(m))
    assert upward == []
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == set(LAYERS) - {"config"}


def test_every_subpackage_says_what_it_holds_and_may_import():
    for name in LAYERS[1:]:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "May import" in doc, name


def test_third_party_imports_are_seen_in_every_form(tmp_path):
    """`from keras import x`, `import tensorflow.x as y` and relative imports count."""
    module = tmp_path / "mod.py"
    module.write_text("from keras import ops\nimport tensorflow.python as tp\n"
                      "from . import sibling\nfrom ..models import layers\n")
    assert third_party_roots(module, "mouthgan.inference.mod") == {"keras", "tensorflow",
                                                                   "mouthgan"}
    tree = ast.parse(module.read_text())
    relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
    assert [absolute(n, "mouthgan.inference.mod", module) for n in relative] == [
        "mouthgan.inference", "mouthgan.models"]


def test_the_kaggle_export_path_needs_no_tensorflow():
    graph = imports()
    path, seen = ["mouthgan.inference.kaggle_csv", "mouthgan.models.numpy_generator"], set()
    while path:
        module = path.pop()
        seen.add(module)
        path_of = PACKAGE.parent / (module.replace(".", "/") + ".py")
        assert not third_party_roots(path_of, module) & {"tensorflow", "keras"}, module
        path += [m for m in graph[module] if m not in seen and m.count(".") > 1]


def test_every_command_is_a_script_and_an_installed_console_command():
    import importlib
    import shutil
    import subprocess
    import tomllib

    root = PACKAGE.parent
    commands = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    scripts = sorted(p.stem for p in (root / "scripts").glob("*.py"))
    assert sorted(c.removeprefix("mouthgan-").replace("-", "_") for c in commands) == scripts
    for command, target in commands.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), command
        # the script is the thin entry point of the same main
        shim = (root / "scripts" / f"{module.rsplit('.', 1)[1]}.py").read_text()
        assert f"from {module} import main" in shim and len(shim.splitlines()) < 15
    if shutil.which("mouthgan-train"):  # installed: pip install -e .
        result = subprocess.run(["mouthgan-train", "--help"], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0 and "usage: mouthgan-train" in result.stdout
