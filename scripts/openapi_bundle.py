#!/usr/bin/env python3
"""Bundles finsync's OpenAPI sources into one OpenAPI 3.1 JSON document.

Sources (api/openapi/):
  openapi.yaml          the root: openapi, info, servers, security, tags, shared components
  paths/<area>.yaml     one file per API area: `tags`, `paths` (and, rarely, `components`)
  schemas/<area>.yaml   the area's `components` (schemas, parameters, responses, examples...)

Every area file has the same shape as a piece of the root: any of the top-level keys `tags`,
`paths` and `components`. The bundle is the root with every area's tags appended and its paths
and components merged in. A path, a tag or a component name defined twice is an error, so two
areas can never silently replace each other's definitions.

References: `#/components/...` points into the bundled document (the usual form inside area
files). A reference to another file, `../schemas/banks.yaml#/components/schemas/Bank`, is
rewritten to the bundled location when that file is part of the bundle, and any other file
(`../examples/rule.json`) is inlined. Every reference must resolve in the bundle, or the bundle
fails naming the file that holds it.

Needs only Debian's python3 and python3-yaml; no network.

Usage: openapi_bundle.py [--source DIR] [--output FILE] [--check]
  --source  the sources (default: api/openapi beside this script's repository)
  --output  where to write the JSON (default: standard output)
  --depfile write a Ninja/Make depfile listing every source read (for the build)
  --pretty  indent the JSON
"""

import argparse
import json
import os
import pathlib
import sys

import yaml

COMPONENT_SECTIONS = ("schemas", "responses", "parameters", "examples", "requestBodies",
                      "headers", "securitySchemes", "links", "callbacks", "pathItems")
AREA_KEYS = ("tags", "paths", "components")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class BundleError(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """YAML 1.2-ish: only true/false are booleans and dates stay strings (a JSON document has
    no date type, and `on`, `off`, `yes`, `no` are ordinary words in examples). Duplicate keys
    are errors instead of silently keeping the last."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    import re as _re
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).append(
        ("tag:yaml.org,2002:bool", _re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")))


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise BundleError(f"{node.start_mark.name}:{key_node.start_mark.line + 1}: "
                              f"duplicate key {key!r}")
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as source:
            if str(path).endswith(".json"):
                return json.load(source)
            return yaml.load(source, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except (OSError, yaml.YAMLError, ValueError) as error:
        raise BundleError(f"{path}: {error}") from None


def escape_pointer_token(token):
    return token.replace("~", "~0").replace("/", "~1")


def unescape_pointer_token(token):
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(document, pointer):
    """The value at a JSON pointer ('' or '/a/b'); KeyError when there is none."""
    if pointer in ("", "/"):
        return document
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    value = document
    for raw in pointer[1:].split("/"):
        token = unescape_pointer_token(raw)
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise KeyError(pointer)
    return value


class Bundler:
    def __init__(self, source_directory):
        self.source = pathlib.Path(source_directory).resolve()
        self.root_path = self.source / "openapi.yaml"
        self.area_paths = sorted(self.source.glob("paths/*.yaml")) + \
            sorted(self.source.glob("schemas/*.yaml"))
        self.bundled_files = {self.root_path, *self.area_paths}
        self.read_files = set(self.bundled_files)
        self.documents = {}

    def document(self, path):
        if path not in self.documents:
            self.documents[path] = load_yaml(path)
            self.read_files.add(path)
        return self.documents[path]

    def bundle(self):
        root = self.document(self.root_path)
        if not isinstance(root, dict):
            raise BundleError(f"{self.root_path}: not a mapping")
        if root.get("openapi") != "3.1.0":
            raise BundleError(f"{self.root_path}: openapi must be 3.1.0")
        result = self.rewrite(root, self.root_path)
        result.setdefault("tags", [])
        result.setdefault("paths", {})
        result.setdefault("components", {})
        tag_origin = {tag["name"]: self.root_path for tag in result["tags"]}
        path_origin = {path: self.root_path for path in result["paths"]}
        component_origin = {(section, name): self.root_path
                            for section, entries in result["components"].items()
                            for name in entries}
        for area_path in self.area_paths:
            area = self.document(area_path)
            if area is None:
                continue
            if not isinstance(area, dict):
                raise BundleError(f"{area_path}: not a mapping")
            unknown = sorted(set(area) - set(AREA_KEYS))
            if unknown:
                raise BundleError(f"{area_path}: unknown top-level keys {unknown}; an area file "
                                  f"holds only {', '.join(AREA_KEYS)}")
            area = self.rewrite(area, area_path)
            for tag in area.get("tags") or []:
                if tag["name"] in tag_origin:
                    raise BundleError(f"{area_path}: tag {tag['name']!r} is already defined in "
                                      f"{self.relative(tag_origin[tag['name']])}")
                tag_origin[tag["name"]] = area_path
                result["tags"].append(tag)
            for path, item in (area.get("paths") or {}).items():
                if path in path_origin:
                    raise BundleError(f"{area_path}: path {path} is already defined in "
                                      f"{self.relative(path_origin[path])}")
                path_origin[path] = area_path
                result["paths"][path] = item
            for section, entries in (area.get("components") or {}).items():
                if section not in COMPONENT_SECTIONS:
                    raise BundleError(f"{area_path}: unknown components section {section!r}")
                target = result["components"].setdefault(section, {})
                for name, value in (entries or {}).items():
                    if (section, name) in component_origin:
                        raise BundleError(
                            f"{area_path}: components/{section}/{name} is already defined in "
                            f"{self.relative(component_origin[(section, name)])}")
                    component_origin[(section, name)] = area_path
                    target[name] = value
        self.check(result, path_origin, component_origin)
        return result

    def relative(self, path):
        try:
            return str(path.relative_to(self.source.parent.parent))
        except ValueError:
            return str(path)

    def rewrite(self, value, origin, stack=()):
        """A copy of `value` with file references rewritten or inlined."""
        if isinstance(value, list):
            return [self.rewrite(item, origin, stack) for item in value]
        if not isinstance(value, dict):
            return value
        reference = value.get("$ref")
        if isinstance(reference, str) and not reference.startswith("#"):
            file_part, _, pointer = reference.partition("#")
            target = (origin.parent / file_part).resolve()
            if not target.is_file():
                raise BundleError(f"{self.relative(origin)}: $ref {reference}: no such file")
            if target in self.bundled_files:
                if not pointer.startswith("/"):
                    raise BundleError(f"{self.relative(origin)}: $ref {reference} must point "
                                      f"inside the file (#/components/...)")
                siblings = {k: self.rewrite(v, origin, stack) for k, v in value.items()
                            if k != "$ref"}
                try:
                    resolve_pointer(self.document(target), pointer)
                except KeyError:
                    raise BundleError(f"{self.relative(origin)}: $ref {reference}: "
                                      f"{pointer} is not in {self.relative(target)}") from None
                return {"$ref": "#" + pointer, **siblings}
            key = (target, pointer)
            if key in stack:
                raise BundleError(f"{self.relative(origin)}: $ref {reference} is circular")
            try:
                inlined = resolve_pointer(self.document(target), pointer)
            except KeyError:
                raise BundleError(f"{self.relative(origin)}: $ref {reference}: {pointer} is "
                                  f"not in {self.relative(target)}") from None
            return self.rewrite(inlined, target, stack + (key,))
        return {key: self.rewrite(item, origin, stack) for key, item in value.items()}

    def check(self, document, path_origin, component_origin):
        """Every local reference resolves; operation ids are unique."""
        def walk(value, where):
            if isinstance(value, dict):
                for key, item in value.items():
                    # `{description: Not found, try again}` in YAML flow style makes the text
                    # after the comma a key without a value: quote such descriptions. Outside
                    # examples only `default` and `const` may be null.
                    if item is None and key not in ("default", "const"):
                        raise BundleError(f"{where}: key {key!r} has no value (an unquoted "
                                          f"comma in a flow-style mapping?)")
                reference = value.get("$ref")
                if isinstance(reference, str):
                    try:
                        resolve_pointer(document, reference[1:])
                    except KeyError:
                        raise BundleError(f"{where}: dangling $ref {reference}") from None
                for key, item in value.items():
                    if key not in ("example", "examples") or not isinstance(item, (dict, list)):
                        walk(item, where)
                    elif key == "examples" and isinstance(item, dict):
                        for example in item.values():
                            if isinstance(example, dict) and "$ref" in example:
                                walk(example, where)
            elif isinstance(value, list):
                for item in value:
                    walk(item, where)

        for path, item in document["paths"].items():
            walk(item, f"{self.relative(path_origin[path])}: paths {path}")
        for section, entries in document["components"].items():
            for name, value in entries.items():
                if section == "examples" and isinstance(value, dict):
                    value = {k: v for k, v in value.items() if k != "value"}  # Data, not schema.
                walk(value, f"{self.relative(component_origin[(section, name)])}: "
                            f"components/{section}/{name}")
        operation_ids = {}
        for path, item in document["paths"].items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if not isinstance(operation, dict):
                    continue
                operation_id = operation.get("operationId")
                if operation_id is None:
                    continue
                if operation_id in operation_ids:
                    raise BundleError(f"{self.relative(path_origin[path])}: operationId "
                                      f"{operation_id} of {method.upper()} {path} is also used "
                                      f"by {operation_ids[operation_id]}")
                operation_ids[operation_id] = f"{method.upper()} {path}"


def bundle(source_directory):
    """The bundled document as a dict (raises BundleError)."""
    return Bundler(source_directory).bundle()


def main(argv=None):
    repository = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default=str(repository / "api" / "openapi"))
    parser.add_argument("--output")
    parser.add_argument("--depfile")
    parser.add_argument("--pretty", action="store_true", help="indent the JSON (for reading "
                        "and for linter messages with useful line numbers)")
    arguments = parser.parse_args(argv)
    bundler = Bundler(arguments.source)
    try:
        document = bundler.bundle()
    except BundleError as error:
        print(f"openapi_bundle: {error}", file=sys.stderr)
        return 1
    if arguments.pretty:
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    else:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if arguments.output:
        output = pathlib.Path(arguments.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        # Rewrite only on change so the build does not recompile the embedding needlessly.
        if not output.exists() or output.read_text(encoding="utf-8") != text:
            temporary = output.with_suffix(output.suffix + ".tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, output)
    else:
        sys.stdout.write(text)
    if arguments.depfile:
        sources = " ".join(str(path).replace(" ", "\\ ") for path in sorted(bundler.read_files))
        pathlib.Path(arguments.depfile).write_text(f"{arguments.output}: {sources}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
