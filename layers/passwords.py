"""The password policy for people's sign-in accounts (``onemap user create`` / ``password``).

Length matters most (NIST SP 800-63B §5.1.1.2): at least ``min_length`` characters, no composition
rules, but never the user's own name and never a password from the list of common ones shipped in
``layers/common_passwords.txt`` — also when only digits or symbols were added around it
(``Password2024!`` is ``password`` to a cracker's rule set).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from layers.errors import LayerError

_PADDING = string.digits + string.punctuation + " "


class WeakPassword(LayerError):
    """400: the password breaks the policy (the message says which rule)."""

    status = 400
    type_slug = "weak-password"
    title = "The password is too weak"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    text = files("layers").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """What a new password must satisfy; ``min_length`` counts characters, not bytes."""

    min_length: int = 12
    max_length: int = 256


def password_problem(password: str, *, name: str, policy: PasswordPolicy | None = None) -> str | None:
    """Why ``password`` is not acceptable for the user ``name``, or None when it is."""
    policy = policy or PasswordPolicy()
    if len(password) < policy.min_length:
        return f"a password needs at least {policy.min_length} characters"
    if len(password) > policy.max_length:
        return f"a password may have at most {policy.max_length} characters"
    lowered = password.lower()
    core = lowered.strip(_PADDING)
    user = name.lower()
    for part in {user, *user.replace("_", ".").replace("-", ".").split(".")}:
        if len(part) >= 3 and part in lowered:
            return "a password must not contain the user name"
    if len(set(lowered)) <= 2:
        return "a password must not repeat one or two characters"
    common = common_passwords()
    if lowered in common or core in common or lowered.replace(" ", "") in common:
        return "that password is on the list of common passwords"
    return None


def check_password_policy(password: str, *, name: str, policy: PasswordPolicy | None = None) -> None:
    """Raise :class:`WeakPassword` when ``password`` breaks the policy for user ``name``."""
    problem = password_problem(password, name=name, policy=policy)
    if problem is not None:
        raise WeakPassword(problem)
