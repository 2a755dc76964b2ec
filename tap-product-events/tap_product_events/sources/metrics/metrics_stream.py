"""The `metrics` stream: backend metrics from SQL queries and internal JSON endpoints.

The endpoints are read with singer-sdk's REST machinery (requests session, retries of
429/5xx and connection errors with backoff, paginators from singer_sdk.pagination); one
stream serves every endpoint in turn, then the stream is a plain snapshot: no bookmark.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from urllib.parse import ParseResult, parse_qsl, urljoin

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath

from tap_product_events.malformed import MalformedLineReport
from tap_product_events.segment_messages import MalformedMessageError
from tap_product_events.sources.metrics.endpoint_paging import endpoint_paginator
from tap_product_events.sources.metrics.metric_records import KEY, SCHEMA, STREAM_NAME, EntityShape
from tap_product_events.sources.metrics.metrics_queries import MetricsQueries
from tap_product_events.sources.metrics.settings import MetricsEndpoint, MetricsQuery

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator
    from singer_sdk.streams.rest import HTTPRequest, PageContext


class MetricsStream(RESTStream[t.Any]):
    """Backend metrics: `metrics_queries` first, then each of `metrics_endpoints`."""

    name = STREAM_NAME
    primary_keys: t.ClassVar[list[str]] = list(KEY)
    path = ""

    def __init__(
        self,
        tap: Tap,
        queries: t.Sequence[MetricsQuery],
        endpoints: t.Sequence[MetricsEndpoint],
        *,
        strict: bool,
    ) -> None:
        super().__init__(tap, schema=SCHEMA, name=STREAM_NAME)
        self.queries = queries
        self.endpoints = endpoints
        self.strict = strict
        self.endpoint: MetricsEndpoint | None = None
        self.run_started = dt.datetime.now(dt.UTC).replace(microsecond=0)

    @property
    def url_base(self) -> str:
        """The endpoint being read."""
        return self.endpoint.url if self.endpoint else ""

    def get_url(self, context: Context | None) -> str:
        """The endpoint's URL as configured (no path templating)."""
        return self.url_base

    @property
    def http_headers(self) -> dict[str, str]:
        """The SDK's headers plus the endpoint's auth header (a secret: never logged)."""
        headers = dict(super().http_headers)
        if self.endpoint is not None and self.endpoint.auth_header:
            headers[self.endpoint.auth_header_name] = self.endpoint.auth_header
        return headers

    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        """The endpoint's paginator (singer_sdk.pagination)."""
        assert self.endpoint is not None
        return endpoint_paginator(self.endpoint)

    def get_http_request(self, *, page: PageContext[t.Any]) -> HTTPRequest:
        """The first page's request, or the next page's by link, page number or offset."""
        request = super().get_http_request(page=page)
        assert self.endpoint is not None
        token = page.next_page_token
        pagination = self.endpoint.pagination
        params: dict[str, t.Any] = dict(self.endpoint.params)
        if isinstance(token, ParseResult):
            # A next link carries its own query; a relative one is resolved on the URL.
            request.url = urljoin(self.endpoint.url, token._replace(query="").geturl())
            params = dict(parse_qsl(token.query))
        elif pagination.style == "page":
            params[pagination.page_param] = token
        elif pagination.style == "offset":
            params[pagination.offset_param] = token
        if pagination.size_param and not isinstance(token, ParseResult):
            params[pagination.size_param] = pagination.size
        request.params = params
        return request

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        """The records at the endpoint's `records_path`."""
        assert self.endpoint is not None
        yield from extract_jsonpath(self.endpoint.records_path, response.json())

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """This run's metric values: queries, then endpoints; failures reported, not fatal."""
        report = MalformedLineReport(self.logger, strict=self.strict)
        if self.queries:
            yield from MetricsQueries(self.queries, self.logger, report, self.run_started).records()
        for endpoint in self.endpoints:
            yield from self._endpoint_records(endpoint, context, report)
        report.log_summary()

    def _endpoint_records(
        self, endpoint: MetricsEndpoint, context: Context | None, report: MalformedLineReport
    ) -> t.Iterator[dict[str, t.Any]]:
        self.endpoint = endpoint
        location = f"metrics endpoint {endpoint.name!r}"
        shape = EntityShape(
            endpoint.entity,
            endpoint.user_id_field,
            endpoint.account_id_field,
            endpoint.metric_fields,
            endpoint.observed_at_field,
        )
        started = self.run_started.strftime("%Y-%m-%dT%H:%M:%SZ")
        emitted = 0
        try:
            for raw in self.request_records(context):
                if not isinstance(raw, dict):
                    report.report_row(location, repr(raw)[:80], "not a JSON object")
                    continue
                fields = shape.metric_fields(k for k, v in raw.items() if _is_scalar(v))
                try:
                    records = shape.records(raw, fields, started)
                except MalformedMessageError as exc:
                    report.report_row(location, shape.row_key(raw), str(exc))
                    continue
                emitted += len(records)
                yield from records
        except (FatalAPIError, RetriableAPIError, requests.RequestException, ValueError) as exc:
            # The URL is not secret; the auth header never appears in these messages.
            report.report_failure(
                location, f"{type(exc).__name__}: {exc}", "its metrics are missing this run"
            )
        finally:
            self.endpoint = None
        self.logger.info("%s: %d metric values", location, emitted)


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
