"""Complaint theme codes and their Chinese labels.

The codes are stable identifiers stored with cases and used by the office dashboard; the labels
are what users and staff see.
"""

from __future__ import annotations

THEMES: dict[str, str] = {
    "card": "优待证申领/制发/补办/信息",
    "transit": "交通出行优待",
    "culture_tourism": "景区/公园/博物馆等优待",
    "education": "子女教育优待",
    "pension_subsidy": "抚恤金/补助/优待金发放",
    "medical": "就医优待",
    "employment": "就业创业/安置",
    "housing": "住房优待",
    "service_conduct": "服务站/工作人员作风与效率",
    "other": "其他",
}


def theme_label(code: str, default: str | None = None) -> str:
    """Return the Chinese label of theme ``code``.

    An unknown code gets ``default``, or the label of ``other`` when no default is given
    (analytics pass the code itself, so that an unexpected stored value stays visible).
    """
    return THEMES.get(code, THEMES["other"] if default is None else default)
