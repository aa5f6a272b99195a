"""Render every kustomization of infra/k8s and validate it offline: ``make lint`` runs this.

Kubernetes kinds are validated strictly (no unknown field) against the schemas that
PyPI's ``kubernetes-validate`` ships; KEDA's kinds, which it does not know, against
``keda.schema.json`` here, the part of KEDA 2's CRDs that the manifests use. Rendering
needs ``kubectl kustomize`` with kustomize 4 or later; without it each manifest file is
validated as it is, and the overlays' patches are not applied (it says so).

    python infra/k8s/check.py [--kubernetes-version 1.30.0 ...] [--out .work/k8s]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

HERE = Path(__file__).resolve().parent
KEDA_SCHEMA = HERE / "keda.schema.json"
OLDEST_VERSION = "1.30.0"
"""The oldest Kubernetes the manifests promise to work on (with the newest shipped)."""


def kustomizations() -> list[Path]:
    """Every folder with a kustomization.yaml: the base and each overlay."""
    return sorted(path.parent for path in HERE.rglob("kustomization.yaml"))


def _kubectl() -> str | None:
    """kubectl, if it has kustomize 4 or later (1.20's kustomize 2 knows no ``patches``)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    shown = subprocess.run(  # noqa: S603 - kubectl from PATH
        [kubectl, "version", "--client"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"Kustomize Version: v(\d+)", shown)
    return kubectl if found is not None and int(found.group(1)) >= 4 else None


def render(directory: Path) -> tuple[list[dict[str, Any]], bool]:
    """The resources of one kustomization, and whether kustomize rendered them."""
    kubectl = _kubectl()
    if kubectl is not None:
        built = subprocess.run(  # noqa: S603 - kubectl from PATH, our own folder
            [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
        )
        if built.returncode != 0:
            raise SystemExit(f"kubectl kustomize {directory} failed:\n{built.stderr}")
        return [doc for doc in yaml.safe_load_all(built.stdout) if doc], True
    listed = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    documents: list[dict[str, Any]] = []
    for entry in listed.get("resources", []):
        path = directory / entry
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return documents, False


def problems(resources: list[dict[str, Any]], versions: list[str]) -> list[str]:
    """What is wrong with each resource, as ``kind/name: message`` lines."""
    keda = json.loads(KEDA_SCHEMA.read_text(encoding="utf-8"))
    found: list[str] = []
    for resource in resources:
        name = f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"
        try:
            if str(resource.get("apiVersion", "")).startswith("keda.sh/"):
                schema = keda["kinds"][resource["kind"]]
                jsonschema.validate(resource, {**schema, "$defs": keda["$defs"]})
            else:
                for version in versions:
                    kubernetes_validate.validate(resource, version, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
            where = ".".join(str(part) for part in error.absolute_path)
            found.append(f"{name}: {where}: {error.message}")
        except (KeyError, kubernetes_validate.SchemaNotFoundError) as error:
            found.append(f"{name}: no schema to validate it against ({error})")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", action="append", dest="versions")
    parser.add_argument("--out", type=Path, help="also write each rendering here")
    args = parser.parse_args(argv)
    versions = args.versions or [OLDEST_VERSION, kubernetes_validate.latest_version()]
    failed = False
    for directory in kustomizations():
        resources, rendered = render(directory)
        label = directory.relative_to(HERE)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / f"{str(label).replace('/', '-')}.yaml"
            target.write_text(yaml.safe_dump_all(resources, sort_keys=False), encoding="utf-8")
        found = problems(resources, versions)
        how = "rendered by kustomize" if rendered else "files as they are (no kustomize 4+)"
        print(f"infra/k8s/{label}: {len(resources)} resources, {how}, ", end="")
        print(f"Kubernetes {' and '.join(versions)}: ", end="")
        print("valid" if not found else f"{len(found)} problems")
        for line in found:
            print(f"  {line}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
