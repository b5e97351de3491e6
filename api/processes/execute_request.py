"""Reading and validating an execute request (``POST /processes/{id}/execution``) against the description.

Each input is checked against its JSON Schema and its ``minOccurs``/``maxOccurs``; the first
problem is a 400 naming the input. A qualified value (``{"value": …, "mediaType": …}``) is
unwrapped; references (``{"href": …}``) are refused, since One Map fetches nothing from outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry

from analysis.contract import ProcessDefinition
from api.errors import ApiError

QUALIFIED_KEYS = frozenset({"value", "mediaType", "encoding", "schema"})
REQUEST_KEYS = frozenset({"inputs", "outputs", "response", "subscriber"})


class InvalidExecuteRequest(ApiError):
    """400: the execute request, or one of its inputs, is not what the process description allows."""

    type_slug = "invalid-input"
    title = "Invalid process input"

    def __init__(self, detail: str, *, input_name: str | None = None) -> None:
        super().__init__(detail, extra={"input": input_name} if input_name else None)
        self.input_name = input_name


@dataclass(frozen=True, slots=True)
class ExecuteRequest:
    """A validated request: plain input values, the outputs wanted (None: all) and raw/document."""

    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    response: str


def parse_execute_request(definition: ProcessDefinition, body: Any) -> ExecuteRequest:
    """Validate ``body`` (the decoded JSON) against ``definition``.

    Raises:
        InvalidExecuteRequest: 400, naming the input when one input is at fault.
    """
    if not isinstance(body, dict):
        raise InvalidExecuteRequest("the execute request must be a JSON object with 'inputs'")
    unknown = sorted(set(body) - REQUEST_KEYS)
    if unknown:
        raise InvalidExecuteRequest(f"unknown member {unknown[0]!r} in the execute request")
    if body.get("subscriber") is not None:
        raise InvalidExecuteRequest("callbacks (subscriber) are not offered; poll the job instead")
    response = body.get("response", "raw")
    if response not in ("raw", "document"):
        raise InvalidExecuteRequest("response must be 'raw' or 'document'")
    raw_inputs = body.get("inputs", {})
    if not isinstance(raw_inputs, dict):
        raise InvalidExecuteRequest("inputs must be an object from input name to value")
    return ExecuteRequest(inputs=check_inputs(definition, raw_inputs),
                          outputs=_check_outputs(definition, body.get("outputs")), response=response)


def check_inputs(definition: ProcessDefinition, given: dict[str, Any]) -> dict[str, Any]:
    """Plain input values, each valid against its schema and occurrence counts."""
    unknown = sorted(set(given) - set(definition.inputs))
    if unknown:
        raise InvalidExecuteRequest(
            f"{definition.id} has no input {unknown[0]!r}; its inputs are {', '.join(sorted(definition.inputs))}",
            input_name=unknown[0],
        )
    out: dict[str, Any] = {}
    for name, spec in definition.inputs.items():
        if name not in given or given[name] is None:
            if int(spec.get("minOccurs", 1)) > 0:
                raise InvalidExecuteRequest(f"the input {name!r} is required", input_name=name)
            continue
        out[name] = _check_one(name, spec, given[name])
    return out


def _check_one(name: str, spec: dict[str, Any], value: Any) -> Any:
    max_occurs = spec.get("maxOccurs", 1)
    several = max_occurs == "unbounded" or int(max_occurs) > 1
    schema = spec.get("schema", {})
    if several and isinstance(value, list) and not _is_array_schema(schema):
        values = [_unwrap(name, v) for v in value]
        if len(values) < int(spec.get("minOccurs", 1)) or (max_occurs != "unbounded" and len(values) > int(max_occurs)):
            raise InvalidExecuteRequest(f"the input {name!r} takes {spec.get('minOccurs', 1)} to {max_occurs} values",
                                        input_name=name)
        for v in values:
            _validate(name, schema, v)
        return values
    plain = _unwrap(name, value)
    _validate(name, schema, plain)
    return plain


def _is_array_schema(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array"


def _unwrap(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        if "href" in value and set(value) <= {"href", "rel", "type", "title", "hreflang"}:
            raise InvalidExecuteRequest(f"the input {name!r} is a reference; send the value itself", input_name=name)
        if "value" in value and set(value) <= QUALIFIED_KEYS:
            return value["value"]
    return value


@cache
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = orjson.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    # An empty registry: a $ref to another server is never fetched (offline; and no SSRF from a description).
    return cls(schema, format_checker=cls.FORMAT_CHECKER, registry=Registry())


def _validate(name: str, schema: dict[str, Any], value: Any) -> None:
    try:
        validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS).decode())
    except SchemaError:  # the process's own schema is broken: accept, and let the analysis judge
        return
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except Exception:
        return
    if error is not None:
        raise InvalidExecuteRequest(f"the input {name!r} is not valid: {_say(error)}", input_name=name)


def _say(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    message = error.message if len(error.message) <= 300 else error.message[:300] + "…"
    return f"{message} (at {where})" if where else message


def _check_outputs(definition: ProcessDefinition, outputs: Any) -> dict[str, Any] | None:
    if outputs is None or outputs == {}:
        return None
    if not isinstance(outputs, dict):
        raise InvalidExecuteRequest("outputs must be an object from output name to its transmission options")
    for name, options in outputs.items():
        if name not in definition.outputs:
            raise InvalidExecuteRequest(f"{definition.id} has no output {name!r}; its outputs are "
                                        f"{', '.join(sorted(definition.outputs))}")
        if isinstance(options, dict) and options.get("transmissionMode", "value") != "value":
            raise InvalidExecuteRequest(f"output {name!r}: only transmissionMode 'value' is offered")
    return dict(outputs)
