# Copyright (c) 2026, tcp.keepalive developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Audit of the keepalive sysctls: facts (runtime, boot model, namespaces) + policy -> findings and report.

`audit()` gathers the facts of a host (root path for tests) and returns what tcp.keepalive.settings_info
returns. Everything below `gather_facts` is pure: it only looks at the facts it is given, so unit tests
feed it fixture boot models and fake namespace listings.

Conventions of the findings (stable, documented in the module):
- `namespace` is None for the namespace the audit runs in (and for boot files), the inode otherwise.
- runtime differs from boot: `not_persisted` when no file sets the key (boot falls back to the kernel
  default), `drift` when a file does; never both for one key.
- `not_expected` and `detection_time_exceeded` are checked for the runtime and boot values of the current
  namespace, and for the runtime values of every other namespace read (boot files are the host's).
"""

from __future__ import annotations

from typing import Any, TypedDict

from ansible_collections.tcp.keepalive.plugins.module_utils import _netns, _procsys, _sysctl_conf
from ansible_collections.tcp.keepalive.plugins.module_utils._common import (
    FINDING_SEVERITY,
    KERNEL_DEFAULTS,
    KEYS,
    LIMITS,
    MAX_DETECTION_TIME,
    PROC_SYS_RELPATH,
    SYSCTL_NAMES,
    Finding,
    Values,
    check_range,
    dataclass,
    detection_time,
    field,
    parse_int,
)
from ansible_collections.tcp.keepalive.plugins.module_utils._netns import ProcessDict, ProcessInfo
from ansible_collections.tcp.keepalive.plugins.module_utils._sysctl_conf import (
    BootModel,
    Definition,
    DefinitionDict,
    Location,
)

NAMESPACE_MODES = ("current", "all")
LOADERS = ("auto", "systemd", "procps")
# Findings that decide `compliant` once a policy (expected / max_detection_time) is given.
COMPLIANCE_IDS = ("not_expected", "detection_time_exceeded", "missing_key")
_ID_ORDER = {finding_id: index for index, finding_id in enumerate(FINDING_SEVERITY)}
_KEY_ORDER = {key: index for index, key in enumerate(KEYS)}


# What settings_info returns per key and per namespace (see _sysctl_conf: TypedDict bodies are lazy).
class KeyReport(TypedDict):
    """settings_info `settings.<key>`."""

    runtime: int | None
    boot: int
    boot_source: Location | str  # "kernel_default" when no file sets the key
    definitions: list[DefinitionDict]
    kernel_default: int
    drift: bool | None


class NamespaceDict(TypedDict):
    """NamespaceReport.as_dict(): settings_info `namespaces[]`."""

    inode: int | None
    current: bool
    names: list[str]
    processes: list[ProcessDict]
    values: Values
    detection_time: int | None
    error: str | None


class PolicyError(ValueError):
    """Bad module input; the message is meant for the user as is."""


@dataclass
class Policy:
    expected: dict[str, int] = field(default_factory=dict)
    max_detection_time: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.expected) or self.max_detection_time is not None


@dataclass
class NamespaceReport:
    """One network namespace as the audit saw it."""

    inode: int | None
    current: bool
    values: Values
    error: str | None = None
    names: list[str] = field(default_factory=list)
    processes: list[ProcessInfo] = field(default_factory=list)

    def describe(self) -> str:
        """'namespace 4026532398 (ip netns blue)': enough for a human to find it."""
        who = ["ip netns " + name for name in self.names]
        who += ["container " + p.container_id[:12] for p in self.processes if p.container_id]
        who += [f"{p.comm}[{p.pid}]" for p in self.processes if not p.container_id]
        unique = list(dict.fromkeys(who))
        suffix = " (" + ", ".join(unique[:3]) + (", ..." if len(unique) > 3 else "") + ")" if unique else ""
        return f"namespace {self.inode}{suffix}"

    def as_dict(self) -> NamespaceDict:
        return {
            "inode": self.inode,
            "current": self.current,
            "names": list(self.names),
            "processes": [p.as_dict() for p in self.processes],
            "values": dict(self.values),
            "detection_time": detection_time(*(self.values.get(key) for key in KEYS)),
            "error": self.error,
        }


@dataclass
class AuditFacts:
    runtime: Values
    loader: str
    loader_reason: str
    model: BootModel
    namespaces: list[NamespaceReport]
    hidden_processes: int = 0
    runtime_errors: dict[str, str] = field(default_factory=dict)  # key -> why /proc/sys could not be read


# ---------------------------------------------------------------------------------------------- input


def _limit_error(name: str, value: Any, low: int, high: int) -> str | None:
    number = parse_int(value)
    if number is None:
        return f"{name} must be an integer, got {value!r}"
    if not low <= number <= high:
        return f"{name} must be between {low} and {high}, got {number}"
    return None


def parse_policy(expected: Any = None, max_detection_time: Any = None) -> Policy:
    """Validate module input; raise PolicyError with a message that says what is wrong."""
    if expected is None:
        expected = {}
    if not isinstance(expected, dict):
        kind = type(expected).__name__
        raise PolicyError(f"expected must be a dict with keys {', '.join(KEYS)}, got {kind}")
    unknown = sorted(str(key) for key in expected if key not in KEYS)
    if unknown:
        raise PolicyError(f"expected has unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(KEYS)}")
    policy = Policy()
    for key in KEYS:
        value = expected.get(key)
        if value is None:
            continue
        error = _limit_error("expected." + key, value, *LIMITS[key])
        if error:
            raise PolicyError(error)
        policy.expected[key] = int(parse_int(value))  # type: ignore[arg-type]
    if max_detection_time is not None:
        number = parse_int(max_detection_time)
        if number is None or number < 1:
            raise PolicyError(
                f"max_detection_time must be a positive number of seconds, got {max_detection_time!r}"
            )
        # The longest detection the kernel can be set to (32767 + 32767 * 127): above it, any host passes.
        too_long = check_range(
            "max_detection_time", number, 1, MAX_DETECTION_TIME, "a whole number of seconds"
        )
        if too_long:
            raise PolicyError(too_long)
        policy.max_detection_time = number
    return policy


# ---------------------------------------------------------------------------------------- boot helpers


def boot_value(model: BootModel, key: str) -> int:
    """Value the key has after boot under the model's loader (kernel default when nothing sets it)."""
    value = model.boot.get(key)
    return KERNEL_DEFAULTS[key] if value is None else value


def boot_source(model: BootModel, key: str) -> Location | str:
    source = model.boot_source.get(key)
    return {"file": source.file, "line": source.line} if source is not None else "kernel_default"


def _where(definition: Definition) -> str:
    return f"{definition.file}:{definition.line}"


def _source_text(model: BootModel, key: str) -> str:
    source = model.boot_source.get(key)
    return f"set at {_where(source)}" if source is not None else "kernel default, no file sets it"


def settings_report(runtime: Values, model: BootModel) -> dict[str, KeyReport]:
    report: dict[str, KeyReport] = {}
    for key in KEYS:
        boot = boot_value(model, key)
        report[key] = {
            "runtime": runtime.get(key),
            "boot": boot,
            "boot_source": boot_source(model, key),
            "definitions": [d.as_dict() for d in model.definitions.get(key, [])],
            "kernel_default": KERNEL_DEFAULTS[key],
            "drift": None if runtime.get(key) is None else runtime.get(key) != boot,
        }
    return report


# ------------------------------------------------------------------------------------------- findings


def _missing_key(
    values: Values, namespace: NamespaceReport | None = None, errors: dict[str, str] | None = None
) -> list[Finding]:
    found = []
    for key in KEYS:
        if values.get(key) is not None:
            continue
        where = f" in {namespace.describe()}" if namespace else ""
        why = (errors or {}).get(key) or "kernel without it, or IPv4 disabled"
        message = f"{SYSCTL_NAMES[key]} cannot be read{where} ({why}): its value is unknown"
        inode = namespace.inode if namespace else None
        found.append(
            Finding(
                id="missing_key", key=key, file="/" + PROC_SYS_RELPATH[key], namespace=inode, message=message
            )
        )
    return found


def _drift(runtime: Values, model: BootModel) -> list[Finding]:
    found = []
    for key in KEYS:
        now, boot = runtime.get(key), boot_value(model, key)
        if now is None or now == boot:
            continue
        source = model.boot_source.get(key)
        name = SYSCTL_NAMES[key]
        if source is None:
            message = (
                f"{name} is {now} at runtime but no file persists it: after a reboot it is back to "
                f"the kernel default {boot}"
            )
            found.append(Finding(id="not_persisted", key=key, message=message))
        else:
            message = f"{name} is {now} at runtime but boot sets {boot} at {_where(source)}"
            found.append(Finding(id="drift", key=key, file=source.file, line=source.line, message=message))
    return found


def _masked(definition: Definition) -> str | None:
    """Path of the file that masks the definition's file (the loader never reads it), or None."""
    return getattr(definition, "masked_by", None)


def _live(model: BootModel, key: str) -> list[Definition]:
    """Definitions of `key` in files the loader reads (not in masked files), in application order."""
    return [d for d in model.definitions.get(key, []) if not _masked(d)]


def _find_definition(model: BootModel, key: str, location: tuple[str, int]) -> Definition | None:
    for definition in _live(model, key):
        if (definition.file, definition.line) == tuple(location):
            return definition
    return None


def _mask_text(model: BootModel, mask: str | None) -> str:
    """'/etc/sysctl.d/x.conf (a symlink to /dev/null)': what the masking file is."""
    masker = next((conf for conf in model.files if conf.path == mask), None)
    if masker is not None and masker.null_mask:
        kind = "a symlink to /dev/null" if masker.target == "/dev/null" else "an empty file or a device"
        return f"{mask} ({kind})"
    return f"{mask} (a same-named file in an earlier directory)"


def _masked_message(model: BootModel, key: str, definition: Definition, text: str) -> str:
    mask = _masked(definition)
    return (
        f"{text} is never applied at boot: the file is masked by {_mask_text(model, mask)}, so "
        f"{model.loader} never reads it; boot uses {boot_value(model, key)} ({_source_text(model, key)})"
    )


def _lost_reason(model: BootModel, key: str, definition: Definition) -> str:
    """Why a definition that is not overridden by a winner still does not apply at boot."""
    excluded = getattr(model, "excluded", {}).get(key) or []
    if definition.glob and excluded:
        return "is not applied at boot: the key is excluded from globs at {}:{}".format(*excluded[0])
    later = _live(model, key)
    index = later.index(definition) if definition in later else -1
    if 0 <= index < len(later) - 1:
        last = later[-1]
        return (
            f"is not applied at boot: {model.loader} uses the later {last.value!r} at {_where(last)}, "
            "which the kernel rejects, so the key stays at the kernel default"
        )
    return f"is not applied at boot by loader {model.loader}"


def _overridden(model: BootModel) -> list[Finding]:
    found = []
    for key in KEYS:
        read = {(d.file, d.line) for d in _live(model, key)}
        for definition in model.definitions.get(key, []):
            if definition.wins:
                continue
            text = f"{SYSCTL_NAMES[key]} = {definition.value} at {_where(definition)}"
            if _masked(definition):
                if (definition.file, definition.line) in read:
                    continue  # a masked symlink to a file the loader reads anyway (reported there)
                message = _masked_message(model, key, definition, text)
            elif definition.overridden_by:
                if tuple(definition.overridden_by) == (definition.file, definition.line):
                    continue  # the same line read twice (procps: 99-sysctl.conf symlink, then sysctl.conf)
                winner = _find_definition(model, key, definition.overridden_by)
                if (
                    winner is not None
                    and definition.int_value is not None
                    and (definition.int_value == winner.int_value)
                ):
                    continue  # overridden by the same value: nothing changes at boot (issue 11 item 7)
                by = "{}:{}".format(*definition.overridden_by)
                value = f" (value {winner.value})" if winner is not None else ""
                message = f"{text} is overridden at boot by {by}{value}"
            elif definition.int_value is None:
                continue  # an invalid value: reported as unparsable_line
            else:
                message = f"{text} {_lost_reason(model, key, definition)}"
            found.append(
                Finding(
                    id="overridden_at_boot",
                    key=key,
                    file=definition.file,
                    line=definition.line,
                    message=message,
                )
            )
    return found


def _unique_locations(definitions: list[Definition]) -> list[Definition]:
    """One definition per file:line (procps reads /etc/sysctl.conf twice through the 99- symlink)."""
    seen: dict[tuple[str, int], Definition] = {}
    for definition in definitions:
        seen.setdefault((definition.file, definition.line), definition)
    return list(seen.values())


def _conflicts(model: BootModel) -> list[Finding]:
    found = []
    for key in KEYS:
        definitions = _unique_locations(_live(model, key))  # masked files: overridden_at_boot only
        distinct = {d.int_value if d.int_value is not None else d.value for d in definitions}
        if len(distinct) < 2:
            continue
        listing = ", ".join(f"{d.value} at {_where(d)}" for d in definitions)
        source = model.boot_source.get(key)
        found.append(
            Finding(
                id="conflicting_definitions",
                key=key,
                file=source.file if source else None,
                line=source.line if source else None,
                message=f"{SYSCTL_NAMES[key]} is set to different values: {listing}; "
                f"boot uses {boot_value(model, key)} ({_source_text(model, key)})",
            )
        )
    return found


def _unparsable(model: BootModel) -> list[Finding]:
    found = []
    seen = set()
    for path, line, text in model.unparsable:
        seen.add((path, line))
        found.append(
            Finding(
                id="unparsable_line",
                file=path,
                line=line,
                message=f"cannot parse {path}:{line}: {text.strip()!r}",
            )
        )
    for key in KEYS:
        for definition in _live(model, key):  # the loader never writes what a masked file holds
            if definition.int_value is None and (definition.file, definition.line) not in seen:
                message = (
                    f"{SYSCTL_NAMES[key]} = {definition.value!r} at {_where(definition)} is a value "
                    "the kernel rejects (not an integer, or out of the key's range): the loader fails "
                    "to write it and the earlier value stays"
                )
                found.append(
                    Finding(
                        id="unparsable_line",
                        key=key,
                        file=definition.file,
                        line=definition.line,
                        message=message,
                    )
                )
    return found


def _unreadable(model: BootModel) -> list[Finding]:
    found = []
    seen = set()
    for path, error in model.unreadable:
        seen.add(path)
        found.append(
            Finding(
                id="unreadable_file",
                file=path,
                message=f"cannot read {path} ({error}): boot values may be wrong",
            )
        )
    for conf in model.files:
        if not conf.readable and conf.path not in seen:
            found.append(
                Finding(
                    id="unreadable_file",
                    file=conf.path,
                    message=f"cannot read {conf.path} ({conf.error}): boot values may be wrong",
                )
            )
    return found


def _against_expected(
    values: Values,
    policy: Policy,
    scope: str,
    namespace: NamespaceReport | None = None,
    model: BootModel | None = None,
) -> list[Finding]:
    found = []
    where = f" in {namespace.describe()}" if namespace else ""
    for key, expected in policy.expected.items():
        value = values.get(key)
        if value is None or value == expected:
            continue
        source = model.boot_source.get(key) if model is not None else None
        origin = f" ({_source_text(model, key)})" if model is not None else ""
        found.append(
            Finding(
                id="not_expected",
                key=key,
                namespace=namespace.inode if namespace else None,
                file=source.file if source else None,
                line=source.line if source else None,
                message=f"{SYSCTL_NAMES[key]} is {value} {scope}{where}{origin}, expected {expected}",
                extra={"scope": "boot" if scope == "after boot" else "runtime"},
            )
        )
    return found


def _against_max(
    values: Values, policy: Policy, scope: str, namespace: NamespaceReport | None = None
) -> list[Finding]:
    if policy.max_detection_time is None:
        return []
    total = detection_time(*(values.get(key) for key in KEYS))
    if total is None or total <= policy.max_detection_time:
        return []
    where = f" in {namespace.describe()}" if namespace else ""
    parts = " + ".join([f"time {values['time']}", f"intvl {values['intvl']} * probes {values['probes']}"])
    return [
        Finding(
            id="detection_time_exceeded",
            namespace=namespace.inode if namespace else None,
            message=f"a dead idle peer is detected after {total}s {scope}{where} ({parts}), more than "
            f"max_detection_time {policy.max_detection_time}s",
            extra={"scope": "boot" if scope == "after boot" else "runtime"},
        )
    ]


def _host_configured(runtime: Values, model: BootModel) -> bool:
    for key in KEYS:
        default = KERNEL_DEFAULTS[key]
        if runtime.get(key) not in (None, default) or boot_value(model, key) != default:
            return True
    return False


def _namespace_findings(facts: AuditFacts, policy: Policy) -> list[Finding]:
    found = []
    configured = _host_configured(facts.runtime, facts.model)
    host = "/".join(str(facts.runtime.get(key)) for key in KEYS)
    for namespace in facts.namespaces:
        if namespace.current:
            continue
        if namespace.error:
            found.append(
                Finding(
                    id="namespace_unreadable",
                    namespace=namespace.inode,
                    message=f"{namespace.describe()} could not be read: {namespace.error}",
                )
            )
            continue
        found.extend(_missing_key(namespace.values, namespace))
        if configured and all(namespace.values.get(key) == KERNEL_DEFAULTS[key] for key in KEYS):
            found.append(
                Finding(
                    id="namespace_defaults",
                    namespace=namespace.inode,
                    message=f"{namespace.describe()} is still at the kernel defaults 7200/75/9 "
                    f"(time/intvl/probes) while the host is configured ({host} at runtime here)",
                )
            )
        found.extend(_against_expected(namespace.values, policy, "at runtime", namespace))
        found.extend(_against_max(namespace.values, policy, "at runtime", namespace))
    return found


def _sort_key(finding: Finding) -> tuple:
    return (
        finding.namespace is not None,
        finding.namespace or 0,
        _ID_ORDER.get(finding.id, len(_ID_ORDER)),
        _KEY_ORDER.get(finding.key or "", -1),
        finding.file or "",
        finding.line or 0,
    )  # ties keep the order they were found in: runtime before boot


def findings(facts: AuditFacts, policy: Policy) -> list[Finding]:
    """Every finding for these facts, in a stable order (namespace, id, key, file, line)."""
    model = facts.model
    boot: Values = {key: boot_value(model, key) for key in KEYS}
    found = _missing_key(facts.runtime, errors=facts.runtime_errors)
    found += _drift(facts.runtime, model)
    found += _overridden(model) + _conflicts(model) + _unparsable(model) + _unreadable(model)
    found += _against_expected(facts.runtime, policy, "at runtime")
    found += _against_expected(boot, policy, "after boot", model=model)
    found += _against_max(facts.runtime, policy, "at runtime")
    found += _against_max(boot, policy, "after boot")
    found += _namespace_findings(facts, policy)
    return sorted(found, key=_sort_key)


def compliant(found: list[Finding], policy: Policy) -> bool | None:
    """None without a policy; else False when any finding in COMPLIANCE_IDS is present."""
    if not policy.active:
        return None
    return not any(finding.id in COMPLIANCE_IDS for finding in found)


def build_result(facts: AuditFacts, policy: Policy) -> dict[str, Any]:
    """The return values of tcp.keepalive.settings_info."""
    found = findings(facts, policy)
    model = facts.model
    return {
        "loader": {"name": facts.loader, "reason": facts.loader_reason},
        "settings": settings_report(facts.runtime, model),
        "detection_time": {
            "runtime": detection_time(*(facts.runtime.get(key) for key in KEYS)),
            "boot": detection_time(*(boot_value(model, key) for key in KEYS)),
        },
        "namespaces": [namespace.as_dict() for namespace in facts.namespaces],
        "hidden_processes": facts.hidden_processes,
        "findings": [finding.as_dict() for finding in found],
        "compliant": compliant(found, policy),
    }


# ------------------------------------------------------------------------------------- fact gathering


def read_runtime(root: str = "/") -> tuple[Values, dict[str, str]]:
    """Live values of the caller's namespace; a key that cannot be read is None, with the reason."""
    values: Values = {}
    errors: dict[str, str] = {}
    for key in KEYS:
        try:
            values[key] = _procsys.read_value(key, root)
        except _procsys.ProcSysError as exc:
            values[key], errors[key] = None, str(exc)
    return values, errors


def gather_namespaces(
    runtime: Values, mode: str, root: str = "/", timeout: float = _netns.DEFAULT_TIMEOUT
) -> tuple[list[NamespaceReport], int]:
    """The current namespace only, or every namespace on the host (each other one read in a forked child)."""
    if mode == "current":
        inode = _netns.current_namespace_inode(root)
        return [NamespaceReport(inode=inode, current=True, values=dict(runtime))], 0
    from ansible_collections.tcp.keepalive.plugins.module_utils._nsenter import (
        list_namespaces,
        read_namespace,
    )

    scan = list_namespaces(root)
    reports = []
    for namespace in scan.namespaces:
        report = NamespaceReport(
            inode=namespace.inode,
            current=namespace.current,
            values=dict(runtime),
            names=list(namespace.names),
            processes=list(namespace.processes),
        )
        if not namespace.current:
            read = read_namespace(namespace, root=root, timeout=timeout)
            report.values, report.error = dict(read.values), read.error
        reports.append(report)
    return reports, scan.hidden_processes


def gather_facts(root: str = "/", loader: str = "auto", namespaces: str = "current") -> AuditFacts:
    runtime, errors = read_runtime(root)
    loader_name, reason = _sysctl_conf.detect_loader(root, loader)
    model = _sysctl_conf.boot_model(root, loader_name)
    reports, hidden = gather_namespaces(runtime, namespaces, root)
    return AuditFacts(
        runtime=runtime,
        loader=loader_name,
        loader_reason=reason,
        model=model,
        namespaces=reports,
        hidden_processes=hidden,
        runtime_errors=errors,
    )


def audit(
    root: str = "/",
    expected: Any = None,
    max_detection_time: Any = None,
    loader: str = "auto",
    namespaces: str = "current",
) -> dict[str, Any]:
    """Everything tcp.keepalive.settings_info returns. Raises PolicyError for bad input only."""
    policy = parse_policy(expected, max_detection_time)
    if loader not in LOADERS:
        raise PolicyError(f"loader must be one of {', '.join(LOADERS)}, got {loader!r}")
    if namespaces not in NAMESPACE_MODES:
        raise PolicyError(f"namespaces must be one of {', '.join(NAMESPACE_MODES)}, got {namespaces!r}")
    return build_result(gather_facts(root, loader, namespaces), policy)
