"""Assembles the orchestrator from its settings: verifier client, model registry, scheduler,
run manager -> gRPC.

Called by ``python -m harcopa_orchestrator`` (``main``), by ``harcopa orchestrator serve`` and by
tests that run the whole service (``build``, ``build_runner``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from harcopa.errors import HarcopaError
from harcopa.prompts import PromptTemplates
from harcopa.protocols import Verifier
from harcopa.serving import Service, ServiceRunner, run_service
from harcopa.settings import read_secret
from harcopa.v1 import orchestrator_pb2_grpc
from harcopa_orchestrator.models import ModelRegistry, ModelsConfig, load_models_file
from harcopa_orchestrator.problems import problem_loader
from harcopa_orchestrator.runs import RunManager
from harcopa_orchestrator.scheduler import Limits, Scheduler
from harcopa_orchestrator.servicer import OrchestratorServicer
from harcopa_orchestrator.settings import OrchestratorSettings
from harcopa_orchestrator.solver import SchedulerSolver
from harcopa_orchestrator.store import RunStore
from harcopa_orchestrator.training_jobs import TrainingJobs

logger = logging.getLogger(__name__)

SERVICE_NAME = "harcopa.v1.OrchestratorService"


class OrchestratorBackend:
    """Lifecycle for ServiceRunner: size the session pool to the verifier and resume runs on
    start; stop them and close clients on close.

    The verifier's session capacity (Describe) is read at start and every
    ``CAPACITY_REFRESH_SECONDS`` (replicas scale); a verifier that is not up yet keeps the
    configured limit until it answers.
    """

    CAPACITY_REFRESH_SECONDS = 30.0

    def __init__(
        self,
        runs: RunManager,
        verifier: Verifier,
        models: ModelRegistry,
        store: RunStore,
        scheduler: Scheduler,
    ) -> None:
        self.runs = runs
        self.verifier = verifier
        self.models = models
        self.store = store
        self.scheduler = scheduler
        self._sizer: asyncio.Task[None] | None = None
        self._preparing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # In the background: readiness does not wait for it, the first run's model may.
        self._preparing = asyncio.create_task(self.models.prepare(), name="model-clients")
        await self.verifier.start()
        await self._fit_sessions()
        self._sizer = asyncio.create_task(self._fit_forever(), name="session-capacity")
        await self.runs.start()

    async def _fit_sessions(self) -> None:
        try:
            await self.scheduler.fit_sessions_to_verifier()
        except HarcopaError as exc:
            logger.warning("cannot read the verifier's session capacity yet: %s", exc)

    async def _fit_forever(self) -> None:
        while True:
            await asyncio.sleep(self.CAPACITY_REFRESH_SECONDS)
            await self._fit_sessions()

    async def close(self) -> None:
        for task in (self._sizer, self._preparing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.runs.close()
        await self.models.close()
        await self.verifier.close()
        self.store.close()


def build(
    settings: OrchestratorSettings,
    verifier_factory: Callable[[OrchestratorSettings], Verifier] | None = None,
) -> tuple[list[Service], OrchestratorBackend]:
    """The services and backend of one orchestrator process."""
    from harcopa.verifier_client import VerifierClient

    verifier = (
        verifier_factory(settings)
        if verifier_factory is not None
        else VerifierClient(
            settings.verifier_target,
            read_secret(settings.verifier_token_file) or settings.verifier_token,
            credentials=(
                settings.verifier_tls.channel_credentials() if settings.verifier_tls else None
            ),
        )
    )
    store = RunStore(settings.store_path)
    models = ModelRegistry(models_config(settings), settings.allowed_endpoint_hosts)
    limits = Limits(
        max_model_requests=settings.max_model_requests,
        max_verifier_sessions=settings.max_verifier_sessions,
        max_problems=settings.max_problems_in_flight,
    )
    solver = SchedulerSolver(
        verifier, models, limits, PromptTemplates.load(settings.templates_path)
    )
    runs = RunManager(
        store,
        problem_loader(settings.benchmark_root),
        solver,
        max_active_runs=settings.max_active_runs,
        max_active_runs_per_caller=settings.max_active_runs_per_caller,
        check_models=models.check,
        problem_retries=settings.problem_retries,
        retry_backoff_seconds=settings.retry_backoff_seconds,
        resume_on_start=settings.resume_on_start,
        interrupt_on_close=settings.interrupt_runs_on_shutdown,
    )
    service = Service(
        SERVICE_NAME,
        OrchestratorServicer(runs, TrainingJobs(settings.kubernetes)),
        orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server,
    )
    return [service], OrchestratorBackend(runs, verifier, models, store, solver.scheduler)


def models_config(settings: OrchestratorSettings) -> ModelsConfig:
    """The models file merged with the inline models and the default-model override."""
    config = load_models_file(settings.models_file) if settings.models_file else ModelsConfig()
    models = {**config.models, **settings.models}
    default = settings.default_model or config.default or (next(iter(models)) if models else "")
    return ModelsConfig(default=default, models=models)


METRICS_SERVICE = "orchestrator"


def build_runner(settings: OrchestratorSettings) -> ServiceRunner:
    """A runner (server bound, not started) hosting the orchestrator; tests start and stop it."""
    services, backend = build(settings)
    return ServiceRunner(settings, services, backend, METRICS_SERVICE)


async def main(settings: OrchestratorSettings) -> None:
    """Serve until SIGTERM/SIGINT."""
    services, backend = build(settings)
    await run_service(settings, services, backend, METRICS_SERVICE)
