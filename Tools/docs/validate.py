"""Validates every API document in docs/ (run by `make test` through Tools/devstack/docs.sh).

- OpenAPI files (docs/openapi/*.yaml): openapi-spec-validator, the reference validator.
- AsyncAPI files (docs/asyncapi*.yaml): the official AsyncAPI 3.0.0 JSON Schema
  (Tools/docs/asyncapi-3.0.0.schema.json, from asyncapi/spec-json-schemas, Apache-2.0).
- Every document: every internal `$ref` resolves, and YAML keys are unique (a duplicate key
  silently drops text).
- Every golden event (Tests/ContractsTests/Golden/*.json) validates against the payload schema of
  the AsyncAPI message whose `name` is its CloudEvents `type` (each type names exactly one message,
  so a generic tool can map a type to its schema). The Swift tests check that every event type of
  the catalogue has a golden file.
Prints one line per document and exits 1 if any fails.
"""
import glob
import json
import os
import sys

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from openapi_spec_validator import validate as validate_openapi

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


from uniqueyaml import UniqueKeyLoader  # noqa: E402  (one loader for every document check)


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=UniqueKeyLoader)


def dangling_refs(document):
    """Internal references (#/...) that point nowhere."""
    missing = []

    def resolve(pointer):
        node = document
        for part in pointer.lstrip("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return False
        return True

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#") and not resolve(ref):
                missing.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return missing


def main():
    with open(os.path.join(ROOT, "Tools", "docs", "asyncapi-3.0.0.schema.json"), encoding="utf-8") as handle:
        asyncapi_schema = json.load(handle)
    asyncapi = jsonschema.validators.validator_for(asyncapi_schema)(asyncapi_schema)
    failed = 0
    openapi = sorted(glob.glob(os.path.join(ROOT, "docs", "openapi", "*.yaml")))
    asyncapis = sorted(glob.glob(os.path.join(ROOT, "docs", "asyncapi*.yaml")))
    if not openapi or not asyncapis:
        print("docs: no documents found", file=sys.stderr)
        return 1
    for path in openapi + asyncapis:
        name = os.path.relpath(path, ROOT)
        problems = []
        try:
            document = load(path)
            if path in openapi:
                validate_openapi(document)
            else:
                problems += [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in asyncapi.iter_errors(document)]
            problems += [f"$ref {ref} points nowhere" for ref in dangling_refs(document)]
        except Exception as error:  # a parse or validation error names itself
            problems.append(str(error).splitlines()[0][:300])
        if problems:
            failed += 1
            print(f"docs: {name}: INVALID")
            for problem in problems[:20]:
                print(f"  {problem}")
        else:
            print(f"docs: {name}: valid")
    failed += check_golden_events({os.path.relpath(p, ROOT): load(p) for p in asyncapis})
    return 1 if failed else 0


def event_validators(documents):
    """A function from an event to its schema errors (None: no message is named by its type)."""
    messages = {}
    registry = Registry()
    for name, document in documents.items():
        uri = f"urn:hpf:{name}"
        registry = registry.with_resource(uri, Resource(contents=document, specification=DRAFT7))
        for key, message in (document.get("components", {}).get("messages", {}) or {}).items():
            event_type = str(message.get("name", ""))
            if event_type in messages and messages[event_type][0] != uri:
                continue  # the same type in both documents (partner messages): either schema will do
            if event_type in messages:
                raise ValueError(f"{name}: two messages are named {event_type}")
            messages[event_type] = (uri, key)
    cache = {}

    def errors_of(event):
        if event.get("type") not in messages:
            return None
        uri, key = messages[event["type"]]
        if key not in cache:
            cache[key] = jsonschema.Draft7Validator({"$ref": f"{uri}#/components/messages/{key}/payload"}, registry=registry)
        return list(cache[key].iter_errors(event))

    return errors_of, messages


def check_golden_events(documents):
    """Each golden event against its message's payload schema; returns the number of failures."""
    try:
        errors_of, _ = event_validators(documents)
    except ValueError as problem:
        print(f"docs: {problem}")
        return 1
    failed = 0
    golden = sorted(glob.glob(os.path.join(ROOT, "Tests", "ContractsTests", "Golden", "*.json")))
    for path in golden:
        with open(path, encoding="utf-8") as handle:
            event = json.load(handle)
        name = os.path.relpath(path, ROOT)
        errors = errors_of(event)
        if errors is None:
            failed += 1
            print(f"docs: {name}: no AsyncAPI message is named {event.get('type')}")
        elif errors:
            failed += 1
            print(f"docs: {name}: does not match its message")
            for error in errors[:10]:
                print(f"  {'/'.join(map(str, error.absolute_path))}: {error.message[:200]}")
    print(f"docs: {len(golden) - failed} of {len(golden)} golden events match their AsyncAPI schemas")
    return failed


def check_live_events(folder):
    """Every event the suite published during the tests (`hpfctl events-dump`), against the
    AsyncAPI payload of its type: the documents describe what really travels, not only the
    golden examples. Returns 1 when any event does not match."""
    documents = {os.path.relpath(p, ROOT): load(p) for p in sorted(glob.glob(os.path.join(ROOT, "docs", "asyncapi*.yaml")))}
    errors_of, _ = event_validators(documents)
    counts, failures = {}, {}
    for path in sorted(glob.glob(os.path.join(folder, "*.jsonl"))):
        topic = os.path.basename(path)[:-len(".jsonl")]
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind = event.get("type", "?")
                counts[kind] = counts.get(kind, 0) + 1
                errors = errors_of(event)
                if errors is None:
                    errors = [f"no AsyncAPI message is named {kind}"]
                else:
                    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in errors]
                if errors:
                    failures.setdefault(kind, []).append((topic, event.get("id"), errors))
    total = sum(counts.values())
    for kind, found in sorted(failures.items()):
        print(f"events: {kind}: {len(found)} of {counts[kind]} do not match their AsyncAPI message")
        for topic, event_id, errors in found[:3]:
            print(f"  {topic} {event_id}: {'; '.join(errors[:4])}")
    bad = sum(len(found) for found in failures.values())
    print(f"events: {total - bad} of {total} published events ({len(counts)} types) match their AsyncAPI schemas")
    if total == 0:
        print("events: nothing was published: the check saw no events")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--live":
        sys.exit(check_live_events(sys.argv[2]))
    sys.exit(main())
