"""The :class:`CodeList` type shared by every code list module."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spatial.errors import InvalidCode


@dataclass(frozen=True, slots=True)
class CodeList:
    """A closed list of codes with Chinese (and optionally English) labels.

    Attributes:
        name: Dotted name layer schemas use to refer to the list.
        title: Human title, citing the standard.
        labels_zh: code → Chinese label.
        labels_en: code → English label, where known.
        source: Standard and clause the list comes from, with its confidence tag.
    """

    name: str
    title: str
    labels_zh: Mapping[str, str]
    labels_en: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code in self.labels_zh

    def codes(self) -> list[str]:
        return list(self.labels_zh)

    def label(self, code: str, lang: str = "zh") -> str:
        if lang == "en" and code in self.labels_en:
            return self.labels_en[code]
        return self.labels_zh[code]

    def by_label(self) -> dict[str, str]:
        """Chinese label → code, for mapping survey values such as 铸铁 → ZT."""
        return {label: code for code, label in self.labels_zh.items()}

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "codes": [
                {"code": c, "zh": z, **({"en": self.labels_en[c]} if c in self.labels_en else {})}
                for c, z in self.labels_zh.items()
            ],
        }


def validate_code(codelist: CodeList, value: str) -> None:
    """Raise :class:`InvalidCode` unless ``value`` is in ``codelist``."""
    if value not in codelist:
        shown = ", ".join(codelist.codes()[:12])
        more = " …" if len(codelist.labels_zh) > 12 else ""
        raise InvalidCode(f"{value!r} is not in {codelist.name} ({shown}{more})")
