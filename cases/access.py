"""Who sees which cases: the command centre and inspectors see all, a handler its department's,
everyone else none unless granted the ``city_cases`` layer (docs/domain.md §2.3)."""

from __future__ import annotations

from dataclasses import dataclass

from layers.principals import Principal

CASE_LAYER = "city_cases"
SEE_ALL_ROLES = frozenset({"inspector", "operator", "supervisor", "dispatcher", "leader", "admin"})
REPORT_ROLES = frozenset({"inspector", "operator", "supervisor", "dispatcher", "admin", "editor"})


@dataclass(frozen=True, slots=True)
class Scope:
    """The cases a caller sees: all, one department's (``department``), or none."""

    all: bool = False
    department: str | None = None

    @property
    def none(self) -> bool:
        """Sees no case at all."""
        return not self.all and self.department is None

    def sees(self, department: str | None) -> bool:
        """Whether a case handled by ``department`` is visible."""
        return self.all or (self.department is not None and department == self.department)


def case_scope(principal: Principal) -> Scope:
    """The caller's scope: roles first, then a grant on the case layer, then a handler's department."""
    if principal.roles & SEE_ALL_ROLES or principal.granted(CASE_LAYER):
        return Scope(all=True)
    if "handler" in principal.roles and principal.department:
        return Scope(department=principal.department)
    return Scope()


def may_report(principal: Principal) -> bool:
    """Whether the caller may file a report (inspectors, the command centre, editors and systems)."""
    return bool(principal.roles & REPORT_ROLES)
