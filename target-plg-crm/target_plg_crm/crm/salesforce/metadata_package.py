"""A metadata package of the fields the target needs, for an admin to deploy.

Metadata API format, deployable with `sf project deploy start --metadata-dir <folder>`
(or Workbench): `package.xml`, `objects/<SObject>.object` holding the custom fields, and
`permissionsets/<name>.permissionset` granting read and edit on each of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from target_plg_crm.crm.salesforce.fields import FieldSpec

API_VERSION = "62.0"
#: The one value of a picklist whose values no record carried yet.
NO_VALUE_YET = "none"
NAMESPACE = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def _field_xml(spec: FieldSpec) -> str:
    lines = [f"<fullName>{spec.api_name}</fullName>", f"<label>{escape(spec.label)}</label>"]
    lines.append(f"<type>{spec.type}</type>")
    metadata = spec.metadata()
    for key in ("precision", "scale", "length", "visibleLines", "defaultValue"):
        if key in metadata:
            lines.append(f"<{key}>{metadata[key]}</{key}>")
    if spec.external_id:
        lines += ["<externalId>true</externalId>", "<unique>true</unique>"]
        lines.append("<caseSensitive>true</caseSensitive>")
    if spec.type in ("Picklist", "MultiselectPicklist"):
        # A picklist needs one value; an unrestricted one takes new values as they come.
        values = "".join(
            f"<value><fullName>{escape(v)}</fullName><default>false</default>"
            f"<label>{escape(v)}</label></value>"
            for v in spec.values or (NO_VALUE_YET,)
        )
        lines.append(
            "<valueSet><restricted>false</restricted><valueSetDefinition>"
            f"<sorted>false</sorted>{values}</valueSetDefinition></valueSet>"
        )
    return "    <fields>\n" + "".join(f"        {line}\n" for line in lines) + "    </fields>\n"


def write_metadata_package(folder: Path, specs: Sequence[FieldSpec], permission_set: str) -> Path:
    """Write the package of `specs` into `folder` (replacing its files); returns the folder."""
    by_object: dict[str, list[FieldSpec]] = defaultdict(list)
    for spec in specs:
        by_object[spec.sobject].append(spec)
    (folder / "objects").mkdir(parents=True, exist_ok=True)
    (folder / "permissionsets").mkdir(parents=True, exist_ok=True)
    for sobject, fields in by_object.items():
        body = "".join(_field_xml(s) for s in fields)
        (folder / "objects" / f"{sobject}.object").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject {NAMESPACE}>\n{body}'
            "</CustomObject>\n",
            encoding="utf-8",
        )
    grants = "".join(
        f"    <fieldPermissions>\n        <editable>true</editable>\n"
        f"        <field>{s.full_name}</field>\n        <readable>true</readable>\n"
        "    </fieldPermissions>\n"
        for s in specs
    )
    (folder / "permissionsets" / f"{permission_set}.permissionset").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<PermissionSet {NAMESPACE}>\n{grants}'
        f"    <label>{escape(permission_set.replace('_', ' '))}</label>\n</PermissionSet>\n",
        encoding="utf-8",
    )
    members = "".join(f"        <members>{s.full_name}</members>\n" for s in specs)
    (folder / "package.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Package {NAMESPACE}>\n'
        f"    <types>\n{members}        <name>CustomField</name>\n    </types>\n"
        f"    <types>\n        <members>{permission_set}</members>\n"
        "        <name>PermissionSet</name>\n    </types>\n"
        f"    <version>{API_VERSION}</version>\n</Package>\n",
        encoding="utf-8",
    )
    return folder
