"""The config checks that span fields, one named check per rule, in one registry (cfn-lint's shape).

A check is a small generator over the typed config yielding findings: (field path, message). The
path names services and secrets by name (``services[api-gateway].cpu``), environments by key.
`config.parse` runs every check of `CHECKS` and reports all findings.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import msgspec

from tap_cfn import conventions, iam, naming
from tap_cfn.cidr import VPC_PREFIXES, is_rfc1918
from tap_cfn.config import (
    ALB_ALARMS,
    ALB_REFERENCES,
    ARN_PLACEHOLDERS,
    CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES,
    COLLECTOR_NAME,
    COLLECTOR_PORTS,
    FARGATE_SIZES,
    LOG_RETENTION_DAYS,
    MIN_CONTAINER_MEMORY,
    ONE_DAY,
    PLATFORM_RESOURCE,
    REFERENCE,
    SERVICE_REFERENCE,
    STRATEGIES,
    Config,
    DependsOn,
    Environment,
    Service,
    Tracing,
    app_memory,
    deployment_minutes,
    in_profile,
    memory_sizes,
    needs_alternate_target_group,
    refers_to_alb,
)
from tap_cfn.topology import discoverable, listener_rules_of, test_rule_priority

Finding = tuple[str, str]
Findings = Iterator[Finding]


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[Config], Findings]


CHECKS: list[Check] = []


def check(fn: Callable[[Config], Findings]) -> Callable[[Config], Findings]:
    """Register `fn` as a check of the whole config; its docstring says the rule."""
    CHECKS.append(Check(fn.__name__, (fn.__doc__ or "").strip(), fn))
    return fn


def environment_check(fn: Callable[[str, Environment], Findings]) -> Callable[[str, Environment], Findings]:
    """Register `fn` as a check run on every environment, given its path and its merged settings."""

    def run(config: Config) -> Findings:
        for name, env in config.environments.items():
            yield from fn(f"environments.{name}", env)

    CHECKS.append(Check(fn.__name__, (fn.__doc__ or "").strip(), run))
    return fn


def service_check(
    fn: Callable[[Config, str, Service], Findings],
) -> Callable[[Config, str, Service], Findings]:
    """Register `fn` as a check run on every service, given the config and the service's path."""

    def run(config: Config) -> Findings:
        for svc in config.services:
            yield from fn(config, service_path(svc.name), svc)

    CHECKS.append(Check(fn.__name__, (fn.__doc__ or "").strip(), run))
    return fn


def service_path(name: str) -> str:
    return f"services[{name}]"


def run_all(config: Config) -> list[Finding]:
    """Every finding of every check, in registry order."""
    return [finding for registered in CHECKS for finding in registered.run(config)]


# --- environments -------------------------------------------------------------------------------


@environment_check
def log_retention(where: str, env: Environment) -> Findings:
    """CloudWatch Logs accepts only certain retention periods."""
    if env.log_retention_days not in LOG_RETENTION_DAYS:
        yield f"{where}.log_retention_days", f"{env.log_retention_days} is not one of {LOG_RETENTION_DAYS}"


def _network_problem(text: str) -> str | None:
    """Why `text` cannot be a VPC's range, or None."""
    try:
        network = ipaddress.IPv4Network(text)
    except ValueError as exc:
        if "host bits set" in str(exc):
            return f"{text} has host bits set; write the network address, e.g. 10.0.0.0/16"
        return f"{text!r} is not an IPv4 network such as 10.0.0.0/16"
    if network.prefixlen not in VPC_PREFIXES:
        return f"{text}: a VPC is a /16 to /27 network"
    if not is_rfc1918(network):
        return (
            f"{text} must be a private (RFC 1918) range: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
        )
    return None


def _vpc_problem(env: Environment) -> str | None:
    return _network_problem(env.vpc_cidr)


@environment_check
def vpc_cidr(where: str, env: Environment) -> Findings:
    """The VPC is a private IPv4 network of /16 to /27 (the sizes a VPC may have)."""
    problem = _vpc_problem(env)
    if problem:
        yield f"{where}.vpc_cidr", problem


@environment_check
def subnets_fit(where: str, env: Environment) -> Findings:
    """A public and a private subnet per AZ fit into the VPC."""
    if _vpc_problem(env) is None:
        network: ipaddress.IPv4Network = env.network
        if 2 ** (env.subnet_prefix - network.prefixlen) < 2 * env.az_count:
            yield (
                f"{where}.subnet_prefix",
                f"{env.az_count} public and {env.az_count} private /{env.subnet_prefix} "
                f"subnets do not fit in {env.vpc_cidr}",
            )


@environment_check
def region_names(where: str, env: Environment) -> Findings:
    """Per-region settings are keyed by the name of a region AWS has (eu-west-1, us-east-1); the
    shape of a region name is checked when the config is read."""
    for region in env.regions:
        known = known_regions()
        if region not in known:
            close = difflib.get_close_matches(region, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            yield f"{where}.regions.{region}", f"not a region AWS has (as botocore lists them){hint}"


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's partition data (pinned with boto3); read as
    a file, which costs milliseconds where importing botocore costs a third of a second."""
    from importlib.resources import files

    data = json.loads(files("botocore").joinpath("data", "partitions.json").read_text(encoding="utf-8"))
    return frozenset(region for partition in data["partitions"] for region in partition["regions"])


@environment_check
def region_vpc_cidrs(where: str, env: Environment) -> Findings:
    """A region's VPC range is RFC 1918 and as long a prefix as the environment's vpc_cidr: one
    template, whose subnet layout is fixed, serves every region."""
    for region, settings in env.regions.items():
        if settings.vpc_cidr is None:
            continue
        problem = _network_problem(settings.vpc_cidr)
        if problem is None and _vpc_problem(env) is None:
            prefix = env.network.prefixlen
            if ipaddress.IPv4Network(settings.vpc_cidr).prefixlen != prefix:
                problem = (
                    f"{settings.vpc_cidr} must be a /{prefix} like the environment's vpc_cidr "
                    f"{env.vpc_cidr} (one template's subnet layout serves every region)"
                )
        if problem:
            yield f"{where}.regions.{region}.vpc_cidr", problem


@environment_check
def region_overlap(where: str, env: Environment) -> Findings:
    """The VPC ranges of an environment's regions do not overlap, so the regions can be peered
    later: a peering between overlapping ranges fails.
    https://docs.aws.amazon.com/vpc/latest/peering/create-vpc-peering-connection.html"""
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for region in env.regions:
        cidr = env.vpc_cidr_in(region)
        if _network_problem(cidr) is not None:
            continue  # reported by vpc_cidr or region_vpc_cidrs
        network = ipaddress.IPv4Network(cidr)
        clash = next((other for other, net in seen if net.overlaps(network)), None)
        if clash is not None:
            whose = "" if env.regions[region].vpc_cidr else " (the environment's vpc_cidr)"
            yield (
                f"{where}.regions.{region}.vpc_cidr",
                f"{cidr}{whose} overlaps {clash}'s {env.vpc_cidr_in(clash)}; give each region its own "
                "range so the regions can be peered",
            )
        seen.append((region, network))


@environment_check
def region_certificates(where: str, env: Environment) -> Findings:
    """A load balancer uses an ACM certificate of its own region: certificates are regional.
    https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html"""
    for region, settings in env.regions.items():
        arn = settings.certificate_arn
        if arn is not None and arn.split(":")[3] != region:
            yield (
                f"{where}.regions.{region}.certificate_arn",
                f"the certificate is in {arn.split(':')[3]}, not {region}; request or import one in "
                f"{region} (ACM certificates cannot be copied between regions)",
            )


@environment_check
def capacity_weights(where: str, env: Environment) -> Findings:
    """The capacity-provider strategy gives some weight to a provider."""
    if env.capacity.fargate_weight + env.capacity.spot_weight == 0:
        yield f"{where}.capacity", "fargate_weight and spot_weight cannot both be 0"


@environment_check
def alarm_period(where: str, env: Environment) -> Findings:
    """CloudWatch periods are 10, 30 or a multiple of 60 s, and an alarm looks back one day at most."""
    alarms = env.alarms
    if alarms.period not in (10, 30) and alarms.period % 60:
        yield f"{where}.alarms.period", f"{alarms.period} s: CloudWatch takes 10, 30 or a multiple of 60"
    elif alarms.period * alarms.evaluation_periods > ONE_DAY:
        yield (
            f"{where}.alarms.evaluation_periods",
            f"{alarms.evaluation_periods} x {alarms.period} s exceeds the one day an alarm may look back",
        )


@environment_check
def datapoints_to_alarm(where: str, env: Environment) -> Findings:
    """M of N: an alarm cannot need more breaching datapoints than it evaluates."""
    alarms = env.alarms
    if alarms.datapoints_to_alarm > alarms.evaluation_periods:
        yield (
            f"{where}.alarms.datapoints_to_alarm",
            f"{alarms.datapoints_to_alarm} exceeds evaluation_periods ({alarms.evaluation_periods})",
        )


@environment_check
def scheduled_window(where: str, env: Environment) -> Findings:
    """A scheduled scaling window has min ≤ max and ends at another time than it starts."""
    window = env.scheduled_scaling
    if window is None:
        return
    if window.min > window.max:
        yield f"{where}.scheduled_scaling.min", f"min ({window.min}) must not exceed max ({window.max})"
    if window.start == window.end:
        yield f"{where}.scheduled_scaling.end", "the window must end at another time than it starts"


@environment_check
def scheduled_time_zone(where: str, env: Environment) -> Findings:
    """The time zone of a scheduled scaling window is an IANA name."""
    window = env.scheduled_scaling
    if window is not None and not _is_time_zone(window.timezone):
        yield (
            f"{where}.scheduled_scaling.timezone",
            f"{window.timezone!r} is not an IANA time zone name such as UTC or Europe/Berlin",
        )


def _is_time_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.startswith("/") or ".." in name:  # ZoneInfo would read it as a path
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- secrets ------------------------------------------------------------------------------------


@check
def unique_secret_names(config: Config) -> Findings:
    """Each secret has its own name."""
    yield from _duplicates("secrets", "secret", [s.name for s in config.secrets])


@check
def secret_template(config: Config) -> Findings:
    """A secret's template is a JSON object, given together with the key of the generated value."""
    for secret in config.secrets:
        where = f"secrets[{secret.name}]"
        if secret.template is not None:
            try:
                parsed = json.loads(secret.template)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                yield f"{where}.template", 'must be a JSON object, e.g. \'{"username": "admin"}\''
        if (secret.template is None) != (secret.generate_key is None):
            yield f"{where}.generate_key", "template and generate_key go together (both or neither)"


def _duplicates(section: str, kind: str, names: Sequence[str]) -> Findings:
    for i, name in enumerate(names):
        if names.index(name) == i and names.count(name) > 1:
            places = ", ".join(str(j + 1) for j, other in enumerate(names) if other == name)
            yield f"{section}[{name}].name", f"duplicate {kind} name {name!r} (entries {places})"


# --- service identity ---------------------------------------------------------------------------


@check
def unique_service_names(config: Config) -> Findings:
    """Each service has its own name."""
    yield from _duplicates("services", "service", [s.name for s in config.services])


@check
def distinct_logical_ids(config: Config) -> Findings:
    """Names that differ only in their hyphens before a digit (a-1, a1) would share logical IDs."""
    for kind, section, names in (
        ("service", "services", [s.name for s in config.services]),
        ("secret", "secrets", [s.name for s in config.secrets]),
    ):
        seen: dict[str, str] = {}
        for name in dict.fromkeys(names):
            camel = naming.logical_id(name)
            if camel in seen:
                yield (
                    f"{section}[{name}].name",
                    f"{name!r} and {seen[camel]!r} both become {camel} in logical IDs; rename one {kind}",
                )
            seen.setdefault(camel, name)


@check
def reserved_names(config: Config) -> Findings:
    """A service or secret name must not turn one of its logical IDs into one the platform uses."""
    for section, names, reserved in (
        ("services", [s.name for s in config.services], naming.RESERVED_SERVICE_NAMES),
        ("secrets", [s.name for s in config.secrets], naming.RESERVED_SECRET_NAMES),
    ):
        by_id = {naming.logical_id(word): word for word in reserved}
        for name in dict.fromkeys(names):
            word = by_id.get(naming.logical_id(name))
            if word is not None:
                yield (
                    f"{section}[{name}].name",
                    f"{name!r} is reserved: {reserved[word]}; reserved names: {', '.join(reserved)}",
                )


@check
def registry_profile_name(config: Config) -> Findings:
    """'registry' names the project's registry: its stack <project>-registry, its templates folder."""
    if conventions.REGISTRY in config.environments:
        yield (
            f"environments.{conventions.REGISTRY}",
            f"{conventions.REGISTRY!r} is reserved for the project's image registry (stack "
            f"<project>-{conventions.REGISTRY}, templates/{conventions.REGISTRY}/); rename the profile",
        )


@check
def name_room(config: Config) -> Findings:
    """Every per-service name (target group: 32 characters, IAM roles: 64) leaves room for an
    environment suffix of 8 characters (naming.MIN_SUFFIX_LENGTH)."""
    for svc in config.services:
        for kind, limit in naming.SERVICE_NAME_LIMITS.items():
            if kind == naming.TARGET_GROUP and not svc.route.behind_alb:
                continue
            if kind == naming.ALTERNATE_TARGET_GROUP and not needs_alternate_target_group(svc):
                continue
            text = naming.name_text(config.project, kind, svc.name)
            room = naming.suffix_room(text, limit)
            if room < naming.MIN_SUFFIX_LENGTH:
                yield (
                    f"{service_path(svc.name)}.name",
                    f"{svc.name!r} is too long: the {kind} name {text} (AWS limit {limit}) leaves "
                    f"{room} characters for the suffix, {naming.MIN_SUFFIX_LENGTH} are needed",
                )
                break


# --- the load balancer --------------------------------------------------------------------------


@check
def one_default_route(config: Config) -> Findings:
    """At least one service is behind the ALB, and exactly one takes the listener's default action."""
    defaults = [s.name for s in config.services if s.route.behind_alb and s.route.default]
    if not any(s.route.behind_alb for s in config.services):
        yield "services", "at least one service must be reachable through the ALB (route.type: alb)"
    elif len(defaults) != 1:
        named = f": {', '.join(defaults)}" if defaults else ""
        yield "services", f"exactly one ALB service needs route.default: true (found {len(defaults)}{named})"


# ALB quotas: rules per load balancer (excluding default rules) and target groups per load balancer.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html
ALB_MAX_RULES = 100
ALB_MAX_TARGET_GROUPS = 100


@check
def alb_quotas(config: Config) -> Findings:
    """An ALB holds at most 100 rules (besides the default) and 100 target groups."""
    alb = [s for s in config.services if s.route.behind_alb]
    rules = [s for s in alb if not s.route.default]
    if len(rules) > ALB_MAX_RULES:
        yield (
            "services",
            f"{len(rules)} path/host rules; an ALB allows {ALB_MAX_RULES} (excluding the default)",
        )
    elif len(alb) > ALB_MAX_TARGET_GROUPS:
        yield "services", f"{len(alb)} ALB services; an ALB allows {ALB_MAX_TARGET_GROUPS} target groups"


@service_check
def internal_route(config: Config, where: str, svc: Service) -> Findings:
    """An internal service takes none of the options that only make sense behind the ALB."""
    route = svc.route
    if route.behind_alb:
        return
    if route.default or route.path or route.host or route.priority:
        yield f"{where}.route", f"a route of type {route.type} takes no default, path, host or priority"
    if svc.scaling.requests_per_target is not None:
        yield f"{where}.scaling.requests_per_target", "needs an ALB route (route.type: alb)"
    for field in ALB_ALARMS:
        if getattr(svc.alarms, field) is not None:
            yield f"{where}.alarms.{field}", "is about the ALB's targets: needs route.type: alb"


@service_check
def worker_reach(config: Config, where: str, svc: Service) -> Findings:
    """A worker (no port) is reached by no one: no ALB or internal route, no callers; a service
    with a port says how it is reached."""
    if svc.port is None:
        if not svc.route.unreached:
            yield (
                f"{where}.route",
                f"a worker (no port) cannot have a route of type {svc.route.type}; add a port",
            )
        if svc.callers:
            yield f"{where}.callers", "a worker (no port) cannot be called; add a port"
    elif svc.route.unreached:
        yield (
            f"{where}.route",
            "a service with a port needs route.type alb or internal (a worker has no port)",
        )


@service_check
def alb_route(config: Config, where: str, svc: Service) -> Findings:
    """An ALB service is the default, or has a path or host rule; the default takes no rule."""
    route = svc.route
    if not route.behind_alb:
        return
    if route.default and (route.path or route.host or route.priority):
        yield f"{where}.route", "the default service takes no path, host or priority"
    elif not route.default and not (route.path or route.host):
        yield f"{where}.route", "an ALB service needs default: true, a path or a host"


@check
def distinct_rules(config: Config) -> Findings:
    """No two services share a path/host rule (the later one would never be reached)."""
    seen: dict[tuple[str | None, str | None], str] = {}
    for svc in config.services:
        route = svc.route
        if route.behind_alb and not route.default and (route.path or route.host):
            key = (route.path, route.host)
            if key in seen:
                yield f"{service_path(svc.name)}.route", f"same path/host as service {seen[key]!r}"
            seen.setdefault(key, svc.name)


# --- one service --------------------------------------------------------------------------------


def _profiles(config: Config, where: str, svc: Service) -> Iterator[tuple[str, Service, set[str]]]:
    """(path, the service as sized there, the fields set there): the service itself, then each
    profile it overrides, so a finding names the place its value comes from."""
    yield where, svc, set()
    for env, size in svc.overrides.items():
        if env in config.environments:
            fields = {k for k, v in msgspec.structs.asdict(size).items() if v is not None}
            yield f"{where}.overrides.{env}", in_profile(svc, env), fields


def _sized(config: Config, where: str, svc: Service, rule: Callable[[Service], Findings]) -> Findings:
    """`rule` on the service and on each profile override; an override's finding only when it sets
    one of the fields the finding is about (the service's own finding says the rest)."""
    for path, sized, fields in _profiles(config, where, svc):
        for field, message in rule(sized):
            if path == where or field in fields or (field == "memory" and "cpu" in fields):
                yield f"{path}.{field}", message


@service_check
def fargate_size(config: Config, where: str, svc: Service) -> Findings:
    """CPU and memory are a task size Fargate offers, in every environment profile."""
    yield from _sized(config, where, svc, _fargate_size)


def _fargate_size(svc: Service) -> Findings:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
    if svc.cpu not in FARGATE_SIZES:
        yield "cpu", f"{svc.cpu} is not a Fargate CPU size; allowed: {sorted(FARGATE_SIZES)}"
    elif svc.memory not in FARGATE_SIZES[svc.cpu]:
        yield (
            "memory",
            f"{svc.memory} MiB is not offered with {svc.cpu} CPU; "
            f"allowed: {memory_sizes(FARGATE_SIZES[svc.cpu])}",
        )


@service_check
def task_counts(config: Config, where: str, svc: Service) -> Findings:
    """min ≤ desired ≤ max, in every environment profile."""
    yield from _sized(config, where, svc, _task_counts)


def _task_counts(svc: Service) -> Findings:
    if svc.min > svc.desired:
        yield "min", f"min ({svc.min}) must not exceed desired ({svc.desired})"
    if svc.desired > svc.max:
        yield "desired", f"desired ({svc.desired}) must not exceed max ({svc.max})"


@service_check
def queue_scaling_floor(config: Config, where: str, svc: Service) -> Findings:
    """A service scaling on its queue's backlog keeps at least one task, in every profile."""
    if svc.scaling.queue is not None:
        yield from _sized(config, where, svc, _queue_floor)


def _queue_floor(svc: Service) -> Findings:
    # Backlog per task is messages / running tasks: with no task running it has no value, and target
    # tracking "does not perform scaling when the specified metric has insufficient data"
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html),
    # so a queue worker at 0 tasks would never scale out again.
    if svc.min < 1:
        yield (
            "min",
            f"{svc.min} leaves a queue worker that can never scale out (backlog per task has no value "
            "with no task running); allowed: 1 or more",
        )


@service_check
def size_profiles(config: Config, where: str, svc: Service) -> Findings:
    """Size overrides name environment profiles that exist."""
    for env in svc.overrides:
        if env not in config.environments:
            yield (
                f"{where}.overrides.{env}",
                f"unknown environment {env!r}; known: {', '.join(config.environments)}",
            )


@service_check
def exec_writable_root(config: Config, where: str, svc: Service) -> Findings:
    """ECS Exec needs a writable root filesystem (its agent writes into it)."""
    if svc.exec and svc.readonly_root_filesystem:
        yield (
            f"{where}.exec",
            "ECS Exec needs a writable root filesystem: set readonly_root_filesystem: false",
        )


@service_check
def known_callers(config: Config, where: str, svc: Service) -> Findings:
    """Callers are other services of the platform."""
    names = [s.name for s in config.services]
    for j, caller in enumerate(svc.callers):
        if caller not in names:
            yield f"{where}.callers[{j}]", f"unknown service {caller!r}; known: {', '.join(names)}"
        elif caller == svc.name:
            yield f"{where}.callers[{j}]", "a service cannot list itself as a caller"


@check
def caller_cycles(config: Config) -> Findings:
    """Caller edges form no cycle: a request loop (a calls b calls a) is a config mistake that
    security groups would silently allow."""
    calls: dict[str, list[str]] = {s.name: [] for s in config.services}
    for svc in config.services:
        for caller in svc.callers:
            if caller in calls and caller != svc.name:
                calls[caller].append(svc.name)
    cycle = _cycle(calls)
    if cycle:
        yield f"{service_path(cycle[0])}.callers", f"callers form a cycle: {' -> '.join(cycle)}"


@service_check
def known_secrets(config: Config, where: str, svc: Service) -> Findings:
    """A service's secrets are declared under `secrets`."""
    known = [s.name for s in config.secrets]
    for var, secret_name in svc.secrets.items():
        if secret_name not in known:
            yield (
                f"{where}.secrets.{var}",
                f"unknown secret {secret_name!r}; known: {', '.join(known) or 'none'}",
            )


@service_check
def environment_references(config: Config, where: str, svc: Service) -> Findings:
    """`${...}` in environment values name the ALB or a service this one may call."""
    places = [("environment", svc.environment)] + [
        (f"environment_overrides.{env}", variables) for env, variables in svc.environment_overrides.items()
    ]
    for place, variables in places:
        for var, value in variables.items():
            for ref in REFERENCE.findall(value):
                problem = _reference_problem(config, svc, ref)
                if problem:
                    yield f"{where}.{place}.{var}", problem


@service_check
def override_profiles(config: Config, where: str, svc: Service) -> Findings:
    """Per-environment settings name environment profiles that exist."""
    known = list(config.environments)
    for env in svc.environment_overrides:
        if env not in config.environments:
            yield (
                f"{where}.environment_overrides.{env}",
                f"unknown environment {env!r}; known: {', '.join(known)}",
            )


def _reference_problem(config: Config, svc: Service, ref: str) -> str | None:
    if ref in ALB_REFERENCES:
        return None
    match = SERVICE_REFERENCE.match(ref)
    if not match:
        allowed = "${alb.url}, ${alb.dns}, ${service.<name>.url}, ${service.<name>.host}"
        return f"unknown reference ${{{ref}}}; allowed: {allowed}"
    target = match.group(1)
    if target not in {s.name for s in config.services}:
        return f"${{{ref}}} names an unknown service {target!r}"
    if svc.name not in config.service(target).callers:
        return f"${{{ref}}}: {svc.name!r} must be listed in the callers of {target!r} to reach it"
    return None


@service_check
def health_check_path_needs_alb(config: Config, where: str, svc: Service) -> Findings:
    """A health_check_path only an ALB target group uses is never dropped silently."""
    if not svc.route.behind_alb and svc.health_check_path is not None:
        yield (
            f"{where}.health_check_path",
            f"a service with route type {svc.route.type} has no target group to check: declare health_check "
            '(e.g. command: ["CMD-SHELL", "curl -fs http://localhost:PORT/health || exit 1"])',
        )


@service_check
def internal_health_check(config: Config, where: str, svc: Service) -> Findings:
    """A service without a load balancer (internal, or a worker) declares a container health check:
    without one ECS counts a RUNNING task as healthy, so a hung task stays in Cloud Map DNS and the
    circuit breaker cannot see a bad release
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-taskdefinition-healthcheck.html)."""
    if not svc.route.behind_alb and svc.health_check is None:
        probe = f"curl -fs http://localhost:{svc.port}/health" if svc.port else "test -f /tmp/healthy"
        yield (
            f"{where}.health_check",
            f"a service with route type {svc.route.type} has no load balancer to check it: declare a "
            f'container health check, e.g. health_check: {{command: ["CMD-SHELL", "{probe} || exit 1"]}}',
        )


@check
def egress_references(config: Config) -> Findings:
    """Without NAT there is no route from a task to the internet-facing load balancer's addresses."""
    no_nat = sorted(name for name, env in config.environments.items() if env.via_endpoints)
    for svc in config.services:
        if no_nat and refers_to_alb(svc):
            yield (
                f"{service_path(svc.name)}.environment",
                "refers to the load balancer, which tasks cannot reach without NAT "
                f"(egress: endpoints in {', '.join(no_nat)})",
            )


# --- what the application may call ----------------------------------------------------------------


@service_check
def permission_actions(config: Config, where: str, svc: Service) -> Findings:
    """Task-role actions are IAM actions awacs knows (a typo fails here, not in IAM at deploy time)."""
    for i, statement in enumerate(svc.permissions):
        for j, name in enumerate(statement.actions):
            problem = iam.action_problem(name)
            if problem:
                yield f"{where}.permissions[{i}].actions[{j}]", problem


@service_check
def permission_resources(config: Config, where: str, svc: Service) -> Findings:
    """Resource "*" only for actions without resource-level permissions (the guard of iam.allow);
    platform references name a declared secret or service."""
    secrets, services = {s.name for s in config.secrets}, {s.name for s in config.services}
    for i, statement in enumerate(svc.permissions):
        scoped = iam.scoped_actions(statement.actions)
        for j, resource in enumerate(statement.resources):
            path = f"{where}.permissions[{i}].resources[{j}]"
            if resource == "*" and scoped:
                yield path, f'"*" is not allowed for {", ".join(scoped)} (they take resource ARNs)'
            if ref := PLATFORM_RESOURCE.match(resource):
                pass
            elif "${" in REFERENCE.sub(lambda m: "" if m.group(0) in ARN_PLACEHOLDERS else "${", resource):
                yield path, f"only {', '.join(ARN_PLACEHOLDERS)} may be substituted in an ARN"
            if ref and ref.group(2) not in (secrets if ref.group(1) == "secret" else services):
                kind = "secret" if ref.group(1) == "secret" else "service"
                yield path, f"{resource} names an unknown {kind} {ref.group(2)!r}"


@service_check
def registry_credentials(config: Config, where: str, svc: Service) -> Findings:
    """Registry credentials belong to an image from elsewhere (the platform's ECR needs none)."""
    if svc.repository_credentials is not None and svc.image is None:
        yield f"{where}.repository_credentials", "only for an `image` from another registry; set image"


# --- the containers of a task -----------------------------------------------------------------------


def _containers(svc: Service) -> dict[str, tuple[bool, bool, list[DependsOn]]]:
    """name -> (essential, has a health check, depends_on) of every container of the task."""
    found = {svc.name: (True, svc.health_check is not None, list(svc.depends_on))}
    for car in svc.sidecars:
        found.setdefault(car.name, (car.essential, car.health_check is not None, list(car.depends_on)))
    return found


@service_check
def sidecar_names(config: Config, where: str, svc: Service) -> Findings:
    """Container names are unique within the task (the main container is named after the service)."""
    seen = {svc.name: "the main container"}
    for car in svc.sidecars:
        if car.name in seen:
            yield (
                f"{where}.sidecars[{car.name}].name",
                f"{car.name!r} is already the name of {seen[car.name]}",
            )
        seen.setdefault(car.name, f"sidecar {car.name!r}")


@service_check
def sidecar_ports(config: Config, where: str, svc: Service) -> Findings:
    """Containers of one task share its network namespace (awsvpc): each port is listened on once."""
    seen = {svc.port: "the main container"} if svc.port is not None else {}
    for car in svc.sidecars:
        if car.port is not None and car.port in seen:
            yield f"{where}.sidecars[{car.name}].port", f"{car.port} is already taken by {seen[car.port]}"
        elif car.port is not None:
            seen[car.port] = f"sidecar {car.name!r}"


@service_check
def container_dependencies(config: Config, where: str, svc: Service) -> Findings:
    """depends_on names another container of the task; COMPLETE/SUCCESS only on a non-essential one,
    HEALTHY only on one with a health check (ECS ContainerDependency reference)."""
    containers = _containers(svc)
    owners = [(where, svc.name, svc.depends_on)] + [
        (f"{where}.sidecars[{car.name}]", car.name, car.depends_on) for car in svc.sidecars
    ]
    for path, name, deps in owners:
        for j, dep in enumerate(deps):
            at = f"{path}.depends_on[{j}]"
            target = containers.get(dep.container)
            if target is None or dep.container == name:
                known = ", ".join(c for c in containers if c != name) or "none"
                yield at, f"{dep.container!r} is not another container of this task; known: {known}"
            elif dep.condition in ("COMPLETE", "SUCCESS") and target[0]:
                yield at, f"{dep.condition} needs {dep.container!r} to be non-essential (essential: false)"
            elif dep.condition == "HEALTHY" and not target[1]:
                yield at, f"HEALTHY needs a health_check on {dep.container!r}"


@service_check
def container_cycles(config: Config, where: str, svc: Service) -> Findings:
    """Containers do not wait for each other in a circle (the task would never start)."""
    waits = {
        name: [d.container for d in deps if d.container != name]
        for name, (_, _, deps) in _containers(svc).items()
    }
    cycle = _cycle(waits)
    if cycle:
        yield f"{where}.depends_on", f"containers wait in a circle: {' -> '.join(cycle)}"


# --- tracing: the collector every task gets where a profile turns tracing on ------------------------


def _traced(config: Config) -> list[tuple[str, Tracing]]:
    """(environment, its tracing settings) of every profile with tracing on."""
    return [(name, env.tracing) for name, env in config.environments.items() if env.tracing is not None]


@check
def collector_room(config: Config) -> Findings:
    """The collector's CPU and memory fit inside every service's task size, leaving the main container
    some of each: Fargate containers share the task's size (the sum of container memory and CPU
    within the task's; https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html)."""
    for env, tracing in _traced(config):
        where = f"environments.{env}.tracing"
        for svc in (in_profile(s, env) for s in config.services):
            if svc.memory - tracing.collector_memory < MIN_CONTAINER_MEMORY:
                yield (
                    f"{where}.collector_memory",
                    f"{tracing.collector_memory} MiB leaves service {svc.name!r} ({svc.memory} MiB in {env}) "
                    f"less than the {MIN_CONTAINER_MEMORY} MiB a container needs",
                )
            if tracing.collector_cpu >= svc.cpu:
                yield (
                    f"{where}.collector_cpu",
                    f"{tracing.collector_cpu} units leave service {svc.name!r} ({svc.cpu} CPU in {env}) none",
                )


@service_check
def sidecar_room(config: Config, where: str, svc: Service) -> Findings:
    """The sidecars' hard memory limits (and the collector's where tracing is on) leave the main
    container at least the minimum in every profile: the containers' limits share the task's memory
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-size-best-practice.html)."""
    if not svc.sidecars:
        return
    for env, environment in config.environments.items():
        sized = in_profile(svc, env)
        left = app_memory(sized, environment.tracing)
        car = max(svc.sidecars, key=lambda c: c.memory)  # the one most worth shrinking
        if left >= MIN_CONTAINER_MEMORY or left + sum(c.memory for c in svc.sidecars) < MIN_CONTAINER_MEMORY:
            continue  # fits, or the collector alone leaves too little (collector_room says so)
        most = car.memory + left - MIN_CONTAINER_MEMORY
        allowed = f"at most {most}" if most >= MIN_CONTAINER_MEMORY else "a larger task memory"
        yield (
            f"{where}.sidecars[{car.name}].memory",
            f"{car.memory} MiB leaves the main container of service {svc.name!r} {max(left, 0)} of the "
            f"task's {sized.memory} MiB in {env}, less than the {MIN_CONTAINER_MEMORY} MiB a container "
            f"needs; allowed: {allowed}",
        )
        return


@environment_check
def tracing_egress(where: str, env: Environment) -> Findings:
    """Tracing needs NAT egress: the collector's image comes from the public ECR registry and its
    traces go to the X-Ray API, neither of which the VPC endpoints of `egress: endpoints` reach."""
    if env.tracing is not None and env.via_endpoints:
        needs = "the collector needs egress: nat (public ECR image, X-Ray API); allowed: nat"
        yield f"{where}.tracing", needs


# A private ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com[.cn]): the only images the
# ecr.api / ecr.dkr interface endpoints of `egress: endpoints` serve; Docker Hub, ghcr.io or ECR Public
# need a way to the internet (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).
PRIVATE_ECR = re.compile(r"^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


@service_check
def image_egress(config: Config, where: str, svc: Service) -> Findings:
    """An image from outside private ECR (the main container's or a sidecar's) is pulled through
    NAT: an environment with `egress: endpoints` cannot reach it."""
    closed = [name for name, env in config.environments.items() if env.via_endpoints]
    if not closed:
        return
    images = [("image", svc.image)] + [(f"sidecars[{c.name}].image", c.image) for c in svc.sidecars]
    for field, image in images:
        if image is not None and not PRIVATE_ECR.match(image):
            yield (
                f"{where}.{field}",
                f"{image} is not in a private ECR registry, and {', '.join(closed)} "
                "has egress: endpoints (no way to other registries); allowed: an image in private ECR, "
                "or egress: nat",
            )


@service_check
def collector_name(config: Config, where: str, svc: Service) -> Findings:
    """No sidecar takes the collector's container name where a profile turns tracing on."""
    traced = [env for env, _ in _traced(config)]
    for car in svc.sidecars:
        if traced and car.name == COLLECTOR_NAME:
            yield (
                f"{where}.sidecars[{car.name}].name",
                f"{COLLECTOR_NAME!r} is the tracing collector's name (tracing is on in {', '.join(traced)})",
            )


@service_check
def collector_ports(config: Config, where: str, svc: Service) -> Findings:
    """No container of a traced task listens on a port of the collector (one network namespace)."""
    traced = [env for env, _ in _traced(config)]
    if not traced:
        return
    owners = [(where, svc.port)] + [(f"{where}.sidecars[{car.name}]", car.port) for car in svc.sidecars]
    for path, port in owners:
        if port in COLLECTOR_PORTS:
            yield (
                f"{path}.port",
                f"{port} is the tracing collector's {COLLECTOR_PORTS[port]} port (tracing is on in "
                f"{', '.join(traced)}); allowed: any other",
            )


def _cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle of the directed graph `edges` (node -> successors), as a closed path; None if none."""
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in edges.get(node, []):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for node in edges:
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


# --- releases (ECS deployment strategies) ----------------------------------------------------------

# Which strategy takes which figure (the CanaryConfiguration and LinearConfiguration references:
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html).
STRATEGY_FIELDS = {
    "bake_time_minutes": ("blue_green", "canary", "linear"),
    "canary_percent": ("canary",),
    "canary_bake_time_minutes": ("canary",),
    "step_percent": ("linear",),
    "step_bake_time_minutes": ("linear",),
}


@service_check
def deployment_fields(config: Config, where: str, svc: Service) -> Findings:
    """A deployment figure belongs to the strategies that read it; percents are steps of 0.1."""
    release = svc.deployment
    for field, strategies in STRATEGY_FIELDS.items():
        if getattr(release, field) is not None and release.strategy not in strategies:
            yield (
                f"{where}.deployment.{field}",
                f"only with strategy {' or '.join(strategies)} (strategy is {release.strategy})",
            )
    for field in ("canary_percent", "step_percent"):
        value = getattr(release, field)
        if value is not None and abs(value * 10 - round(value * 10)) > 1e-9:
            yield f"{where}.deployment.{field}", f"{value}: ECS takes multiples of 0.1"


def strategies_for(svc: Service) -> tuple[tuple[str, ...], str]:
    """The strategies ECS supports for `svc`'s route, and why the others are not.
    Managed traffic shifting needs a load balancer, Service Connect or VPC Lattice; a service
    without any of them (a worker) may still use blue/green, without traffic to shift
    (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-implementation.html,
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment-implementation.html).
    ECS shifts ALB traffic by a listener rule (AdvancedConfiguration.ProductionListenerRule:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_AdvancedConfiguration.html)."""
    if discoverable(svc):
        return ("rolling",), (
            "it is registered in Cloud Map (route internal or callers): ECS shifts traffic only through "
            "a load balancer, Service Connect or VPC Lattice, and runs blue/green without shifting only "
            "for services that use none of them and no service discovery"
        )
    if svc.route.behind_alb and svc.route.default:
        return ("rolling",), (
            "the listener's default action is no listener rule ECS could shift: give the service a "
            "path or host rule"
        )
    if svc.route.unreached:
        return ("rolling", "blue_green"), "a worker has no traffic to shift gradually"
    return tuple(STRATEGIES), ""


@service_check
def deployment_strategy(config: Config, where: str, svc: Service) -> Findings:
    """The strategy is one ECS supports for the service's route kind."""
    allowed, why = strategies_for(svc)
    if svc.deployment.strategy not in allowed:
        yield (
            f"{where}.deployment.strategy",
            f"{svc.deployment.strategy} is not available here ({why}); allowed: {', '.join(allowed)}",
        )


@service_check
def deployment_duration(config: Config, where: str, svc: Service) -> Findings:
    """A canary or linear release fits CloudFormation's 33 hours (the stack operation times out at 36)."""
    minutes = deployment_minutes(svc.deployment)
    if minutes > CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES:
        yield (
            f"{where}.deployment",
            f"bake times add up to {minutes} minutes; CloudFormation rejects more than "
            f"{CLOUDFORMATION_DEPLOYMENT_LIMIT_MINUTES} (33 hours)",
        )


@service_check
def deployment_request_scaling(config: Config, where: str, svc: Service) -> Findings:
    """ALBRequestCountPerTarget follows the one target group its ResourceLabel names
    (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html),
    and a blue/green, canary or linear release moves production to the other group."""
    if needs_alternate_target_group(svc) and svc.scaling.requests_per_target is not None:
        yield (
            f"{where}.scaling.requests_per_target",
            f"not with strategy {svc.deployment.strategy}: releases move production traffic between two "
            "target groups and the request count follows one; scale on cpu_target or memory_target",
        )


@service_check
def deployment_test_rule(config: Config, where: str, svc: Service) -> Findings:
    """A test listener rule belongs to an ALB service released by blue_green, canary or linear
    (AdvancedConfiguration.TestListenerRule), one priority ahead of its production rule."""
    if not svc.deployment.test_listener_rule:
        return
    if not needs_alternate_target_group(svc):
        yield (
            f"{where}.deployment.test_listener_rule",
            "needs an ALB service (route.type: alb) with strategy blue_green, canary or linear",
        )
        return
    rule = next(r for r in listener_rules_of(config) if r.service == svc.name)
    taken = {r.priority: r.service for r in listener_rules_of(config)}
    test = test_rule_priority(rule)
    if test < 1 or test in taken:
        whose = f"taken by {taken[test]!r}" if test in taken else "below 1"
        yield (
            f"{where}.deployment.test_listener_rule",
            f"its test rule takes the priority before the service's rule ({test}), which is {whose}; "
            "choose another route.priority",
        )
