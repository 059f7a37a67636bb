"""Random sequences of collection operations against a model: hypothesis's stateful
testing drives CreateCollection, Upsert, Delete (by ids and by filter) and
DeleteCollection over a few small collections of own vectors (cosine, dot and L2), and
after every step the server must agree with a plain dict of what it was told: Get, Count
(with and without a filter), a whole Scroll, ListCollections, and an exact Search, whose
hits must be every document ranked as numpy ranks them. A refused request (repeated ids,
an unknown collection) must leave everything as it was.

Runs LATENT_FUZZ_EXAMPLES // 4 sequences of up to 40 steps (default 25 sequences)
on the fuzz server, with collection names of its own (sm-*), deleted after each
sequence."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from latent.v1 import latent_pb2 as pb
from latent.v1 import latent_pb2_grpc as pb_grpc

SEQUENCES = max(1, int(os.environ.get("LATENT_FUZZ_EXAMPLES", "100")) // 4)
DIM = 4
NAMES = ("sm-0", "sm-1", "sm-2")
IDS = tuple(f"id{i}" for i in range(8))
METRICS = {pb.COSINE: "cosine", pb.DOT: "dot", pb.L2: "l2"}
TIMEOUT_S = 30.0
Code = grpc.StatusCode


@dataclass
class Model:
    metric: int
    docs: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)  # vector, n


def vectors() -> st.SearchStrategy[np.ndarray]:
    # From a seed rather than drawn float by float: nothing is filtered out, no zeros.
    return st.integers(0, 2**32 - 1).map(
        lambda seed: (
            np.random.default_rng(seed).uniform(0.1, 10, DIM).astype(np.float32)
            * np.sign(np.random.default_rng(seed + 1).uniform(-1, 1, DIM)).astype(np.float32)
        )
    )


def documents() -> st.SearchStrategy[tuple[str, np.ndarray, int]]:
    return st.tuples(st.sampled_from(IDS), vectors(), st.integers(0, 9))


@st.composite
def document_lists(draw: st.DrawFn) -> list[tuple[str, np.ndarray, int]]:
    """1 to 5 documents with distinct ids."""
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True))
    return [(i, draw(vectors()), draw(st.integers(0, 9))) for i in ids]


def scores(model: Model, query: np.ndarray) -> dict[str, float]:
    """What each document scores for `query`, as the README defines the metrics."""
    out = {}
    for doc_id, (v, _) in model.docs.items():
        if model.metric == pb.COSINE:
            out[doc_id] = float(v @ query / np.linalg.norm(v) / np.linalg.norm(query))
        elif model.metric == pb.DOT:
            out[doc_id] = float(v @ query)
        else:
            out[doc_id] = -float(np.linalg.norm(v - query))
    return out


class CollectionsModel(RuleBasedStateMachine):
    stub: pb_grpc.CollectionsStub  # set by the test before the run
    tally: Counter[tuple[str, str, str]]  # the fuzz's: (RPC, "stateful", code) -> calls

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[str, Model] = {}

    def call(self, method: str, request: Any) -> tuple[Code, Any]:
        try:
            reply = getattr(self.stub, method)(request, timeout=TIMEOUT_S)
        except grpc.RpcError as exc:
            self.tally[(f"Collections.{method}", "stateful", exc.code().name)] += 1
            return exc.code(), exc.details()
        self.tally[(f"Collections.{method}", "stateful", "OK")] += 1
        return Code.OK, reply

    # -- rules ------------------------------------------------------------------------

    @rule(name=st.sampled_from(NAMES), metric=st.sampled_from(list(METRICS)), ok=st.booleans())
    def create(self, name: str, metric: int, ok: bool) -> None:
        request = pb.CreateCollectionRequest(name=name, dimension=DIM, metric=metric, exist_ok=ok)
        code, _ = self.call("CreateCollection", request)
        if name not in self.models:
            assert code == Code.OK
            self.models[name] = Model(metric)
        else:
            same = ok and self.models[name].metric == metric
            assert code == (Code.OK if same else Code.ALREADY_EXISTS)

    def existing(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.models)), label="collection")

    @precondition(lambda self: bool(self.models))
    @rule(data=st.data(), docs=document_lists())
    def upsert(self, data: st.DataObject, docs: list[tuple[str, np.ndarray, int]]) -> None:
        name = self.existing(data)
        code, reply = self.call("Upsert", upsert_request(name, docs))
        assert code == Code.OK and reply.upserted == len(docs)
        self.models[name].docs.update({i: (v, float(n)) for i, v, n in docs})

    @precondition(lambda self: bool(self.models))
    @rule(data=st.data(), doc=documents(), other=documents())
    def upsert_an_id_twice(
        self, data: st.DataObject, doc: tuple[str, np.ndarray, int], other: Any
    ) -> None:
        again = (doc[0], *other[1:])  # one request, one id twice: refused, nothing written
        code, _ = self.call("Upsert", upsert_request(self.existing(data), [other, doc, again]))
        assert code == Code.INVALID_ARGUMENT

    @precondition(lambda self: bool(self.models))
    @rule(data=st.data(), ids=st.lists(st.sampled_from(IDS), min_size=1, max_size=4))
    def delete_ids(self, data: st.DataObject, ids: list[str]) -> None:
        name = self.existing(data)
        code, reply = self.call("Delete", pb.DeleteRequest(collection=name, ids=ids))
        assert code == Code.OK
        present = {i for i in ids if i in self.models[name].docs}
        assert reply.deleted == len(present)
        for doc_id in present:
            del self.models[name].docs[doc_id]

    @precondition(lambda self: bool(self.models))
    @rule(data=st.data(), below=st.integers(0, 10))
    def delete_filtered(self, data: st.DataObject, below: int) -> None:
        name = self.existing(data)
        code, reply = self.call("Delete", pb.DeleteRequest(collection=name, filter=n_below(below)))
        assert code == Code.OK
        docs = self.models[name].docs
        gone = [i for i, (_, n) in docs.items() if n < below]
        assert reply.deleted == len(gone)
        for doc_id in gone:
            del docs[doc_id]

    @precondition(lambda self: len(self.models) < len(NAMES))
    @rule(data=st.data(), vector=vectors())
    def write_to_a_missing_collection(self, data: st.DataObject, vector: np.ndarray) -> None:
        name = data.draw(st.sampled_from(sorted(set(NAMES) - set(self.models))))
        code, _ = self.call("Upsert", upsert_request(name, [("id0", vector, 1)]))
        assert code == Code.NOT_FOUND
        code, _ = self.call("Delete", pb.DeleteRequest(collection=name, ids=["id0"]))
        assert code == Code.NOT_FOUND

    @precondition(lambda self: bool(self.models))
    @rule(data=st.data())
    def delete_collection(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.models)))
        code, _ = self.call("DeleteCollection", pb.DeleteCollectionRequest(name=name))
        assert code == Code.OK
        del self.models[name]

    # -- what must hold after every step ----------------------------------------------

    @invariant()
    def listed(self) -> None:
        code, reply = self.call("ListCollections", pb.ListCollectionsRequest())
        assert code == Code.OK
        mine = {c.name: c.count for c in reply.collections if c.name in NAMES}
        assert mine == {name: len(m.docs) for name, m in self.models.items()}

    @invariant()
    def documents_agree(self) -> None:
        for name, model in self.models.items():
            code, got = self.call("Get", pb.GetRequest(collection=name, ids=IDS, with_vector=True))
            assert code == Code.OK
            found = {
                d.id: (np.array(d.vector.values, np.float32), d.metadata["n"])
                for d in got.documents
            }
            assert set(found) == set(model.docs) and set(got.missing) == set(IDS) - set(found)
            for doc_id, (vector, n) in model.docs.items():
                assert np.array_equal(found[doc_id][0], vector) and found[doc_id][1] == n
            _, count = self.call("Count", pb.CountRequest(collection=name))
            assert count.count == len(model.docs)
            _, few = self.call("Count", pb.CountRequest(collection=name, filter=n_below(5)))
            assert few.count == sum(n < 5 for _, n in model.docs.values())
            _, scrolled = self.call("Scroll", pb.ScrollRequest(collection=name, limit=3))
            assert [d.id for d in scrolled.documents] == sorted(model.docs)[:3]

    @invariant()
    def exact_search_ranks_as_numpy(self) -> None:
        query = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
        for name, model in self.models.items():
            request = pb.SearchRequest(
                collection=name,
                query=pb.SearchQuery(vector=pb.Vector(values=query.tolist())),
                k=len(IDS),
                options=pb.QueryOptions(exact=True),
            )
            code, reply = self.call("Search", request)
            assert code == Code.OK
            want = scores(model, query)
            assert {h.id for h in reply.hits} == set(want)
            for hit in reply.hits:
                assert hit.score == pytest.approx(want[hit.id], rel=1e-4, abs=1e-4)
            got = [h.score for h in reply.hits]
            assert got == sorted(got, reverse=True)

    def teardown(self) -> None:
        for name in list(self.models):
            self.call("DeleteCollection", pb.DeleteCollectionRequest(name=name))


def upsert_request(name: str, docs: list[tuple[str, np.ndarray, int]]) -> pb.UpsertRequest:
    request = pb.UpsertRequest(collection=name)
    for doc_id, vector, n in docs:
        doc = request.documents.add(id=doc_id, vector=pb.Vector(values=vector.tolist()))
        doc.metadata.update({"n": n})
    return request


def n_below(value: int) -> pb.Filter:
    return pb.Filter(condition=pb.Condition(key="n", range=pb.Range(lt=float(value))))


def test_collections_agree_with_a_model_after_every_step(
    channel: grpc.Channel, fuzz_tally: Counter[tuple[str, str, str]]
) -> None:
    CollectionsModel.stub = pb_grpc.CollectionsStub(channel)
    CollectionsModel.tally = fuzz_tally
    run = CollectionsModel.TestCase
    run.settings = settings(
        max_examples=SEQUENCES,
        stateful_step_count=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    run().runTest()
