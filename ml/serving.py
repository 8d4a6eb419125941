"""Serving-side reader of recommender artifacts (format v1, see ``ml/README.md``).

The shop imports this module only. A version folder is loaded and checked in full before it
is served: a missing file, a wrong shape or an index out of range refuses the folder, and
whatever was serving keeps serving. ``ModelStore`` follows the ``LATEST`` and
``CHALLENGER`` pointers: it looks at them at most once per ``check_seconds`` (a ``stat``),
loads a new version in a background thread, and then swaps one immutable ``Served``
reference, so a request sees either the old models or the new ones, never a mix and never
a wait.

Erasure (``forget_users``) removes an account's key from every version folder in place:
its entry in the id maps becomes ``null`` (rows keep their places, so the arrays stay
aligned but nothing leads back to the person), and a store serving that version reloads
it, because it watches the served version's ``id_maps.json`` as well as the pointers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
import weakref
import zipfile
from collections.abc import Collection, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
LATEST = "LATEST"
CHALLENGER = "CHALLENGER"
POINTERS = (LATEST, CHALLENGER)
PADDING = -1


class ArtifactError(ValueError):
    """A version folder that is missing, incomplete or inconsistent."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One recommended item id with its score (a lift for bought-together, rank-based for
    popularity: higher is better)."""

    item_id: str
    score: float


@dataclass(frozen=True, slots=True)
class ItemInfo:
    category_id: str | None
    seller_id: str | None


@dataclass(frozen=True, eq=False)
class TopK:
    """A ``[rows, C]`` table of item row indices (best first, ``-1`` padding) and scores."""

    items: np.ndarray
    scores: np.ndarray
    # Rows of fewer than C candidates, found once: a reduction per request costs more
    # than reading the row.
    padded: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "padded", (self.items < 0).any(axis=1))

    def row(self, row: int, item_ids: np.ndarray) -> Ranked:
        indices, scores = self.items[row], self.scores[row]
        if self.padded[row]:
            kept = indices >= 0
            indices, scores = indices[kept], scores[kept]
        return Ranked(indices, scores, item_ids)


class Ranked(Sequence[Candidate]):
    """One row of a ``TopK`` as candidates, made as they are read: a request usually reads
    the first few of a row of hundreds. The row keeps the table's item row indices and
    looks each id up as it is read: taking all of them at once touched hundreds of
    scattered id strings per request, the most of what a lookup cost."""

    __slots__ = ("_item_ids", "_rows", "_scores")

    def __init__(self, rows: np.ndarray, scores: np.ndarray, item_ids: np.ndarray) -> None:
        self._rows = rows  # indices into item_ids, none negative
        self._scores = scores
        self._item_ids = item_ids

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> Candidate: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Candidate]: ...
    def __getitem__(self, index: int | slice) -> Candidate | Sequence[Candidate]:
        if isinstance(index, slice):
            return Ranked(self._rows[index], self._scores[index], self._item_ids)
        return Candidate(self._item_ids[self._rows[index]], float(self._scores[index]))

    def __iter__(self) -> Iterator[Candidate]:
        ids, rows, scores = self._item_ids, self._rows, self._scores
        for position in range(len(rows)):
            yield Candidate(ids[rows[position]], float(scores[position]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class RecommenderModel:
    """One loaded version folder; read-only once built."""

    version: str
    path: Path
    manifest: Mapping[str, Any]
    user_rows: Mapping[str, int]
    item_ids: np.ndarray  # object array of listing ids, in row order
    item_rows: Mapping[str, int]
    for_users: TopK
    similar: TopK
    bought_together: TopK
    popular_global: tuple[Candidate, ...]
    popular_by_category: Mapping[str, tuple[Candidate, ...]]
    items: Mapping[str, ItemInfo]

    def knows_user(self, user_key: str) -> bool:
        return user_key in self.user_rows

    def knows_item(self, item_id: str) -> bool:
        return item_id in self.item_rows

    def for_user(self, user_key: str) -> Sequence[Candidate] | None:
        """The user's precomputed candidates, best first (their train positives already
        excluded); None for a user the model has not seen."""
        row = self.user_rows.get(user_key)
        return None if row is None else self.for_users.row(row, self.item_ids)

    def similar_to(self, item_id: str) -> Sequence[Candidate] | None:
        row = self.item_rows.get(item_id)
        return None if row is None else self.similar.row(row, self.item_ids)

    def bought_with(self, item_id: str) -> Sequence[Candidate] | None:
        row = self.item_rows.get(item_id)
        return None if row is None else self.bought_together.row(row, self.item_ids)

    def popular(self, category_id: str | None = None) -> Sequence[Candidate]:
        """Most popular first, globally or within one category (empty when unknown); the
        score is the reverse rank."""
        if category_id is None:
            return self.popular_global
        return self.popular_by_category.get(category_id, ())


@dataclass(frozen=True)
class Served:
    """What serves right now: the champion (``LATEST``) and the optional challenger."""

    champion: RecommenderModel | None = None
    challenger: RecommenderModel | None = None


def ranked(item_ids: Sequence[str]) -> tuple[Candidate, ...]:
    """Candidates for a list ranked best first, scored by reverse rank."""
    count = len(item_ids)
    return tuple(Candidate(item_id, float(count - rank)) for rank, item_id in enumerate(item_ids))


def _read_json(folder: Path, name: str) -> Any:
    try:
        return json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{name}: {exc}") from exc


def _read_topk(folder: Path, name: str, score_key: str, rows: int, n_items: int) -> TopK:
    try:
        with np.load(folder / name, allow_pickle=False) as archive:
            items = np.asarray(archive["items"], dtype=np.int32)
            scores = np.asarray(archive[score_key], dtype=np.float32)
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"{name}: {exc}") from exc
    if items.ndim != 2 or items.shape[0] != rows or scores.shape != items.shape:
        raise ArtifactError(
            f"{name}: items {items.shape} and {score_key} {scores.shape} for {rows} rows"
        )
    if items.size and (items.min() < PADDING or items.max() >= n_items):
        raise ArtifactError(f"{name}: item index out of range 0..{n_items - 1}")
    items.setflags(write=False)
    scores.setflags(write=False)
    return TopK(items, scores)


def _id_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list):
        raise ArtifactError(f"{what}: not a list")
    return [str(item) for item in value]


def _user_keys(value: Any) -> list[str | None]:
    """The id map's user keys; ``null`` marks an erased user's row."""
    if not isinstance(value, list):
        raise ArtifactError("id_maps.users: not a list")
    return [None if key is None else str(key) for key in value]


def load_version(folder: Path) -> RecommenderModel:
    """Load and check one version folder; ArtifactError if anything is off."""
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: no such version folder")
    manifest = _read_json(folder, "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"manifest.json: format is not {FORMAT}")
    version = str(manifest.get("version") or folder.name)
    id_maps = _read_json(folder, "id_maps.json")
    if not isinstance(id_maps, dict):
        raise ArtifactError("id_maps.json: not an object")
    users = _user_keys(id_maps.get("users"))
    item_list = _id_list(id_maps.get("items"), "id_maps.items")
    item_ids = np.array(item_list, dtype=object)
    item_ids.setflags(write=False)
    popularity = _read_json(folder, "popularity.json")
    items_json = _read_json(folder, "items.json")
    if not isinstance(popularity, dict) or not isinstance(items_json, dict):
        raise ArtifactError("popularity.json / items.json: not objects")
    by_category = popularity.get("by_category") or {}
    if not isinstance(by_category, dict):
        raise ArtifactError("popularity.by_category: not an object")
    n_items = len(item_list)
    return RecommenderModel(
        version=version,
        path=folder,
        manifest=manifest,
        user_rows={user: row for row, user in enumerate(users) if user is not None},
        item_ids=item_ids,
        item_rows={item: row for row, item in enumerate(item_list)},
        for_users=_read_topk(folder, "recommendations.npz", "scores", len(users), n_items),
        similar=_read_topk(folder, "similar.npz", "scores", n_items, n_items),
        bought_together=_read_topk(folder, "bought_together.npz", "lift", n_items, n_items),
        popular_global=ranked(_id_list(popularity.get("global", []), "popularity.global")),
        popular_by_category={
            str(category): ranked(_id_list(ids, f"popularity.by_category.{category}"))
            for category, ids in by_category.items()
        },
        items={
            str(item_id): ItemInfo(
                category_id=None if info.get("category_id") is None else str(info["category_id"]),
                seller_id=None if info.get("seller_id") is None else str(info["seller_id"]),
            )
            for item_id, info in items_json.items()
            if isinstance(info, dict)
        },
    )


@dataclass
class _Pointer:
    """What one pointer file said when last read, and the model it named."""

    stamp: tuple[int, int, int] | None = None  # (mtime_ns, size, inode); None: absent
    version: str | None = None
    maps_stamp: tuple[int, int, int] | None = None  # of the version's id_maps.json
    model: RecommenderModel | None = None
    refused: set[str] = field(default_factory=set)  # versions that failed to load


class ModelStore:
    """The models the shop serves, following ``LATEST`` and ``CHALLENGER`` under ``root``.

    ``served()`` is what requests call: it returns the current ``Served`` at once, and at
    most every ``check_seconds`` stats the pointers; a change is loaded off the request
    path (``background=True``) or inline (``refresh()``, for tests and scripts). A pointer
    naming a folder that does not load is logged and ignored (the previous model keeps
    serving, and that version is not retried until the pointer changes); a removed
    pointer stops that arm (no ``LATEST``: the shop falls back to popularity).
    """

    def __init__(self, root: Path, *, check_seconds: float = 1.0, background: bool = True):
        self.root = root
        self.check_seconds = check_seconds
        self.background = background
        self._served = Served()
        self._pointers = {name: _Pointer() for name in POINTERS}
        self._next_check = 0.0
        self._lock = threading.Lock()  # one refresh at a time
        self._loading = False
        _LIVE.add(self)

    def served(self) -> Served:
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self.check_seconds
            if self.background:
                self._refresh_in_background()
            else:
                self.refresh()
        return self._served

    def refresh(self) -> Served:
        """Read the pointers now and load what changed; returns what serves after."""
        with self._lock:
            changed = False
            for name in POINTERS:
                changed |= self._follow(name, self._pointers[name])
            if changed:
                self._served = Served(
                    champion=self._pointers[LATEST].model,
                    challenger=self._pointers[CHALLENGER].model,
                )
            return self._served

    def _refresh_in_background(self) -> None:
        if self._loading or not self._pointers_moved():
            return
        self._loading = True

        def run() -> None:
            try:
                self.refresh()
            except Exception:  # never let a bad artifact take the loader down
                log.exception("recommender_reload_failed")
            finally:
                self._loading = False

        threading.Thread(target=run, name="recommender-reload", daemon=True).start()

    def _pointers_moved(self) -> bool:
        return any(
            _stamp(self.root / name) != pointer.stamp or self._maps_moved(pointer)
            for name, pointer in self._pointers.items()
        )

    def _maps_moved(self, pointer: _Pointer) -> bool:
        """Whether the served version's id maps were rewritten (an erasure)."""
        return pointer.model is not None and _stamp(_maps(pointer.model.path)) != pointer.maps_stamp

    def _follow(self, name: str, pointer: _Pointer) -> bool:
        """Bring one pointer up to date; True when the model it serves changed."""
        path = self.root / name
        stamp = _stamp(path)
        rewritten = self._maps_moved(pointer)
        if stamp == pointer.stamp and not rewritten:
            return False
        pointer.stamp = stamp
        version = _read_pointer(path) if stamp is not None else None
        if version == pointer.version and not rewritten:
            return False
        if version is None:
            had = pointer.model is not None
            pointer.version, pointer.model = None, None
            if had:
                log.warning("recommender_pointer_removed %s", name)
            return had
        if version in pointer.refused:
            return False
        try:
            folder = self._version_folder(version)
            maps_stamp = _stamp(_maps(folder))
            model = load_version(folder)
        except ArtifactError as exc:
            pointer.refused.add(version)
            log.error("recommender_version_refused %s %s: %s", name, version, exc)
            return False
        pointer.version, pointer.model, pointer.maps_stamp = version, model, maps_stamp
        pointer.refused.clear()
        log.info("recommender_version_loaded %s %s", name, version)
        return True

    def _version_folder(self, version: str) -> Path:
        folder = (self.root / version).resolve()
        if folder.parent != self.root.resolve() or version.startswith("."):
            raise ArtifactError(f"{version!r} is not a version folder name")
        return folder


_LIVE: weakref.WeakSet[ModelStore] = weakref.WeakSet()


def live_roots() -> list[Path]:
    """The artifact roots the stores of this process serve from."""
    return sorted({store.root for store in list(_LIVE)})


def _maps(folder: Path) -> Path:
    return folder / "id_maps.json"


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _read_pointer(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text.splitlines()[0].strip() if text else None


def write_pointer(root: Path, name: str, version: str) -> None:
    """Point ``LATEST``/``CHALLENGER`` at a version, atomically (temp file + replace)."""
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    temp.write_text(version + "\n", encoding="utf-8")
    os.replace(temp, root / name)


def forget_users(root: Path, user_keys: Collection[str]) -> dict[str, int]:
    """Erase ``user_keys`` from every version folder under ``root``: their entries in
    ``id_maps.json`` (``users``) and ``features.json`` (``user_features``, whose first
    tokens are the user ids) become ``null``. Each file is rewritten atomically, under a
    lock so that concurrent erasures do not undo each other; returns the counts."""
    keys = set(user_keys)
    counts = {"versions": 0, "entries_erased": 0}
    if not keys or not root.is_dir():
        return counts
    with _erasure_lock(root):
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not (folder / "manifest.json").is_file():
                continue
            erased = _null_keys(_maps(folder), "users", keys)
            erased += _null_keys(folder / "features.json", "user_features", keys)
            counts["versions"] += bool(erased)
            counts["entries_erased"] += erased
    return counts


@contextlib.contextmanager
def _erasure_lock(root: Path) -> Iterator[None]:
    with (root / ".erasure.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _null_keys(path: Path, field_name: str, keys: set[str]) -> int:
    """Set the entries of ``keys`` in the list ``field_name`` of a JSON file to null."""
    if not path.is_file():
        return 0
    content = json.loads(path.read_text(encoding="utf-8"))
    entries = content.get(field_name) if isinstance(content, dict) else None
    if not isinstance(entries, list):
        return 0
    hits = [row for row, key in enumerate(entries) if key is not None and str(key) in keys]
    if not hits:
        return 0
    for row in hits:
        entries[row] = None
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    temp.write_text(json.dumps(content, indent=1), encoding="utf-8")
    os.replace(temp, path)
    return len(hits)


def pick(
    candidates: Iterable[Candidate],
    k: int,
    *,
    sellers: Mapping[str, str],
    excluded: Container[str] = frozenset(),
    max_per_seller: int | None = None,
    categories: Mapping[str, str | None] | None = None,
    max_per_category: int | None = None,
    per_seller: dict[str, int] | None = None,
    per_category: dict[str, int] | None = None,
    seen: set[str] | None = None,
) -> list[Candidate]:
    """The first ``k`` candidates that can be shown, in order: the one re-ranking step of
    the shop's lists and of anything training ranks for display.

    ``sellers`` maps each item that is available right now to its seller (what is not in
    it is sold out, paused or gone); ``excluded`` items (already bought, the page's own
    listing) are skipped, each item appears once, each seller at most ``max_per_seller``
    times and, for diversity, each category (``categories``: item id to category) at most
    ``max_per_category`` times. A list picked in parts passes the same ``per_seller``,
    ``per_category`` and ``seen`` to each part, so the caps and the uniqueness hold
    across them.

    Examples
    --------
    >>> found = pick(ranked(["a", "b", "c"]), 2, sellers={"a": "s1", "b": "s1", "c": "s2"},
    ...              max_per_seller=1)
    >>> [candidate.item_id for candidate in found]
    ['a', 'c']
    """
    per_seller = {} if per_seller is None else per_seller
    per_category = {} if per_category is None else per_category
    seen = set() if seen is None else seen
    out: list[Candidate] = []
    for candidate in candidates:
        item_id = candidate.item_id
        seller = sellers.get(item_id)
        if seller is None or item_id in seen or item_id in excluded:
            continue
        category = categories.get(item_id) if categories is not None else None
        if _full(per_seller, seller, max_per_seller) or _full(
            per_category, category, max_per_category
        ):
            continue
        seen.add(item_id)
        per_seller[seller] = per_seller.get(seller, 0) + 1
        if category is not None:
            per_category[category] = per_category.get(category, 0) + 1
        out.append(candidate)
        if len(out) >= k:
            break
    return out


def _full(counts: Mapping[str, int], key: str | None, limit: int | None) -> bool:
    return limit is not None and key is not None and counts.get(key, 0) >= limit
