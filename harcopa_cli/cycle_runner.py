"""The cycle runner: each cycle's stages in order, every step recorded in the store's ``cycles``
table so that a killed ``harcopa cycle`` re-run with the same configuration continues where it was.

Called by ``harcopa cycle`` (harcopa_cli/cycle.py). Per cycle (its lineage is a
``harcopa.cycles.CycleRecord``):

1. generating: the configured runs, on local services started for the cycle's model (as
   ``harcopa eval`` starts them) or on the configured orchestrator. A run is recorded the moment
   it starts; on a re-run a succeeded run is kept, any other is resumed (ResumeRun) and
   followed. A run that ends with errored problems stops the cycle (its data would be partial).
2. exporting: ``export-sft`` of the cycle's runs (and, with ``accumulate``, the earlier cycles')
   into ``WORKDIR/CYCLE_ID/sft.jsonl``, recorded with its SHA-256 and record count.
3. training: the parent checkpoint (the base model, then each cycle's result) trained on that
   file, locally (``harcopa train``; a killed training resumes, a finished one is not redone),
   or with ``--kubernetes`` as a Job of the orchestrator's cluster that exports, trains and rolls
   the model server (StartTraining, then GetTraining until it is served).
4. done: the checkpoint and the trainer's metrics are recorded; it is the next cycle's model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from harcopa import domain as d
from harcopa.cycles import CycleConfig, CycleRecord, CycleStage, ModelSource, train_metrics
from harcopa.errors import HarcopaError
from harcopa.orchestrator_client import OrchestratorClient
from harcopa.validation import check_run_spec
from harcopa_cli.cycle_training import StageFailed, export_stage, sha256_of, train_stage
from harcopa_cli.runs import follow
from harcopa_cli.spec_arguments import check_corpus, parse_indices
from harcopa_orchestrator.store import RunStore

#: The longest wait for the model server's rollout once a training succeeded (seconds).
ROLLOUT_TIMEOUT_SECONDS = 1800.0


@dataclass
class CycleRunner:
    """Runs ``config``'s cycles; ``store`` holds their records (``WORKDIR/harcopa.sqlite``)."""

    config: CycleConfig
    store: RunStore
    kubernetes: bool = False
    stream: TextIO = sys.stderr

    def say(self, text: str) -> None:
        print(f"harcopa cycle: {text}", file=self.stream, flush=True)

    async def run(self) -> list[CycleRecord]:
        """Every cycle in order; raises StageFailed (after recording it) when one cannot go on."""
        done: list[CycleRecord] = []
        for index in range(1, self.config.cycles + 1):
            record = await self._load(index, done)
            if record.stage is CycleStage.DONE:
                self.say(f"{record.cycle_id} was done: {summary(record)}")
            else:
                try:
                    record = await self._cycle(record, done)
                except HarcopaError as error:
                    await self._save(record.cycle_id, error=str(error))
                    raise
                self.say(f"{record.cycle_id} done: {summary(record)}")
            done.append(record)
        return done

    async def _load(self, index: int, done: list[CycleRecord]) -> CycleRecord:
        cycle_id = self.config.cycle_id(index)
        record = await self.store.get_cycle(cycle_id)
        if record is not None:
            return record
        parent = done[-1].checkpoint if done else self.config.base_model
        fresh = CycleRecord(
            cycle_id=cycle_id,
            name=self.config.name,
            index=index,
            model=self._model_name(index, done),
            parent_checkpoint=parent,
        )
        return await self.store.save_cycle(fresh)

    async def _save(self, cycle_id: str, **changes: Any) -> CycleRecord:
        record = await self.store.get_cycle(cycle_id)
        assert record is not None  # created by _load
        return await self.store.save_cycle(record.model_copy(update=changes))

    async def _cycle(self, record: CycleRecord, done: list[CycleRecord]) -> CycleRecord:
        if record.stage is CycleStage.GENERATING:
            record = await self._generate(record, done)
        if record.stage is CycleStage.EXPORTING:
            record = await self._export(record, done)
        if record.stage is CycleStage.TRAINING:
            if self.kubernetes:
                record = await self._train_on_cluster(record, done)
            else:
                record = await self._train_here(record, done)
        return record

    # ------------------------------------------------------------------ models

    def _source(self, index: int, done: list[CycleRecord]) -> ModelSource:
        """The model a local cycle's runs sample from: the generator, then the last checkpoint."""
        generator = self.config.generator
        assert generator is not None  # the configuration requires one for local services
        if index == 1:
            return generator
        backend = self.config.services.serve_backend
        return ModelSource(
            checkpoint=done[-1].checkpoint, backend=backend, system_prompt=generator.system_prompt
        )

    def _model_name(self, index: int, done: list[CycleRecord]) -> str:
        remote = self.config.orchestrator
        if remote is None:
            return self._source(index, done).describe()
        served = f"{remote.model or 'its default model'} at {remote.target}"
        return served if index == 1 else f"{served}, rolled to {done[-1].checkpoint}"

    @contextlib.asynccontextmanager
    async def _generation(
        self, record: CycleRecord, done: list[CycleRecord]
    ) -> AsyncIterator[tuple[OrchestratorClient, d.ModelRef, bool]]:
        """(client, solver model, whether this process owns the runs) for a cycle's runs."""
        remote = self.config.orchestrator
        if remote is not None:
            from harcopa_cli.credentials import from_env

            token, credentials = from_env()
            async with OrchestratorClient(remote.target, token=token, credentials=credentials) as c:
                yield c, d.ModelRef(remote.model), False
            return
        from harcopa_cli.local import local_services

        source = self._source(record.index, done)
        plan = _plan(self.config, source)
        for note in plan.notes:
            self.say(note)
        endpoint = {"target": source.endpoint, "model": source.endpoint_model}
        workdir, root = self.config.workdir, self.config.benchmark_root
        async with local_services(plan, workdir, root, endpoint) as stack:
            async with OrchestratorClient(stack.orchestrator) as client:
                yield client, d.ModelRef("solver", system_prompt=source.system_prompt), True

    # ------------------------------------------------------------------ stages

    async def _generate(self, record: CycleRecord, done: list[CycleRecord]) -> CycleRecord:
        run_ids = list(record.run_ids)
        async with self._generation(record, done) as (client, solver, owned):
            for position, template in enumerate(self.config.runs):
                if position < len(run_ids):
                    run_id = run_ids[position]
                    if not await _continue(client, run_id, owned):
                        continue
                else:
                    spec = template.spec(solver, parse_indices(template.problems))
                    check_run_spec(spec)
                    if owned:
                        check_corpus(spec)
                    run_id = await client.start_run(spec)
                    run_ids.append(run_id)
                    await self._save(record.cycle_id, run_ids=tuple(run_ids))
                what = f"{template.pipeline.value} on {template.benchmark}"
                self.say(f"{record.cycle_id}: run {run_id} ({what})")
                await follow(client, run_id, self.stream)
                run = await client.get_run(run_id)
                if run.status is not d.RunStatus.SUCCEEDED:
                    raise StageFailed(
                        f"{record.cycle_id}: run {run_id} is {run.status.value}"
                        f" ({run.progress.problems_errored} problems errored: infrastructure"
                        " failures, not unsolved); re-run the cycle to resume it"
                    )
        following = CycleStage.TRAINING if self.kubernetes else CycleStage.EXPORTING
        return await self._save(record.cycle_id, stage=following, error="")

    def _request(self, record: CycleRecord, done: list[CycleRecord]) -> d.TrainingRequest:
        """The cycle's training stage: its runs (and earlier cycles' with ``accumulate``)."""
        import yaml

        config = self.config
        runs = [r for c in done for r in c.run_ids] if config.export.accumulate else []
        remote = config.orchestrator
        if self.kubernetes and remote is not None:
            output = f"{remote.workspace.rstrip('/')}/{record.cycle_id}"
        else:
            output = str((config.workdir / record.cycle_id).resolve())
        return d.TrainingRequest(
            name=record.cycle_id,
            run_ids=(*runs, *record.run_ids),
            base_model=record.parent_checkpoint,
            output_dir=output,
            recipes=config.export.recipes,
            tasks=config.export.tasks,
            include_unsolved=config.export.include_unsolved,
            datasets=tuple(str(p) for p in config.export.datasets),
            recipe=yaml.safe_dump(dict(config.train.recipe), sort_keys=True),
            processes=config.train.processes,
        )

    async def _export(self, record: CycleRecord, done: list[CycleRecord]) -> CycleRecord:
        request = self._request(record, done)
        remote = self.config.orchestrator
        store = remote.store if remote is not None and remote.store else self._store_path
        sft, sha, count = await asyncio.to_thread(
            export_stage, request, store, self.config.benchmark_root, self.config.export.templates
        )
        return await self._save(
            record.cycle_id,
            stage=CycleStage.TRAINING,
            export_runs=request.run_ids,
            sft_path=str(sft),
            sft_sha256=sha,
            sft_records=count,
        )

    @property
    def _store_path(self) -> Path:
        return Path(self.store.path)

    async def _train_here(self, record: CycleRecord, done: list[CycleRecord]) -> CycleRecord:
        sft = Path(record.sft_path)
        if await asyncio.to_thread(_sha256_or_empty, sft) != record.sft_sha256:
            raise StageFailed(
                f"{record.cycle_id}: {sft} is not the exported file of this cycle (missing, or"
                f" its SHA-256 is no longer {record.sft_sha256[:12]}…)"
            )
        request = self._request(record, done)
        checkpoint, summary_json = await asyncio.to_thread(train_stage, request, sft)
        return await self._save(
            record.cycle_id,
            stage=CycleStage.DONE,
            checkpoint=str(checkpoint),
            train_metrics=train_metrics(summary_json),
            train_json=str(checkpoint / "train.json"),
            error="",
        )

    async def _train_on_cluster(self, record: CycleRecord, done: list[CycleRecord]) -> CycleRecord:
        request = self._request(record, done)
        async with self._generation(record, done) as (client, _, _):
            training = await client.start_training(request)
            record = await self._save(record.cycle_id, training_job=training.job_name)
            training = await self._follow_training(client, training)
        outcome = training.outcome
        return await self._save(
            record.cycle_id,
            stage=CycleStage.DONE,
            export_runs=request.run_ids,
            sft_path=outcome.sft_path,
            sft_sha256=outcome.sft_sha256,
            sft_records=outcome.sft_records,
            checkpoint=outcome.checkpoint,
            train_metrics=json.loads(outcome.metrics_json),
            train_json=f"{outcome.checkpoint.rstrip('/')}/train.json",
            error="",
        )

    async def _follow_training(
        self, client: OrchestratorClient, training: d.Training
    ) -> d.Training:
        """GetTraining until the checkpoint is served; StageFailed (after printing the pod's
        last log lines) when the Job failed or the rollout does not finish in time."""
        shown, succeeded_at = "", None
        while True:
            training = await client.get_training(training.name)
            last = training.log_tail[-1] if training.log_tail else ""
            line = f"training {training.job_name}: {training.state.value}: {training.message}"
            if line + last != shown:
                self.say(line + (f" | {last}" if last else ""))
                shown = line + last
            if training.state is d.TrainingState.FAILED:
                for tail in training.log_tail:
                    print(f"  {tail}", file=self.stream)
                raise StageFailed(f"training job {training.job_name} failed: {training.message}")
            if training.state is d.TrainingState.SUCCEEDED:
                if training.rolled_out:
                    return training
                succeeded_at = succeeded_at or time.monotonic()
                if time.monotonic() - succeeded_at > ROLLOUT_TIMEOUT_SECONDS:
                    raise StageFailed(
                        f"the model server did not roll out {training.outcome.checkpoint} within"
                        f" {ROLLOUT_TIMEOUT_SECONDS:.0f} s"
                    )
            remote = self.config.orchestrator
            await asyncio.sleep(remote.poll_seconds if remote is not None else 10.0)


async def _continue(client: OrchestratorClient, run_id: str, owned: bool) -> bool:
    """Whether a recorded run still needs following; resumes it when it must be."""
    run = await client.get_run(run_id)
    if run.status is d.RunStatus.SUCCEEDED:
        return False
    if run.status is d.RunStatus.CANCELLED:
        raise StageFailed(f"run {run_id} was cancelled; remove the cycle's record to start over")
    if owned or run.status.resumable:  # a local run stopped with its services: resume it
        await client.resume_run(run_id)
    return True


def _sha256_or_empty(path: Path) -> str:
    return sha256_of(path) if path.is_file() else ""


def _plan(config: CycleConfig, source: ModelSource) -> Any:
    """The local services' backends for ``source`` (what ``harcopa eval`` would pick)."""
    from harcopa_cli.backends import plan_backends

    paper = any(r.mode is d.Mode.PAPER for r in config.runs)
    args = argparse.Namespace(
        pool_size=config.services.pool_size,
        concurrency=None,
        verifier_backend=config.services.verifier_backend,
        lean_scenario=config.services.lean_scenario,
        model_endpoint=source.endpoint,
        model_backend=source.backend,
        model=source.checkpoint or "smollm2",
        model_scenario=source.scenario,
        template=source.template,
        mode="paper" if paper else "strict",
    )
    return plan_backends(args)


def summary(record: CycleRecord) -> str:
    """One line: runs, data, parent -> checkpoint, final loss."""
    loss = record.train_metrics.get("final_loss")
    return (
        f"{len(record.run_ids)} runs, {record.sft_records} SFT records"
        f" (sha256 {record.sft_sha256[:12]}), {record.parent_checkpoint} -> {record.checkpoint}"
        + (f", final loss {loss:.4g}" if isinstance(loss, int | float) else "")
    )
