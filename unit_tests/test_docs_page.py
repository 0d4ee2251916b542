"""docs/metabase.md covers what the connector can say and do: every message components.py and
manifest.yaml can emit to a user is in its troubleshooting table, every stream has a row in its
streams table, every config key is in its setup guide. The messages are read from the code (the
Python with `ast`, the manifest with yaml), so a new message without a row fails here."""

import ast
import re
from pathlib import Path

import pytest
import yaml
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "metabase.md"
WILDCARD = "\x00"  # what a placeholder ({url}, {{ request_url }}, an f-string's {value}) becomes

# Calls whose string argument a user reads: (function name, positional index, keyword).
MESSAGE_CALLS = {
    "config_error": (0, "message"),
    "AirbyteTracedException": (None, "message"),
    "ErrorResolution": (2, "error_message"),
    "warning": (0, "msg"),
    "error": (0, "msg"),
}


def template(node: ast.AST, constants: dict):
    """The text of a string expression, placeholders as WILDCARD; None when not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.sub(r"\{[a-z_]*\}", WILDCARD, node.value)  # a str.format placeholder
    if isinstance(node, ast.JoinedStr):
        return "".join(template(part, constants) if isinstance(part, ast.Constant) else WILDCARD
                       for part in node.values)
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return template(node.func.value, constants)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left, constants), template(node.right, constants)
        return left + right if left is not None and right is not None else None
    return None


def strings_in(node: ast.AST, constants: dict) -> list:
    """The message texts an argument can be: both sides of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return strings_in(node.body, constants) + strings_in(node.orelse, constants)
    text = template(node, constants)
    return [text] if text is not None else []


def components_messages() -> set:
    tree = ast.parse((ROOT / "components.py").read_text())
    constants = {}
    for node in tree.body:  # module constants: NO_CREDENTIALS, EXPIRED_TOKEN, HTML_ANSWER, ...
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            text = template(node.value, {})
            if text is not None and node.targets[0].id.isupper():
                constants[node.targets[0].id] = text
    messages = {text for text in constants.values() if " " in text.strip()}  # not header names
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in MESSAGE_CALLS:
                continue
            position, keyword = MESSAGE_CALLS[name]
            arguments = [kw.value for kw in node.keywords if kw.arg == keyword]
            if position is not None and len(node.args) > position:
                arguments.append(node.args[position])
            for argument in arguments:
                messages.update(strings_in(argument, constants))
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_message"):
            for inner in ast.walk(node):  # e.g. _rejection_message: each returned text
                if isinstance(inner, ast.Return) and inner.value is not None:
                    messages.update(strings_in(inner.value, constants))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "message" for t in node.targets):
            messages.update(strings_in(node.value, constants))  # message = (...) then logged
    return {m for m in messages if m.strip(WILDCARD + " ")}


def manifest_messages() -> set:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "error_message" and isinstance(value, str):
                    found.add(re.sub(r"\{\{.*?\}\}", WILDCARD, value))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "manifest.yaml").read_text()))
    return found


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def section(title: str) -> str:
    """The text of the page's `## title` section."""
    page = PAGE.read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", page, re.S | re.M)
    assert match, f"docs/metabase.md has no '## {title}' section"
    return match.group(1)


def troubleshooting_messages() -> list:
    """The first column of every row of the troubleshooting table, backticks removed."""
    rows = [line for line in section("Troubleshooting").splitlines() if line.startswith("| `")]
    return [normalise(row.split(" | ")[0].lstrip("| ").strip("`")) for row in rows]


def is_documented(message: str, documented: list) -> bool:
    pattern = ".+?".join(re.escape(part) for part in normalise(message).split(WILDCARD))
    return any(re.fullmatch(pattern, row) for row in documented)


def test_the_code_has_messages_to_check():
    """The extraction finds what is there (a few known ones), so the next test can fail."""
    python, manifest = components_messages(), manifest_messages()
    assert any(m.startswith("No Metabase credentials are configured.") for m in python)
    assert any(m.startswith("Metabase rejected the API key") for m in python)  # a _message return
    assert any(m.startswith(f"The host {WILDCARD} of instance_api_url") for m in python)  # an f-string
    assert any(m.startswith(f"Skipping {WILDCARD}: it was deleted") for m in manifest)
    assert len(python) >= 15 and len(manifest) >= 5


@pytest.mark.parametrize("origin", ["components.py", "manifest.yaml"])
def test_every_message_has_a_troubleshooting_row(origin):
    messages = components_messages() if origin == "components.py" else manifest_messages()
    documented = troubleshooting_messages()
    missing = sorted(normalise(m).replace(WILDCARD, "<…>") for m in messages if not is_documented(m, documented))
    assert missing == [], f"messages of {origin} missing from the troubleshooting table of docs/metabase.md"


def test_a_deleted_row_is_noticed():
    documented = troubleshooting_messages()
    message = next(m for m in components_messages() if m.startswith("No Metabase credentials"))
    assert is_documented(message, documented)
    assert not is_documented(message, [row for row in documented if not row.startswith("No Metabase credentials")])


def test_every_stream_has_a_row_in_the_streams_table():
    manifest = ManifestReferenceResolver().preprocess_manifest(yaml.safe_load((ROOT / "manifest.yaml").read_text()))
    streams = [s["name"] for s in manifest["streams"]]
    table = section("Supported streams")
    assert [s for s in streams if f"| `{s}` |" not in table] == []


def test_every_config_key_is_in_the_setup_guide():
    spec = yaml.safe_load((ROOT / "manifest.yaml").read_text())["spec"]["connection_specification"]
    guide = section("Setup guide")
    assert [key for key in spec["properties"] if f"`{key}`" not in guide] == []
