"""Cloud Run's sizing rules, in one place for the stack config and the components.

The config model refuses a size Cloud Run would refuse before anything is declared
(`check_cpu_memory`); the components turn the same sizes into container limits. Memory is
parsed by `memory_mib` alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from .errors import ConfigConflict

MEMORY = re.compile(r"^([0-9]+)(Mi|Gi)$")
# Cloud Run's memory range per vCPU count (MiB), second-generation environment.
MEMORY_RANGE_MIB: dict[str, tuple[int, int]] = {
    "1": (512, 4 * 1024),
    "2": (512, 8 * 1024),
    "4": (2 * 1024, 16 * 1024),
    "6": (4 * 1024, 24 * 1024),
    "8": (4 * 1024, 32 * 1024),
}


# What the app's own container keeps of its instance's vCPUs, at least, after its sidecars'.
MIN_APP_MILLICORES = 500
# Cloud Run's memory ceiling below one vCPU (MiB): 512Mi below 0.5 vCPU, 1Gi below 1 vCPU. The
# docs state it for an instance; it is applied to each container too, to be safe.
FRACTIONAL_CPU_MEMORY_CEILING_MIB = ((500, 512), (1000, 1024))


def fractional_cpu_memory_ceiling_mib(millicores: int) -> int | None:
    """The most memory Cloud Run gives `millicores` below one vCPU; None from one vCPU up."""
    for below, ceiling in FRACTIONAL_CPU_MEMORY_CEILING_MIB:
        if millicores < below:
            return ceiling
    return None


def check_cpu_memory(section: str, cpu: str, memory: str, sidecars: Sequence[tuple[int, int]] = ()) -> int:
    """Refuse an instance Cloud Run refuses, naming the keys; return the app container's millicores.

    `cpu` is the instance's total (`<section>.cpu`, sidecars included), `memory` the app
    container's (`<section>.memory`), `sidecars` the (millicores, MiB) of each sidecar beside it:
    the app gets the total minus the sidecars' shares, and the instance's memory (the app's plus
    the sidecars') must fit Cloud Run's range for the total."""
    # ConfigConflict (a ValueError) names the keys, so the config loader prints each one's fix.
    cpu_key, memory_key = f"{section}.cpu", f"{section}.memory"
    if cpu not in MEMORY_RANGE_MIB:
        raise ConfigConflict(
            f"{section}.cpu {cpu!r}: an instance takes {', '.join(MEMORY_RANGE_MIB)} vCPUs in all, sidecars included; "
            f"set {section}.cpu to one of them",
            cpu_key,
        )
    sidecar_millicores = sum(millicores for millicores, _ in sidecars)
    sidecar_mib = sum(mib for _, mib in sidecars)
    app_millicores = int(cpu) * 1000 - sidecar_millicores
    if app_millicores < MIN_APP_MILLICORES:
        enough = [total for total in MEMORY_RANGE_MIB if int(total) * 1000 - sidecar_millicores >= MIN_APP_MILLICORES]
        fix = f"set {section}.cpu to {enough[0]}" if enough else "run fewer or smaller sidecars"
        raise ConfigConflict(
            f"{section}.cpu {cpu} is the instance's total: its sidecars take {sidecar_millicores}m, leaving the app "
            f"{app_millicores}m, below {MIN_APP_MILLICORES}m; {fix}",
            cpu_key,
        )
    app_mib = memory_mib(memory)
    low, high = MEMORY_RANGE_MIB[cpu]
    if not low <= app_mib + sidecar_mib <= high:
        plus = f" plus its sidecars' {sidecar_mib}Mi" if sidecars else ""
        raise ConfigConflict(
            f"{section}.memory {memory}{plus} with {section}.cpu {cpu}: Cloud Run takes {low}Mi to {high // 1024}Gi "
            f"for {cpu} vCPU; change one of the two",
            cpu_key,
            memory_key,
        )
    for below, ceiling in FRACTIONAL_CPU_MEMORY_CEILING_MIB:
        if app_millicores < below and app_mib > ceiling:
            raise ConfigConflict(
                f"{section}.memory {memory}: the app keeps {app_millicores}m of {section}.cpu {cpu} "
                f"after its sidecars, and Cloud Run gives a container below {below / 1000:g} vCPU at most {ceiling}Mi; "
                f"lower {section}.memory or raise {section}.cpu",
                cpu_key,
                memory_key,
            )
    return app_millicores


def memory_mib(memory: str) -> int:
    """`256Mi` -> 256, `1Gi` -> 1024; a ValueError for anything else."""
    match = MEMORY.fullmatch(memory)
    if match is None:
        raise ValueError(f"memory {memory!r} is not like '512Mi' or '2Gi'")
    return int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


# A sidecar's share of the instance: millicores below one vCPU (`500m`) and a memory limit.
SIDECAR_CPU = re.compile(r"^([1-9][0-9]{1,2})m$")
SIDECAR_MAX_MEMORY_MIB = 1024


class ContainerSize(Protocol):
    """What sizing reads of a sidecar (`components.cloud_run.Sidecar`)."""

    @property
    def cpu(self) -> str: ...

    @property
    def memory(self) -> str: ...


def sidecar_limits(cpu: str, memory: str) -> dict[str, str]:
    """A sidecar's limits: a fraction of a vCPU and at most 1Gi, so that it stays small beside
    the workload it serves; below 500m, at most 512Mi (Cloud Run's rule below 0.5 vCPU)."""
    if not SIDECAR_CPU.fullmatch(cpu) or int(cpu[:-1]) >= 1000:
        raise ValueError(f"sidecar cpu {cpu!r}: give millicores below one vCPU, like '500m'")
    if MEMORY.fullmatch(memory) is None:
        raise ValueError(f"memory {memory!r} is not like '256Mi'")
    mib = memory_mib(memory)
    if not 64 <= mib <= SIDECAR_MAX_MEMORY_MIB:
        raise ValueError(f"sidecar memory {memory}: give 64Mi to {SIDECAR_MAX_MEMORY_MIB}Mi")
    ceiling = fractional_cpu_memory_ceiling_mib(millicores(cpu))
    if ceiling is not None and mib > ceiling:
        raise ValueError(
            f"sidecar memory {memory} with cpu {cpu}: Cloud Run gives {cpu} at most {ceiling}Mi; "
            "give it more cpu or less memory"
        )
    return {"cpu": cpu, "memory": memory}


def millicores(cpu: str) -> int:
    """`250m` -> 250, `2` -> 2000."""
    return int(cpu[:-1]) if cpu.endswith("m") else int(cpu) * 1000


def cpu_quantity(amount: int) -> str:
    """2000 (millicores) -> `2`, 1500 -> `1500m`: whole vCPUs as Cloud Run writes them, fractions in millicores."""
    return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"


def instance_limits(section: str, cpu: str, memory: str, sidecars: Sequence[ContainerSize]) -> dict[str, str]:
    """The limits of a workload's own container when its instance has `cpu` vCPUs in all: the
    total minus its sidecars' shares, and `memory`. Cloud Run takes 1, 2, 4, 6 or 8 vCPUs per
    instance, whatever its containers' fractions add up to. Refused, naming `<section>.cpu` and
    `<section>.memory`, when the total is not one of those, leaves the app under 500m, or the
    memory does not fit (`check_cpu_memory`)."""
    if MEMORY.fullmatch(memory) is None:
        raise ValueError(f"{section}.memory {memory!r} is not like '512Mi' or '2Gi'")
    shares = [(millicores(sidecar.cpu), memory_mib(sidecar.memory)) for sidecar in sidecars]
    return {"cpu": cpu_quantity(check_cpu_memory(section, cpu, memory, shares)), "memory": memory}


def resource_limits(cpu: str, memory: str) -> dict[str, str]:
    """CPU and memory limits, refused when Cloud Run would refuse them (gen2: 512Mi at least;
    4 vCPUs need 2Gi, 6 or more need 4Gi; above 4Gi needs 2 vCPUs, 8Gi 4, 16Gi 6, 24Gi 8)."""
    if cpu not in MEMORY_RANGE_MIB:
        raise ValueError(f"cpu {cpu!r}: Cloud Run takes {', '.join(MEMORY_RANGE_MIB)} vCPUs")
    mib = memory_mib(memory)
    low, high = MEMORY_RANGE_MIB[cpu]
    if not low <= mib <= high:
        least = f"{low // 1024}Gi" if low % 1024 == 0 else f"{low}Mi"
        raise ValueError(f"memory {memory} with {cpu} vCPU: Cloud Run takes {least} to {high // 1024}Gi for {cpu} vCPU")
    return {"cpu": cpu, "memory": memory}
