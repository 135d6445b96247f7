#!/usr/bin/env python3
"""Validate a KubeVirt VirtualMachine (JSON) against KubeVirt's OpenAPI schema.

usage: validate.py SWAGGER_JSON MANIFEST_JSON

Strict, as `kubectl apply --validate=strict`: every object definition that
lists its properties, and every empty v1 struct, gets additionalProperties:
false, so a misspelt or invented field fails instead of being ignored. Swagger 2.0 schemas are a
subset of JSON Schema draft 4, which python3-jsonschema implements.
Prints each error with its JSON path; exits 1 when there is any.
"""
import json
import sys

import jsonschema


def strict(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)


def main():
    swagger_path, manifest_path = sys.argv[1:3]
    with open(swagger_path) as f:
        swagger = json.load(f)
    with open(manifest_path) as f:
        manifest = json.load(f)
    definitions = swagger["definitions"]
    strict(definitions)
    # KubeVirt's empty structs (v1.TDX, v1.SEVSNP, ...) are {"type": "object"}
    # with no properties: Go's strict decoding accepts no field in them either.
    for name, definition in definitions.items():
        if name.startswith("v1.") and definition.get("type") == "object" and not (
                {"properties", "additionalProperties", "x-kubernetes-preserve-unknown-fields"} & definition.keys()):
            definition["additionalProperties"] = False
    schema = {"definitions": definitions, "$ref": "#/definitions/v1.VirtualMachine"}
    validator = jsonschema.Draft4Validator(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    for e in errors:
        path = "/".join(str(p) for p in e.absolute_path) or "(root)"
        print(f"{manifest_path}: {path}: {e.message}")
    if manifest.get("apiVersion") != "kubevirt.io/v1" or manifest.get("kind") != "VirtualMachine":
        print(f"{manifest_path}: expected apiVersion kubevirt.io/v1 and kind VirtualMachine")
        return 1
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
