#!/usr/bin/env python3
"""Offline checks of Mati's deployment artefacts; `.ci/run deploy` runs them.

    check.py dockerfile FILE           what the image's build takes from the context
    check.py compose FILE              the Compose file
    check.py k8s NAME RENDERED         an overlay rendered by `kubectl kustomize`
    check.py monitoring RULES DASHBOARD
    check.py dashboard-rules DASHBOARD OUT   the dashboard's queries as rules, for promtool

Each prints what it checked and every defect found, and exits 1 when there is one.
Paths are taken from the repository's root (the working directory of `.ci/run`).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Kubernetes release whose schemas (bundled with kubernetes-validate) the built-in kinds
# must satisfy: the oldest minor still supported upstream when this was written.
KUBERNETES_VERSION = "1.32"

# Kinds of operators, validated against their CustomResourceDefinition's schema, copied
# into crds/ (see README.md there). Any other kind without a schema is an error.
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "crds/cnpg-cluster-v1.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "crds/cnpg-scheduledbackup-v1.json",
}

# Secrets that the manifests use but that are made outside git: by an operator, or by
# whoever installs Mati (deploy/README.md says how).
EXTERNAL_SECRETS = {
    "mati-db-app": "made by CloudNativePG for the Cluster mati-db",
    "mati-backup-s3": "object-storage credentials of the PostgreSQL backups",
    "mati-tls": "TLS certificate of the Ingress (e.g. by cert-manager)",
}

# MATI_ settings used here before Mati's settings code knows them; each is accepted
# with a notice. Remove a name once api/src defines it.
PENDING_SETTINGS: set[str] = set()

# The metrics that Mati's /metrics exports (name: type). Alert rules and the dashboard
# may name no other mati_ metric: a misspelt name would make an alert that never fires.
KNOWN_METRICS = {
    "mati_http_requests_total": "counter",
    "mati_http_request_duration_seconds": "histogram",
    "mati_graphql_operations_total": "counter",
    "mati_graphql_operation_duration_seconds": "histogram",
    "mati_rate_limit_refusals_total": "counter",
    "mati_moderation_queue_depth": "gauge",
    "mati_moderation_queue_oldest_seconds": "gauge",
    "mati_overdue_comments": "gauge",
    "mati_escalations_total": "counter",
    "mati_outbox_pending": "gauge",
    "mati_outbox_lag_seconds": "gauge",
    "mati_db_pool_connections": "gauge",
    "mati_db_pool_max_connections": "gauge",
    "mati_redis_up": "gauge",
    "mati_read_replica_state": "gauge",
    "mati_read_replica_lag_seconds": "gauge",
    "mati_db_statements_total": "counter",
    "mati_build_info": "gauge",
    "mati_shutting_down": "gauge",
}

# Mati's defaults (README.md, "Configuration") for the shutdown arithmetic.
DEFAULT_DRAIN_SECS = 5
DEFAULT_SHUTDOWN_TIMEOUT_SECS = 30
DEFAULT_MAX_CONNECTIONS = 16
DEFAULT_PG_MAX_CONNECTIONS = 100


class Report:
    def __init__(self, what: str) -> None:
        self.what = what
        self.defects: list[str] = []
        self.checked = 0
        self.notes: set[str] = set()

    def ok(self, n: int = 1) -> None:
        self.checked += n

    def fail(self, message: str) -> None:
        self.defects.append(message)
        print(f"FAIL {self.what}: {message}")

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.add(message)
            print(f"note {self.what}: {message}")

    def done(self) -> int:
        if self.defects:
            print(f"{self.what}: {len(self.defects)} defect(s)")
            return 1
        print(f"ok {self.what}: {self.checked} checks passed")
        return 0


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the
    last one silently; Compose and Kubernetes tools reject or mishandle it)."""


def _mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[object, yaml.Mark] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen[key] = key_node.start_mark
    loader.flatten_mapping(node)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml_all(path: Path) -> list:
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]


def load_yaml(path: Path):
    docs = load_yaml_all(path)
    if len(docs) != 1:
        raise ValueError(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0]


def load_json(path: Path):
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"duplicate key(s) {sorted(dup)}")
        return dict(pairs)

    with path.open(encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_duplicates)


def where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(root)"


# ---------------------------------------------------------------------------
# MATI_ settings
# ---------------------------------------------------------------------------


def documented_settings() -> list[re.Pattern]:
    """The MATI_ settings Mati knows: the `key: "MATI_…"` of its settings code and the
    names of README.md's "Configuration" tables (`<ACTION>` read as a wildcard)."""
    names = set()
    for source in sorted((ROOT / "api" / "src").rglob("*.rs")):
        names |= set(re.findall(r'key: "(MATI_[A-Z0-9_]+)"', source.read_text(encoding="utf-8")))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Configuration\n(.*?)(?=^## )", text, re.M | re.S)
    if match:
        names |= set(re.findall(r"^\| `(MATI_[A-Z0-9_<>]+)`", match.group(1), re.M))
    if len(names) < 10:
        raise SystemExit(f"found only {len(names)} MATI_ settings in api/src and README.md")
    return [re.compile("^" + re.sub(r"<[A-Z]+>", "[A-Z0-9_]+", n) + "$") for n in names]


def check_settings(report: Report, names, context: str, documented) -> None:
    for name in sorted(set(names)):
        if not name.startswith("MATI_"):
            continue
        if any(p.match(name) for p in documented):
            report.ok()
        elif name in PENDING_SETTINGS:
            report.note(f"{name} is not a setting of api/src yet (listed as pending)")
        else:
            report.fail(f"{context}: {name} is not a setting of Mati (api/src, README.md "
                        "'Configuration'); an unknown MATI_ variable stops Mati's start")


def seconds(value, what: str) -> float:
    """A Compose duration ("45s", "1m30s") or a number of seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?", str(value))
    if not parts or not any(parts.groups()):
        raise ValueError(f"{what}: cannot read duration {value!r}")
    h, m, s, ms = (int(g or 0) for g in parts.groups())
    return h * 3600 + m * 60 + s + ms / 1000


# ---------------------------------------------------------------------------
# Docker build context
# ---------------------------------------------------------------------------


def dockerignore_patterns(path: Path) -> list[tuple[bool, re.Pattern]]:
    """(excludes, regex) per line of a .dockerignore, in order (the last match wins)."""
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(line):
            if line.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif line.startswith("**", i):
                regex += ".*"
                i += 2
            elif line[i] == "*":
                regex += "[^/]*"
                i += 1
            elif line[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(line[i])
                i += 1
        patterns.append((not negate, re.compile(regex + "$")))
    return patterns


def in_context(relative: str, patterns) -> bool:
    """Whether the file reaches the build context: a pattern that matches the path or
    one of its parent folders decides, the last one that does."""
    parts = relative.strip("/").split("/")
    excluded = False
    for excludes, regex in patterns:
        if any(regex.match("/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            excluded = excludes
    return not excluded


def check_dockerfile(dockerfile: Path) -> int:
    """Every file that `COPY` takes from the context, and every member crate of the
    workspace, gets through the .dockerignore allow-list (a new crate that does not
    breaks the image's build, which CI cannot run)."""
    import tomllib

    report = Report(f"docker context {dockerfile}")
    patterns = dockerignore_patterns(ROOT / ".dockerignore")
    needed = ["Cargo.toml", "Cargo.lock"]
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    for member in manifest["workspace"]["members"]:
        needed.append(f"{member}/Cargo.toml")
        sources = [p for p in (ROOT / member).rglob("*.rs") if "target" not in p.parts]
        needed += [str(p.relative_to(ROOT)) for p in sources[:50]]
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        if any(w.startswith("--from") for w in words):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        needed += [a for a in args[:-1] if a != "."]
    for relative in needed:
        target = ROOT / relative
        if not target.exists():
            report.fail(f"{relative} does not exist")
        elif target.is_dir():
            files = [p for p in target.rglob("*") if p.is_file()]
            if not files or not any(in_context(str(p.relative_to(ROOT)), patterns) for p in files):
                report.fail(f"{relative}/ is kept out of the build context by .dockerignore")
            else:
                report.ok()
        elif not in_context(relative, patterns):
            report.fail(f"{relative} is kept out of the build context by .dockerignore")
        else:
            report.ok()
    for unwanted in ("target/release/mati", "fuzz/Cargo.toml", ".git/HEAD", "README.md"):
        if in_context(unwanted, patterns):
            report.fail(f"{unwanted} would be sent to the builder (.dockerignore lets it in)")
        else:
            report.ok()
    return report.done()


# ---------------------------------------------------------------------------
# Compose
# ---------------------------------------------------------------------------


# The Compose schema lets a string stand for a boolean or an integer, for ${…}
# interpolation; Compose then refuses a string that is neither, and so does this check.
# (Sizes such as shm_size and rate may be strings with units; numbers are left alone.)
SCALAR_STRINGS = {
    "boolean": r"^(?:.*\$\{.*|true|false)$",
    "integer": r"^(?:.*\$\{.*|[-+]?[0-9]+)$",
}
SIZE_PROPERTIES = {"shm_size", "rate"}


def interpolation_aware(schema):
    schema = copy.deepcopy(schema)

    def walk(node, name=""):
        if isinstance(node, dict):
            kinds = node.get("type")
            if (isinstance(kinds, list) and len(kinds) == 2 and kinds[1] == "string"
                    and kinds[0] in SCALAR_STRINGS and name not in SIZE_PROPERTIES):
                del node["type"]
                node["anyOf"] = [{"type": kinds[0]},
                                 {"type": "string", "pattern": SCALAR_STRINGS[kinds[0]]}]
            for key, value in node.items():
                if name == "<properties>":
                    child = key  # a property's name
                elif key in ("properties", "patternProperties"):
                    child = "<properties>"
                elif key in ("oneOf", "anyOf"):
                    child = name
                else:
                    child = ""
                walk(value, child)
        elif isinstance(node, list):
            for value in node:
                walk(value, name)

    walk(schema)
    return schema


def check_compose(path: Path) -> int:
    report = Report(f"compose {path}")
    documented = documented_settings()
    doc = load_yaml(path)

    schema = interpolation_aware(load_json(HERE / "compose-spec.json"))
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for error in errors:
        report.fail(f"schema: {where(error)}: {error.message}")
    if errors:
        return report.done()
    report.ok()

    services = doc.get("services", {})
    base = path.parent
    for name, service in services.items():
        env = service.get("environment", {})
        if isinstance(env, list):
            env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
        check_settings(report, env, f"service {name}", documented)

        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and source.startswith((".", "/")) and not (base / source).exists():
                report.fail(f"service {name}: mounted file {source} does not exist")
            else:
                report.ok()
        for env_file in service.get("env_file", []) or []:
            if isinstance(env_file, str):
                env_file = {"path": env_file}
            if env_file.get("required", True) and not (base / env_file["path"]).exists():
                report.fail(f"service {name}: required env_file {env_file['path']} does not exist")

        if "MATI_DATABASE_URL" not in env:
            continue
        command = service.get("command", ["serve"])
        if isinstance(command, str):
            command = command.split()
        if command[:1] == ["migrate"]:
            if service.get("restart", "no") != "no":
                report.fail(f"service {name}: a one-off migration must have restart: \"no\"")
            continue
        # A server.
        drain = int(env.get("MATI_SHUTDOWN_DRAIN_SECS", DEFAULT_DRAIN_SECS))
        timeout = int(env.get("MATI_SHUTDOWN_TIMEOUT_SECS", DEFAULT_SHUTDOWN_TIMEOUT_SECS))
        grace = seconds(service.get("stop_grace_period", "10s"), f"service {name}")
        if grace <= drain + timeout:
            report.fail(f"service {name}: stop_grace_period {grace:g}s must exceed "
                        f"drain + timeout ({drain} + {timeout} s)")
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        if "/readyz" not in test:
            report.fail(f"service {name}: its healthcheck must ask /readyz")
        deps = service.get("depends_on", {})
        migrations = [d for d, c in (deps.items() if isinstance(deps, dict) else [])
                      if c.get("condition") == "service_completed_successfully"]
        if not migrations:
            report.fail(f"service {name}: must wait for the migration "
                        "(depends_on … condition: service_completed_successfully)")
        if "0.0.0.0" not in env.get("MATI_LISTEN", "") and "[::]" not in env.get("MATI_LISTEN", ""):
            report.fail(f"service {name}: MATI_LISTEN must listen on all addresses in a container")
        report.ok(4)
    return report.done()


# ---------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------

NAMESPACED_EXCEPT = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                     "PriorityClass", "StorageClass", "IngressClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def strict_schema(schema):
    """A CRD schema that, like kubernetes-validate --strict, refuses unknown fields (the
    API server would drop them silently: a misspelt field of a Cluster is lost)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    # metadata is an ObjectMeta, which the CRD schema leaves open.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    return schema


def pod_template(obj):
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    return spec.get("template") if obj["kind"] in WORKLOADS | {"CronJob"} else None


def matches(selector: dict, labels: dict) -> bool:
    wanted = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    if "matchExpressions" in selector:
        return False  # not used here; treat as no match so that it is looked at
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def check_k8s(name: str, path: Path) -> int:
    from kubernetes_validate import utils as kv

    report = Report(f"k8s {name}")
    documented = documented_settings()
    docs = load_yaml_all(path)
    if not docs:
        report.fail("the rendered overlay is empty")
        return report.done()

    by_kind: dict[str, dict[str, dict]] = {}
    for obj in docs:
        api, kind = obj.get("apiVersion"), obj.get("kind")
        meta = obj.get("metadata") or {}
        label = f"{kind}/{meta.get('name')}"
        if not api or not kind or not meta.get("name"):
            report.fail(f"{label}: apiVersion, kind and metadata.name are required")
            continue
        if kind not in NAMESPACED_EXCEPT and not meta.get("namespace"):
            report.fail(f"{label}: no namespace (render an overlay, not the base)")
        key = f"{meta.get('namespace', '')}/{meta['name']}"
        if key in by_kind.setdefault(kind, {}):
            report.fail(f"{label}: defined twice")
        by_kind[kind][key] = obj

        try:
            kv.validate(obj, KUBERNETES_VERSION, strict=True)
            report.ok()
        except kv.ValidationError as e:
            report.fail(f"{label}: {'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}")
        except kv.SchemaNotFoundError:
            crd = CRD_SCHEMAS.get((api, kind))
            if crd is None:
                report.fail(f"{label}: no schema for {api} {kind}, neither in Kubernetes "
                            f"{KUBERNETES_VERSION} nor among the known operators' kinds")
                continue
            schema = strict_schema(load_json(HERE / crd))
            errors = list(jsonschema.Draft7Validator(schema).iter_errors(obj))
            for error in errors:
                report.fail(f"{label}: {where(error)}: {error.message}")
            if not errors:
                report.ok()

    def named(kind: str) -> dict[str, dict]:
        return {k.split("/", 1)[1]: v for k, v in by_kind.get(kind, {}).items()}

    configmaps, secrets = named("ConfigMap"), named("Secret")
    templates = {f"{o['kind']}/{o['metadata']['name']}": (o, pod_template(o))
                 for kind in WORKLOADS | {"CronJob"} for o in named(kind).values()}

    def need_secret(ref: str, where_: str) -> None:
        if ref in secrets or ref in EXTERNAL_SECRETS:
            report.ok()
        else:
            report.fail(f"{where_}: Secret {ref} is neither rendered nor a known external one")

    def need_configmap(ref: str, where_: str) -> None:
        if ref in configmaps:
            report.ok()
        else:
            report.fail(f"{where_}: ConfigMap {ref} is not rendered")

    # Pods: the restricted Pod Security Standard, resources, references, settings.
    for label, (obj, template) in templates.items():
        if template is None:
            continue
        spec = template.get("spec", {})
        pod_sc = spec.get("securityContext", {})
        if spec.get("automountServiceAccountToken") is not False:
            report.fail(f"{label}: automountServiceAccountToken must be false")
        sa = spec.get("serviceAccountName")
        if sa and sa not in named("ServiceAccount"):
            report.fail(f"{label}: ServiceAccount {sa} is not rendered")
        containers = spec.get("initContainers", []) + spec.get("containers", [])
        for c in containers:
            cl = f"{label} container {c['name']}"
            sc = c.get("securityContext", {})
            if not (sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True):
                report.fail(f"{cl}: runAsNonRoot must be true")
            if not isinstance(sc.get("runAsUser", pod_sc.get("runAsUser")), int):
                report.fail(f"{cl}: runAsUser must be a number (images name users by name)")
            if sc.get("allowPrivilegeEscalation") is not False:
                report.fail(f"{cl}: allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                report.fail(f"{cl}: readOnlyRootFilesystem must be true")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                report.fail(f"{cl}: capabilities must drop ALL")
            seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {}))
            if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
                report.fail(f"{cl}: seccompProfile must be RuntimeDefault")
            resources = c.get("resources", {})
            if "memory" not in resources.get("limits", {}) or not resources.get("requests"):
                report.fail(f"{cl}: needs resource requests and a memory limit")
            for source in c.get("envFrom", []):
                if "configMapRef" in source:
                    need_configmap(source["configMapRef"]["name"], cl)
                if "secretRef" in source:
                    need_secret(source["secretRef"]["name"], cl)
            for var in c.get("env", []):
                ref = var.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    need_secret(ref["secretKeyRef"]["name"], cl)
                if "configMapKeyRef" in ref:
                    need_configmap(ref["configMapKeyRef"]["name"], cl)
            report.ok(7)
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                need_configmap(volume["configMap"]["name"], label)
            if "secret" in volume:
                need_secret(volume["secret"]["secretName"], label)

        # Selectors of the workload itself.
        selector = obj.get("spec", {}).get("selector")
        if selector is not None and not matches(selector, template["metadata"].get("labels", {})):
            report.fail(f"{label}: spec.selector does not match the pod template's labels")

    def pods_matching(selector: dict) -> list[dict]:
        return [t for _, t in templates.values()
                if t and matches(selector, t["metadata"].get("labels", {}))]

    for sname, svc in named("Service").items():
        pods = pods_matching(svc["spec"].get("selector", {}))
        if not pods:
            report.fail(f"Service/{sname}: its selector matches no pod template")
            continue
        port_names = {p.get("name") for t in pods for c in t["spec"]["containers"]
                      for p in c.get("ports", [])}
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            if isinstance(target, str) and target not in port_names:
                report.fail(f"Service/{sname}: targetPort {target} is no container port name")
            else:
                report.ok()
    for pname, pdb in named("PodDisruptionBudget").items():
        if not pods_matching(pdb["spec"].get("selector", {})):
            report.fail(f"PodDisruptionBudget/{pname}: its selector matches no pod template")
        else:
            report.ok()
    for nname, policy in named("NetworkPolicy").items():
        if not pods_matching(policy["spec"].get("podSelector", {})):
            report.fail(f"NetworkPolicy/{nname}: its podSelector matches no pod template")
        else:
            report.ok()
    services = named("Service")
    for iname, ingress in named("Ingress").items():
        for rule in ingress["spec"].get("rules", []):
            for p in rule.get("http", {}).get("paths", []):
                backend = p["backend"]["service"]
                svc = services.get(backend["name"])
                port = backend.get("port", {})
                if svc is None:
                    report.fail(f"Ingress/{iname}: backend Service {backend['name']} is not rendered")
                elif not any(sp.get("name") == port.get("name") or sp["port"] == port.get("number")
                             for sp in svc["spec"]["ports"]):
                    report.fail(f"Ingress/{iname}: Service {backend['name']} has no port {port}")
                else:
                    report.ok()
            if rule.get("host", "").endswith("example.org"):
                report.note(f"Ingress/{iname}: host {rule['host']} is a placeholder")
        for tls in ingress["spec"].get("tls", []):
            need_secret(tls["secretName"], f"Ingress/{iname}")

    # The CloudNativePG Cluster: its Secret references and connection budget.
    clusters = named("Cluster")
    for cname, cluster in clusters.items():
        store = cluster["spec"].get("backup", {}).get("barmanObjectStore", {})
        for cred in store.get("s3Credentials", {}).values():
            if isinstance(cred, dict) and "name" in cred:
                need_secret(cred["name"], f"Cluster/{cname}")
    for sname, sb in named("ScheduledBackup").items():
        if sb["spec"]["cluster"]["name"] not in clusters:
            report.fail(f"ScheduledBackup/{sname}: Cluster {sb['spec']['cluster']['name']} is not rendered")

    # Mati's server: probes, shutdown arithmetic, autoscaling, settings.
    mati = named("Deployment").get("mati")
    if mati is None:
        report.fail("Deployment/mati is not rendered")
        return report.done()
    spec = mati["spec"]["template"]["spec"]
    container = next(c for c in spec["containers"] if c["name"] == "mati")
    settings: dict[str, str] = {}
    for source in container.get("envFrom", []):
        settings.update(configmaps.get(source.get("configMapRef", {}).get("name"), {}).get("data", {}))
    settings.update({v["name"]: v.get("value", "(from a Secret)") for v in container.get("env", [])})
    for label, (obj, template) in templates.items():
        if template and template["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "mati":
            names = set()
            for c in template["spec"]["containers"]:
                for source in c.get("envFrom", []):
                    names |= set(configmaps.get(source.get("configMapRef", {}).get("name"), {})
                                 .get("data", {}))
                names |= {v["name"] for v in c.get("env", [])}
            check_settings(report, names, label, documented)

    def probe_path(kind: str) -> str | None:
        return container.get(kind, {}).get("httpGet", {}).get("path")

    for kind, path_ in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        if probe_path(kind) != path_:
            report.fail(f"Deployment/mati: {kind} must GET {path_}, not {probe_path(kind)}")
        else:
            report.ok()
    drain = int(settings.get("MATI_SHUTDOWN_DRAIN_SECS", DEFAULT_DRAIN_SECS))
    timeout = int(settings.get("MATI_SHUTDOWN_TIMEOUT_SECS", DEFAULT_SHUTDOWN_TIMEOUT_SECS))
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace <= drain + timeout:
        report.fail(f"Deployment/mati: terminationGracePeriodSeconds {grace} must exceed "
                    f"drain + timeout ({drain} + {timeout})")
    else:
        report.ok()
    if "MATI_DATABASE_URL" not in settings:
        report.fail("Deployment/mati: no MATI_DATABASE_URL (the default is a SQLite file)")

    hpas = [h for h in named("HorizontalPodAutoscaler").values()
            if h["spec"]["scaleTargetRef"]["name"] == "mati"]
    if len(hpas) != 1:
        report.fail(f"Deployment/mati: expected one HorizontalPodAutoscaler, found {len(hpas)}")
        return report.done()
    hpa = hpas[0]["spec"]
    if hpa.get("minReplicas", 1) < 2:
        report.fail("HorizontalPodAutoscaler/mati: minReplicas must be at least 2")
    if "replicas" in mati["spec"]:
        report.fail("Deployment/mati: no spec.replicas under an autoscaler (apply would reset it)")
    pool = int(settings.get("MATI_DATABASE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS))
    for cname, cluster in clusters.items():
        params = cluster["spec"].get("postgresql", {}).get("parameters", {})
        limit = int(params.get("max_connections", DEFAULT_PG_MAX_CONNECTIONS))
        wanted = (hpa["maxReplicas"] + 1) * pool  # every replica, and the migration Job
        if wanted >= limit:
            report.fail(f"Cluster/{cname}: max_connections {limit} must exceed "
                        f"(maxReplicas {hpa['maxReplicas']} + 1 Job) x pool {pool} = {wanted}")
        else:
            report.ok()
    report.ok(3)
    return report.done()


# ---------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------

METRIC = re.compile(r"\b(mati_[a-z0-9_]+)")


def check_metric_names(report: Report, expr: str, context: str) -> None:
    for name in set(METRIC.findall(expr)):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name in KNOWN_METRICS and KNOWN_METRICS[name] != "histogram":
            report.ok()
        elif base != name and KNOWN_METRICS.get(base) == "histogram":
            report.ok()
        elif KNOWN_METRICS.get(name) == "histogram":
            report.fail(f"{context}: histogram {name} is queried as _bucket, _sum or _count only")
        else:
            report.fail(f"{context}: {name} is not a metric that Mati exports")


def check_monitoring(rules_path: Path, dashboard_path: Path) -> int:
    report = Report("monitoring")
    rules = load_yaml(rules_path)
    alerts = 0
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            context = f"{rules_path.name} {rule.get('alert') or rule.get('record')}"
            check_metric_names(report, rule.get("expr", ""), context)
            if "alert" not in rule:
                continue
            alerts += 1
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                report.fail(f"{context}: labels.severity must be critical, warning or info")
            annotations = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not annotations.get(key):
                    report.fail(f"{context}: annotations.{key} is missing")
            if "#operating-mati" not in annotations.get("runbook_url", ""):
                report.fail(f"{context}: runbook_url must point into README.md#operating-mati…")
            report.ok(3)
    if alerts == 0:
        report.fail(f"{rules_path}: no alerting rules")

    dashboard = load_json(dashboard_path)
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dashboard:
            report.fail(f"{dashboard_path.name}: no {key}")
    variables = dashboard.get("templating", {}).get("list", [])
    ds_vars = [v["name"] for v in variables if v.get("type") == "datasource"
               and v.get("query") == "prometheus"]
    if not ds_vars:
        report.fail(f"{dashboard_path.name}: needs a datasource variable of type prometheus")
    ids = set()
    targets = 0
    for panel in dashboard.get("panels", []):
        context = f"{dashboard_path.name} panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("id") in ids:
            report.fail(f"{context}: id used twice")
        ids.add(panel.get("id"))
        if "gridPos" not in panel:
            report.fail(f"{context}: no gridPos")
        if panel.get("type") == "row":
            continue
        uid = panel.get("datasource", {}).get("uid", "")
        if not any(uid == f"${{{v}}}" for v in ds_vars):
            report.fail(f"{context}: datasource must be the variable (${{{ds_vars[:1]}}})")
        for target in panel.get("targets", []):
            targets += 1
            if not target.get("expr"):
                report.fail(f"{context}: a target without expr")
            check_metric_names(report, target.get("expr", ""), context)
            if target.get("datasource", {}).get("uid", uid) != uid:
                report.fail(f"{context}: a target with another datasource")
        report.ok()
    if targets == 0:
        report.fail(f"{dashboard_path.name}: no queries")
    return report.done()


# Grafana's variables, replaced by values that PromQL parses.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$job": "mati"}


def dashboard_as_rules(dashboard_path: Path, out: Path) -> int:
    """Writes every query of the dashboard as a recording rule, for `promtool check
    rules` to parse (promtool has no command that parses a lone expression)."""
    dashboard = load_json(dashboard_path)
    rules = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr})
    with out.open("w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": [{"name": dashboard_path.name, "rules": rules}]}, f)
    print(f"{len(rules)} queries of {dashboard_path} written to {out}")
    return 0


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 2 and argv[0] == "dockerfile":
            return check_dockerfile(Path(argv[1]))
        if len(argv) == 2 and argv[0] == "compose":
            return check_compose(Path(argv[1]))
        if len(argv) == 3 and argv[0] == "k8s":
            return check_k8s(argv[1], Path(argv[2]))
        if len(argv) == 3 and argv[0] == "monitoring":
            return check_monitoring(Path(argv[1]), Path(argv[2]))
        if len(argv) == 3 and argv[0] == "dashboard-rules":
            return dashboard_as_rules(Path(argv[1]), Path(argv[2]))
    except (yaml.YAMLError, ValueError, KeyError, TypeError) as e:
        print(f"FAIL {' '.join(argv[:2])}: {type(e).__name__}: {e}")
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
