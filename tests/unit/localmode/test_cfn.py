"""Loading synthesized templates and resolving their intrinsic functions (local mode's
``--template`` groundwork)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gatehouse.localmode.cfn import LoadedTemplate, Resolver, TemplateError, Unresolvable, load

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:staff-jwt"
#: How CDK writes a REST authorizer's URI (from the example service's synthesized template).
AUTHORIZER_URI = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Fn::Select": [1, {"Fn::Split": [":", {"Fn::GetAtt": ["StaffFn", "Arn"]}]}]},
            ":apigateway:",
            {"Fn::Select": [3, {"Fn::Split": [":", {"Fn::GetAtt": ["StaffFn", "Arn"]}]}]},
            ":lambda:path/2015-03-31/functions/",
            {"Fn::GetAtt": ["StaffFn", "Arn"]},
            "/invocations",
        ],
    ]
}


def template(**resources: Any) -> dict[str, Any]:
    return {"Resources": resources or {"Fn": {"Type": "AWS::Lambda::Function"}}}


def resolver(document: dict[str, Any] | None = None) -> Resolver:
    document = document or template()
    loaded = LoadedTemplate(
        stack_name="Orders",
        resources=document["Resources"],
        parameters=document.get("Parameters", {}),
        conditions=document.get("Conditions", {}),
        region="eu-west-1",
        account="123456789012",
    )
    found = Resolver(loaded, region="eu-west-1", account="123456789012")
    found.refs["Table"] = "orders-keys"
    found.attributes["StaffFn", "Arn"] = FUNCTION_ARN
    return found


# --- loading ----------------------------------------------------------------------------------


def test_a_template_file_and_the_assets_staged_beside_it(tmp_path: Path) -> None:
    (tmp_path / "Orders.template.json").write_text(json.dumps(template()), encoding="utf-8")
    (tmp_path / "Orders.assets.json").write_text(
        json.dumps(
            {
                "files": {
                    "abc": {
                        "source": {"path": "asset.abc", "packaging": "zip"},
                        "destinations": {"d": {"objectKey": "abc.zip"}},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    loaded = load(tmp_path / "Orders.template.json")
    assert loaded.stack_name == "Orders"
    assert loaded.assets == {"abc.zip": tmp_path / "asset.abc"}
    assert set(loaded.resources) == {"Fn"}


def test_yaml_short_tags_become_intrinsic_functions(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Lambda::Function\n"
        "    Properties:\n"
        "      Table: !Ref Table\n"
        "      Arn: !GetAtt StaffFn.Arn\n"
        "      Name: !Sub '${AWS::StackName}-fn'\n"
        "      Parts: !Split [':', !GetAtt StaffFn.Arn]\n",
        encoding="utf-8",
    )
    properties = load(path).resources["Fn"]["Properties"]
    assert properties["Table"] == {"Ref": "Table"}
    assert properties["Arn"] == {"Fn::GetAtt": ["StaffFn", "Arn"]}
    assert resolver().resolve(properties) == {
        "Table": "orders-keys",
        "Arn": FUNCTION_ARN,
        "Name": "Orders-fn",
        "Parts": FUNCTION_ARN.split(":"),
    }


def _assembly(tmp_path: Path, *stacks: str) -> Path:
    artifacts: dict[str, Any] = {}
    for name in stacks:
        (tmp_path / f"{name}.template.json").write_text(json.dumps(template()), encoding="utf-8")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111122223333/us-west-2",
            "properties": {"templateFile": f"{name}.template.json"},
        }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": artifacts}), encoding="utf-8")
    return tmp_path


def test_a_cloud_assembly_gives_the_stack_region_and_account(tmp_path: Path) -> None:
    loaded = load(_assembly(tmp_path, "Orders"))
    assert (loaded.stack_name, loaded.region, loaded.account) == (
        "Orders",
        "us-west-2",
        "111122223333",
    )


def test_an_assembly_with_several_stacks_needs_one_named(tmp_path: Path) -> None:
    assembly = _assembly(tmp_path, "Orders", "Billing")
    with pytest.raises(TemplateError, match=r"2 stacks \(Billing, Orders\)") as raised:
        load(assembly)
    assert raised.value.hint == "pick one: --stack Billing"
    with pytest.raises(TemplateError, match="no such stack"):
        load(assembly, "Nope")
    assert load(assembly, "Billing").stack_name == "Billing"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not a CloudFormation template"),
        ('{"Resources": {"A": {"Properties": {}}}}', "without a Type"),
        ('{"Outputs": {}}', "no Resources"),
        ("Resources: [unclosed", "not a CloudFormation template"),
    ],
)
def test_what_is_not_a_template_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.template.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=message):
        load(path)


def test_a_missing_template_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="no such file") as raised:
        load(tmp_path / "absent.json")
    assert "cdk.out" in raised.value.hint


# --- resolving --------------------------------------------------------------------------------


def test_cdk_authorizer_uris_resolve_to_the_function_they_invoke() -> None:
    assert resolver().resolve(AUTHORIZER_URI) == (
        f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
    )


def test_sub_takes_refs_attributes_variables_and_escapes() -> None:
    value = {
        "Fn::Sub": [
            "${Table}/${StaffFn.Arn}/${AWS::Region}/${Extra}/${!Literal}",
            {"Extra": {"Ref": "AWS::AccountId"}},
        ]
    }
    assert resolver().resolve(value) == (
        f"orders-keys/{FUNCTION_ARN}/eu-west-1/123456789012/${{Literal}}"
    )


def test_conditions_if_and_no_value() -> None:
    document = template()
    document["Parameters"] = {"Env": {"Type": "String", "Default": "prod"}}
    document["Conditions"] = {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    }
    resolve = resolver(document).resolve
    assert resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    assert resolve({"Fn::If": ["IsDev", "big", "small"]}) == "small"
    assert resolve(["a", {"Ref": "AWS::NoValue"}, "b"]) == ["a", "b"]
    assert resolve({"A": {"Ref": "AWS::NoValue"}, "B": 1}) == {"B": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"Fn::ImportValue": "shared-table"}, "Fn::ImportValue"),
        ({"Ref": "Unknown"}, "Ref Unknown"),
        ({"Fn::GetAtt": ["StaffFn", "Role"]}, "StaffFn.Role"),
        ({"Ref": "NoDefault"}, "no default"),
        ({"Fn::If": ["Missing", 1, 2]}, "condition Missing"),
    ],
)
def test_what_local_mode_cannot_compute_is_named(value: Any, message: str) -> None:
    document = template()
    document["Parameters"] = {"NoDefault": {"Type": "String"}}
    with pytest.raises(Unresolvable, match=message):
        resolver(document).resolve(value)


def test_an_if_may_give_no_value_which_drops_the_key_or_item() -> None:
    document = template()
    document["Conditions"] = {"Never": {"Fn::Equals": ["a", "b"]}}
    resolve = resolver(document).resolve
    no_value = {"Fn::If": ["Never", "x", {"Ref": "AWS::NoValue"}]}
    assert resolve({"A": no_value, "B": 1}) == {"B": 1}
    assert resolve(["a", no_value]) == ["a"]
    with pytest.raises(Unresolvable, match="NoValue"):
        resolve(no_value)


def test_list_parameters_are_lists_and_ssm_parameters_are_unknown() -> None:
    document = template()
    document["Parameters"] = {
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b,c"},
        "BootstrapVersion": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/cdk-bootstrap/hnb659fds/version",
        },
    }
    resolve = resolver(document).resolve
    assert resolve({"Fn::Select": [1, {"Ref": "Zones"}]}) == "b"
    assert resolve({"Fn::Join": ["-", {"Ref": "Zones"}]}) == "a-b-c"
    with pytest.raises(Unresolvable, match="SSM"):
        resolve({"Ref": "BootstrapVersion"})


@pytest.mark.parametrize("index", [2, -1])
def test_a_select_out_of_range_is_unresolvable(index: int) -> None:
    with pytest.raises(Unresolvable, match="out of range"):
        resolver().resolve({"Fn::Select": [index, ["a", "b"]]})


def test_sub_unescapes_only_its_own_text() -> None:
    value = {"Fn::Sub": ["${Word} ${!Keep}", {"Word": "${!NotMine}"}]}
    assert resolver().resolve(value) == "${!NotMine} ${Keep}"


def test_yaml_dates_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n  P:\n    Type: AWS::IAM::Policy\n    Properties:\n"
        "      PolicyDocument:\n        Version: 2012-10-17\n",
        encoding="utf-8",
    )
    properties = load(path).resources["P"]["Properties"]
    assert properties["PolicyDocument"]["Version"] == "2012-10-17"


# --- a stage: nested assemblies, dependencies and their outputs --------------------------------


def _stage(tmp_path: Path) -> Path:
    """A cdk.Stage as CDK writes it: a nested assembly ``assembly-dev`` with two stacks, Api
    depending on Identity and reading its table name with Fn::GetStackOutput."""
    nested = tmp_path / "assembly-dev"
    nested.mkdir()
    identity = {
        "Resources": {"Keys": {"Type": "AWS::DynamoDB::GlobalTable"}},
        "Outputs": {"KeysName": {"Value": {"Ref": "Keys"}}},
    }
    read = {"StackName": "dev-Identity", "Region": "eu-west-1", "OutputName": "KeysName"}
    api = template(Fn={"Type": "AWS::Lambda::Function", "Properties": {"Read": read}})
    for name, document in (("devIdentity", identity), ("devApi", api)):
        (nested / f"{name}.template.json").write_text(json.dumps(document), encoding="utf-8")
    artifacts = {
        "devIdentity": {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111122223333/eu-west-1",
            "displayName": "dev/Identity",
            "properties": {
                "templateFile": "devIdentity.template.json",
                "stackName": "dev-Identity",
            },
        },
        "devApi": {
            "type": "aws:cloudformation:stack",
            "environment": "aws://111122223333/eu-west-1",
            "displayName": "dev/Api",
            "properties": {"templateFile": "devApi.template.json", "stackName": "dev-Api"},
            "dependencies": ["devIdentity"],
        },
    }
    (nested / "manifest.json").write_text(json.dumps({"artifacts": artifacts}), encoding="utf-8")
    top = {
        "assembly-dev": {
            "type": "cdk:cloud-assembly",
            "properties": {"directoryName": "assembly-dev", "displayName": "dev"},
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"artifacts": top}), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("name", ["dev-Api", "devApi", "dev/Api"])
def test_a_stack_of_a_stage_is_found_by_stack_name_artifact_id_or_path(
    tmp_path: Path, name: str
) -> None:
    loaded = load(_stage(tmp_path), name)
    assert loaded.stack_name == "dev-Api"
    assert list(loaded.dependencies) == ["dev-Identity"]
    assert loaded.dependencies["dev-Identity"].outputs["KeysName"] == {"Value": {"Ref": "Keys"}}


def test_a_stage_with_several_stacks_lists_them_by_stack_name(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"2 stacks \(dev-Api, dev-Identity\)"):
        load(_stage(tmp_path))


def test_get_stack_output_reads_the_dependency_resolved_in_its_own_stack(tmp_path: Path) -> None:
    loaded = load(_stage(tmp_path), "dev-Api")
    identity = Resolver(loaded.dependencies["dev-Identity"], region="eu-west-1", account="1")
    identity.refs["Keys"] = "dev-Identity-Keys"
    api = Resolver(loaded, region="eu-west-1", account="1", stacks={"dev-Identity": identity})
    read = loaded.resources["Fn"]["Properties"]["Read"]
    assert api.resolve({"Fn::GetStackOutput": read}) == "dev-Identity-Keys"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ({"StackName": "dev-Identity", "OutputName": "Nope"}, "has no output Nope"),
        ({"StackName": "other", "OutputName": "KeysName"}, "not one it depends on"),
        (
            {"StackName": "dev-Identity", "OutputName": "KeysName", "Region": "us-east-1"},
            "in another region",
        ),
        ("dev-Identity.KeysName", "without StackName"),
    ],
)
def test_a_stack_output_local_mode_cannot_read_is_named(
    tmp_path: Path, argument: Any, message: str
) -> None:
    loaded = load(_stage(tmp_path), "dev-Api")
    identity = Resolver(loaded.dependencies["dev-Identity"], region="eu-west-1", account="1")
    identity.refs["Keys"] = "dev-Identity-Keys"
    api = Resolver(loaded, region="eu-west-1", account="1", stacks={"dev-Identity": identity})
    with pytest.raises(Unresolvable, match=message):
        api.resolve({"Fn::GetStackOutput": argument})
