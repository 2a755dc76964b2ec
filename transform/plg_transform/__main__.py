"""`python -m plg_transform`: the same command line as `plg-transform`."""

from plg_transform.mapper import PLGTransform

PLGTransform.cli()
