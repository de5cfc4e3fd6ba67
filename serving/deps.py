"""``Annotated`` dependencies of the routes: the service and the caller's role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.security import ADMIN, CONTACTS, READ, SCORE, WORKLIST, Principal, role_dependency
from serving.service import Service


async def get_service(request: Request) -> Service:
    """Async on purpose: a plain function dependency would cost a thread-pool hop per request."""
    return request.app.state.service  # type: ignore[no-any-return]


ServiceDep = Annotated[Service, Depends(get_service)]
Reader = Annotated[Principal, Depends(role_dependency(READ))]
Scorer = Annotated[Principal, Depends(role_dependency(SCORE))]
Admin = Annotated[Principal, Depends(role_dependency(ADMIN))]
WorklistReader = Annotated[Principal, Depends(role_dependency(WORKLIST))]
Collector = Annotated[Principal, Depends(role_dependency(CONTACTS))]
"""Who may record contacts: collectors (a CRM integration) and admins."""
