"""The one switch to Dask: ``--dask ADDRESS`` (or ``PRECOLLECT_DASK_ADDRESS``) on ``features``,
``train`` and ``score``.

``local`` starts a ``LocalCluster`` of one single-threaded worker process per core of this
machine (LightGBM and the feature kernel use their own threads; one per worker keeps the cores
from being oversubscribed); any other value is a scheduler address such as
``tcp://scheduler:8786`` (``dask scheduler`` / ``dask worker``, see the README). While the
context is open its client is Dask's default client, which the steps find with
``distributed.get_client()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

LOCAL = "local"


@contextlib.contextmanager
def dask_client(address: str | None) -> Iterator[Any]:
    """A Dask client for ``address`` (``None``: no cluster, yields ``None``)."""
    if not address:
        yield None
        return
    from distributed import Client, LocalCluster

    # every shuffle (the customer partitioning) is announced at WARNING: not news for a user
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    if address.strip().lower() == LOCAL:
        with (
            LocalCluster(
                n_workers=max(1, os.cpu_count() or 1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    with Client(address, timeout="30s") as client:
        yield client


def current_client() -> Any:
    """The client of the enclosing :func:`dask_client` (Dask's default client)."""
    from distributed import get_client

    return get_client()
