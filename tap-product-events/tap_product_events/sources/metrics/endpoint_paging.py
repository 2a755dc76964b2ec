"""How a metrics endpoint pages: singer-sdk paginators set up from its `pagination`."""

from __future__ import annotations

import typing as t

import requests
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.pagination import (
    BaseAPIPaginator,
    BaseHATEOASPaginator,
    HeaderLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    SinglePagePaginator,
)

from tap_product_events.sources.metrics.settings import MetricsEndpoint


class NextLinkPaginator(BaseHATEOASPaginator):
    """The next page's URL found in the response body at a JSONPath (e.g. `$.next`)."""

    def __init__(self, next_path: str) -> None:
        super().__init__()
        self.next_path = next_path

    def get_next_url(self, response: requests.Response) -> str | None:  # noqa: D102
        found = next(extract_jsonpath(self.next_path, response.json()), None)
        return found if isinstance(found, str) and found else None


class _SizedPages:
    """Stops when a page has fewer records than the page size (one request less)."""

    def __init__(self, endpoint: MetricsEndpoint) -> None:
        self.endpoint = endpoint

    def full_page(self, response: requests.Response) -> bool:
        if self.endpoint.pagination.size_param is None:
            return True  # unknown size: stop at the first page without records
        found = sum(1 for _ in extract_jsonpath(self.endpoint.records_path, response.json()))
        return found >= self.endpoint.pagination.size


class PageNumbers(PageNumberPaginator):
    """`page=1,2,3...`; stops at a short or empty page."""

    def __init__(self, endpoint: MetricsEndpoint) -> None:
        super().__init__(endpoint.pagination.first_page)
        self.sized = _SizedPages(endpoint)

    def has_more(self, response: requests.Response) -> bool:  # noqa: D102
        return self.sized.full_page(response)


class Offsets(OffsetPaginator):
    """`offset=0,size,2*size...`; stops at a short or empty page."""

    def __init__(self, endpoint: MetricsEndpoint) -> None:
        super().__init__(0, endpoint.pagination.size)
        self.sized = _SizedPages(endpoint)

    def has_more(self, response: requests.Response) -> bool:  # noqa: D102
        return self.sized.full_page(response)


def endpoint_paginator(endpoint: MetricsEndpoint) -> BaseAPIPaginator[t.Any]:
    """The paginator of the endpoint's `pagination.style`."""
    style = endpoint.pagination.style
    if style == "next_link":
        return NextLinkPaginator(endpoint.pagination.next_path)
    if style == "link_header":
        return HeaderLinkPaginator()
    if style == "page":
        return PageNumbers(endpoint)
    if style == "offset":
        return Offsets(endpoint)
    return SinglePagePaginator()
