"""The recommender behind the local Personalize: item-item co-occurrence blended with popularity.

Training builds a user x item matrix of event weights, keeps for every item its most similar items
(cosine similarity of their columns) and a recency-weighted popularity. A user's recommendations
are the similarity rows of their latest distinct items, weighted by recency, summed, normalised and
blended with popularity (the less history, the more popularity). Events recorded afterwards
(PutEvents) change a user's history, and so their next recommendations, at once; the similarities
themselves stay as trained, like a Personalize solution version between retrainings. Items added
since training (PutItems, or a first event) have no similarities: they rise by popularity and are
explored with the campaign's explorationWeight.

Scores follow Personalize's rules: user-personalization scores are a distribution over the whole
catalog (they sum to 1), personalized-ranking scores sum to 1 over the input items, and an item
absent from training scores 0 (https://docs.aws.amazon.com/personalize/latest/dg/
how-recommendation-scoring-works.html, https://docs.aws.amazon.com/personalize/latest/dg/
rankings.html). Items the user interacted with are not left out: filters do that.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from emulator.dataset import Dataset, Interaction
from emulator.filters import ItemFilter, ItemIndex, ItemPredicate

EVENT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"view": 1.0, "click": 1.0, "cart": 2.0, "addtocart": 2.0, "purchase": 4.0, "buy": 4.0}
)
DEFAULT_EVENT_WEIGHT = 1.0
NEIGHBOURS = 100  # similar items kept per item
RECENT_ITEMS = 20  # distinct items of a user's history that drive their recommendations
RECENCY_DECAY = 0.6  # weight of each older distinct item relative to the next newer one
HISTORY_PRIOR = 1.0  # popularity's share is HISTORY_PRIOR / (HISTORY_PRIOR + recent distinct items)
SIMILAR_POPULARITY = 0.05  # popularity's share in similar items, breaking ties and backfilling
POPULARITY_HALF_LIFE = 30 * 86_400  # seconds

_Floats = npt.NDArray[np.float64]
_EXCLUDED = -1.0
_SCAN_LIMIT = 500  # newest events scanned for a user's recent distinct items
_CANDIDATE_CACHE = 1_024  # filters' candidate sets kept as index arrays
_NO_METADATA: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ScoredItem:
    """One recommended or ranked item and its score."""

    item_id: str
    score: float | None


class _History:
    """A user's events in time order, with the model's index of each item (-1 when unknown)."""

    __slots__ = ("events", "items")

    def __init__(self) -> None:
        self.events: list[Interaction] = []
        self.items = array("i")

    def add(self, interaction: Interaction, item: int) -> None:
        events = self.events
        if events and interaction.timestamp < events[-1].timestamp:
            position = bisect.bisect_right(events, interaction.timestamp, key=_timestamp)
            events.insert(position, interaction)
            self.items.insert(position, item)
        else:
            events.append(interaction)
            self.items.append(item)

    def recent(self) -> list[int]:
        """The newest distinct known items, newest first."""
        items = self.items
        recent: list[int] = []
        for position in range(len(items) - 1, max(-1, len(items) - 1 - _SCAN_LIMIT), -1):
            item = items[position]
            if item >= 0 and item not in recent:
                recent.append(item)
                if len(recent) == RECENT_ITEMS:
                    break
        return recent


def _timestamp(interaction: Interaction) -> int:
    return interaction.timestamp


class Model:
    """A trained recommender answering user-personalization, SIMS, popularity and ranking calls."""

    def __init__(
        self,
        items: Mapping[str, Mapping[str, str]],
        neighbours: npt.NDArray[np.int32],
        similarities: npt.NDArray[np.float32],
        popularity: _Floats,
        reference_time: int,
        users: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Assemble a model from trained parts; `Model.train` is the usual way to get one."""
        self._items: dict[str, Mapping[str, str]] = dict(items)
        self._items_view = MappingProxyType(self._items)
        self._users: dict[str, Mapping[str, str]] = dict(users or {})
        self._ids = list(items)
        self._index = {item_id: index for index, item_id in enumerate(self._ids)}
        self._trained = len(self._ids)  # items from this index on were added after training
        self._neighbours = neighbours
        self._similarities = similarities
        self._popularity_counts = popularity
        self._popularity = _normalised(popularity)
        self._popular_order: list[int] | None = None
        self._reference_time = reference_time
        self._histories: dict[str, _History] = {}
        self.index = ItemIndex(self._items_view)
        self._candidates: dict[frozenset[str], npt.NDArray[np.intp]] = {}

    @classmethod
    def train(cls, dataset: Dataset) -> Model:
        """Train on a dataset: the similarities, the popularity and every user's history."""
        items: dict[str, Mapping[str, str]] = dict(dataset.items)
        for interaction in dataset.interactions:
            if interaction.item_id not in items:
                items[interaction.item_id] = MappingProxyType({})
        index = {item_id: position for position, item_id in enumerate(items)}
        users: dict[str, int] = {}
        # Loaded datasets are in time order already (so the sort is linear); hand-made ones may not.
        interactions = sorted(dataset.interactions, key=_timestamp)
        rows = np.fromiter(
            (users.setdefault(i.user_id, len(users)) for i in interactions),
            dtype=np.int32,
            count=len(interactions),
        )
        columns = np.fromiter(
            (index[i.item_id] for i in interactions), dtype=np.int32, count=len(interactions)
        )
        weights = np.fromiter(
            (_event_weight(i.event_type) for i in interactions),
            dtype=np.float64,
            count=len(interactions),
        )
        times = np.fromiter(
            (i.timestamp for i in interactions), dtype=np.int64, count=len(interactions)
        )
        reference_time = int(times.max()) if len(times) else 0

        neighbours, similarities = _neighbours(rows, columns, weights, len(users), len(items))
        recency = np.exp2((times - reference_time) / POPULARITY_HALF_LIFE)
        popularity = np.bincount(columns, weights=weights * recency, minlength=len(items)).astype(
            np.float64, copy=False
        )

        model = cls(items, neighbours, similarities, popularity, reference_time, dataset.users)
        histories = model._histories
        for interaction, column in zip(interactions, columns.tolist(), strict=True):
            history = histories.get(interaction.user_id)
            if history is None:
                history = histories[interaction.user_id] = _History()
            history.events.append(interaction)
            history.items.append(column)
        return model

    @property
    def items(self) -> Mapping[str, Mapping[str, str]]:
        """Every item the model knows, with its metadata columns ({} when it has none)."""
        return self._items_view

    def user(self, user_id: str) -> Mapping[str, str]:
        """The user's metadata columns ({} for a user without any)."""
        return self._users.get(user_id, _NO_METADATA)

    def is_trained_on(self, item_id: str) -> bool:
        """Whether the item was present in training (items added since were not)."""
        index = self._index.get(item_id)
        return index is not None and index < self._trained

    def put_item(self, item_id: str, metadata: Mapping[str, str]) -> None:
        """Add an item or replace its metadata (PutItems): filters and metadata see it at once."""
        old = self._items.get(item_id)
        if old is None:
            self._add_item(item_id, metadata)
        else:
            self._items[item_id] = MappingProxyType(dict(metadata))
        self.index.put(item_id, old or _NO_METADATA, metadata)

    def put_user(self, user_id: str, metadata: Mapping[str, str]) -> None:
        """Add a user or replace their metadata (PutUsers), as CurrentUser filters read it."""
        self._users[user_id] = MappingProxyType(dict(metadata))

    def _add_item(self, item_id: str, metadata: Mapping[str, str]) -> int:
        item = len(self._ids)
        self._items[item_id] = MappingProxyType(dict(metadata))
        self._ids.append(item_id)
        self._index[item_id] = item
        # No similarities: the padding points at the item itself, which every caller excludes.
        width = self._neighbours.shape[1]
        self._neighbours = np.vstack([self._neighbours, np.full((1, width), item, np.int32)])
        self._similarities = np.vstack([self._similarities, np.zeros((1, width), np.float32)])
        self._popularity_counts = np.append(self._popularity_counts, 0.0)
        self._popularity = _normalised(self._popularity_counts)
        self._popular_order = None
        return item

    def history(self, user_id: str) -> Sequence[Interaction]:
        """The user's interactions in time order, recorded events included; () when unknown."""
        history = self._histories.get(user_id)
        return () if history is None else history.events

    def record(self, interaction: Interaction) -> None:
        """Add an event (PutEvents) to the user's history and the item's popularity.

        An item the model does not know is added to the catalog, without metadata.
        """
        item = self._index.get(interaction.item_id)
        if item is None:
            item = self._add_item(interaction.item_id, _NO_METADATA)
            self.index.put(interaction.item_id, _NO_METADATA, _NO_METADATA)
        history = self._histories.get(interaction.user_id)
        if history is None:
            history = self._histories[interaction.user_id] = _History()
        history.add(interaction, item)
        if item >= 0:
            age = min(0, interaction.timestamp - self._reference_time)
            weight = _event_weight(interaction.event_type) * 2.0 ** (age / POPULARITY_HALF_LIFE)
            self._popularity_counts[item] += weight
            self._popularity = _normalised(self._popularity_counts)
            self._popular_order = None

    def recommend(
        self,
        user_id: str,
        num_results: int,
        accept: ItemPredicate | None = None,
        exploration_weight: float = 0.0,
    ) -> list[ScoredItem]:
        """Items for the user (user-personalization), scored as a distribution over the catalog.

        Items added since training are explored: each scores at least `exploration_weight` times
        the best item's score before the scores are normalised.
        """
        history = self._histories.get(user_id)
        scores = self._popularity.copy() if history is None else self._user_scores(history)
        if exploration_weight > 0 and self._trained < len(scores) and len(scores):
            new = scores[self._trained :]
            np.maximum(new, exploration_weight * float(scores.max()), out=new)
        total = float(scores.sum())
        return self._best(scores, num_results, accept, 1.0 / total if total > 0 else 1.0)

    def similar(
        self, item_id: str, num_results: int, accept: ItemPredicate | None = None
    ) -> list[ScoredItem]:
        """Items most often found with the item (SIMS), backfilled by popularity."""
        item = self._index.get(item_id)
        if item is None:
            return self.popular(num_results, accept)
        scores = self._popularity * SIMILAR_POPULARITY
        similarities = self._similarities[item]
        top = float(similarities[0])
        if top > 0:
            scores[self._neighbours[item]] += similarities.astype(np.float64) * (
                (1 - SIMILAR_POPULARITY) / top
            )
        scores[item] = _EXCLUDED
        return self._best(scores, num_results, accept)

    def popular(self, num_results: int, accept: ItemPredicate | None = None) -> list[ScoredItem]:
        """The most popular items, recent events counting more (popularity-count)."""
        if self._popular_order is None:
            self._popular_order = np.argsort(-self._popularity, kind="stable").tolist()
        return self._collect(self._popularity, iter(self._popular_order), num_results, accept)

    def rank(self, user_id: str, item_ids: Sequence[str]) -> list[ScoredItem]:
        """The items ordered for the user (personalized-ranking), scores summing to 1 over them.

        Items absent from training score 0 and come last, in input order.
        """
        history = self._histories.get(user_id)
        scores = self._popularity if history is None else self._user_scores(history)
        known: list[tuple[str, int]] = []
        unknown: list[str] = []
        taken: set[str] = set()
        for item_id in item_ids:
            if item_id in taken:
                continue
            taken.add(item_id)
            item = self._index.get(item_id)
            if item is None or item >= self._trained:
                unknown.append(item_id)
            else:
                known.append((item_id, item))
        values = scores[[item for _, item in known]]
        total = float(values.sum())
        shares = values / total if total > 0 else np.full(len(known), 1 / max(len(known), 1))
        listed = shares.tolist()
        order = sorted(range(len(known)), key=lambda position: -listed[position])
        ranked = [ScoredItem(known[position][0], listed[position]) for position in order]
        ranked.extend(ScoredItem(item_id, 0.0) for item_id in unknown)
        return ranked

    def _user_scores(self, history: _History) -> _Floats:
        """Scores in [0, 1] of every item for the user, seen items included."""
        recent = history.recent()
        if not recent:
            return self._popularity.copy()
        recency = RECENCY_DECAY ** np.arange(len(recent), dtype=np.float64)
        scores: _Floats = np.bincount(
            self._neighbours[recent].ravel(),
            weights=(self._similarities[recent] * recency[:, None]).ravel(),
            minlength=len(self._ids),
        ).astype(np.float64, copy=False)
        top = scores.max()
        if top > 0:
            scores /= top
        share = HISTORY_PRIOR / (HISTORY_PRIOR + len(recent))
        scores *= 1 - share
        scores += share * self._popularity
        return scores

    def _best(
        self,
        scores: _Floats,
        num_results: int,
        accept: ItemPredicate | None,
        scale: float = 1.0,
    ) -> list[ScoredItem]:
        if isinstance(accept, ItemFilter) and accept.candidates is not None:
            # Only the filter's candidates can be kept: order those alone.
            indices = self._candidate_indices(accept.candidates)
            order = indices[np.argsort(-scores[indices], kind="stable")]
            return self._collect(scores, iter(order.tolist()), num_results, accept, scale)
        count = len(scores)
        head = min(count, num_results if accept is None else max(4 * num_results, 64))
        if head <= 0:
            return []
        if head < count:
            part = np.argpartition(-scores, head - 1)[:head]
            part = part[np.argsort(-scores[part], kind="stable")]
            candidates: Iterator[int] = _chain_order(part, scores)
        else:
            candidates = iter(np.argsort(-scores, kind="stable").tolist())
        return self._collect(scores, candidates, num_results, accept, scale)

    def _candidate_indices(self, candidates: frozenset[str]) -> npt.NDArray[np.intp]:
        """The model's indices of a filter's candidate items, in index order (cached)."""
        indices = self._candidates.get(candidates)
        if indices is None:
            index = self._index
            found = [index[item_id] for item_id in candidates if item_id in index]
            indices = np.sort(np.array(found, dtype=np.intp))
            if len(self._candidates) >= _CANDIDATE_CACHE:
                self._candidates.clear()
            self._candidates[candidates] = indices
        return indices

    def _collect(
        self,
        scores: _Floats,
        candidates: Iterator[int],
        num_results: int,
        accept: ItemPredicate | None,
        scale: float = 1.0,
    ) -> list[ScoredItem]:
        """Walk candidates in score order, keeping accepted ones until there are enough."""
        chosen: list[ScoredItem] = []
        if num_results <= 0:
            return chosen
        ids = self._ids
        for item in candidates:
            # min(): float rounding may overshoot 1 by an ulp.
            score = min(float(scores[item]) * scale, 1.0)
            if score < 0:
                break
            item_id = ids[item]
            if accept is None or accept(item_id):
                chosen.append(ScoredItem(item_id, score))
                if len(chosen) == num_results:
                    break
        return chosen


def _chain_order(head: npt.NDArray[np.intp], scores: _Floats) -> Iterator[int]:
    """The head in order, then (only if the caller wants more) every other item in order."""
    yield from head.tolist()
    rest = np.ones(len(scores), dtype=bool)
    rest[head] = False
    others = np.flatnonzero(rest)
    yield from others[np.argsort(-scores[others], kind="stable")].tolist()


def _neighbours(
    rows: npt.NDArray[np.int32],
    columns: npt.NDArray[np.int32],
    weights: _Floats,
    user_count: int,
    item_count: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """For every item, its NEIGHBOURS most similar items (cosine) and their similarities."""
    width = min(NEIGHBOURS, max(item_count - 1, 1))
    neighbours = np.zeros((item_count, width), dtype=np.int32)
    similarities = np.zeros((item_count, width), dtype=np.float32)
    if item_count < 2 or user_count == 0:
        return neighbours, similarities
    matrix = sparse.csr_matrix(
        (weights, (rows, columns)), shape=(user_count, item_count), dtype=np.float64
    )
    matrix.sum_duplicates()
    # Repeated events count, with diminishing returns.
    matrix.data = np.log1p(matrix.data)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    matrix = matrix.multiply(1.0 / norms).tocsc()
    cooccurrence: Any = (matrix.T @ matrix).tocsr()
    chunk = max(1, (1 << 22) // item_count)
    for start in range(0, item_count, chunk):
        block = cooccurrence[start : start + chunk].toarray()
        block[np.arange(len(block)), np.arange(start, start + len(block))] = 0.0
        top = np.argpartition(-block, width - 1, axis=1)[:, :width]
        values = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        values = np.take_along_axis(values, order, axis=1)
        # Padding (no similarity) points at the item itself, which every caller excludes.
        own = np.arange(start, start + len(block))[:, None]
        neighbours[start : start + len(block)] = np.where(values > 0, top, own)
        similarities[start : start + len(block)] = values
    return neighbours, similarities


def _normalised(values: _Floats) -> _Floats:
    top = values.max() if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


def _event_weight(event_type: str) -> float:
    weight = EVENT_WEIGHTS.get(event_type)
    if weight is None:
        key = event_type.lower().replace("-", "").replace("_", "").replace(" ", "")
        weight = EVENT_WEIGHTS.get(key, DEFAULT_EVENT_WEIGHT)
    return weight
