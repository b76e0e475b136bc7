"""Admin upload of policy documents into the default knowledge base, as background jobs."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile

from api.deps import RuntimeDep, require
from api.jobs import JobRunner
from api.login import client_ip
from api.models import IngestJob
from api.schemas import JobAccepted, JobFile, JobOut
from api.uploadfiles import ALLOWED_SUFFIXES, MAX_FILES_PER_UPLOAD, safe_filename, sniff_mismatch
from api.users import PERM_DOCUMENTS_WRITE, Principal

router = APIRouter(tags=["政策文件管理"])

_CHUNK = 1 << 20


def _runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


async def _save_limited(upload: UploadFile, target: Path, limit: int) -> int:
    """Copy an upload to ``target``; 413 as soon as it exceeds ``limit`` bytes."""
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(
                    status_code=413,
                    detail=f"文件“{upload.filename}”超过大小上限 {limit // (1 << 20)} MB。",
                )
            out.write(chunk)
    return size


@router.post(
    "/documents",
    response_model=JobAccepted,
    status_code=202,
    summary="上传政策文件并导入（管理员）",
    responses={413: {"description": "文件过大"}, 415: {"description": "不支持的文件类型"}},
)
async def upload_documents(
    request: Request,
    runtime: RuntimeDep,
    principal: Annotated[Principal, Depends(require(PERM_DOCUMENTS_WRITE))],
    files: Annotated[list[UploadFile], File(description="政策文件（.md .txt .docx .pdf .html）")],
) -> JobAccepted:
    """Save the files and ingest them into the default KB in a background job.

    All files are checked first (type, size); nothing is ingested if any is refused.
    Progress and per-file errors: ``GET /v1/jobs/{job_id}``.
    """
    runtime.knowledge  # noqa: B018 - 503 while models load: the job needs the serving store
    if not files:
        raise HTTPException(status_code=422, detail="请至少选择一个文件。")
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise HTTPException(status_code=422, detail=f"一次最多上传 {MAX_FILES_PER_UPLOAD} 个文件。")
    names: list[str] = []
    for upload in files:
        name = safe_filename(upload.filename or "")
        suffix = Path(name).suffix.lower()
        if not name or suffix not in ALLOWED_SUFFIXES:
            raise HTTPException(
                status_code=415,
                detail=f"不支持的文件类型：“{upload.filename}”。仅支持 {' '.join(ALLOWED_SUFFIXES)} 文件。",
            )
        if name in names:
            raise HTTPException(status_code=422, detail=f"文件名重复：“{name}”。")
        names.append(name)

    runner = _runner(request)
    job_id = runner.new_job_id()
    staging = runner.staging_dir(job_id)
    staging.mkdir(parents=True, exist_ok=True)
    limit = runtime.settings.max_upload_mb * (1 << 20)
    saved: list[tuple[str, int]] = []
    mismatched: list[str] = []
    try:
        for upload, name in zip(files, names, strict=True):
            target = staging / name
            size = await _save_limited(upload, target, limit)
            with target.open("rb") as fh:
                head = fh.read(8192)
            if sniff_mismatch(Path(name).suffix.lower(), head):
                mismatched.append(name)
            saved.append((name, size))
        # One stray file in a folder is reported by the job and skipped, not a reason to refuse
        # the others; an upload with nothing else in it is refused here.
        if mismatched and len(mismatched) == len(saved):
            raise HTTPException(status_code=415, detail=f"文件“{mismatched[0]}”的内容与扩展名不符。")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    runtime.users.audit(
        principal.audit_name,
        "documents.upload",
        f"job:{job_id}",
        {"files": [{"name": n, "size": s} for n, s in saved]},
        ip=client_ip(request),
    )
    runner.submit(job_id, saved, principal.audit_name)
    return JobAccepted(job_id=job_id, status="queued", files=names, status_url=f"/v1/jobs/{job_id}")


@router.get("/jobs/{job_id}", response_model=JobOut, summary="导入任务进度（管理员）")
def get_job(
    job_id: str,
    request: Request,
    _principal: Annotated[Principal, Depends(require(PERM_DOCUMENTS_WRITE))],
) -> JobOut:
    """Status, progress and per-file errors of an ingest job."""
    return _job_out(_runner(request).get(job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, summary="取消导入任务（管理员）")
def cancel_job(
    job_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require(PERM_DOCUMENTS_WRITE))],
) -> JobOut:
    """Cancel a queued or running job: it stops within its current file (ingested files stay)."""
    job = _runner(request).cancel(job_id)
    request.app.state.runtime.users.audit(
        principal.audit_name, "documents.cancel", f"job:{job_id}", {}, ip=client_ip(request)
    )
    return _job_out(job)


def _job_out(job: IngestJob) -> JobOut:
    return JobOut(
        id=job.id,
        status=job.status,
        total=job.total,
        processed=job.processed,  # type: ignore[arg-type]
        files=[JobFile(**f) for f in job.files],
        error=job.error,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
