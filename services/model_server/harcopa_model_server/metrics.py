"""Prometheus metrics of the model server; the servicer, the batcher, the transformers prefill
and the HTTP front update them.

Request counts and latency come from the common metrics interceptor
(``harcopa_model_requests_total``, ``harcopa_model_request_duration_seconds``).
"""

from __future__ import annotations

from harcopa.metrics import counter, gauge, histogram

BACKENDS = ("transformers", "openai", "sim", "vllm")
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

GENERATED_TOKENS = counter(
    "harcopa_model_generated_tokens_total",
    "Tokens generated, summed over all completions.",
    ("backend",),
)
CACHED_PROMPT_TOKENS = counter(
    "harcopa_model_cached_prompt_tokens_total",
    "Prompt tokens served from a prefix cache instead of being prefilled.",
    ("backend",),
)
PROMPT_TOKENS = counter(
    "harcopa_model_prompt_tokens_total",
    "Prompt tokens of accepted requests (counted once per request, whatever its n).",
    ("backend",),
)
QUEUE_DEPTH = gauge(
    "harcopa_model_queue_depth",
    "Generate requests admitted and not yet answered (queued or running).",
)
PREFIX_CACHE_BYTES = gauge(
    "harcopa_model_prefix_cache_bytes",
    "Bytes of prompt KV caches the transformers backend keeps for reuse.",
)
PREFIX_CACHE_ENTRIES = gauge(
    "harcopa_model_prefix_cache_entries",
    "Prompts whose KV caches the transformers backend keeps for reuse.",
)
HTTP_REQUESTS = counter(
    "harcopa_model_http_requests_total",
    "Requests to the OpenAI-compatible HTTP front by endpoint and HTTP status.",
    ("endpoint", "status"),
)
HTTP_ENDPOINTS = ("models", "completions", "chat_completions", "health", "other")
HTTP_STATUSES = ("200", "400", "401", "404", "405", "413", "429", "500", "503", "504")
BATCH_SIZE = histogram(
    "harcopa_model_batch_size",
    "Requests run together in one batch by the in-process batcher.",
    buckets=BATCH_BUCKETS,
)


def init_backend(backend: str) -> None:
    """Create the per-backend series at zero, so dashboards see them before any traffic."""
    for metric in (GENERATED_TOKENS, CACHED_PROMPT_TOKENS, PROMPT_TOKENS):
        metric.labels(backend)


def init_http() -> None:
    """Create the HTTP front's series at zero."""
    for endpoint in HTTP_ENDPOINTS:
        for status in HTTP_STATUSES:
            HTTP_REQUESTS.labels(endpoint, status)
