"""The one password policy: signup, password change and password reset all call it.

Length alone let common passwords through (``letmein123``, ``Summer2024!``, the account's
own e-mail). zxcvbn estimates how many guesses an attacker with breach lists, keyboard
patterns, dates and l33t substitutions would need; the account's e-mail, its local part
and the display name are given to it as words an attacker knows, and a password that
simply contains one of them is refused outright.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable

from zxcvbn import zxcvbn

from shop_api.core.errors import Unprocessable

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn's 0-4 scale: 3 is "safely unguessable: moderate protection from offline attacks".
MIN_SCORE = 3
# Words shorter than this are left to zxcvbn alone: "Ana" must not forbid "banana".
MIN_CONTAINED_LENGTH = 4
# zxcvbn keeps the user inputs in a module-level dictionary while it scores, so two
# threads scoring at once could see each other's inputs.
_ZXCVBN_LOCK = threading.Lock()


def _folded(text: str) -> str:
    """Lower case, accents and punctuation removed: "Ana Pérez" and "ana.perez" meet."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[\W_]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def personal_words(email: str, display_names: Iterable[str]) -> list[str]:
    """What an attacker who knows the account would try first."""
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    words = [email, local, domain, *re.split(r"[._+-]+", local)]
    for name in display_names:
        words += [name.strip(), *name.split()]
    return [word for word in dict.fromkeys(words) if word]


def _contained(password: str, email: str, display_names: Iterable[str]) -> str | None:
    """Which personal detail the password contains, if any."""
    folded = _folded(password)
    local = email.strip().partition("@")[0]
    candidates = [("your e-mail address", email), ("your e-mail address", local)]
    candidates += [("your name", name) for name in display_names]
    for what, value in candidates:
        word = _folded(value)
        if len(word) >= MIN_CONTAINED_LENGTH and word in folded:
            return what
    return None


def _refuse(field: str, warning: str, suggestions: list[str]) -> Unprocessable:
    return Unprocessable(
        f"The password is too weak. {warning}",
        details=[
            {
                "loc": ["body", field],
                "msg": warning,
                "type": "weak_password",
                "suggestions": suggestions,
            }
        ],
    )


def check_password(
    password: str,
    *,
    email: str,
    display_names: Iterable[str] = (),
    field: str = "password",
) -> None:
    """Raise a 422 naming the weakness unless ``password`` is strong for this account.

    ``display_names``: the current name and, on a change, the new one.
    """
    names = [name for name in display_names if name]
    if len(password) < MIN_LENGTH:
        raise _refuse(field, f"Use at least {MIN_LENGTH} characters.", [])
    contained = _contained(password, email, names)
    if contained is not None:
        raise _refuse(
            field,
            f"It contains {contained}.",
            ["Avoid your name and e-mail address anywhere in the password."],
        )
    with _ZXCVBN_LOCK:
        result = zxcvbn(
            password[:MAX_LENGTH],
            user_inputs=personal_words(email, names),
            max_length=MAX_LENGTH,
        )
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        warning = feedback.get("warning") or "It follows a pattern that is quickly guessed."
        suggestions = list(feedback.get("suggestions") or [])
        suggestions = suggestions or ["Add another word or two. Uncommon words are better."]
        raise _refuse(field, warning, suggestions)
