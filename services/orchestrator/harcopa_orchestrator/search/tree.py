"""The search tree shared by the prover and solution best-first search (ReProver style).

Built by ``search/prover.py`` and ``search/best_first.py``; tests call ``check_invariants``
after every search. Nodes are keyed by the rendered text of the state they stand for, so a
state reached twice is the same node (dedup by goal text, official-impl §8 item 4).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from harcopa.domain import ProofState


class Status(enum.Enum):
    """OPEN: not decided; PROVED: a terminal success is reachable; FAILED: nothing below."""

    OPEN = "open"
    PROVED = "proved"
    FAILED = "failed"


@dataclass(eq=False, slots=True)
class Node:
    """One distinct state. ``cost`` is the accumulated NALP priority (lower is better)."""

    key: str
    state: ProofState
    cost: float = 0.0
    depth: int = 0
    status: Status = Status.OPEN
    terminal: bool = False
    expanded: bool = False
    parent: Edge | None = None
    children: list[Edge] = field(default_factory=list)


@dataclass(frozen=True, slots=True, eq=False)
class Edge:
    """A tactic or solution step from ``src`` to ``dst``; ``data`` holds what produced it."""

    label: str
    src: Node
    dst: Node
    cost: float
    data: object = None


class InvariantError(Exception):
    """The tree is inconsistent; raised by ``check_invariants`` only."""


class SearchTree:
    """A tree of distinct states: every non-root node has exactly one incoming edge.

    Invariants (checked by :meth:`check_invariants`):
    - keys are unique and every edge joins two nodes of this tree;
    - depth and cost grow along edges (``dst.cost == src.cost + edge.cost``, costs >= 0);
    - a terminal node is PROVED or FAILED; a PROVED inner node has a PROVED child;
    - a FAILED inner node was expanded and all its children are FAILED.
    """

    def __init__(self, root_key: str, root_state: ProofState) -> None:
        self.root = Node(root_key, root_state)
        self.nodes: dict[str, Node] = {root_key: self.root}

    def __contains__(self, key: str) -> bool:
        return key in self.nodes

    @property
    def edge_count(self) -> int:
        return sum(len(node.children) for node in self.nodes.values())

    def add_child(
        self,
        src: Node,
        label: str,
        key: str,
        state: ProofState,
        cost: float,
        data: object = None,
    ) -> Node | None:
        """Add ``key`` below ``src``; None (nothing added) when the key is already present."""
        if key in self.nodes:
            return None
        node = Node(key, state, cost=src.cost + max(cost, 0.0), depth=src.depth + 1)
        edge = Edge(label, src, node, node.cost - src.cost, data)
        node.parent = edge
        src.children.append(edge)
        self.nodes[key] = node
        return node

    def close(self, node: Node, *, proved: bool) -> None:
        """Mark ``node`` terminal (a complete proof or a final submission) and propagate."""
        node.terminal = True
        node.expanded = True
        node.status = Status.PROVED if proved else Status.FAILED
        self._propagate(node.parent.src if node.parent else None)

    def expanded(self, node: Node) -> None:
        """Record that ``node`` was expanded; with no children it fails at once."""
        node.expanded = True
        if not node.children and node.status is Status.OPEN:
            node.status = Status.FAILED
            self._propagate(node.parent.src if node.parent else None)

    def _propagate(self, node: Node | None) -> None:
        while node is not None:
            statuses = [edge.dst.status for edge in node.children]
            if Status.PROVED in statuses:
                new = Status.PROVED
            elif node.expanded and statuses and all(s is Status.FAILED for s in statuses):
                new = Status.FAILED
            else:
                new = Status.OPEN
            if new is node.status:
                return
            node.status = new
            node = node.parent.src if node.parent else None

    def path(self, node: Node) -> list[Edge]:
        """The edges from the root to ``node``, in order."""
        edges: list[Edge] = []
        while node.parent is not None:
            edges.append(node.parent)
            node = node.parent.src
        return edges[::-1]

    def check_invariants(self) -> None:
        """Raise InvariantError on the first violated invariant (see the class docstring)."""
        seen: set[int] = set()
        for key, node in self.nodes.items():
            _require(node.key == key, f"node {key!r} stored under another key")
            if node is self.root:
                _require(node.parent is None and node.depth == 0, "the root has a parent")
            else:
                edge = node.parent
                if edge is None:
                    raise InvariantError(f"node {key!r} is unreachable")
                _require(edge.dst is node, f"node {key!r}: broken parent edge")
                _require(self.nodes.get(edge.src.key) is edge.src, "edge from a foreign node")
                _require(edge in edge.src.children, f"node {key!r}: parent does not list it")
                _require(node.depth == edge.src.depth + 1, f"node {key!r}: wrong depth")
                _require(edge.cost >= 0, f"node {key!r}: negative edge cost")
                _require(
                    math.isclose(node.cost, edge.src.cost + edge.cost, abs_tol=1e-9),
                    f"node {key!r}: cost is not parent cost + step cost",
                )
            _require(id(node) not in seen, f"node {key!r} stored twice")
            seen.add(id(node))
            self._check_status(node)

    def _check_status(self, node: Node) -> None:
        statuses = [edge.dst.status for edge in node.children]
        if node.terminal:
            _require(node.status is not Status.OPEN, f"terminal node {node.key!r} is open")
            _require(not node.children, f"terminal node {node.key!r} has children")
        elif node.status is Status.PROVED:
            _require(Status.PROVED in statuses, f"node {node.key!r} proved without a proof")
        elif node.status is Status.FAILED:
            _require(node.expanded, f"node {node.key!r} failed before its expansion")
            _require(all(s is Status.FAILED for s in statuses), f"node {node.key!r} failed early")
        else:
            _require(Status.PROVED not in statuses, f"node {node.key!r} open with a proved child")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)
