"""Archives in object storage: `s3://`, `gs://` and `az://` globs, read through fsspec.

Objects are whole (an upload replaces an object, never appends to it), so an object's
bookmark is its identity: `{"size", "etag"}` (S3, Azure) or `{"size", "generation"}`
(GCS). An object whose identity changed is read again wholly; its messages keep their
`messageId`, and the transform counts a `messageId` once. Credentials come from the usual
environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_*) or from the secret
`storage_options` setting. The filesystem packages are extras: `tap-product-events[s3]`,
`[gcs]`, `[azure]`.
"""

from __future__ import annotations

import contextlib
import gzip
import typing as t

from tap_product_events.sources.archives.settings import SUPPORTED_SUFFIXES

# URL scheme -> (fsspec protocol, storage_options key, extra that installs it)
REMOTE_SCHEMES = {
    "s3": ("s3", "s3", "s3"),
    "gs": ("gcs", "gcs", "gcs"),
    "gcs": ("gcs", "gcs", "gcs"),
    "az": ("az", "azure", "azure"),
    "abfs": ("abfs", "azure", "azure"),
}


class ObjectStorageError(Exception):
    """A bucket could not be listed: no filesystem package, no credentials, no bucket."""


def scheme_of(pattern: str) -> str | None:
    """The object-storage scheme of a glob (`s3`), or None for a local path."""
    head, sep, _ = pattern.partition("://")
    return head.lower() if sep and head.lower() in REMOTE_SCHEMES else None


def object_identity(info: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What says an object is the one already read: its size and ETag or generation."""
    mark: dict[str, t.Any] = {"size": int(info.get("size") or 0)}
    generation = info.get("generation")
    etag = info.get("ETag") or info.get("etag")
    if generation is not None:
        mark["generation"] = str(generation)
    elif etag is not None:
        mark["etag"] = str(etag).strip('"')
    else:  # a store without either: the modification time stands in
        mark["modified"] = str(info.get("LastModified") or info.get("last_modified") or "")
    return mark


class RemoteArchives:
    """Lists the objects that remote globs match and opens them (gzip by name)."""

    def __init__(self, storage_options: t.Mapping[str, t.Mapping[str, t.Any]]) -> None:
        self.storage_options = storage_options
        self._filesystems: dict[str, t.Any] = {}

    def _filesystem(self, scheme: str) -> t.Any:
        protocol, options_key, extra = REMOTE_SCHEMES[scheme]
        if protocol not in self._filesystems:
            try:
                import fsspec

                options = dict(self.storage_options.get(options_key) or {})
                self._filesystems[protocol] = fsspec.filesystem(protocol, **options)
            except ImportError as exc:
                raise ObjectStorageError(
                    f"cannot read {scheme}:// objects ({exc}): "
                    f"pip install 'tap-product-events[{extra}]'"
                ) from None
        return self._filesystems[protocol]

    def find(self, pattern: str) -> dict[str, dict[str, t.Any]]:
        """URL -> identity of each archive object the glob matches (a prefix: all below)."""
        scheme = scheme_of(pattern)
        assert scheme is not None
        fs = self._filesystem(scheme)
        try:
            matches = fs.glob(pattern, detail=True)
            if not matches and not any(c in pattern for c in "*?["):
                matches = fs.find(pattern, detail=True)
            found: dict[str, dict[str, t.Any]] = {}
            for path, info in matches.items():
                if info.get("type") == "directory":
                    below = fs.find(path, detail=True)
                    items = list(below.items())
                else:
                    items = [(path, info)]
                for key, detail in items:
                    if str(key).lower().endswith(SUPPORTED_SUFFIXES):
                        found[f"{scheme}://{fs._strip_protocol(key)}"] = object_identity(detail)
            return found
        except OSError as exc:
            raise ObjectStorageError(f"cannot list {pattern}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - botocore/google/azure errors: no common base
            raise ObjectStorageError(
                f"cannot list {pattern}: {type(exc).__name__}: {exc}"
            ) from None

    @contextlib.contextmanager
    def open_lines(self, url: str) -> t.Iterator[t.IO[bytes]]:
        """The object's bytes (gunzipped when its name ends in .gz), as a binary file."""
        scheme = scheme_of(url)
        assert scheme is not None
        with self._filesystem(scheme).open(url, "rb") as handle:
            if url.lower().endswith(".gz"):
                with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
                    yield t.cast(t.IO[bytes], unzipped)
            else:
                yield t.cast(t.IO[bytes], handle)
