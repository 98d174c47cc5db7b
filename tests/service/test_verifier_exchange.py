"""VerifierService.Exchange over lean-sim: session calls on one stream answer exactly as their
unary calls do (results and errors), ids, cancellation, deadlines and limits of the stream
protocol, its metrics, and the client's fallback to unary calls on a server without it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from harcopa import errors, wire
from harcopa.domain import Framework, Mode, ProofComplete, ProofState, Session, TacticError
from harcopa.v1 import verifier_pb2 as pb
from harcopa.v1 import verifier_pb2_grpc as pb_grpc
from harcopa.verifier_client import VerifierClient
from harcopa_lean_verifier import exchange
from harcopa_lean_verifier.servicer import VerifierServicer
from tests.service.verifier_harness import SIMPLE, problem, running, sim_settings

pytestmark = pytest.mark.asyncio

ALL = (Framework.FORWARD_REASONING, Framework.SOLVING)
STEP = "-- compute the value\nhave h_seven : answer = 7 := sorry"


def _scenario(tmp_path: Path) -> Path:
    path = tmp_path / "slow.json"
    rules = [{"tactic": "^slow_tactic$", "result": "close", "delay_seconds": 1.5}]
    path.write_text(json.dumps({"rules": rules}))
    return path


def _shape(result: Any) -> Any:
    """A result without its handles (they differ between two sessions)."""
    if isinstance(result, ProofState):
        return ("state", tuple((g.name, g.target) for g in result.goals))
    if isinstance(result, TacticError):
        return ("error", result.messages)
    return (type(result).__name__, tuple((g.name, g.target) for g in result.state.goals))


async def _flow(client: VerifierClient) -> list[Any]:
    """Every session call of the stream, results and errors, as shapes."""
    session: Session = await client.open_session(problem(SIMPLE), ALL, Mode.STRICT)
    forward = session.state(Framework.FORWARD_REASONING)
    out: list[Any] = []
    drafted = await client.apply_step(forward.handle, 0, STEP)
    out.append((_shape(drafted.result), drafted.gap_count))
    assert isinstance(drafted.result, ProofState)
    out.append(_shape(await client.run_tactic(drafted.result.handle, 0, "exact h_missing")))
    out.append(_shape(await client.run_tactic(drafted.result.handle, 0, "sorry")))
    closed = await client.run_tactic(drafted.result.handle, 0, "exact h_answer", ignored_goals=1)
    out.append(_shape(closed))
    validation = await client.validate_submission(
        session.session_id, [STEP], "exact h_seven -- submit"
    )
    out.append((_shape(validation.result), validation.submission))
    assert isinstance(validation.result, ProofState)
    out.append(await client.read_submission(validation.result.handle))
    for bad in (
        client.run_tactic(drafted.result.handle, 5, "exfalso"),  # no such goal
        client.apply_step(forward.handle, 0, "x" * 1_000_000),  # over the step limit
    ):
        with pytest.raises(errors.InvalidRequest) as caught:
            await bad
        out.append((type(caught.value).__name__, str(caught.value), caught.value.violations))
    await client.delete_states([drafted.result.handle])
    with pytest.raises(errors.StateNotFound) as missing:
        await client.run_tactic(drafted.result.handle, 0, "exfalso")
    out.append(str(missing.value).replace(session.session_id, "SESSION"))
    await client.close_session(session.session_id)
    return out


def _requests(method: str, code: str) -> float:
    labels = {"method": method, "code": code}
    return REGISTRY.get_sample_value("harcopa_verifier_requests_total", labels) or 0.0


def _handled(method: str, code: str) -> float:
    labels = {
        "grpc_service": "harcopa.v1.VerifierService",
        "grpc_method": method,
        "grpc_type": "unary",
        "grpc_code": code,
    }
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


async def test_stream_and_unary_calls_answer_alike(tmp_path: Path) -> None:
    before = [_requests("RunTactic", code) for code in ("OK", "INVALID_ARGUMENT", "NOT_FOUND")]
    standard = [_handled("RunTactic", code) for code in ("OK", "InvalidArgument", "NotFound")]
    async with running(sim_settings(pool_size=4)) as target:
        async with VerifierClient(target, retries=False) as streamed:
            on_stream = await _flow(streamed)
            assert streamed._streams, "session calls went over the Exchange stream"
        async with VerifierClient(target, retries=False, streams=False) as unary:
            on_unary = await _flow(unary)
            assert not unary._streams
    assert on_stream == on_unary
    assert on_stream[1][0] == "error" and on_stream[5] == "answer = 7"
    # Stream calls are counted under their unary method and code, like the unary ones: per
    # flow, three answered tactics, one bad goal index, one unknown state.
    after = [_requests("RunTactic", code) for code in ("OK", "INVALID_ARGUMENT", "NOT_FOUND")]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2 * 3, 2 * 1, 2 * 1]
    # ... and in the standard series dashboards and alerts query.
    now = [_handled("RunTactic", code) for code in ("OK", "InvalidArgument", "NotFound")]
    assert [a - b for a, b in zip(now, standard, strict=True)] == [2 * 3, 2 * 1, 2 * 1]


async def _collect(call: Any) -> dict[int, list[Any]]:
    """Every reply until the server ends the stream, by id, in arrival order."""
    replies: dict[int, list[Any]] = {}
    async for reply in call:
        replies.setdefault(reply.id, []).append(reply)
    return replies


async def test_exchange_protocol_ids_cancel_deadline_and_end(tmp_path: Path) -> None:
    async with running(sim_settings(_scenario(tmp_path), pool_size=4)) as target:
        async with VerifierClient(target, retries=False) as client:
            session = await client.open_session(problem(SIMPLE), ALL)
            handle = wire.to_handle(session.state(Framework.FORWARD_REASONING).handle)
            async with grpc.aio.insecure_channel(target) as channel:
                call = pb_grpc.VerifierServiceStub(channel).Exchange()

                def tactic(call_id: int, text: str, seconds: float = 0.0) -> Any:
                    request = pb.RunTacticRequest(state=handle, goal_index=0, tactic=text)
                    return pb.ExchangeRequest(
                        id=call_id, timeout_seconds=seconds, run_tactic=request
                    )

                await call.write(tactic(5, "slow_tactic"))  # answered last, after 1.5 s
                await call.write(tactic(5, "exfalso"))  # id 5 is in use: refused
                await call.write(tactic(0, "exfalso"))  # ids are positive
                await call.write(pb.ExchangeRequest(id=6))  # no call
                await call.write(pb.ExchangeRequest(id=99, cancel=True))  # unknown: ignored
                await call.write(tactic(1, "exfalso"))
                await call.write(tactic(2, "exact h_nothing"))
                await call.write(tactic(7, "slow_tactic", seconds=0.3))
                await call.done_writing()  # every call still gets its answer
                replies = await _collect(call)

    def code(call_id: int, index: int = 0) -> grpc.StatusCode:
        error = replies[call_id][index].error
        return next(c for c in grpc.StatusCode if c.value[0] == error.code)

    assert sorted(replies) == [0, 1, 2, 5, 6, 7]
    assert code(5) is grpc.StatusCode.INVALID_ARGUMENT and "in use" in replies[5][0].error.message
    assert replies[5][1].WhichOneof("result") == "run_tactic"  # the slow one, completed
    assert code(0) is grpc.StatusCode.INVALID_ARGUMENT
    assert code(6) is grpc.StatusCode.INVALID_ARGUMENT
    assert replies[1][0].run_tactic.result.HasField("state")
    assert replies[2][0].run_tactic.result.HasField("error")  # a rejection is a result
    assert code(7) is grpc.StatusCode.DEADLINE_EXCEEDED


async def test_cancelled_call_is_never_answered_and_the_stream_goes_on(tmp_path: Path) -> None:
    # A process per session: the cancelled call kills its process, which must not be fast's.
    settings = sim_settings(_scenario(tmp_path), pool_size=4, sessions_per_process=1)
    async with running(settings) as target:
        async with VerifierClient(target, retries=False) as client:
            slow = await client.open_session(problem(SIMPLE), ALL)
            fast = await client.open_session(problem(SIMPLE), ALL)
            slow_state = slow.state(Framework.FORWARD_REASONING).handle
            fast_state = fast.state(Framework.FORWARD_REASONING).handle
            pending = asyncio.create_task(client.run_tactic(slow_state, 0, "slow_tactic"))
            await asyncio.sleep(0.3)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            # The stream is still up; the cancelled call's session lost its REPL (as a
            # cancelled unary call's does) and says so.
            assert isinstance(await client.run_tactic(fast_state, 0, "exfalso"), ProofState)
            with pytest.raises(errors.StateNotFound):
                await client.run_tactic(slow_state, 0, "exfalso")
            # A client deadline ends the call on both sides.
            short = VerifierClient(target, retries=False, timeout_seconds=0.3)
            async with short:
                other = await short.open_session(problem(SIMPLE), ALL)
                state = other.state(Framework.FORWARD_REASONING).handle
                with pytest.raises(errors.DeadlineExceeded):
                    await short.run_tactic(state, 0, "slow_tactic")


async def test_undecodable_message_and_unauthenticated_stream(tmp_path: Path) -> None:
    async with running(sim_settings(auth_token="s3cret")) as target:
        async with grpc.aio.insecure_channel(target) as channel:
            raw = channel.stream_stream(
                "/harcopa.v1.VerifierService/Exchange",
                request_serializer=lambda data: data,
                response_deserializer=pb.ExchangeResponse.FromString,
            )
            denied = raw(metadata=(("authorization", "Bearer wrong"),))
            await denied.write(pb.ExchangeRequest(id=1).SerializeToString())
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await denied.read()
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
            garbled = raw(metadata=(("authorization", "Bearer s3cret"),))
            await garbled.write(b"\xff\xff\xff")
            with pytest.raises(grpc.aio.AioRpcError) as broken:
                await garbled.read()
            assert broken.value.code() is grpc.StatusCode.INVALID_ARGUMENT


async def test_too_many_unanswered_calls_are_resource_exhausted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange, "MAX_PENDING", 1)
    async with running(sim_settings(_scenario(tmp_path), pool_size=4)) as target:
        async with VerifierClient(target, retries=False) as client:
            session = await client.open_session(problem(SIMPLE), ALL)
            state = session.state(Framework.FORWARD_REASONING).handle
            slow = asyncio.create_task(client.run_tactic(state, 0, "slow_tactic"))
            await asyncio.sleep(0.2)
            with pytest.raises(errors.Overloaded):
                await client.run_tactic(state, 0, "exfalso")
            assert isinstance(await slow, ProofComplete)


class _NoExchange(grpc.GenericRpcHandler):
    """The service's handlers as an older release serves them: no Exchange (UNIMPLEMENTED)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def service(self, details: Any) -> Any:
        if str(details.method).endswith("/Exchange"):
            return None
        return self.inner.service(details)


def _register_without_exchange(servicer: VerifierServicer, server: Any) -> None:
    class Capture:
        handlers: tuple[Any, ...] = ()

        def add_generic_rpc_handlers(self, handlers: tuple[Any, ...]) -> None:
            self.handlers = handlers

        def add_registered_method_handlers(self, name: str, handlers: Any) -> None:
            pass

    capture = Capture()
    pb_grpc.add_VerifierServiceServicer_to_server(servicer, capture)
    server.add_generic_rpc_handlers(tuple(_NoExchange(h) for h in capture.handlers))


async def test_client_falls_back_to_unary_calls_without_exchange(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("harcopa_lean_verifier.server.register", _register_without_exchange)
    async with running(sim_settings()) as target:
        async with VerifierClient(target, retries=False) as client:
            session = await client.open_session(problem(SIMPLE), ALL)
            forward = session.state(Framework.FORWARD_REASONING).handle
            drafted = (await client.apply_step(forward, 0, STEP)).result
            assert isinstance(drafted, ProofState)
            assert not next(iter(client._streams.values())).supported
            assert isinstance(await client.run_tactic(drafted.handle, 0, "exfalso"), ProofState)


async def test_a_stream_that_fails_oddly_fails_its_calls_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reply the reader cannot handle ends the stream: its calls fail as a verifier that went
    away (BackendUnavailable), at once, instead of waiting out their deadlines."""
    async with running(sim_settings()) as target:
        async with VerifierClient(target, retries=False, timeout_seconds=60) as client:
            session = await client.open_session(problem(SIMPLE), ALL)
            state = session.state(Framework.FORWARD_REASONING).handle

            def broken(self: Any, reply: Any) -> Any:
                raise RuntimeError("a reply the reader cannot handle")

            monkeypatch.setattr(
                "harcopa.verifier_stream.SessionStream._answered", broken, raising=True
            )
            with pytest.raises(errors.BackendUnavailable, match="stream failed"):
                await asyncio.wait_for(client.run_tactic(state, 0, "exfalso"), 10)
