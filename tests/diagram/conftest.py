"""The packaged platform's templates written once for the diagram tests, and its dev graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from tap_cfn import config as cfg
from tap_cfn import generator
from tap_cfn.diagram import model

REPO = Path(__file__).resolve().parents[2]


def write_templates(config: cfg.Config, out: Path, env: str) -> Path:
    files = {env: generator.render_environment(cfg.Deployment(config, env), ["json"])}
    generator.write(out, files)
    return out / env


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("diagram")
    config = cfg.load()
    return {env: write_templates(config, out, env) for env in ("dev", "staging", "prod")}


@pytest.fixture(scope="module")
def dev(folders: dict[str, Path]) -> model.Graph:
    return model.build(folders["dev"])
