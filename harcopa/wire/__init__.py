"""The only proto <-> domain conversion code; servicers and gRPC clients call it and nothing else.

One module per proto file (``common``, ``verifier``, ``model``, ``orchestrator``, whose training
messages are in ``training``); every ``to_*``
builds a protobuf message from a domain value and every ``from_*`` goes back, so
``from_x(to_x(v)) == v`` for every domain value (tested for each message kind). Callers use the
names re-exported here: ``from harcopa import wire; wire.to_goal(...)``.
"""

from harcopa.wire.common import *  # noqa: F403
from harcopa.wire.model import *  # noqa: F403
from harcopa.wire.orchestrator import *  # noqa: F403
from harcopa.wire.training import *  # noqa: F403
from harcopa.wire.verifier import *  # noqa: F403
