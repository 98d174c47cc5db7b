"""ModelClient: the Generator protocol over gRPC ``harcopa.v1.ModelService``.

Used by the orchestrator for models served by a model server (a ModelRef with a ``host:port``
or ``dns:///`` target). Transient failures (UNAVAILABLE, RESOURCE_EXHAUSTED) are retried by the
channel's service config; every other failure is raised as the matching harcopa exception.
"""

from __future__ import annotations

from collections.abc import Awaitable

import grpc

from harcopa import wire
from harcopa.channels import RECONNECT_SECONDS, auth_metadata, open_channel, reconnecting
from harcopa.domain import Generation, Prompt, SamplingParams
from harcopa.errors import BackendUnavailable, from_rpc_error
from harcopa.v1 import model_pb2, model_pb2_grpc

SERVICE_NAME = "harcopa.v1.ModelService"


class ModelClient:
    """Generator backed by a remote model server."""

    def __init__(
        self,
        target: str,
        *,
        model: str = "",
        token: str | None = None,
        timeout_seconds: float | None = None,
        retries: bool = True,
        max_message_bytes: int = 16 * 1024 * 1024,
        credentials: grpc.ChannelCredentials | None = None,
        reconnect_seconds: float = RECONNECT_SECONDS,
    ) -> None:
        """``model`` (optional) must name the served model; ``timeout_seconds`` is per call."""
        self.target = target
        self.model_name = model
        self.timeout_seconds = timeout_seconds
        self._metadata = auth_metadata(token)
        self._retries = retries
        self._max_message_bytes = max_message_bytes
        self._credentials = credentials
        self._reconnect_seconds = reconnect_seconds
        self._channel: grpc.aio.Channel | None = None
        self._stub: model_pb2_grpc.ModelServiceStub | None = None

    async def start(self) -> None:
        if self._channel is None:
            self._channel = open_channel(
                self.target,
                [SERVICE_NAME],
                max_message_bytes=self._max_message_bytes,
                retries=self._retries,
                credentials=self._credentials,
            )
            self._stub = model_pb2_grpc.ModelServiceStub(self._channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None

    async def __aenter__(self) -> ModelClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def generate(
        self, prompt: Prompt, params: SamplingParams, *, timeout_seconds: float | None = None
    ) -> Generation:
        """Sample ``params.n`` completions; ``timeout_seconds`` overrides the client default."""
        if self._stub is None:
            raise BackendUnavailable("ModelClient is not started")
        request = wire.to_generate_request(prompt, params, self.model_name)
        timeout = timeout_seconds if timeout_seconds is not None else self.timeout_seconds
        stub = self._stub

        def once() -> Awaitable[model_pb2.GenerateResponse]:
            return stub.Generate(request, timeout=timeout, metadata=self._metadata)  # type: ignore[no-any-return]

        try:
            reply = await reconnecting(
                once,
                what=f"the model server at {self.target}",
                reconnect_seconds=self._reconnect_seconds,
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from error
        return wire.from_generation(reply)
