"""JSON API routers (mounted under ``/v1``) and the operational endpoints."""
