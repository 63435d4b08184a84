"""Check that a number written in the book's prose is the number the page computes.

The book's chapters state results in sentences ("the estimate is 0.604"). Each such
sentence is paired with a cell hidden from the reader (tag ``remove-cell``) that calls
:func:`check` with the text exactly as written and the value computed in the page. If
the two disagree, :func:`check` raises, the cell fails and so does the build
(``_config.yml`` sets ``raise_on_error``). ``tests/test_book_numbers.py`` checks that
every text passed to :func:`check` really occurs in the page's prose.

Presentation only: nothing here computes a statistic.
"""

from __future__ import annotations

import math
import re

__all__ = ["StatedNumberError", "check", "glue"]

_NUMBER = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$")


class StatedNumberError(AssertionError):
    """A number written in the prose does not match the value computed in the page."""


def _parse(text: str) -> tuple[float, int | None, bool]:
    clean = text.strip().replace("\u2212", "-").replace("\u2009", "").replace(" ", "").replace(",", "")
    clean = clean.replace("%", "")
    m = _NUMBER.match(clean)
    if not m:
        raise ValueError(f"text={text!r} is not a number such as '0.727', '462', '-1130.3' or '1e-6'")
    decimals = len(m.group(2)) if m.group(2) is not None else 0
    return float(clean), decimals, m.group(3) is not None


def glue(name: str, value) -> None:
    """Store ``value`` for the prose (``{glue:text}`name:.3f```) without displaying it.

    The book's sentences that report a computed number take it from the cell this way, so
    the number the reader sees is the number the page computed. Outside a Jupyter Book build
    (for instance in JupyterLite, where myst-nb is not installed) it does nothing.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:  # pragma: no cover - JupyterLite / plain Jupyter without myst-nb
        return
    if hasattr(value, "item"):  # numpy scalars: glue a plain float/int, whose text myst-nb can format
        value = value.item()
    _glue(name, value, display=False)


def check(text: str, value, *, about: float | None = None, percent: bool = False) -> None:
    """Raise :class:`StatedNumberError` unless ``value`` is what ``text`` says.

    Parameters
    ----------
    text : str
        The number exactly as the prose writes it ("0.727", "462", "20 000", "1e-6").
    value : float or int
        The value computed in the page.
    about : float, optional
        For numbers the prose gives as approximate ("about 1e-6", "roughly 4"): accept any
        ``value`` within a factor ``about`` of the stated one (``about=2`` accepts half to
        twice). Without it, ``value`` rounded to the decimals written must equal ``text``
        (numbers in scientific notation: to the digits written).
    percent : bool, default False
        ``text`` is a percentage of ``value`` (``"27 %"`` for 0.27).

    Examples
    --------
    >>> check("0.727", 0.4 / 0.55)
    >>> check("1e-6", 1.3e-6, about=2)
    >>> check("0.73", 0.4 / 0.55 + 0.01)
    Traceback (most recent call last):
    ...
    mixlearn.teaching.stated.StatedNumberError: the prose says 0.73 but the page computes 0.737273
    """
    stated, decimals, scientific = _parse(text)
    v = float(value) * (100.0 if percent else 1.0)
    if not math.isfinite(v):
        raise StatedNumberError(f"the prose says {text} but the page computes {v}")
    if about is not None:
        if about <= 1:
            raise ValueError(f"about={about} must be a factor larger than 1, e.g. about=2")
        ok = stated != 0 and v / stated > 0 and 1 / about <= v / stated <= about
    elif scientific:
        mantissa = text.lower().replace("\u2212", "-").split("e")[0]
        digits = len(mantissa.split(".")[1]) if "." in mantissa else 0
        ok = f"{v:.{digits}e}" == f"{stated:.{digits}e}"
    else:
        ok = f"{v:.{decimals}f}" == f"{stated:.{decimals}f}" or (
            f"{v:.{decimals}f}" == f"{-0.0:.{decimals}f}" and stated == 0)
    if not ok:
        raise StatedNumberError(f"the prose says {text} but the page computes {v:.6g}"
                                + (f" (accepted within a factor {about})" if about else ""))
