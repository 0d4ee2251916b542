"""Copy schemas/*.json into the `schemas:` section that ends manifest.yaml, so that the
manifest stays self-contained (the Connector Builder reads only the manifest).
Run after editing a schema: python scripts/embed_schemas.py"""

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKER = "\nschemas:"


def main() -> None:
    manifest = ROOT / "manifest.yaml"
    head = manifest.read_text().split(MARKER)[0]
    schemas = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "schemas").glob("*.json"))}
    body = yaml.safe_dump(schemas, sort_keys=False, indent=2, width=100, allow_unicode=True)
    section = "".join(f"  {line}\n" for line in body.splitlines())
    manifest.write_text(f"{head}{MARKER}\n{section}")


if __name__ == "__main__":
    main()
