"""Operational endpoints: liveness, readiness and Prometheus metrics (outside ``/v1``)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import RuntimeDep

router = APIRouter(tags=["运维"])


@router.get("/healthz", summary="存活检查")
def healthz() -> dict[str, str]:
    """200 while the process is alive (models may still be loading)."""
    return {"status": "ok"}


@router.get("/readyz", summary="就绪检查", responses={503: {"description": "尚未就绪（附中文原因）"}})
def readyz(runtime: RuntimeDep, request: Request) -> JSONResponse:
    """200 once models and the index are loaded; 503 with a Chinese reason before."""
    ready, reason = runtime.readiness()
    request.app.state.metrics.ready.set(1 if ready else 0)
    if ready:
        knowledge = runtime.knowledge
        return JSONResponse(
            {
                "status": "ready",
                "documents": len(knowledge.store.documents),
                "chunks": len(knowledge.store.chunks),
                # Which worker process answered (a random id, not the pid): a load balancer or
                # the bench can wait until every worker has said ready.
                "instance": _instance_id(request),
            }
        )
    return JSONResponse(
        {"status": "not_ready", "reason": reason}, status_code=503, headers={"Retry-After": "5"}
    )


def _instance_id(request: Request) -> str:
    state = request.app.state
    if not hasattr(state, "instance_id"):
        state.instance_id = secrets.token_hex(4)
    return str(state.instance_id)


@router.get("/metrics", summary="Prometheus 指标", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus exposition of this app's registry."""
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
