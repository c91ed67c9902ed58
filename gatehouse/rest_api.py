"""The REST API that ``gatehouse attach`` and ``gatehouse detach`` work on: what they read from
API Gateway, Lambda and STS, each read's failure turned into one CLI error line."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from gatehouse.attach_plan import ApiMethod, FunctionArn
from gatehouse.aws import Settings, aws_errors, pages
from gatehouse.errors import CliError, ExitCode

__all__ = ["RestApi"]


class RestApi:
    """One REST API as attach and detach read it, and the clients they write with."""

    def __init__(self, settings: Settings, api_id: str) -> None:
        self.api_id = api_id
        self._settings = settings
        self._lambdas: dict[str, Any] = {}
        with aws_errors("connecting to AWS"):  # boto3 checks the region here
            self.apigateway = settings.client("apigateway")
            self.sts = settings.client("sts")

    def lambda_for(self, function: FunctionArn) -> Any:
        """A Lambda client in the function's region: it may live in another than the API."""
        client = self._lambdas.get(function.region)
        if client is None:
            with aws_errors("connecting to AWS Lambda"):
                settings = dataclasses.replace(self._settings, region=function.region)
                client = self._lambdas[function.region] = settings.client("lambda")
        return client

    def rest_api(self) -> dict[str, Any]:
        try:
            with aws_errors(f"reading REST API {self.api_id!r}"):
                return dict(self.apigateway.get_rest_api(restApiId=self.api_id))
        except CliError as error:
            if error.exit_code != ExitCode.NOT_FOUND:
                raise
            raise CliError(
                error.format_message(),
                hint="check the id and --region; attach and detach work on REST APIs "
                "(API Gateway v1): an HTTP API's id is not found here",
                code=ExitCode.NOT_FOUND,
            ) from None

    def stages(self) -> list[dict[str, Any]]:
        with aws_errors(f"reading the stages of API {self.api_id}"):
            items = self.apigateway.get_stages(restApiId=self.api_id).get("item", [])
        return [dict(item) for item in items]

    def require_stage(self, stage: str) -> dict[str, Any]:
        stages = self.stages()
        for found in stages:
            if found.get("stageName") == stage:
                return dict(found)
        names = sorted(str(s.get("stageName")) for s in stages)
        raise CliError(
            f"API {self.api_id} has no stage {stage!r}",
            hint=f"its stages: {', '.join(names) or 'none (deploy the API once first)'}",
            code=ExitCode.NOT_FOUND,
        )

    def deployed_methods(self, stage: Mapping[str, Any]) -> dict[str, Any] | None:
        """The methods as the stage serves them (the deployment's ``apiSummary``), if known."""
        deployment_id = stage.get("deploymentId")
        if not deployment_id:
            return None
        with aws_errors(f"reading deployment {deployment_id} of stage {stage.get('stageName')}"):
            deployment = self.apigateway.get_deployment(
                restApiId=self.api_id, deploymentId=deployment_id, embed=["apisummary"]
            )
        summary = deployment.get("apiSummary")
        return summary if isinstance(summary, dict) else None

    def methods(self) -> list[ApiMethod]:
        with aws_errors(f"reading the resources of API {self.api_id}"):
            resources = pages(
                self.apigateway.get_resources, restApiId=self.api_id, embed=["methods"], limit=500
            )
        return ApiMethod.from_resources(resources)

    def authorizers(self) -> list[dict[str, Any]]:
        with aws_errors(f"reading the authorizers of API {self.api_id}"):
            return pages(self.apigateway.get_authorizers, restApiId=self.api_id, limit=500)

    def require_function(self, function: FunctionArn) -> dict[str, str] | None:
        """Check the function exists; its environment variables, when Lambda shows them."""
        with aws_errors(f"looking up function {function.arn}"):
            config = self.lambda_for(function).get_function_configuration(FunctionName=function.arn)
        # No "Environment": the function has no variables. "Error": Lambda could not decrypt
        # them for us (a customer-managed KMS key), so they are unknown.
        environment = config.get("Environment") or {}
        if environment.get("Error"):
            return None
        variables = environment.get("Variables") or {}
        return {str(k): str(v) for k, v in variables.items()}

    def account(self) -> str:
        with aws_errors("asking STS for the account of the API"):
            return str(self.sts.get_caller_identity()["Account"])

    def policy_statements(self, function: FunctionArn) -> list[dict[str, Any]]:
        from botocore.exceptions import ClientError  # noqa: PLC0415 - lazy, as boto3

        with aws_errors(f"reading the resource policy of {function.arn}"):
            try:
                policy = self.lambda_for(function).get_policy(FunctionName=function.arn)["Policy"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                    return []  # the function exists (checked before): it has no policy yet
                raise
        statements = json.loads(policy).get("Statement", [])
        return [s for s in statements if isinstance(s, dict)]
