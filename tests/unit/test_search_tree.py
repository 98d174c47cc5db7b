"""Unit tests of the search tree: dedup by key, costs, status propagation, invariants."""

from __future__ import annotations

import pytest

from harcopa.domain import Goal, ProofState, StateHandle
from harcopa_orchestrator.search.tree import InvariantError, SearchTree, Status


def state(target: str) -> ProofState:
    return ProofState(StateHandle("s", 0), (Goal((), target),))


def test_children_accumulate_cost_and_dedup_by_key() -> None:
    tree = SearchTree("root", state("False"))
    a = tree.add_child(tree.root, "t1", "a", state("a"), 0.5)
    assert a is not None and a.cost == 0.5 and a.depth == 1
    b = tree.add_child(a, "t2", "b", state("b"), 0.25)
    assert b is not None and b.cost == 0.75 and b.depth == 2
    assert tree.add_child(tree.root, "t3", "b", state("b"), 0.1) is None  # same state again
    assert tree.edge_count == 2
    assert [e.label for e in tree.path(b)] == ["t1", "t2"]
    tree.check_invariants()


def test_proof_propagates_to_the_root() -> None:
    tree = SearchTree("root", state("False"))
    a = tree.add_child(tree.root, "t1", "a", state("a"), 1.0)
    assert a is not None
    done = tree.add_child(a, "t2", "done", state("done"), 1.0)
    assert done is not None
    tree.close(done, proved=True)
    assert a.status is Status.PROVED and tree.root.status is Status.PROVED
    tree.check_invariants()


def test_failure_needs_every_child_failed() -> None:
    tree = SearchTree("root", state("False"))
    a = tree.add_child(tree.root, "t1", "a", state("a"), 1.0)
    b = tree.add_child(tree.root, "t2", "b", state("b"), 1.0)
    assert a is not None and b is not None
    tree.expanded(tree.root)
    tree.expanded(a)  # no children: fails
    assert a.status is Status.FAILED and tree.root.status is Status.OPEN
    tree.expanded(b)
    assert tree.root.status is Status.FAILED
    tree.check_invariants()


def test_negative_step_costs_are_clamped() -> None:
    tree = SearchTree("root", state("False"))
    a = tree.add_child(tree.root, "t", "a", state("a"), -3.0)
    assert a is not None and a.cost == 0.0
    tree.check_invariants()


def test_invariant_violations_are_reported() -> None:
    tree = SearchTree("root", state("False"))
    a = tree.add_child(tree.root, "t", "a", state("a"), 1.0)
    assert a is not None
    a.cost = 0.1  # corrupt the accumulated cost
    with pytest.raises(InvariantError, match="cost"):
        tree.check_invariants()
    a.cost = 1.0
    a.status = Status.PROVED  # proved without a proof below it
    with pytest.raises(InvariantError, match="proved"):
        tree.check_invariants()
