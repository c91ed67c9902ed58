"""A synthesized CloudFormation template, loaded and with its intrinsic functions resolved.

Loading takes a template file (JSON, or YAML with the short ``!Ref``/``!GetAtt``... tags) or a
cloud assembly directory (``cdk.out``, with the nested assemblies of ``cdk.Stage`` s) and a
stack name; the assembly's manifest gives the stack's region and account, its
``<stack>.assets.json`` where each file asset was staged, and the stacks it depends on, which
are loaded too: their outputs answer the stack's ``Fn::GetStackOutput`` (the strong cross-stack
references of CDK's cross-region and cross-stage reads) and their resources are made with it.

Resolution covers what synthesized templates use (AWS: "Intrinsic function reference"):
``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, ``Fn::If``
with the template's ``Conditions`` (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``),
``Fn::Base64``, ``Fn::GetStackOutput`` of a stack of the same assembly, the pseudo parameters
and parameter defaults. A value that needs anything else (``Fn::ImportValue``, a parameter with
no default, an attribute local mode does not know) raises :class:`Unresolvable`, which names
it: the caller decides whether that matters.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gatehouse.localmode.lifecycle import LocalModeError

_SUB_VARIABLE: Final = re.compile(r"\$\{(?P<name>[^}!][^}]*)\}")
_SHORT_TAGS: Final = (
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Not",
    "And",
    "Or",
    "Select",
    "Split",
    "Sub",
    "If",
    "Condition",
)


_NO_VALUE: Final = object()
"""What ``Ref AWS::NoValue`` resolves to, until its list item or object key is dropped."""


class TemplateError(LocalModeError):
    """The template cannot be served; the message names the resource and the hint what to do."""


class Unresolvable(ValueError):
    """A value local mode cannot compute (what, in the message)."""


@dataclass(frozen=True, slots=True)
class LoadedTemplate:
    """A stack's template and where its assets are."""

    stack_name: str
    resources: Mapping[str, Mapping[str, Any]]
    parameters: Mapping[str, Mapping[str, Any]]
    conditions: Mapping[str, Any]
    region: str | None
    account: str | None
    #: Asset object key (``<hash>.zip``) -> the staged directory or file.
    assets: Mapping[str, Path] = field(default_factory=dict)
    source: Path = Path()
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The stacks of the assembly this one depends on, by CloudFormation stack name.
    dependencies: Mapping[str, LoadedTemplate] = field(default_factory=dict)


def load(path: Path, stack: str | None = None) -> LoadedTemplate:
    """The template at ``path``: a file, or a cloud assembly directory (``stack`` picks the
    stack when it holds several).

    Raises
    ------
    TemplateError
        When it cannot be read, is not a template, or ``stack`` does not name one.
    """
    if path.is_dir():
        return _from_assembly(path, stack)
    if not path.is_file():
        raise TemplateError(
            f"--template {path}: no such file or directory",
            "pass a synthesized template (cdk.out/<Stack>.template.json) or the cdk.out directory",
        )
    name = stack or path.name.split(".template.")[0].removesuffix(".json").removesuffix(".yaml")
    assets_file = path.parent / f"{name}.assets.json"
    return _template(path, name, None, None, _assets(assets_file, path.parent))


@dataclass(frozen=True, slots=True)
class _StackArtifact:
    artifact_id: str
    directory: Path  # the (nested) assembly holding it
    spec: Mapping[str, Any]
    artifacts: Mapping[str, Any]  # its assembly's artifacts

    @property
    def stack_name(self) -> str:
        return str((self.spec.get("properties") or {}).get("stackName") or self.artifact_id)

    @property
    def names(self) -> set[str]:
        """What ``--stack`` may call it: artifact id, stack name, construct path."""
        display = self.spec.get("displayName")
        return {self.artifact_id, self.stack_name} | ({str(display)} if display else set())


def _stacks(directory: Path, depth: int = 0) -> list[_StackArtifact]:
    """The stacks of the assembly at ``directory`` and of its nested assemblies (stages)."""
    manifest = _json(directory / "manifest.json", "the cloud assembly's manifest")
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    found: list[_StackArtifact] = []
    for artifact_id, spec in (artifacts or {}).items():
        if not isinstance(spec, dict):
            continue
        if spec.get("type") == "aws:cloudformation:stack":
            found.append(_StackArtifact(artifact_id, directory, spec, artifacts or {}))
        elif spec.get("type") == "cdk:cloud-assembly" and depth < 4:
            nested = (spec.get("properties") or {}).get("directoryName")
            if isinstance(nested, str) and (directory / nested).is_dir():
                found += _stacks(directory / nested, depth + 1)
    return found


def _from_assembly(directory: Path, stack: str | None) -> LoadedTemplate:
    stacks = _stacks(directory)
    if not stacks:
        raise TemplateError(
            f"--template {directory}: the cloud assembly holds no stack",
            "run cdk synth first, or pass a template file",
        )
    listed = ", ".join(sorted(s.stack_name for s in stacks))
    if stack is None:
        if len(stacks) > 1:
            raise TemplateError(
                f"--template {directory}: the cloud assembly holds {len(stacks)} stacks ({listed})",
                f"pick one: --stack {sorted(s.stack_name for s in stacks)[0]}",
            )
        chosen = stacks[0]
    else:
        matches = [s for s in stacks if stack in s.names]
        if len(matches) != 1:
            problem = "has no such stack" if not matches else "has several stacks of that name"
            raise TemplateError(
                f"--stack {stack}: the cloud assembly {problem} (it has: {listed})",
                f"pass one of them (stack name, artifact id or construct path), e.g. --stack "
                f"{sorted(s.stack_name for s in stacks)[0]}",
            )
        chosen = matches[0]
    return _load_stack(chosen, stacks, seen=frozenset(), loaded={})


def _load_stack(
    artifact: _StackArtifact,
    stacks: list[_StackArtifact],
    *,
    seen: frozenset[str],
    loaded: dict[tuple[Path, str], LoadedTemplate],
) -> LoadedTemplate:
    """The stack and, once each, the stacks it depends on (``loaded``: by assembly and id, so
    a stack two others depend on is one object)."""
    done = loaded.get((artifact.directory, artifact.artifact_id))
    if done is not None:
        return done
    spec, directory = artifact.spec, artifact.directory
    properties = spec.get("properties") or {}
    template_file = directory / str(
        properties.get("templateFile", f"{artifact.artifact_id}.template.json")
    )
    account, region = _environment(str(spec.get("environment", "")))
    assets: dict[str, Path] = {}
    dependencies: dict[str, LoadedTemplate] = {}
    for dependency in spec.get("dependencies") or ():
        dependency_spec = artifact.artifacts.get(dependency) or {}
        if dependency_spec.get("type") == "cdk:asset-manifest":
            file = (dependency_spec.get("properties") or {}).get("file")
            if file:
                assets.update(_assets(directory / str(file), directory))
        elif dependency_spec.get("type") == "aws:cloudformation:stack":
            other = next(
                (s for s in stacks if s.artifact_id == dependency and s.directory == directory),
                None,
            )
            if other is not None and other.artifact_id not in seen:
                dependency_template = _load_stack(
                    other, stacks, seen=seen | {artifact.artifact_id}, loaded=loaded
                )
                dependencies[dependency_template.stack_name] = dependency_template
    if not assets:
        assets = _assets(directory / f"{artifact.artifact_id}.assets.json", directory)
    template = _template(template_file, artifact.stack_name, region, account, assets)
    template = dataclasses.replace(template, dependencies=dependencies)
    loaded[artifact.directory, artifact.artifact_id] = template
    return template


def _environment(text: str) -> tuple[str | None, str | None]:
    """``aws://123456789012/eu-west-1`` -> account, region (``unknown-*`` -> ``None``)."""
    parts = text.removeprefix("aws://").split("/")
    if len(parts) != 2:
        return None, None
    account, region = (None if p.startswith("unknown-") or not p else p for p in parts)
    return account, region


def _assets(manifest: Path, base: Path) -> dict[str, Path]:
    """Object key -> staged path, from a ``*.assets.json`` (none when it does not exist)."""
    if not manifest.is_file():
        return {}
    document = _json(manifest, "the asset manifest")
    found: dict[str, Path] = {}
    for entry in (document.get("files") or {}).values():
        source = (entry.get("source") or {}).get("path")
        for destination in (entry.get("destinations") or {}).values():
            key = destination.get("objectKey")
            if source and key:
                found[str(key)] = base / str(source)
    return found


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(
            f"{path}: {what} does not exist", "run cdk synth again, or pass a template file"
        ) from None
    except (OSError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TemplateError(f"{path}: cannot read {what}: {first}", "run cdk synth again") from None


def _template(
    path: Path, stack: str, region: str | None, account: str | None, assets: Mapping[str, Path]
) -> LoadedTemplate:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(
            f"--template {path}: {error.strerror or error}", "pass a readable template file"
        ) from None
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else _yaml(text)
    except ValueError as error:
        first = str(error).splitlines()[0]
        raise TemplateError(
            f"--template {path}: not a CloudFormation template ({first})",
            "pass the JSON or YAML that cdk synth writes (cdk.out/<Stack>.template.json)",
        ) from None
    resources = document.get("Resources") if isinstance(document, dict) else None
    if not isinstance(resources, dict) or not all(
        isinstance(r, dict) and isinstance(r.get("Type"), str) for r in resources.values()
    ):
        raise TemplateError(
            f"--template {path}: not a CloudFormation template (no Resources, or a resource "
            "without a Type)",
            "pass the JSON or YAML that cdk synth writes (cdk.out/<Stack>.template.json)",
        )
    outputs = document.get("Outputs") or {}
    return LoadedTemplate(
        stack_name=stack,
        resources=resources,
        parameters=document.get("Parameters") or {},
        conditions=document.get("Conditions") or {},
        region=region,
        account=account,
        assets=dict(assets),
        source=path,
        outputs={k: v for k, v in outputs.items() if isinstance(v, dict)}
        if isinstance(outputs, dict)
        else {},
    )


def _yaml(text: str) -> Any:
    try:
        import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - only YAML templates need it
    except ImportError:  # pragma: no cover - PyYAML comes with the policy authorizer
        raise ValueError("a YAML template needs PyYAML") from None

    class Loader(yaml.SafeLoader):  # type: ignore[misc]  # no stubs pinned
        pass

    def short(tag: str) -> Callable[[Loader, yaml.Node], Any]:
        def construct(loader: Loader, node: yaml.Node) -> Any:
            if isinstance(node, yaml.ScalarNode):
                value: Any = loader.construct_scalar(node)
            elif isinstance(node, yaml.SequenceNode):
                value = loader.construct_sequence(node, deep=True)
            else:
                value = loader.construct_mapping(node, deep=True)
            if tag == "Ref":
                return {"Ref": value}
            if tag == "GetAtt" and isinstance(value, str):
                return {"Fn::GetAtt": value.split(".", 1)}
            if tag == "Condition":
                return {"Condition": value}
            return {f"Fn::{tag}": value}

        return construct

    # CloudFormation has no YAML timestamps: "Version: 2012-10-17" is a string.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for tag in (*_SHORT_TAGS, "Ref", "GetAtt"):
        Loader.add_constructor(f"!{tag}", short(tag))
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ValueError(str(error)) from None


# --- intrinsic functions ----------------------------------------------------------------------


@dataclass
class Resolver:
    """Evaluates a template's intrinsic functions.

    ``refs``: logical id -> what ``Ref`` gives (a physical name or id); ``attributes``:
    (logical id, attribute) -> what ``Fn::GetAtt`` gives. Both are filled by the caller, which
    knows what it creates locally.
    """

    template: LoadedTemplate
    region: str
    account: str
    partition: str = "aws"
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    #: CloudFormation stack name -> the resolver of that stack (a dependency in the assembly).
    stacks: dict[str, Resolver] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated (lists and objects deeply); an
        ``AWS::NoValue``, also one an ``Fn::If`` gives, drops its list item or object key."""
        resolved = self._resolve(value)
        if resolved is _NO_VALUE:
            raise Unresolvable("AWS::NoValue where a value is needed")
        return resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item) for item in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return _NO_VALUE if argument == "AWS::NoValue" else self._ref(str(argument))
            if key == "Fn::If":
                condition, then, otherwise = argument
                return self._resolve(then if self.condition(str(condition)) else otherwise)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument)
        pairs = ((k, self._resolve(v)) for k, v in value.items())
        return {k: v for k, v in pairs if v is not _NO_VALUE}

    def text(self, value: Any, what: str) -> str:
        """``value`` resolved to a string (a number is its decimal text)."""
        resolved = self.resolve(value)
        if isinstance(resolved, bool) or not isinstance(resolved, str | int | float):
            raise Unresolvable(f"{what} is not a string")
        return str(resolved)

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.template.stack_name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/"
                f"{self.template.stack_name}/local"
            ),
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        parameter = self.template.parameters.get(name)
        if parameter is not None:
            kind = str(parameter.get("Type", "String"))
            if "Default" not in parameter:
                raise Unresolvable(f"parameter {name} has no default")
            if kind.startswith("AWS::SSM::Parameter::"):
                raise Unresolvable(f"parameter {name} is read from SSM at deploy time")
            default = parameter["Default"]
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                return [item.strip() for item in str(default).split(",")]
            return default
        raise Unresolvable(f"Ref {name}")

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Fn::GetAtt":
            logical, attribute = (
                argument.split(".", 1) if isinstance(argument, str) else list(argument)
            )
            found = self.attributes.get((str(logical), str(self.resolve(attribute))))
            if found is None:
                raise Unresolvable(f"Fn::GetAtt {logical}.{attribute}")
            return found
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(
                self.text(item, "Fn::Join item") for item in self.resolve(items)
            )
        if key == "Fn::Select":
            index, items = argument
            chosen, candidates = int(self.resolve(index)), self.resolve(items)
            if not isinstance(candidates, list) or not 0 <= chosen < len(candidates):
                raise Unresolvable(f"Fn::Select index {chosen} out of range")
            return candidates[chosen]
        if key == "Fn::Split":
            separator, text = argument
            return self.text(text, "Fn::Split text").split(str(separator))
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::Base64":
            return base64.b64encode(self.text(argument, "Fn::Base64").encode()).decode()
        if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._boolean(key, argument)
        if key == "Fn::GetStackOutput":
            return self._stack_output(argument)
        raise Unresolvable(key)

    def _stack_output(self, argument: Any) -> Any:
        """``Fn::GetStackOutput``: an output of another stack, here one of the assembly."""
        if not isinstance(argument, dict):
            raise Unresolvable("Fn::GetStackOutput without StackName and OutputName")
        stack = str(self.resolve(argument.get("StackName")))
        output = str(self.resolve(argument.get("OutputName")))
        region = argument.get("Region")
        if region is not None and str(self.resolve(region)) != self.region:
            raise Unresolvable(f"Fn::GetStackOutput of {stack} in another region ({region})")
        other = self.stacks.get(stack)
        if other is None:
            raise Unresolvable(f"Fn::GetStackOutput of stack {stack}, not one it depends on")
        value = other.template.outputs.get(output)
        if value is None or "Value" not in value:
            raise Unresolvable(f"Fn::GetStackOutput: stack {stack} has no output {output}")
        return other.resolve(value["Value"])

    def condition(self, name: str) -> bool:
        """The value of the template's condition ``name``."""
        if name not in self.template.conditions:
            raise Unresolvable(f"condition {name}")
        return bool(self.resolve(self.template.conditions[name]))

    def _boolean(self, key: str, argument: Any) -> bool:
        if key == "Condition":
            return self.condition(str(argument))
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return bool(str(left) == str(right))
        values = [bool(self.resolve(a)) for a in argument]
        if key == "Fn::Not":
            return not values[0]
        return all(values) if key == "Fn::And" else any(values)

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = (
                str(argument[0]),
                {k: self.resolve(v) for k, v in (argument[1] or {}).items()},
            )
        else:
            text, variables = str(argument), {}

        def value(found: re.Match[str]) -> str:
            name = found["name"]
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return str(self._function("Fn::GetAtt", [logical, attribute]))
            return str(self._ref(name))

        # "${!Literal}" is a literal "${Literal}": unescaped in the template's own text only,
        # never inside a substituted value.
        pieces = text.split("${!")
        head = _SUB_VARIABLE.sub(value, pieces[0])
        return head + "".join("${" + _SUB_VARIABLE.sub(value, rest) for rest in pieces[1:])
