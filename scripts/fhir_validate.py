"""Checks a Dossier export (ZIP of bundle.json and documents/<id>) against the FHIR R4 model of
an independent library (fhir.resources 6.4.0, FHIR 4.0.1), and every document against the
SHA-256 its DocumentReference carries. Exit status 0 when everything holds."""
import base64
import collections
import hashlib
import json
import sys
import zipfile

import fhir.resources
from fhir.resources import construct_fhir_element
from fhir.resources.bundle import Bundle

SHA256_EXTENSION = "urn:dossier:fhir:StructureDefinition:attachment-sha256"


def fail(message):
    print(f"fhir-validate: {message}", file=sys.stderr)
    sys.exit(1)


def main(path):
    assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__
    archive = zipfile.ZipFile(path)
    raw = archive.read("bundle.json")
    data = json.loads(raw)
    bundle = Bundle.parse_raw(raw, content_type="application/json")
    if bundle.type != "collection":
        fail(f"Bundle.type is {bundle.type}, not collection")
    counts = collections.Counter()
    full_urls = set()
    for index, entry in enumerate(data["entry"]):
        resource = entry["resource"]
        kind = resource["resourceType"]
        # Each resource again on its own, with its own model (the Bundle's check is the same).
        model = construct_fhir_element(kind, resource)
        if entry["fullUrl"] in full_urls:
            fail(f"entry {index}: fullUrl {entry['fullUrl']} repeated")
        full_urls.add(entry["fullUrl"])
        counts[kind] += 1
        if kind == "DocumentReference":
            attachment = model.content[0].attachment
            digests = [e.valueBase64Binary for e in (attachment.extension or []) if e.url == SHA256_EXTENSION]
            if len(digests) != 1:
                fail(f"DocumentReference {model.id}: no SHA-256 extension")
            content = archive.read(attachment.url.lstrip("/"))
            if attachment.size is not None and attachment.size != len(content):
                fail(f"DocumentReference {model.id}: size {attachment.size} but {len(content)} bytes in {attachment.url}")
            if base64.b64decode(digests[0]) != hashlib.sha256(content).digest():
                fail(f"DocumentReference {model.id}: {attachment.url} does not match its SHA-256")
    if counts["Patient"] != 1:
        fail(f"{counts['Patient']} Patient resources")
    files = [name for name in archive.namelist() if name.startswith("documents/")]
    if len(files) != counts["DocumentReference"]:
        fail(f"{len(files)} contents for {counts['DocumentReference']} DocumentReferences")
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
    print(f"fhir-validate: {path}: valid FHIR R4 ({fhir.resources.__version__}): {summary}; every SHA-256 matches")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: fhir_validate.py EXPORT.zip")
    main(sys.argv[1])
