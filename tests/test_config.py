"""Bad input gets one clear line naming the file, the field path and what is allowed."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tap_cfn import config as cfg

DEFAULT = yaml.safe_load((Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text())


def mutated(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    raw = copy.deepcopy(DEFAULT)
    change(raw)
    return raw


def test_the_packaged_default_loads_with_three_profiles_and_services() -> None:
    config = cfg.load()
    assert list(config.environments) == ["dev", "staging", "prod"]
    assert [s.name for s in config.services] == ["frontend", "api-gateway", "processing"]
    assert config.environments["dev"].nat == "single" and config.environments["prod"].nat == "per_az"
    assert config.environments["dev"].log_retention_days == 7
    assert config.environments["staging"].log_retention_days == 30


def test_security_defaults_and_the_prod_override() -> None:
    config = cfg.load()
    # deletion protection: off by default, on in prod only
    assert cfg.Environment().alb_deletion_protection is False
    assert {n: e.alb_deletion_protection for n, e in config.environments.items()} == {
        "dev": False,
        "staging": False,
        "prod": True,
    }
    for svc in config.services:  # read-only root filesystem and no ECS Exec unless asked for
        assert svc.readonly_root_filesystem is True and svc.exec is False
    raw = mutated(lambda r: r["services"][1].update(exec=True, readonly_root_filesystem=False))
    assert cfg.parse(raw).services[1].exec is True


def test_environments_merge_over_the_defaults_key_by_key() -> None:
    raw = mutated(lambda r: r["environments"].update(qa={"capacity": {"spot_weight": 9}}))
    qa = cfg.parse(raw).environments["qa"]
    assert qa.capacity.spot_weight == 9
    assert qa.capacity.fargate_base == 1  # kept from environment_defaults
    assert qa.log_retention_days == 30


BAD = [
    (
        "unknown key",
        lambda r: r["services"][1].update(colour="red"),
        r"services\[api-gateway\]\.colour: unknown key; allowed: name, port, cpu, memory, route, desired",
    ),
    (
        "wrong type",
        lambda r: r["services"][2].update(port="http"),
        r"services\[processing\]\.port: Expected `int \| null`, got `str`",
    ),
    (
        "port range",
        lambda r: r["services"][0].update(port=70000),
        r"services\[frontend\]\.port: Expected `int` <= 65535",
    ),
    (
        "missing",
        lambda r: r["services"][0].pop("cpu"),
        r"services\[frontend\]\.cpu: required field is missing",
    ),
    (
        "fargate cpu",
        lambda r: r["services"][0].update(cpu=300),
        r"services\[frontend\]\.cpu: 300 is not a Fargate CPU",
    ),
    (
        "fargate pair",
        lambda r: r["services"][2].update(memory=1024),
        r"services\[processing\]\.memory: 1024 MiB is not offered with 2048 CPU",
    ),
    (
        "min > desired",
        lambda r: r["services"][0].update(min=3),
        r"services\[frontend\]\.min: min \(3\) must not exceed",
    ),
    (
        "desired > max",
        lambda r: r["services"][0].update(desired=11),
        r"services\[frontend\]\.desired: desired \(11\)",
    ),
    (
        "dup name",
        lambda r: r["services"][2].update(name="frontend"),
        r"services\[frontend\]\.name: duplicate service name 'frontend' \(entries 1, 3\)",
    ),
    (
        "dns label",
        lambda r: r["services"][0].update(name="Front_End"),
        r"services\[Front_End\]\.name: Invalid value 'Front_End'; allowed: lowercase letters, digits and "
        r"hyphens, starting with a letter, not ending with a hyphen, at most 63 characters$",
    ),
    (
        "unknown caller",
        lambda r: r["services"][2]["callers"].append("ghost"),
        r"services\[processing\]\.callers\[1\]: unknown service 'ghost'",
    ),
    (
        "unknown secret",
        lambda r: r["services"][2]["secrets"].update(X="nope"),
        r"services\[processing\]\.secrets\.X: unknown secret 'nope'",
    ),
    (
        "bad reference",
        lambda r: r["services"][0]["environment"].update(X="${db.host}"),
        r"services\[frontend\]\.environment\.X: unknown reference \$\{db\.host\}",
    ),
    (
        "reference without edge",
        lambda r: r["services"][0]["environment"].update(X="${service.processing.url}"),
        r"services\[frontend\]\.environment\.X: .*'frontend' must be listed in the callers of 'processing'",
    ),
    (
        "same route",
        lambda r: r["services"][2].update(route={"type": "alb", "path": "/api/*"}),
        r"services\[processing\]\.route: same path/host as service 'api-gateway'",
    ),
    (
        "two defaults",
        lambda r: r["services"][1]["route"].update(default=True, path=None),
        r"services: exactly one ALB service needs route.default: true \(found 2: frontend, api-gateway\)",
    ),
    (
        "no public",
        lambda r: [s.update(route={"type": "internal"}) for s in r["services"]],
        r"services: at least one service must be reachable through the ALB",
    ),
    (
        "az count",
        lambda r: r["environments"]["dev"].update(az_count=1),
        r"environments\.dev\.az_count: Expected",
    ),
    (
        "bad cidr",
        lambda r: r["environments"]["dev"].update(vpc_cidr="10.0.0.0/33"),
        r"environments\.dev\.vpc_cidr",
    ),
    (
        "public cidr",
        lambda r: r["environments"]["prod"].update(vpc_cidr="8.8.0.0/16"),
        r"environments\.prod\.vpc_cidr: 8\.8\.0\.0/16 must be a private",
    ),
    (
        "subnets do not fit",
        lambda r: r["environments"]["prod"].update(vpc_cidr="10.0.0.0/24", subnet_prefix=26),
        r"environments\.prod\.subnet_prefix: 3 public and 3 private /26 subnets do not fit",
    ),
    (
        "retention",
        lambda r: r["environments"]["dev"].update(log_retention_days=8),
        r"environments\.dev\.log_retention_days: 8 is not one of",
    ),
    (
        "env unknown key",
        lambda r: r["environments"]["dev"].update(nats=2),
        r"environments\.dev\.nats: unknown key",
    ),
    ("no services", lambda r: r.update(services=[]), r"services: Expected `array` of length >= 1"),
    (
        "exec on a read-only root filesystem",
        lambda r: r["services"][1].update(exec=True),
        r"services\[api-gateway\]\.exec: ECS Exec needs a writable root filesystem: set readonly_root",
    ),
    (
        "exec not a boolean",
        lambda r: r["services"][1].update(exec="yes"),
        r"services\[api-gateway\]\.exec: Expected `bool`, got `str`",
    ),
    (
        "readonly_root_filesystem not a boolean",
        lambda r: r["services"][0].update(readonly_root_filesystem="on"),
        r"services\[frontend\]\.readonly_root_filesystem: Expected `bool`, got `str`",
    ),
    (
        "typo gets the closest key",
        lambda r: r["services"][1].update(helth_check_path=r["services"][1].pop("health_check_path")),
        r"services\[api-gateway\]\.helth_check_path: unknown key; did you mean `health_check_path`\?",
    ),
    (
        "typo in an environment",
        lambda r: r["environments"]["dev"].update(log_retention=7),
        r"environments\.dev\.log_retention: unknown key; did you mean `log_retention_days`\?",
    ),
    (
        "typo in a secret",
        lambda r: r["secrets"][0].update(lenght=40),
        r"secrets\[db-credentials\]\.lenght: unknown key; did you mean `length`\?",
    ),
    (
        "bad variable name",
        lambda r: r["services"][0]["environment"].update({"1BAD": "x"}),
        r"services\[frontend\]\.environment: a key: Invalid value '1BAD'; allowed: letters, digits and "
        r"underscores, not starting with a digit$",
    ),
    (
        "enum lists the allowed values",
        lambda r: r["environments"]["prod"].update(nat="both"),
        r"environments\.prod\.nat: Invalid enum value 'both'; allowed: per_az, single$",
    ),
    (
        "route kind lists the allowed values",
        lambda r: r["services"][2]["route"].update(type="nlb"),
        r"services\[processing\]\.route\.type: Invalid enum value 'nlb'; allowed: alb, internal, none$",
    ),
    (
        "a service named after the load balancer",
        lambda r: _rename(r, 2, "alb"),
        r"services\[alb\]\.name: 'alb' is reserved: the load balancer's AlbSecurityGroup .*; "
        r"reserved names: alb, endpoint, exec$",
    ),
    (
        "a profile named after the project's registry",
        lambda r: r["environments"].update(registry={}),
        r"environments\.registry: 'registry' is reserved for the project's image registry \(stack "
        r"<project>-registry, templates/registry/\); rename the profile$",
    ),
    (
        "an account to pull from that is no account ID",
        lambda r: r.update(registry={"pull_accounts": ["12345"]}),
        r"registry\.pull_accounts\[0\]: Invalid value '12345'; allowed: a 12-digit AWS account ID$",
    ),
    (
        "keep_images in a profile: it is the registry's now",
        lambda r: r["environments"]["dev"].update(keep_images=5),
        r"environments\.dev\.keep_images: unknown key here; it belongs at registry\.keep_images ",
    ),
    (
        "a service named after the ECS Exec log group",
        lambda r: _rename(r, 2, "exec"),
        r"services\[exec\]\.name: 'exec' is reserved: the ECS Exec session log group's ExecLogGroup",
    ),
    (
        "two names, one logical ID",
        lambda r: (_rename(r, 2, "api-1"), r["services"].append({**r["services"][2], "name": "api1"})),
        r"services\[api1\]\.name: 'api1' and 'api-1' both become Api1 in logical IDs",
    ),
    (
        "a secret by its name",
        lambda r: r["secrets"][0].update(template="[1]", generate_key="password"),
        r"secrets\[db-credentials\]\.template: must be a JSON object",
    ),
    (
        "deletion protection not a boolean",
        lambda r: r["environments"]["prod"].update(alb_deletion_protection="always"),
        r"environments\.prod\.alb_deletion_protection: Expected `bool`, got `str`",
    ),
    (
        "a misspelled task-role action",
        lambda r: r["services"][2].update(
            permissions=[
                {"actions": ["sqs:SendMesage"], "resources": ["arn:aws:sqs:eu-west-1:123456789012:q"]}
            ]
        ),
        r"services\[processing\]\.permissions\[0\]\.actions\[0\]: 'sqs:SendMesage' is not a known sqs "
        r"action; did you mean 'sqs:SendMessage'\?",
    ),
    (
        "an unknown IAM service",
        lambda r: r["services"][2].update(permissions=[{"actions": ["sss:GetObject"], "resources": ["*"]}]),
        r"services\[processing\]\.permissions\[0\]\.actions\[0\]: 'sss:GetObject': unknown IAM service 'sss'",
    ),
    (
        "resource * on a scoped action",
        lambda r: r["services"][1].update(permissions=[{"actions": ["s3:GetObject"], "resources": ["*"]}]),
        r"services\[api-gateway\]\.permissions\[0\]\.resources\[0\]: \"\*\" is not allowed for s3:GetObject",
    ),
    (
        "a task-role resource naming an unknown secret",
        lambda r: r["services"][1].update(
            permissions=[{"actions": ["secretsmanager:GetSecretValue"], "resources": ["${secret.nope}"]}]
        ),
        r"services\[api-gateway\]\.permissions\[0\]\.resources\[0\]: "
        r"\$\{secret\.nope\} names an unknown secret",
    ),
    (
        "an ARN with a foreign placeholder",
        lambda r: r["services"][1].update(
            permissions=[{"actions": ["s3:GetObject"], "resources": ["arn:${Bucket}:s3:::b/*"]}]
        ),
        r"services\[api-gateway\]\.permissions\[0\]\.resources\[0\]: only \$\{AWS::Partition\}",
    ),
    (
        "stop timeout above Fargate's 120 s",
        lambda r: r["services"][0].update(stop_timeout=300),
        r"services\[frontend\]\.stop_timeout: Expected `int` <= 120",
    ),
    (
        "ephemeral storage below 21 GiB",
        lambda r: r["services"][0].update(ephemeral_storage=20),
        r"services\[frontend\]\.ephemeral_storage: Expected `int` >= 21",
    ),
    (
        "an unknown architecture",
        lambda r: r["services"][0].update(architecture="arm"),
        r"services\[frontend\]\.architecture: Invalid enum value 'arm'; allowed: arm64, x86_64",
    ),
    (
        "a root user written as a path",
        lambda r: r["services"][0].update(user="/root"),
        r"services\[frontend\]\.user: Invalid value '/root'; allowed: user or user:group, each a name or "
        r"numeric ID of at most 32 characters, e\.g\. 1000:1000$",
    ),
    (
        "environment overrides for an unknown profile",
        lambda r: r["services"][0].update(environment_overrides={"qa": {"A": "b"}}),
        r"services\[frontend\]\.environment_overrides\.qa: unknown environment 'qa'; "
        r"known: dev, staging, prod",
    ),
    (
        "an override value naming an unreachable service",
        lambda r: r["services"][0].update(environment_overrides={"prod": {"P": "${service.processing.url}"}}),
        r"services\[frontend\]\.environment_overrides\.prod\.P: "
        r"\$\{service\.processing\.url\}: 'frontend' must",
    ),
    (
        "a profile's cpu that Fargate does not offer",
        lambda r: r["services"][0].update(overrides={"dev": {"cpu": 300}}),
        r"services\[frontend\]\.overrides\.dev\.cpu: 300 is not a Fargate CPU size",
    ),
    (
        "a profile's cpu without room for the service's memory",
        lambda r: r["services"][2].update(overrides={"dev": {"cpu": 256}}),
        r"services\[processing\]\.overrides\.dev\.memory: 4096 MiB is not offered with 256 CPU",
    ),
    (
        "a profile's desired above the service's max",
        lambda r: r["services"][1].update(overrides={"prod": {"desired": 11}}),
        r"services\[api-gateway\]\.overrides\.prod\.desired: desired \(11\) must not exceed max \(10\)",
    ),
    (
        "size overrides for an unknown profile",
        lambda r: r["services"][1].update(overrides={"qa": {"cpu": 256}}),
        r"services\[api-gateway\]\.overrides\.qa: unknown environment 'qa'",
    ),
    (
        "a worker given an ALB route",
        lambda r: r["services"][0].pop("port"),
        r"services\[frontend\]\.route: a worker \(no port\) cannot have a route of type alb; add a port",
    ),
    (
        "a worker given callers",
        lambda r: (r["services"][2].pop("port"), r["services"][2].pop("route")),
        r"services\[processing\]\.callers: a worker \(no port\) cannot be called; add a port",
    ),
    (
        "a port but no route",
        lambda r: r["services"][2].pop("route"),
        r"services\[processing\]\.route: a service with a port needs route.type alb or internal",
    ),
    (
        "request scaling on a worker",
        lambda r: r["services"].append(
            {"name": "w", "cpu": 256, "memory": 512, "scaling": {"requests_per_target": 10}}
        ),
        r"services\[w\]\.scaling\.requests_per_target: needs an ALB route",
    ),
    (
        "a queue that is no SQS name or ARN",
        lambda r: (
            r["services"][2]["scaling"].update(queue={"queue": "arn:aws:sns:x", "messages_per_task": 5})
            if "scaling" in r["services"][2]
            else r["services"][2].update(scaling={"queue": {"queue": "jobs/x", "messages_per_task": 5}})
        ),
        r"services\[processing\]\.scaling\.queue\.queue: Invalid value 'jobs/x'; allowed: an SQS queue name ",
    ),
    (
        "a queue worker allowed down to zero tasks",
        lambda r: r["services"][2].update(
            min=0, scaling={"queue": {"queue": "jobs", "messages_per_task": 5}}
        ),
        r"services\[processing\]\.min: 0 leaves a queue worker that can never scale out .*allowed: 1 or more",
    ),
    (
        "a queue worker's profile down to zero tasks",
        lambda r: r["services"][2].update(
            scaling={"queue": {"queue": "jobs", "messages_per_task": 5}}, overrides={"dev": {"min": 0}}
        ),
        r"services\[processing\]\.overrides\.dev\.min: 0 leaves a queue worker",
    ),
    (
        "registry credentials without an external image",
        lambda r: r["services"][0].update(
            repository_credentials={"secret": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf"}
        ),
        r"services\[frontend\]\.repository_credentials: only for an `image` from another registry",
    ),
    (
        "registry credentials that are no secret ARN",
        lambda r: r["services"][0].update(image="nginx:1.27", repository_credentials={"secret": "my-secret"}),
        r"services\[frontend\]\.repository_credentials\.secret: Invalid value 'my-secret'; "
        r"allowed: a Secrets Manager secret ARN, "
        r"arn:aws:secretsmanager:<region>:<12-digit account>:secret:<name>$",
    ),
    (
        "an image reference with a space",
        lambda r: r["services"][0].update(image="nginx 1.27"),
        r"services\[frontend\]\.image: Invalid value 'nginx 1\.27'; allowed: an image reference ",
    ),
    (
        "a sidecar named like the main container",
        lambda r: r["services"][1].update(sidecars=[{"name": "api-gateway", "image": "nginx:1.27"}]),
        r"services\[api-gateway\]\.sidecars\[api-gateway\]\.name: 'api-gateway' is already the name of "
        r"the main container",
    ),
    (
        "two sidecars of one name",
        lambda r: r["services"][1].update(
            sidecars=[{"name": "agent", "image": "a:1"}, {"name": "agent", "image": "b:1"}]
        ),
        r"services\[api-gateway\]\.sidecars\[agent\]\.name: 'agent' is already the name of sidecar 'agent'",
    ),
    (
        "containers waiting for each other",
        lambda r: r["services"][1].update(
            depends_on=[{"container": "proxy"}],
            sidecars=[{"name": "proxy", "image": "envoy:1", "depends_on": [{"container": "api-gateway"}]}],
        ),
        r"services\[api-gateway\]\.depends_on: containers wait in a circle: "
        r"api-gateway -> proxy -> api-gateway",
    ),
    (
        "waiting for an essential container to complete",
        lambda r: r["services"][1].update(
            depends_on=[{"container": "init", "condition": "COMPLETE"}],
            sidecars=[{"name": "init", "image": "busybox:1"}],
        ),
        r"services\[api-gateway\]\.depends_on\[0\]: COMPLETE needs 'init' to be non-essential",
    ),
    (
        "waiting for a container without a health check to be healthy",
        lambda r: r["services"][1].update(
            depends_on=[{"container": "proxy", "condition": "HEALTHY"}],
            sidecars=[{"name": "proxy", "image": "envoy:1"}],
        ),
        r"services\[api-gateway\]\.depends_on\[0\]: HEALTHY needs a health_check on 'proxy'",
    ),
    (
        "waiting for an unknown container",
        lambda r: r["services"][1].update(depends_on=[{"container": "ghost"}]),
        r"services\[api-gateway\]\.depends_on\[0\]: 'ghost' is not another container of this task",
    ),
    (
        "a sidecar on the main container's port",
        lambda r: r["services"][1].update(sidecars=[{"name": "proxy", "image": "envoy:1", "port": 8080}]),
        r"services\[api-gateway\]\.sidecars\[proxy\]\.port: 8080 is already taken by the main container",
    ),
    (
        "a sidecar below the 6 MiB Docker reserves",
        lambda r: r["services"][1].update(sidecars=[{"name": "proxy", "image": "envoy:1", "memory": 4}]),
        r"services\[api-gateway\]\.sidecars\[proxy\]\.memory: Expected `int` >= 6",
    ),
    (
        "a sidecar taking the main container's memory in one profile",
        lambda r: r["services"][1].update(
            overrides={"dev": {"cpu": 256, "memory": 512}},  # prod's 2048 MiB would hold it
            sidecars=[{"name": "proxy", "image": "envoy:1", "memory": 1024}],
        ),
        r"services\[api-gateway\]\.sidecars\[proxy\]\.memory: 1024 MiB leaves the main container "
        r"of service 'api-gateway' 0 of the task's 512 MiB in dev, less than the 6 MiB a container "
        r"needs; allowed: at most 506$",
    ),
    (
        "a dependency condition ECS does not know",
        lambda r: r["services"][1].update(depends_on=[{"container": "x", "condition": "READY"}]),
        r"services\[api-gateway\]\.depends_on\[0\]\.condition: Invalid enum value 'READY'",
    ),
    (
        "a managed policy that is no policy ARN",
        lambda r: r["services"][0].update(managed_policies=["arn:aws:iam::aws:role/ReadOnlyAccess"]),
        r"services\[frontend\]\.managed_policies\[0\]: Invalid value 'arn:aws:iam::aws:role/ReadOnlyAccess'; "
        r"allowed: a managed policy ARN, ",
    ),
]


@pytest.mark.parametrize(("change", "message"), [(c, m) for _, c, m in BAD], ids=[i for i, _, _ in BAD])
def test_invalid_config_names_file_field_and_rule(change: Callable[[dict], object], message: str) -> None:
    assert_rejected(change, message)


def assert_rejected(change: Callable[[dict], object], message: str) -> None:
    """The default config changed by `change` fails with `message` first, every line naming the file."""
    with pytest.raises(cfg.ConfigError) as error:
        cfg.parse(mutated(change), "platform.yaml")
    first, *_ = lines = str(error.value).splitlines()
    assert re.match(r"^platform\.yaml: " + message, first), first
    assert all(line.startswith("platform.yaml: ") for line in lines)


def _rename(raw: dict[str, Any], index: int, name: str) -> None:
    """Rename a service and every reference to it."""
    old = raw["services"][index]["name"]
    raw["services"][index]["name"] = name
    for svc in raw["services"]:
        svc["callers"] = [name if c == old else c for c in svc.get("callers", [])]
        for key, value in svc.get("environment", {}).items():
            svc["environment"][key] = value.replace(f"service.{old}.", f"service.{name}.")


def test_every_finding_is_shown_one_per_line() -> None:
    def two_problems(r: dict[str, Any]) -> None:
        r["services"][0].update(cpu=300)
        r["services"][2].update(min=9)

    with pytest.raises(cfg.ConfigError) as error:
        cfg.parse(mutated(two_problems), "platform.yaml")
    assert str(error.value).splitlines() == [
        "platform.yaml: services[frontend].cpu: 300 is not a Fargate CPU size; "
        "allowed: [256, 512, 1024, 2048, 4096, 8192, 16384]",
        "platform.yaml: services[processing].min: min (9) must not exceed desired (2)",
    ]


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(cfg.ConfigError, match="missing.yaml: cannot read the file"):
        cfg.load(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("services: [\n")
    with pytest.raises(cfg.ConfigError) as error:
        cfg.load(broken)
    assert str(error.value) == (
        f"{broken}: not valid YAML at line 2, column 1: did not find expected node content "
        "(while parsing a flow node)"
    )
    indented = tmp_path / "indented.yaml"
    indented.write_text("services:\n  - name: web\n   port: 80\n")
    with pytest.raises(cfg.ConfigError) as error:
        cfg.load(indented)
    assert str(error.value) == (
        f"{indented}: not valid YAML at line 3, column 4: did not find expected '-' indicator "
        "(while parsing a block collection)"
    )
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(cfg.ConfigError, match=r"list.yaml: \(top level\): expected a mapping"):
        cfg.load(listed)


def test_json_schema_describes_the_fields() -> None:
    schema = cfg.json_schema()
    service = schema["$defs"]["Service"]
    assert {"name", "cpu", "memory"} == set(service["required"])  # a worker has no port and no route
    (port, _) = service["properties"]["port"]["anyOf"]
    assert port["maximum"] == 65535
    assert service["properties"]["cpu"]["description"]


def test_the_shipped_schema_is_current_and_the_cli_prints_it() -> None:
    import subprocess
    import sys

    shipped = Path(cfg.__file__).parent / cfg.SCHEMA_FILE
    assert shipped.read_text() == cfg.json_schema_text(), (
        "run `python generate.py schema > tap_cfn/tap.schema.json`"
    )
    printed = subprocess.run(
        [sys.executable, "generate.py", "schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(cfg.__file__).parent.parent,
    ).stdout
    assert printed == shipped.read_text()
    assert "tap.schema.json" in (Path(cfg.__file__).parent / cfg.DEFAULT_CONFIG).read_text().splitlines()[0]


def test_schema_validates_the_packaged_config_and_rejects_a_bad_one() -> None:
    import jsonschema  # cfn-lint depends on it

    validator = jsonschema.Draft202012Validator(cfg.json_schema())
    assert list(validator.iter_errors(DEFAULT)) == []
    bad = mutated(lambda r: r["services"][0].update(port="http", colour="red"))
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert any("colour" in m for m in messages) and any(
        "'http' is not valid under any of the given schemas" in m for m in messages
    )


SCALE_BAD = [
    (
        "caller cycle",
        lambda r: r["services"][1].update(callers=["processing"]),
        r"services\[api-gateway\]\.callers: callers form a cycle: api-gateway -> processing -> api-gateway",
    ),
    (
        "name too long for a target group",
        lambda r: (
            r["services"][1].update(name="api-gateway-public-v2"),
            r["services"][2].update(callers=["api-gateway-public-v2"]),
            r["services"][1]["environment"].clear(),
        ),
        r"services\[api-gateway-public-v2\]\.name: 'api-gateway-public-v2' is too long: the tg name "
        r"tap-tg-api-gateway-public-v2-\$\{EnvironmentSuffix\} \(AWS limit 32\) leaves 3 characters",
    ),
    (
        "more rules than an ALB allows",
        lambda r: r["services"].extend(
            {
                "name": f"s{i}",
                "port": 80,
                "cpu": 256,
                "memory": 512,
                "route": {"type": "alb", "path": f"/s{i}/*"},
            }
            for i in range(100)
        ),
        r"services: 101 path/host rules; an ALB allows 100 \(excluding the default\)",
    ),
    (
        "too many AZs",
        lambda r: r["environments"]["prod"].update(az_count=7),
        r"environments\.prod\.az_count: Expected `int` <= 6",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [(c, m) for _, c, m in SCALE_BAD], ids=[i for i, _, _ in SCALE_BAD]
)
def test_invalid_platform_shapes(change: Callable[[dict], object], message: str) -> None:
    with pytest.raises(cfg.ConfigError, match=r"^platform\.yaml: " + message):
        cfg.parse(mutated(change), "platform.yaml")


def test_an_internal_service_may_have_a_long_name_an_alb_one_may_not() -> None:
    long_internal = mutated(
        lambda r: r["services"].append(
            {
                "name": "nightly-report-generator",
                "port": 9100,
                "cpu": 256,
                "memory": 512,
                "route": {"type": "internal"},
                "health_check": {"command": ["CMD", "/bin/probe"]},
            }
        )
    )
    assert cfg.parse(long_internal).services[-1].name == "nightly-report-generator"
